//! SPEC §3 (reaping) and §2.4 (subreaper): every zombie is reaped, whoever its parent was;
//! when not PID 1, orphans re-parent to pidone.

mod support;

use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(60);

#[test]
fn reaps_1000_orphans_as_pid1_and_leaves_no_zombie() {
    // The child double-forks 1000 processes that exit at once (zombies for PID 1), waits until
    // they have all exited, then scans /proc until no process is in state Z (or 20 s pass).
    // Reaped: the 1000 orphans and nothing else (the intermediate processes were reaped by the
    // child).
    let out = reap_orphans(Launch::pidone(), 1000, T);
    assert_eq!(out.stdout, "zombies=0\n", "{out}");
}

#[test]
fn reaps_orphans_as_a_subreaper_when_not_pid1() {
    // Reaped by pidone, not by the namespace's init: they were re-parented to pidone.
    let out = reap_orphans(Launch::pidone().not_pid1(), 200, T);
    assert_eq!(out.stdout, "zombies=0\n", "{out}");
    assert_eq!(out.nested().leftovers, [], "{out}");
}

/// An orphan's new parent is pidone (PPid in /proc), with or without `-s`.
fn orphan_reparents_to_pidone(extra: &[&str]) {
    let dir = TempDir::new();
    let file = dir.join("ppid");
    let p = Launch::pidone()
        .args(extra)
        .arg("--")
        .arg(testkit())
        .arg("orphan-ppid")
        .arg(&file)
        .not_pid1()
        .spawn();
    wait_for_file(&file, Duration::from_secs(10));
    let text = std::fs::read_to_string(&file).unwrap();
    let (ppid, expected) = text.trim().split_once(' ').unwrap();
    let ppid = ppid.strip_prefix("ppid=").unwrap();
    let expected = expected.strip_prefix("expected=").unwrap();
    assert_eq!(
        ppid, expected,
        "the orphan's parent must be pidone (not init, pid 1)"
    );
    assert_ne!(ppid, "1");
    // TERM: the main child dies from it, the cleanup TERMs the orphan, nothing is left.
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(Duration::from_secs(20));
    out.assert_code(143);
    assert_eq!(out.nested().leftovers, [], "{out}");
    assert!(
        !out.stderr.contains("subreaper"),
        "no subreaper warning expected: {out}"
    );
}

#[test]
fn orphans_reparent_to_pidone_when_not_pid1() {
    orphan_reparents_to_pidone(&[]);
}

#[test]
fn dash_s_is_accepted_when_not_pid1() {
    orphan_reparents_to_pidone(&["-s"]);
}

#[test]
fn dash_w_warns_about_reaped_zombies() {
    let out = Launch::pidone()
        .args(["-w", "--"])
        .arg(testkit())
        .args(["orphans", "3"])
        .run(T);
    out.assert_code(0);
    let warnings = out
        .stderr
        .lines()
        .filter(|l| l.contains("warning") && l.contains("zombie"))
        .count();
    assert_eq!(warnings, 3, "one warning per reaped zombie: {out}");
    // Without -w the same run is silent.
    let out = Launch::pidone()
        .arg("--")
        .arg(testkit())
        .args(["orphans", "3"])
        .run(T);
    out.assert_code(0);
    assert_eq!(out.stderr, "", "{out}");
}
