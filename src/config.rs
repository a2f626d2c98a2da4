//! The resolved configuration pidone runs with, and the value types it is made of.
//!
//! Everything is parsed and validated here before any child exists (SPEC §2.1).

use crate::signal::{RewriteMap, Signal, SignalSet};
use std::ffi::OsString;
use std::time::Duration;

/// The longest duration accepted: far beyond any useful grace, small enough that adding it to
/// a monotonic clock reading can never overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// How long the application gets after a stop signal before everything is SIGKILLed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grace {
    After(Duration),
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Auto,
    Text,
    Json,
    Off,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Log verbosity in tini's numbering: 0 silent, 1 errors and warnings (default), 2 info,
/// 3 debug, 4 and more trace.
pub type Verbosity = u32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub command: Vec<OsString>,
    pub subreaper: bool,
    pub kill_process_group: bool,
    /// Child exit codes (after the 128+signal mapping) reported as 0.
    pub success_codes: Vec<u8>,
    pub parent_death_signal: Option<Signal>,
    pub verbosity: Verbosity,
    pub warn_on_reap: bool,
    pub grace: Grace,
    pub cleanup_grace: Duration,
    pub stop_delay: Duration,
    pub stop_signals: SignalSet,
    pub rewrite: RewriteMap,
    pub report: ReportFormat,
    pub log_format: LogFormat,
    /// `PIDONE_LOG`: an env_logger filter that replaces `verbosity` when set.
    pub log_filter: Option<String>,
}

impl Config {
    /// The defaults of SPEC §1 around a command.
    pub fn new(command: Vec<OsString>) -> Config {
        Config {
            command,
            subreaper: false,
            kill_process_group: false,
            success_codes: Vec::new(),
            parent_death_signal: None,
            verbosity: 1,
            warn_on_reap: false,
            grace: Grace::After(Duration::from_secs(10)),
            cleanup_grace: Duration::from_secs(2),
            stop_delay: Duration::ZERO,
            stop_signals: [Signal::TERM, Signal::INT].into_iter().collect(),
            rewrite: RewriteMap::default(),
            report: ReportFormat::Auto,
            log_format: LogFormat::Text,
            log_filter: None,
        }
    }

    /// The exit code pidone reports for a child exit code, after `-e`.
    pub fn map_exit_code(&self, code: i32) -> i32 {
        match u8::try_from(code) {
            Ok(c) if self.success_codes.contains(&c) => 0,
            _ => code,
        }
    }
}

/// Parses `500ms`, `10s`, `1m`, `1.5s`, `2h` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration '{text}' (use e.g. 500ms, 10s, 1.5s, 1m or a number of seconds)");
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale_ns: u128 = match unit {
        "" | "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(bad()),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(bad());
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    // Fixed-point arithmetic in nanoseconds: no float rounding surprises, no overflow panics.
    let too_long = || format!("duration '{text}' is too long (at most 100 years)");
    let whole_value: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse::<u128>().map_err(|_| too_long())?
    };
    let mut nanos = whole_value.checked_mul(scale_ns).ok_or_else(too_long)?;
    let mut unit_ns = scale_ns;
    for digit in fraction.bytes() {
        unit_ns /= 10;
        if unit_ns == 0 {
            break;
        }
        // Checked: a whole part just below u128::MAX ns plus a fraction would wrap.
        nanos = nanos
            .checked_add(u128::from(digit - b'0') * unit_ns)
            .ok_or_else(too_long)?;
    }
    if nanos > MAX_DURATION.as_nanos() {
        return Err(too_long());
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| too_long())?;
    // The remainder is below 10^9 and always fits.
    let sub = (nanos % 1_000_000_000) as u32;
    Ok(Duration::new(secs, sub))
}

/// `--grace`: a duration, or `none` for never.
pub fn parse_grace(text: &str) -> Result<Grace, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(Grace::Never);
    }
    parse_duration(text).map(Grace::After)
}

pub fn parse_report(text: &str) -> Result<ReportFormat, String> {
    match text.to_ascii_lowercase().as_str() {
        "auto" => Ok(ReportFormat::Auto),
        "text" => Ok(ReportFormat::Text),
        "json" => Ok(ReportFormat::Json),
        "off" => Ok(ReportFormat::Off),
        _ => Err(format!(
            "invalid report format '{text}' (use auto, text, json or off)"
        )),
    }
}

pub fn parse_log_format(text: &str) -> Result<LogFormat, String> {
    match text.to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!("invalid log format '{text}' (use text or json)")),
    }
}

/// `PIDONE_LOG`: a filter in env_logger's syntax (`debug`, `warn`, `pidone=trace`), checked
/// here so that a bad one is a usage error before anything starts. Empty means unset.
pub fn parse_log_filter(text: &str) -> Result<Option<String>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    env_filter::Builder::new()
        .try_parse(text)
        .map_err(|e| e.to_string())?;
    Ok(Some(text.to_owned()))
}

/// `-e CODE`: decimal 0-255 only.
pub fn parse_exit_code(text: &str) -> Result<u8, String> {
    let bad = || format!("invalid exit code '{text}' (use a decimal number from 0 to 255)");
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse::<u8>().map_err(|_| bad())
}

/// `TINI_VERBOSITY`, read the way tini reads it (`atoi`): leading blanks, an optional sign,
/// the digits that follow; anything else counts as 0. An image that sets it to "" or "yes"
/// starts under tini, so it must start under pidone too. Negative means silent, as in tini.
pub fn parse_verbosity(text: &str) -> Verbosity {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let value = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0u32, |acc, d| {
            acc.saturating_mul(10).saturating_add(u32::from(d - b'0'))
        });
    if negative { 0 } else { value }
}

/// "10s", "1.5s", "250ms": durations as a user writes them.
pub fn human_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) && d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", d.as_millis())
    } else {
        let seconds = format!("{:.3}", d.as_secs_f64());
        format!("{}s", seconds.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        assert_eq!(human_duration(Duration::from_secs(10)), "10s");
        assert_eq!(human_duration(Duration::ZERO), "0s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration(".5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.0000000001s"), Ok(Duration::from_secs(1)));
        for bad in [
            "",
            "s",
            ".",
            "-1",
            "1x",
            "1 s",
            "1.2.3",
            "ten",
            "1e3",
            "99999999999999999999999999999999999999999999",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("3153600001").is_err());
    }

    #[test]
    fn grace_and_formats() {
        assert_eq!(parse_grace("none"), Ok(Grace::Never));
        assert_eq!(parse_grace("0"), Ok(Grace::After(Duration::ZERO)));
        assert_eq!(parse_report("JSON"), Ok(ReportFormat::Json));
        assert!(parse_report("xml").is_err());
        assert_eq!(parse_log_format("json"), Ok(LogFormat::Json));
        assert!(parse_log_format("yaml").is_err());
    }

    #[test]
    fn verbosity_reads_like_atoi() {
        assert_eq!(parse_verbosity("3"), 3);
        assert_eq!(parse_verbosity(" +2x"), 2);
        assert_eq!(parse_verbosity(""), 0);
        assert_eq!(parse_verbosity("yes"), 0);
        assert_eq!(parse_verbosity("-1"), 0);
        assert_eq!(parse_verbosity("99999999999999"), u32::MAX);
    }

    #[test]
    fn log_filters_use_env_logger_syntax() {
        for good in [
            "debug",
            "WARN",
            "pidone=trace",
            "warn,pidone::os=debug",
            "off",
            "pidone",
        ] {
            assert_eq!(parse_log_filter(good), Ok(Some(good.to_owned())), "{good}");
        }
        assert_eq!(parse_log_filter(""), Ok(None));
        assert_eq!(parse_log_filter(" "), Ok(None));
        for bad in ["pidone=loud", "a/b/c", "a=b=c"] {
            assert!(parse_log_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exit_codes_and_mapping() {
        assert_eq!(parse_exit_code("143"), Ok(143));
        assert_eq!(parse_exit_code("0"), Ok(0));
        for bad in ["256", "-1", "0x10", "", "1000", " 1"] {
            assert!(parse_exit_code(bad).is_err(), "{bad}");
        }
        let mut config = Config::new(vec![]);
        config.success_codes = vec![143, 2];
        assert_eq!(config.map_exit_code(143), 0);
        assert_eq!(config.map_exit_code(2), 0);
        assert_eq!(config.map_exit_code(1), 1);
        assert_eq!(config.map_exit_code(399), 399);
    }
}
