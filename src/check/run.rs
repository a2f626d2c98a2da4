//! One run against the real OS: fork a supervisor, wait for readiness, send the stop signal,
//! collect the supervisor's report and look for anything left behind.
//!
//! The supervisor is a forked copy of this process running pidone's own loop
//! ([`crate::os::driver::supervise`]) with `--grace` set to `--within`; it sends its exit
//! report back over a pipe. Not being PID 1, it is a child subreaper, so orphans of the
//! application count as its descendants exactly as they would under pidone in a container.
//! pidone-check itself is a subreaper too, to catch anything that outlives the supervisor.
//! No threads: one `poll` loop relays the application's output and watches the report pipe.

use super::options::{CheckConfig, show_duration};
use super::probe::Probes;
use super::verdict::{Outcome, show_elapsed};
use super::wire;
use crate::config::{Config, Grace, LogFormat, ReportFormat};
use crate::os::procfs::{self, ProcEntry};
use crate::os::reaper;
use crate::os::{driver, errno_text, getpid, last_error, retry_eintr, write_all, write_stderr};
use crate::report::{Cause, ExitReport, Proc};
use crate::signal::Signal;
use crate::supervisor::ChildStatus;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
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
    // SAFETY: plain prctl.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) } != 0 {
        write_stderr(
            format!(
                "pidone-check: warning: cannot register as child subreaper: {}\n",
                last_error()
            )
            .as_bytes(),
        );
    }
}

/// Fails as the shell would, before anything is started: `command not found`, `Permission
/// denied`. The supervisor's exec would report the same, but only after forking.
pub fn find_command(command: &OsStr) -> Result<(), String> {
    let name = command.to_string_lossy();
    let cannot = |why: &str| format!("cannot run '{name}': {why}");
    let runnable = |path: &Path| -> Result<(), String> {
        let meta = std::fs::metadata(path).map_err(|e| cannot(&errno_text(e.raw_os_error().unwrap_or(0))))?;
        if meta.is_dir() {
            return Err(cannot("Is a directory"));
        }
        let c =
            CString::new(path.as_os_str().as_bytes()).map_err(|_| cannot("the name contains a NUL byte"))?;
        // SAFETY: a valid NUL-terminated path.
        if unsafe { libc::access(c.as_ptr(), libc::X_OK) } != 0 {
            return Err(cannot(&errno_text(last_error().raw_os_error().unwrap_or(0))));
        }
        Ok(())
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

/// pidone's configuration for the supervisor child.
fn supervisor_config(cfg: &CheckConfig) -> Config {
    let mut c = Config::new(cfg.command.clone());
    c.grace = Grace::After(cfg.within);
    // Leftovers get the rest of the budget, not the 2s default: during a stop the cleanup ends
    // at the grace deadline anyway.
    c.cleanup_grace = cfg.within;
    // TERM and INT stay stop signals so that Ctrl-C, or pidone-check's death (the parent-death
    // signal below), still stops the application within the grace.
    c.stop_signals = [Signal::TERM, Signal::INT, cfg.signal].into_iter().collect();
    c.parent_death_signal = Some(Signal::TERM);
    c.report = ReportFormat::Off;
    c
}

fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(last_error());
    }
    // SAFETY: two fresh descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn open_dev_null() -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated literal path.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(last_error());
    }
    // SAFETY: a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The forked supervisor: stdin from /dev/null (no terminal to hand over, no input to steal),
/// stdout and stderr to the relay pipe or to pidone-check's stderr, then pidone's loop.
fn supervisor_child(
    config: &Config,
    parent: i32,
    report: &OwnedFd,
    stdin: &OwnedFd,
    output: Option<&OwnedFd>,
) -> ! {
    // SAFETY: plain syscalls on descriptors this process owns; `_exit` skips destructors
    // that belong to the parent's copy of the state.
    unsafe {
        // Set here as well as in supervise(): a parent that died before this line would
        // otherwise leave the application running unsupervised.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong);
        if libc::getppid() != parent {
            libc::_exit(1);
        }
        let out = output.map_or(libc::STDERR_FILENO, AsRawFd::as_raw_fd);
        if libc::dup2(stdin.as_raw_fd(), libc::STDIN_FILENO) < 0
            || libc::dup2(out, libc::STDOUT_FILENO) < 0
            || libc::dup2(out, libc::STDERR_FILENO) < 0
        {
            let _ = write_all(
                report,
                &wire::encode(&Err(format!("cannot set up the output: {}", last_error()))),
            );
            libc::_exit(1);
        }
    }
    crate::logger::init(1, LogFormat::Text);
    let result = driver::supervise(config).map_err(|e| e.to_string());
    let _ = write_all(report, &wire::encode(&result));
    // SAFETY: leaving the forked copy without running the parent's destructors.
    unsafe { libc::_exit(0) }
}

/// The parent's ends of the pipes, read by one `poll` loop.
struct Pipes {
    output: Option<OwnedFd>,
    report: Option<OwnedFd>,
    report_bytes: Vec<u8>,
}

impl Pipes {
    /// Waits up to `timeout` for output or report bytes and handles what arrived.
    fn pump(&mut self, timeout: Duration, probes: &mut Probes) -> io::Result<()> {
        let mut fds: Vec<libc::pollfd> = [&self.output, &self.report]
            .into_iter()
            .flatten()
            .map(|fd| libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // Round up, so a wait for 0.4ms does not spin.
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        // SAFETY: fds is a live array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            let err = last_error();
            return if err.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(err)
            };
        }
        let mut buf = [0u8; 16384];
        for pfd in fds.iter().filter(|p| p.revents != 0) {
            // SAFETY: reading into a stack buffer from a descriptor we own.
            let got = retry_eintr(|| unsafe { libc::read(pfd.fd, buf.as_mut_ptr().cast(), buf.len()) })?;
            let bytes = &buf[..got as usize];
            let is_output = self.output.as_ref().is_some_and(|o| o.as_raw_fd() == pfd.fd);
            if is_output {
                if bytes.is_empty() {
                    probes.finish();
                    self.output = None;
                } else {
                    write_stderr(bytes);
                    probes.feed(bytes);
                }
            } else if bytes.is_empty() {
                self.report = None;
            } else {
                self.report_bytes.extend_from_slice(bytes);
            }
        }
        Ok(())
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

fn waitpid_blocking(pid: i32) -> io::Result<i32> {
    let mut status = 0;
    // SAFETY: status is a valid out-pointer.
    retry_eintr(|| unsafe { libc::waitpid(pid, &mut status, 0) })?;
    Ok(status)
}

fn progress(label: &str, text: &str) {
    write_stderr(format!("pidone-check: {label}: {text}\n").as_bytes());
}

/// Runs the cycle once. An error is a setup problem (exit 2), not a verdict on the application.
pub fn run_once(cfg: &CheckConfig, label: &str) -> Result<Outcome, String> {
    let start = Instant::now();
    let setup = |what: &'static str| move |e: io::Error| format!("{what}: {e}");
    let (report_r, report_w) = pipe_cloexec().map_err(setup("cannot create a pipe"))?;
    let output = if cfg.ready.logs.is_empty() {
        None
    } else {
        Some(pipe_cloexec().map_err(setup("cannot create a pipe"))?)
    };
    let stdin = open_dev_null().map_err(setup("cannot open /dev/null"))?;
    let config = supervisor_config(cfg);
    let me = getpid();

    // SAFETY: pidone-check is single-threaded; the child runs pidone's loop and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("cannot fork: {}", last_error()));
    }
    if pid == 0 {
        supervisor_child(&config, me, &report_w, &stdin, output.as_ref().map(|(_, w)| w));
    }
    drop(report_w);
    drop(stdin);
    let mut pipes = Pipes {
        output: output.map(|(r, _w)| r),
        report: Some(report_r),
        report_bytes: Vec::new(),
    };
    let mut probes = Probes::new(&cfg.ready);
    let io_error = |e: io::Error| format!("waiting for the application failed: {e}");

    // Readiness, until every probe holds, the timeout passes, or the supervisor is done.
    let ready_deadline = start + cfg.ready_timeout;
    let mut ready_after = None;
    while pipes.report.is_some() {
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
    if pipes.report.is_some() {
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
        // SAFETY: plain kill on our own unreaped child, so the pid can not have been reused.
        unsafe { libc::kill(pid, cfg.signal.raw()) };
        let sent = Instant::now();
        signal_at = Some(sent);
        let hard_deadline = sent + cfg.within + SUPERVISOR_SLACK;
        while pipes.report.is_some() {
            let now = Instant::now();
            if now >= hard_deadline && !hung {
                progress(label, "the supervisor did not finish in time; killing it");
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                hung = true;
            }
            let wait = hard_deadline.saturating_duration_since(now).max(POLL_INTERVAL);
            pipes.pump(wait, &mut probes).map_err(io_error)?;
        }
    } else {
        progress(label, "the application exited before the stop signal");
    }
    let finished = Instant::now();
    let status = waitpid_blocking(pid).map_err(|e| format!("cannot wait for the supervisor: {e}"))?;

    let (escaped, zombies_left) = clear_leftovers(me);
    // Everything is gone now, so the output pipe closes; a process pidone-check could not
    // see must not hold the run forever, though.
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while pipes.output.is_some() {
        let now = Instant::now();
        if now >= drain_deadline {
            break;
        }
        pipes.pump(drain_deadline - now, &mut probes).map_err(io_error)?;
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
            return Err(format!(
                "the supervisor failed (wait status {status:#x}): {garbled}"
            ));
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
                // SAFETY: plain kill.
                unsafe { libc::kill(p.pid, libc::SIGKILL) };
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
