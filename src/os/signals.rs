//! Taking over signal handling at start-up (SPEC §2.3), and giving the child back exactly
//! what pidone inherited.
//!
//! Every catchable signal is blocked and read from a signalfd. The mask is set with the raw
//! `rt_sigprocmask` syscall: glibc's `sigprocmask` (under nix's wrappers too) silently drops
//! its two internal real-time signals (32 and 33) from any mask, and their default action
//! would kill pidone. For the same reason the mask is built from the kernel's bit layout
//! instead of with `SigSet::all()` (glibc's `sigfillset` leaves them out too).

use super::last_error;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::io;

/// The part of a `sigset_t` the kernel reads: bit N-1 is signal N.
const KERNEL_MASK_SIZE: usize = std::mem::size_of::<u64>();

/// Every signal but SIGKILL and SIGSTOP, as a set that includes glibc's reserved ones.
fn all_catchable() -> SigSet {
    let bits: u64 = !((1 << (Signal::SIGKILL as i32 - 1)) | (1 << (Signal::SIGSTOP as i32 - 1)));
    let mut set = *SigSet::empty().as_ref();
    // SAFETY: glibc's sigset_t starts with the kernel's 64-bit mask (an array of unsigned
    // longs, signal N at bit N-1), and `set` is an initialised, emptied sigset_t.
    unsafe {
        (&raw mut set).cast::<u64>().write(bits);
        SigSet::from_sigset_t_unchecked(set)
    }
}

/// `rt_sigprocmask(SIG_SETMASK, new, old)` straight to the kernel, so glibc's reserved
/// signals are neither dropped from `new` nor lost when restoring `old`.
fn set_kernel_mask(new: &libc::sigset_t, old: Option<&mut libc::sigset_t>) -> io::Result<()> {
    let old = old.map_or(std::ptr::null_mut(), |o| o as *mut libc::sigset_t);
    // SAFETY: `new` is a live sigset_t and `old` null or a live one; the kernel reads and
    // writes only KERNEL_MASK_SIZE bytes of them.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            new,
            old,
            KERNEL_MASK_SIZE,
        )
    };
    if ret != 0 {
        return Err(last_error());
    }
    Ok(())
}

/// What pidone changed at start-up, so the child can be given the original back.
pub struct SignalState {
    original_mask: libc::sigset_t,
    /// Signals whose disposition pidone changed, with the disposition it inherited.
    changed: Vec<(Signal, SigAction)>,
}

impl SignalState {
    /// Blocks every catchable signal, ignores SIGTTIN/SIGTTOU, resets an inherited SIG_IGN
    /// of SIGCHLD to SIG_DFL (with SIGCHLD ignored the kernel reaps the children itself), and
    /// returns a signalfd that reads them all. Other inherited SIG_IGN dispositions stay as
    /// they are: the kernel never discards a blocked signal, ignored or not, so the signalfd
    /// still sees it; querying all 64 dispositions cost ~10 µs of start-up (BENCHMARKS.md).
    pub fn take_over() -> io::Result<(SignalState, SignalFd)> {
        let full = all_catchable();
        let mut original_mask = *SigSet::empty().as_ref();
        set_kernel_mask(full.as_ref(), Some(&mut original_mask))?;

        // One sigaction each, which sets the new action and reads the old one: start-up time
        // is measured against tini, and every syscall shows. SIGCHLD is set to SIG_DFL
        // whatever it was: an exec'd process can only have inherited SIG_DFL or SIG_IGN (with
        // no flags), so that changes nothing unless it was ignored, and an ignored SIGCHLD
        // makes the kernel reap children itself, which pidone must see.
        let mut changed = Vec::new();
        for (sig, handler) in [
            (Signal::SIGTTIN, SigHandler::SigIgn),
            (Signal::SIGTTOU, SigHandler::SigIgn),
            (Signal::SIGCHLD, SigHandler::SigDfl),
        ] {
            let action = SigAction::new(handler, SaFlags::empty(), SigSet::empty());
            // SAFETY: SIG_IGN and SIG_DFL are not handlers, so no code runs on a signal.
            let old = unsafe { sigaction(sig, &action) }?;
            let same = matches!(
                (old.handler(), handler),
                (SigHandler::SigIgn, SigHandler::SigIgn) | (SigHandler::SigDfl, SigHandler::SigDfl)
            );
            if !same {
                changed.push((sig, old));
            }
        }

        // Blocking (no SFD_NONBLOCK): events.rs sleeps in `read` on it when no deadline is armed.
        let fd = SignalFd::with_flags(&full, SfdFlags::SFD_CLOEXEC)?;
        Ok((
            SignalState {
                original_mask,
                changed,
            },
            fd,
        ))
    }

    /// The inherited state in the terms of posix_spawn: the mask, and the signals to reset to
    /// SIG_DFL. `None` when pidone changed a disposition that was not SIG_DFL (an inherited
    /// SIG_IGN of SIGCHLD): posix_spawn can reset to SIG_DFL only.
    pub fn for_posix_spawn(&self) -> Option<(&libc::sigset_t, SigSet)> {
        let mut defaults = SigSet::empty();
        for (sig, action) in &self.changed {
            if !matches!(action.handler(), SigHandler::SigDfl) {
                return None;
            }
            defaults.add(*sig);
        }
        Some((&self.original_mask, defaults))
    }

    /// Restores the inherited dispositions and mask. Called in the child between fork and
    /// exec: only async-signal-safe syscalls, no allocation.
    pub fn restore_in_child(&self) -> io::Result<()> {
        for (sig, action) in &self.changed {
            // SAFETY: restoring an action the kernel gave us, which was SIG_DFL or SIG_IGN.
            super::retry(|| unsafe { sigaction(*sig, action) })?;
        }
        set_kernel_mask(&self.original_mask, None)
    }
}
