//! Reaps every child that has exited: the main one, orphans adopted as PID 1 or subreaper.

use crate::signal::Signal;
use crate::supervisor::ChildStatus;
use nix::errno::Errno;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

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
        match waitpid_any() {
            Ok(None) => {
                return Reaped {
                    children,
                    children_left: true,
                };
            }
            Err(Errno::EINTR) => continue,
            Err(Errno::ECHILD) => {
                return Reaped {
                    children,
                    children_left: false,
                };
            }
            Err(err) => {
                log::error!("waitpid failed: {}", err.desc());
                return Reaped {
                    children,
                    children_left: true,
                };
            }
            Ok(Some((pid, status))) => {
                if let Some(status) = decode(pid, status) {
                    children.push((pid, status));
                }
            }
        }
    }
}

/// `waitpid(-1, &status, WNOHANG)`: the pid and raw status of one exited child, `None` when
/// none is ready. Raw libc, not `nix::sys::wait::waitpid`: nix turns a death by a real-time
/// signal (which its `Signal` can not name) into EINVAL after the child is already reaped,
/// losing its pid and status.
fn waitpid_any() -> nix::Result<Option<(i32, i32)>> {
    let mut status = 0;
    // SAFETY: status is a valid out-pointer.
    let pid = Errno::result(unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) })?;
    Ok((pid != 0).then_some((pid, status)))
}

/// Decodes a wait status; None for stop/continue reports (not asked for, but be safe).
pub fn decode(pid: i32, status: i32) -> Option<ChildStatus> {
    match WaitStatus::from_raw(Pid::from_raw(pid), status) {
        Ok(WaitStatus::Exited(_, code)) => Some(ChildStatus::Exited(code)),
        Ok(WaitStatus::Signaled(_, sig, _)) => Some(ChildStatus::Signaled(sig.into())),
        Ok(_) => None,
        // A real-time signal, which nix's Signal does not cover.
        Err(_) if libc::WIFSIGNALED(status) => {
            let sig = libc::WTERMSIG(status);
            Some(Signal::from_raw(sig).map_or(ChildStatus::Exited(128 + sig), ChildStatus::Signaled))
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_exits_and_deaths_by_any_signal() {
        assert_eq!(decode(5, 3 << 8), Some(ChildStatus::Exited(3)));
        assert_eq!(
            decode(5, libc::SIGKILL),
            Some(ChildStatus::Signaled(Signal::KILL))
        );
        let rt = libc::SIGRTMIN() + 3;
        assert_eq!(decode(5, rt), Signal::from_raw(rt).map(ChildStatus::Signaled));
        assert_eq!(decode(5, 0x137f), None); // stopped by SIGSTOP
    }
}
