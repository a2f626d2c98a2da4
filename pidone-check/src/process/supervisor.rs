//! The supervisor: pidone-check started again (`/proc/self/exe`) in a hidden mode that runs
//! pidone's own loop ([`pidone::os::driver::supervise`]) over the command and sends its exit
//! report back on its stdout. A fresh exec instead of a `fork` keeps this package free of
//! `unsafe`, and the supervisor single-threaded whatever the parent does.
//!
//! Descriptors as the parent sets them up: stdin /dev/null, stdout the report pipe, stderr
//! where the application's output goes (the relay pipe, or pidone-check's stderr). The
//! supervisor moves the report pipe out of the way (close-on-exec) and gives the application
//! stderr as both stdout and stderr.

use super::wire;
use pidone::config::{Config, Grace, LogFormat, ReportFormat};
use pidone::signal::Signal;
use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

/// argv[1] of the hidden mode. Not an option anyone types: clap never sees it.
pub const MODE: &str = "--internal-supervisor";

/// The supervisor's settings, as the parent passes them on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// pidone-check's pid: the supervisor gives up if its parent is already someone else.
    pub parent: i32,
    pub within: Duration,
    pub signal: Signal,
    pub command: Vec<OsString>,
}

impl Settings {
    /// The arguments after argv[0].
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            MODE.into(),
            self.parent.to_string().into(),
            self.within.as_nanos().to_string().into(),
            self.signal.raw().to_string().into(),
            "--".into(),
        ];
        args.extend(self.command.iter().cloned());
        args
    }

    /// The inverse of [`Settings::to_args`] (argv[1..]).
    pub fn from_args(args: &[OsString]) -> Option<Settings> {
        let text = |i: usize| args.get(i).and_then(|a| a.to_str());
        if text(0) != Some(MODE) || text(4) != Some("--") || args.len() < 6 {
            return None;
        }
        let nanos: u64 = text(2)?.parse().ok()?;
        Some(Settings {
            parent: text(1)?.parse().ok()?,
            within: Duration::from_nanos(nanos),
            signal: Signal::from_raw(text(3)?.parse().ok()?)?,
            command: args[5..].to_vec(),
        })
    }

    /// pidone's configuration for the run.
    pub fn config(&self) -> Config {
        let mut c = Config::new(self.command.clone());
        c.grace = Grace::After(self.within);
        // Leftovers get the rest of the budget, not the 2s default: during a stop the cleanup
        // ends at the grace deadline anyway.
        c.cleanup_grace = self.within;
        // TERM and INT stay stop signals so that Ctrl-C, or pidone-check's death (the
        // parent-death signal below), still stops the application within the grace.
        c.stop_signals = [Signal::TERM, Signal::INT, self.signal].into_iter().collect();
        c.parent_death_signal = Some(Signal::TERM);
        c.report = ReportFormat::Off;
        c
    }
}

/// The hidden mode's `main`: returns the exit code.
pub fn main(args: &[OsString]) -> i32 {
    let Some(settings) = Settings::from_args(args) else {
        let _ = writeln!(
            std::io::stderr(),
            "pidone-check: {MODE} is for pidone-check's own use"
        );
        return 2;
    };
    let report = match take_over_stdio(&settings) {
        Ok(fd) => fd,
        Err(e) => {
            // The report pipe is still stdout.
            let _ = std::io::stdout().write_all(&wire::encode(&Err(e)));
            return 1;
        }
    };
    pidone::logger::init(1, LogFormat::Text);
    let result = pidone::os::driver::supervise(&settings.config()).map_err(|e| e.to_string());
    let _ = std::fs::File::from(report).write_all(&wire::encode(&result));
    0
}

/// Checks the parent, moves the report pipe off stdout and points stdout at stderr.
fn take_over_stdio(settings: &Settings) -> Result<OwnedFd, String> {
    // supervise() sets the parent-death signal; a parent that died before that would leave
    // the application running unsupervised, so look first.
    if nix::unistd::getppid().as_raw() != settings.parent {
        return Err("pidone-check exited before the supervisor started".to_owned());
    }
    // A close-on-exec copy (F_DUPFD_CLOEXEC): the application never sees the report pipe.
    let report = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("cannot set up the report pipe: {e}"))?;
    nix::unistd::dup2_stdout(std::io::stderr().as_fd())
        .map_err(|e| format!("cannot set up the output: {e}"))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_the_command_line() {
        let s = Settings {
            parent: 42,
            within: Duration::from_millis(2500),
            signal: Signal::TERM,
            command: vec!["app".into(), "--".into(), "-x".into()],
        };
        assert_eq!(Settings::from_args(&s.to_args()), Some(s));
        assert_eq!(Settings::from_args(&[MODE.into()]), None);
        assert_eq!(Settings::from_args(&["app".into()]), None);
    }
}
