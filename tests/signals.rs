//! SPEC §3: every caught signal is forwarded to the child (after `--rewrite`), or to its process
//! group with `-g`; pidone as PID 1 gets signals from the parent namespace.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(20);
const WAIT: Duration = Duration::from_secs(10);

fn rtmin() -> i32 {
    libc::SIGRTMIN()
}

/// Sends each signal and waits for the recorder to log it before the next (standard signals
/// do not queue: two pending SIGUSR1 would be one).
fn send_and_expect(p: &Pid1, file: &Path, sigs: &[(i32, &str)]) {
    for (i, &(sig, name)) in sigs.iter().enumerate() {
        p.signal(sig);
        wait_until(&format!("{name} recorded"), WAIT, || record_names(file).len() > i);
        assert_eq!(
            record_names(file)[i],
            name,
            "signal #{i}: {:?}",
            record_names(file)
        );
    }
}

fn every_forwardable_signal() -> Vec<(i32, String)> {
    let mut sigs: Vec<(i32, String)> = [
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGQUIT, "SIGQUIT"),
        (libc::SIGILL, "SIGILL"),
        (libc::SIGTRAP, "SIGTRAP"),
        (libc::SIGABRT, "SIGABRT"),
        (libc::SIGBUS, "SIGBUS"),
        (libc::SIGFPE, "SIGFPE"),
        (libc::SIGUSR1, "SIGUSR1"),
        (libc::SIGSEGV, "SIGSEGV"),
        (libc::SIGUSR2, "SIGUSR2"),
        (libc::SIGPIPE, "SIGPIPE"),
        (libc::SIGALRM, "SIGALRM"),
        (libc::SIGSTKFLT, "SIGSTKFLT"),
        (libc::SIGCONT, "SIGCONT"),
        (libc::SIGTSTP, "SIGTSTP"),
        (libc::SIGURG, "SIGURG"),
        (libc::SIGXCPU, "SIGXCPU"),
        (libc::SIGXFSZ, "SIGXFSZ"),
        (libc::SIGVTALRM, "SIGVTALRM"),
        (libc::SIGPROF, "SIGPROF"),
        (libc::SIGWINCH, "SIGWINCH"),
        (libc::SIGIO, "SIGIO"),
        (libc::SIGPWR, "SIGPWR"),
        (libc::SIGSYS, "SIGSYS"),
    ]
    .iter()
    .map(|(s, n)| (*s, n.to_string()))
    .collect();
    for off in [0, 1, 3] {
        sigs.push((rtmin() + off, format!("SIGRTMIN+{off}")));
    }
    sigs.push((
        libc::SIGRTMAX(),
        format!("SIGRTMIN+{}", libc::SIGRTMAX() - rtmin()),
    ));
    sigs
}

fn forwards_everything(launch: Launch) {
    let r = Recording::start(launch, &[], &[]);
    let sigs = every_forwardable_signal();
    let refs: Vec<(i32, &str)> = sigs.iter().map(|(s, n)| (*s, n.as_str())).collect();
    send_and_expect(&r.p, &r.file, &refs);
    // The stop signal is forwarded too; the recorder exits 0 on it.
    let (out, got) = r.stop(libc::SIGTERM, 0, T);
    let mut expected: Vec<String> = sigs.into_iter().map(|(_, n)| n).collect();
    expected.push("SIGTERM".into());
    // Exactly these, in order: nothing extra (no SIGCHLD, no duplicate, no SIGKILL-style surprise).
    assert_eq!(got, expected, "{out}");
}

pid1_and_nested!(forwards_everything: forwards_every_catchable_signal_including_real_time_and_fault_signals_as_pid1, forwards_every_catchable_signal_when_not_pid1);

#[test]
fn sigterm_from_the_parent_namespace_reaches_the_child_of_pid1() {
    let r = Recording::start(Launch::pidone(), &[], &["--exit-code", "9"]);
    let (out, got) = r.stop(libc::SIGTERM, 9, T);
    assert_eq!(got, ["SIGTERM"], "{out}");
    assert!(out.elapsed < Duration::from_secs(5), "{out}");
}

#[test]
fn sigint_is_forwarded_and_is_a_stop_signal() {
    let (out, got) = Recording::start(Launch::pidone(), &[], &[]).stop(libc::SIGINT, 0, T);
    assert_eq!(got, ["SIGINT"], "{out}");
    assert!(out.stderr.contains("after stop signal SIGINT"), "{out}");
}

/// A recorder with a second one in its process group (`--member`), which logs to
/// `dir/member` (the test's own directory: it is read after the stop); returns that path too.
fn record_with_a_group_member(dir: &TempDir, launch: Launch, pidone_args: &[&str]) -> (Recording, PathBuf) {
    let member = dir.join("member");
    let r = Recording::start(launch, pidone_args, &["--member", member.to_str().unwrap()]);
    (r, member)
}

/// `-g`: signals go to the child's whole process group (two processes in it).
fn group_delivery(launch: Launch) {
    let dir = TempDir::new();
    let (r, member) = record_with_a_group_member(&dir, launch, &[]);
    r.p.signal(libc::SIGUSR1);
    wait_for_record(&r.file, "SIGUSR1", WAIT);
    wait_for_record(&member, "SIGUSR1", WAIT);
    r.p.signal(rtmin() + 3);
    // Both, before TERM: a process with TERM and RTMIN+3 pending takes TERM first.
    wait_for_record(&r.file, "SIGRTMIN+3", WAIT);
    wait_for_record(&member, "SIGRTMIN+3", WAIT);
    let (out, got) = r.stop(libc::SIGTERM, 0, T);
    assert_eq!(got, ["SIGUSR1", "SIGRTMIN+3", "SIGTERM"], "{out}");
    assert_eq!(
        record_names(&member),
        ["SIGUSR1", "SIGRTMIN+3", "SIGTERM"],
        "{out}"
    );
}

#[test]
fn dash_g_signals_the_whole_process_group() {
    group_delivery(Launch::pidone().arg("-g"));
}

#[test]
fn tini_kill_process_group_variable_signals_the_whole_process_group() {
    group_delivery(Launch::pidone().env("TINI_KILL_PROCESS_GROUP", "1"));
}

#[test]
fn without_dash_g_only_the_child_gets_the_signal() {
    let dir = TempDir::new();
    let (r, member) = record_with_a_group_member(&dir, Launch::pidone(), &["--cleanup-grace", "5s"]);
    r.p.signal(libc::SIGUSR1);
    wait_for_record(&r.file, "SIGUSR1", WAIT);
    let (out, got) = r.stop(libc::SIGTERM, 0, T);
    assert_eq!(got, ["SIGUSR1", "SIGTERM"], "{out}");
    // The member only ever saw the cleanup's SIGTERM (and SIGCONT), after the main child exited.
    let seen = record_names(&member);
    assert!(
        !seen.contains(&"SIGUSR1".to_string()),
        "member got USR1 without -g: {seen:?}\n{out}"
    );
    assert_eq!(
        seen.first().map(String::as_str),
        Some("SIGTERM"),
        "{seen:?}\n{out}"
    );
}

#[test]
fn rewrite_delivers_the_replacement() {
    let r = Recording::start(
        Launch::pidone(),
        &[
            "-r",
            "USR1:USR2",
            "--rewrite",
            "SIGHUP:RTMIN+3",
            "-r",
            "RTMIN+1:WINCH",
        ],
        &[],
    );
    send_and_expect(
        &r.p,
        &r.file,
        &[
            (libc::SIGUSR1, "SIGUSR2"),
            (libc::SIGHUP, "SIGRTMIN+3"),
            (rtmin() + 1, "SIGWINCH"),
            // Not rewritten.
            (libc::SIGUSR2, "SIGUSR2"),
            (libc::SIGQUIT, "SIGQUIT"),
        ],
    );
    r.stop(libc::SIGTERM, 0, T);
}

#[test]
fn rewrite_to_drop_swallows_the_signal() {
    let r = Recording::start(Launch::pidone(), &["-r", "HUP:DROP", "-r", "RTMIN+3:DROP"], &[]);
    r.p.signal(libc::SIGHUP);
    r.p.signal(rtmin() + 3);
    // The kernel hands pending signals to pidone lowest number first, standard before
    // real-time: once USR1 and RTMIN+4 have arrived, HUP and RTMIN+3 were read before them.
    r.p.signal(libc::SIGUSR1);
    r.p.signal(rtmin() + 4);
    wait_for_record(&r.file, "SIGRTMIN+4", WAIT);
    let (out, got) = r.stop(libc::SIGTERM, 0, T);
    assert_eq!(got, ["SIGUSR1", "SIGRTMIN+4", "SIGTERM"], "{out}");
}

#[test]
fn pidone_rewrite_variable_is_a_comma_separated_list() {
    let r = Recording::start(
        Launch::pidone().env("PIDONE_REWRITE", "USR1:USR2,HUP:DROP"),
        &[],
        &[],
    );
    r.p.signal(libc::SIGHUP);
    send_and_expect(&r.p, &r.file, &[(libc::SIGUSR1, "SIGUSR2")]);
    let (out, got) = r.stop(libc::SIGTERM, 0, T);
    assert_eq!(got, ["SIGUSR2", "SIGTERM"], "{out}");
}

/// `pidone -t 1s PIDONE_ARGS` over a recorder that exits on no signal, sent TERM: pidone kills
/// it when the grace expires. The outcome and the signals the recorder got.
fn term_then_grace_expiry(pidone_args: &[&str]) -> (Outcome, Vec<String>) {
    let launch = Launch::pidone().args(["-t", "1s"]);
    Recording::start(launch, pidone_args, &["--exit-on", "none"]).stop(libc::SIGTERM, 137, T)
}

#[test]
fn a_rewritten_stop_signal_still_starts_the_grace() {
    // TERM arrives, USR1 is delivered (the recorder does not exit on it), and the grace that TERM
    // started still expires: stop signals are decided on the signal received.
    let (out, got) = term_then_grace_expiry(&["-r", "TERM:USR1"]);
    assert_eq!(got, ["SIGUSR1"], "{out}");
    assert!(out.elapsed >= Duration::from_millis(900), "{out}");
}

#[test]
fn a_dropped_stop_signal_still_starts_the_grace() {
    let (out, got) = term_then_grace_expiry(&["-r", "TERM:DROP"]);
    assert_eq!(got, Vec::<String>::new(), "{out}");
}

#[test]
fn stop_signals_option_chooses_what_starts_the_grace() {
    // With --stop-signals HUP, TERM is an ordinary forwarded signal and HUP starts the grace.
    let r = Recording::start(
        Launch::pidone(),
        &["-t", "1s", "--stop-signals", "HUP"],
        &["--exit-on", "none"],
    );
    r.p.signal(libc::SIGTERM);
    wait_for_record(&r.file, "SIGTERM", WAIT);
    let (out, got) = r.stop(libc::SIGHUP, 137, T);
    assert_eq!(got, ["SIGTERM", "SIGHUP"], "{out}");
    assert!(out.stderr.contains("after stop signal SIGHUP"), "{out}");
}

#[test]
fn kill_term_1_from_inside_the_namespace_stops_the_child() {
    // `kill 1` inside a container: the sender is pidone's own child.
    let script = r#"trap 'echo got TERM; exit 3' TERM; kill -TERM 1; while :; do sleep 0.05; done"#;
    let out = Launch::pidone()
        .args(["-t", "5s", "--", "sh", "-c", script])
        .run(T);
    out.assert_code(3);
    assert_eq!(out.stdout, "got TERM\n", "{out}");
    assert!(out.stderr.contains("after stop signal SIGTERM"), "{out}");
}

#[test]
fn dash_p_sets_the_parent_death_signal() {
    // pidone's parent exits once the recorder is ready; the kernel sends pidone the -p signal,
    // which pidone forwards like any other.
    let dir = TempDir::new();
    let file = dir.join("signals");
    let out = Launch::new(testkit())
        .arg("parent-dies")
        .arg(&file)
        .arg("--")
        .arg(pidone_bin())
        .args(["-p", "SIGUSR1", "--"])
        .arg(testkit())
        .arg("record")
        .arg(&file)
        .not_pid1()
        .run(T);
    out.assert_code(0);
    assert_eq!(out.stdout.split_whitespace().next(), Some("SIGUSR1"), "{out}");
}
