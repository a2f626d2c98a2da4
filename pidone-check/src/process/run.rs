//! One run against the real OS: start a supervisor, wait for readiness, send the stop signal,
//! collect the supervisor's report and look for anything left behind.
//!
//! The supervisor is pidone-check itself, started again in a hidden mode that runs pidone's
//! own loop with `--grace` set to `--within` ([`super::supervisor`]); it sends its exit report
//! back over a pipe. Not being PID 1, it is a child subreaper, so orphans of the application
//! count as its descendants exactly as they would under pidone in a container. pidone-check
//! itself is a subreaper too, to catch anything that outlives the supervisor. One `poll` loop
//! relays the application's output, watches the report pipe and pidone-check's own SIGINT and
//! SIGTERM (a cancelled CI job: everything is killed at once).

use super::supervisor::Settings;
use super::verdict::{Outcome, show_elapsed};
use super::wire;
use crate::cancel::Cancel;
use crate::options::{CheckConfig, show_duration};
use crate::probe::Probes;
use crate::say;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::kill;
use nix::unistd::{AccessFlags, Pid, access};
use pidone::os::procfs::{self, ProcEntry};
use pidone::os::reaper;
use pidone::report::{Cause, ExitReport, Proc};
use pidone::signal::Signal;
use pidone::supervisor::ChildStatus;
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How often the probes that need polling (files, TCP) are retried: also the resolution of
/// "ready in" for them.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// How long past `--within` the supervisor may take before pidone-check kills it: it always
/// finishes within the grace plus the time to reap, so reaching this means something is wrong.
const SUPERVISOR_SLACK: Duration = Duration::from_secs(5);

/// How long to wait for the output pipe to close once every process is gone.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Makes pidone-check a child subreaper, so nothing the application starts can escape it.
pub fn become_subreaper() {
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        say(&format!(
            "warning: cannot register as child subreaper: {}",
            e.desc()
        ));
    }
}

fn io_text(e: &io::Error) -> &'static str {
    Errno::from_raw(e.raw_os_error().unwrap_or(0)).desc()
}

/// Fails as the shell would, before anything is started: `command not found`, `Permission
/// denied`. The supervisor's exec would report the same, but only after starting.
pub fn find_command(command: &OsStr) -> Result<(), String> {
    let name = command.to_string_lossy();
    let cannot = |why: &str| format!("cannot run '{name}': {why}");
    let runnable = |path: &Path| -> Result<(), String> {
        let meta = std::fs::metadata(path).map_err(|e| cannot(io_text(&e)))?;
        if meta.is_dir() {
            return Err(cannot("Is a directory"));
        }
        access(path, AccessFlags::X_OK).map_err(|e| cannot(e.desc()))
    };
    if command.is_empty() {
        return Err("cannot run '': empty command".to_owned());
    }
    if command.as_bytes().contains(&b'/') {
        return runnable(Path::new(command));
    }
    // glibc's execvp searches "/bin:/usr/bin" when PATH is unset; an empty entry is the cwd.
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    let mut first_error = None;
    for dir in path.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let candidate = dir.join(command);
        if !candidate.exists() {
            continue;
        }
        match runnable(&candidate) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| cannot("command not found")))
}

fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

/// Sends `sig` to a process, ignoring "already gone".
pub fn send(pid: i32, sig: Signal) {
    if let Ok(s) = nix::sys::signal::Signal::try_from(sig.raw()) {
        let _ = kill(Pid::from_raw(pid), s);
    }
}

/// The parent's ends of the pipes, read by one `poll` loop.
struct Pipes<'c> {
    output: Option<OwnedFd>,
    report: Option<OwnedFd>,
    report_bytes: Vec<u8>,
    cancel: &'c Cancel,
}

impl Pipes<'_> {
    /// Waits up to `timeout` for output or report bytes, or a cancelling signal, and handles
    /// what arrived.
    fn pump(&mut self, timeout: Duration, probes: &mut Probes) -> io::Result<()> {
        // Round up, so a wait for 0.4ms does not spin.
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        let (output_ready, report_ready) = {
            let mut fds = vec![PollFd::new(self.cancel.fd(), PollFlags::POLLIN)];
            let out_at = self.output.as_ref().map(|fd| {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                fds.len() - 1
            });
            let rep_at = self.report.as_ref().map(|fd| {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                fds.len() - 1
            });
            match poll(&mut fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)) {
                Ok(_) => {}
                Err(Errno::EINTR) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
            let ready =
                |at: Option<usize>| at.is_some_and(|i| fds[i].revents().is_some_and(|r| !r.is_empty()));
            (ready(out_at), ready(rep_at))
        };
        self.cancel.drain();
        let mut buf = [0u8; 16384];
        if output_ready && let Some(fd) = &self.output {
            let got = read_retry(fd, &mut buf)?;
            if got == 0 {
                probes.finish();
                self.output = None;
            } else {
                crate::say_raw(&buf[..got]);
                probes.feed(&buf[..got]);
            }
        }
        if report_ready && let Some(fd) = &self.report {
            let got = read_retry(fd, &mut buf)?;
            if got == 0 {
                self.report = None;
            } else {
                self.report_bytes.extend_from_slice(&buf[..got]);
            }
        }
        Ok(())
    }
}

fn read_retry(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match nix::unistd::read(fd, buf) {
            Err(Errno::EINTR) => continue,
            other => return Ok(other?),
        }
    }
}

/// Whether `pid` has `sig` blocked: the supervisor blocks every signal first thing, and from
/// then on the stop signal is queued for its loop instead of killing it.
fn has_blocked(pid: i32, sig: Signal) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true; // no /proc: nothing to wait for
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (sig.raw() - 1)) != 0)
}

fn progress(label: &str, text: &str) {
    say(&format!("{label}: {text}"));
}

/// Starts the supervisor (this same program, in its hidden mode).
fn start_supervisor(cfg: &CheckConfig, report: OwnedFd, output: Option<OwnedFd>) -> io::Result<Child> {
    let settings = Settings {
        parent: std::process::id() as i32,
        within: cfg.within,
        signal: cfg.signal,
        command: cfg.command.clone(),
    };
    Command::new("/proc/self/exe")
        .arg0("pidone-check")
        .args(settings.to_args())
        .stdin(Stdio::null())
        .stdout(Stdio::from(report))
        .stderr(output.map_or_else(Stdio::inherit, Stdio::from))
        .spawn()
}

/// The report of a run that pidone-check's own SIGINT or SIGTERM cut short.
fn cancelled_report(sig: Signal) -> ExitReport {
    ExitReport {
        exit_code: 137,
        child: ChildStatus::Signaled(Signal::KILL),
        cause: Cause::StopSignal,
        stop_signal: Some(sig),
        stop_duration: None,
        reaped: 0,
        terminated: Vec::new(),
        killed: Vec::new(),
    }
}

/// Runs the cycle once. An error is a setup problem (exit 2), not a verdict on the application.
pub fn run_once(cfg: &CheckConfig, label: &str, cancel: &Cancel) -> Result<Outcome, String> {
    let start = Instant::now();
    let setup = |what: &'static str| move |e: io::Error| format!("{what}: {e}");
    let (report_r, report_w) = pipe_cloexec().map_err(setup("cannot create a pipe"))?;
    let output = if cfg.ready.logs.is_empty() {
        None
    } else {
        Some(pipe_cloexec().map_err(setup("cannot create a pipe"))?)
    };
    let (output_r, output_w) = match output {
        Some((r, w)) => (Some(r), Some(w)),
        None => (None, None),
    };
    let me = std::process::id() as i32;
    let mut child =
        start_supervisor(cfg, report_w, output_w).map_err(setup("cannot start the supervisor"))?;
    let pid = child.id() as i32;
    let mut pipes = Pipes {
        output: output_r,
        report: Some(report_r),
        report_bytes: Vec::new(),
        cancel,
    };
    let mut probes = Probes::new(&cfg.ready);
    let io_error = |e: io::Error| format!("waiting for the application failed: {e}");

    // Readiness, until every probe holds, the timeout passes, or the supervisor is done.
    let ready_deadline = start + cfg.ready_timeout;
    let mut ready_after = None;
    while pipes.report.is_some() && !cancel.is_cancelled() {
        let now = Instant::now();
        let elapsed = now - start;
        if probes.check(elapsed) && has_blocked(pid, cfg.signal) {
            ready_after = Some(elapsed);
            break;
        }
        if now >= ready_deadline {
            break;
        }
        let mut wait = POLL_INTERVAL.min(ready_deadline - now);
        if let Some(left) = probes.delay_left(elapsed).filter(|d| !d.is_zero()) {
            wait = wait.min(left);
        }
        pipes.pump(wait, &mut probes).map_err(io_error)?;
    }
    let not_ready = if ready_after.is_none() && pipes.report.is_some() {
        probes.pending_probes()
    } else {
        Vec::new()
    };

    // The stop: signal the supervisor (it forwards to the application and starts the grace),
    // then relay output until its report is complete.
    let mut signal_at = None;
    let mut hung = false;
    if pipes.report.is_some() && !cancel.is_cancelled() {
        let why = match ready_after {
            Some(t) => format!("ready in {}", show_elapsed(t)),
            None if not_ready.is_empty() => format!("not ready within {}", show_duration(cfg.ready_timeout)),
            None => format!(
                "not ready within {} ({})",
                show_duration(cfg.ready_timeout),
                not_ready.join("; ")
            ),
        };
        progress(label, &format!("{why}; sending {}", cfg.signal));
        // Our own unreaped child: the pid can not have been reused.
        send(pid, cfg.signal);
        let sent = Instant::now();
        signal_at = Some(sent);
        let hard_deadline = sent + cfg.within + SUPERVISOR_SLACK;
        while pipes.report.is_some() && !cancel.is_cancelled() {
            let now = Instant::now();
            if now >= hard_deadline && !hung {
                progress(label, "the supervisor did not finish in time; killing it");
                send(pid, Signal::KILL);
                hung = true;
            }
            let wait = hard_deadline.saturating_duration_since(now).max(POLL_INTERVAL);
            pipes.pump(wait, &mut probes).map_err(io_error)?;
        }
    } else if !cancel.is_cancelled() {
        progress(label, "the application exited before the stop signal");
    }
    // A cancelled CI job: no grace for anyone. The supervisor dies, its orphans come to
    // pidone-check (a subreaper) and clear_leftovers() kills them.
    let cancelled = cancel.signal();
    if let Some(sig) = cancelled {
        progress(label, &format!("got {sig}: killing the application"));
        send(pid, Signal::KILL);
    }
    let finished = Instant::now();
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for the supervisor: {e}"))?;

    let (escaped, zombies_left) = clear_leftovers(me);
    // Everything is gone now, so the output pipe closes; a process pidone-check could not
    // see must not hold the run forever, though.
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while pipes.output.is_some() {
        let now = Instant::now();
        if now >= drain_deadline || cancelled.is_some() {
            break;
        }
        pipes.pump(drain_deadline - now, &mut probes).map_err(io_error)?;
    }

    if let Some(sig) = cancelled {
        return Ok(Outcome {
            ready_after,
            not_ready,
            signal_sent: signal_at.is_some(),
            stop_time: None,
            report: cancelled_report(sig),
            escaped,
            zombies_left,
            supervisor_hung: false,
            cancelled,
            total: start.elapsed(),
        });
    }
    let mut report = match wire::decode(&pipes.report_bytes) {
        Ok(Ok(report)) => report,
        Ok(Err(message)) => return Err(message),
        Err(_) if hung => ExitReport {
            exit_code: 137,
            child: ChildStatus::Signaled(Signal::KILL),
            cause: Cause::GraceExpired,
            stop_signal: Some(cfg.signal),
            stop_duration: None,
            reaped: 0,
            terminated: Vec::new(),
            killed: Vec::new(),
        },
        Err(garbled) => {
            return Err(format!("the supervisor failed ({status}): {garbled}"));
        }
    };
    if report.cause == Cause::ExecFailed {
        let name = cfg.command[0].to_string_lossy();
        return Err(format!("cannot run '{name}' (exit code {})", report.exit_code));
    }
    // The application may have exited on its own just before the signal reached the supervisor.
    let signal_sent = signal_at.is_some() && report.cause != Cause::Exited;
    let stop_time = if signal_sent && !hung {
        report.stop_duration.or_else(|| signal_at.map(|s| finished - s))
    } else {
        None
    };
    report.exit_code = report.child.code();
    Ok(Outcome {
        ready_after,
        not_ready,
        signal_sent,
        stop_time,
        report,
        escaped,
        zombies_left,
        supervisor_hung: hung,
        cancelled: None,
        total: start.elapsed(),
    })
}

/// After the supervisor has been reaped: kills whatever is still below pidone-check (it can
/// only have come from the run) and reaps it. Returns the live processes found, and how many
/// zombies were waiting to be reaped.
fn clear_leftovers(me: i32) -> (Vec<Proc>, u32) {
    let Ok(procs) = procfs::all_processes() else {
        return (Vec::new(), 0);
    };
    let zombies = zombies_below(&procs, me);
    let mut escaped: Vec<Proc> = Vec::new();
    // Bounded: each pass kills what the previous one found; their children come back to us.
    for _pass in 0..16 {
        let live = match procfs::all_processes() {
            Ok(all) => procfs::descendants_in(&all, me, false),
            Err(_) => break,
        };
        let fresh: Vec<ProcEntry> = live
            .into_iter()
            .filter(|p| !escaped.iter().any(|e| e.pid == p.pid))
            .collect();
        if fresh.is_empty() {
            break;
        }
        for p in fresh {
            // The start time check keeps a recycled pid safe from this kill.
            if procfs::read_stat(p.pid).is_ok_and(|now| now.start_time == p.start_time) {
                send(p.pid, Signal::KILL);
            }
            escaped.push(Proc {
                pid: p.pid,
                comm: p.comm,
            });
        }
        reap_children(Duration::from_millis(200));
    }
    reap_children(Duration::ZERO);
    (escaped, zombies)
}

/// Zombies whose parent is `root` or below it: processes nobody reaped.
fn zombies_below(procs: &[ProcEntry], root: i32) -> u32 {
    let mut parents: Vec<i32> = procfs::descendants_in(procs, root, false)
        .iter()
        .map(|p| p.pid)
        .collect();
    parents.push(root);
    procs
        .iter()
        .filter(|p| p.state == b'Z' && parents.contains(&p.ppid))
        .count() as u32
}

/// Reaps every exited child of pidone-check, waiting up to `patience` for killed ones to exit.
fn reap_children(patience: Duration) {
    let deadline = Instant::now() + patience;
    while reaper::reap_all().children_left && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_found_like_execvp_does() {
        assert_eq!(find_command(OsStr::new("sh")), Ok(()));
        assert_eq!(find_command(OsStr::new("/bin/sh")), Ok(()));
        assert_eq!(
            find_command(OsStr::new("no-such-command-pidone")),
            Err("cannot run 'no-such-command-pidone': command not found".to_owned())
        );
        assert_eq!(
            find_command(OsStr::new("/no/such/file")),
            Err("cannot run '/no/such/file': No such file or directory".to_owned())
        );
        let plain = std::env::temp_dir().join(format!("pidone-check-plain-{}", std::process::id()));
        std::fs::write(&plain, b"not a program").unwrap();
        let result = find_command(plain.as_os_str());
        std::fs::remove_file(&plain).unwrap();
        assert_eq!(
            result,
            Err(format!("cannot run '{}': Permission denied", plain.display()))
        );
        assert_eq!(
            find_command(OsStr::new("/tmp")),
            Err("cannot run '/tmp': Is a directory".to_owned())
        );
    }

    #[test]
    fn zombies_are_counted_below_the_root_only() {
        let e = |pid, ppid, state| ProcEntry {
            pid,
            ppid,
            comm: String::new(),
            state,
            start_time: 0,
        };
        let procs = vec![
            e(10, 1, b'S'),
            e(11, 10, b'S'),
            e(12, 11, b'Z'),
            e(13, 10, b'Z'),
            e(14, 1, b'Z'),
        ];
        assert_eq!(zombies_below(&procs, 10), 2);
    }
}
