//! The OS layer: the only place with syscalls and `unsafe`. It carries out what the
//! supervisor decides and turns what the kernel says into supervisor events; it decides
//! nothing itself.
//!
//! Syscalls go through nix; raw `libc` only where nix has no wrapper or its wrapper does not
//! fit (pidfds, a signal mask with glibc's reserved signals, `waitpid` for deaths by real-time
//! signals, `execvp` without allocating after fork), each explained where it is used.

pub mod driver;
pub mod events;
pub mod procfs;
pub mod reaper;
pub mod sched;
pub mod shutdown;
pub mod signals;
pub mod spawn;

use nix::errno::Errno;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The calling thread's errno as an `io::Error`.
pub fn last_error() -> io::Error {
    io::Error::last_os_error()
}

/// Runs a nix call until it stops failing with EINTR.
pub fn retry<T>(mut call: impl FnMut() -> nix::Result<T>) -> nix::Result<T> {
    loop {
        match call() {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// Writes all of `bytes` to `fd`, looping over short writes and EINTR.
pub fn write_all(fd: impl AsFd, mut bytes: &[u8]) -> io::Result<()> {
    let fd = fd.as_fd();
    while !bytes.is_empty() {
        let n = retry(|| nix::unistd::write(fd, bytes))?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
    }
    Ok(())
}

/// One of the three standard descriptors. pidone never closes them, so the borrow lasts (if
/// one was closed when pidone started, its number may name another descriptor of pidone's,
/// exactly as for a raw `write(2, …)`).
pub fn std_fd(fd: StdFd) -> BorrowedFd<'static> {
    // SAFETY: 0, 1 and 2 are never closed by pidone, so the borrow never outlives them.
    unsafe { BorrowedFd::borrow_raw(fd as RawFd) }
}

/// The standard descriptors, for [`std_fd`].
#[derive(Clone, Copy)]
pub enum StdFd {
    In = 0,
    Out = 1,
    Err = 2,
}

/// Writes to stderr, ignoring failure: a closed or full stderr must never stop an init.
pub fn write_stderr(bytes: &[u8]) {
    let _ = write_all(std_fd(StdFd::Err), bytes);
}

/// Writes to stdout (help and version only), ignoring failure.
pub fn write_stdout(bytes: &[u8]) {
    let _ = write_all(std_fd(StdFd::Out), bytes);
}

pub fn getpid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// `pidfd_open(2)` (nix has no wrapper): a descriptor that names one process for good.
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1; the new
    // descriptor (close-on-exec, as pidfds always are) is owned by nothing else.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0);
        if fd < 0 {
            return Err(last_error());
        }
        Ok(OwnedFd::from_raw_fd(fd as RawFd))
    }
}

/// An errno as text, without std's " (os error N)" suffix: "No such file or directory".
pub fn errno_text(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// An I/O error as text, an OS error without std's " (os error N)" suffix.
pub fn error_text(err: &io::Error) -> String {
    err.raw_os_error().map_or_else(|| err.to_string(), errno_text)
}
