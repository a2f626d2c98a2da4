//! pidone-check: tests that an application, or a container image, shuts down cleanly.
//!
//! - Process mode (SPEC §6): the command runs under pidone's own supervisor ([`process`]).
//! - Image mode (SPEC §6b): an image runs unchanged under its container runtime ([`image`]).
//!
//! A package of its own, so its dependencies never reach the `pidone` binary; it reuses
//! pidone's library for the supervisor itself. No `unsafe` here: syscalls go through nix.
#![forbid(unsafe_code)]

pub mod cancel; //  pidone-check's own SIGINT/SIGTERM (signal-hook)
pub mod image; //   SPEC §6b: runtime driver, /proc observer, audit (pure)
pub mod options; // argv → Invocation (clap; pure)
pub mod probe; //   readiness probes
pub mod process; // SPEC §6: a command under pidone's supervisor
pub mod render; //  the report: text, JSON, JUnit XML (pure)

use cancel::Cancel;
use options::{EXIT_FAILED, EXIT_PASSED, EXIT_USAGE, Format, Invocation};
use process::{run, verdict};
use std::ffi::OsString;
use std::io::Write;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// One line on stderr, prefixed with `pidone-check: `.
pub fn say(text: &str) {
    say_raw(format!("pidone-check: {text}\n").as_bytes());
}

/// Bytes to stderr as they are (the application's output).
pub fn say_raw(bytes: &[u8]) {
    let _ = std::io::stderr().write_all(bytes);
}

/// The report, on stdout.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// The exit code for a run cut short by pidone-check's own signal: 128 + the signal, as a
/// shell reports it.
pub fn cancelled_exit(sig: pidone::signal::Signal) -> i32 {
    128 + sig.raw()
}

/// The whole program; returns the exit code.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    let rest = args.get(1..).unwrap_or_default();
    if rest.first().is_some_and(|a| a == process::supervisor::MODE) {
        return process::supervisor::main(rest);
    }
    match options::parse(rest, |k| std::env::var_os(k)) {
        Ok(Invocation::Check(config)) => check_process(&config),
        Ok(Invocation::Image(config)) => image::main(&config),
        Ok(Invocation::Print(text)) => {
            print(&text);
            EXIT_PASSED
        }
        Err(err) => {
            say(&format!("{err} (see pidone-check --help)"));
            EXIT_USAGE
        }
    }
}

/// The start of the first run, ISO 8601 UTC, for JUnit.
pub fn timestamp_now() -> String {
    render::iso8601(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// pidone-check's own SIGINT/SIGTERM handling (both modes); None, said why, when it cannot have it.
fn install_cancel() -> Option<Cancel> {
    Cancel::install()
        .map_err(|e| say(&format!("cannot handle SIGINT and SIGTERM: {e}")))
        .ok()
}

/// Process mode (SPEC §6).
fn check_process(config: &options::CheckConfig) -> i32 {
    if let Err(err) = run::find_command(&config.command[0]) {
        say(&err);
        return EXIT_USAGE;
    }
    let Some(cancel) = crate::install_cancel() else {
        return EXIT_USAGE;
    };
    run::become_subreaper();

    let timestamp = timestamp_now();
    let started = Instant::now();
    let mut runs = Vec::new();
    for i in 1..=config.repeat {
        let label = format!("run {i}/{}", config.repeat);
        let outcome = match run::run_once(config, &label, &cancel) {
            Ok(outcome) => outcome,
            Err(err) => {
                say(&err);
                return EXIT_USAGE;
            }
        };
        let reasons = verdict::judge(config, &outcome);
        if config.format != Format::Text {
            // The report goes elsewhere (a file, a CI parser): keep the log readable.
            let verdict = if reasons.is_empty() {
                "PASS".to_owned()
            } else {
                format!("FAIL: {}", reasons.join("; "))
            };
            say(&format!("{label}: {verdict}"));
        }
        let cancelled = outcome.cancelled;
        runs.push(render::Run { outcome, reasons });
        if cancelled.is_some() {
            break;
        }
    }
    let ctx = render::Context {
        config,
        timestamp,
        hostname: hostname(),
        total: started.elapsed(),
    };
    print(&render::render(&ctx, &runs));
    if let Some(sig) = runs.last().and_then(|r| r.outcome.cancelled) {
        return cancelled_exit(sig);
    }
    if runs.iter().all(|r| r.reasons.is_empty()) {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    }
}

/// This machine's name, for JUnit.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
