//! SPEC §2: what the child inherits. Signal mask and dispositions exactly as pidone got them
//! (SIGPIPE included), only the fds pidone was given (none of pidone's own), the environment and
//! the working directory; pidone itself moves to `/`; the child leads its own process group.

mod support;

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(20);

/// `testkit status` output as a map.
fn status(launch: Launch) -> (HashMap<String, String>, Outcome) {
    status_with(launch, &[])
}

/// `testkit status ARGS...` output as a map.
fn status_with(launch: Launch, args: &[&str]) -> (HashMap<String, String>, Outcome) {
    let out = launch.arg("--").arg(testkit()).arg("status").args(args).run(T);
    out.assert_code(0);
    let map = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    (map, out)
}

fn mask(sigs: &[i32]) -> u64 {
    sigs.iter().fold(0, |m, s| m | 1 << (s - 1))
}

fn hex(map: &HashMap<String, String>, key: &str) -> u64 {
    u64::from_str_radix(&map[key], 16).unwrap()
}

fn assert_clean(launch: Launch) -> (HashMap<String, String>, Outcome) {
    let dir = TempDir::new();
    let (s, out) = status(launch.cwd(dir.path()));
    assert_eq!(
        hex(&s, "SigBlk"),
        0,
        "blocked signals leaked into the child: {out}"
    );
    assert_eq!(
        hex(&s, "SigIgn"),
        0,
        "ignored signals leaked into the child (SIGPIPE?): {out}"
    );
    assert_eq!(hex(&s, "SigCgt"), 0, "{out}");
    assert_eq!(s["fds"], "0,1,2", "the child must see no fd of pidone's: {out}");
    assert_eq!(s["fd.0"], "/dev/null", "{out}");
    assert_eq!(
        s["pgid"], s["pid"],
        "the child must lead its own process group: {out}"
    );
    assert_eq!(
        s["cwd"],
        dir.path().to_str().unwrap(),
        "the child keeps the working directory: {out}"
    );
    assert_eq!(out.stderr, "", "{out}");
    (s, out)
}

#[test]
fn clean_start_as_pid1() {
    let (s, out) = assert_clean(Launch::pidone());
    assert_eq!(s["ppid"], "1", "{out}");
}

#[test]
fn clean_start_when_not_pid1() {
    let (s, out) = assert_clean(Launch::pidone().not_pid1());
    assert_ne!(s["ppid"], "1", "{out}");
}

/// pidone moves to `/` right after the fork (so it keeps no mount busy); the child stays.
fn pidone_moves_to_root(nested: bool) {
    let dir = TempDir::new();
    let ready = dir.join("ready");
    let p = Launch::pidone()
        .cwd(dir.path())
        .not_pid1_if(nested)
        .arg("--")
        .arg(testkit())
        .args(["sleep", "--ready"])
        .spawn_ready(&ready, Duration::from_secs(10));
    let pidone = if nested { p.children()[0] } else { p.pid };
    let child = children_of(pidone)[0];
    let cwd = |pid: i32| std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    wait_until("pidone's cwd to become /", Duration::from_secs(5), || {
        cwd(pidone) == Path::new("/")
    });
    assert_eq!(cwd(child), dir.path(), "the child keeps its working directory");
    p.signal(libc::SIGTERM);
    p.wait_timeout(T).assert_code(143);
}

#[test]
fn pidone_moves_to_root_and_the_child_keeps_its_cwd_as_pid1() {
    pidone_moves_to_root(false);
}

#[test]
fn pidone_moves_to_root_and_the_child_keeps_its_cwd_when_not_pid1() {
    pidone_moves_to_root(true);
}

#[test]
fn inherited_ignored_and_blocked_signals_pass_through_exactly() {
    let launch = Launch::pidone()
        .ignore_signal(libc::SIGHUP)
        .ignore_signal(libc::SIGPIPE)
        .block_signal(libc::SIGUSR2)
        .block_signal(libc::SIGRTMIN() + 2);
    let (s, out) = status(launch);
    assert_eq!(hex(&s, "SigIgn"), mask(&[libc::SIGHUP, libc::SIGPIPE]), "{out}");
    assert_eq!(
        hex(&s, "SigBlk"),
        mask(&[libc::SIGUSR2, libc::SIGRTMIN() + 2]),
        "{out}"
    );
    assert_eq!(hex(&s, "SigCgt"), 0, "{out}");
}

#[test]
fn glibc_reserved_signals_in_the_inherited_mask_reach_the_child() {
    // glibc keeps its reserved signals 32 and 33 out of every mask it sets, posix_spawn's
    // child's included: for a mask that holds them, pidone starts the command by fork and sets
    // the mask with the raw syscall (os::spawn).
    let launch = Launch::pidone()
        .block_signal(32)
        .block_signal(33)
        .block_signal(libc::SIGUSR2);
    let (s, out) = status(launch);
    assert_eq!(hex(&s, "SigBlk"), mask(&[32, 33, libc::SIGUSR2]), "{out}");
    assert_eq!(hex(&s, "SigCgt"), 0, "{out}");
}

#[test]
fn pidone_takes_a_longer_scheduler_slice_and_the_child_keeps_its_own() {
    // os::sched: a slice longer than the default lets the child pidone signals preempt it.
    // Set after the child started: the child must not inherit it.
    let (s, out) = status_with(Launch::pidone(), &["--await-init-slice"]);
    if s["slice"] == "0" {
        eprintln!("skipped: this kernel reports no slice (custom slices need Linux 6.12)");
        return;
    }
    assert_eq!(s["slice1"], "10000000", "pidone's slice: {out}");
    assert_ne!(s["slice"], s["slice1"], "the child's slice is the default: {out}");
}

#[test]
fn inherited_signal_state_passes_through_when_not_pid1() {
    let launch = Launch::pidone()
        .not_pid1()
        .ignore_signal(libc::SIGHUP)
        .block_signal(libc::SIGUSR2);
    let (s, out) = status(launch);
    assert_eq!(hex(&s, "SigIgn"), mask(&[libc::SIGHUP]), "{out}");
    assert_eq!(hex(&s, "SigBlk"), mask(&[libc::SIGUSR2]), "{out}");
}

#[test]
fn ignored_sigttin_and_sigttou_are_not_passed_on() {
    // pidone ignores TTIN/TTOU for itself; the child must get the defaults back.
    let (s, out) = status(Launch::pidone());
    assert_eq!(
        hex(&s, "SigIgn") & mask(&[libc::SIGTTIN, libc::SIGTTOU]),
        0,
        "{out}"
    );
}

#[test]
fn the_child_sees_exactly_the_fds_passed_to_pidone() {
    let dir = TempDir::new();
    let path = dir.join("passed-file");
    let file = std::fs::File::create(&path).unwrap();
    let (r, w) = std::io::pipe().unwrap();
    for nested in [false, true] {
        let launch = Launch::pidone()
            .pass_fd(&file, 9)
            .pass_fd(&r, 5)
            .not_pid1_if(nested);
        let (s, out) = status(launch);
        assert_eq!(s["fds"], "0,1,2,5,9", "nested={nested}: {out}");
        assert_eq!(s["fd.9"], path.to_str().unwrap(), "{out}");
        assert!(s["fd.5"].starts_with("pipe:"), "{out}");
    }
    drop((w, file));
    let _ = r.as_raw_fd();
}

#[test]
fn the_child_inherits_the_environment() {
    let out = Launch::pidone()
        .env("APP_SETTING", "value with spaces")
        .env("PIDONE_GRACE", "3s")
        .args([
            "--",
            "sh",
            "-c",
            "printf '%s|%s' \"$APP_SETTING\" \"$PIDONE_GRACE\"",
        ])
        .run(T);
    out.assert_code(0);
    assert_eq!(out.stdout, "value with spaces|3s", "{out}");
}

#[test]
fn stdout_carries_only_the_childs_output() {
    // Verbose logging, a report and a stop: all of pidone's own words go to stderr.
    let out = stop_a_term_ignorer(
        &["-vvv", "--report", "text", "-t", "1s"],
        Duration::from_secs(10),
        T,
    );
    out.assert_code(137);
    assert_eq!(out.stdout, "", "{out}");
    assert!(out.stderr.contains("pidone: exit 137"), "{out}");

    let out = Launch::pidone()
        .args(["-vvv", "--report", "json", "--", "echo", "only this"])
        .run(T);
    out.assert_code(0);
    assert_eq!(out.stdout, "only this\n", "{out}");
}

#[test]
fn a_broken_stderr_neither_kills_pidone_nor_sends_the_child_sigpipe() {
    // pidone's own writes (debug log, report) get EPIPE and raise SIGPIPE at pidone itself: it
    // must not die from it, nor forward it to the child as if someone had sent it.
    let dir = TempDir::new();
    let file = dir.join("signals");
    let p = Launch::pidone()
        .stderr_broken()
        .args(["-vvv", "--report", "text", "--"])
        .arg(testkit())
        .arg("record")
        .arg(&file)
        .spawn();
    wait_for_file(&dir.join("signals.ready"), Duration::from_secs(10));
    p.signal(libc::SIGUSR1);
    wait_for_record(&file, "SIGUSR1", Duration::from_secs(10));
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(0);
    assert_eq!(record_names(&file), ["SIGUSR1", "SIGTERM"], "{out}");
}

/// With a controlling terminal on stdin, the child's process group becomes the foreground
/// group (so it can read the terminal and gets ^C), as tini does.
fn foreground(launch: Launch) {
    let (s, out) = status(launch.tty());
    assert!(s["fd.0"].starts_with("/dev/pts/"), "{out}");
    assert_eq!(
        s["tcpgrp"], s["pgid"],
        "the child's group must be the terminal's foreground group: {out}"
    );
    assert_eq!(hex(&s, "SigIgn"), 0, "{out}");
}

pid1_and_nested!(foreground: the_child_gets_the_terminal_foreground_as_pid1, the_child_gets_the_terminal_foreground_when_not_pid1);
