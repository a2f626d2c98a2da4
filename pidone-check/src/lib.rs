//! pidone-check (SPEC §6): runs an application under pidone's supervisor, stops it, and
//! judges the shutdown. A package of its own, so its dependencies never reach the `pidone`
//! binary; it reuses pidone's library for the supervisor itself.

pub mod options; //  argv → CheckConfig (pure)
pub mod probe; //    readiness probes
pub mod render; //   the report: text, JSON, JUnit XML (pure)
pub mod run; //      one run against the OS: fork the supervisor, probe, stop, collect
pub mod verdict; //  what a run saw → the reasons it failed (pure)
pub mod wire; //     the supervisor's report over a pipe (pure)

use options::{EXIT_FAILED, EXIT_PASSED, EXIT_USAGE, Format, Invocation};
use pidone::os::{write_stderr, write_stdout};
use std::ffi::OsString;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The whole program; returns the exit code.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    let rest = args.get(1..).unwrap_or_default();
    let config = match options::parse(rest) {
        Ok(Invocation::Check(config)) => config,
        Ok(Invocation::Help) => {
            write_stdout(options::HELP.as_bytes());
            return EXIT_PASSED;
        }
        Ok(Invocation::Version) => {
            write_stdout(format!("pidone-check {}\n", pidone::cli::VERSION).as_bytes());
            return EXIT_PASSED;
        }
        Err(err) => {
            write_stderr(format!("pidone-check: {err} (see pidone-check --help)\n").as_bytes());
            return EXIT_USAGE;
        }
    };
    if let Err(err) = run::find_command(&config.command[0]) {
        write_stderr(format!("pidone-check: {err}\n").as_bytes());
        return EXIT_USAGE;
    }
    run::become_subreaper();

    let timestamp = render::iso8601(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    let started = Instant::now();
    let mut runs = Vec::new();
    for i in 1..=config.repeat {
        let label = format!("run {i}/{}", config.repeat);
        let outcome = match run::run_once(&config, &label) {
            Ok(outcome) => outcome,
            Err(err) => {
                write_stderr(format!("pidone-check: {err}\n").as_bytes());
                return EXIT_USAGE;
            }
        };
        let reasons = verdict::judge(&config, &outcome);
        if config.format != Format::Text {
            // The report goes elsewhere (a file, a CI parser): keep the log readable.
            let verdict = if reasons.is_empty() {
                "PASS".to_owned()
            } else {
                format!("FAIL: {}", reasons.join("; "))
            };
            write_stderr(format!("pidone-check: {label}: {verdict}\n").as_bytes());
        }
        runs.push(render::Run { outcome, reasons });
    }
    let ctx = render::Context {
        config: &config,
        timestamp,
        hostname: hostname(),
        total: started.elapsed(),
    };
    write_stdout(render::render(&ctx, &runs).as_bytes());
    if runs.iter().all(|r| r.reasons.is_empty()) {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer and its length are valid; the kernel NUL-terminates within it.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) } != 0 {
        return "localhost".to_owned();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
