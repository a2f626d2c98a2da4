//! A well-behaved server, the kind of application pidone expects.
//!
//!     graceful [--port N] [--drain DURATION] [--exit-code N] [--ready-file PATH] [--marker PATH]
//!
//! Listens on 127.0.0.1:N (no listener when N is 0 or absent) and prints `graceful: ready` (and
//! creates --ready-file) once up. Every signal it receives is printed as `graceful: got SIGxxx`.
//! On SIGTERM or SIGINT it drains for --drain (default 100ms), writes --marker if given, and exits
//! with --exit-code (default 0). DURATION is `500ms`, `2s` or a bare number of seconds.

mod common;

use common::{Options, block_signals, die, duration, got, number, say, wait_signal};
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Opts {
    port: u16,
    drain: Duration,
    exit_code: i32,
    ready_file: Option<PathBuf>,
    marker: Option<PathBuf>,
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        port: 0,
        drain: Duration::from_millis(100),
        exit_code: 0,
        ready_file: None,
        marker: None,
    };
    let mut args = Options::new();
    while let Some(name) = args.next_name() {
        match name.as_str() {
            "--port" => o.port = number(args.value()?)?,
            "--drain" => o.drain = duration(args.value()?)?,
            "--exit-code" => o.exit_code = number::<u8>(args.value()?)?.into(),
            "--ready-file" => o.ready_file = Some(args.value()?.into()),
            "--marker" => o.marker = Some(args.value()?.into()),
            _ => return Err(args.unknown()),
        }
    }
    Ok(o)
}

fn main() {
    common::set_name("graceful");
    let opts = parse_opts().unwrap_or_else(|e| die(2, &e));
    // Before any thread exists, so that the listener thread inherits the mask too.
    let signals = block_signals();
    if opts.port != 0 {
        let listener = TcpListener::bind(("127.0.0.1", opts.port))
            .unwrap_or_else(|e| die(1, &format!("cannot listen on 127.0.0.1:{}: {e}", opts.port)));
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let _ = conn.write_all(b"ok\n");
            }
        });
    }
    common::ready(opts.ready_file.as_deref());

    loop {
        let sig = wait_signal(&signals, None).unwrap_or_default();
        got(sig);
        if sig == libc::SIGTERM || sig == libc::SIGINT {
            break;
        }
    }
    // A real server would finish its in-flight requests here; signals are still logged meanwhile.
    say(&format!("draining for {:?}", opts.drain));
    let deadline = Instant::now() + opts.drain;
    while let Some(sig) = wait_signal(&signals, Some(deadline)) {
        got(sig);
    }
    if let Some(marker) = &opts.marker
        && let Err(e) = std::fs::write(marker, "stopped\n")
    {
        die(1, &format!("cannot write {}: {e}", marker.display()));
    }
    say(&format!("exiting with code {}", opts.exit_code));
    std::process::exit(opts.exit_code);
}
