//! An application that takes its time to stop, and can be made to hang now and then.
//!
//!     slow_stop [--stop-time DURATION] [--exit-code N] [--hang-every N --state FILE] [--ready-file PATH]
//!
//! On SIGTERM or SIGINT it waits --stop-time (default 1s), then exits with --exit-code (default 0).
//! With --hang-every N it counts its runs in FILE and, on every Nth run, ignores the stop signal
//! (a flaky shutdown, for `pidone-check --repeat`). Every signal received is printed.

mod common;

use common::{Options, block_signals, die, duration, got, number, say, wait_signal};
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Opts {
    stop_time: Duration,
    exit_code: i32,
    hang_every: u64,
    state: Option<PathBuf>,
    ready_file: Option<PathBuf>,
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        stop_time: Duration::from_secs(1),
        exit_code: 0,
        hang_every: 0,
        state: None,
        ready_file: None,
    };
    let mut args = Options::new();
    while let Some(name) = args.next_name() {
        match name.as_str() {
            "--stop-time" => o.stop_time = duration(args.value()?)?,
            "--exit-code" => o.exit_code = number::<u8>(args.value()?)?.into(),
            "--hang-every" => o.hang_every = number(args.value()?)?,
            "--state" => o.state = Some(args.value()?.into()),
            "--ready-file" => o.ready_file = Some(args.value()?.into()),
            _ => return Err(args.unknown()),
        }
    }
    if o.hang_every > 0 && o.state.is_none() {
        return Err("--hang-every needs --state FILE".into());
    }
    Ok(o)
}

/// Increments the run counter in `path` (missing file = 0 runs so far) and returns this run's number.
fn count_run(path: &PathBuf) -> Result<u64, String> {
    let before = match std::fs::read_to_string(path) {
        Ok(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{}: not a run counter", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let run = before + 1;
    std::fs::write(path, format!("{run}\n")).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(run)
}

fn main() {
    common::set_name("slow_stop");
    let opts = parse_opts().unwrap_or_else(|e| die(2, &e));
    let signals = block_signals();
    let hang = match &opts.state {
        Some(state) if opts.hang_every > 0 => {
            let run = count_run(state).unwrap_or_else(|e| die(1, &e));
            run.is_multiple_of(opts.hang_every)
        }
        _ => false,
    };
    common::ready(opts.ready_file.as_deref());
    loop {
        let sig = wait_signal(&signals, None).unwrap_or_default();
        got(sig);
        if sig == libc::SIGTERM || sig == libc::SIGINT {
            if !hang {
                break;
            }
            say("hanging: ignoring the stop signal on this run");
        }
    }
    say(&format!("stopping in {:?}", opts.stop_time));
    let deadline = Instant::now() + opts.stop_time;
    while let Some(sig) = wait_signal(&signals, Some(deadline)) {
        got(sig);
    }
    say(&format!("exiting with code {}", opts.exit_code));
    std::process::exit(opts.exit_code);
}
