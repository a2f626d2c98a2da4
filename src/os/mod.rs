//! The OS layer: the only place with syscalls and `unsafe`. It carries out what the
//! supervisor decides and turns what the kernel says into supervisor events; it decides
//! nothing itself.

pub mod driver;
pub mod events;
pub mod procfs;
pub mod reaper;
pub mod shutdown;
pub mod signals;
pub mod spawn;

use std::io;

/// The calling thread's errno as an `io::Error`.
pub fn last_error() -> io::Error {
    io::Error::last_os_error()
}

/// Runs a syscall wrapper until it stops failing with EINTR. `-1` means failure.
pub fn retry_eintr<T: PartialEq + From<i8>>(mut call: impl FnMut() -> T) -> io::Result<T> {
    loop {
        let ret = call();
        if ret != T::from(-1) {
            return Ok(ret);
        }
        let err = last_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Writes all of `bytes` to `fd`, looping over short writes and EINTR.
pub fn write_all(fd: i32, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe a live slice.
        let n = retry_eintr(|| unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) })?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// Writes to stderr, ignoring failure: a closed or full stderr must never stop an init.
pub fn write_stderr(bytes: &[u8]) {
    let _ = write_all(libc::STDERR_FILENO, bytes);
}

/// Writes to stdout (help and version only), ignoring failure.
pub fn write_stdout(bytes: &[u8]) {
    let _ = write_all(libc::STDOUT_FILENO, bytes);
}

pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

/// An errno as text, without std's " (os error N)" suffix: "No such file or directory".
pub fn errno_text(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}
