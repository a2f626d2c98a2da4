//! Sleeping until something happens: a signal arrives on the signalfd or the supervisor's
//! deadline passes. Nothing else wakes pidone, so an idle pidone makes no context switches.
//! The signalfd is blocking: with no deadline armed, pidone sleeps in `read` on it.

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

    /// Blocks until a signal is pending or `deadline` passes, then puts every pending signal
    /// in `received` (possibly none, on a timeout), replacing what it held. The caller keeps
    /// `received` across wake-ups, so a wake-up does not allocate.
    ///
    /// Without a deadline (always, until a stop signal or the main child's exit), pidone
    /// blocks in `read` on the signalfd itself, as catatonit does: the wake-up returns with
    /// the signal in hand, one system call and one cold code path fewer than `ppoll` then
    /// `read` (the first signal after a long idle pays for every cold page it touches).
    pub fn wait(&self, deadline: Option<Instant>, received: &mut Vec<Received>) -> io::Result<()> {
        received.clear();
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = libc::timespec {
                tv_sec: left.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: libc::c_long::from(left.subsec_nanos() as i32),
            };
            if !self.readable(&timeout)? {
                return Ok(());
            }
        }
        // The signalfd blocks: this read sleeps until a signal comes (or returns at once when
        // ppoll said one is pending). A full buffer may mean more are pending: read again
        // only if ppoll (without waiting) says so.
        while self.read_some(received)? {
            if !self.readable(&libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            })? {
                break;
            }
        }
        Ok(())
    }

    /// `ppoll` on the signalfd for at most `timeout`: whether a signal is pending (false on a
    /// timeout or EINTR).
    fn readable(&self, timeout: &libc::timespec) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.signalfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd and a live timespec. No signal mask is passed: everything
        // stays blocked and arrives through the fd.
        let ret = unsafe { libc::ppoll(&mut pfd, 1, timeout, std::ptr::null()) };
        if ret < 0 {
            let err = last_error();
            return if err.kind() == io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(err)
            };
        }
        Ok(ret > 0)
    }

    /// One `read` of a few records (it blocks until there is one); true when the buffer came
    /// back full, so more may be pending. The signalfd returns whole records only.
    fn read_some(&self, received: &mut Vec<Received>) -> io::Result<bool> {
        // A few records per read: a burst of signals is rare, and the caller reads again
        // when the buffer came back full.
        let mut buf = [0u8; SIGINFO_SIZE * 4];
        // SAFETY: reading into a stack buffer of the given length.
        let n = unsafe { libc::read(self.signalfd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let err = last_error();
            return match err.kind() {
                // EINTR: back to the caller's loop, as a wake-up without a signal.
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => Ok(false),
                _ => Err(err),
            };
        }
        for record in buf[..n as usize].chunks_exact(SIGINFO_SIZE) {
            // SAFETY: the kernel wrote whole signalfd_siginfo records; read_unaligned copes
            // with the byte buffer's alignment.
            let info: libc::signalfd_siginfo = unsafe { std::ptr::read_unaligned(record.as_ptr().cast()) };
            if let Some(sig) = Signal::from_raw(info.ssi_signo as i32) {
                received.push(Received {
                    sig,
                    sender_pid: info.ssi_pid,
                    code: info.ssi_code,
                });
            }
        }
        Ok(n as usize == buf.len())
    }
}
