//! pidone-check's command line (SPEC §6, §6b) → [`Invocation`]. Pure: nothing here touches the
//! OS; the environment is passed in (only `PIDONE_CHECK_RUNTIME` is read).
//!
//! clap's builder API. Options stop at `--` or at the first operand (POSIX order), so
//! `pidone-check node server.js --port 1` passes `--port 1` on. clap's multi-line errors are
//! turned into the one line SPEC §6 asks for.

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, ArgMatches, Command};
use pidone::config::parse_duration;
use pidone::signal::Signal;
use regex_lite::Regex;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Exit codes of pidone-check.
pub const EXIT_PASSED: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

/// The variable that names the container runtime when `--runtime` is not given.
pub const RUNTIME_ENV: &str = "PIDONE_CHECK_RUNTIME";

/// Where `--ready-tcp` connects. `localhost` tries both loopback addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpTarget {
    pub text: String,
    pub addrs: Vec<SocketAddr>,
}

/// A `--ready-log` pattern, compiled.
#[derive(Clone, Debug)]
pub struct LogPattern {
    pub text: String,
    pub regex: Regex,
}

#[derive(Clone, Debug, Default)]
pub struct Readiness {
    pub tcp: Vec<TcpTarget>,
    pub files: Vec<PathBuf>,
    pub logs: Vec<LogPattern>,
    /// `--ready-health` (image mode only): the image's HEALTHCHECK says healthy.
    pub health: bool,
    pub after: Option<Duration>,
}

impl Readiness {
    fn is_empty(&self) -> bool {
        self.tcp.is_empty()
            && self.files.is_empty()
            && self.logs.is_empty()
            && !self.health
            && self.after.is_none()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Junit,
}

/// How bad a finding is (SPEC §6b); ordered, so `>=` compares with `--fail-on`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Process mode (SPEC §6).
#[derive(Clone, Debug)]
pub struct CheckConfig {
    pub command: Vec<OsString>,
    pub ready: Readiness,
    pub ready_timeout: Duration,
    pub signal: Signal,
    pub within: Duration,
    /// Accepted exit codes (128+N for a death by signal N), sorted, no duplicates.
    pub expect_exit: Vec<u8>,
    pub allow_orphans: bool,
    pub repeat: u32,
    pub format: Format,
}

/// Image mode (SPEC §6b).
#[derive(Clone, Debug)]
pub struct ImageConfig {
    pub image: String,
    /// `-- ARGS`: replaces the image's CMD; empty keeps it.
    pub args: Vec<OsString>,
    /// `--runtime`, else `PIDONE_CHECK_RUNTIME`; None: podman if on PATH, else docker.
    pub runtime: Option<OsString>,
    /// `stop -t`: whole seconds.
    pub runtime_timeout: Duration,
    /// `--env K=V`, in order.
    pub env: Vec<String>,
    /// `--network`, passed to `run`.
    pub network: Option<String>,
    /// `--pull`: pull the image when it is not present locally (never otherwise).
    pub pull: bool,
    pub ready: Readiness,
    pub ready_timeout: Duration,
    pub within: Duration,
    pub expect_exit: Vec<u8>,
    pub repeat: u32,
    pub format: Format,
    /// The least severity that fails the check.
    pub fail_on: Severity,
}

#[derive(Debug)]
pub enum Invocation {
    Check(Box<CheckConfig>),
    Image(Box<ImageConfig>),
    /// The text to print on stdout (`--help`, `--version`), exit 0.
    Print(String),
}

/// The most runs `--repeat` accepts: a typo such as 1000000 should not tie up a CI runner.
pub const MAX_REPEAT: u32 = 10_000;

/// Options that only make sense for one of the two modes.
const PROCESS_ONLY: &[&str] = &["signal", "allow-orphans"];
const IMAGE_ONLY: &[&str] = &[
    "runtime",
    "runtime-timeout",
    "env",
    "network",
    "pull",
    "ready-health",
    "fail-on",
];

fn value(name: &'static str, meta: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name(meta)
        .help(help)
        .action(ArgAction::Set)
}

fn flag(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name).long(name).help(help).action(ArgAction::SetTrue)
}

/// The command line's definition.
pub fn command() -> Command {
    Command::new("pidone-check")
        .version(pidone::cli::VERSION)
        .about(
            "Tests that an application shuts down cleanly: starts it (under pidone's supervisor, or \
             a container IMAGE under its real runtime), waits until it is ready, stops it and \
             judges the shutdown. The report goes to stdout; the application's output to stderr.",
        )
        .override_usage(
            "pidone-check [OPTIONS] [--] COMMAND [ARGS...]\n       \
             pidone-check --image IMAGE [OPTIONS] [-- ARGS...]",
        )
        .next_help_heading("Readiness (all given must hold; default --ready-after 1s)")
        .arg(
            value("ready-tcp", "ADDR", "a TCP connection succeeds: HOST:PORT, or PORT (loopback; inside the container with --image)")
                .action(ArgAction::Append)
                .value_parser(parse_tcp_target),
        )
        .arg(
            value("ready-file", "PATH", "PATH exists (in the container's file system with --image)")
                .action(ArgAction::Append)
                .value_parser(parse_path),
        )
        .arg(
            value("ready-log", "REGEX", "a line of the application's output matches REGEX")
                .action(ArgAction::Append)
                .value_parser(parse_pattern),
        )
        .arg(flag("ready-health", "the image's HEALTHCHECK says healthy (--image)"))
        .arg(value("ready-after", "DURATION", "this long after the start").value_parser(parse_duration))
        .arg(
            value("ready-timeout", "DURATION", "fail when not ready by then")
                .default_value("30s")
                .value_parser(parse_duration),
        )
        .next_help_heading("Shutdown")
        .arg(
            value("signal", "SIG", "the stop signal to send (process mode)")
                .default_value("TERM")
                .value_parser(parse_stop_signal),
        )
        .arg(
            value("within", "DURATION", "the shutdown must finish within this (pidone's grace)")
                .default_value("10s")
                .value_parser(parse_duration),
        )
        .arg(
            value("expect-exit", "CODES", "exit codes of a clean stop, comma-separated")
                .default_value("0,143")
                .value_parser(parse_codes),
        )
        .arg(flag("allow-orphans", "do not fail when processes outlive the main process (process mode)"))
        .next_help_heading("Container image (SPEC 6b)")
        .arg(value("image", "IMAGE", "run this image under its runtime instead of a COMMAND"))
        .arg(
            value("runtime", "RUNTIME", "podman, docker or a path [default: $PIDONE_CHECK_RUNTIME, else podman if on PATH, else docker]")
                .value_parser(clap::builder::OsStringValueParser::new()),
        )
        .arg(
            value("runtime-timeout", "DURATION", "`stop -t`: how long the runtime waits before SIGKILL (whole seconds)")
                .default_value("10s")
                .value_parser(parse_whole_seconds),
        )
        .arg(value("env", "K=V", "add a variable to the container (repeatable)").action(ArgAction::Append).value_parser(parse_env))
        .arg(value("network", "NETWORK", "the container's network (`run --network`)").value_parser(parse_nonempty))
        .arg(flag("pull", "pull the image if it is not present locally (never done otherwise)"))
        .arg(
            value("fail-on", "SEVERITY", "the least severity of a finding that fails the check")
                .default_value("error")
                .value_parser(PossibleValuesParser::new(["error", "warning"]).map(|s| {
                    if s == "warning" { Severity::Warning } else { Severity::Error }
                })),
        )
        .next_help_heading("Runs and report")
        .arg(
            value("repeat", "N", "run the whole cycle N times")
                .default_value("1")
                .value_parser(parse_repeat),
        )
        .arg(
            value("format", "FORMAT", "text, json or junit")
                .default_value("text")
                .value_parser(parse_format),
        )
        .arg(
            Arg::new("command")
                .value_name("COMMAND")
                .num_args(1..)
                .trailing_var_arg(true)
                .value_parser(clap::builder::OsStringValueParser::new())
                .help("the application and its arguments; with --image, ARGS that replace the image's CMD"),
        )
        .after_help(
            "DURATION: 500ms, 10s, 1.5s, 1m or a number of seconds.\n\
             Exit status: 0 every run passed, 1 a check failed, 2 usage or setup error.",
        )
}

/// Parses the arguments after the program name. `env` looks up an environment variable.
pub fn parse(args: &[OsString], env: impl Fn(&str) -> Option<OsString>) -> Result<Invocation, String> {
    let argv = std::iter::once(OsString::from("pidone-check")).chain(args.iter().cloned());
    let m = match command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return Ok(Invocation::Print(e.to_string()));
        }
        Err(e) => return Err(one_line_error(&e)),
    };
    let explicit = |id: &str| m.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    let command: Vec<OsString> = m
        .get_many::<OsString>("command")
        .map(|v| v.cloned().collect())
        .unwrap_or_default();
    let mut ready = Readiness {
        tcp: many(&m, "ready-tcp"),
        files: many(&m, "ready-file"),
        logs: many(&m, "ready-log"),
        health: m.get_flag("ready-health"),
        after: m.get_one::<Duration>("ready-after").copied(),
    };
    if ready.is_empty() {
        ready.after = Some(Duration::from_secs(1));
    }
    let ready_timeout = one::<Duration>(&m, "ready-timeout");
    let within = one::<Duration>(&m, "within");
    let expect_exit = one::<Vec<u8>>(&m, "expect-exit");
    let repeat = one::<u32>(&m, "repeat");
    let format = one::<Format>(&m, "format");

    let Some(image) = m.get_one::<String>("image").cloned() else {
        if let Some(name) = IMAGE_ONLY.iter().find(|n| explicit(n)) {
            return Err(format!("--{name} needs --image"));
        }
        if command.is_empty() {
            return Err("no command given".to_owned());
        }
        return Ok(Invocation::Check(Box::new(CheckConfig {
            command,
            ready,
            ready_timeout,
            signal: one::<Signal>(&m, "signal"),
            within,
            expect_exit,
            allow_orphans: m.get_flag("allow-orphans"),
            repeat,
            format,
        })));
    };
    if let Some(name) = PROCESS_ONLY.iter().find(|n| explicit(n)) {
        return Err(format!(
            "--{name} can not be used with --image (the runtime's stop sends the image's STOPSIGNAL)"
        ));
    }
    if image.trim().is_empty() {
        return Err("--image: empty image name".to_owned());
    }
    if let Some(f) = ready.files.iter().find(|f| !f.is_absolute()) {
        return Err(format!(
            "--ready-file: '{}' must be an absolute path in the container",
            f.display()
        ));
    }
    let runtime = match m.get_one::<OsString>("runtime") {
        Some(r) => Some(r.clone()),
        None => env(RUNTIME_ENV).filter(|v| !v.is_empty()),
    };
    Ok(Invocation::Image(Box::new(ImageConfig {
        image,
        args: command,
        runtime,
        runtime_timeout: one::<Duration>(&m, "runtime-timeout"),
        env: many(&m, "env"),
        network: m.get_one::<String>("network").cloned(),
        pull: m.get_flag("pull"),
        ready,
        ready_timeout,
        within,
        expect_exit,
        repeat,
        format,
        fail_on: one::<Severity>(&m, "fail-on"),
    })))
}

fn many<T: Clone + Send + Sync + 'static>(m: &ArgMatches, id: &str) -> Vec<T> {
    m.get_many::<T>(id)
        .map(|v| v.cloned().collect())
        .unwrap_or_default()
}

/// A value that has a default, so clap always has one.
fn one<T: Clone + Send + Sync + 'static>(m: &ArgMatches, id: &str) -> T {
    match m.get_one::<T>(id) {
        Some(v) => v.clone(),
        None => unreachable!("--{id} has a default value"),
    }
}

/// clap's error as one line: `unknown option '--bogus' (did you mean '--within'?)`,
/// `--within: invalid duration 'ten' (...)`, `option '--within' needs a value`.
fn one_line_error(e: &clap::Error) -> String {
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.split(' ').next().unwrap_or(s).to_owned(),
        _ => String::new(),
    };
    match e.kind() {
        ErrorKind::UnknownArgument => {
            let mut line = format!("unknown option '{arg}'");
            let suggested = match e.get(ContextKind::SuggestedArg) {
                Some(ContextValue::String(s)) => Some(s.clone()),
                Some(ContextValue::Strings(v)) => v.first().cloned(),
                _ => None,
            };
            if let Some(s) = suggested {
                line.push_str(&format!(" (did you mean '{s}'?)"));
            }
            line
        }
        ErrorKind::ValueValidation | ErrorKind::InvalidValue => match std::error::Error::source(e) {
            Some(source) => format!("{arg}: {source}"),
            None => {
                let value = match e.get(ContextKind::InvalidValue) {
                    Some(ContextValue::String(v)) => v.clone(),
                    _ => String::new(),
                };
                if value.is_empty() {
                    format!("option '{arg}' needs a value")
                } else {
                    let valid = match e.get(ContextKind::ValidValue) {
                        Some(ContextValue::Strings(v)) => format!(" (use {})", v.join(" or ")),
                        _ => String::new(),
                    };
                    format!("{arg}: invalid value '{value}'{valid}")
                }
            }
        },
        ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => format!("option '{arg}' needs a value"),
        ErrorKind::ArgumentConflict => format!("option '{arg}' given twice"),
        ErrorKind::NoEquals | ErrorKind::TooManyValues => format!("option '{arg}' takes no value"),
        _ => {
            // "error: ..." on the first line of clap's own rendering.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            first.strip_prefix("error: ").unwrap_or(first).to_owned()
        }
    }
}

/// regex-lite's errors span several lines (the pattern with a caret under it).
fn one_line(err: &dyn std::fmt::Display) -> String {
    let text = err.to_string();
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("invalid")
        .to_owned()
}

fn parse_pattern(text: &str) -> Result<LogPattern, String> {
    let regex =
        Regex::new(text).map_err(|e| format!("invalid regular expression '{text}': {}", one_line(&e)))?;
    Ok(LogPattern {
        text: text.to_owned(),
        regex,
    })
}

fn parse_path(text: &str) -> Result<PathBuf, String> {
    if text.is_empty() {
        return Err("empty path".to_owned());
    }
    Ok(PathBuf::from(text))
}

fn parse_nonempty(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("empty value".to_owned());
    }
    Ok(text.to_owned())
}

/// `K=V` with a non-empty name that has no `=`.
fn parse_env(text: &str) -> Result<String, String> {
    match text.split_once('=') {
        Some((k, _)) if !k.is_empty() && !k.contains(char::is_whitespace) => Ok(text.to_owned()),
        _ => Err(format!("invalid variable '{text}' (use NAME=VALUE)")),
    }
}

/// `stop -t` takes whole seconds.
fn parse_whole_seconds(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.subsec_nanos() != 0 {
        return Err(format!(
            "'{text}' is not a whole number of seconds (the runtime's `stop -t` takes seconds)"
        ));
    }
    Ok(d)
}

/// `HOST:PORT`, `[V6]:PORT`, `:PORT` or `PORT` (both loopback). Host names other than
/// `localhost` are refused rather than resolved: a static binary can not load the C library's
/// name-service modules, so resolution would fail in exactly the minimal images it is for.
pub fn parse_tcp_target(text: &str) -> Result<TcpTarget, String> {
    let loopback = |port| {
        vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
        ]
    };
    let port_of = |p: &str| -> Result<u16, String> {
        match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
            _ => Err(format!("invalid port '{p}' in '{text}' (use 1-65535)")),
        }
    };
    let addrs = if let Ok(addr) = text.parse::<SocketAddr>() {
        if addr.port() == 0 {
            return Err(format!("invalid port 0 in '{text}' (use 1-65535)"));
        }
        vec![addr]
    } else if let Some((host, port)) = text.rsplit_once(':') {
        let port = port_of(port)?;
        match host {
            "" | "localhost" => loopback(port),
            _ if host.contains(':') && !host.starts_with('[') => {
                return Err(format!("write an IPv6 address in brackets: '[{host}]:{port}'"));
            }
            _ => {
                return Err(format!(
                    "cannot use host '{host}' in '{text}' (use an IP address or localhost, e.g. 127.0.0.1:8080)"
                ));
            }
        }
    } else if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
        loopback(port_of(text)?)
    } else {
        return Err(format!(
            "invalid address '{text}' (use HOST:PORT, e.g. 127.0.0.1:8080)"
        ));
    };
    Ok(TcpTarget {
        text: text.to_owned(),
        addrs,
    })
}

/// SIGKILL and SIGSTOP can not be caught, so the supervisor could neither forward them nor
/// time a shutdown by them.
fn parse_stop_signal(text: &str) -> Result<Signal, String> {
    let sig = Signal::parse(text)?;
    if !sig.is_catchable() || sig == Signal::CHLD {
        return Err(format!("{sig} can not be used as a stop signal"));
    }
    Ok(sig)
}

/// `0,143`: decimal 0-255, comma-separated.
pub fn parse_codes(text: &str) -> Result<Vec<u8>, String> {
    let mut codes = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let ok = !part.is_empty() && part.len() <= 3 && part.bytes().all(|b| b.is_ascii_digit());
        let code = part
            .parse::<u8>()
            .ok()
            .filter(|_| ok)
            .ok_or_else(|| format!("invalid exit code '{part}' (use numbers 0-255, e.g. 0,143)"))?;
        codes.push(code);
    }
    codes.sort_unstable();
    codes.dedup();
    Ok(codes)
}

fn parse_repeat(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_REPEAT).contains(&n) && text.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("invalid count '{text}' (use 1-{MAX_REPEAT})")),
    }
}

fn parse_format(text: &str) -> Result<Format, String> {
    match text.to_ascii_lowercase().as_str() {
        "text" => Ok(Format::Text),
        "json" => Ok(Format::Json),
        "junit" => Ok(Format::Junit),
        _ => Err(format!("invalid format '{text}' (use text, json or junit)")),
    }
}

/// A duration as the user would write it: `500ms`, `2s`, `1.5s`.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// For the unit tests of every module: a command line parsed into its configuration, panicking
/// on anything else.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub fn check(list: &[&str]) -> CheckConfig {
        match parse(&list.iter().map(OsString::from).collect::<Vec<_>>(), |_| None) {
            Ok(Invocation::Check(c)) => *c,
            other => panic!("{list:?}: {other:?}"),
        }
    }

    pub fn image(list: &[&str]) -> ImageConfig {
        match parse(&list.iter().map(OsString::from).collect::<Vec<_>>(), |_| None) {
            Ok(Invocation::Image(c)) => *c,
            other => panic!("{list:?}: {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    use testing::{check, image};

    fn error(list: &[&str]) -> String {
        match parse(&args(list), no_env) {
            Err(e) => e,
            other => panic!("{list:?} should fail: {other:?}"),
        }
    }

    #[test]
    fn the_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn defaults() {
        let c = check(&["app", "--port", "1"]);
        assert_eq!(c.command, args(&["app", "--port", "1"]));
        assert_eq!(c.ready.after, Some(Duration::from_secs(1)));
        assert!(c.ready.tcp.is_empty() && c.ready.files.is_empty() && c.ready.logs.is_empty());
        assert_eq!(c.ready_timeout, Duration::from_secs(30));
        assert_eq!(c.signal, Signal::TERM);
        assert_eq!(c.within, Duration::from_secs(10));
        assert_eq!(c.expect_exit, vec![0, 143]);
        assert!(!c.allow_orphans);
        assert_eq!(c.repeat, 1);
        assert_eq!(c.format, Format::Text);
    }

    #[test]
    fn every_option() {
        let c = check(&[
            "--ready-tcp",
            "127.0.0.1:8080",
            "--ready-file=/tmp/r",
            "--ready-log",
            "listening on \\d+",
            "--ready-timeout",
            "5s",
            "--signal",
            "SIGQUIT",
            "--within=2.5s",
            "--expect-exit",
            "1, 0,1",
            "--allow-orphans",
            "--repeat",
            "3",
            "--format",
            "JUnit",
            "--",
            "--app",
        ]);
        assert_eq!(c.command, args(&["--app"]));
        assert_eq!(c.ready.tcp[0].addrs, vec!["127.0.0.1:8080".parse().unwrap()]);
        assert_eq!(c.ready.files, vec![PathBuf::from("/tmp/r")]);
        assert!(c.ready.logs[0].regex.is_match("listening on 8080"));
        assert_eq!(c.ready.after, None, "no default delay once a probe is given");
        assert_eq!(c.ready_timeout, Duration::from_secs(5));
        assert_eq!(c.signal, Signal::parse("QUIT").unwrap());
        assert_eq!(c.within, Duration::from_millis(2500));
        assert_eq!(c.expect_exit, vec![0, 1]);
        assert!(c.allow_orphans);
        assert_eq!(c.repeat, 3);
        assert_eq!(c.format, Format::Junit);
    }

    #[test]
    fn image_mode() {
        let c = image(&["--image", "app:1"]);
        assert_eq!(c.image, "app:1");
        assert!(c.args.is_empty() && c.env.is_empty() && c.runtime.is_none() && !c.pull);
        assert_eq!(c.runtime_timeout, Duration::from_secs(10));
        assert_eq!(c.ready.after, Some(Duration::from_secs(1)));
        assert_eq!(c.fail_on, Severity::Error);
        assert_eq!(c.expect_exit, vec![0, 143]);

        let c = image(&[
            "--image=app",
            "--runtime",
            "/usr/bin/docker",
            "--runtime-timeout",
            "2",
            "--env",
            "A=1",
            "--env=B=x=y",
            "--network",
            "none",
            "--ready-tcp",
            "8080",
            "--ready-health",
            "--ready-file",
            "/tmp/ready",
            "--fail-on",
            "warning",
            "--pull",
            "--",
            "--flag",
            "x",
        ]);
        assert_eq!(c.runtime, Some("/usr/bin/docker".into()));
        assert_eq!(c.runtime_timeout, Duration::from_secs(2));
        assert_eq!(c.env, vec!["A=1", "B=x=y"]);
        assert_eq!(c.network.as_deref(), Some("none"));
        assert_eq!(c.ready.tcp[0].addrs.len(), 2);
        assert!(c.ready.health && c.pull);
        assert_eq!(c.ready.after, None);
        assert_eq!(c.fail_on, Severity::Warning);
        assert_eq!(c.args, args(&["--flag", "x"]));
    }

    #[test]
    fn the_runtime_comes_from_the_flag_then_the_environment() {
        let env = |k: &str| (k == RUNTIME_ENV).then(|| OsString::from("docker"));
        let runtime = |list: &[&str]| match parse(&args(list), env) {
            Ok(Invocation::Image(c)) => c.runtime,
            other => panic!("{other:?}"),
        };
        assert_eq!(runtime(&["--image", "x"]), Some("docker".into()));
        assert_eq!(
            runtime(&["--image", "x", "--runtime", "podman"]),
            Some("podman".into())
        );
    }

    #[test]
    fn tcp_targets() {
        let t = |s| parse_tcp_target(s).map(|t| t.addrs);
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(t("127.0.0.1:80"), Ok(vec![v4]));
        assert_eq!(t("[::1]:80"), Ok(vec![v6]));
        assert_eq!(t("localhost:80"), Ok(vec![v4, v6]));
        assert_eq!(t(":80"), Ok(vec![v4, v6]));
        assert_eq!(t("80"), Ok(vec![v4, v6]));
        for bad in [
            "example.com:80",
            "127.0.0.1:0",
            "127.0.0.1:99999",
            "127.0.0.1",
            "::1:80",
            "",
            "x",
        ] {
            assert!(t(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usage_errors_are_one_line() {
        for (list, needle) in [
            (vec!["--bogus", "x"], "unknown option '--bogus'"),
            (
                vec!["--withn", "1s", "x"],
                "unknown option '--withn' (did you mean '--within'?)",
            ),
            (vec!["-x", "app"], "unknown option '-x'"),
            (vec!["--within", "ten", "app"], "--within: invalid duration 'ten'"),
            (
                vec!["--signal", "KILL", "app"],
                "--signal: SIGKILL can not be used",
            ),
            (vec!["--signal", "NOPE", "app"], "unknown signal"),
            (vec!["--expect-exit", "0,256", "app"], "invalid exit code '256'"),
            (vec!["--expect-exit", "", "app"], "invalid exit code ''"),
            (vec!["--repeat", "0", "app"], "invalid count '0'"),
            (vec!["--format", "xml", "app"], "--format: invalid format 'xml'"),
            (vec!["--ready-log", "(", "app"], "invalid regular expression '('"),
            (vec!["--ready-tcp", "db:5432", "app"], "cannot use host 'db'"),
            (vec!["--allow-orphans=1", "app"], "takes no value"),
            (vec!["--within"], "option '--within' needs a value"),
            (vec!["--within", "1s"], "no command given"),
            (vec![], "no command given"),
            (vec!["--runtime", "podman", "app"], "--runtime needs --image"),
            (vec!["--ready-health", "app"], "--ready-health needs --image"),
            (
                vec!["--image", "x", "--signal", "INT"],
                "--signal can not be used with --image",
            ),
            (
                vec!["--image", "x", "--runtime-timeout", "1.5s"],
                "not a whole number of seconds",
            ),
            (vec!["--image", "x", "--env", "=1"], "invalid variable '=1'"),
            (vec!["--image", "x", "--env", "A"], "invalid variable 'A'"),
            (
                vec!["--image", "x", "--fail-on", "info"],
                "--fail-on: invalid value 'info' (use error or warning)",
            ),
            (
                vec!["--image", "x", "--ready-file", "rel"],
                "must be an absolute path",
            ),
            (vec!["--image", ""], "--image: empty image name"),
        ] {
            let err = error(&list);
            assert!(err.contains(needle), "{list:?}: {err}");
            assert!(!err.contains('\n'), "{list:?}: {err:?}");
        }
    }

    #[test]
    fn help_and_version() {
        let print = |list: &[&str]| match parse(&args(list), no_env) {
            Ok(Invocation::Print(text)) => text,
            other => panic!("{list:?}: {other:?}"),
        };
        assert!(print(&["--help"]).contains("--ready-timeout"));
        assert!(print(&["-h", "app"]).contains("--image"));
        assert_eq!(
            print(&["--version"]),
            format!("pidone-check {}\n", pidone::cli::VERSION)
        );
        // After the command starts, everything belongs to the command.
        assert_eq!(check(&["app", "--help"]).command, args(&["app", "--help"]));
        assert_eq!(
            check(&["app", "--within", "x"]).command,
            args(&["app", "--within", "x"])
        );
    }

    #[test]
    fn durations_shown_as_written() {
        assert_eq!(show_duration(Duration::from_secs(10)), "10s");
        assert_eq!(show_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(show_duration(Duration::from_millis(2500)), "2.5s");
    }
}
