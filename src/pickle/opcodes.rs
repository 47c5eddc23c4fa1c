//! Pickle opcode bytes, named as `pickletools` names them.

/// `INT` (protocol 0).
pub const INT: u8 = 0x49;
/// `BININT` (protocol 1).
pub const BININT: u8 = 0x4a;
/// `BININT1` (protocol 1).
pub const BININT1: u8 = 0x4b;
/// `BININT2` (protocol 1).
pub const BININT2: u8 = 0x4d;
/// `LONG` (protocol 0).
pub const LONG: u8 = 0x4c;
/// `LONG1` (protocol 2).
pub const LONG1: u8 = 0x8a;
/// `LONG4` (protocol 2).
pub const LONG4: u8 = 0x8b;
/// `STRING` (protocol 0).
pub const STRING: u8 = 0x53;
/// `BINSTRING` (protocol 1).
pub const BINSTRING: u8 = 0x54;
/// `SHORT_BINSTRING` (protocol 1).
pub const SHORT_BINSTRING: u8 = 0x55;
/// `BINBYTES` (protocol 3).
pub const BINBYTES: u8 = 0x42;
/// `SHORT_BINBYTES` (protocol 3).
pub const SHORT_BINBYTES: u8 = 0x43;
/// `BINBYTES8` (protocol 4).
pub const BINBYTES8: u8 = 0x8e;
/// `BYTEARRAY8` (protocol 5).
pub const BYTEARRAY8: u8 = 0x96;
/// `NEXT_BUFFER` (protocol 5).
pub const NEXT_BUFFER: u8 = 0x97;
/// `READONLY_BUFFER` (protocol 5).
pub const READONLY_BUFFER: u8 = 0x98;
/// `NONE` (protocol 0).
pub const NONE: u8 = 0x4e;
/// `NEWTRUE` (protocol 2).
pub const NEWTRUE: u8 = 0x88;
/// `NEWFALSE` (protocol 2).
pub const NEWFALSE: u8 = 0x89;
/// `UNICODE` (protocol 0).
pub const UNICODE: u8 = 0x56;
/// `SHORT_BINUNICODE` (protocol 4).
pub const SHORT_BINUNICODE: u8 = 0x8c;
/// `BINUNICODE` (protocol 1).
pub const BINUNICODE: u8 = 0x58;
/// `BINUNICODE8` (protocol 4).
pub const BINUNICODE8: u8 = 0x8d;
/// `FLOAT` (protocol 0).
pub const FLOAT: u8 = 0x46;
/// `BINFLOAT` (protocol 1).
pub const BINFLOAT: u8 = 0x47;
/// `EMPTY_LIST` (protocol 1).
pub const EMPTY_LIST: u8 = 0x5d;
/// `APPEND` (protocol 0).
pub const APPEND: u8 = 0x61;
/// `APPENDS` (protocol 1).
pub const APPENDS: u8 = 0x65;
/// `LIST` (protocol 0).
pub const LIST: u8 = 0x6c;
/// `EMPTY_TUPLE` (protocol 1).
pub const EMPTY_TUPLE: u8 = 0x29;
/// `TUPLE` (protocol 0).
pub const TUPLE: u8 = 0x74;
/// `TUPLE1` (protocol 2).
pub const TUPLE1: u8 = 0x85;
/// `TUPLE2` (protocol 2).
pub const TUPLE2: u8 = 0x86;
/// `TUPLE3` (protocol 2).
pub const TUPLE3: u8 = 0x87;
/// `EMPTY_DICT` (protocol 1).
pub const EMPTY_DICT: u8 = 0x7d;
/// `DICT` (protocol 0).
pub const DICT: u8 = 0x64;
/// `SETITEM` (protocol 0).
pub const SETITEM: u8 = 0x73;
/// `SETITEMS` (protocol 1).
pub const SETITEMS: u8 = 0x75;
/// `EMPTY_SET` (protocol 4).
pub const EMPTY_SET: u8 = 0x8f;
/// `ADDITEMS` (protocol 4).
pub const ADDITEMS: u8 = 0x90;
/// `FROZENSET` (protocol 4).
pub const FROZENSET: u8 = 0x91;
/// `POP` (protocol 0).
pub const POP: u8 = 0x30;
/// `DUP` (protocol 0).
pub const DUP: u8 = 0x32;
/// `MARK` (protocol 0).
pub const MARK: u8 = 0x28;
/// `POP_MARK` (protocol 1).
pub const POP_MARK: u8 = 0x31;
/// `GET` (protocol 0).
pub const GET: u8 = 0x67;
/// `BINGET` (protocol 1).
pub const BINGET: u8 = 0x68;
/// `LONG_BINGET` (protocol 1).
pub const LONG_BINGET: u8 = 0x6a;
/// `PUT` (protocol 0).
pub const PUT: u8 = 0x70;
/// `BINPUT` (protocol 1).
pub const BINPUT: u8 = 0x71;
/// `LONG_BINPUT` (protocol 1).
pub const LONG_BINPUT: u8 = 0x72;
/// `MEMOIZE` (protocol 4).
pub const MEMOIZE: u8 = 0x94;
/// `EXT1` (protocol 2).
pub const EXT1: u8 = 0x82;
/// `EXT2` (protocol 2).
pub const EXT2: u8 = 0x83;
/// `EXT4` (protocol 2).
pub const EXT4: u8 = 0x84;
/// `GLOBAL` (protocol 0).
pub const GLOBAL: u8 = 0x63;
/// `STACK_GLOBAL` (protocol 4).
pub const STACK_GLOBAL: u8 = 0x93;
/// `REDUCE` (protocol 0).
pub const REDUCE: u8 = 0x52;
/// `BUILD` (protocol 0).
pub const BUILD: u8 = 0x62;
/// `INST` (protocol 0).
pub const INST: u8 = 0x69;
/// `OBJ` (protocol 1).
pub const OBJ: u8 = 0x6f;
/// `NEWOBJ` (protocol 2).
pub const NEWOBJ: u8 = 0x81;
/// `NEWOBJ_EX` (protocol 4).
pub const NEWOBJ_EX: u8 = 0x92;
/// `PROTO` (protocol 2).
pub const PROTO: u8 = 0x80;
/// `STOP` (protocol 0).
pub const STOP: u8 = 0x2e;
/// `FRAME` (protocol 4).
pub const FRAME: u8 = 0x95;
/// `PERSID` (protocol 0).
pub const PERSID: u8 = 0x50;
/// `BINPERSID` (protocol 1).
pub const BINPERSID: u8 = 0x51;
