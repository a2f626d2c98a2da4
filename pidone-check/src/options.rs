//! pidone-check's command line (SPEC §6) → [`CheckConfig`]. Pure: nothing here touches the OS.
//!
//! Hand-written like pidone's own parser, with the same POSIX ordering (options stop at `--`
//! or at the first operand) so `pidone-check node server.js --port 1` passes `--port 1` on.

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

pub const HELP: &str = "\
Usage: pidone-check [OPTIONS] [--] COMMAND [ARGS...]

Starts COMMAND under pidone's supervisor, waits until it is ready, sends the stop signal and
checks that it shuts down cleanly: in time, with an accepted exit code, without SIGKILL, without
leaving processes or zombies behind. The report goes to stdout; the application's own output
goes to stderr.

Readiness (all given must hold; default --ready-after 1s when none is given):
  --ready-tcp HOST:PORT     a TCP connection succeeds (HOST: an IP address or localhost)
  --ready-file PATH         PATH exists
  --ready-log REGEX         a line of the application's stdout or stderr matches REGEX
  --ready-after DURATION    this long after the start
  --ready-timeout DURATION  fail when not ready by then [default: 30s]

Shutdown:
  --signal SIG              the stop signal to send [default: TERM]
  --within DURATION         the shutdown must finish within this; pidone's grace [default: 10s]
  --expect-exit CODES       exit codes of a clean stop, comma-separated [default: 0,143]
  --allow-orphans           do not fail when processes outlive the main process

Runs and report:
  --repeat N                run the whole cycle N times [default: 1]
  --format FORMAT           text, json or junit [default: text]
  -h, --help                print this help
      --version             print the version

DURATION: 500ms, 10s, 1.5s, 1m or a number of seconds.
Exit status: 0 every run passed, 1 the application failed a check, 2 usage or setup error.
";

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
    pub after: Option<Duration>,
}

impl Readiness {
    fn is_empty(&self) -> bool {
        self.tcp.is_empty() && self.files.is_empty() && self.logs.is_empty() && self.after.is_none()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Junit,
}

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

#[derive(Debug)]
pub enum Invocation {
    Check(Box<CheckConfig>),
    Help,
    Version,
}

/// The most runs `--repeat` accepts: a typo such as 1000000 should not tie up a CI runner.
pub const MAX_REPEAT: u32 = 10_000;

pub fn parse(args: &[OsString]) -> Result<Invocation, String> {
    let mut ready = Readiness::default();
    let mut ready_timeout = Duration::from_secs(30);
    let mut signal = Signal::TERM;
    let mut within = Duration::from_secs(10);
    let mut expect_exit = vec![0, 143];
    let mut allow_orphans = false;
    let mut repeat = 1;
    let mut format = Format::Text;

    let mut i = 0;
    while i < args.len() {
        let raw = args[i].as_encoded_bytes();
        if raw == b"--" {
            i += 1;
            break;
        }
        if raw.len() < 2 || raw[0] != b'-' {
            break;
        }
        let text = args[i]
            .to_str()
            .ok_or_else(|| format!("unknown option '{}'", args[i].to_string_lossy()))?;
        i += 1;
        if text == "-h" || text == "--help" {
            return Ok(Invocation::Help);
        }
        if text == "--version" {
            return Ok(Invocation::Version);
        }
        let Some(long) = text.strip_prefix("--") else {
            return Err(format!("unknown option '{text}'"));
        };
        let (name, inline) = match long.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (long, None),
        };
        if name == "allow-orphans" {
            if inline.is_some() {
                return Err("option '--allow-orphans' takes no value".to_owned());
            }
            allow_orphans = true;
            continue;
        }
        const VALUED: &[&str] = &[
            "ready-tcp",
            "ready-file",
            "ready-log",
            "ready-after",
            "ready-timeout",
            "signal",
            "within",
            "expect-exit",
            "repeat",
            "format",
        ];
        if !VALUED.contains(&name) {
            return Err(format!("unknown option '--{name}'"));
        }
        let value = match inline {
            Some(v) => v.to_owned(),
            None => {
                let v = args
                    .get(i)
                    .ok_or_else(|| format!("option '--{name}' needs a value"))?;
                i += 1;
                v.to_str()
                    .ok_or_else(|| format!("invalid value for '--{name}': not valid UTF-8"))?
                    .to_owned()
            }
        };
        let bad = |msg: String| format!("--{name}: {msg}");
        match name {
            "ready-tcp" => ready.tcp.push(parse_tcp_target(&value).map_err(bad)?),
            "ready-file" => {
                if value.is_empty() {
                    return Err(bad("empty path".to_owned()));
                }
                ready.files.push(PathBuf::from(value));
            }
            "ready-log" => {
                let regex = Regex::new(&value)
                    .map_err(|e| bad(format!("invalid regular expression '{value}': {}", one_line(&e))))?;
                ready.logs.push(LogPattern { text: value, regex });
            }
            "ready-after" => ready.after = Some(parse_duration(&value).map_err(bad)?),
            "ready-timeout" => ready_timeout = parse_duration(&value).map_err(bad)?,
            "signal" => signal = parse_stop_signal(&value).map_err(bad)?,
            "within" => within = parse_duration(&value).map_err(bad)?,
            "expect-exit" => expect_exit = parse_codes(&value).map_err(bad)?,
            "repeat" => repeat = parse_repeat(&value).map_err(bad)?,
            "format" => format = parse_format(&value).map_err(bad)?,
            _ => unreachable!("every name in VALUED is handled"),
        }
    }

    let command = args[i..].to_vec();
    if command.is_empty() {
        return Err("no command given".to_owned());
    }
    if ready.is_empty() {
        ready.after = Some(Duration::from_secs(1));
    }
    Ok(Invocation::Check(Box::new(CheckConfig {
        command,
        ready,
        ready_timeout,
        signal,
        within,
        expect_exit,
        allow_orphans,
        repeat,
        format,
    })))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn check(list: &[&str]) -> CheckConfig {
        match parse(&args(list)) {
            Ok(Invocation::Check(c)) => *c,
            other => panic!("{list:?}: {other:?}"),
        }
    }

    fn error(list: &[&str]) -> String {
        match parse(&args(list)) {
            Err(e) => e,
            other => panic!("{list:?} should fail: {other:?}"),
        }
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
            (vec!["-x", "app"], "unknown option '-x'"),
            (vec!["--within", "ten", "app"], "--within: invalid duration 'ten'"),
            (vec!["--signal", "KILL", "app"], "SIGKILL can not be used"),
            (vec!["--signal", "NOPE", "app"], "unknown signal"),
            (vec!["--expect-exit", "0,256", "app"], "invalid exit code '256'"),
            (vec!["--expect-exit", "", "app"], "invalid exit code ''"),
            (vec!["--repeat", "0", "app"], "invalid count '0'"),
            (vec!["--format", "xml", "app"], "invalid format 'xml'"),
            (vec!["--ready-log", "(", "app"], "invalid regular expression '('"),
            (vec!["--ready-tcp", "db:5432", "app"], "cannot use host 'db'"),
            (vec!["--allow-orphans=1", "app"], "takes no value"),
            (vec!["--within"], "needs a value"),
            (vec!["--within", "1s"], "no command given"),
            (vec![], "no command given"),
        ] {
            let err = error(&list);
            assert!(err.contains(needle), "{list:?}: {err}");
            assert!(!err.contains('\n'), "{list:?}: {err:?}");
        }
    }

    #[test]
    fn help_and_version() {
        assert!(matches!(parse(&args(&["--help"])), Ok(Invocation::Help)));
        assert!(matches!(parse(&args(&["-h", "app"])), Ok(Invocation::Help)));
        assert!(matches!(parse(&args(&["--version"])), Ok(Invocation::Version)));
        // After the command starts, everything belongs to the command.
        assert_eq!(check(&["app", "--help"]).command, args(&["app", "--help"]));
    }

    #[test]
    fn durations_shown_as_written() {
        assert_eq!(show_duration(Duration::from_secs(10)), "10s");
        assert_eq!(show_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(show_duration(Duration::from_millis(2500)), "2.5s");
    }
}
