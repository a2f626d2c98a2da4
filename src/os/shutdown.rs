//! Carrying out the supervisor's "terminate/kill everything that is left" (SPEC §4).
//!
//! As PID 1 everything else in the namespace is fair game. Otherwise only descendants found
//! through /proc are signalled, each through a pidfd opened and then checked against the
//! start time seen in /proc, so a pid recycled by an unrelated process is never hit, and
//! `kill(-1, …)` is never used: as a subreaper on a host it would hit every process of the user.

use super::procfs::{self, ProcEntry};
use super::{getpid, last_error, pidfd_open};
use crate::report::Proc;
use crate::signal::Signal;
use nix::errno::Errno;
use nix::unistd::Pid;
use std::collections::HashSet;
use std::os::fd::{AsRawFd, OwnedFd};

pub struct Scope {
    /// pidone is PID 1 of its namespace.
    pub pid1: bool,
    /// The main child's process group, the fallback target when /proc can not be read.
    pub main_pgid: i32,
}

/// Sends SIGTERM, then SIGCONT (a stopped process would not see the TERM until continued),
/// to every remaining descendant. Returns whom.
pub fn terminate_remaining(scope: &Scope) -> Vec<Proc> {
    let (sent, _) = signal_remaining(scope, Signal::TERM, false, &mut |_| {});
    for p in &sent {
        // Checked like the TERM: one that exited on it may already have been reaped by its
        // parent, and its pid reused.
        send_checked(scope, p.pid, Some(p.start_time), Signal::CONT);
    }
    if sent.is_empty() && scope.pid1 {
        send_raw(-1, Signal::CONT);
    }
    sent.into_iter()
        .map(|p| Proc {
            pid: p.pid,
            comm: p.comm,
        })
        .collect()
}

/// SIGKILLs every remaining descendant, again and again until a pass finds no new one (a
/// process may fork between the listing and its kill). `announce` sees each batch first.
/// Also returns whether every descendant could be found (false after the process-group
/// fallback: a leftover outside that group is out of reach).
pub fn kill_remaining(scope: &Scope, announce: &mut dyn FnMut(&[Proc])) -> (Vec<Proc>, bool) {
    let (killed, listed) = signal_remaining(scope, Signal::KILL, true, announce);
    if scope.pid1 {
        // Atomic against fork in the kernel: nothing in the namespace survives this.
        send_raw(-1, Signal::KILL);
    }
    let killed = killed
        .into_iter()
        .map(|p| Proc {
            pid: p.pid,
            comm: p.comm,
        })
        .collect();
    (killed, listed || scope.pid1)
}

fn signal_remaining(
    scope: &Scope,
    sig: Signal,
    repeat: bool,
    announce: &mut dyn FnMut(&[Proc]),
) -> (Vec<ProcEntry>, bool) {
    let mut done: HashSet<i32> = HashSet::new();
    let mut sent = Vec::new();
    // Bounded: each pass only finds processes forked by ones that were alive a pass ago.
    for _pass in 0..64 {
        let batch: Vec<ProcEntry> = match procfs::descendants(scope.pid1) {
            Ok(all) => all.into_iter().filter(|p| !done.contains(&p.pid)).collect(),
            Err(err) => {
                if sent.is_empty() {
                    fallback(scope, sig, &err);
                }
                return (sent, false);
            }
        };
        if batch.is_empty() {
            break;
        }
        let procs: Vec<Proc> = batch
            .iter()
            .map(|p| Proc {
                pid: p.pid,
                comm: p.comm.clone(),
            })
            .collect();
        announce(&procs);
        for p in batch {
            done.insert(p.pid);
            if send_checked(scope, p.pid, Some(p.start_time), sig) {
                sent.push(p);
            }
        }
        if !repeat {
            break;
        }
    }
    (sent, true)
}

fn fallback(scope: &Scope, sig: Signal, err: &std::io::Error) {
    let err = super::error_text(err);
    if scope.pid1 {
        log::debug!("cannot list processes ({err}); sending {sig} to every process");
        send_raw(-1, sig);
    } else {
        log::warn!(
            "cannot list descendants ({err}); sending {sig} to the child's process group {} only",
            scope.main_pgid
        );
        send_raw(-scope.main_pgid, sig);
    }
}

/// Signals `pid` if it is still the process seen in /proc (same start time). Returns whether
/// the signal was sent.
fn send_checked(scope: &Scope, pid: i32, start_time: Option<u64>, sig: Signal) -> bool {
    if scope.pid1 || pid == getpid() {
        return pid != getpid() && send_raw(pid, sig);
    }
    let fd = match pidfd_open(pid) {
        Ok(fd) => fd,
        Err(err) if err.raw_os_error() == Some(libc::ENOSYS) => {
            // Old kernel: the check below narrows the race to a few instructions.
            return still_same(pid, start_time) && send_raw(pid, sig);
        }
        Err(_) => return false, // ESRCH: already gone
    };
    // The pidfd pins the process: if it is still the one listed, the signal reaches it.
    still_same(pid, start_time) && send_pidfd(&fd, sig)
}

fn still_same(pid: i32, start_time: Option<u64>) -> bool {
    match start_time {
        None => true,
        Some(t) => procfs::read_stat(pid).is_ok_and(|p| p.start_time == t),
    }
}

/// `kill(2)`; ESRCH (already gone) counts as not sent, never as an error. A real-time
/// signal, which nix's `Signal` can not name, goes through `libc::kill`.
#[unsafe(link_section = ".text.hot.pidone")]
pub fn send_raw(pid: i32, sig: Signal) -> bool {
    let result = match sig.named() {
        Some(named) => nix::sys::signal::kill(Pid::from_raw(pid), named),
        // SAFETY: plain syscall with a signal number in 1..=SIGRTMAX.
        None => Errno::result(unsafe { libc::kill(pid, sig.raw()) }).map(drop),
    };
    match result {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        Err(err) => {
            log::debug!("kill({pid}, {sig}) failed: {}", err.desc());
            false
        }
    }
}

/// `pidfd_send_signal(2)`; ESRCH means the process is gone.
#[unsafe(link_section = ".text.hot.pidone")]
pub fn send_pidfd(fd: &OwnedFd, sig: Signal) -> bool {
    // nix has no wrapper for pidfd_send_signal.
    // SAFETY: a valid pidfd, a null siginfo (the kernel fills in ours), no flags.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig.raw(),
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if ret != 0 {
        let err = last_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            log::debug!("pidfd_send_signal({sig}) failed: {err}");
        }
        return false;
    }
    true
}
