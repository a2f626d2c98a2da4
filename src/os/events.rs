//! Sleeping until something happens: a signal arrives on the signalfd or the supervisor's
//! deadline passes. Nothing else wakes pidone, so an idle pidone makes no context switches.
//! The signalfd is blocking: with no deadline armed, pidone sleeps in `read` on it.

use super::retry;
use crate::signal::Signal;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::signalfd::{SignalFd, siginfo};
use nix::sys::time::TimeSpec;
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// A signal read from the signalfd, with who sent it.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    pub sig: Signal,
    pub sender_pid: u32,
}

pub struct Events {
    signalfd: SignalFd,
}

const SIGINFO_SIZE: usize = size_of::<siginfo>();

/// A field of a `signalfd_siginfo` record, read from its bytes (they are in native order).
fn field<const N: usize>(record: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&record[offset..offset + N]);
    out
}

impl Events {
    pub fn new(signalfd: SignalFd) -> Events {
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
    #[unsafe(link_section = ".text.hot.pidone")]
    pub fn wait(&self, deadline: Option<Instant>, received: &mut Vec<Received>) -> io::Result<()> {
        received.clear();
        if let Some(deadline) = deadline
            && !self.readable(deadline.saturating_duration_since(Instant::now()))?
        {
            return Ok(());
        }
        // The signalfd blocks: this read sleeps until a signal comes (or returns at once when
        // ppoll said one is pending). A full buffer may mean more are pending: read again
        // only if ppoll (without waiting) says so.
        while self.read_some(received)? {
            if !self.readable(Duration::ZERO)? {
                break;
            }
        }
        Ok(())
    }

    /// `ppoll` on the signalfd for at most `timeout`: whether a signal is pending (false on a
    /// timeout or EINTR).
    fn readable(&self, timeout: Duration) -> io::Result<bool> {
        let mut fds = [PollFd::new(self.signalfd.as_fd(), PollFlags::POLLIN)];
        // No signal mask is passed: everything stays blocked and arrives through the fd.
        match ppoll(&mut fds, Some(TimeSpec::from_duration(timeout)), None) {
            Ok(n) => Ok(n > 0),
            Err(Errno::EINTR) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// One `read` of a few records (it blocks until there is one); true when the buffer came
    /// back full, so more may be pending. The signalfd returns whole records only, never a
    /// short one.
    #[unsafe(link_section = ".text.hot.pidone")]
    fn read_some(&self, received: &mut Vec<Received>) -> io::Result<bool> {
        // A few records per read: a burst of signals is rare, and the caller reads again
        // when the buffer came back full.
        let mut buf = [0u8; SIGINFO_SIZE * 4];
        let n = match retry(|| nix::unistd::read(&self.signalfd, &mut buf)) {
            Ok(n) => n,
            Err(Errno::EAGAIN) => return Ok(false),
            Err(err) => return Err(err.into()),
        };
        for record in buf[..n].chunks_exact(SIGINFO_SIZE) {
            let signo = u32::from_ne_bytes(field(record, offset_of!(siginfo, ssi_signo)));
            if let Ok(signo) = i32::try_from(signo)
                && let Some(sig) = Signal::from_raw(signo)
            {
                received.push(Received {
                    sig,
                    sender_pid: u32::from_ne_bytes(field(record, offset_of!(siginfo, ssi_pid))),
                });
            }
        }
        Ok(n == buf.len())
    }
}
