//! A badly-behaved application: it ignores SIGTERM (and every other signal it can), so only
//! SIGKILL stops it. This is what pidone's grace period (`--grace`, PIDONE_GRACE) is for.
//!
//!     ignore_term [--ready-file PATH]
//!
//! Prints `ignore_term: ready` once its signals are set up (and creates --ready-file), then one
//! line per signal received, e.g. `ignore_term: got SIGTERM (ignored)`.

mod common;

use common::{block_signals, die, say, sig_name, wait_signal};

fn main() {
    common::set_name("ignore_term");
    let mut ready_file = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--ready-file") => {
                ready_file = Some(
                    args.next()
                        .unwrap_or_else(|| die(2, "--ready-file needs a value")),
                )
            }
            _ => die(2, &format!("unknown argument {}", arg.to_string_lossy())),
        }
    }
    let signals = block_signals();
    common::ready(ready_file.as_deref().map(std::path::Path::new));
    loop {
        if let Some(sig) = wait_signal(&signals, None) {
            say(&format!("got {} (ignored)", sig_name(sig)));
        }
    }
}
