//! Sleeping until something happens: a signal arrives on the signalfd or the supervisor's
//! deadline passes. Nothing else wakes pidone, so an idle pidone makes no context switches.

use super::last_error;
use crate::signal::Signal;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

/// A signal read from the signalfd, with who sent it.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    pub sig: Signal,
    pub sender_pid: u32,
    pub code: i32,
}

pub struct Events {
    signalfd: OwnedFd,
}

const SIGINFO_SIZE: usize = std::mem::size_of::<libc::signalfd_siginfo>();

impl Events {
    pub fn new(signalfd: OwnedFd) -> Events {
        Events { signalfd }
    }

    /// Blocks until a signal is pending or `deadline` passes, then returns every pending
    /// signal (possibly none, on a timeout).
    pub fn wait(&self, deadline: Option<Instant>) -> io::Result<Vec<Received>> {
        let mut pfd = libc::pollfd {
            fd: self.signalfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let timeout = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            libc::timespec {
                tv_sec: left.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: libc::c_long::from(left.subsec_nanos() as i32),
            }
        });
        let timeout_ptr = timeout
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: one valid pollfd; the timeout is null or points to a live timespec. No
        // signal mask is passed: everything stays blocked and arrives through the fd.
        let ret = unsafe { libc::ppoll(&mut pfd, 1, timeout_ptr, std::ptr::null()) };
        if ret < 0 {
            let err = last_error();
            return if err.kind() == io::ErrorKind::Interrupted {
                Ok(Vec::new())
            } else {
                Err(err)
            };
        }
        if ret == 0 {
            return Ok(Vec::new());
        }
        self.drain()
    }

    /// Reads every pending signal. The signalfd returns whole records only, never a short one.
    fn drain(&self) -> io::Result<Vec<Received>> {
        // A few records per read: the buffer is zeroed on every wake-up, and a burst of
        // signals is rare (the loop below reads again when the buffer came back full).
        let mut received = Vec::with_capacity(4);
        let mut buf = [0u8; SIGINFO_SIZE * 4];
        loop {
            // SAFETY: reading into a stack buffer of the given length.
            let n = unsafe { libc::read(self.signalfd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let err = last_error();
                match err.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return Ok(received),
                    _ => return Err(err),
                }
            }
            if n == 0 {
                return Ok(received);
            }
            for record in buf[..n as usize].chunks_exact(SIGINFO_SIZE) {
                // SAFETY: the kernel wrote whole signalfd_siginfo records; read_unaligned
                // copes with the byte buffer's alignment.
                let info: libc::signalfd_siginfo =
                    unsafe { std::ptr::read_unaligned(record.as_ptr().cast()) };
                if let Some(sig) = Signal::from_raw(info.ssi_signo as i32) {
                    received.push(Received {
                        sig,
                        sender_pid: info.ssi_pid,
                        code: info.ssi_code,
                    });
                }
            }
            if (n as usize) < buf.len() {
                return Ok(received);
            }
        }
    }
}
