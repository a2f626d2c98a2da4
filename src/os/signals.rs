//! Taking over signal handling at start-up (SPEC §2.3), and giving the child back exactly
//! what pidone inherited.
//!
//! Every catchable signal is blocked and read from a signalfd. The mask is set with the raw
//! `rt_sigprocmask` syscall because glibc's `sigfillset` leaves out its two internal
//! real-time signals (32 and 33), whose default action would kill pidone.

use super::{last_error, retry_eintr};
use crate::signal::Signal;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The kernel's signal mask: bit N-1 is signal N.
type KernelMask = u64;

const MASK_SIZE: usize = std::mem::size_of::<KernelMask>();

fn all_catchable() -> KernelMask {
    !((1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1)))
}

/// Sets a plain SIG_DFL/SIG_IGN disposition and returns the previous action.
fn set_action(sig: i32, handler: libc::sighandler_t) -> io::Result<libc::sigaction> {
    // SAFETY: zeroed sigactions are valid (empty mask, no flags).
    let (mut new, mut old): (libc::sigaction, libc::sigaction) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    new.sa_sigaction = handler;
    // SAFETY: valid pointers to sigaction structs.
    if unsafe { libc::sigaction(sig, &new, &mut old) } != 0 {
        return Err(last_error());
    }
    Ok(old)
}

/// What pidone changed at start-up, so the child can be given the original back.
pub struct SignalState {
    original_mask: KernelMask,
    /// Signals whose disposition pidone changed, with the disposition it inherited.
    changed: Vec<(i32, libc::sigaction)>,
}

impl SignalState {
    /// Blocks every catchable signal, ignores SIGTTIN/SIGTTOU, resets an inherited SIG_IGN
    /// of SIGCHLD to SIG_DFL (with SIGCHLD ignored the kernel reaps the children itself), and
    /// returns a signalfd that reads them all. Other inherited SIG_IGN dispositions stay as
    /// they are: the kernel never discards a blocked signal, ignored or not, so the signalfd
    /// still sees it; querying all 64 dispositions cost ~10 µs of start-up (BENCHMARKS.md).
    pub fn take_over() -> io::Result<(SignalState, OwnedFd)> {
        let mut original_mask: KernelMask = 0;
        let full = all_catchable();
        // SAFETY: both pointers are to live u64s and the size matches the kernel's sigset.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &full,
                &mut original_mask,
                MASK_SIZE,
            )
        };
        if ret != 0 {
            return Err(last_error());
        }

        let mut changed = Vec::new();
        // SIGTTIN/SIGTTOU are set and their old action read in one call each: start-up time
        // is measured against tini, and every syscall shows.
        for sig in [Signal::TTIN, Signal::TTOU] {
            let old = set_action(sig.raw(), libc::SIG_IGN)?;
            if old.sa_sigaction != libc::SIG_IGN {
                changed.push((sig.raw(), old));
            }
        }
        // An ignored SIGCHLD makes the kernel reap children itself: pidone must see them.
        // SAFETY: a zeroed sigaction is a valid out-parameter; querying only (null new action).
        let mut chld: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut chld) } == 0
            && chld.sa_sigaction == libc::SIG_IGN
        {
            changed.push((libc::SIGCHLD, set_action(libc::SIGCHLD, libc::SIG_DFL)?));
        }

        // Blocking (no SFD_NONBLOCK): events.rs sleeps in `read` on it when no deadline is armed.
        // SAFETY: the mask pointer and size are valid; the flags are documented signalfd4 flags.
        let fd = unsafe { libc::syscall(libc::SYS_signalfd4, -1, &full, MASK_SIZE, libc::SFD_CLOEXEC) };
        if fd < 0 {
            return Err(last_error());
        }
        // SAFETY: the kernel just returned this descriptor and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        Ok((
            SignalState {
                original_mask,
                changed,
            },
            fd,
        ))
    }

    /// Restores the inherited dispositions and mask. Called in the child between fork and
    /// exec: only async-signal-safe syscalls, no allocation.
    pub fn restore_in_child(&self) -> io::Result<()> {
        for (sig, action) in &self.changed {
            // SAFETY: restoring a sigaction read earlier from the kernel.
            retry_eintr(|| unsafe { libc::sigaction(*sig, action, std::ptr::null_mut()) })?;
        }
        // SAFETY: pointer to a live u64, size of the kernel sigset.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &self.original_mask,
                std::ptr::null_mut::<KernelMask>(),
                MASK_SIZE,
            )
        };
        if ret != 0 {
            return Err(last_error());
        }
        Ok(())
    }
}
