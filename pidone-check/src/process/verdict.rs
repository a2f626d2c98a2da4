//! What one run observed, and the verdict on it (SPEC §6). Pure.

use crate::options::{CheckConfig, show_duration};
use pidone::report::{Cause, ExitReport, Proc};
use pidone::signal::Signal;
use pidone::supervisor::ChildStatus;
use std::time::Duration;

/// Everything pidone-check saw during one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// From the start to the moment every readiness probe held; None if that never happened.
    pub ready_after: Option<Duration>,
    /// Probes that had not held at the readiness timeout (empty when ready, or when the
    /// application exited first).
    pub not_ready: Vec<String>,
    /// The stop signal was sent (not when the application had already exited).
    pub signal_sent: bool,
    /// From the stop signal to the end of the shutdown (everything reaped).
    pub stop_time: Option<Duration>,
    /// The supervisor's report.
    pub report: ExitReport,
    /// Processes still alive after the supervisor exited, which pidone-check killed itself.
    pub escaped: Vec<Proc>,
    /// Zombies left behind when the supervisor had exited.
    pub zombies_left: u32,
    /// The supervisor had to be killed because it did not finish in time.
    pub supervisor_hung: bool,
    /// pidone-check itself got this signal (a cancelled CI job) and killed everything.
    pub cancelled: Option<Signal>,
    /// From the start to the end of the run.
    pub total: Duration,
}

impl Outcome {
    pub fn exit_code(&self) -> i32 {
        self.report.child.code()
    }
}

/// The exit code in words: "0", "143 (SIGTERM)".
pub fn show_exit(child: ChildStatus) -> String {
    match child {
        ChildStatus::Exited(code) => code.to_string(),
        ChildStatus::Signaled(sig) => format!("{} ({sig})", child.code()),
    }
}

/// A measured time: `85ms` below a second, `2.00s` above.
pub fn show_elapsed(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

/// "12 (app), 13 (worker)", bounded for a long list.
pub fn show_procs(procs: &[Proc]) -> String {
    pidone::report::list_procs(procs)
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}es")
    }
}

/// Every reason this run failed, in words; empty means it passed.
pub fn judge(config: &CheckConfig, o: &Outcome) -> Vec<String> {
    let mut reasons = Vec::new();
    let sig: Signal = config.signal;
    let r = &o.report;
    if let Some(got) = o.cancelled {
        // Nothing else is known for sure: the run was cut short.
        return vec![format!(
            "cancelled: pidone-check got {got} and killed the application"
        )];
    }

    if o.ready_after.is_none() {
        if o.signal_sent {
            reasons.push(format!(
                "not ready within {}: {}",
                show_duration(config.ready_timeout),
                o.not_ready.join("; ")
            ));
        } else {
            reasons.push(format!(
                "exited before it was ready, with exit code {}",
                show_exit(r.child)
            ));
        }
    } else if !o.signal_sent {
        reasons.push(format!(
            "exited on its own before the stop signal, with exit code {}",
            show_exit(r.child)
        ));
    }

    if o.signal_sent {
        let took = o
            .stop_time
            .map_or(String::new(), |t| format!(" (took {})", show_elapsed(t)));
        if r.cause == Cause::GraceExpired || o.stop_time.is_none_or(|t| t > config.within) {
            reasons.push(format!(
                "did not stop within {} of {sig}{took}",
                show_duration(config.within)
            ));
        }
        // After a grace expiry the exit code is pidone's SIGKILL, already reported above.
        if r.cause != Cause::GraceExpired
            && !u8::try_from(o.exit_code()).is_ok_and(|c| config.expect_exit.contains(&c))
        {
            let expected: Vec<String> = config.expect_exit.iter().map(u8::to_string).collect();
            reasons.push(format!(
                "exit code {} is not accepted (expected {})",
                show_exit(r.child),
                expected.join(",")
            ));
        }
    }
    if !r.killed.is_empty() {
        reasons.push(format!(
            "had to SIGKILL {}: {}",
            count(r.killed.len(), "process"),
            show_procs(&r.killed)
        ));
    }
    if !r.terminated.is_empty() && !config.allow_orphans {
        reasons.push(format!(
            "left {} running after the main process exited (pidone sent them SIGTERM): {}",
            count(r.terminated.len(), "process"),
            show_procs(&r.terminated)
        ));
    }
    if !o.escaped.is_empty() {
        reasons.push(format!(
            "{} still running after the supervisor exited: {}",
            count(o.escaped.len(), "process"),
            show_procs(&o.escaped)
        ));
    }
    if o.zombies_left > 0 {
        reasons.push(format!("left {} zombie(s)", o.zombies_left));
    }
    if o.supervisor_hung {
        reasons.push("the supervisor did not finish and was killed".to_owned());
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &[&str]) -> CheckConfig {
        crate::options::testing::check(&[extra, &["app"]].concat())
    }

    fn clean() -> Outcome {
        Outcome {
            ready_after: Some(Duration::from_millis(200)),
            not_ready: vec![],
            signal_sent: true,
            stop_time: Some(Duration::from_millis(100)),
            report: ExitReport {
                exit_code: 0,
                child: ChildStatus::Exited(0),
                cause: Cause::StopSignal,
                stop_signal: Some(Signal::TERM),
                stop_duration: Some(Duration::from_millis(100)),
                reaped: 0,
                terminated: vec![],
                killed: vec![],
            },
            escaped: vec![],
            zombies_left: 0,
            supervisor_hung: false,
            cancelled: None,
            total: Duration::from_millis(300),
        }
    }

    fn proc(pid: i32, comm: &str) -> Proc {
        Proc {
            pid,
            comm: comm.into(),
        }
    }

    #[test]
    fn a_clean_stop_passes() {
        assert_eq!(judge(&config(&[]), &clean()), Vec::<String>::new());
        let mut o = clean();
        o.report.child = ChildStatus::Signaled(Signal::TERM);
        assert_eq!(
            judge(&config(&[]), &o),
            Vec::<String>::new(),
            "143 is accepted by default"
        );
    }

    #[test]
    fn slow_stops_fail_the_budget() {
        let mut o = clean();
        o.stop_time = Some(Duration::from_millis(1500));
        assert_eq!(judge(&config(&["--within", "2s"]), &o), Vec::<String>::new());
        assert_eq!(
            judge(&config(&["--within", "1s"]), &o),
            vec!["did not stop within 1s of SIGTERM (took 1.50s)"]
        );
    }

    #[test]
    fn a_kill_names_every_process_and_skips_the_exit_code() {
        let mut o = clean();
        o.report.cause = Cause::GraceExpired;
        o.report.child = ChildStatus::Signaled(Signal::KILL);
        o.report.killed = vec![proc(10, "ignore_term"), proc(11, "sh")];
        o.stop_time = Some(Duration::from_millis(2004));
        assert_eq!(
            judge(&config(&["--within", "2s"]), &o),
            vec![
                "did not stop within 2s of SIGTERM (took 2.00s)",
                "had to SIGKILL 2 processes: 10 (ignore_term), 11 (sh)"
            ]
        );
    }

    #[test]
    fn exit_codes_must_be_accepted() {
        let mut o = clean();
        o.report.child = ChildStatus::Exited(1);
        assert_eq!(
            judge(&config(&[]), &o),
            vec!["exit code 1 is not accepted (expected 0,143)"]
        );
        assert!(judge(&config(&["--expect-exit", "0,1"]), &o).is_empty());
        o.report.child = ChildStatus::Signaled(Signal::INT);
        assert_eq!(
            judge(&config(&[]), &o),
            vec!["exit code 130 (SIGINT) is not accepted (expected 0,143)"]
        );
    }

    #[test]
    fn orphans_fail_unless_allowed() {
        let mut o = clean();
        o.report.terminated = vec![proc(20, "worker")];
        assert_eq!(
            judge(&config(&[]), &o),
            vec![
                "left 1 process running after the main process exited (pidone sent them SIGTERM): 20 (worker)"
            ]
        );
        assert!(judge(&config(&["--allow-orphans"]), &o).is_empty());
        // An orphan that also ignored the SIGTERM is a kill, allowed or not.
        o.report.killed = vec![proc(20, "worker")];
        assert_eq!(judge(&config(&["--allow-orphans"]), &o).len(), 1);
    }

    #[test]
    fn readiness_failures() {
        let mut o = clean();
        o.ready_after = None;
        o.not_ready = vec!["no file /tmp/r".into(), "no TCP connection to :80".into()];
        assert_eq!(
            judge(&config(&["--ready-timeout", "500ms"]), &o),
            vec!["not ready within 500ms: no file /tmp/r; no TCP connection to :80"]
        );
        o.signal_sent = false;
        o.stop_time = None;
        o.report.cause = Cause::Exited;
        o.report.child = ChildStatus::Exited(3);
        assert_eq!(
            judge(&config(&[]), &o),
            vec!["exited before it was ready, with exit code 3"]
        );
        o.ready_after = Some(Duration::from_secs(1));
        assert_eq!(
            judge(&config(&[]), &o),
            vec!["exited on its own before the stop signal, with exit code 3"]
        );
    }

    #[test]
    fn a_cancelled_run_says_so_and_nothing_else() {
        let mut o = clean();
        o.cancelled = Some(Signal::TERM);
        o.stop_time = None;
        assert_eq!(
            judge(&config(&[]), &o),
            vec!["cancelled: pidone-check got SIGTERM and killed the application"]
        );
    }

    #[test]
    fn leftovers_zombies_and_a_hung_supervisor() {
        let mut o = clean();
        o.escaped = vec![proc(30, "x")];
        o.zombies_left = 2;
        o.supervisor_hung = true;
        assert_eq!(
            judge(&config(&[]), &o),
            vec![
                "1 process still running after the supervisor exited: 30 (x)",
                "left 2 zombie(s)",
                "the supervisor did not finish and was killed"
            ]
        );
    }
}
