//! What the benchmark harness and its child share: clock readings as plain nanoseconds, so
//! that one process can compare a time another process wrote (CLOCK_MONOTONIC is the same in
//! every PID namespace).

use nix::time::{ClockId, clock_gettime};

/// `clock` in nanoseconds (0 if the clock can not be read, which CLOCK_MONOTONIC and the
/// thread's CPU clock always can).
pub fn clock_ns(clock: ClockId) -> u64 {
    clock_gettime(clock).map_or(0, |t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
}

/// CLOCK_MONOTONIC in nanoseconds.
pub fn monotonic_ns() -> u64 {
    clock_ns(ClockId::CLOCK_MONOTONIC)
}

/// CPU time the calling thread has used, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(ClockId::CLOCK_THREAD_CPUTIME_ID)
}
