//! pidone: a PID 1 for containers.
//!
//! Decisions and syscalls live apart: everything above `os` is pure and unit-tested.

pub mod cli; //         argv + environment → Config
pub mod config; //      the resolved configuration and its value types
pub mod logger; //      pidone's own log lines on stderr
pub mod os; //          the only module with syscalls: spawn, signals, reaping, shutdown, event loop
pub mod report; //      the exit report, text and JSON
pub mod signal; //      signal names ↔ numbers, sets, rewrite maps
pub mod supervisor; //  the state machine: events in, actions out

use cli::{Invocation, USAGE_EXIT_CODE};
use std::ffi::OsString;

/// The whole program: parse, then run or print. Returns the process exit code.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    let argv0 = args.first().cloned().unwrap_or_else(|| OsString::from("pidone"));
    let rest = args.get(1..).unwrap_or_default();
    let env = |name: &str| std::env::var_os(name);
    match cli::parse(rest, &env) {
        Ok(Invocation::Run(config)) => {
            logger::init_filtered(config.verbosity, config.log_format, config.log_filter.as_deref());
            os::driver::run(&config)
        }
        Ok(Invocation::Help) => {
            os::write_stdout(cli::HELP.as_bytes());
            0
        }
        Ok(Invocation::Version) => {
            os::write_stdout(format!("{}\n", cli::version_text(&argv0)).as_bytes());
            0
        }
        Ok(Invocation::License) => {
            os::write_stdout(cli::LICENSE.as_bytes());
            0
        }
        Err(err) => {
            os::write_stderr(
                format!("pidone: {err}\nTry 'pidone --help' for more information.\n").as_bytes(),
            );
            USAGE_EXIT_CODE
        }
    }
}
