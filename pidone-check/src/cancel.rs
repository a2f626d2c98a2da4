//! pidone-check's own SIGINT, SIGTERM and SIGHUP: a CI job being cancelled, or its terminal
//! closed (signal-hook).
//!
//! The handlers only record which signal came and write a byte to a socket pair, so every wait
//! in pidone-check (a `poll` in process mode, [`Cancel::sleep`] in image mode) wakes at once.
//! What to do about it (kill the application, remove the container, print what is known) is
//! up to the code that waits.

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use pidone::signal::Signal;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The signals that cancel a run.
const CANCEL_SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];

#[derive(Clone)]
pub struct Cancel {
    signal: Arc<AtomicUsize>,
    wake: Arc<UnixStream>,
}

impl Cancel {
    /// Installs the handlers for SIGINT, SIGTERM and SIGHUP, and one for SIGPIPE.
    pub fn install() -> io::Result<Cancel> {
        // A reader of pidone-check's output that goes away (`| head`, a log collector) must
        // not kill it halfway with a container still running: with a handler installed, a
        // write to a closed pipe fails with EPIPE instead. Handlers do not survive exec, so
        // the application still starts with SIGPIPE's default action.
        signal_hook::flag::register(signal_hook::consts::SIGPIPE, Arc::new(AtomicBool::new(false)))?;
        let signal = Arc::new(AtomicUsize::new(0));
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        for sig in CANCEL_SIGNALS {
            // The flag first: by the time the byte wakes a waiter, the signal is recorded.
            signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize)?;
            signal_hook::low_level::pipe::register(sig, write.try_clone()?)?;
        }
        Ok(Cancel {
            signal,
            wake: Arc::new(read),
        })
    }

    /// The signal that cancelled the run, if one came.
    pub fn signal(&self) -> Option<Signal> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            n => i32::try_from(n).ok().and_then(Signal::from_raw),
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.signal.load(Ordering::SeqCst) != 0
    }

    /// The socket that becomes readable when a signal came (for a `poll` set).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Reads the wake-up bytes, so the socket does not stay readable.
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&*self.wake).read(&mut buf), Ok(n) if n > 0) {}
    }

    /// Waits `d`, or less when a signal comes. Returns true when cancelled.
    pub fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        loop {
            if self.is_cancelled() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.fd(), PollFlags::POLLIN)];
            // EINTR (the signal itself) and readiness both lead back to the flag above.
            let _ = poll(&mut fds, PollTimeout::from(ms));
            self.drain();
        }
    }
}
