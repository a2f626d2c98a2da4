//! pidone's own log lines on stderr, as text or JSON, at tini's verbosity levels.
//!
//! A small `log` backend instead of env_logger: no timestamps (the container runtime adds
//! them), no regex filters, and no panic when stderr is closed.

use crate::config::{LogFormat, Verbosity};
use crate::report::json_string;
use log::{Level, LevelFilter, Log, Metadata, Record};

struct Logger {
    format: LogFormat,
}

/// tini's numbering: 0 nothing, 1 errors and warnings, 2 info, 3 debug, 4+ trace.
pub fn level_for(verbosity: Verbosity) -> LevelFilter {
    match verbosity {
        0 => LevelFilter::Off,
        1 => LevelFilter::Warn,
        2 => LevelFilter::Info,
        3 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

/// Installs the logger once; later calls keep the first.
pub fn init(verbosity: Verbosity, format: LogFormat) {
    let logger: &'static Logger = Box::leak(Box::new(Logger { format }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level_for(verbosity));
    }
}

pub fn format_line(format: LogFormat, level: Level, message: &str) -> String {
    match format {
        LogFormat::Text => {
            let label = match level {
                Level::Error => "error",
                Level::Warn => "warning",
                Level::Info => "info",
                Level::Debug => "debug",
                Level::Trace => "trace",
            };
            format!("pidone: {label}: {message}\n")
        }
        LogFormat::Json => {
            let mut line = format!("{{\"level\":\"{}\",\"msg\":", level.as_str().to_ascii_lowercase());
            json_string(&mut line, message);
            line.push_str("}\n");
            line
        }
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            let line = format_line(self.format, record.level(), &record.args().to_string());
            crate::os::write_stderr(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(
            format_line(LogFormat::Text, Level::Warn, "x"),
            "pidone: warning: x\n"
        );
        assert_eq!(
            format_line(LogFormat::Json, Level::Warn, "a \"b\""),
            "{\"level\":\"warn\",\"msg\":\"a \\\"b\\\"\"}\n"
        );
        assert_eq!(level_for(0), LevelFilter::Off);
        assert_eq!(level_for(1), LevelFilter::Warn);
        assert_eq!(level_for(9), LevelFilter::Trace);
    }
}
