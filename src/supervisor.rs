//! The supervisor: every decision pidone makes, as a state machine without syscalls.
//!
//! It is fed [`Event`]s (a signal arrived, a child was reaped, the deadline passed) with the
//! time they were seen, and answers with [`Action`]s for the OS layer to carry out. It never
//! reads the clock or touches a process itself, so unit tests drive every rule of SPEC §3–§5.
//!
//! Phases follow the spec: `Running → (StopHeld →) Stopping → Killing` while the main child
//! lives, `Cleaning` once it has exited and others remain, then `Done`.

use crate::config::{Config, Grace, human_duration};
use crate::report::{Cause, ExitReport, Proc};
use crate::signal::{RewriteTarget, Signal};
use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, Instant};

/// How long pidone waits for the reaping after a SIGKILL before it looks again. Processes it
/// found get SIGKILL again and are waited for (a big address space or an uninterruptible
/// sleep can take a while to die); when it could not list them all (no usable /proc, and a
/// leftover outside the child's process group) it exits without them instead of waiting for ever.
pub const KILL_REAP_LIMIT: Duration = Duration::from_secs(1);

/// How a child ended, as `waitpid` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildStatus {
    Exited(i32),
    Signaled(Signal),
}

impl ChildStatus {
    /// The shell convention: the exit code, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            ChildStatus::Exited(code) => code,
            ChildStatus::Signaled(sig) => 128 + sig.raw(),
        }
    }
}

/// In words, for log lines and reports: `exited 0`, `killed by SIGKILL`.
impl fmt::Display for ChildStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildStatus::Exited(code) => write!(f, "exited {code}"),
            ChildStatus::Signaled(sig) => write!(f, "killed by {sig}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A signal pidone received (SIGCHLD is turned into `Reaped`/`ReapDone` by the OS layer).
    Signal(Signal),
    /// A child was reaped.
    Reaped { pid: i32, status: ChildStatus },
    /// A reaping pass ended; `children_left` is false once `waitpid` says ECHILD.
    ReapDone { children_left: bool },
    /// The instant given by [`Supervisor::deadline`] has passed.
    Timer,
    /// The command could not be executed; its exit status still arrives as `Reaped`.
    ExecFailed,
}

/// Where a forwarded signal goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The main child (through its pidfd).
    Child,
    /// The main child's process group (`-g`).
    Group,
}

/// Why every remaining process is being SIGKILLed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillReason {
    /// The grace after a stop signal ran out while the main child was still running.
    GraceExpired,
    /// The cleanup grace after the main child exited ran out.
    CleanupExpired,
    /// Processes were still alive [`KILL_REAP_LIMIT`] after the last SIGKILL.
    StillAlive,
    /// A stop signal arrived during the cleanup.
    StopDuringCleanup,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send a signal to the main child or its group.
    Deliver { sig: Signal, to: Target },
    /// SIGTERM (then SIGCONT, so stopped ones see it) to every remaining descendant.
    TerminateRemaining,
    /// SIGKILL to every remaining descendant.
    KillRemaining(KillReason),
    /// Everything is reaped: report and exit.
    Exit(ExitReport),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Running,
    /// A stop signal is held back by `--stop-delay` until `deliver_at`.
    StopHeld {
        sig: Signal,
        deliver_at: Instant,
    },
    /// The stop signal was delivered; `deadline` is the end of the grace (None: no grace limit).
    Stopping {
        deadline: Option<Instant>,
    },
    /// The grace expired and everything got SIGKILL; waiting to reap it all.
    Killing,
    /// The main child is gone and others remain; they get SIGKILL at `deadline` (None once sent).
    Cleaning {
        deadline: Option<Instant>,
    },
    Done,
}

pub struct Supervisor {
    main_pid: i32,
    config: Config,

    phase: Phase,
    main_status: Option<ChildStatus>,
    first_stop: Option<(Signal, Instant)>,
    stopped_before_exit: bool,
    grace_deadline: Option<Instant>,
    grace_expired: bool,
    exec_failed: bool,
    reaped_others: u64,
    terminated: Vec<Proc>,
    killed: Vec<Proc>,
    /// When the last `KillRemaining` was issued.
    killed_at: Option<Instant>,
    /// Whether the OS layer could list every descendant at the last SIGKILL.
    kill_reached_all: bool,
    /// Set by [`Supervisor::on_signal_unstamped`] until [`Supervisor::stamp`]: the times as
    /// they were before, and the provisional time the signals were decided at.
    unstamped: Option<(Times, Instant)>,
}

/// Every time a signal can start: compared before and after, to find those `stamp` moves.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Times {
    phase: Phase,
    first_stop: Option<(Signal, Instant)>,
    grace_deadline: Option<Instant>,
    killed_at: Option<Instant>,
}

impl Supervisor {
    pub fn new(config: &Config, main_pid: i32) -> Supervisor {
        Supervisor {
            main_pid,
            config: config.clone(),
            phase: Phase::Running,
            main_status: None,
            first_stop: None,
            stopped_before_exit: false,
            grace_deadline: None,
            grace_expired: false,
            exec_failed: false,
            reaped_others: 0,
            terminated: Vec::new(),
            killed: Vec::new(),
            killed_at: None,
            kill_reached_all: true,
            unstamped: None,
        }
    }

    fn times(&self) -> Times {
        Times {
            phase: self.phase,
            first_stop: self.first_stop,
            grace_deadline: self.grace_deadline,
            killed_at: self.killed_at,
        }
    }

    /// When the next [`Event::Timer`] is due, if any: the OS layer sleeps until then at most.
    /// After [`Supervisor::on_signal_unstamped`], only once [`Supervisor::stamp`] was called.
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::StopHeld { deliver_at, .. } => Some(deliver_at),
            Phase::Killing | Phase::Cleaning { deadline: None } if self.main_status.is_some() => {
                self.killed_at.map(|at| at + KILL_REAP_LIMIT)
            }
            Phase::Stopping { deadline } | Phase::Cleaning { deadline } => deadline,
            Phase::Running | Phase::Killing | Phase::Done => None,
        }
    }

    /// Whether the main child has been reaped (signals are no longer forwarded to it).
    pub fn main_exited(&self) -> bool {
        self.main_status.is_some()
    }

    /// Records the processes the OS layer sent SIGTERM to, for the report.
    pub fn record_terminated(&mut self, procs: Vec<Proc>) {
        self.terminated.extend(procs);
    }

    /// Records the processes the OS layer sent SIGKILL to, for the report, and whether it
    /// could list every descendant (false after a fallback that may have missed some).
    pub fn record_killed(&mut self, procs: Vec<Proc>, reached_all: bool) {
        // A retry kills the same stragglers again: report each once.
        let known: HashSet<i32> = self.killed.iter().map(|p| p.pid).collect();
        self.killed
            .extend(procs.into_iter().filter(|p| !known.contains(&p.pid)));
        self.kill_reached_all = reached_all;
    }

    pub fn on(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        self.on_into(event, now, &mut actions);
        actions
    }

    /// [`Supervisor::on`], appending the actions to `out`: the OS layer keeps one Vec for
    /// every event, so handling a signal allocates nothing (a first signal after a long idle
    /// is slowed by every cold page it touches, malloc's included).
    pub fn on_into(&mut self, event: Event, now: Instant, out: &mut Vec<Action>) {
        let start = out.len();
        self.on_event(event, now, out);
        self.note_kill(&out[start..], now);
    }

    /// Remembers when the last `KillRemaining` was issued, if `actions` has one.
    fn note_kill(&mut self, actions: &[Action], now: Instant) {
        if actions.iter().any(|a| matches!(a, Action::KillRemaining(_))) {
            self.killed_at = Some(now);
        }
    }

    /// A received signal, decided before the clock is read: the OS layer carries out the
    /// actions (the forwarded signal reaches the child first) and then calls
    /// [`Supervisor::stamp`] with the time, from which whatever the signal started counts (the
    /// grace, `--stop-delay`, the stop's duration in the report, a SIGKILL's reaping limit).
    /// A signal's decision never depends on the time, only what it starts does. `not_before`
    /// is any earlier time (the OS layer's last reading): the provisional one, until `stamp`.
    ///
    /// SPEC §7: the first signal after an idle spell. The clock's vDSO code and data pages are
    /// cold then, and reading it before the delivery cost the child about 2 µs.
    /// (This and the functions it calls on that path sit in the OS layer's `.text.hot`: see
    /// `os::driver::serve`.)
    #[unsafe(link_section = ".text.hot.pidone")]
    pub fn on_signal_unstamped(&mut self, sig: Signal, not_before: Instant, out: &mut Vec<Action>) {
        let times = self.times();
        let (_, at) = *self.unstamped.get_or_insert((times, not_before));
        let start = out.len();
        self.on_signal(sig, at, out);
        self.note_kill(&out[start..], at);
    }

    /// Gives the time of the signals decided by [`Supervisor::on_signal_unstamped`] since the
    /// last stamp: every time they started moves from the provisional time to `now`. Does
    /// nothing when there are none.
    pub fn stamp(&mut self, now: Instant) {
        let Some((before, at)) = self.unstamped.take() else {
            return;
        };
        let shift = now.saturating_duration_since(at);
        // A time differs from before only if these signals set it (each is set once, or
        // moves to a phase of another kind), so only those move.
        if self.phase != before.phase {
            match &mut self.phase {
                Phase::StopHeld { deliver_at: t, .. } | Phase::Stopping { deadline: Some(t) } => *t += shift,
                _ => {}
            }
        }
        if self.first_stop != before.first_stop
            && let Some((_, t)) = &mut self.first_stop
        {
            *t += shift;
        }
        if self.grace_deadline != before.grace_deadline
            && let Some(t) = &mut self.grace_deadline
        {
            *t += shift;
        }
        if self.killed_at != before.killed_at
            && let Some(t) = &mut self.killed_at
        {
            *t += shift;
        }
    }

    fn on_event(&mut self, event: Event, now: Instant, out: &mut Vec<Action>) {
        match event {
            Event::Signal(sig) => self.on_signal(sig, now, out),
            Event::Reaped { pid, status } => {
                if pid == self.main_pid {
                    log::debug!("main child {pid} {status}");
                    self.main_status = Some(status);
                } else {
                    self.reaped_others += 1;
                    // tini's wording: log searches and tini's own tests look for it.
                    let level = if self.config.warn_on_reap {
                        log::Level::Warn
                    } else {
                        log::Level::Debug
                    };
                    log::log!(level, "Reaped zombie process with pid={pid} ({status})");
                }
            }
            Event::ReapDone { children_left } => self.on_reap_done(children_left, now, out),
            Event::Timer => self.on_timer(now, out),
            Event::ExecFailed => self.exec_failed = true,
        }
    }

    #[unsafe(link_section = ".text.hot.pidone")]
    fn on_signal(&mut self, sig: Signal, now: Instant, out: &mut Vec<Action>) {
        let is_stop = self.config.stop_signals.contains(sig);
        if is_stop && self.first_stop.is_none() {
            self.first_stop = Some((sig, now));
        }
        match self.phase {
            Phase::Running if is_stop => {
                self.stopped_before_exit = true;
                if self.config.stop_delay.is_zero() {
                    self.begin_stop(sig, now, out)
                } else {
                    log::info!(
                        "holding {sig} for {} (--stop-delay)",
                        human_duration(self.config.stop_delay)
                    );
                    self.phase = Phase::StopHeld {
                        sig,
                        deliver_at: now + self.config.stop_delay,
                    };
                }
            }
            Phase::StopHeld { sig: held, .. } if is_stop => {
                // A second stop signal means "now": deliver the held one, then this one.
                self.begin_stop(held, now, out);
                if matches!(self.phase, Phase::Stopping { .. }) {
                    self.forward(sig, out);
                }
            }
            Phase::Running | Phase::StopHeld { .. } | Phase::Stopping { .. } => self.forward(sig, out),
            Phase::Cleaning { deadline: Some(_) } if is_stop => {
                self.phase = Phase::Cleaning { deadline: None };
                out.push(Action::KillRemaining(KillReason::StopDuringCleanup));
            }
            Phase::Killing | Phase::Cleaning { .. } | Phase::Done => {}
        }
    }

    /// Delivers the stop signal and starts the grace.
    #[unsafe(link_section = ".text.hot.pidone")]
    fn begin_stop(&mut self, sig: Signal, now: Instant, out: &mut Vec<Action>) {
        match self.config.grace {
            Grace::After(grace) if grace.is_zero() => {
                self.grace_expired = true;
                self.phase = Phase::Killing;
                out.push(Action::KillRemaining(KillReason::GraceExpired));
            }
            Grace::After(grace) => {
                let deadline = now + grace;
                self.grace_deadline = Some(deadline);
                self.phase = Phase::Stopping {
                    deadline: Some(deadline),
                };
                self.forward(sig, out)
            }
            Grace::Never => {
                self.phase = Phase::Stopping { deadline: None };
                self.forward(sig, out)
            }
        }
    }

    fn target(&self) -> Target {
        if self.config.kill_process_group {
            Target::Group
        } else {
            Target::Child
        }
    }

    #[unsafe(link_section = ".text.hot.pidone")]
    fn forward(&self, sig: Signal, out: &mut Vec<Action>) {
        match self.config.rewrite.apply(sig) {
            RewriteTarget::Deliver(sig) => out.push(Action::Deliver {
                sig,
                to: self.target(),
            }),
            RewriteTarget::Drop => log::debug!("dropping {sig} (--rewrite)"),
        }
    }

    fn on_reap_done(&mut self, children_left: bool, now: Instant, out: &mut Vec<Action>) {
        if self.main_status.is_none() || self.phase == Phase::Done {
            return;
        }
        if !children_left {
            self.phase = Phase::Done;
            out.push(Action::Exit(self.report(now)));
            return;
        }
        match self.phase {
            Phase::Running | Phase::StopHeld { .. } | Phase::Stopping { .. } => {
                // The cleanup of a stop never outlasts the stop's own grace.
                let mut deadline = now + self.config.cleanup_grace;
                if let Some(grace_deadline) = self.grace_deadline {
                    deadline = deadline.min(grace_deadline);
                }
                if deadline <= now {
                    self.phase = Phase::Cleaning { deadline: None };
                    out.push(Action::KillRemaining(KillReason::CleanupExpired));
                } else {
                    self.phase = Phase::Cleaning {
                        deadline: Some(deadline),
                    };
                    out.push(Action::TerminateRemaining);
                }
            }
            Phase::Killing | Phase::Cleaning { .. } | Phase::Done => {}
        }
    }

    fn on_timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.phase {
            Phase::StopHeld { sig, deliver_at } if now >= deliver_at => self.begin_stop(sig, now, out),
            Phase::Stopping {
                deadline: Some(deadline),
            } if now >= deadline => {
                self.grace_expired = true;
                self.phase = Phase::Killing;
                out.push(Action::KillRemaining(KillReason::GraceExpired));
            }
            Phase::Cleaning {
                deadline: Some(deadline),
            } if now >= deadline => {
                self.phase = Phase::Cleaning { deadline: None };
                out.push(Action::KillRemaining(KillReason::CleanupExpired));
            }
            Phase::Killing | Phase::Cleaning { deadline: None }
                if self.main_status.is_some()
                    && self.killed_at.is_some_and(|at| now >= at + KILL_REAP_LIMIT) =>
            {
                if self.kill_reached_all {
                    out.push(Action::KillRemaining(KillReason::StillAlive));
                    return;
                }
                log::warn!(
                    "processes may still be running {} after SIGKILL (no usable /proc to find them, and \
                     outside the child's process group); exiting without them",
                    human_duration(KILL_REAP_LIMIT)
                );
                self.phase = Phase::Done;
                out.push(Action::Exit(self.report(now)));
            }
            _ => {}
        }
    }

    fn report(&mut self, now: Instant) -> ExitReport {
        // on_reap_done only reports once the main child's status is known.
        let child = self.main_status.unwrap_or(ChildStatus::Exited(1));
        let cause = if self.exec_failed {
            Cause::ExecFailed
        } else if self.grace_expired {
            Cause::GraceExpired
        } else if self.stopped_before_exit {
            Cause::StopSignal
        } else {
            Cause::Exited
        };
        ExitReport {
            exit_code: self.config.map_exit_code(child.code()),
            child,
            cause,
            stop_signal: self.first_stop.map(|(sig, _)| sig),
            stop_duration: self.first_stop.map(|(_, at)| now.saturating_duration_since(at)),
            reaped: self.reaped_others,
            terminated: std::mem::take(&mut self.terminated),
            killed: std::mem::take(&mut self.killed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::SignalSet;
    use std::time::Duration;

    const MAIN: i32 = 100;

    #[test]
    fn child_status_reads_in_words() {
        assert_eq!(ChildStatus::Exited(0).to_string(), "exited 0");
        assert_eq!(
            ChildStatus::Signaled(Signal::KILL).to_string(),
            "killed by SIGKILL"
        );
        let rt = Signal::from_raw(crate::signal::rtmin() + 3).unwrap();
        assert_eq!(ChildStatus::Signaled(rt).to_string(), "killed by SIGRTMIN+3");
    }

    fn sig(name: &str) -> Signal {
        Signal::parse(name).unwrap()
    }

    struct Harness {
        sup: Supervisor,
        t0: Instant,
    }

    impl Harness {
        fn new(config: Config) -> Harness {
            Harness {
                sup: Supervisor::new(&config, MAIN),
                t0: Instant::now(),
            }
        }

        fn default() -> Harness {
            Harness::new(Config::new(vec!["app".into()]))
        }

        /// The main child exited `code` at 0 ms and left children behind: the cleanup is on.
        fn in_cleanup(code: i32) -> Harness {
            let mut h = Harness::default();
            h.reap(0, &[(MAIN, ChildStatus::Exited(code))], true);
            h
        }

        fn at(&self, ms: u64) -> Instant {
            self.t0 + Duration::from_millis(ms)
        }

        fn signal(&mut self, ms: u64, name: &str) -> Vec<Action> {
            let now = self.at(ms);
            self.sup.on(Event::Signal(sig(name)), now)
        }

        fn timer(&mut self, ms: u64) -> Vec<Action> {
            let now = self.at(ms);
            self.sup.on(Event::Timer, now)
        }

        /// Reaps the given pids and ends the pass with `children_left`.
        fn reap(&mut self, ms: u64, reaped: &[(i32, ChildStatus)], children_left: bool) -> Vec<Action> {
            let now = self.at(ms);
            let mut actions = Vec::new();
            for &(pid, status) in reaped {
                actions.extend(self.sup.on(Event::Reaped { pid, status }, now));
            }
            actions.extend(self.sup.on(Event::ReapDone { children_left }, now));
            actions
        }

        fn exit_report(actions: Vec<Action>) -> ExitReport {
            match actions.as_slice() {
                [Action::Exit(report)] => report.clone(),
                other => panic!("expected an exit, got {other:?}"),
            }
        }
    }

    fn deliver(name: &str) -> Action {
        Action::Deliver {
            sig: sig(name),
            to: Target::Child,
        }
    }

    #[test]
    fn forwards_ordinary_signals_without_a_deadline() {
        let mut h = Harness::default();
        assert_eq!(h.signal(0, "HUP"), vec![deliver("HUP")]);
        assert_eq!(h.signal(0, "USR1"), vec![deliver("USR1")]);
        assert_eq!(h.signal(0, "RTMIN+3"), vec![deliver("RTMIN+3")]);
        assert_eq!(h.sup.deadline(), None);
    }

    #[test]
    fn child_exit_with_nothing_left_exits_at_once_with_its_code() {
        let mut h = Harness::default();
        let report = Harness::exit_report(h.reap(5, &[(MAIN, ChildStatus::Exited(3))], false));
        assert_eq!(report.exit_code, 3);
        assert_eq!(report.cause, Cause::Exited);
        assert_eq!(report.stop_signal, None);
        assert_eq!(report.stop_duration, None);
    }

    #[test]
    fn killed_child_maps_to_128_plus_signal_then_success_codes() {
        let mut h = Harness::default();
        let r = Harness::exit_report(h.reap(0, &[(MAIN, ChildStatus::Signaled(Signal::TERM))], false));
        assert_eq!(r.exit_code, 143);
        let mut config = Config::new(vec!["app".into()]);
        config.success_codes = vec![143];
        let mut h = Harness::new(config);
        let r = Harness::exit_report(h.reap(0, &[(MAIN, ChildStatus::Signaled(Signal::TERM))], false));
        assert_eq!(r.exit_code, 0);
    }

    #[test]
    fn stop_signal_is_forwarded_and_arms_the_grace_once() {
        let mut h = Harness::default();
        assert_eq!(h.signal(1000, "TERM"), vec![deliver("TERM")]);
        assert_eq!(h.sup.deadline(), Some(h.at(11_000)));
        // A second stop signal is forwarded but does not re-arm.
        assert_eq!(h.signal(5000, "INT"), vec![deliver("INT")]);
        assert_eq!(h.sup.deadline(), Some(h.at(11_000)));
        // Early timers do nothing.
        assert_eq!(h.timer(10_999), vec![]);
        let r = Harness::exit_report(h.reap(2000, &[(MAIN, ChildStatus::Exited(0))], false));
        assert_eq!(r.cause, Cause::StopSignal);
        assert_eq!(r.stop_signal, Some(Signal::TERM));
        assert_eq!(r.stop_duration, Some(Duration::from_millis(1000)));
    }

    #[test]
    fn a_signal_decided_before_the_clock_counts_from_its_stamp() {
        // The OS layer decides a signal with an earlier time, delivers, then stamps: whatever
        // the signal started counts from the stamp, as if it had been decided then.
        let cases: [fn(&mut Config); 3] = [
            |_| {},
            |c| c.stop_delay = Duration::from_secs(3),
            |c| c.grace = Grace::After(Duration::ZERO),
        ];
        for configure in cases {
            let mut config = Config::new(vec!["app".into()]);
            configure(&mut config);
            let (mut stamped, mut direct) = (Harness::new(config.clone()), Harness::new(config));
            direct.t0 = stamped.t0;
            let mut out = Vec::new();
            stamped
                .sup
                .on_signal_unstamped(sig("TERM"), stamped.at(10), &mut out);
            stamped
                .sup
                .on_signal_unstamped(sig("USR1"), stamped.at(10), &mut out);
            stamped.sup.stamp(stamped.at(1000));
            let mut expected = direct.signal(1000, "TERM");
            expected.extend(direct.signal(1000, "USR1"));
            assert_eq!(out, expected);
            assert_eq!(stamped.sup.deadline(), direct.sup.deadline());
            assert!(stamped.sup.times() == direct.sup.times());
            // A second stamp, or one without unstamped signals, moves nothing.
            stamped.sup.stamp(stamped.at(5000));
            assert!(stamped.sup.times() == direct.sup.times());
        }
        // Times set before the unstamped signals stay where they were.
        let mut h = Harness::default();
        h.signal(1000, "TERM");
        let mut out = Vec::new();
        h.sup.on_signal_unstamped(sig("INT"), h.at(2000), &mut out);
        h.sup.stamp(h.at(4000));
        assert_eq!(out, vec![deliver("INT")]);
        assert_eq!(h.sup.deadline(), Some(h.at(11_000)));
        let r = Harness::exit_report(h.reap(5000, &[(MAIN, ChildStatus::Exited(0))], false));
        assert_eq!(r.stop_signal, Some(Signal::TERM));
        assert_eq!(r.stop_duration, Some(Duration::from_millis(4000)));
    }

    #[test]
    fn grace_expiry_kills_everything_and_reports_137() {
        let mut h = Harness::default();
        h.signal(0, "TERM");
        assert_eq!(
            h.timer(10_000),
            vec![Action::KillRemaining(KillReason::GraceExpired)]
        );
        assert_eq!(h.sup.deadline(), None);
        // Signals while killing go nowhere.
        assert_eq!(h.signal(10_001, "TERM"), vec![]);
        h.sup.record_killed(
            vec![Proc {
                pid: MAIN,
                comm: "app".into(),
            }],
            true,
        );
        // Main reaped but another child still dying: wait.
        assert_eq!(
            h.reap(10_002, &[(MAIN, ChildStatus::Signaled(Signal::KILL))], true),
            vec![]
        );
        let r = Harness::exit_report(h.reap(10_003, &[(7, ChildStatus::Signaled(Signal::KILL))], false));
        assert_eq!(r.exit_code, 137);
        assert_eq!(r.cause, Cause::GraceExpired);
        assert_eq!(r.reaped, 1);
        assert_eq!(r.killed.len(), 1);
        assert_eq!(r.stop_duration, Some(Duration::from_millis(10_003)));
    }

    #[test]
    fn grace_zero_escalates_at_once_and_none_never_does() {
        let mut config = Config::new(vec!["app".into()]);
        config.grace = Grace::After(Duration::ZERO);
        let mut h = Harness::new(config.clone());
        assert_eq!(
            h.signal(0, "TERM"),
            vec![Action::KillRemaining(KillReason::GraceExpired)]
        );

        config.grace = Grace::Never;
        let mut h = Harness::new(config);
        assert_eq!(h.signal(0, "TERM"), vec![deliver("TERM")]);
        assert_eq!(h.sup.deadline(), None);
        assert_eq!(h.timer(1_000_000_000), vec![]);
    }

    #[test]
    fn custom_stop_signals_and_rewrites_decide_on_the_received_signal() {
        let mut config = Config::new(vec!["app".into()]);
        config.stop_signals = SignalSet::parse("QUIT").unwrap();
        config.rewrite.add_rule("QUIT:TERM").unwrap();
        config.rewrite.add_rule("TERM:USR2").unwrap();
        config.rewrite.add_rule("HUP:DROP").unwrap();
        let mut h = Harness::new(config);
        // TERM is not a stop signal here: forwarded (rewritten), no deadline.
        assert_eq!(h.signal(0, "TERM"), vec![deliver("USR2")]);
        assert_eq!(h.sup.deadline(), None);
        assert_eq!(h.signal(0, "HUP"), vec![]);
        // QUIT is, and arrives as TERM.
        assert_eq!(h.signal(0, "QUIT"), vec![deliver("TERM")]);
        assert!(h.sup.deadline().is_some());
    }

    #[test]
    fn a_dropped_stop_signal_still_starts_the_grace() {
        let mut config = Config::new(vec!["app".into()]);
        config.rewrite.add_rule("TERM:DROP").unwrap();
        let mut h = Harness::new(config);
        assert_eq!(h.signal(0, "TERM"), vec![]);
        assert_eq!(h.sup.deadline(), Some(h.at(10_000)));
    }

    #[test]
    fn process_group_target() {
        let mut config = Config::new(vec!["app".into()]);
        config.kill_process_group = true;
        let mut h = Harness::new(config);
        assert_eq!(
            h.signal(0, "TERM"),
            vec![Action::Deliver {
                sig: Signal::TERM,
                to: Target::Group
            }]
        );
    }

    #[test]
    fn stop_delay_holds_the_stop_signal_but_not_others() {
        let mut config = Config::new(vec!["app".into()]);
        config.stop_delay = Duration::from_secs(3);
        let mut h = Harness::new(config);
        assert_eq!(h.signal(0, "TERM"), vec![]);
        assert_eq!(h.sup.deadline(), Some(h.at(3000)));
        assert_eq!(h.signal(100, "HUP"), vec![deliver("HUP")]);
        assert_eq!(h.timer(2999), vec![]);
        assert_eq!(h.timer(3000), vec![deliver("TERM")]);
        // The grace starts at delivery.
        assert_eq!(h.sup.deadline(), Some(h.at(13_000)));
        let r = Harness::exit_report(h.reap(3500, &[(MAIN, ChildStatus::Exited(0))], false));
        assert_eq!(
            r.stop_duration,
            Some(Duration::from_millis(3500)),
            "measured from receipt"
        );
    }

    #[test]
    fn a_second_stop_signal_during_the_delay_delivers_at_once() {
        let mut config = Config::new(vec!["app".into()]);
        config.stop_delay = Duration::from_secs(3);
        let mut h = Harness::new(config);
        h.signal(0, "TERM");
        assert_eq!(h.signal(500, "INT"), vec![deliver("TERM"), deliver("INT")]);
        assert_eq!(h.sup.deadline(), Some(h.at(10_500)));
    }

    #[test]
    fn cleanup_terms_then_kills_leftovers_after_the_child_exits() {
        let mut h = Harness::default();
        assert_eq!(
            h.reap(0, &[(MAIN, ChildStatus::Exited(0))], true),
            vec![Action::TerminateRemaining]
        );
        assert_eq!(h.sup.deadline(), Some(h.at(2000)));
        // Ordinary signals are not forwarded during the cleanup.
        assert_eq!(h.signal(10, "HUP"), vec![]);
        assert_eq!(
            h.timer(2000),
            vec![Action::KillRemaining(KillReason::CleanupExpired)]
        );
        assert_eq!(h.sup.deadline(), Some(h.at(2000) + KILL_REAP_LIMIT));
        h.sup.record_terminated(vec![Proc {
            pid: 5,
            comm: "worker".into(),
        }]);
        let r = Harness::exit_report(h.reap(2001, &[(5, ChildStatus::Signaled(Signal::KILL))], false));
        assert_eq!(r.exit_code, 0);
        assert_eq!(r.cause, Cause::Exited);
        assert_eq!(r.terminated.len(), 1);
    }

    #[test]
    fn survivors_of_a_sigkill_are_killed_again_and_waited_for() {
        let mut h = Harness::in_cleanup(0);
        h.timer(2000);
        let worker = Proc {
            pid: 5,
            comm: "worker".into(),
        };
        h.sup.record_killed(vec![worker.clone()], true);
        // Still not reaped a second later (a large address space, an uninterruptible sleep):
        // found through /proc, so SIGKILL again and keep waiting, without a second report entry.
        assert_eq!(h.timer(3000), vec![Action::KillRemaining(KillReason::StillAlive)]);
        h.sup.record_killed(vec![worker], true);
        assert_eq!(h.sup.deadline(), Some(h.at(3000) + KILL_REAP_LIMIT));
        let r = Harness::exit_report(h.reap(3500, &[(5, ChildStatus::Signaled(Signal::KILL))], false));
        assert_eq!(r.killed.len(), 1);
    }

    #[test]
    fn pidone_gives_up_on_processes_it_could_not_list() {
        let mut h = Harness::in_cleanup(3);
        h.timer(2000);
        h.sup.record_killed(vec![], false);
        let r = Harness::exit_report(h.timer(3000));
        assert_eq!(r.exit_code, 3);
    }

    #[test]
    fn no_give_up_while_the_main_child_is_unreaped() {
        let mut h = Harness::default();
        h.signal(0, "TERM");
        h.timer(10_000);
        h.sup.record_killed(vec![], false);
        assert_eq!(h.sup.deadline(), None, "wait for the main child's own SIGCHLD");
        assert_eq!(h.timer(20_000), vec![]);
    }

    #[test]
    fn cleanup_ends_early_when_leftovers_exit() {
        let mut h = Harness::in_cleanup(4);
        let r = Harness::exit_report(h.reap(50, &[(5, ChildStatus::Exited(0))], false));
        assert_eq!(r.exit_code, 4);
        assert_eq!(r.reaped, 1);
    }

    #[test]
    fn cleanup_grace_zero_kills_at_once() {
        let mut config = Config::new(vec!["app".into()]);
        config.cleanup_grace = Duration::ZERO;
        let mut h = Harness::new(config);
        assert_eq!(
            h.reap(0, &[(MAIN, ChildStatus::Exited(0))], true),
            vec![Action::KillRemaining(KillReason::CleanupExpired)]
        );
    }

    #[test]
    fn a_stop_signal_during_cleanup_kills_at_once_once() {
        let mut h = Harness::in_cleanup(0);
        assert_eq!(
            h.signal(10, "INT"),
            vec![Action::KillRemaining(KillReason::StopDuringCleanup)]
        );
        assert_eq!(h.signal(20, "TERM"), vec![]);
        let r = Harness::exit_report(h.reap(30, &[(9, ChildStatus::Signaled(Signal::KILL))], false));
        assert_eq!(r.cause, Cause::Exited, "the child exited before any stop");
        assert_eq!(r.stop_signal, Some(Signal::INT));
    }

    #[test]
    fn cleanup_after_a_stop_never_outlasts_the_grace() {
        let mut h = Harness::default();
        h.signal(0, "TERM");
        // Main exits 9.5 s into a 10 s grace: the 2 s cleanup is cut to 0.5 s.
        assert_eq!(
            h.reap(9500, &[(MAIN, ChildStatus::Exited(0))], true),
            vec![Action::TerminateRemaining]
        );
        assert_eq!(h.sup.deadline(), Some(h.at(10_000)));
        // Exited right at the deadline: no time for TERM, straight to KILL.
        let mut h = Harness::default();
        h.signal(0, "TERM");
        assert_eq!(
            h.reap(10_000, &[(MAIN, ChildStatus::Exited(0))], true),
            vec![Action::KillRemaining(KillReason::CleanupExpired)]
        );
    }

    #[test]
    fn exec_failure_is_reported_as_such() {
        let mut h = Harness::default();
        h.sup.on(Event::ExecFailed, h.at(0));
        let r = Harness::exit_report(h.reap(0, &[(MAIN, ChildStatus::Exited(127))], false));
        assert_eq!(r.exit_code, 127);
        assert_eq!(r.cause, Cause::ExecFailed);
    }

    #[test]
    fn zombies_of_others_are_counted_and_do_not_end_the_run() {
        let mut h = Harness::default();
        assert_eq!(
            h.reap(
                0,
                &[(5, ChildStatus::Exited(0)), (6, ChildStatus::Exited(1))],
                true
            ),
            vec![]
        );
        assert_eq!(h.reap(0, &[], false), vec![], "no exit before the main child");
        let r = Harness::exit_report(h.reap(1, &[(MAIN, ChildStatus::Exited(0))], false));
        assert_eq!(r.reaped, 2);
    }

    #[test]
    fn nothing_happens_after_done() {
        let mut h = Harness::default();
        Harness::exit_report(h.reap(0, &[(MAIN, ChildStatus::Exited(0))], false));
        assert_eq!(h.signal(1, "TERM"), vec![]);
        assert_eq!(h.reap(2, &[], false), vec![]);
        assert_eq!(h.timer(3), vec![]);
    }
}
