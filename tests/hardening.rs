//! Fault tests (issue 6): pidone keeps reaping and exits with the right code whatever its
//! environment does: fork and exec failures, no usable /proc, no file descriptors left,
//! stopped children, closed stdio, process-group games, 100,000 orphans, signal storms,
//! SIGSTOP/SIGCONT sent to pidone itself.
//!
//! The misbehaving child is testkit/src/bin/hard_probe.rs. Tests that need pidone not to be PID 1 run
//! it in the launcher's nested mode (tests/support), so a stray kill can only hit the test's
//! own PID namespace.

mod support;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// State letter of a host pid from /proc/PID/stat ('S', 'T', 'Z', ...), None once it is gone.
fn proc_state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// Exit `code` and exactly one line on stderr, from pidone, containing `needle`: how every
/// failure to start is reported.
fn assert_one_pidone_line(out: &Outcome, code: i32, needle: &str) {
    assert_eq!(out.status, Status::Exited(code), "{out}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line: {out}");
    assert!(
        lines[0].starts_with("pidone: ") && lines[0].contains(needle),
        "wanted {needle:?}: {out}"
    );
}

/// A copy of the binaries a non-root uid can execute (the build directory may sit below a
/// directory only root can enter, such as /root).
struct Runnable {
    dir: TempDir,
}

impl Runnable {
    fn new() -> Runnable {
        let dir = TempDir::new();
        for (from, name) in [(pidone_bin(), "pidone"), (hard_probe(), "hard_probe")] {
            fs::copy(&from, dir.join(name)).expect("copy binary");
        }
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        Runnable { dir }
    }

    fn pidone(&self) -> PathBuf {
        self.dir.join("pidone")
    }

    fn probe(&self) -> PathBuf {
        self.dir.join("hard_probe")
    }
}

/// pidone (not PID 1) under `hard_probe wrap WRAP --`, which first sets up the limit, the
/// hidden /proc or the closed stdio that the test is about; pidone's arguments follow.
fn wrapped(wrap: &[&str], pidone: impl AsRef<std::ffi::OsStr>) -> Launch {
    Launch::new(hard_probe())
        .not_pid1()
        .arg("wrap")
        .args(wrap)
        .arg("--")
        .arg(pidone)
}

// ---------------------------------------------------------------------------------------------
// exec failures

struct ExecCase {
    what: &'static str,
    command: PathBuf,
    code: i32,
    reason: &'static str,
}

fn exec_cases(dir: &TempDir) -> Vec<ExecCase> {
    let write = |name: &str, content: &[u8], mode: u32| write_file(dir, name, content, mode);
    let not_executable = write("not-executable", b"#!/bin/sh\nexit 0\n", 0o644);
    let bad_interpreter = write("bad-interpreter", b"#!/nonexistent/interpreter\n", 0o755);
    let subdir = dir.join("a-directory");
    fs::create_dir(&subdir).unwrap();
    symlink(dir.join("loop-b"), dir.join("loop-a")).unwrap();
    symlink(dir.join("loop-a"), dir.join("loop-b")).unwrap();
    vec![
        ExecCase {
            what: "ENOENT, absolute",
            command: "/nonexistent/command".into(),
            code: 127,
            reason: "No such file or directory",
        },
        ExecCase {
            what: "ENOENT, PATH search",
            command: "pidone-no-such-command".into(),
            code: 127,
            reason: "No such file or directory",
        },
        ExecCase {
            what: "ENOENT, #! interpreter missing",
            command: bad_interpreter,
            code: 127,
            reason: "No such file or directory",
        },
        ExecCase {
            what: "EACCES, no x bit",
            command: not_executable,
            code: 126,
            reason: "Permission denied",
        },
        ExecCase {
            what: "EACCES, a directory",
            command: subdir,
            code: 126,
            reason: "Permission denied",
        },
        ExecCase {
            what: "ELOOP",
            command: dir.join("loop-a"),
            code: 1,
            reason: "Too many levels of symbolic links",
        },
        ExecCase {
            what: "ENAMETOOLONG",
            command: PathBuf::from(format!("/{}", "n".repeat(300))),
            code: 1,
            reason: "File name too long",
        },
        ExecCase {
            what: "ENOTDIR",
            command: "/etc/passwd/x".into(),
            code: 1,
            reason: "Not a directory",
        },
    ]
}

fn exec_failures(nested: bool) {
    let dir = TempDir::new();
    for case in exec_cases(&dir) {
        let launch = Launch::pidone()
            .arg("--")
            .arg(&case.command)
            .arg("arg")
            .not_pid1_if(nested);
        let out = launch.run(secs(10));
        assert_eq!(out.status, Status::Exited(case.code), "{}: {out}", case.what);
        assert_one_pidone_line(
            &out,
            case.code,
            &format!("cannot run '{}': {}", case.command.display(), case.reason),
        );
        if nested {
            assert!(out.nested().leftovers.is_empty(), "{}: {out}", case.what);
        }
    }
}

pid1_and_nested!(exec_failures(bool): exec_failures_as_pid1_give_127_126_or_1_and_one_line, exec_failures_when_not_pid1_give_127_126_or_1_and_one_line);

#[test]
fn exec_failure_text_file_busy_is_1() {
    let dir = TempDir::new();
    let path = dir.join("being-written");
    fs::copy("/bin/true", &path).unwrap();
    // Open for writing while pidone tries to execute it: ETXTBSY.
    let writer = fs::OpenOptions::new().write(true).open(&path).unwrap();
    let out = Launch::pidone().arg("--").arg(&path).run(secs(10));
    drop(writer);
    assert_one_pidone_line(&out, 1, "Text file busy");
}

#[test]
fn exec_failure_is_mapped_by_dash_e_and_reported_as_exec_failed() {
    let out = Launch::pidone()
        .args(["-e", "127", "--report", "json", "--", "/nonexistent/command"])
        .run(secs(10));
    out.assert_code(0);
    let report = out.report_json();
    assert_eq!(report.get("cause").as_str(), "exec_failed", "{out}");
    assert_eq!(report.get("child").get("exited").as_i64(), 127, "{out}");
}

#[test]
fn exec_failure_message_is_one_line() {
    // A newline and an escape sequence in the command name stay escaped on one line.
    let out = Launch::pidone()
        .arg("--")
        .arg("/no\nsuch\x1b[2Jcommand")
        .run(secs(10));
    assert_one_pidone_line(&out, 127, "cannot run '/no\\nsuch\\u{1b}[2Jcommand'");
}

#[test]
fn a_script_without_shebang_runs_through_the_shell_fallback() {
    // execvp's ENOEXEC fallback: /bin/sh runs the file, and its exit code is the child's.
    let dir = TempDir::new();
    let script = write_file(&dir, "no-shebang", b"exit 42\n", 0o755);
    Launch::pidone()
        .arg("--")
        .arg(&script)
        .run(secs(10))
        .assert_code(42);

    // Binary garbage goes the same way: whatever /bin/sh makes of it, never a 126 from pidone.
    let garbage = write_file(
        &dir,
        "garbage",
        b"\x7fELF\x02\x01\x01\x00garbage\n\x00\x00",
        0o755,
    );
    let sh = std::process::Command::new("/bin/sh")
        .arg(&garbage)
        .output()
        .unwrap();
    let out = Launch::pidone().arg("--").arg(&garbage).run(secs(10));
    assert_eq!(out.status, Status::Exited(sh.status.code().unwrap()), "{out}");
}

#[test]
fn a_script_without_shebang_and_no_shell_is_127() {
    // execvp's fallback needs /bin/sh; with /usr hidden (/bin is a link into it on merged-/usr
    // systems, and is hidden too otherwise) it is ENOENT, whatever the file itself is.
    let dir = TempDir::new();
    let script = write_file(&dir, "no-shebang", b"exit 42\n", 0o755);
    let mut wrap = vec!["--tmpfs", "/usr"];
    if !fs::symlink_metadata("/bin").unwrap().file_type().is_symlink() {
        wrap.extend(["--tmpfs", "/bin"]);
    }
    let out = wrapped(&wrap, pidone_bin()).arg("--").arg(&script).run(secs(10));
    assert_one_pidone_line(&out, 127, "No such file or directory");
}

/// E2BIG: the command line fits pidone's own exec but not the child's. The kernel counts the
/// file name and every argv/envp string against one limit (a quarter of RLIMIT_STACK, at most
/// 6 MiB), so pidone started as `DIR/p1` with argv[0] "p" has a few bytes of room the child
/// lacks when the command is a longer path. The boundary is found by bisection with a
/// stand-in at a path of the same length as pidone's.
#[test]
fn exec_failure_e2big_is_1_and_one_line() {
    let dir = TempDir::new();
    let pidone = dir.join("p1");
    let stand_in = dir.join("p2");
    fs::copy(pidone_bin(), &pidone).unwrap();
    fs::copy("/bin/true", &stand_in).unwrap();
    let long_true = dir.path().join("t".repeat(200));
    fs::copy("/bin/true", &long_true).unwrap();

    // SAFETY: a zeroed rlimit is a valid out-parameter.
    let mut stack: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer.
    unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut stack) };
    let limit = (stack.rlim_cur / 4).clamp(128 << 10, 6 << 20) as usize;
    // Fill all but about 100 KB with 100-byte arguments; one pad argument (at most 128 KiB,
    // the kernel's limit for a single string) then crosses the boundary.
    let base: Vec<String> = (0..(limit - (100 << 10)) / 109)
        .map(|i| format!("{i:0>100}"))
        .collect();
    // `program` started as "p", running the long-named true with the arguments and a pad.
    let run = |program: &PathBuf, pad: usize| {
        Launch::new(program)
            .argv0("p")
            .arg(&long_true)
            .args(&base)
            .arg("x".repeat(pad))
            .run(secs(10))
    };
    let fits = |pad: usize| run(&stand_in, pad).status == Status::Exited(0);
    let (mut lo, mut hi) = (0usize, 130_000usize);
    assert!(fits(lo) && !fits(hi), "no boundary in reach (limit {limit})");
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(mid) { lo = mid } else { hi = mid }
    }
    // `lo` is the largest pad that pidone's own exec accepts.
    let out = run(&pidone, lo);
    assert_eq!(
        out.status,
        Status::Exited(1),
        "status {:?}\n{}",
        out.status,
        &out.stderr[..out.stderr.len().min(300)]
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("pidone: cannot run '") && lines[0].ends_with("': Argument list too long"));
}

// ---------------------------------------------------------------------------------------------
// fork failures (RLIMIT_NPROC, which binds non-root uids only)

#[test]
fn fork_failure_for_the_command_is_exit_1_with_a_clear_message() {
    let bin = Runnable::new();
    let out = wrapped(&["--nproc", "1", "--uid", "64202"], bin.pidone())
        .args(["--", "/bin/true"])
        .run(secs(10));
    assert_one_pidone_line(
        &out,
        1,
        "cannot start the command: Resource temporarily unavailable",
    );
    assert!(out.nested().leftovers.is_empty(), "{out}");
}

#[test]
fn orphans_under_a_process_limit_are_all_reaped() {
    // Limit 8: pidone, the probe and an intermediate leave room for 5 orphans; each
    // intermediate tries 10 forks, so forks fail every time until pidone reaps.
    let bin = Runnable::new();
    let out = wrapped(&["--nproc", "8", "--uid", "64201"], bin.pidone())
        .args(["--report", "json", "--"])
        .arg(bin.probe())
        .args(["nproc-orphans", "2000", "10"])
        .run(secs(60));
    out.assert_code(0);
    let (made, eagain) = parse_orphans_line(&out);
    assert!(made >= 2000, "{out}");
    assert!(eagain > 0, "the process limit was never hit: {out}");
    assert_eq!(out.report_json().get("reaped").as_i64(), made as i64, "{out}");
    assert!(out.nested().leftovers.is_empty(), "{out}");
}

fn parse_orphans_line(out: &Outcome) -> (u64, u64) {
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("orphans="))
        .unwrap_or_else(|| panic!("{out}"));
    let mut fields = line
        .split_whitespace()
        .map(|f| f.split_once('=').unwrap().1.parse::<u64>().unwrap());
    (fields.next().unwrap(), fields.next().unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------
// no usable /proc when not PID 1

fn regroup(wrap: &[&str], pidone_args: &[&str], mode: &str, sibling: bool) -> (Outcome, Duration) {
    let dir = TempDir::new();
    let mut launch = wrapped(wrap, pidone_bin());
    if sibling {
        launch = launch.sibling();
    }
    let start = Instant::now();
    let out = launch
        .args(pidone_args)
        .hard_probe(["regroup", mode])
        .arg(dir.join("ready"))
        .run(secs(20));
    (out, start.elapsed())
}

#[test]
fn proc_hidden_cleanup_falls_back_to_the_process_group() {
    let (out, took) = regroup(&["--hide-proc"], &["--cleanup-grace", "10s"], "stay-exit", true);
    out.assert_code(3);
    assert!(out.stderr.contains("process group"), "{out}");
    // The orphan in the child's group got SIGTERM at once: no waiting for the cleanup grace.
    assert!(took < secs(8), "took {took:?}: {out}");
    assert!(out.nested().leftovers.is_empty(), "{out}");
    assert_eq!(out.nested().sibling_alive, Some(true), "{out}");
}

/// Before the fix pidone waited forever for a leftover it could neither see nor signal.
#[test]
fn proc_hidden_and_a_leftover_outside_the_group_does_not_hang() {
    for mode in ["setsid-exit", "newgroup-exit"] {
        let (out, took) = regroup(&["--hide-proc"], &["--cleanup-grace", "1s"], mode, true);
        out.assert_code(3);
        assert!(out.stderr.contains("exiting without them"), "{mode}: {out}");
        // Cleanup grace 1 s, then at most 1 s more after the SIGKILL.
        assert!(took < secs(8), "{mode}: took {took:?}: {out}");
        assert_eq!(out.nested().sibling_alive, Some(true), "{mode}: {out}");
    }
}

/// pidone (not PID 1, /proc hidden, grace 1s) runs `hard_probe regroup MODE`; once it is
/// ready, SIGTERM. Returns the outcome and the time from the signal to the exit.
fn stop_with_proc_hidden(mode: &str) -> (Outcome, Duration) {
    let dir = TempDir::new();
    let ready = dir.join("ready");
    let p = wrapped(&["--hide-proc"], pidone_bin())
        .args(["--grace", "1s", "--cleanup-grace", "1s"])
        .hard_probe(["regroup", mode])
        .spawn_ready(&ready, secs(10));
    let start = Instant::now();
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(secs(30));
    (out, start.elapsed())
}

#[test]
fn proc_hidden_stop_with_grace_expiry_does_not_hang() {
    // The main child waits for TERM but has left its group: pidone gets TERM, forwards it
    // (through the pidfd) and the child exits 0; its setsid'd child is then out of reach.
    let (out, took) = stop_with_proc_hidden("setsid");
    out.assert_code(0);
    assert!(took < secs(8), "{took:?}: {out}");
}

/// Review finding: with /proc hidden, the kill at the grace deadline went to the child's
/// original process group only; a main child that had joined another group was never killed
/// and pidone waited for it for ever. The main child now always gets SIGKILL through its pidfd.
#[test]
fn proc_hidden_grace_expiry_kills_a_main_child_that_left_its_group() {
    let (out, took) = stop_with_proc_hidden("leave-ignore");
    out.assert_code(137);
    assert!(took < secs(8), "{took:?}: {out}");
}

#[test]
fn foreign_proc_when_not_pid1_signals_nothing_it_lists() {
    // /proc shows the launcher's namespace (the sibling, testkit init, the wrapper): pidone
    // must notice it is not its own and fall back to the child's process group.
    let (out, took) = regroup(
        &["--foreign-proc"],
        &["--cleanup-grace", "10s"],
        "stay-exit",
        true,
    );
    out.assert_code(3);
    assert!(out.stderr.contains("another PID namespace"), "{out}");
    assert!(took < secs(8), "took {took:?}: {out}");
    assert_eq!(out.nested().sibling_alive, Some(true), "{out}");
}

// ---------------------------------------------------------------------------------------------
// no descriptors left (RLIMIT_NOFILE)

#[test]
fn tiny_fd_limits_give_a_clear_error_or_a_clean_run_never_a_hang() {
    let mut outcomes = Vec::new();
    for limit in 0..=8u32 {
        let dir = TempDir::new();
        let out = wrapped(&["--nofile", &limit.to_string()], pidone_bin())
            .args(["--cleanup-grace", "5s"])
            .hard_probe(["regroup", "stay-exit"])
            .arg(dir.join("ready"))
            .run(secs(20));
        match out.status {
            Status::Exited(1) => assert_one_pidone_line(&out, 1, "Too many open files"),
            // Ran: the orphan in the child's group was terminated, nothing is left.
            Status::Exited(3) => assert!(out.nested().leftovers.is_empty(), "limit {limit}: {out}"),
            // Ran, but the probe itself had too few descriptors for its pipe: its exit code,
            // passed on, and nothing left behind.
            Status::Exited(2) => {
                assert!(out.stderr.contains("hard_probe: pipe"), "limit {limit}: {out}");
                assert!(out.nested().leftovers.is_empty(), "limit {limit}: {out}");
            }
            _ => panic!("limit {limit}: {out}"),
        }
        outcomes.push((limit, out.status));
    }
    // Below 4 the signalfd can not be opened; from 4 on pidone starts the child (posix_spawn
    // needs no exec-error pipe, and without a pidfd it signals by pid), which needs a few more
    // descriptors of its own.
    assert_eq!(outcomes[0].1, Status::Exited(1));
    assert_eq!(outcomes[8].1, Status::Exited(3), "{outcomes:?}");
}

// ---------------------------------------------------------------------------------------------
// children that stop, close their stdio, or change process group

/// `pidone PIDONE_ARGS -- hard_probe stop-self SIG`, returned once the child has stopped
/// itself with `sig`; continued, it exits 7.
fn start_a_child_that_stops_itself(pidone_args: &[&str], sig: i32) -> Pid1 {
    let dir = TempDir::new();
    let ready = dir.join("ready");
    let p = Launch::pidone()
        .args(pidone_args)
        .hard_probe(["stop-self", &sig.to_string()])
        .arg(&ready)
        .arg("7")
        .spawn();
    wait_for_file(&ready, secs(10));
    let child = first_child(p.pid);
    wait_until("the child to stop", secs(10), || proc_state(child) == Some('T'));
    p
}

fn stop_self(sig: i32) {
    let p = start_a_child_that_stops_itself(&[], sig);
    // pidone does not mistake a stopped child for an exited one, and still forwards CONT.
    assert!(p.is_running());
    p.signal(libc::SIGCONT);
    let out = p.wait_timeout(secs(10));
    out.assert_code(7);
    assert!(out.stdout.contains("resumed"), "{out}");
}

#[test]
fn a_child_that_stops_itself_with_sigstop_is_continued_and_exits() {
    stop_self(libc::SIGSTOP);
}

#[test]
fn a_child_that_stops_itself_with_sigtstp_is_continued_and_exits() {
    stop_self(libc::SIGTSTP);
}

#[test]
fn a_stopped_child_does_not_hold_up_the_grace() {
    let p = start_a_child_that_stops_itself(&["--grace", "1s"], libc::SIGSTOP);
    let start = Instant::now();
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(secs(10));
    // TERM stays pending in a stopped process; SIGKILL at the end of the grace is not.
    out.assert_code(137);
    assert!(start.elapsed() < secs(5), "{:?}", start.elapsed());
}

#[test]
fn a_child_that_closes_its_stdio_is_still_reaped() {
    for nested in [false, true] {
        let launch = Launch::pidone()
            .args(["--report", "json"])
            .hard_probe(["close-stdio", "5"])
            .not_pid1_if(nested);
        let out = launch.run(secs(10));
        out.assert_code(5);
        // The orphan that wrote into the closed descriptors was reaped too (as PID 1 it may
        // still have been running and got the cleanup's SIGTERM: reaped either way).
        assert_eq!(out.report_json().get("reaped").as_i64(), 1, "{out}");
    }
}

#[test]
fn pidone_started_without_stdio_runs_and_leaks_nothing() {
    // With 0, 1 and 2 closed, pidone's own descriptors take those numbers; the child must still
    // see them closed, exactly as pidone found them.
    let dir = TempDir::new();
    let report = dir.join("report");
    let out = wrapped(&["--close-stdio"], pidone_bin())
        .hard_probe(["report", "--out"])
        .arg(&report)
        .run(secs(10));
    out.assert_code(0);
    let text = fs::read_to_string(&report).unwrap();
    let fds: Vec<&str> = text.lines().filter(|l| l.starts_with("fd ")).collect();
    assert!(fds.is_empty(), "the child got descriptors: {fds:?}");
}

fn regroup_cleanup(mode: &str, nested: bool) {
    let dir = TempDir::new();
    let launch = Launch::pidone()
        .args(["--report", "json", "--cleanup-grace", "10s"])
        .hard_probe(["regroup", mode])
        .arg(dir.join("ready"))
        .not_pid1_if(nested);
    let out = launch.run(secs(20));
    out.assert_code(3);
    // Found through /proc whatever its group or session, and terminated (not left to the
    // SIGKILL at the end of the 10 s cleanup grace).
    let report = out.report_json();
    let terminated: Vec<String> = report
        .get("terminated")
        .as_array()
        .iter()
        .map(|p| p.get("comm").as_str().to_owned())
        .collect();
    assert!(terminated.iter().any(|c| c.starts_with("hp-")), "{out}");
    assert_eq!(report.get("killed").as_array().len(), 0, "{out}");
    assert!(out.elapsed < secs(8), "{out}");
    if nested {
        assert!(out.nested().leftovers.is_empty(), "{out}");
    }
}

#[test]
fn leftovers_that_called_setsid_or_setpgid_are_cleaned_up() {
    for mode in ["setsid-exit", "newgroup-exit"] {
        regroup_cleanup(mode, false);
        regroup_cleanup(mode, true);
    }
}

/// The main child moved itself into another process group: `-g` delivery to its old (now
/// empty) group must still reach it, or the stop signal is lost and the grace runs out.
#[test]
fn dash_g_reaches_a_child_that_left_its_process_group() {
    for dash_g in [false, true] {
        let dir = TempDir::new();
        let ready = dir.join("ready");
        let mut launch = Launch::pidone().not_pid1();
        if dash_g {
            launch = launch.arg("-g");
        }
        let p = launch
            .args(["--grace", "5s", "--report", "json"])
            .hard_probe(["regroup", "leave"])
            .spawn_ready(&ready, secs(10));
        p.signal(libc::SIGTERM);
        let out = p.wait_timeout(secs(20));
        out.assert_code(0);
        assert_eq!(
            out.report_json().get("cause").as_str(),
            "stop_signal",
            "-g {dash_g}: {out}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// volume: 100,000 orphans, signal storms

#[test]
fn reaps_100000_short_lived_orphans_as_pid1() {
    let start = Instant::now();
    let out = Launch::pidone()
        .args(["--report", "json"])
        .hard_probe(["orphans", "100000", "1000"])
        .run(secs(90));
    out.assert_code(0);
    assert!(out.stdout.contains("orphans=100000"), "{out}");
    assert_eq!(out.report_json().get("reaped").as_i64(), 100_000, "{out}");
    assert!(start.elapsed() < secs(60), "{:?}", start.elapsed());
}

#[test]
fn reaps_20000_short_lived_orphans_as_a_subreaper() {
    let out = Launch::pidone()
        .not_pid1()
        .args(["--report", "json"])
        .hard_probe(["orphans", "20000", "500"])
        .run(secs(60));
    out.assert_code(0);
    assert_eq!(out.report_json().get("reaped").as_i64(), 20_000, "{out}");
    assert!(out.nested().leftovers.is_empty(), "{out}");
}

/// Every signal number except the two that can not be caught.
fn storm_signals() -> Vec<i32> {
    (1..=libc::SIGRTMAX())
        .filter(|s| *s != libc::SIGKILL && *s != libc::SIGSTOP)
        .collect()
}

fn signal_storm(nested: bool) {
    let dir = TempDir::new();
    let ready = dir.join("ready");
    let done = dir.join("done");
    let seen_file = dir.join("seen");
    let p = Launch::pidone()
        .not_pid1_if(nested)
        .args(["--grace", "none", "--report", "json"])
        .hard_probe(["storm-target"])
        .arg(&ready)
        .arg(&done)
        .arg(&seen_file)
        .spawn();
    wait_for_file(&ready, secs(10));
    // In nested mode the launcher's init would forward; send to pidone directly instead.
    let target = if nested { first_child(p.pid) } else { p.pid };
    let signals = storm_signals();
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < secs(3) {
        for &sig in &signals {
            // SAFETY: signalling a pid of our own test namespace that is still running (its
            // parent, the launcher's init or this test, has not reaped it).
            if unsafe { libc::kill(target, sig) } == 0 {
                sent += 1;
            }
        }
    }
    assert!(p.is_running(), "pidone died in the storm");
    // Every signal reaches the child at least once, except CHLD, which only makes pidone reap,
    // and CONT: the kernel discards a pending SIGCONT whenever a stop signal (TSTP, TTIN, TTOU,
    // sent right after it in every round) is generated, so in a storm it may never be read at
    // all. (Forwarding CONT is covered by the stop-self tests.) pidone and the child may still
    // be working through the backlog: wait for it.
    let expected: u64 = signals
        .iter()
        .filter(|s| **s != libc::SIGCHLD && **s != libc::SIGCONT)
        .fold(0, |m, s| m | 1 << (s - 1));
    let seen = || {
        fs::read_to_string(&seen_file)
            .ok()
            .and_then(|t| u64::from_str_radix(t.trim(), 16).ok())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + secs(30);
    while seen() & expected != expected {
        if Instant::now() > deadline {
            let missing: Vec<i32> = signals
                .iter()
                .copied()
                .filter(|s| expected & !seen() & 1 << (s - 1) != 0)
                .collect();
            panic!("never forwarded: {missing:?} ({sent} signals sent)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // And it still forwards afterwards, and exits with the child's code.
    fs::write(&done, "").unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(target, libc::SIGUSR2) };
    let out = p.wait_timeout(secs(30));
    out.assert_code(42);
    assert_eq!(out.report_json().get("exit_code").as_i64(), 42, "{out}");
}

pid1_and_nested!(signal_storm(bool): survives_a_signal_storm_as_pid1_and_still_forwards, survives_a_signal_storm_when_not_pid1_and_still_forwards);

// ---------------------------------------------------------------------------------------------
// SIGSTOP / SIGCONT sent to pidone itself

#[test]
fn sigstop_and_sigcont_to_pidone_lose_nothing() {
    let dir = TempDir::new();
    let ready = dir.join("ready");
    let p = Launch::pidone()
        .hard_probe(["wait-signal"])
        .spawn_ready(&ready, secs(10));
    p.signal(libc::SIGSTOP);
    wait_until("pidone to stop", secs(10), || proc_state(p.pid) == Some('T'));
    // Queued while pidone is stopped, forwarded once it runs again.
    p.signal(libc::SIGUSR1);
    p.signal(libc::SIGTERM);
    assert_eq!(proc_state(p.pid), Some('T'));
    p.signal(libc::SIGCONT);
    let out = p.wait_timeout(secs(10));
    out.assert_code(0);
    assert!(
        out.stdout.lines().any(|l| l == libc::SIGUSR1.to_string()),
        "{out}"
    );
}

/// A child that exits while pidone is stopped is reaped once pidone continues.
fn a_child_that_exits_while_pidone_is_stopped(nested: bool) {
    let dir = TempDir::new();
    let done = dir.join("done");
    let p = Launch::pidone()
        .not_pid1_if(nested)
        .hard_probe(["exit-when"])
        .arg(&done)
        .arg("9")
        .spawn();
    let pidone = if nested { first_child(p.pid) } else { p.pid };
    let child = first_child(pidone);
    // SAFETY: a pid of our own test namespace, not yet reaped by its parent.
    unsafe { libc::kill(pidone, libc::SIGSTOP) };
    wait_until("pidone to stop", secs(10), || proc_state(pidone) == Some('T'));
    fs::write(&done, "").unwrap();
    wait_until("the child to become a zombie", secs(10), || {
        proc_state(child) == Some('Z')
    });
    // SAFETY: as above.
    unsafe { libc::kill(pidone, libc::SIGCONT) };
    let out = p.wait_timeout(secs(10));
    out.assert_code(9);
}

pid1_and_nested!(a_child_that_exits_while_pidone_is_stopped(bool): a_child_that_exits_while_pidone_is_stopped_is_reaped_after_sigcont_as_pid1, a_child_that_exits_while_pidone_is_stopped_is_reaped_after_sigcont_when_not_pid1);

/// A process names itself (comm) with a newline and a fake pidone line; pidone's warning
/// that names it before the SIGKILL stays one line.
#[test]
fn a_process_name_can_not_inject_lines_into_pidones_warnings() {
    let dir = TempDir::new();
    let out = Launch::pidone()
        .args(["--cleanup-grace", "0"])
        .hard_probe(["leave-ignorer"])
        .arg(dir.join("pid"))
        .arg("x\npidone: fake")
        .run(secs(10));
    out.assert_code(3);
    // The warning and the exit report, nothing else.
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("pidone: warning: ") && lines[0].contains("(x\\npidone: fake)"),
        "{out}"
    );
    assert!(lines[1].starts_with("pidone: exit 3 "), "{out}");
}
