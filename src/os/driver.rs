//! The event loop: kernel events in, supervisor actions out. Decides nothing itself.

use super::events::{Events, Received};
use super::reaper::reap_all;
use super::shutdown::{self, Scope};
use super::signals::SignalState;
use super::spawn::{Spawned, spawn};
use super::{error_text, getpid, write_stderr};
use crate::config::{Config, Grace, human_duration};
use crate::report::{ExitReport, describe_procs};
use crate::signal::Signal;
use crate::supervisor::{Action, Event, KillReason, Supervisor, Target};
use nix::sys::prctl;
use std::io;
use std::time::Instant;

/// Runs the command under supervision, prints the report, and returns pidone's exit code.
pub fn run(config: &Config) -> i32 {
    match supervise(config) {
        Ok(report) => {
            if let Some(line) = report.render(config.report) {
                write_stderr(format!("{line}\n").as_bytes());
            }
            report.exit_code
        }
        Err(err) => {
            write_stderr(format!("pidone: {err}\n").as_bytes());
            1
        }
    }
}

/// Prefixes an error with what pidone was doing, in plain words ("... : Too many open files").
fn context(what: &'static str) -> impl FnOnce(io::Error) -> io::Error {
    move |err| io::Error::new(err.kind(), format!("{what}: {}", error_text(&err)))
}

/// Runs the command under supervision until everything is reaped, and returns the report
/// without printing it. Blocks every signal of the calling process for good: meant for a
/// process that exits afterwards (pidone itself, or the child pidone-check forks).
pub fn supervise(config: &Config) -> io::Result<ExitReport> {
    let me = getpid();
    let pid1 = me == 1;
    let (signals, signalfd) = SignalState::take_over().map_err(context("cannot take over signals"))?;

    if let Some(sig) = config.parent_death_signal {
        set_pdeathsig(sig).map_err(context("cannot set the parent-death signal"))?;
    }
    // Not PID 1: become the subreaper so orphans come to us, with or without -s.
    if !pid1 && let Err(err) = prctl::set_child_subreaper(true) {
        log::warn!(
            "pidone is not running as PID 1 and could not register as a child subreaper ({}); zombie \
             processes will not be re-parented to pidone, so zombie reaping won't work; run pidone as PID 1",
            err.desc()
        );
    }

    let child = spawn(&config.command, &signals).map_err(context("cannot start the command"))?;
    // Keep no mount busy; the child already has its own working directory.
    if let Err(err) = nix::unistd::chdir(c"/") {
        log::debug!("chdir / failed: {}", err.desc());
    }

    if let Err(err) = super::sched::prefer_the_child() {
        log::debug!(
            "could not lengthen pidone's scheduler slice: {}",
            error_text(&err)
        );
    }
    let mut sup = Supervisor::new(config, child.pid);
    if let Some(failure) = child.failure {
        write_stderr(format!("pidone: {}\n", failure.message(&config.command[0])).as_bytes());
        sup.on(Event::ExecFailed, Instant::now());
    }
    // Whether debug lines may be on (the check `log::debug!` starts with), read once: `log`'s
    // level lives on a data page of its own.
    let debug = log::max_level() >= log::LevelFilter::Debug;
    let scope = Scope {
        pid1,
        main_pgid: child.pid,
    };
    serve(
        &mut sup,
        &Events::new(signalfd),
        &child,
        &scope,
        config,
        me,
        debug,
    )
}

/// The event loop, until the report. It is the path of every signal: it and what it calls
/// between the wake-up and the delivery (`deliver`, the supervisor's signal path, the send)
/// sit together in the section `.text.hot.pidone`, and link/hot-symbols.txt puts that and the
/// library functions they call (read, the send, the clock) first in the binary; the rare paths
/// (`reap`, `carry_out`, the log lines) are `#[cold]` and out of line. After an idle spell
/// every code page the first signal touches costs it a TLB miss, and these were spread over
/// 10 pages (SPEC §7; BENCHMARKS.md, "Cold signal latency").
#[inline(never)]
#[unsafe(link_section = ".text.hot.pidone")]
fn serve(
    sup: &mut Supervisor,
    events: &Events,
    child: &Spawned,
    scope: &Scope,
    config: &Config,
    me: i32,
    debug: bool,
) -> io::Result<ExitReport> {
    // The clock is read once before the first sleep: the first `clock_gettime` of a process
    // faults in the vDSO's data page (vvar), and without this that fault came on the first
    // signal's path (SPEC §7: latency of the first signal after idle). It is the provisional
    // time of the signals decided before the clock is read (below).
    let mut last = Instant::now();
    // Kept across wake-ups: handling a signal allocates nothing (malloc and free were a
    // third of the instructions between the wake-up and the delivery, on pages of their own).
    let mut received = Vec::with_capacity(4);
    let mut actions = Vec::with_capacity(4);

    loop {
        let deadline = sup.deadline();
        if let Err(err) = events.wait(deadline, &mut received) {
            return Err(context("waiting for events failed")(err));
        }
        let chld = received.iter().any(|r| r.sig == Signal::CHLD);
        // The idle wake-up (no deadline armed, only signals): the signals are decided and
        // delivered before the clock is read, and what they start counts from the reading
        // after the delivery (`on_signal_unstamped`, `stamp`). Otherwise the time comes first:
        // a deadline is judged by it, and so is a reaped child.
        let stamped = if chld || deadline.is_some() {
            Some(Instant::now())
        } else {
            None
        };
        if let Some(now) = stamped {
            // Reaping first: a child that has exited is gone before the deadline or a signal in
            // the same wake-up is judged (no "grace expired" for a child that made it, no
            // signal sent to a pid that was just reaped).
            if chld {
                reap(sup, now, &mut actions);
            }
            if deadline.is_some_and(|d| now >= d) {
                sup.on_into(Event::Timer, now, &mut actions);
            }
        }
        for &Received { sig, sender_pid, .. } in &received {
            if sig == Signal::CHLD {
                continue;
            }
            if sender_pid == me as u32 {
                // Raised by pidone's own syscalls (SIGPIPE, SIGXFSZ on a write), not a request.
                log_ignored(sig);
                continue;
            }
            if debug {
                log_received(sig, sender_pid);
            }
            match stamped {
                Some(now) => sup.on_into(Event::Signal(sig), now, &mut actions),
                None => sup.on_signal_unstamped(sig, last, &mut actions),
            }
        }
        let mut stamped = stamped;
        for action in actions.drain(..) {
            if let Action::Deliver { sig, to } = action {
                deliver(sig, to, child, debug);
                continue;
            }
            // Anything else (a SIGKILL pass with grace 0 can walk thousands of processes)
            // comes after the deliveries and counts from a clock read before it, so the
            // report's stop time still starts at the signal's receipt.
            if stamped.is_none() {
                stamped = Some(stamp(sup));
            }
            if let Some(report) = carry_out(action, sup, child, scope, config) {
                return Ok(report);
            }
        }
        last = stamped.unwrap_or_else(|| stamp(sup));
    }
}

/// Reads the clock and gives it to the signals decided before it (`on_signal_unstamped`).
#[cold]
#[inline(never)]
fn stamp(sup: &mut Supervisor) -> Instant {
    let now = Instant::now();
    sup.stamp(now);
    now
}

/// One reaping pass, fed to the supervisor.
#[cold]
#[inline(never)]
fn reap(sup: &mut Supervisor, now: Instant, actions: &mut Vec<Action>) {
    let reaped = reap_all();
    for (pid, status) in reaped.children {
        sup.on_into(Event::Reaped { pid, status }, now, actions);
    }
    sup.on_into(
        Event::ReapDone {
            children_left: reaped.children_left,
        },
        now,
        actions,
    );
}

// The log lines of the signal path live out of line, so the path itself stays on few code
// pages: after an idle spell each page costs the first signal a TLB miss.
#[cold]
#[inline(never)]
fn log_ignored(sig: Signal) {
    log::debug!("ignoring {sig} raised by pidone itself");
}

#[cold]
#[inline(never)]
fn log_received(sig: Signal, sender_pid: u32) {
    log::debug!("received {sig} from pid {sender_pid}");
}

#[cold]
#[inline(never)]
fn log_forwarding(sig: Signal, to: Target, pid: i32) {
    match to {
        Target::Child => log::debug!("forwarding {sig} to {pid}"),
        Target::Group => log::debug!("forwarding {sig} to process group {pid}"),
    }
}

/// Forwards a signal to the main child or its group. `debug`: whether debug lines are on,
/// read once before the loop (checking `log`'s level here would touch a data page of its
/// own on the signal path).
#[unsafe(link_section = ".text.hot.pidone")]
fn deliver(sig: Signal, to: Target, child: &Spawned, debug: bool) {
    if debug {
        log_forwarding(sig, to, child.pid);
    }
    match to {
        Target::Child => {
            signal_main_child(child, sig);
        }
        // An empty group means the child moved to another one: it still gets the signal.
        Target::Group => {
            if !shutdown::send_raw(-child.pid, sig) {
                signal_main_child(child, sig);
            }
        }
    }
}

/// `PR_SET_PDEATHSIG`. nix's `set_pdeathsig` takes only the signals its `Signal` names; a
/// real-time one goes through `libc::prctl`.
fn set_pdeathsig(sig: Signal) -> io::Result<()> {
    match sig.named() {
        Some(named) => prctl::set_pdeathsig(named).map_err(io::Error::from),
        None => {
            // SAFETY: plain prctl with a signal number in 1..=SIGRTMAX.
            let ret = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig.raw() as libc::c_ulong) };
            nix::errno::Errno::result(ret).map(drop).map_err(io::Error::from)
        }
    }
}

/// Performs one action; returns the report once it is time to exit. The loop forwards
/// signals itself (`deliver`): everything here is rare.
#[cold]
#[inline(never)]
fn carry_out(
    action: Action,
    sup: &mut Supervisor,
    child: &Spawned,
    scope: &Scope,
    config: &Config,
) -> Option<ExitReport> {
    match action {
        Action::Deliver { sig, to } => deliver(sig, to, child, log::max_level() >= log::LevelFilter::Debug),
        Action::TerminateRemaining => {
            let procs = shutdown::terminate_remaining(scope);
            if !procs.is_empty() {
                log::info!("main process exited; sent SIGTERM to {}", describe_procs(&procs));
            }
            sup.record_terminated(procs);
        }
        Action::KillRemaining(reason) => {
            let why = match (reason, config.grace) {
                (KillReason::GraceExpired, Grace::After(g)) => {
                    format!("grace period of {} expired", human_duration(g))
                }
                (KillReason::GraceExpired, Grace::Never) => "grace period expired".to_owned(),
                (KillReason::CleanupExpired, _) => "cleanup grace expired".to_owned(),
                (KillReason::StopDuringCleanup, _) => "stop signal during cleanup".to_owned(),
                (KillReason::StillAlive, _) => "still running after SIGKILL".to_owned(),
            };
            let (procs, reached_all) = shutdown::kill_remaining(scope, &mut |batch| {
                log::warn!("{why}; sending SIGKILL to {}", describe_procs(batch));
            });
            if !sup.main_exited() {
                // Whatever the listing missed (a child that left its process group while /proc
                // is unusable), the main child itself is never out of reach.
                signal_main_child(child, Signal::KILL);
            }
            sup.record_killed(procs, reached_all);
        }
        Action::Exit(report) => return Some(report),
    }
    None
}

/// Signals the main child through its pidfd, or by pid on a kernel without pidfds (safe until
/// pidone reaps it, and pidone never signals it after that).
#[unsafe(link_section = ".text.hot.pidone")]
fn signal_main_child(child: &Spawned, sig: Signal) -> bool {
    match &child.pidfd {
        Some(fd) => shutdown::send_pidfd(fd, sig),
        None => shutdown::send_raw(child.pid, sig),
    }
}
