//! Windows named pipes (AF_PIPE), as CPython's `PipeListener`, `PipeClient` and
//! `PipeConnection` use them.
//!
//! The pipes are in *message* mode (`PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE`) and a
//! message is one pipe message, with no length header. All handles are overlapped, so
//! that reads and writes can time out (the listener's handshake timeout) and a zero-byte
//! read can wait for the next message without consuming it (`poll`).
//!
//! This talks to the Win32 API through `windows-sys` rather than the `interprocess`
//! crate: receiving a message of unknown size under a maximum needs `ERROR_MORE_DATA`
//! handling with `PeekNamedPipe`'s "bytes left in this message" *before* the rest is
//! read (so an oversized message is refused without reading it), and timeouts need
//! overlapped I/O with cancellation; `interprocess` offers neither (its message reads
//! grow a buffer for the whole message, and its streams block without a timeout).

use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{
    ERROR_BROKEN_PIPE, ERROR_IO_PENDING, ERROR_MORE_DATA, ERROR_NO_DATA, ERROR_OPERATION_ABORTED,
    ERROR_PIPE_BUSY, ERROR_PIPE_CONNECTED, ERROR_PIPE_NOT_CONNECTED, ERROR_SEM_TIMEOUT,
    GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, ReadFile, WriteFile, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED,
    OPEN_EXISTING, PIPE_ACCESS_DUPLEX,
};
use windows_sys::Win32::System::Pipes::{
    ConnectNamedPipe, CreateNamedPipeW, PeekNamedPipe, SetNamedPipeHandleState, WaitNamedPipeW,
    NMPWAIT_WAIT_FOREVER, PIPE_READMODE_MESSAGE, PIPE_TYPE_MESSAGE, PIPE_UNLIMITED_INSTANCES,
    PIPE_WAIT,
};
use windows_sys::Win32::System::Threading::{CreateEventW, WaitForSingleObject, INFINITE};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};

use crate::{Address, Error, Result};

/// The pipe's buffer sizes, as CPython's `BUFSIZE`.
const BUFSIZE: u32 = 8192;
/// The first read of a message asks for this much; a longer message is finished after
/// `PeekNamedPipe` tells how much of it is left.
const FIRST_READ: usize = 8192;
/// How long a client waits for a busy pipe by default (CPython's `CONNECTION_TIMEOUT`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

fn wide(name: &str) -> Vec<u16> {
    OsStr::new(name).encode_wide().chain(Some(0)).collect()
}

fn os_error(code: u32) -> io::Error {
    io::Error::from_raw_os_error(code as i32)
}

fn is_disconnect(code: u32) -> bool {
    matches!(
        code,
        ERROR_BROKEN_PIPE | ERROR_PIPE_NOT_CONNECTED | ERROR_NO_DATA
    )
}

/// Takes ownership of a handle a Win32 call returned, or the last error.
fn owned(handle: HANDLE) -> io::Result<OwnedHandle> {
    if handle.is_null() || handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh handle from CreateNamedPipeW/CreateFileW/CreateEventW that nobody
    // else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle as RawHandle) })
}

fn new_event() -> io::Result<OwnedHandle> {
    // SAFETY: a manual-reset, initially unsignalled, unnamed event; no pointers passed.
    owned(unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) })
}

fn millis(timeout: Option<Duration>) -> u32 {
    match timeout {
        None => INFINITE,
        // Round up, and stay below INFINITE.
        Some(t) => t
            .as_nanos()
            .div_ceil(1_000_000)
            .min(u128::from(INFINITE - 1)) as u32,
    }
}

/// How an overlapped operation ended.
enum Done {
    /// Completed, transferring this many bytes.
    Ok(u32),
    /// A message read filled the buffer; more of the message is left (`ERROR_MORE_DATA`).
    More(u32),
    /// The timeout passed and the operation was cancelled (nothing was transferred).
    TimedOut,
}

/// Runs one overlapped operation on `handle` and waits for it (at most `timeout`).
///
/// `start` issues the operation with the OVERLAPPED it is given and returns the call's
/// BOOL. The OVERLAPPED and any buffer `start` passed stay valid until this returns,
/// because it always waits for the operation to finish (or to be cancelled).
fn overlapped(
    handle: &OwnedHandle,
    event: &OwnedHandle,
    timeout: Option<Duration>,
    start: impl FnOnce(HANDLE, *mut OVERLAPPED) -> i32,
) -> io::Result<Done> {
    let h = handle.as_raw_handle() as HANDLE;
    let mut ov = OVERLAPPED {
        hEvent: event.as_raw_handle() as HANDLE,
        ..Default::default()
    };
    let ok = start(h, &mut ov);
    if ok == 0 {
        let code = io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32;
        if code != ERROR_IO_PENDING && code != ERROR_MORE_DATA {
            return Err(os_error(code));
        }
        if code == ERROR_IO_PENDING {
            // SAFETY: waits on our own event handle.
            let w = unsafe { WaitForSingleObject(ov.hEvent, millis(timeout)) };
            if w == WAIT_TIMEOUT {
                // SAFETY: cancels the operation issued above on this handle with `ov`.
                unsafe { CancelIoEx(h, &ov) };
            } else if w != WAIT_OBJECT_0 {
                let e = io::Error::last_os_error();
                // SAFETY: as above; then wait below until the cancellation lands.
                unsafe { CancelIoEx(h, &ov) };
                let mut n = 0u32;
                // SAFETY: `ov` is the OVERLAPPED of the operation on `h`; waits for it.
                unsafe { GetOverlappedResult(h, &ov, &mut n, 1) };
                return Err(e);
            }
        }
    }
    let mut n = 0u32;
    // SAFETY: `ov` is the OVERLAPPED of the operation on `h`; bWait = TRUE waits until it
    // has finished, so neither `ov` nor the buffer is used after we return.
    if unsafe { GetOverlappedResult(h, &ov, &mut n, 1) } != 0 {
        return Ok(Done::Ok(n));
    }
    match io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32 {
        ERROR_MORE_DATA => Ok(Done::More(n)),
        ERROR_OPERATION_ABORTED => Ok(Done::TimedOut),
        code => Err(os_error(code)),
    }
}

/// One end of a connected message-mode named pipe.
#[derive(Debug)]
pub(crate) struct PipeStream {
    handle: OwnedHandle,
    event: OwnedHandle,
    timeouts: Mutex<(Option<Duration>, Option<Duration>)>,
    /// A zero-byte read in `poll` consumed an empty message: the next receive returns it.
    got_empty_message: bool,
    address: Option<Address>,
}

impl PipeStream {
    fn new(handle: OwnedHandle, address: Option<Address>) -> io::Result<PipeStream> {
        Ok(PipeStream {
            handle,
            event: new_event()?,
            timeouts: Mutex::new((None, None)),
            got_empty_message: false,
            address,
        })
    }

    fn timeouts(&self) -> (Option<Duration>, Option<Duration>) {
        *self.timeouts.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        check_timeout(t)?;
        self.timeouts.lock().unwrap_or_else(|p| p.into_inner()).0 = t;
        Ok(())
    }

    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        check_timeout(t)?;
        self.timeouts.lock().unwrap_or_else(|p| p.into_inner()).1 = t;
        Ok(())
    }

    pub(crate) fn read_timeout(&self) -> Option<Duration> {
        self.timeouts().0
    }

    pub(crate) fn write_timeout(&self) -> Option<Duration> {
        self.timeouts().1
    }

    pub(crate) fn try_clone(&self) -> io::Result<PipeStream> {
        let mut p = PipeStream::new(self.handle.try_clone()?, self.address.clone())?;
        *p.timeouts.get_mut().unwrap_or_else(|p| p.into_inner()) = self.timeouts();
        Ok(p)
    }

    /// The pipe's name (the same for both ends).
    pub(crate) fn address(&self) -> Option<Address> {
        self.address.clone()
    }

    /// Writes `buf` as one pipe message.
    pub(crate) fn send_message(&mut self, buf: &[u8]) -> Result<()> {
        let len = u32::try_from(buf.len()).map_err(|_| {
            Error::Value(format!(
                "a {}-byte message does not fit in one pipe message (4 GiB at most)",
                buf.len()
            ))
        })?;
        let timeout = self.write_timeout();
        let done = overlapped(&self.handle, &self.event, timeout, |h, ov| {
            // SAFETY: `buf` outlives the operation (`overlapped` waits for it).
            unsafe { WriteFile(h, buf.as_ptr(), len, std::ptr::null_mut(), ov) }
        })
        .map_err(|e| io_error(e, "while sending"))?;
        match done {
            Done::Ok(n) if n == len => Ok(()),
            Done::Ok(n) | Done::More(n) => Err(Error::Io(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("wrote {n} of a {len}-byte pipe message"),
            ))),
            Done::TimedOut => Err(Error::Timeout("while sending".into())),
        }
    }

    /// Reads into `buf` (part of one message).
    fn read(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<Done> {
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        overlapped(&self.handle, &self.event, timeout, |h, ov| {
            // SAFETY: `buf` (at least `len` bytes) outlives the operation.
            unsafe { ReadFile(h, buf.as_mut_ptr(), len, std::ptr::null_mut(), ov) }
        })
        .map_err(|e| io_error(e, "while receiving"))
    }

    /// Bytes waiting in the pipe and bytes left in the current message.
    fn peek(&self) -> io::Result<(u32, u32)> {
        let (mut avail, mut left) = (0u32, 0u32);
        // SAFETY: no buffer; the two counters are valid for writes.
        let ok = unsafe {
            PeekNamedPipe(
                self.handle.as_raw_handle() as HANDLE,
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
                &mut avail,
                &mut left,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((avail, left))
    }

    /// Receives one whole message. A message over `max` gives
    /// [`Error::MessageTooLong`] once its first `min(max, 8 KiB)` bytes are read; the rest
    /// is not read (the caller then closes the connection, as CPython does).
    ///
    /// `deadline`, when set, bounds the wait for the message to start.
    pub(crate) fn recv_message(
        &mut self,
        max: Option<usize>,
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>> {
        if self.got_empty_message {
            self.got_empty_message = false;
            return Ok(Vec::new());
        }
        let mut timeout = self.read_timeout();
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout("during the handshake".into()));
            }
            timeout = Some(timeout.map_or(left, |t| t.min(left)));
        }
        let mut out = vec![0u8; max.map_or(FIRST_READ, |m| m.min(FIRST_READ))];
        let n = match self.read(&mut out, timeout)? {
            Done::Ok(n) => {
                out.truncate(n as usize);
                return Ok(out);
            }
            Done::TimedOut => return Err(Error::Timeout("while receiving".into())),
            Done::More(n) => n as usize,
        };
        // The pipe knows the whole message's length (the writer's one WriteFile).
        let left = self.peek().map_err(|e| io_error(e, "while receiving"))?.1 as usize;
        let total = n + left;
        if let Some(max) = max {
            if total > max {
                return Err(Error::MessageTooLong {
                    length: total as u64,
                    max: max as u64,
                });
            }
        }
        out.truncate(n);
        out.resize(total, 0);
        let mut filled = n;
        while filled < total {
            // The message is already in the pipe: no timeout for its rest.
            match self.read(&mut out[filled..], None)? {
                Done::Ok(k) => {
                    filled += k as usize;
                    break;
                }
                Done::More(k) => filled += k as usize,
                Done::TimedOut => return Err(Error::Timeout("while receiving".into())),
            }
        }
        if filled != total {
            return Err(Error::Truncated {
                expected: total as u64,
                received: filled as u64,
            });
        }
        Ok(out)
    }

    /// Whether a message (or the peer's close) is ready within `timeout`.
    pub(crate) fn poll(&mut self, timeout: Option<Duration>) -> Result<bool> {
        if self.got_empty_message {
            return Ok(true);
        }
        match self.peek() {
            Ok((avail, _)) if avail > 0 => return Ok(true),
            Ok(_) => {}
            Err(e) if is_disconnect(e.raw_os_error().unwrap_or(0) as u32) => return Ok(true),
            Err(e) => return Err(e.into()),
        }
        // A zero-byte read waits for the next message without consuming it, unless the
        // message is empty (then it is consumed, and remembered).
        match self.read(&mut [], timeout) {
            Ok(Done::Ok(_)) => {
                self.got_empty_message = true;
                Ok(true)
            }
            Ok(Done::More(_)) => Ok(true),
            Ok(Done::TimedOut) => Ok(false),
            Err(Error::Eof) => Ok(true),
            Err(e) => Err(e),
        }
    }
}

fn check_timeout(t: Option<Duration>) -> io::Result<()> {
    if t == Some(Duration::ZERO) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a zero timeout is not allowed",
        ));
    }
    Ok(())
}

fn io_error(e: io::Error, what: &str) -> Error {
    match e.raw_os_error().map(|c| c as u32) {
        Some(code) if is_disconnect(code) => Error::Eof,
        _ => match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::Timeout(what.to_string()),
            _ => Error::Io(e),
        },
    }
}

/// A fresh, connected pair of pipe ends named `\\.\pipe\mpconn-<pid>-<random>` (Python's
/// `Pipe()` on Windows): the listening end first.
pub(crate) fn pair() -> Result<(PipeStream, PipeStream)> {
    let mut tag = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut tag);
    let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    let name = format!(r"\\.\pipe\mpconn-{}-{tag}", std::process::id());
    let listener = PipeListener::bind(&name)?;
    let client = connect(&name, None)?;
    let server = listener.accept()?;
    Ok((server, client))
}

/// A listening named pipe: one instance waits for the next client, as in CPython's
/// `PipeListener`.
#[derive(Debug)]
pub(crate) struct PipeListener {
    name: String,
    queue: Mutex<Vec<OwnedHandle>>,
}

fn new_instance(name: &str, first: bool) -> io::Result<OwnedHandle> {
    let mut flags = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
    if first {
        flags |= FILE_FLAG_FIRST_PIPE_INSTANCE;
    }
    let name = wide(name);
    // SAFETY: `name` is NUL-terminated UTF-16; default security attributes.
    owned(unsafe {
        CreateNamedPipeW(
            name.as_ptr(),
            flags,
            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
            PIPE_UNLIMITED_INSTANCES,
            BUFSIZE,
            BUFSIZE,
            NMPWAIT_WAIT_FOREVER,
            std::ptr::null(),
        )
    })
}

impl PipeListener {
    /// Creates the first instance of `\\.\pipe\NAME` (failing if the name is taken).
    pub(crate) fn bind(name: &str) -> io::Result<PipeListener> {
        let first = new_instance(name, true)?;
        Ok(PipeListener {
            name: name.to_string(),
            queue: Mutex::new(vec![first]),
        })
    }

    /// Waits for a client on the oldest instance, after creating the next one.
    pub(crate) fn accept(&self) -> io::Result<PipeStream> {
        let handle = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.push(new_instance(&self.name, false)?);
            queue.remove(0)
        };
        let event = new_event()?;
        match overlapped(&handle, &event, None, |h, ov| {
            // SAFETY: connects our own pipe instance with our OVERLAPPED.
            unsafe { ConnectNamedPipe(h, ov) }
        }) {
            Ok(_) => {}
            // A client connected between CreateNamedPipe and ConnectNamedPipe; with
            // ERROR_NO_DATA it has also already written and closed (CPython issue 14725).
            Err(e)
                if matches!(
                    e.raw_os_error().map(|c| c as u32),
                    Some(ERROR_PIPE_CONNECTED | ERROR_NO_DATA)
                ) => {}
            Err(e) => return Err(e),
        }
        PipeStream::new(handle, Some(Address::Pipe(self.name.clone())))
    }
}

/// Connects to a named pipe (`\\.\pipe\NAME` or `\\server\pipe\NAME`), waiting while all
/// its instances are busy for up to `timeout` (default 20 s, as CPython).
pub(crate) fn connect(name: &str, timeout: Option<Duration>) -> Result<PipeStream> {
    let deadline = Instant::now() + timeout.unwrap_or(CONNECT_TIMEOUT);
    let wname = wide(name);
    let handle = loop {
        // SAFETY: `wname` is NUL-terminated UTF-16; default security, no template.
        let h = unsafe {
            CreateFileW(
                wname.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                0,
                std::ptr::null(),
                OPEN_EXISTING,
                FILE_FLAG_OVERLAPPED,
                std::ptr::null_mut(),
            )
        };
        match owned(h) {
            Ok(h) => break h,
            Err(e) => {
                let code = e.raw_os_error().unwrap_or(0) as u32;
                if !matches!(code, ERROR_PIPE_BUSY | ERROR_SEM_TIMEOUT) {
                    return Err(e.into());
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::Timeout(format!("connecting to {name}")));
                }
                // SAFETY: `wname` is NUL-terminated UTF-16. Waits for a free instance.
                unsafe { WaitNamedPipeW(wname.as_ptr(), millis(Some(left)).min(1000)) };
            }
        }
    };
    let mode = PIPE_READMODE_MESSAGE;
    // SAFETY: our handle; `mode` is valid for the call, the other two are left as they are.
    let ok = unsafe {
        SetNamedPipeHandleState(
            handle.as_raw_handle() as HANDLE,
            &mode,
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error().into());
    }
    Ok(PipeStream::new(
        handle,
        Some(Address::Pipe(name.to_string())),
    )?)
}
