//! Command line and environment → [`Config`] (SPEC §1). Pure: the environment is passed in.
//!
//! clap reads the command line; what it can not do the tini way is arranged around it:
//! - POSIX order: the command is a `trailing_var_arg` positional, so options end at `--` or at
//!   the first operand, and everything after it is the command's, byte-exact (`OsString`).
//! - Options that take a value accept values that start with '-' (`-e -1` is a bad exit code,
//!   not a missing value), as getopt does; given twice, the last one wins.
//! - `-t`/`--grace` and `-r`/`--rewrite` are two clap arguments each, so that an error names
//!   the spelling the user typed; their occurrences are merged back in command-line order.
//! - Values are parsed by pidone's own parsers inside clap (in command-line order, so the first
//!   bad input is the one reported), and clap's errors become one line in pidone's words with
//!   exit code 1 ([`UsageError`]), never clap's multi-line text and exit code 2.
//! - The help text is pidone's own ([`HELP`], with the variables): clap never builds one, and
//!   is built without its `help` and `usage` features (about 48 KiB).
//! - A command line with no options at all (`pidone -- cmd`, `pidone cmd`) does not need clap,
//!   whose set-up costs about 170,000 instructions at start-up: [`no_options`] answers it.
//! - Environment variables are read here, through the `env` function, only for options that
//!   were not given on the command line (a flag beats its variable, which is then not read).

use crate::config::{
    self, Config, Grace, LogFormat, ReportFormat, parse_duration, parse_exit_code, parse_grace,
    parse_log_format, parse_report,
};
use crate::signal::{RewriteMap, Signal, SignalSet};
use clap::builder::TypedValueParser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::time::Duration;

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

/// The variable that takes an env_logger filter for pidone's own log lines.
pub const LOG_FILTER_VAR: &str = "PIDONE_LOG";

/// A value parser made of one of pidone's `&str` parsers. Its errors carry the whole message
/// (`--grace: invalid duration 'x' (...)`) in the error's `Custom` context.
#[derive(Clone)]
struct Text<T>(fn(&str) -> Result<T, String>);

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Text<T> {
    type Value = T;

    fn parse_ref(&self, _cmd: &Command, arg: Option<&Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let name = arg.map(option_name).unwrap_or_default();
        let text = value
            .to_str()
            .ok_or_else(|| value_error(format!("{name}: value is not valid UTF-8")))?;
        (self.0)(text).map_err(|e| value_error(format!("{name}: {e}")))
    }
}

fn value_error(message: String) -> clap::Error {
    let mut err = clap::Error::new(ErrorKind::ValueValidation);
    err.insert(ContextKind::Custom, ContextValue::String(message));
    err
}

/// How an argument is spelled on the command line: `--grace`, `-e`.
fn option_name(arg: &Arg) -> String {
    match (arg.get_long(), arg.get_short()) {
        (Some(long), _) => format!("--{long}"),
        (None, Some(short)) => format!("-{short}"),
        (None, None) => arg.get_id().to_string(),
    }
}

/// `--rewrite`: checked here, applied in command-line order once all occurrences are known.
fn check_rewrite(text: &str) -> Result<String, String> {
    RewriteMap::default().add_rules(text)?;
    Ok(text.to_owned())
}

fn flag(id: &'static str, short: char) -> Arg {
    Arg::new(id).short(short).action(ArgAction::SetTrue)
}

/// An option with one value; `-e -1` takes "-1" as the value, as getopt does.
fn valued<T: Clone + Send + Sync + 'static>(id: &'static str, parse: fn(&str) -> Result<T, String>) -> Arg {
    Arg::new(id)
        .action(ArgAction::Set)
        .allow_hyphen_values(true)
        .value_parser(Text(parse))
}

/// The command line as clap sees it.
fn command() -> Command {
    Command::new("pidone")
        .no_binary_name(true)
        .version(VERSION)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args_override_self(true)
        .args([
            Arg::new("help").short('h').long("help").action(ArgAction::Help),
            Arg::new("version").long("version").action(ArgAction::Version),
            flag("license", 'l'),
            flag("subreaper", 's'),
            flag("group", 'g'),
            flag("warn-on-reap", 'w'),
            Arg::new("verbose").short('v').action(ArgAction::Count),
            valued("success-code", parse_exit_code)
                .short('e')
                .action(ArgAction::Append),
            valued("parent-death", Signal::parse).short('p'),
            valued("t", parse_grace).short('t'),
            valued("grace", parse_grace).long("grace"),
            valued("cleanup-grace", parse_duration).long("cleanup-grace"),
            valued("stop-delay", parse_duration).long("stop-delay"),
            valued("stop-signals", SignalSet::parse).long("stop-signals"),
            valued("r", check_rewrite).short('r').action(ArgAction::Append),
            valued("rewrite", check_rewrite)
                .long("rewrite")
                .action(ArgAction::Append),
            valued("report", parse_report).long("report"),
            valued("log-format", parse_log_format).long("log-format"),
            Arg::new("command")
                .num_args(1..)
                .trailing_var_arg(true)
                .value_parser(clap::value_parser!(OsString)),
        ])
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
    let given = match no_options(args) {
        Some(command) => Given::command_only(command),
        None => match Given::from_command_line(args)? {
            Ok(given) => given,
            Err(early) => return Ok(early),
        },
    };
    resolve(given, env).map(|config| Invocation::Run(Box::new(config)))
}

/// The command when the command line has no options at all (`pidone -- cmd`, `pidone cmd`,
/// the way docker's `--init` and most images call it): then clap has nothing to do and is not
/// run. The result is exactly clap's (unit-tested against it).
fn no_options(args: &[OsString]) -> Option<&[OsString]> {
    let first = args.first()?.as_encoded_bytes();
    if first == b"--" {
        Some(&args[1..])
    } else if first.len() < 2 || first[0] != b'-' {
        Some(args) // the first operand ("-" and "" included): the command starts here
    } else {
        None
    }
}

/// What the command line says, before the environment is consulted.
#[derive(Default)]
struct Given {
    command: Vec<OsString>,
    subreaper: bool,
    group: bool,
    warn_on_reap: bool,
    verbose: u8,
    success_codes: Vec<u8>,
    parent_death_signal: Option<Signal>,
    grace: Option<Grace>,
    cleanup_grace: Option<Duration>,
    stop_delay: Option<Duration>,
    stop_signals: Option<SignalSet>,
    /// `-r`/`--rewrite` values in command-line order (checked already).
    rewrite: Vec<String>,
    report: Option<ReportFormat>,
    log_format: Option<LogFormat>,
}

impl Given {
    fn command_only(command: &[OsString]) -> Given {
        Given {
            command: command.to_vec(),
            ..Given::default()
        }
    }

    /// clap's reading of the command line; `Ok(Err(..))` for help, version and licence.
    /// Never inlined: clap's matcher needs a 20 KiB stack frame, and inlined into `parse` that
    /// frame was paged in (5 page faults) on every start-up, options or not.
    #[inline(never)]
    fn from_command_line(args: &[OsString]) -> Result<Result<Given, Invocation>, UsageError> {
        let mut m = match command().try_get_matches_from(args) {
            Ok(m) => m,
            Err(err) => return from_clap_error(&err).map(Err),
        };
        if m.get_flag("license") {
            return Ok(Err(Invocation::License));
        }
        Ok(Ok(Given {
            command: m
                .remove_many::<OsString>("command")
                .map(Iterator::collect)
                .unwrap_or_default(),
            subreaper: m.get_flag("subreaper"),
            group: m.get_flag("group"),
            warn_on_reap: m.get_flag("warn-on-reap"),
            verbose: m.get_count("verbose"),
            success_codes: m
                .get_many::<u8>("success-code")
                .into_iter()
                .flatten()
                .copied()
                .collect(),
            parent_death_signal: m.get_one::<Signal>("parent-death").copied(),
            grace: last_of(&m, &["t", "grace"]),
            cleanup_grace: m.get_one::<Duration>("cleanup-grace").copied(),
            stop_delay: m.get_one::<Duration>("stop-delay").copied(),
            stop_signals: m.get_one::<SignalSet>("stop-signals").copied(),
            rewrite: in_order(&m, &["r", "rewrite"]),
            report: m.get_one::<ReportFormat>("report").copied(),
            log_format: m.get_one::<LogFormat>("log-format").copied(),
        }))
    }
}

/// The command line completed by the environment: tini's variables, and each `PIDONE_*`
/// variable whose option was not given.
fn resolve(given: Given, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Config, UsageError> {
    if given.command.is_empty() {
        return Err(UsageError("no command given".into()));
    }
    let mut config = Config::new(given.command);

    // tini's options and variables; its variables are read whatever the flags say.
    config.subreaper = given.subreaper || env("TINI_SUBREAPER").is_some();
    config.kill_process_group = given.group || env("TINI_KILL_PROCESS_GROUP").is_some();
    config.warn_on_reap = given.warn_on_reap;
    config.verbosity = match env("TINI_VERBOSITY") {
        Some(v) => config::parse_verbosity(&v.to_string_lossy()),
        None => 1 + u32::from(given.verbose),
    };
    for code in given.success_codes {
        if !config.success_codes.contains(&code) {
            config.success_codes.push(code);
        }
    }
    config.parent_death_signal = given.parent_death_signal;

    // pidone's options: the flag, else its variable.
    if let Some(grace) = or_env(given.grace, "PIDONE_GRACE", parse_grace, env)? {
        config.grace = grace;
    }
    if let Some(d) = or_env(given.cleanup_grace, "PIDONE_CLEANUP_GRACE", parse_duration, env)? {
        config.cleanup_grace = d;
    }
    if let Some(d) = or_env(given.stop_delay, "PIDONE_STOP_DELAY", parse_duration, env)? {
        config.stop_delay = d;
    }
    if let Some(set) = or_env(given.stop_signals, "PIDONE_STOP_SIGNALS", SignalSet::parse, env)? {
        config.stop_signals = set;
    }
    let mut rules = given.rewrite;
    if rules.is_empty() {
        rules.extend(from_env(env, "PIDONE_REWRITE", check_rewrite)?);
    }
    for rule in &rules {
        // Checked already; an error here would still be reported, never ignored.
        config
            .rewrite
            .add_rules(rule)
            .map_err(|e| UsageError(format!("--rewrite: {e}")))?;
    }
    if let Some(report) = or_env(given.report, "PIDONE_REPORT", parse_report, env)? {
        config.report = report;
    }
    if let Some(format) = or_env(given.log_format, "PIDONE_LOG_FORMAT", parse_log_format, env)? {
        config.log_format = format;
    }
    // PIDONE_LOG has no flag. pidone never reads RUST_LOG: that is the application's.
    config.log_filter = from_env(env, LOG_FILTER_VAR, config::parse_log_filter)?.flatten();
    Ok(config)
}

/// The values of one option spelled two ways (`-r` and `--rewrite`), in command-line order.
fn in_order<T: Clone + Send + Sync + 'static>(m: &ArgMatches, ids: &[&str]) -> Vec<T> {
    let mut all: Vec<(usize, T)> = Vec::new();
    for id in ids {
        if let (Some(indices), Some(values)) = (m.indices_of(id), m.get_many::<T>(id)) {
            all.extend(indices.zip(values.cloned()));
        }
    }
    all.sort_by_key(|(index, _)| *index);
    all.into_iter().map(|(_, value)| value).collect()
}

/// The value of the last occurrence of an option spelled two ways (`-t` and `--grace`).
fn last_of<T: Clone + Send + Sync + 'static>(m: &ArgMatches, ids: &[&str]) -> Option<T> {
    in_order(m, ids).pop()
}

/// The flag's value if it was given; else the variable's, if set. A flag means its variable
/// is not read at all, so a bad value there can not fail the command line.
fn or_env<T>(
    flag: Option<T>,
    var: &str,
    parse: fn(&str) -> Result<T, String>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Option<T>, UsageError> {
    match flag {
        Some(value) => Ok(Some(value)),
        None => from_env(env, var, parse),
    }
}

fn from_env<T>(
    env: &dyn Fn(&str) -> Option<OsString>,
    var: &str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, UsageError> {
    let Some(value) = env(var) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .ok_or_else(|| UsageError(format!("{var}: value is not valid UTF-8")))?;
    parse(text)
        .map(Some)
        .map_err(|e| UsageError(format!("{var}: {e}")))
}

/// clap's verdict in pidone's words: help and version are answers, anything else is one line.
fn from_clap_error(err: &clap::Error) -> Result<Invocation, UsageError> {
    let context = |kind| match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    // For these kinds clap names the option as `--grace <grace>`: the name is enough.
    let option = || {
        let arg = context(ContextKind::InvalidArg).unwrap_or("?");
        arg.split_once(" <").map_or(arg, |(name, _)| name)
    };
    let message = match err.kind() {
        ErrorKind::DisplayHelp => return Ok(Invocation::Help),
        ErrorKind::DisplayVersion => return Ok(Invocation::Version),
        ErrorKind::UnknownArgument => {
            let arg = context(ContextKind::InvalidArg).unwrap_or("?");
            match context(ContextKind::SuggestedArg) {
                Some(suggested) => format!("unknown option '{arg}' (did you mean '{suggested}'?)"),
                None => format!("unknown option '{arg}'"),
            }
        }
        ErrorKind::ValueValidation if context(ContextKind::Custom).is_some() => {
            context(ContextKind::Custom).unwrap_or_default().to_owned()
        }
        ErrorKind::InvalidValue | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!("option '{}' needs a value", option())
        }
        ErrorKind::TooManyValues => format!("option '{}' takes no value", option()),
        kind => format!(
            "invalid command line ({})",
            kind.as_str().unwrap_or("unknown error")
        ),
    };
    Err(UsageError(message))
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

  PIDONE_LOG=FILTER           which log lines to show, in env_logger's syntax (debug, warn,
                              pidone=trace); replaces -v and TINI_VERBOSITY when set.
                              pidone never reads RUST_LOG (that is the application's).

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
    fn a_mistyped_long_option_gets_a_suggestion() {
        let msg = err(&["--gracee", "1s", "x"], &[]);
        assert_eq!(msg, "unknown option '--gracee' (did you mean '--grace'?)");
        let msg = err(&["--stop-signal=TERM", "x"], &[]);
        assert!(msg.contains("did you mean '--stop-signals'?"), "{msg}");
        // Nothing close: no suggestion.
        assert_eq!(err(&["--zzz", "x"], &[]), "unknown option '--zzz'");
    }

    #[test]
    fn the_spelling_typed_is_the_one_named() {
        assert!(err(&["-t", "x", "y"], &[]).starts_with("-t: invalid duration"));
        assert!(err(&["--grace", "x", "y"], &[]).starts_with("--grace: invalid duration"));
        assert!(err(&["-r", "TERM", "y"], &[]).starts_with("-r: bad rewrite"));
        assert!(err(&["--rewrite", "TERM", "y"], &[]).starts_with("--rewrite: bad rewrite"));
        assert_eq!(err(&["-vt"], &[]), "option '-t' needs a value");
        assert_eq!(err(&["--help=1"], &[]), "option '--help' takes no value");
    }

    #[test]
    fn the_last_of_two_spellings_wins_and_rewrites_keep_their_order() {
        let c = run(&["-t", "1s", "--grace", "2s", "x"], &[]);
        assert_eq!(c.grace, Grace::After(Duration::from_secs(2)));
        let c = run(&["--grace=2s", "-t1s", "--grace", "3s", "-t", "4s", "x"], &[]);
        assert_eq!(c.grace, Grace::After(Duration::from_secs(4)));
        // Later rules for the same signal win, whichever spelling they came with.
        let c = run(&["--rewrite", "HUP:INT", "-r", "HUP:DROP", "x"], &[]);
        assert_eq!(c.rewrite.apply(Signal::HUP), crate::signal::RewriteTarget::Drop);
        let c = run(&["-r", "HUP:DROP", "--rewrite", "HUP:INT", "x"], &[]);
        assert_eq!(
            c.rewrite.apply(Signal::HUP),
            crate::signal::RewriteTarget::Deliver(Signal::INT)
        );
        // A value that starts with '-' is the option's value, as with getopt.
        assert!(err(&["-e", "-1", "x"], &[]).starts_with("-e: invalid exit code '-1'"));
        assert!(err(&["-p", "--", "x"], &[]).starts_with("-p: unknown signal '--'"));
        assert_eq!(run(&["-e", "3", "-", "x"], &[]).command, os(&["-", "x"]));
    }

    /// A command line without options skips clap: the result must be clap's.
    #[test]
    fn without_options_clap_is_skipped_with_the_same_result() {
        use std::os::unix::ffi::OsStringExt;
        let via_clap = |args: &[OsString]| match Given::from_command_line(args) {
            Ok(Ok(given)) => resolve(given, &|_| None),
            Ok(Err(other)) => panic!("{args:?}: {other:?}"),
            Err(e) => Err(e),
        };
        let mut cases: Vec<Vec<OsString>> = [
            &["--"][..],
            &["--", "x", "-v"],
            &["--", "--", "-x"],
            &["--", "-h"],
            &["x", "-h", "--grace"],
            &["ls", "-l"],
            &["", "-v"],
            &["-", "x"],
            &["x"],
        ]
        .iter()
        .map(|a| os(a))
        .collect();
        cases.push(vec![OsString::from_vec(vec![0xff, b'-']), "-v".into()]);
        cases.push(vec!["--".into(), OsString::from_vec(vec![b'-', 0xff])]);
        for args in cases {
            let fast = no_options(&args).unwrap_or_else(|| panic!("{args:?} has no options"));
            assert_eq!(
                resolve(Given::command_only(fast), &|_| None),
                via_clap(&args),
                "{args:?}"
            );
        }
        for args in [&[][..], &["-v", "x"], &["--grace=1", "x"], &["-x"], &["---"]] {
            assert!(no_options(&os(args)).is_none(), "{args:?}");
        }
    }

    #[test]
    fn pidone_log_is_read_and_nothing_else_beyond_the_documented_variables() {
        let c = run(&["-vvv", "x"], &[("PIDONE_LOG", "pidone=debug")]);
        assert_eq!(c.log_filter.as_deref(), Some("pidone=debug"));
        assert_eq!(run(&["x"], &[("PIDONE_LOG", "")]).log_filter, None);
        let msg = err(&["x"], &[("PIDONE_LOG", "pidone=loud")]);
        assert!(msg.starts_with("PIDONE_LOG: "), "{msg}");
        // Only these variables are looked up, RUST_LOG never (it is the application's).
        let asked = std::cell::RefCell::new(Vec::new());
        let lookup = |name: &str| {
            asked.borrow_mut().push(name.to_owned());
            None
        };
        for args in [&["x"][..], &["-v", "--grace=1", "-r", "HUP:INT", "x"]] {
            assert!(matches!(parse(&os(args), &lookup), Ok(Invocation::Run(_))));
        }
        let documented = [
            "TINI_SUBREAPER",
            "TINI_KILL_PROCESS_GROUP",
            "TINI_VERBOSITY",
            "PIDONE_GRACE",
            "PIDONE_CLEANUP_GRACE",
            "PIDONE_STOP_DELAY",
            "PIDONE_STOP_SIGNALS",
            "PIDONE_REWRITE",
            "PIDONE_REPORT",
            "PIDONE_LOG_FORMAT",
            "PIDONE_LOG",
        ];
        for name in asked.borrow().iter() {
            assert!(documented.contains(&name.as_str()), "looked up {name}");
        }
        // A flag's variable is not read at all.
        assert_eq!(asked.borrow().iter().filter(|n| *n == "PIDONE_GRACE").count(), 1);
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
