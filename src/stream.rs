//! The byte streams under a connection (stub: being written).
