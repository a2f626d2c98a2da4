//! The exit report (SPEC §5): what ended the run, formatted as one text or JSON line. Pure.

use crate::config::ReportFormat;
use crate::supervisor::ChildStatus;
use std::fmt::Write as _;
use std::time::Duration;

/// A process pidone signalled during shutdown: its pid and command name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    pub comm: String,
}

/// Why the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The main child exited on its own.
    Exited,
    /// The main child exited after a stop signal, within the grace.
    StopSignal,
    /// The grace ran out and pidone SIGKILLed it.
    GraceExpired,
    /// The command could not be executed.
    ExecFailed,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Exited => "exited",
            Cause::StopSignal => "stop_signal",
            Cause::GraceExpired => "grace_expired",
            Cause::ExecFailed => "exec_failed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitReport {
    /// What pidone exits with, after `-e`.
    pub exit_code: i32,
    pub child: ChildStatus,
    pub cause: Cause,
    pub stop_signal: Option<crate::signal::Signal>,
    /// From receipt of the first stop signal to exit.
    pub stop_duration: Option<Duration>,
    /// Zombies reaped other than the main child.
    pub reaped: u64,
    pub terminated: Vec<Proc>,
    pub killed: Vec<Proc>,
}

impl ExitReport {
    /// The line to print for `format`, or None when nothing is to be printed.
    pub fn render(&self, format: ReportFormat) -> Option<String> {
        match format {
            ReportFormat::Off => None,
            ReportFormat::Auto if !self.is_eventful() => None,
            ReportFormat::Auto | ReportFormat::Text => Some(self.text()),
            ReportFormat::Json => Some(self.json()),
        }
    }

    /// `auto` speaks only when a stop signal arrived or pidone had to terminate or kill.
    fn is_eventful(&self) -> bool {
        self.stop_signal.is_some() || !self.terminated.is_empty() || !self.killed.is_empty()
    }

    pub fn text(&self) -> String {
        let mut line = format!("pidone: exit {} (", self.exit_code);
        match (self.cause, self.child) {
            (Cause::ExecFailed, _) => line.push_str("command could not be run"),
            (_, child) => {
                let _ = write!(line, "child {child}");
            }
        }
        line.push(')');
        if let Some(sig) = self.stop_signal {
            // A stop signal that only arrived during the cleanup did not end the child.
            match self.cause {
                Cause::StopSignal | Cause::GraceExpired => {
                    let _ = write!(line, " after stop signal {sig}");
                }
                Cause::Exited => {
                    let _ = write!(line, "; stop signal {sig} during cleanup");
                }
                Cause::ExecFailed => {
                    let _ = write!(line, "; stop signal {sig} received");
                }
            }
            if self.cause == Cause::GraceExpired {
                line.push_str("; grace expired");
            }
            if let Some(d) = self.stop_duration {
                let _ = write!(line, "; stopped in {:.2}s", d.as_secs_f64());
            }
        }
        let _ = write!(line, "; reaped {}", self.reaped);
        if !self.terminated.is_empty() {
            let _ = write!(line, "; terminated {}", self.terminated.len());
        }
        let _ = write!(line, "; killed {}", self.killed.len());
        line
    }

    pub fn json(&self) -> String {
        let child = match self.child {
            ChildStatus::Exited(code) => format!("{{\"exited\":{code}}}"),
            ChildStatus::Signaled(sig) => format!("{{\"signaled\":\"{sig}\"}}"),
        };
        let stop_signal = self.stop_signal.map_or("null".to_owned(), |s| format!("\"{s}\""));
        let stop_ms = self
            .stop_duration
            .map_or("null".to_owned(), |d| d.as_millis().to_string());
        format!(
            "{{\"exit_code\":{},\"child\":{child},\"cause\":\"{}\",\"stop_signal\":{stop_signal},\"stop_duration_ms\":{stop_ms},\"reaped\":{},\"terminated\":{},\"killed\":{}}}",
            self.exit_code,
            self.cause.as_str(),
            self.reaped,
            procs_json(&self.terminated),
            procs_json(&self.killed),
        )
    }
}

fn procs_json(procs: &[Proc]) -> String {
    let mut out = String::from("[");
    for (i, p) in procs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"pid\":{},\"comm\":", p.pid);
        json_string(&mut out, &p.comm);
        out.push('}');
    }
    out.push(']');
    out
}

/// How many entries a text line names at most; the JSON report keeps every process.
pub const TEXT_PROC_LIMIT: usize = 10;

/// "2 processes: 12 (app), 13 (worker)", bounded like [`list_procs`].
pub fn describe_procs(procs: &[Proc]) -> String {
    let noun = if procs.len() == 1 { "process" } else { "processes" };
    format!("{} {noun}: {}", procs.len(), list_procs(procs))
}

/// "12 (app), 13 (worker)": every process while they are at most [`TEXT_PROC_LIMIT`], so a
/// log line stays short however many there are (log drivers split or cut long lines). Beyond
/// that, one entry per command name, "7 (sh)" for a name one process has and "worker ×9850"
/// for one many share: the [`TEXT_PROC_LIMIT`] most common names (ties: first seen), in the
/// order first seen, then "... and N more" for the processes of the names left out. Names
/// are escaped: a process picks its own and must not break the line.
pub fn list_procs(procs: &[Proc]) -> String {
    let entries: Vec<String> = if procs.len() <= TEXT_PROC_LIMIT {
        let named = procs.iter();
        named
            .map(|p| format!("{} ({})", p.pid, crate::cli::escape_controls(&p.comm)))
            .collect()
    } else {
        // (first index, first pid, name, count), in the order first seen.
        let mut groups: Vec<(usize, i32, &str, usize)> = Vec::new();
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, p) in procs.iter().enumerate() {
            match index.get(p.comm.as_str()) {
                Some(&g) => groups[g].3 += 1,
                None => {
                    index.insert(&p.comm, groups.len());
                    groups.push((i, p.pid, &p.comm, 1));
                }
            }
        }
        groups.sort_by_key(|g| (std::cmp::Reverse(g.3), g.0));
        let left_out: usize = groups.iter().skip(TEXT_PROC_LIMIT).map(|g| g.3).sum();
        groups.truncate(TEXT_PROC_LIMIT);
        groups.sort_by_key(|g| g.0);
        let mut entries: Vec<String> = groups
            .iter()
            .map(|&(_, pid, name, n)| match n {
                1 => format!("{pid} ({})", crate::cli::escape_controls(name)),
                n => format!("{} ×{n}", crate::cli::escape_controls(name)),
            })
            .collect();
        if left_out > 0 {
            entries.push(format!("... and {left_out} more"));
        }
        entries
    };
    entries.join(", ")
}

/// Appends `s` as a JSON string literal.
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::Signal;

    fn stopped() -> ExitReport {
        ExitReport {
            exit_code: 143,
            child: ChildStatus::Signaled(Signal::TERM),
            cause: Cause::StopSignal,
            stop_signal: Some(Signal::TERM),
            stop_duration: Some(Duration::from_millis(410)),
            reaped: 3,
            terminated: vec![],
            killed: vec![],
        }
    }

    #[test]
    fn text_matches_the_spec_example() {
        assert_eq!(
            stopped().text(),
            "pidone: exit 143 (child killed by SIGTERM) after stop signal SIGTERM; stopped in 0.41s; reaped 3; killed 0"
        );
    }

    #[test]
    fn json_has_every_field() {
        let mut r = stopped();
        r.killed = vec![Proc {
            pid: 7,
            comm: "we\"ird\\\u{1}".into(),
        }];
        assert_eq!(
            r.json(),
            r#"{"exit_code":143,"child":{"signaled":"SIGTERM"},"cause":"stop_signal","stop_signal":"SIGTERM","stop_duration_ms":410,"reaped":3,"terminated":[],"killed":[{"pid":7,"comm":"we\"ird\\\u0001"}]}"#
        );
        let quiet = ExitReport {
            exit_code: 0,
            child: ChildStatus::Exited(0),
            cause: Cause::Exited,
            stop_signal: None,
            stop_duration: None,
            reaped: 0,
            terminated: vec![],
            killed: vec![],
        };
        assert_eq!(
            quiet.json(),
            r#"{"exit_code":0,"child":{"exited":0},"cause":"exited","stop_signal":null,"stop_duration_ms":null,"reaped":0,"terminated":[],"killed":[]}"#
        );
    }

    #[test]
    fn auto_is_silent_unless_something_happened() {
        let mut r = stopped();
        assert!(r.render(ReportFormat::Auto).is_some());
        r.stop_signal = None;
        r.stop_duration = None;
        assert_eq!(r.render(ReportFormat::Auto), None);
        assert!(r.render(ReportFormat::Text).is_some());
        assert_eq!(r.render(ReportFormat::Off), None);
        r.terminated = vec![Proc {
            pid: 1,
            comm: "x".into(),
        }];
        assert!(r.render(ReportFormat::Auto).unwrap().contains("terminated 1"));
    }

    fn procs(names: &[&str]) -> Vec<Proc> {
        let named = names.iter().enumerate();
        named
            .map(|(i, n)| Proc {
                pid: i as i32 + 2,
                comm: (*n).into(),
            })
            .collect()
    }

    #[test]
    fn a_few_processes_are_each_named() {
        assert_eq!(describe_procs(&procs(&["app"])), "1 process: 2 (app)");
        let ten = procs(&["app", "w", "w", "w", "w", "w", "w", "w", "w", "w"]);
        assert_eq!(
            describe_procs(&ten),
            "10 processes: 2 (app), 3 (w), 4 (w), 5 (w), 6 (w), 7 (w), 8 (w), 9 (w), 10 (w), 11 (w)"
        );
    }

    #[test]
    fn more_than_ten_are_counted_by_name() {
        let eleven = procs(&["app", "w", "w", "w", "w", "w", "w", "w", "w", "w", "sh"]);
        assert_eq!(describe_procs(&eleven), "11 processes: 2 (app), w ×9, 12 (sh)");
        // Eleven names: the ten most common (ties: first seen) in the order first seen.
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "k"];
        assert_eq!(
            list_procs(&procs(&names)),
            "2 (a), 3 (b), 4 (c), 5 (d), 6 (e), 7 (f), 8 (g), 9 (h), 10 (i), k ×2, ... and 1 more"
        );
    }

    #[test]
    fn thousands_make_a_short_line() {
        let mut names = vec!["sh"];
        names.extend(std::iter::repeat_n("worker", 9850));
        names.extend((0..30).map(|i| ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"][i % 10]));
        names.push("bad\nname");
        names.extend(std::iter::repeat_n("cron", 3));
        let line = describe_procs(&procs(&names));
        assert!(line.len() < 300, "{line}");
        // The top ten: worker, then p0..p8 of the eleven names tied at 3 (first seen first);
        // p9, cron, sh and the bad name are left out.
        assert_eq!(
            line,
            "9885 processes: worker ×9850, p0 ×3, p1 ×3, p2 ×3, p3 ×3, \
             p4 ×3, p5 ×3, p6 ×3, p7 ×3, p8 ×3, ... and 8 more"
        );
        // Deterministic: the same list gives the same line.
        assert_eq!(line, describe_procs(&procs(&names)));
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(list_procs(&procs(&["a\nb\u{1b}"])), "2 (a\\nb\\u{1b})");
        let mut names = vec!["x\ty"; 11];
        names.push("z");
        assert_eq!(list_procs(&procs(&names)), "x\\ty ×11, 13 (z)");
    }

    #[test]
    fn grace_expiry_and_exec_failure_text() {
        let mut r = stopped();
        r.exit_code = 137;
        r.child = ChildStatus::Signaled(Signal::KILL);
        r.cause = Cause::GraceExpired;
        r.killed = vec![Proc {
            pid: 2,
            comm: "app".into(),
        }];
        assert_eq!(
            r.text(),
            "pidone: exit 137 (child killed by SIGKILL) after stop signal SIGTERM; grace expired; stopped in 0.41s; reaped 3; killed 1"
        );
        r.cause = Cause::Exited;
        r.child = ChildStatus::Exited(0);
        r.exit_code = 0;
        assert_eq!(
            r.text(),
            "pidone: exit 0 (child exited 0); stop signal SIGTERM during cleanup; stopped in 0.41s; reaped 3; killed 1"
        );
        r.cause = Cause::ExecFailed;
        r.stop_signal = None;
        r.exit_code = 127;
        assert!(
            r.text()
                .starts_with("pidone: exit 127 (command could not be run)")
        );
    }
}
