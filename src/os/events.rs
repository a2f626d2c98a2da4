//! Sleeping until something happens: a signal arrives on the signalfd or the supervisor's
//! deadline passes. Nothing else wakes pidone, so an idle pidone makes no context switches.

use super::retry;
use crate::signal::Signal;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::signalfd::{SignalFd, siginfo};
use nix::sys::time::TimeSpec;
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::AsFd;
use std::time::Instant;

/// A signal read from the signalfd, with who sent it.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    pub sig: Signal,
    pub sender_pid: u32,
    pub code: i32,
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

    /// Blocks until a signal is pending or `deadline` passes, then returns every pending
    /// signal (possibly none, on a timeout).
    pub fn wait(&self, deadline: Option<Instant>) -> io::Result<Vec<Received>> {
        let mut fds = [PollFd::new(self.signalfd.as_fd(), PollFlags::POLLIN)];
        let timeout = deadline.map(|d| TimeSpec::from_duration(d.saturating_duration_since(Instant::now())));
        // No signal mask is passed: everything stays blocked and arrives through the fd.
        match ppoll(&mut fds, timeout, None) {
            Ok(0) | Err(Errno::EINTR) => Ok(Vec::new()),
            Ok(_) => self.drain(),
            Err(err) => Err(err.into()),
        }
    }

    /// Reads every pending signal. The signalfd returns whole records only, never a short one.
    fn drain(&self) -> io::Result<Vec<Received>> {
        // A few records per read: the buffer is zeroed on every wake-up, and a burst of
        // signals is rare (the loop below reads again when the buffer came back full).
        let mut received = Vec::with_capacity(4);
        let mut buf = [0u8; SIGINFO_SIZE * 4];
        loop {
            let n = match retry(|| nix::unistd::read(&self.signalfd, &mut buf)) {
                Ok(n) => n,
                Err(Errno::EAGAIN) => return Ok(received),
                Err(err) => return Err(err.into()),
            };
            for record in buf[..n].chunks_exact(SIGINFO_SIZE) {
                let signo = u32::from_ne_bytes(field(record, offset_of!(siginfo, ssi_signo)));
                if let Some(sig) = i32::try_from(signo).ok().and_then(Signal::from_raw) {
                    received.push(Received {
                        sig,
                        sender_pid: u32::from_ne_bytes(field(record, offset_of!(siginfo, ssi_pid))),
                        code: i32::from_ne_bytes(field(record, offset_of!(siginfo, ssi_code))),
                    });
                }
            }
            if n < buf.len() {
                return Ok(received);
            }
        }
    }
}
