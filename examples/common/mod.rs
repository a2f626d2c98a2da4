//! Helpers shared by the example applications (graceful, ignore_term, leaky, slow_stop).
//!
//! Signals are blocked and taken with sigwaitinfo(2) instead of handlers: nothing runs in signal
//! context, and a blocked signal is queued even when the process is PID 1 (where a signal left at
//! its default action is dropped by the kernel). Forked children inherit the mask, so they can
//! never miss a signal sent before they start waiting.
#![allow(dead_code)] // each example uses a different subset

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::exit;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static NAME: OnceLock<&'static str> = OnceLock::new();

/// Sets the prefix of every line printed (the example's name).
pub fn set_name(name: &'static str) {
    let _ = NAME.set(name);
}

fn name() -> &'static str {
    NAME.get().copied().unwrap_or("example")
}

/// Prints one line on stdout and flushes it, so it shows up in `docker logs` at once. Errors
/// (a closed pipe) are ignored: losing a log line must not kill the application.
pub fn say(msg: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}: {msg}", name());
    let _ = out.flush();
}

pub fn die(code: i32, msg: &str) -> ! {
    eprintln!("{}: {msg}", name());
    exit(code)
}

pub fn ready(ready_file: Option<&Path>) {
    if let Some(path) = ready_file {
        // Write then rename, so whoever polls for the file never sees it half-written.
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let pid = format!("{}\n", std::process::id());
        if let Err(e) = std::fs::write(&tmp, pid).and_then(|()| std::fs::rename(&tmp, path)) {
            die(1, &format!("cannot create {}: {e}", path.display()));
        }
    }
    say("ready");
}

/// Prints `NAME: got SIGxxx`.
pub fn got(sig: i32) {
    say(&format!("got {}", sig_name(sig)));
}

/// Blocks every signal that can be caught except SIGCHLD (left at its default so that child exits
/// are not reported as received signals) and returns the set to wait on.
pub fn block_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before any other use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t; sigaddset fails harmlessly (EINVAL) for the numbers the C
    // library reserves (32, 33) and for SIGKILL/SIGSTOP, which cannot be blocked anyway.
    unsafe {
        libc::sigemptyset(&mut set);
        for sig in 1..=libc::SIGRTMAX() {
            if sig != libc::SIGCHLD && sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::sigaddset(&mut set, sig);
            }
        }
    }
    // SAFETY: `set` is initialised; a null old-set pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        die(
            1,
            &format!("pthread_sigmask: {}", std::io::Error::from_raw_os_error(rc)),
        );
    }
    set
}

/// Waits for one of the blocked signals, until `deadline` if given. None means the deadline passed.
pub fn wait_signal(set: &libc::sigset_t, deadline: Option<Instant>) -> Option<i32> {
    loop {
        let rc = match deadline {
            // SAFETY: `set` is initialised; a null siginfo pointer is allowed.
            None => unsafe { libc::sigwaitinfo(set, std::ptr::null_mut()) },
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return None;
                }
                let ts = libc::timespec {
                    tv_sec: left.as_secs() as _,
                    tv_nsec: left.subsec_nanos() as _,
                };
                // SAFETY: `set` and `ts` are valid for the call; a null siginfo pointer is allowed.
                unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &ts) }
            }
        };
        if rc > 0 {
            return Some(rc);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) | Some(libc::EAGAIN) => continue, // EAGAIN: timeout, re-checked above
            _ => die(1, &format!("sigwaitinfo: {err}")),
        }
    }
}

pub fn sig_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "HUP",
        libc::SIGINT => "INT",
        libc::SIGQUIT => "QUIT",
        libc::SIGILL => "ILL",
        libc::SIGTRAP => "TRAP",
        libc::SIGABRT => "ABRT",
        libc::SIGBUS => "BUS",
        libc::SIGFPE => "FPE",
        libc::SIGUSR1 => "USR1",
        libc::SIGSEGV => "SEGV",
        libc::SIGUSR2 => "USR2",
        libc::SIGPIPE => "PIPE",
        libc::SIGALRM => "ALRM",
        libc::SIGTERM => "TERM",
        libc::SIGSTKFLT => "STKFLT",
        libc::SIGCONT => "CONT",
        libc::SIGTSTP => "TSTP",
        libc::SIGTTIN => "TTIN",
        libc::SIGTTOU => "TTOU",
        libc::SIGURG => "URG",
        libc::SIGXCPU => "XCPU",
        libc::SIGXFSZ => "XFSZ",
        libc::SIGVTALRM => "VTALRM",
        libc::SIGPROF => "PROF",
        libc::SIGWINCH => "WINCH",
        libc::SIGIO => "IO",
        libc::SIGPWR => "PWR",
        libc::SIGSYS => "SYS",
        s if s == libc::SIGRTMIN() => "RTMIN",
        s if s > libc::SIGRTMIN() && s <= libc::SIGRTMAX() => {
            return format!("SIGRTMIN+{}", s - libc::SIGRTMIN());
        }
        s => return format!("signal {s}"),
    };
    format!("SIG{name}")
}

/// The command line's `--name value` options, read one name at a time:
///
/// ```text
/// let mut args = Options::new();
/// while let Some(name) = args.next_name() {
///     match name.as_str() {
///         "--port" => port = number(args.value()?)?,
///         _ => return Err(args.unknown()),
///     }
/// }
/// ```
pub struct Options {
    args: std::iter::Skip<std::env::ArgsOs>,
    name: String,
}

impl Options {
    pub fn new() -> Options {
        Options {
            args: std::env::args_os().skip(1),
            name: String::new(),
        }
    }

    /// The next option's name, or None at the end. A name that is not UTF-8 is decoded lossily,
    /// so it matches no option and is reported as unknown.
    pub fn next_name(&mut self) -> Option<String> {
        self.name = self.args.next()?.to_string_lossy().into_owned();
        Some(self.name.clone())
    }

    /// The value that follows the option's name.
    pub fn value(&mut self) -> Result<OsString, String> {
        self.args.next().ok_or(format!("{} needs a value", self.name))
    }

    /// The error for a name that is no option.
    pub fn unknown(&self) -> String {
        format!("unknown argument {}", self.name)
    }
}

pub fn number<T: std::str::FromStr>(s: OsString) -> Result<T, String> {
    s.to_str()
        .and_then(|v| v.parse().ok())
        .ok_or(format!("bad number {}", s.to_string_lossy()))
}

/// `500ms`, `2s`, `1.5s` or a bare number of seconds.
pub fn duration(s: OsString) -> Result<Duration, String> {
    let bad = || format!("bad duration {} (want 500ms, 2s or seconds)", s.to_string_lossy());
    let v = s.to_str().ok_or_else(bad)?;
    if let Some(ms) = v.strip_suffix("ms") {
        return ms.parse().map(Duration::from_millis).map_err(|_| bad());
    }
    let secs: f64 = v.strip_suffix('s').unwrap_or(v).parse().map_err(|_| bad())?;
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}
