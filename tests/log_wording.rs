//! SPEC §1 (issue 11): what pidone writes is plain words, never Rust debug text, at every
//! verbosity; and `-w` words its warning as tini does (`Reaped zombie process with pid=N`), since
//! log searches and tini's own test suite look for exactly that.

mod support;

use regex_lite::Regex;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(20);

/// Shapes of Rust's `Debug` output: `Exited(0)`, `Some(..)`, `None`, `Foo { a: 1 }`,
/// `Signal(9)`, `Duration`-style `1.5s` is fine (it is how a user writes it).
fn debug_shapes() -> Vec<Regex> {
    [
        r"[A-Z][a-z]+\(",
        r"Some\(",
        r"\bNone\b",
        r"\{ \w+: ",
        r"Signal\(",
        r"\bOk\(",
        r"\bErr\(",
    ]
    .iter()
    .map(|re| Regex::new(re).unwrap())
    .collect()
}

/// Fails on any line of pidone's that looks like debug output.
fn assert_plain_words(out: &Outcome) {
    let shapes = debug_shapes();
    let lines = out.pidone_lines();
    assert!(!lines.is_empty(), "pidone said nothing: {out}");
    for line in lines {
        for shape in &shapes {
            assert!(
                !shape.is_match(line),
                "debug text ({}) in a line pidone wrote: {line:?}\n{out}",
                shape.as_str()
            );
        }
    }
}

fn assert_says(out: &Outcome, needle: &str) {
    assert!(
        out.pidone_lines().iter().any(|l| l.contains(needle)),
        "expected a line with {needle:?}: {out}"
    );
}

/// The most talkative flags: debug level (`-vvv`), plus `-w` and the text report.
const LOUD: [&str; 5] = ["-vvv", "-w", "--report", "text", "--stop-delay=50ms"];

#[test]
fn reaping_orphans_and_a_normal_exit_are_logged_in_words() {
    let out = Launch::pidone()
        .args(LOUD)
        .arg("--")
        .arg(testkit())
        .args(["orphans", "3"])
        .run(T);
    out.assert_code(0);
    assert_plain_words(&out);
    assert_says(&out, "Reaped zombie process with pid=");
    assert_says(&out, "exited 0");
}

#[test]
fn a_stop_held_then_grace_expiry_and_kill_are_logged_in_words() {
    let out = stop_a_term_ignorer(&[&LOUD[..], &["-t", "300ms"]].concat(), WAIT, T);
    out.assert_code(137);
    assert_plain_words(&out);
    assert_says(&out, "holding SIGTERM for 50ms");
    assert_says(&out, "grace period of 300ms expired");
    assert_says(&out, "killed by SIGKILL");
}

#[test]
fn a_cleanup_with_term_then_kill_is_logged_in_words() {
    let dir = TempDir::new();
    let marker = dir.join("marker");
    let out = Launch::pidone()
        .args(LOUD)
        .args(["--cleanup-grace", "300ms", "--"])
        .arg(testkit())
        .args(["leave-orphans", "--ignorer", "--exit", "3", "--marker"])
        .arg(&marker)
        .run(T);
    out.assert_code(3);
    assert_plain_words(&out);
    assert_says(&out, "sent SIGTERM to");
    assert_says(&out, "cleanup grace expired");
    assert_says(&out, "exited 3");
    // The orphans die from the TERM and the KILL: statuses in words too.
    assert_says(&out, "killed by SIGKILL");
}

#[test]
fn an_exec_failure_is_logged_in_words() {
    let out = Launch::pidone()
        .args(LOUD)
        .args(["--", "/nonexistent/command"])
        .run(T);
    out.assert_code(127);
    assert_plain_words(&out);
    assert_says(&out, "cannot run '/nonexistent/command'");
}

#[test]
fn dash_w_uses_tinis_wording_with_the_zombies_pid() {
    // The main child leaves a zombie child and exits: the zombie is re-parented to pidone
    // (PID 1) and reaped by it.
    let out = Launch::pidone()
        .args(["-w", "--"])
        .arg(testkit())
        .arg("zombie")
        .run(T);
    out.assert_code(0);
    let pid: i32 = out.stdout.trim().parse().unwrap_or_else(|_| panic!("{out}"));
    let expected = format!("pidone: warning: Reaped zombie process with pid={pid} (exited 0)");
    let lines = out.pidone_lines();
    assert_eq!(lines, [expected.as_str()], "{out}");
}
