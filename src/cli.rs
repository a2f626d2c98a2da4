//! Command line and environment → [`Config`] (SPEC §1). Pure: the environment is passed in.
//!
//! Hand-written rather than clap: tini's short options, POSIX ordering (options stop at the
//! first operand), byte-exact operands and exit code 1 for usage errors are all simple here,
//! and clap would cost about 300 KiB of a binary whose budget is 1.2 MiB.

use crate::config::{
    self, Config, parse_duration, parse_exit_code, parse_grace, parse_log_format, parse_report,
};
use crate::signal::{Signal, SignalSet};
use std::ffi::{OsStr, OsString};
use std::fmt;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Invocation {
    Run(Box<Config>),
    Help,
    Version,
    License,
}

/// A usage error: one line, printed with a hint, exit code 1.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Exit code of a usage error (tini's).
pub const USAGE_EXIT_CODE: i32 = 1;

/// Options that take a value, by their long name. Shared by the short aliases.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ValueOpt {
    SuccessCode,
    ParentDeath,
    Grace,
    CleanupGrace,
    StopDelay,
    StopSignals,
    Rewrite,
    Report,
    LogFormat,
}

const LONG_VALUE_OPTS: &[(&str, ValueOpt)] = &[
    ("grace", ValueOpt::Grace),
    ("cleanup-grace", ValueOpt::CleanupGrace),
    ("stop-delay", ValueOpt::StopDelay),
    ("stop-signals", ValueOpt::StopSignals),
    ("rewrite", ValueOpt::Rewrite),
    ("report", ValueOpt::Report),
    ("log-format", ValueOpt::LogFormat),
];

fn short_value_opt(c: char) -> Option<ValueOpt> {
    match c {
        'e' => Some(ValueOpt::SuccessCode),
        'p' => Some(ValueOpt::ParentDeath),
        't' => Some(ValueOpt::Grace),
        'r' => Some(ValueOpt::Rewrite),
        _ => None,
    }
}

impl ValueOpt {
    fn display(self) -> &'static str {
        match self {
            ValueOpt::SuccessCode => "-e",
            ValueOpt::ParentDeath => "-p",
            ValueOpt::Grace => "--grace",
            ValueOpt::CleanupGrace => "--cleanup-grace",
            ValueOpt::StopDelay => "--stop-delay",
            ValueOpt::StopSignals => "--stop-signals",
            ValueOpt::Rewrite => "--rewrite",
            ValueOpt::Report => "--report",
            ValueOpt::LogFormat => "--log-format",
        }
    }

    /// The `PIDONE_*` variable a flag overrides.
    fn env_var(self) -> Option<&'static str> {
        match self {
            ValueOpt::Grace => Some("PIDONE_GRACE"),
            ValueOpt::CleanupGrace => Some("PIDONE_CLEANUP_GRACE"),
            ValueOpt::StopDelay => Some("PIDONE_STOP_DELAY"),
            ValueOpt::StopSignals => Some("PIDONE_STOP_SIGNALS"),
            ValueOpt::Rewrite => Some("PIDONE_REWRITE"),
            ValueOpt::Report => Some("PIDONE_REPORT"),
            ValueOpt::LogFormat => Some("PIDONE_LOG_FORMAT"),
            ValueOpt::SuccessCode | ValueOpt::ParentDeath => None,
        }
    }
}

/// Parses the arguments after argv[0]. `env` looks up an environment variable.
pub fn parse(args: &[OsString], env: &dyn Fn(&str) -> Option<OsString>) -> Result<Invocation, UsageError> {
    // Messages quote the input: escape control characters so one stays one line on stderr and
    // can not drive the terminal.
    parse_unescaped(args, env).map_err(|UsageError(msg)| UsageError(escape_controls(&msg)))
}

/// `text` with control characters written as escapes (`\n`, `\u{1b}`).
pub fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn parse_unescaped(
    args: &[OsString],
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Invocation, UsageError> {
    let mut config = Config::new(Vec::new());
    let mut flag_verbosity: config::Verbosity = 1;
    let mut set_by_flag: Vec<ValueOpt> = Vec::new();
    let mut subreaper = false;
    let mut group = false;
    let mut i = 0;

    while i < args.len() {
        let arg = args[i].as_encoded_bytes();
        if arg == b"--" {
            i += 1;
            break;
        }
        if arg.len() < 2 || arg[0] != b'-' {
            break; // the first operand: the command starts here (POSIX order)
        }
        let text = utf8_option(&args[i])?;
        if let Some(long) = text.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            match name {
                "help" | "version" if inline.is_some() => {
                    return Err(UsageError(format!("option '--{name}' takes no value")));
                }
                "help" => return Ok(Invocation::Help),
                "version" => return Ok(Invocation::Version),
                _ => {}
            }
            let opt = LONG_VALUE_OPTS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, o)| *o)
                .ok_or_else(|| UsageError(format!("unknown option '--{name}'")))?;
            let value = match inline {
                Some(v) => v.to_owned(),
                None => {
                    i += 1;
                    option_value(args.get(i), opt)?
                }
            };
            apply_value(&mut config, opt, &value)
                .map_err(|e| UsageError(format!("{}: {e}", opt.display())))?;
            set_by_flag.push(opt);
            i += 1;
            continue;
        }
        // A cluster of short options: -vvv, -sg, -e143, -e 143, -pTERM.
        for (pos, c) in text[1..].char_indices() {
            match c {
                'h' => return Ok(Invocation::Help),
                'l' => return Ok(Invocation::License),
                's' => subreaper = true,
                'g' => group = true,
                'v' => flag_verbosity = flag_verbosity.saturating_add(1),
                'w' => config.warn_on_reap = true,
                _ => {
                    let opt =
                        short_value_opt(c).ok_or_else(|| UsageError(format!("unknown option '-{c}'")))?;
                    let rest = &text[1 + pos + c.len_utf8()..];
                    let value = if rest.is_empty() {
                        i += 1;
                        option_value(args.get(i), opt)?
                    } else {
                        rest.to_owned()
                    };
                    let shown = format!("-{c}");
                    apply_value(&mut config, opt, &value).map_err(|e| UsageError(format!("{shown}: {e}")))?;
                    set_by_flag.push(opt);
                    break;
                }
            }
        }
        i += 1;
    }

    config.command = args[i..].to_vec();
    if config.command.is_empty() {
        return Err(UsageError("no command given".into()));
    }

    config.subreaper = subreaper || env("TINI_SUBREAPER").is_some();
    config.kill_process_group = group || env("TINI_KILL_PROCESS_GROUP").is_some();
    config.verbosity = match env("TINI_VERBOSITY") {
        Some(v) => config::parse_verbosity(&v.to_string_lossy()),
        None => flag_verbosity,
    };
    for (_, opt) in LONG_VALUE_OPTS {
        if set_by_flag.contains(opt) {
            continue;
        }
        let Some(var) = opt.env_var() else { continue };
        if let Some(value) = env(var) {
            let value = env_text(var, &value)?;
            apply_value(&mut config, *opt, &value).map_err(|e| UsageError(format!("{var}: {e}")))?;
        }
    }
    Ok(Invocation::Run(Box::new(config)))
}

fn utf8_option(arg: &OsStr) -> Result<&str, UsageError> {
    arg.to_str()
        .ok_or_else(|| UsageError(format!("unknown option '{}'", arg.to_string_lossy())))
}

fn env_text(var: &str, value: &OsStr) -> Result<String, UsageError> {
    value
        .to_str()
        .map(str::to_owned)
        .ok_or_else(|| UsageError(format!("{var}: value is not valid UTF-8")))
}

fn option_value(arg: Option<&OsString>, opt: ValueOpt) -> Result<String, UsageError> {
    let arg = arg.ok_or_else(|| UsageError(format!("option '{}' needs a value", opt.display())))?;
    arg.to_str()
        .map(str::to_owned)
        .ok_or_else(|| UsageError(format!("{}: value is not valid UTF-8", opt.display())))
}

fn apply_value(config: &mut Config, opt: ValueOpt, value: &str) -> Result<(), String> {
    match opt {
        ValueOpt::SuccessCode => {
            let code = parse_exit_code(value)?;
            if !config.success_codes.contains(&code) {
                config.success_codes.push(code);
            }
        }
        ValueOpt::ParentDeath => config.parent_death_signal = Some(Signal::parse(value)?),
        ValueOpt::Grace => config.grace = parse_grace(value)?,
        ValueOpt::CleanupGrace => config.cleanup_grace = parse_duration(value)?,
        ValueOpt::StopDelay => config.stop_delay = parse_duration(value)?,
        ValueOpt::StopSignals => config.stop_signals = SignalSet::parse(value)?,
        // Repeated -r flags accumulate; the variable holds a comma-separated list.
        ValueOpt::Rewrite => config.rewrite.add_rules(value)?,
        ValueOpt::Report => config.report = parse_report(value)?,
        ValueOpt::LogFormat => config.log_format = parse_log_format(value)?,
    }
    Ok(())
}

/// `--version` output. Under the name `tini` or `docker-init` it imitates tini's line, which
/// `dockerd --init-path` parses.
pub fn version_text(argv0: &OsStr) -> String {
    let base = argv0
        .as_encoded_bytes()
        .rsplit(|b| *b == b'/')
        .next()
        .unwrap_or_default();
    if base == b"tini" || base == b"docker-init" {
        format!("tini version {VERSION} - git.pidone")
    } else {
        format!("pidone {VERSION}")
    }
}

pub const HELP: &str = "\
pidone - a PID 1 for containers: forwards signals, reaps zombies, stops on a deadline

Usage: pidone [OPTIONS] [--] COMMAND [ARGS...]

tini-compatible options:
  -h, --help             print this help and exit
      --version          print the version and exit
  -s                     register as a child subreaper (automatic when not PID 1) [TINI_SUBREAPER]
  -g                     forward signals to the child's process group [TINI_KILL_PROCESS_GROUP]
  -e CODE                report child exit code CODE (0-255, repeatable) as 0
  -p SIGNAL              set the parent-death signal
  -v                     more logging (repeatable) [TINI_VERBOSITY=N overrides]
  -w                     warn about every reaped zombie that was not the main child
  -l                     print the licence and exit

pidone options (each also read from its variable; a flag beats its variable):
  -t, --grace DURATION        after a stop signal, time before everything is SIGKILLed;
                              0 = at once, none = never (default 10s) [PIDONE_GRACE]
      --cleanup-grace DURATION
                              after the child exits, time leftover processes get between
                              SIGTERM and SIGKILL (default 2s) [PIDONE_CLEANUP_GRACE]
      --stop-delay DURATION   hold a stop signal this long before delivering it (default 0)
                              [PIDONE_STOP_DELAY]
      --stop-signals LIST     signals that start the shutdown (default TERM,INT)
                              [PIDONE_STOP_SIGNALS]
  -r, --rewrite FROM:TO       deliver TO instead of FROM; TO may be DROP (repeatable)
                              [PIDONE_REWRITE=FROM:TO,...]
      --report FORMAT         exit report: auto, text, json or off (default auto) [PIDONE_REPORT]
      --log-format FORMAT     text or json (default text) [PIDONE_LOG_FORMAT]

DURATION: 500ms, 10s, 1.5s, 1m, or a number of seconds. SIGNAL: TERM, SIGTERM, 15, RTMIN+3.
Exit status: the child's exit code, 128+N if signal N killed it, 0 for codes given to -e;
1 for a usage error, 126/127 if COMMAND can not be run or found.
";

pub const LICENSE: &str = include_str!("../LICENSE");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Grace, LogFormat, ReportFormat};
    use std::collections::HashMap;
    use std::time::Duration;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn parse_with(args: &[&str], env: &[(&str, &str)]) -> Result<Invocation, UsageError> {
        let env: HashMap<String, OsString> = env
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        parse(&os(args), &|k| env.get(k).cloned())
    }

    fn run(args: &[&str], env: &[(&str, &str)]) -> Config {
        match parse_with(args, env) {
            Ok(Invocation::Run(c)) => *c,
            other => panic!("expected a run, got {other:?}"),
        }
    }

    fn err(args: &[&str], env: &[(&str, &str)]) -> String {
        match parse_with(args, env) {
            Err(UsageError(msg)) => msg,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn posix_order_stops_at_first_operand() {
        let c = run(&["ls", "-l"], &[]);
        assert_eq!(c.command, os(&["ls", "-l"]));
        let c = run(&["-g", "--", "-weird", "-v"], &[]);
        assert!(c.kill_process_group);
        assert_eq!(c.command, os(&["-weird", "-v"]));
        let c = run(&["-v", "sh", "-c", "exit 3", "--grace", "1s"], &[]);
        assert_eq!(c.verbosity, 2);
        assert_eq!(c.grace, Grace::After(Duration::from_secs(10)));
        assert_eq!(c.command.len(), 5);
        // A lone "-" is an operand.
        assert_eq!(run(&["-", "x"], &[]).command, os(&["-", "x"]));
    }

    #[test]
    fn tini_short_options() {
        let c = run(&["-sgvvvw", "-e", "143", "-e2", "-pSIGKILL", "cmd"], &[]);
        assert!(c.kill_process_group && c.warn_on_reap);
        assert_eq!(c.verbosity, 4);
        assert_eq!(c.success_codes, vec![143, 2]);
        assert_eq!(c.parent_death_signal, Some(Signal::KILL));
        assert_eq!(
            run(&["-p", "15", "x"], &[]).parent_death_signal,
            Some(Signal::TERM)
        );
        assert_eq!(
            run(&["-p", "TERM", "x"], &[]).parent_death_signal,
            Some(Signal::TERM)
        );
    }

    #[test]
    fn help_version_license() {
        assert_eq!(parse_with(&["-h"], &[]), Ok(Invocation::Help));
        assert_eq!(parse_with(&["--help", "x"], &[]), Ok(Invocation::Help));
        assert_eq!(parse_with(&["--version"], &[]), Ok(Invocation::Version));
        assert_eq!(parse_with(&["-l"], &[]), Ok(Invocation::License));
        assert_eq!(
            version_text(OsStr::new("/usr/bin/docker-init")),
            format!("tini version {VERSION} - git.pidone")
        );
        assert_eq!(
            version_text(OsStr::new("tini")),
            format!("tini version {VERSION} - git.pidone")
        );
        assert_eq!(
            version_text(OsStr::new("/sbin/pidone")),
            format!("pidone {VERSION}")
        );
    }

    #[test]
    fn usage_errors_are_one_line() {
        for (args, needle) in [
            (&["-x", "cmd"][..], "unknown option '-x'"),
            (&["--nope", "cmd"][..], "unknown option '--nope'"),
            (&[][..], "no command"),
            (&["-v"][..], "no command"),
            (&["-e"][..], "needs a value"),
            (&["-e", "256", "x"][..], "invalid exit code"),
            (&["--grace", "ten", "x"][..], "invalid duration"),
            (&["--grace=-1", "x"][..], "invalid duration"),
            (&["-r", "TERM", "x"][..], "FROM:TO"),
            (&["--stop-signals", "KILL", "x"][..], "can not be caught"),
            (&["--report", "xml", "x"][..], "report format"),
            (&["-p", "NOPE", "x"][..], "unknown signal"),
        ] {
            let msg = err(args, &[]);
            assert!(msg.contains(needle), "{args:?}: {msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    #[test]
    fn long_options_and_env() {
        let c = run(
            &[
                "--grace=1.5s",
                "--cleanup-grace",
                "0",
                "--stop-delay",
                "300ms",
                "--stop-signals",
                "TERM,QUIT",
                "-r",
                "TERM:INT",
                "--rewrite=HUP:DROP",
                "--report",
                "json",
                "--log-format",
                "json",
                "x",
            ],
            &[],
        );
        assert_eq!(c.grace, Grace::After(Duration::from_millis(1500)));
        assert_eq!(c.cleanup_grace, Duration::ZERO);
        assert_eq!(c.stop_delay, Duration::from_millis(300));
        assert!(c.stop_signals.contains(Signal::parse("QUIT").unwrap()));
        assert!(!c.stop_signals.contains(Signal::INT));
        assert_eq!(c.rewrite.apply(Signal::HUP), crate::signal::RewriteTarget::Drop);
        assert_eq!(c.report, ReportFormat::Json);
        assert_eq!(c.log_format, LogFormat::Json);

        let env = [
            ("PIDONE_GRACE", "none"),
            ("PIDONE_CLEANUP_GRACE", "5s"),
            ("PIDONE_REWRITE", "TERM:INT,USR1:DROP"),
            ("PIDONE_REPORT", "text"),
            ("TINI_SUBREAPER", ""),
            ("TINI_KILL_PROCESS_GROUP", ""),
            ("TINI_VERBOSITY", "3"),
        ];
        let c = run(&["-v", "x"], &env);
        assert_eq!(c.grace, Grace::Never);
        assert_eq!(c.cleanup_grace, Duration::from_secs(5));
        assert_eq!(
            c.rewrite.apply(Signal::parse("USR1").unwrap()),
            crate::signal::RewriteTarget::Drop
        );
        assert_eq!(c.report, ReportFormat::Text);
        assert!(c.subreaper && c.kill_process_group);
        assert_eq!(c.verbosity, 3, "TINI_VERBOSITY overrides -v");
    }

    #[test]
    fn flag_beats_env_and_env_is_then_not_read() {
        let c = run(&["--grace", "3s", "x"], &[("PIDONE_GRACE", "garbage")]);
        assert_eq!(c.grace, Grace::After(Duration::from_secs(3)));
        let c = run(&["-t", "3s", "x"], &[("PIDONE_GRACE", "garbage")]);
        assert_eq!(c.grace, Grace::After(Duration::from_secs(3)));
        let msg = err(&["x"], &[("PIDONE_GRACE", "garbage")]);
        assert!(msg.starts_with("PIDONE_GRACE: invalid duration"), "{msg}");
        // tini reads TINI_VERBOSITY with atoi: junk means 0, never a refusal to start.
        assert_eq!(run(&["x"], &[("TINI_VERBOSITY", "lots")]).verbosity, 0);
        assert_eq!(run(&["x"], &[("TINI_VERBOSITY", "")]).verbosity, 0);
    }

    #[test]
    fn operands_pass_through_byte_exact() {
        use std::os::unix::ffi::OsStringExt;
        let raw = OsString::from_vec(vec![b'a', 0xff, b'b']);
        let args = vec![OsString::from("--"), raw.clone(), OsString::new()];
        match parse(&args, &|_| None) {
            Ok(Invocation::Run(c)) => assert_eq!(c.command, vec![raw, OsString::new()]),
            other => panic!("{other:?}"),
        }
        let args = vec![OsString::from_vec(vec![b'-', 0xff])];
        assert!(parse(&args, &|_| None).is_err());
    }
}
