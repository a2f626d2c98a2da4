//! An application that leaves processes behind, as shell scripts and servers that spawn helpers
//! often do: it double-forks, so its children are re-parented to PID 1 and become PID 1's job.
//!
//!     leaky [--orphans N] [--zombies N] [--marker-dir DIR] [--exit-after DURATION] [--ready-file PATH]
//!
//! --orphans N: N long-running orphans; each, on SIGTERM or SIGINT, prints
//!   `leaky: orphan PID: got SIGTERM`, writes DIR/orphan-PID (with --marker-dir) and exits 0.
//! --zombies N: N orphans that exit at once: zombies of PID 1 unless PID 1 reaps them.
//! The main process prints `leaky: ready` (and creates --ready-file) once all are started, then
//! exits 0 after --exit-after, or on SIGTERM/SIGINT when --exit-after is not given.

mod common;

use common::{Options, block_signals, die, duration, got, number, say, sig_name, wait_signal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Opts {
    orphans: u32,
    zombies: u32,
    marker_dir: Option<PathBuf>,
    exit_after: Option<Duration>,
    ready_file: Option<PathBuf>,
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut args = Options::new();
    while let Some(name) = args.next_name() {
        match name.as_str() {
            "--orphans" => o.orphans = number(args.value()?)?,
            "--zombies" => o.zombies = number(args.value()?)?,
            "--marker-dir" => o.marker_dir = Some(args.value()?.into()),
            "--exit-after" => o.exit_after = Some(duration(args.value()?)?),
            "--ready-file" => o.ready_file = Some(args.value()?.into()),
            _ => return Err(args.unknown()),
        }
    }
    Ok(o)
}

/// Runs `work` in a grandchild whose parent exits at once, so that the grandchild is re-parented
/// to PID 1 (or to the nearest child subreaper, such as pidone when it is not PID 1).
fn spawn_orphan(work: impl FnOnce()) {
    // SAFETY: this process is single-threaded, so the child may run ordinary Rust code after fork.
    let middle = unsafe { libc::fork() };
    if middle < 0 {
        die(1, &format!("fork: {}", std::io::Error::last_os_error()));
    }
    if middle == 0 {
        // SAFETY: as above (the middle child is single-threaded too).
        let worker = unsafe { libc::fork() };
        if worker == 0 {
            work();
        }
        // SAFETY: _exit skips atexit handlers and stdio buffers, which belong to the parent.
        unsafe { libc::_exit(if worker < 0 { 1 } else { 0 }) };
    }
    // Reap the middle child only: its child is now an orphan, and no longer ours to wait for.
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer.
        let rc = unsafe { libc::waitpid(middle, &mut status, 0) };
        if rc >= 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            die(1, &format!("waitpid: {err}"));
        }
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        die(1, "fork failed in the intermediate child");
    }
}

/// The long-running orphan: waits for a stop signal, leaves a marker to prove it got one, exits 0.
fn orphan(signals: &libc::sigset_t, marker_dir: Option<&Path>) {
    let pid = std::process::id();
    loop {
        let Some(sig) = wait_signal(signals, None) else {
            continue;
        };
        say(&format!("orphan {pid}: got {}", sig_name(sig)));
        if sig == libc::SIGTERM || sig == libc::SIGINT {
            break;
        }
    }
    if let Some(dir) = marker_dir {
        let path = dir.join(format!("orphan-{pid}"));
        if let Err(e) = std::fs::write(&path, format!("{}\n", std::process::id())) {
            eprintln!("leaky: orphan {pid}: cannot write {}: {e}", path.display());
            // SAFETY: see spawn_orphan.
            unsafe { libc::_exit(1) };
        }
    }
}

fn main() {
    common::set_name("leaky");
    let opts = parse_opts().unwrap_or_else(|e| die(2, &e));
    // Before forking: every orphan inherits the mask, so none can miss an early SIGTERM.
    let signals = block_signals();
    for _ in 0..opts.orphans {
        spawn_orphan(|| orphan(&signals, opts.marker_dir.as_deref()));
    }
    // "ready" must not come while a short-lived orphan still runs (a test would rightly see it
    // as a leftover): each one sends its pid through a pipe before it exits, and the main
    // process waits until /proc shows every one as a zombie or gone. The long-running orphans
    // were forked before the pipe existed.
    let mut pids_pipe = [0; 2];
    // SAFETY: a valid array of two ints.
    if unsafe { libc::pipe(pids_pipe.as_mut_ptr()) } != 0 {
        die(1, &format!("pipe: {}", std::io::Error::last_os_error()));
    }
    for _ in 0..opts.zombies {
        spawn_orphan(|| {
            let pid = std::process::id().to_ne_bytes();
            // SAFETY: writing 4 bytes (atomic on a pipe) from a stack buffer.
            unsafe { libc::write(pids_pipe[1], pid.as_ptr().cast(), pid.len()) };
        });
    }
    // SAFETY: closing our copy of the write end: EOF comes once every orphan has exited.
    unsafe { libc::close(pids_pipe[1]) };
    let mut orphans = Vec::new();
    let mut buf = [0u8; 4];
    // SAFETY: reading 4-byte records from our pipe into a stack buffer.
    while unsafe { libc::read(pids_pipe[0], buf.as_mut_ptr().cast(), buf.len()) } == 4 {
        orphans.push(u32::from_ne_bytes(buf));
    }
    // SAFETY: our own descriptor.
    unsafe { libc::close(pids_pipe[0]) };
    let give_up = Instant::now() + Duration::from_secs(10);
    for pid in orphans {
        while Instant::now() < give_up {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Ok(stat)
                    if !stat
                        .rsplit(')')
                        .next()
                        .is_some_and(|rest| rest.trim_start().starts_with('Z')) =>
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
                _ => break, // a zombie, or already reaped
            }
        }
    }
    common::ready(opts.ready_file.as_deref());
    let deadline = opts.exit_after.map(|d| Instant::now() + d);
    loop {
        match wait_signal(&signals, deadline) {
            None => {
                say(&format!(
                    "exiting after {:?}",
                    opts.exit_after.unwrap_or_default()
                ));
                break;
            }
            Some(sig) => {
                got(sig);
                if sig == libc::SIGTERM || sig == libc::SIGINT {
                    break;
                }
            }
        }
    }
    std::process::exit(0);
}
