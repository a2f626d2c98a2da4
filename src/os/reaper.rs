//! Reaps every child that has exited: the main one, orphans adopted as PID 1 or subreaper.

use crate::signal::Signal;
use crate::supervisor::ChildStatus;
use std::io;

/// The result of one reaping pass.
pub struct Reaped {
    pub children: Vec<(i32, ChildStatus)>,
    /// False once `waitpid` reports ECHILD: no child of pidone is left, alive or zombie.
    pub children_left: bool,
}

/// Collects every exited child without blocking (`waitpid(-1, WNOHANG)` until nothing is ready).
pub fn reap_all() -> Reaped {
    let mut children = Vec::new();
    loop {
        let mut status = 0;
        // SAFETY: status is a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        match pid {
            0 => {
                return Reaped {
                    children,
                    children_left: true,
                };
            }
            -1 => {
                let err = io::Error::last_os_error();
                match err.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::ECHILD) => {
                        return Reaped {
                            children,
                            children_left: false,
                        };
                    }
                    _ => {
                        log::error!("waitpid failed: {err}");
                        return Reaped {
                            children,
                            children_left: true,
                        };
                    }
                }
            }
            pid => {
                if let Some(status) = decode(status) {
                    children.push((pid, status));
                }
            }
        }
    }
}

/// Decodes a wait status; None for stop/continue reports (not asked for, but be safe).
pub fn decode(status: i32) -> Option<ChildStatus> {
    if libc::WIFEXITED(status) {
        Some(ChildStatus::Exited(libc::WEXITSTATUS(status)))
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        Some(Signal::from_raw(sig).map_or(ChildStatus::Exited(128 + sig), ChildStatus::Signaled))
    } else {
        None
    }
}
