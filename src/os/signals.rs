//! Taking over signal handling at start-up (SPEC §2.3), and giving the child back exactly
//! what pidone inherited.
//!
//! Every catchable signal is blocked and read from a signalfd. The mask is set with the raw
//! `rt_sigprocmask` syscall because glibc's `sigfillset` leaves out its two internal
//! real-time signals (32 and 33), whose default action would kill pidone.

use super::{last_error, retry_eintr};
use crate::signal::{Signal, rtmin};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The kernel's signal mask: bit N-1 is signal N.
type KernelMask = u64;

const MASK_SIZE: usize = std::mem::size_of::<KernelMask>();

fn all_catchable() -> KernelMask {
    !((1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1)))
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
        for sig in [Signal::TTIN, Signal::TTOU, Signal::CHLD] {
            let n = sig.raw();
            if (32..rtmin()).contains(&n) {
                continue; // glibc refuses to touch its internal signals
            }
            // SAFETY: a zeroed sigaction is a valid out-parameter.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: querying only (null new action).
            if unsafe { libc::sigaction(n, std::ptr::null(), &mut old) } != 0 {
                continue;
            }
            let wanted = if sig == Signal::TTIN || sig == Signal::TTOU {
                libc::SIG_IGN
            } else if old.sa_sigaction == libc::SIG_IGN {
                libc::SIG_DFL
            } else {
                continue;
            };
            if old.sa_sigaction == wanted {
                continue;
            }
            // SAFETY: as above; the new action is a plain SIG_DFL/SIG_IGN.
            let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
            new.sa_sigaction = wanted;
            // SAFETY: valid pointers to sigaction structs.
            if unsafe { libc::sigaction(n, &new, std::ptr::null_mut()) } != 0 {
                return Err(last_error());
            }
            changed.push((n, old));
        }

        // SAFETY: the mask pointer and size are valid; the flags are documented signalfd4 flags.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_signalfd4,
                -1,
                &full,
                MASK_SIZE,
                libc::SFD_CLOEXEC | libc::SFD_NONBLOCK,
            )
        };
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
