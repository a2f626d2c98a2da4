//! pidone's own log lines on stderr, as text or JSON, at tini's verbosity levels or through
//! an env_logger filter (`PIDONE_LOG`).
//!
//! env_logger is the backend, with pidone's line format (no timestamps: the container runtime
//! adds them) through its format hook. It is built without reading any variable itself:
//! `RUST_LOG` belongs to the application. A write error (stderr closed) is ignored.

use crate::config::{LogFormat, Verbosity};
use crate::report::json_string;
use log::{Level, LevelFilter};
use std::io::Write;

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

/// Installs the logger once at a tini verbosity; later calls keep the first.
pub fn init(verbosity: Verbosity, format: LogFormat) {
    init_filtered(verbosity, format, None);
}

/// Installs the logger once; `filter` (env_logger syntax, checked by
/// [`crate::config::parse_log_filter`]) replaces `verbosity` when given.
pub fn init_filtered(verbosity: Verbosity, format: LogFormat, filter: Option<&str>) {
    let mut builder = env_logger::Builder::new();
    match filter {
        Some(filter) => builder.parse_filters(filter),
        None => builder.filter_level(level_for(verbosity)),
    };
    builder
        .target(env_logger::Target::Stderr)
        .write_style(env_logger::WriteStyle::Never)
        .format(move |buf, record| {
            let line = format_line(format, record.level(), &record.args().to_string());
            buf.write_all(line.as_bytes())
        });
    let _ = builder.try_init();
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
