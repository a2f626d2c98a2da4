//! Letting the application run first when pidone wakes it (SPEC §7: latency of the first
//! signal after idle).
//!
//! With the EEVDF scheduler (Linux 6.6+), a task woken on a busy CPU preempts the running one
//! only if its virtual deadline is earlier, and a task that got the CPU that way keeps it for
//! a while ("run to parity"). pidone woke with an early deadline in about half of the cold
//! rounds, preempted the process that sent it the signal, and then the child it had just
//! signalled could not preempt it: the child waited for pidone to arm the grace timer and go
//! back to sleep (about 7 µs; tini and catatonit, preempted by the child in over 90% of the
//! rounds, did not show this). A slice longer than the default (Linux 6.12+ lets a task
//! choose its own) makes pidone's deadlines later: it no longer preempts the sender, and the
//! child, with the default slice, preempts pidone as soon as it is signalled
//! ("PREEMPT_SHORT"). pidone's CPU share is unchanged (that is its weight, from its nice
//! value), and so is its latency when it is the only runnable task on its CPU, which is how
//! it usually wakes. See BENCHMARKS.md, "Cold signal latency", fourth pass.
//!
//! Set after the child is started, so the child does not inherit it. Kernels before 6.12
//! ignore the slice of a normal task; a refusal (EINVAL, or EPERM from a seccomp profile) only
//! leaves the default slice, with a debug line.

use super::last_error;
use std::io;

/// pidone's slice: longer than any default (0.75 ms times 1 + log2 of the CPUs, at most 8,
/// so 3 ms at most), short enough that pidone waits at most a few milliseconds behind
/// CPU-bound tasks that share its CPU.
const SLICE_NS: u64 = 10_000_000;

/// `sched_setattr(2)` for the calling thread: its own policy, nice value and flags, with
/// [`SLICE_NS`] as its slice (`sched_runtime`). Left alone under SCHED_IDLE, a real-time or a
/// deadline policy. (A `renice` of pidone between the read and the write would be undone; it
/// runs once, at start-up, a few microseconds apart.)
pub fn prefer_the_child() -> io::Result<()> {
    let size = std::mem::size_of::<libc::sched_attr>() as u32;
    // SAFETY: sched_attr is plain data; all zeroes is a valid value.
    let mut attr: libc::sched_attr = unsafe { std::mem::zeroed() };
    attr.size = size;
    // nix has no wrapper for sched_getattr/sched_setattr.
    // SAFETY: `attr` is a live sched_attr of `size` bytes; 0 is the calling thread.
    let ret = unsafe { libc::syscall(libc::SYS_sched_getattr, 0, &raw mut attr, size, 0) };
    if ret != 0 {
        return Err(last_error());
    }
    let policy = attr.sched_policy as i32;
    if policy != libc::SCHED_OTHER && policy != libc::SCHED_BATCH {
        return Ok(());
    }
    attr.size = size;
    attr.sched_runtime = SLICE_NS;
    // Only the flag sched_getattr reports that sched_setattr would keep.
    attr.sched_flags &= libc::SCHED_FLAG_RESET_ON_FORK as u64;
    // SAFETY: as above; the kernel only reads `attr`.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &raw const attr, 0) };
    if ret != 0 {
        return Err(last_error());
    }
    Ok(())
}
