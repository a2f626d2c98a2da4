//! The application side of the benchmarks (bench/run.sh): runs under each init, or alone as
//! PID 1 for the "no init" baseline, and reports to the harness on fd 3, a pipe the harness
//! hands down through the init (every init compared passes its open descriptors on).
//!
//!     bench_child sleep          write "R", then sleep until killed
//!     bench_child ignore-term    ignore SIGTERM, write "R", then sleep until killed
//!     bench_child latency        write "R"; on each SIGUSR1 or SIGTERM, write the
//!                                CLOCK_MONOTONIC time (u64 nanoseconds, native endian) from
//!                                inside the handler (SIGTERM: the cold test, one per init)
//!     bench_child zombies N      write "R", wait for a byte on fd 4, double-fork N processes
//!                                that exit at once (orphans: zombies of PID 1 until it reaps
//!                                them), then report as described at `zombies`
//!
//! std + libc only; every failure exits non-zero with a message on stderr, which the harness
//! sees as a child that never became ready.

use pidone_bench::{monotonic_ns, thread_cpu_ns};
use std::process::exit;
use std::time::{Duration, Instant};

const REPORT_FD: libc::c_int = 3;
const GO_FD: libc::c_int = 4;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("");
    match mode {
        "sleep" => sleep_forever(),
        "ignore-term" => {
            // SAFETY: installing SIG_IGN, a valid disposition for SIGTERM.
            unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
            sleep_forever()
        }
        "latency" => latency(),
        "zombies" => {
            let n = args
                .get(2)
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or_else(|| {
                    eprintln!("bench_child: zombies needs a count");
                    exit(2)
                });
            zombies(n)
        }
        _ => {
            eprintln!("usage: bench_child sleep|ignore-term|latency|zombies N");
            exit(2)
        }
    }
}

/// Writes all of `bytes` to the report pipe; the harness treats a short report as a failure.
fn report(bytes: &[u8]) {
    let mut done = 0;
    while done < bytes.len() {
        // SAFETY: writing from a live slice.
        let n = unsafe { libc::write(REPORT_FD, bytes[done..].as_ptr().cast(), bytes.len() - done) };
        if n <= 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!(
                "bench_child: cannot report to fd 3: {}",
                std::io::Error::last_os_error()
            );
            exit(3);
        }
        done += n as usize;
    }
}

fn sleep_forever() -> ! {
    report(b"R");
    loop {
        // SAFETY: pause has no arguments; it returns after a caught signal.
        unsafe { libc::pause() };
    }
}

extern "C" fn on_signal(_sig: libc::c_int) {
    // Only async-signal-safe calls here: clock_gettime and write.
    let stamp = monotonic_ns().to_ne_bytes();
    // SAFETY: writing 8 bytes from a stack array; a short or failed write shows up in the
    // harness as a missing sample.
    unsafe { libc::write(REPORT_FD, stamp.as_ptr().cast(), stamp.len()) };
}

fn latency() -> ! {
    for sig in [libc::SIGUSR1, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a plain handler and SA_RESTART is valid.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
                eprintln!("bench_child: sigaction: {}", std::io::Error::last_os_error());
                exit(3);
            }
        }
    }
    sleep_forever()
}

fn pipe() -> [libc::c_int; 2] {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        eprintln!("bench_child: pipe: {}", std::io::Error::last_os_error());
        exit(3);
    }
    fds
}

fn read_exact(fd: libc::c_int, buf: &mut [u8]) -> bool {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: reading into the unfilled tail of a live buffer.
        let n = unsafe { libc::read(fd, buf[done..].as_mut_ptr().cast(), buf.len() - done) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return false;
        }
        done += n as usize;
    }
    true
}

/// Makes `n` orphans that exit at once. Each is forked by a short-lived intermediate that
/// sends the orphan's pid back and exits, so the orphan is re-parented to PID 1.
///
/// Under an init (we are not PID 1), the harness has SIGSTOPped the init before sending
/// "go", so the orphans pile up as its zombies. Once every orphan has exited (the last copy
/// of the `alive` pipe's write end closes) we write "zombies N\n"; the harness then
/// SIGCONTs the init, and we watch the orphans disappear (`kill(pid, 0)` fails with ESRCH
/// once a zombie is reaped; pids are not reused: the namespace is fresh and holds fewer
/// than pid_max of them) and write "done END_NS LEFT\n", END_NS on CLOCK_MONOTONIC.
///
/// As PID 1 (no init), the orphans are our own zombies: we reap them with a plain blocking
/// `waitpid` loop, the least a reaper can do, and write "selfreap DURATION_NS LEFT CPU_NS\n"
/// (CPU_NS: our own CPU time in that loop).
fn zombies(n: usize) -> ! {
    report(b"R");
    let mut go = [0u8; 1];
    if !read_exact(GO_FD, &mut go) {
        eprintln!("bench_child: no go from the harness");
        exit(3);
    }
    // SAFETY: plain prctl; a 1 ns timer slack keeps the polling below precise.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    let alive = pipe();
    let pids_pipe = pipe();
    let mut pids: Vec<libc::pid_t> = Vec::with_capacity(n);
    for _ in 0..n {
        // SAFETY: single-threaded; the children only call fork, write and _exit.
        let mid = unsafe { libc::fork() };
        if mid < 0 {
            eprintln!("bench_child: fork: {}", std::io::Error::last_os_error());
            exit(3);
        }
        if mid == 0 {
            // SAFETY: as above.
            unsafe {
                let orphan = libc::fork();
                if orphan == 0 {
                    libc::_exit(0);
                }
                let bytes = orphan.to_ne_bytes();
                libc::write(pids_pipe[1], bytes.as_ptr().cast(), bytes.len());
                libc::_exit(0);
            }
        }
        let mut bytes = [0u8; 4];
        if !read_exact(pids_pipe[0], &mut bytes) {
            eprintln!("bench_child: lost an orphan's pid");
            exit(3);
        }
        let orphan = libc::pid_t::from_ne_bytes(bytes);
        if orphan < 0 {
            eprintln!("bench_child: fork failed in the intermediate");
            exit(3);
        }
        pids.push(orphan);
        let mut status = 0;
        // SAFETY: waiting for our own child with a valid out-pointer.
        unsafe { libc::waitpid(mid, &mut status, 0) };
    }
    // SAFETY: closing our copy of the write end; EOF then means every orphan has exited.
    unsafe { libc::close(alive[1]) };
    let mut byte = [0u8; 1];
    // SAFETY: reading into a live one-byte buffer; returns 0 at EOF.
    while unsafe { libc::read(alive[0], byte.as_mut_ptr().cast(), 1) } != 0 {}
    report(format!("zombies {}\n", pids.len()).as_bytes());

    // SAFETY: plain getpid.
    if unsafe { libc::getpid() } == 1 {
        let start = Instant::now();
        let cpu_start = thread_cpu_ns();
        loop {
            let mut status = 0;
            // SAFETY: valid out-pointer; blocks until a child can be reaped or none is left.
            if unsafe { libc::waitpid(-1, &mut status, 0) } < 0
                && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR)
            {
                break; // ECHILD: all reaped
            }
        }
        let took = start.elapsed().as_nanos();
        let cpu = thread_cpu_ns() - cpu_start;
        report(format!("selfreap {took} 0 {cpu}\n").as_bytes());
        exit(0);
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut next = 0;
    while next < pids.len() {
        // SAFETY: signal 0 only checks that the process exists.
        if unsafe { libc::kill(pids[next], 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
        {
            next += 1;
            continue;
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    let end = monotonic_ns();
    let left = pids[next..]
        .iter()
        // SAFETY: signal 0 only checks that the process exists.
        .filter(|&&p| unsafe { libc::kill(p, 0) } == 0)
        .count();
    report(format!("done {end} {left}\n").as_bytes());
    exit(0)
}
