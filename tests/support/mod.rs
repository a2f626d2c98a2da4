//! Test launcher: runs a command as PID 1 of a fresh PID + mount namespace (or, for the
//! subreaper tests, as an ordinary process inside one) and returns its exact wait status.
//!
//! Why our own launcher: util-linux `unshare --fork` turns "killed by a signal" into exit 1,
//! and the test harness itself ignores SIGPIPE (Rust's runtime does that), which a plain
//! `Command` would pass on. Here the child starts with every disposition at default, an
//! empty signal mask (unless a test asks otherwise), only fds 0/1/2 plus the ones a test passes
//! on purpose, a minimal environment, and a fresh /proc that shows the new namespace.
//!
//! # API
//! ```ignore
//! mod support;
//! use support::*;
//!
//! // pidone as PID 1, run to completion (panics with the output if it takes longer than 10 s):
//! let out = Launch::pidone().args(["--", "true"]).run(Duration::from_secs(10));
//! assert_eq!(out.status, Status::Exited(0), "{out}");
//!
//! // Long-running: spawn, wait for readiness through a file, signal, then wait.
//! let dir = TempDir::new();
//! let ready = dir.path().join("ready");
//! let p = Launch::pidone().arg("--").arg(testkit()).args(["sleep", "--ready"]).arg(&ready).spawn();
//! wait_for_file(&ready, Duration::from_secs(10));
//! p.signal(libc::SIGTERM);          // kill(2) from the parent namespace
//! let out = p.wait_timeout(Duration::from_secs(10));
//! ```
//! Builder options (all before `spawn`/`run`):
//! - `Launch::new(path)` any program; `Launch::pidone()` = the pidone binary under test.
//! - `.arg(x)`, `.args([..])`, `.argv0("tini")` (what the program sees as argv[0]; PID 1 mode only).
//! - `.env(k, v)`: the environment is `PATH=<standard>` plus what you add (never the harness's).
//! - `.ignore_signal(sig)`, `.block_signal(sig)`: start the program with that inherited state.
//! - `.pass_fd(fd, target)`: the program gets a duplicate of `fd` as `target` (3..=99).
//! - `.cwd(path)`: start the program in that directory.
//! - `.tty()`: stdin is a pty that is the controlling terminal of the program's new session.
//! - `.host_proc()` (PID 1 mode only): keep the parent's /proc (no mount namespace).
//! - `.stderr_broken()`: stderr is a pipe nobody reads (writes fail with EPIPE/SIGPIPE).
//! - `.not_pid1()`: nested mode (below). `.sibling()` (nested only): see below.
//!
//! `Pid1` (the running namespace): `.pid` is the host pid of the namespace's PID 1;
//! `.children()` the host pids of its children;
//! `.signal(sig)` sends it a signal; `.is_running()`; `.wait_timeout(d) -> Outcome` (SIGKILLs the
//! namespace and panics with the output when `d` passes; the test fails instead of hanging).
//! Dropping an unwaited `Pid1` SIGKILLs the namespace.
//!
//! `Outcome`: `status` (`Status::Exited(code)` / `Status::Signaled(sig)`), `stdout`, `stderr`
//! (lossy UTF-8 strings), `elapsed` (spawn to exit), and `nested` (nested mode only). Its
//! `Display` shows everything, for assertion messages.
//!
//! # Nested mode (`.not_pid1()`)
//! PID 1 of the namespace is `testkit init`, a minimal init that runs the program as its child,
//! forwards every signal it gets (`Pid1::signal`) to it, reaps everything, and when the program
//! exits reports through a private pipe: the program's exact wait status, the processes still
//! alive in the namespace at that moment (`NestedReport::leftovers`: what pidone left behind),
//! and, with `.sibling()`, whether a process that init started *before* the program (so not a
//! descendant of it) was still alive. The namespace protects the machine: a pidone bug that
//! called `kill(-1, ...)` as a subreaper would only hit the namespace.
//!
//! Helpers: `pidone_bin()`, `example_bin(name)`, `testkit()`, `TempDir`, `wait_for_file`,
//! `monotonic_ns()` (CLOCK_MONOTONIC, the clock `testkit record` stamps signals with),
//! `.testkit([..])` (appends `-- TESTKIT ARGS...` to pidone's arguments), `start_recorder`
//! (pidone over `testkit record DIR/signals`, set up; `Recording` does it in a directory of its
//! own and stops it), `reap_orphans`, `write_file`, `assert_took` (a duration within bounds),
//! and `pid1_and_nested!` (one check as two tests: as PID 1 and not).
//!
//! Tests may run in parallel: every launch has its own namespaces, pipes and temp dir.
#![allow(dead_code)]

use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The fd `testkit init` writes its report to (high, so it never collides with a test's fd).
pub const STATUS_FD: i32 = 200;
const STANDARD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The pidone binary under test.
pub fn pidone_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pidone"))
}

/// An example application of this package (`cargo test` builds every example).
pub fn example_bin(name: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(format!("{name}.rs"));
    built_binary(&Path::new("examples").join(name), &source)
}

/// A helper program of the `testkit/` package (testkit, hard_probe). `cargo test` does not
/// build another package's programs: `cargo build --release` does (scripts/test.sh runs it).
pub fn helper_bin(name: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testkit/src/bin")
        .join(format!("{name}.rs"));
    built_binary(Path::new(name), &source)
}

/// `relative` under this test binary's profile directory, refused when missing or older than
/// its source (a stale helper would test yesterday's behaviour).
fn built_binary(relative: &Path, source: &Path) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>-<hash> -> target/<profile>/<relative>
    let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = profile_dir.join(relative);
    let hint = "run `cargo build --release --workspace --all-targets` first (scripts/test.sh does)";
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {hint}", path.display()));
    if let Ok(changed) = std::fs::metadata(source).and_then(|m| m.modified()) {
        assert!(
            built >= changed,
            "{} is older than {}: {hint}",
            path.display(),
            source.display()
        );
    }
    path
}

/// The multi-tool test helper (testkit/src/bin/testkit.rs).
pub fn testkit() -> PathBuf {
    helper_bin("testkit")
}

/// The probe of pidone's hardening and security (testkit/src/bin/hard_probe.rs).
pub fn hard_probe() -> PathBuf {
    helper_bin("hard_probe")
}

/// `pidone PIDONE_ARGS -- testkit ignore TERM`, sent SIGTERM once the child is ready and run
/// to the end: how pidone stops a child that ignores the stop signal.
pub fn stop_a_term_ignorer(pidone_args: &[&str], wait: Duration, timeout: Duration) -> Outcome {
    let dir = TempDir::new();
    let ready = dir.join("ready");
    let p = Launch::pidone()
        .args(pidone_args)
        .testkit(["ignore", "TERM", "--ready"])
        .spawn_ready(&ready, wait);
    p.signal(libc::SIGTERM);
    p.wait_timeout(timeout)
}

/// Runs `pidone --report json -- testkit orphans N` (N orphans that exit at once) to the end,
/// checks that it exited 0 having reaped exactly those N, and returns the outcome.
pub fn reap_orphans(launch: Launch, n: u32, timeout: Duration) -> Outcome {
    let out = launch
        .args(["--report", "json", "--"])
        .arg(testkit())
        .args(["orphans", &n.to_string()])
        .run(timeout);
    out.assert_code(0);
    assert_eq!(out.report_json().get("reaped").as_i64(), i64::from(n), "{out}");
    out
}

/// CLOCK_MONOTONIC in nanoseconds (the same clock in every PID namespace).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A fresh directory under the temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "pidone-test-{}-{}-{}",
            std::process::id(),
            n,
            monotonic_ns()
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `dir/name` with `content` and permission bits `mode`; returns its path.
pub fn write_file(dir: &TempDir, name: &str, content: &[u8], mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// Waits until `path` exists; panics after `timeout`. (Polling a file with a deadline is the
/// readiness protocol: the program creates the file once it is set up.)
pub fn wait_for_file(path: &Path, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} did not appear within {timeout:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until `cond()` holds; panics with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The lines `testkit record` wrote: (signal name, CLOCK_MONOTONIC ns when it arrived).
pub fn records(path: &Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (name, ns) = l.split_once(' ')?;
            Some((name.to_string(), ns.parse().ok()?))
        })
        .collect()
}

/// Just the signal names `testkit record` wrote, in order.
pub fn record_names(path: &Path) -> Vec<String> {
    records(path).into_iter().map(|(n, _)| n).collect()
}

/// Waits until `testkit record` has logged `name`; returns its arrival time (ns).
pub fn wait_for_record(path: &Path, name: &str, timeout: Duration) -> u64 {
    let mut at = 0;
    wait_until(
        &format!("{name} in {}", path.display()),
        timeout,
        || match records(path).into_iter().find(|(n, _)| n == name) {
            Some((_, ns)) => {
                at = ns;
                true
            }
            None => false,
        },
    );
    at
}

/// Starts `pidone PIDONE_ARGS -- testkit record DIR/signals RECORD_ARGS` and waits until the
/// recorder is set up (`DIR/signals.ready`).
pub fn start_recorder(launch: Launch, pidone_args: &[&str], record_args: &[&str], dir: &TempDir) -> Pid1 {
    let file = dir.join("signals");
    let p = launch
        .args(pidone_args)
        .testkit([OsStr::new("record"), file.as_os_str()])
        .args(record_args)
        .spawn();
    wait_for_file(&dir.join("signals.ready"), Duration::from_secs(10));
    p
}

/// pidone over `testkit record` ([`start_recorder`]) in a directory of its own.
pub struct Recording {
    pub p: Pid1,
    /// Where the recorder logs the signals it gets.
    pub file: PathBuf,
    pub dir: TempDir,
}

impl Recording {
    pub fn start(launch: Launch, pidone_args: &[&str], record_args: &[&str]) -> Recording {
        let dir = TempDir::new();
        let p = start_recorder(launch, pidone_args, record_args, &dir);
        Recording {
            p,
            file: dir.join("signals"),
            dir,
        }
    }

    /// Sends `sig` and waits (up to `timeout`) for pidone to exit with `code`: the outcome, and
    /// the names of the signals the recorder got, in order. The directory goes with it: what
    /// is still to be read after the stop belongs in one of the test's own.
    pub fn stop(self, sig: i32, code: i32, timeout: Duration) -> (Outcome, Vec<String>) {
        self.p.signal(sig);
        let out = self.p.wait_timeout(timeout);
        out.assert_code(code);
        (out, record_names(&self.file))
    }
}

/// Asserts `lo <= took < hi` (seconds), naming `what` and showing `context` when not.
pub fn assert_took(took: Duration, lo: f64, hi: f64, what: &str, context: &dyn fmt::Display) {
    assert!(
        took >= Duration::from_secs_f64(lo) && took < Duration::from_secs_f64(hi),
        "{what} took {took:?}, expected {lo}s to {hi}s: {context}"
    );
}

/// Two tests running one check, `fn(Launch)`: with pidone as PID 1 and as a subreaper under
/// a tiny init (`.not_pid1()`). `check(bool)` for a `fn(nested: bool)`, for a check that must
/// also know which of the two it is (to find pidone's pid, or to expect a nested report).
#[macro_export]
macro_rules! pid1_and_nested {
    ($check:ident: $as_pid1:ident, $not_pid1:ident) => {
        #[test]
        fn $as_pid1() {
            $check(Launch::pidone());
        }

        #[test]
        fn $not_pid1() {
            $check(Launch::pidone().not_pid1());
        }
    };
    ($check:ident(bool): $as_pid1:ident, $not_pid1:ident) => {
        #[test]
        fn $as_pid1() {
            $check(false);
        }

        #[test]
        fn $not_pid1() {
            $check(true);
        }
    };
}

/// Children of a (host) pid, from /proc/PID/task/PID/children.
pub fn children_of(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The first child of a (host) pid, waited for (up to 10s) if it has none yet.
pub fn first_child(pid: i32) -> i32 {
    let mut child = 0;
    wait_until("a child", Duration::from_secs(10), || {
        child = children_of(pid).first().copied().unwrap_or(0);
        child != 0
    });
    child
}

/// Like [`wait_for_file`] but returns whether it appeared.
pub fn file_appears(path: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while !path.exists() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// How the program ended, exactly as wait(2) said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Exited(i32),
    Signaled(i32),
}

impl Status {
    pub fn from_raw(raw: i32) -> Status {
        if libc::WIFEXITED(raw) {
            Status::Exited(libc::WEXITSTATUS(raw))
        } else if libc::WIFSIGNALED(raw) {
            Status::Signaled(libc::WTERMSIG(raw))
        } else {
            panic!("unexpected wait status {raw:#x}")
        }
    }
}

/// A process that was still alive in the namespace when the program exited (nested mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leftover {
    pub pid: i32,
    pub state: String,
    pub comm: String,
}

/// What `testkit init` saw (nested mode only).
#[derive(Clone, Debug, Default)]
pub struct NestedReport {
    /// `Some(true)` if the sibling was alive when the program exited; `None` without `.sibling()`.
    pub sibling_alive: Option<bool>,
    /// Processes other than init and the sibling that were still there (zombies included).
    pub leftovers: Vec<Leftover>,
}

#[derive(Debug)]
pub struct Outcome {
    pub status: Status,
    /// stdout as bytes (arguments are byte-exact; `stdout` is the lossy text).
    pub stdout_bytes: Vec<u8>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub nested: Option<NestedReport>,
}

impl Outcome {
    /// The exit code; panics (with the output) if the program was killed by a signal.
    pub fn code(&self) -> i32 {
        match self.status {
            Status::Exited(code) => code,
            Status::Signaled(_) => panic!("expected an exit, got {self}"),
        }
    }

    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.status, Status::Exited(code), "{self}");
    }

    /// stderr lines that start with `pidone:`.
    pub fn pidone_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("pidone:")).collect()
    }

    /// The JSON exit report (`--report json`): the last stderr line starting with `{`.
    pub fn report_json(&self) -> Json {
        let line = self
            .stderr
            .lines()
            .rfind(|l| l.starts_with('{'))
            .unwrap_or_else(|| panic!("no JSON report line: {self}"));
        Json::parse(line).unwrap_or_else(|| panic!("invalid JSON report line {line:?}: {self}"))
    }

    pub fn nested(&self) -> &NestedReport {
        self.nested.as_ref().expect("not a nested-mode outcome")
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "status {:?} after {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.status, self.elapsed, self.stdout, self.stderr
        )?;
        if let Some(n) = &self.nested {
            write!(
                f,
                "--- nested ---\nsibling alive: {:?}\nleftovers: {:?}\n",
                n.sibling_alive, n.leftovers
            )?;
        }
        Ok(())
    }
}

/// What to run and with which inherited state.
pub struct Launch {
    program: PathBuf,
    args: Vec<OsString>,
    argv0: Option<OsString>,
    env: Vec<(OsString, OsString)>,
    ignore: Vec<i32>,
    block: Vec<i32>,
    pass: Vec<(OwnedFd, i32)>,
    cwd: Option<PathBuf>,
    nested: bool,
    sibling: bool,
    stderr_broken: bool,
    host_proc: bool,
    tty: bool,
}

impl Launch {
    pub fn new(program: impl AsRef<Path>) -> Launch {
        Launch {
            program: program.as_ref().to_path_buf(),
            args: Vec::new(),
            argv0: None,
            env: vec![("PATH".into(), STANDARD_PATH.into())],
            ignore: Vec::new(),
            block: Vec::new(),
            pass: Vec::new(),
            cwd: None,
            nested: false,
            sibling: false,
            stderr_broken: false,
            host_proc: false,
            tty: false,
        }
    }

    pub fn pidone() -> Launch {
        Launch::new(pidone_bin())
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Launch {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Launch {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Appends `-- TESTKIT ARGS...`: pidone's own arguments come first.
    pub fn testkit<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(self, args: I) -> Launch {
        self.arg("--").arg(testkit()).args(args)
    }

    /// Appends `-- HARD_PROBE ARGS...`: pidone's own arguments come first.
    pub fn hard_probe<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(self, args: I) -> Launch {
        self.arg("--").arg(hard_probe()).args(args)
    }

    pub fn argv0(mut self, argv0: impl AsRef<OsStr>) -> Launch {
        self.argv0 = Some(argv0.as_ref().to_os_string());
        self
    }

    /// Adds (or replaces) an environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Launch {
        let key = key.as_ref().to_os_string();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.as_ref().to_os_string()));
        self
    }

    pub fn ignore_signal(mut self, sig: i32) -> Launch {
        self.ignore.push(sig);
        self
    }

    pub fn block_signal(mut self, sig: i32) -> Launch {
        self.block.push(sig);
        self
    }

    /// The program gets a copy of `fd` as fd `target` (3..=99), without close-on-exec.
    pub fn pass_fd(mut self, fd: &impl AsRawFd, target: i32) -> Launch {
        assert!((3..100).contains(&target), "pass_fd target must be 3..=99");
        // SAFETY: F_DUPFD_CLOEXEC on a valid fd returns a new fd we own.
        let dup = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
        assert!(dup >= 0, "dup: {}", std::io::Error::last_os_error());
        // SAFETY: dup is a fresh fd nobody else owns.
        self.pass.push((unsafe { OwnedFd::from_raw_fd(dup) }, target));
        self
    }

    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Launch {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Run the program as an ordinary process (not PID 1) under `testkit init`.
    pub fn not_pid1(mut self) -> Launch {
        self.nested = true;
        self
    }

    /// [`Launch::not_pid1`] when `nested`, else unchanged: one check in either mode.
    pub fn not_pid1_if(self, nested: bool) -> Launch {
        if nested { self.not_pid1() } else { self }
    }

    /// Nested mode: init also starts a process that is not a descendant of the program, and
    /// reports whether it survived.
    pub fn sibling(mut self) -> Launch {
        self.sibling = true;
        self.nested = true;
        self
    }

    /// stderr is a pipe whose read end is already closed: every write gets EPIPE (and SIGPIPE).
    /// `Outcome::stderr` is then empty.
    pub fn stderr_broken(mut self) -> Launch {
        self.stderr_broken = true;
        self
    }

    /// PID 1 mode only: no new mount namespace and no fresh /proc, so the program sees the
    /// parent namespace's /proc (what `unshare --pid --fork` without `--mount-proc` gives).
    pub fn host_proc(mut self) -> Launch {
        self.host_proc = true;
        self
    }

    /// stdin is the slave side of a fresh pseudo-terminal that is the controlling terminal of
    /// a new session led by the program (as under `docker run -t`).
    pub fn tty(mut self) -> Launch {
        self.tty = true;
        self
    }

    pub fn run(self, timeout: Duration) -> Outcome {
        self.spawn().wait_timeout(timeout)
    }

    pub fn spawn(self) -> Pid1 {
        spawn(self)
    }

    /// Appends `ready` (the file the child writes once it is up), spawns, and returns once the
    /// file exists: the usual start of a test that signals a running child.
    pub fn spawn_ready(self, ready: &Path, timeout: Duration) -> Pid1 {
        let p = self.arg(ready).spawn();
        wait_for_file(ready, timeout);
        p
    }
}

fn cstring(bytes: &[u8]) -> CString {
    CString::new(bytes).expect("NUL byte in an argument")
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: two fresh fds that nothing else owns.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Reads a pipe to EOF on a thread; the result comes back through a channel so the wait can
/// have a deadline even if something keeps the write end open.
fn reader(fd: OwnedFd) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut file = std::fs::File::from(fd);
        let mut buf = Vec::new();
        let _ = file.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Everything the child needs, prepared before clone: the child must not allocate (another
/// test thread may hold the allocator's lock at the moment of the clone).
struct Prepared {
    path: CString,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    cwd: Option<CString>,
    ignore: Vec<i32>,
    /// The kernel's signal mask (rt_sigprocmask's 8-byte set).
    mask: u64,
    stdio: [RawFd; 3],
    pass: Vec<(RawFd, i32)>,
    tmp: Vec<RawFd>,
    sync_read: Option<RawFd>,
    mount_proc: bool,
    /// Make stdin (the pty slave) the controlling terminal of a new session.
    ctty: bool,
}

fn spawn(launch: Launch) -> Pid1 {
    let Launch {
        program,
        args,
        argv0,
        env,
        ignore,
        block,
        mut pass,
        cwd,
        nested,
        sibling,
        stderr_broken,
        host_proc,
        tty,
    } = launch;

    // Nested: testkit init [--sibling] -- PROGRAM ARGS...
    let (exec_path, argv_strings): (PathBuf, Vec<OsString>) = if nested {
        assert!(argv0.is_none(), "argv0 is only supported in PID 1 mode");
        assert!(!host_proc, "host_proc is only supported in PID 1 mode");
        let mut v: Vec<OsString> = vec![testkit().into_os_string(), "init".into()];
        if sibling {
            v.push("--sibling".into());
        }
        v.push("--".into());
        v.push(program.clone().into_os_string());
        v.extend(args);
        (testkit(), v)
    } else {
        let mut v = vec![argv0.unwrap_or_else(|| program.clone().into_os_string())];
        v.extend(args);
        (program, v)
    };
    let path = cstring(exec_path.as_os_str().as_bytes());
    let arg_c: Vec<CString> = argv_strings.iter().map(|a| cstring(a.as_bytes())).collect();
    let env_c: Vec<CString> = env
        .iter()
        .map(|(k, v)| {
            let mut kv = k.clone().into_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            cstring(&kv)
        })
        .collect();
    let mut argv: Vec<*const libc::c_char> = arg_c.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env_c.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    let cwd_c = cwd.map(|c| cstring(c.as_os_str().as_bytes()));

    // The kernel's mask, one bit per signal: glibc's sigset functions refuse its reserved
    // signals 32 and 33, which a test may want blocked.
    let mask = block.iter().fold(0u64, |m, &sig| {
        assert!((1..=64).contains(&sig), "bad signal {sig}");
        m | 1 << (sig - 1)
    });

    let (out_r, out_w) = pipe();
    let (err_r, err_w) = pipe();
    let devnull = std::fs::File::open("/dev/null").expect("open /dev/null");
    let pty = tty.then(|| {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: valid out-pointers; no name, termios or window size wanted.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: two fresh fds we own; close-on-exec so no other test's child inherits them.
        unsafe {
            libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
            libc::fcntl(slave, libc::F_SETFD, libc::FD_CLOEXEC);
            (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave))
        }
    });
    let status_pipe = nested.then(pipe);
    if let Some((_, w)) = &status_pipe {
        // SAFETY: dup of a valid fd; we own the result.
        let dup = unsafe { libc::fcntl(w.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
        assert!(dup >= 0);
        // SAFETY: fresh fd.
        pass.push((unsafe { OwnedFd::from_raw_fd(dup) }, STATUS_FD));
    }

    // SAFETY: geteuid never fails.
    let userns = unsafe { libc::geteuid() } != 0;
    let sync = userns.then(pipe);

    let prepared = Prepared {
        path,
        argv,
        envp,
        cwd: cwd_c,
        ignore,
        mask,
        stdio: [
            pty.as_ref()
                .map_or(devnull.as_raw_fd(), |(_, slave)| slave.as_raw_fd()),
            out_w.as_raw_fd(),
            err_w.as_raw_fd(),
        ],
        pass: pass.iter().map(|(fd, t)| (fd.as_raw_fd(), *t)).collect(),
        tmp: vec![-1; pass.len()],
        sync_read: sync.as_ref().map(|(r, _)| r.as_raw_fd()),
        mount_proc: !host_proc,
        ctty: tty,
    };

    let mut flags = libc::CLONE_NEWPID | libc::SIGCHLD;
    if !host_proc {
        flags |= libc::CLONE_NEWNS;
    }
    if userns {
        flags |= libc::CLONE_NEWUSER;
    }
    let start = Instant::now();
    // SAFETY: raw clone without a new stack has fork semantics; the child only runs
    // `child_after_clone`, which makes async-signal-safe calls on prepared data and never returns.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid == 0 {
        // SAFETY: we are the freshly cloned child.
        unsafe { child_after_clone(&prepared) }
    }
    assert!(pid > 0, "clone: {}", std::io::Error::last_os_error());
    let pid = pid as i32;

    if let Some((_, w)) = &sync {
        // SAFETY: getuid/getgid never fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        std::fs::write(format!("/proc/{pid}/setgroups"), "deny").expect("setgroups");
        std::fs::write(format!("/proc/{pid}/uid_map"), format!("0 {uid} 1")).expect("uid_map");
        std::fs::write(format!("/proc/{pid}/gid_map"), format!("0 {gid} 1")).expect("gid_map");
        // SAFETY: writing one byte from a valid buffer.
        unsafe { libc::write(w.as_raw_fd(), b"x".as_ptr().cast(), 1) };
    }
    // The child's ends: closing ours is what lets the readers see EOF. The pty master stays
    // open as long as the namespace runs (closing it would hang up the terminal).
    let pty_master = pty.map(|(master, _slave)| master);
    drop((out_w, err_w, devnull, pass, sync));
    let status_rx = status_pipe.map(|(r, w)| {
        drop(w);
        reader(r)
    });

    // SAFETY: pidfd_open on our own unreaped child.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    assert!(pidfd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) };

    Pid1 {
        pid,
        pidfd,
        start,
        stdout: Some(reader(out_r)),
        stderr: if stderr_broken {
            drop(err_r);
            None
        } else {
            Some(reader(err_r))
        },
        status: status_rx,
        reaped: false,
        _pty_master: pty_master,
    }
}

/// Runs in the cloned child. Async-signal-safe calls only, on data prepared before the clone.
unsafe fn child_after_clone(p: &Prepared) -> ! {
    fn fail(msg: &[u8]) -> ! {
        // SAFETY: write and _exit are async-signal-safe; msg is a valid buffer.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(250)
        }
    }
    // SAFETY: all pointers below are valid for the life of the process (prepared before clone).
    unsafe {
        if let Some(fd) = p.sync_read {
            let mut byte = 0u8;
            libc::read(fd, (&mut byte as *mut u8).cast(), 1);
        }
        let null = std::ptr::null();
        if p.mount_proc
            && libc::mount(
                null,
                c"/".as_ptr(),
                null,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
        {
            fail(b"launcher: cannot make / private\n");
        }
        if p.mount_proc
            && libc::mount(
                c"proc".as_ptr(),
                c"/proc".as_ptr(),
                c"proc".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                std::ptr::null(),
            ) != 0
        {
            fail(b"launcher: cannot mount /proc\n");
        }
        // Move the fds to pass out of the way of their targets, then mark every fd >= 3
        // close-on-exec (the harness and parallel tests may have others open), then place them.
        let tmp = p.tmp.as_ptr() as *mut RawFd;
        for (i, (src, _)) in p.pass.iter().enumerate() {
            let fd = libc::fcntl(*src, libc::F_DUPFD_CLOEXEC, 512);
            if fd < 0 {
                fail(b"launcher: dup failed\n");
            }
            *tmp.add(i) = fd;
        }
        if libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as libc::c_int) != 0 {
            fail(b"launcher: close_range failed\n");
        }
        if p.ctty && (libc::setsid() < 0 || libc::ioctl(p.stdio[0], libc::TIOCSCTTY, 0) != 0) {
            fail(b"launcher: cannot set up the controlling terminal\n");
        }
        for (target, src) in p.stdio.iter().enumerate() {
            if libc::dup2(*src, target as i32) < 0 {
                fail(b"launcher: dup2 stdio failed\n");
            }
        }
        for (i, (_, target)) in p.pass.iter().enumerate() {
            if libc::dup2(*tmp.add(i), *target) < 0 {
                fail(b"launcher: dup2 failed\n");
            }
        }
        // The harness ignores SIGPIPE (and whoever started it may have ignored others, glibc's
        // reserved 32 and 33 included); an ignored disposition survives exec. Reset them all
        // with the raw syscall, which, unlike glibc's wrapper, accepts 32 and 33. An all-zero
        // kernel sigaction is SIG_DFL with no flags and an empty mask.
        let dfl = [0u64; 4];
        for sig in 1..=libc::SIGRTMAX() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    dfl.as_ptr(),
                    std::ptr::null::<u64>(),
                    8usize,
                );
            }
        }
        for &sig in &p.ignore {
            libc::signal(sig, libc::SIG_IGN);
        }
        // The raw syscall: glibc's sigprocmask drops 32 and 33 from the set.
        if libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &p.mask as *const u64,
            std::ptr::null::<u64>(),
            8usize,
        ) != 0
        {
            fail(b"launcher: rt_sigprocmask failed\n");
        }
        if let Some(dir) = &p.cwd
            && libc::chdir(dir.as_ptr()) != 0
        {
            fail(b"launcher: chdir failed\n");
        }
        libc::execve(p.path.as_ptr(), p.argv.as_ptr(), p.envp.as_ptr());
        fail(b"launcher: execve failed\n")
    }
}

/// A running namespace.
pub struct Pid1 {
    /// Host pid of the namespace's PID 1 (pidone itself, or `testkit init` in nested mode).
    pub pid: i32,
    pidfd: OwnedFd,
    start: Instant,
    stdout: Option<mpsc::Receiver<Vec<u8>>>,
    stderr: Option<mpsc::Receiver<Vec<u8>>>,
    status: Option<mpsc::Receiver<Vec<u8>>>,
    reaped: bool,
    _pty_master: Option<OwnedFd>,
}

impl Pid1 {
    /// kill(2) from the parent namespace. In nested mode, init forwards it to the program.
    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill on our own unreaped child (it can not be a recycled pid).
        let rc = unsafe { libc::kill(self.pid, sig) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Host pids of the namespace PID 1's children (in nested mode: the program, and the
    /// sibling if any, which init starts first).
    pub fn children(&self) -> Vec<i32> {
        children_of(self.pid)
    }

    /// Whether the namespace's PID 1 is still running.
    pub fn is_running(&self) -> bool {
        !self.poll_exit(0)
    }

    fn poll_exit(&self, timeout_ms: i32) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
            if rc >= 0 {
                return rc > 0;
            }
            let err = std::io::Error::last_os_error();
            assert_eq!(err.raw_os_error(), Some(libc::EINTR), "poll: {err}");
        }
    }

    fn reap(&mut self) -> i32 {
        let mut raw = 0;
        loop {
            // SAFETY: waiting for our own child with a valid status pointer.
            let rc = unsafe { libc::waitpid(self.pid, &mut raw, 0) };
            if rc == self.pid {
                self.reaped = true;
                return raw;
            }
            let err = std::io::Error::last_os_error();
            assert_eq!(err.raw_os_error(), Some(libc::EINTR), "waitpid: {err}");
        }
    }

    fn collect_bytes(rx: &mut Option<mpsc::Receiver<Vec<u8>>>) -> Vec<u8> {
        rx.take()
            .and_then(|rx| rx.recv_timeout(Duration::from_secs(5)).ok())
            .unwrap_or_else(|| b"<output not closed within 5s>".to_vec())
    }

    fn collect(rx: &mut Option<mpsc::Receiver<Vec<u8>>>) -> String {
        String::from_utf8_lossy(&Self::collect_bytes(rx)).into_owned()
    }

    /// Waits for the namespace's PID 1 to exit. On timeout: SIGKILL, then panic with the output.
    pub fn wait_timeout(mut self, timeout: Duration) -> Outcome {
        let deadline = Instant::now() + timeout;
        let mut exited = false;
        while !exited {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            exited = self.poll_exit(left.as_millis().min(i32::MAX as u128) as i32 + 1);
        }
        let elapsed = self.start.elapsed();
        if !exited {
            // SAFETY: kill on our own unreaped child.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
        let raw = self.reap();
        let stdout_bytes = Self::collect_bytes(&mut self.stdout);
        let stderr = if self.stderr.is_some() {
            Self::collect(&mut self.stderr)
        } else {
            String::new()
        };
        let mut outcome = Outcome {
            status: Status::from_raw(raw),
            stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
            stdout_bytes,
            stderr,
            elapsed,
            nested: None,
        };
        if !exited {
            panic!("timed out after {timeout:?}; killed the namespace\n{outcome}");
        }
        if self.status.is_some() {
            let text = Self::collect(&mut self.status);
            assert_eq!(
                outcome.status,
                Status::Exited(0),
                "testkit init failed: {text}\n{outcome}"
            );
            let (status, nested) = parse_init_report(&text)
                .unwrap_or_else(|| panic!("bad report from testkit init: {text:?}\n{outcome}"));
            outcome.status = status;
            outcome.nested = Some(nested);
        }
        outcome
    }
}

fn parse_init_report(text: &str) -> Option<(Status, NestedReport)> {
    let mut status = None;
    let mut report = NestedReport::default();
    for line in text.lines() {
        let mut words = line.splitn(4, ' ');
        match words.next()? {
            "status" => status = Some(Status::from_raw(words.next()?.parse().ok()?)),
            "sibling" => report.sibling_alive = Some(words.next()? == "alive"),
            "leftover" => report.leftovers.push(Leftover {
                pid: words.next()?.parse().ok()?,
                state: words.next()?.to_string(),
                comm: words.next().unwrap_or("").to_string(),
            }),
            _ => return None,
        }
    }
    Some((status?, report))
}

impl Drop for Pid1 {
    fn drop(&mut self) {
        if !self.reaped {
            // SAFETY: kill and wait on our own unreaped child.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                let mut raw = 0;
                libc::waitpid(self.pid, &mut raw, 0);
            }
        }
    }
}

/// A parsed JSON value (a small strict parser, enough for pidone's report lines).
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// Parses exactly one JSON value (surrounding whitespace allowed); `None` if invalid.
    pub fn parse(text: &str) -> Option<Json> {
        let mut p = JsonParser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        (p.i == p.s.len()).then_some(v)
    }

    /// A field of an object; panics if absent (tests want to know).
    pub fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(fields) => {
                &fields
                    .iter()
                    .find(|(k, _)| k == key)
                    .unwrap_or_else(|| panic!("no field {key} in {self:?}"))
                    .1
            }
            _ => panic!("not an object: {self:?}"),
        }
    }

    pub fn keys(&self) -> Vec<&str> {
        match self {
            Json::Obj(fields) => fields.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    pub fn as_i64(&self) -> i64 {
        match self {
            Json::Num(n) if n.fract() == 0.0 => *n as i64,
            _ => panic!("not an integer: {self:?}"),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }

    pub fn as_array(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => panic!("not an array: {self:?}"),
        }
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    /// The comma-separated items of an array or object, from its opening bracket to `close`.
    fn items<T>(&mut self, close: &str, item: fn(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat(close) {
            return Some(items);
        }
        loop {
            items.push(item(self)?);
            self.ws();
            if self.eat(close) {
                return Some(items);
            }
            if !self.eat(",") {
                return None;
            }
        }
    }

    /// `"key": value` in an object.
    fn field(&mut self) -> Option<(String, Json)> {
        self.ws();
        let key = self.string()?;
        self.ws();
        if !self.eat(":") {
            return None;
        }
        Some((key, self.value()?))
    }

    fn value(&mut self) -> Option<Json> {
        self.ws();
        match *self.s.get(self.i)? {
            b'n' => self.eat("null").then_some(Json::Null),
            b't' => self.eat("true").then_some(Json::Bool(true)),
            b'f' => self.eat("false").then_some(Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => self.items("]", Self::value).map(Json::Arr),
            b'{' => self.items("}", Self::field).map(Json::Obj),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(self.s[self.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    self.i += 1;
                }
                std::str::from_utf8(&self.s[start..self.i])
                    .ok()?
                    .parse()
                    .ok()
                    .map(Json::Num)
            }
            _ => None,
        }
    }

    fn string(&mut self) -> Option<String> {
        if !self.eat("\"") {
            return None;
        }
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            self.i += 4;
                            let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => out.push(c),
            }
        }
    }
}
