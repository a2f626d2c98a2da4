//! SPEC §3: every caught signal is forwarded to the child (after `--rewrite`), or to its process
//! group with `-g`; pidone as PID 1 gets signals from the parent namespace.

mod support;

use std::path::Path;
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
    let dir = TempDir::new();
    let file = dir.join("signals");
    let p = start_recorder(launch, &[], &[], &dir);
    let sigs = every_forwardable_signal();
    let refs: Vec<(i32, &str)> = sigs.iter().map(|(s, n)| (*s, n.as_str())).collect();
    send_and_expect(&p, &file, &refs);
    // The stop signal is forwarded too; the recorder exits 0 on it.
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(0);
    let mut expected: Vec<String> = sigs.into_iter().map(|(_, n)| n).collect();
    expected.push("SIGTERM".into());
    // Exactly these, in order: nothing extra (no SIGCHLD, no duplicate, no SIGKILL-style surprise).
    assert_eq!(record_names(&file), expected, "{out}");
}

pid1_and_nested!(forwards_everything: forwards_every_catchable_signal_including_real_time_and_fault_signals_as_pid1, forwards_every_catchable_signal_when_not_pid1);

#[test]
fn sigterm_from_the_parent_namespace_reaches_the_child_of_pid1() {
    let dir = TempDir::new();
    let file = dir.join("signals");
    let p = start_recorder(Launch::pidone(), &[], &["--exit-code", "9"], &dir);
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(9);
    assert_eq!(record_names(&file), ["SIGTERM"], "{out}");
    assert!(out.elapsed < Duration::from_secs(5), "{out}");
}

#[test]
fn sigint_is_forwarded_and_is_a_stop_signal() {
    let dir = TempDir::new();
    let file = dir.join("signals");
    let p = start_recorder(Launch::pidone(), &[], &[], &dir);
    p.signal(libc::SIGINT);
    let out = p.wait_timeout(T);
    out.assert_code(0);
    assert_eq!(record_names(&file), ["SIGINT"], "{out}");
    assert!(out.stderr.contains("after stop signal SIGINT"), "{out}");
}

/// `-g`: signals go to the child's whole process group (two processes in it).
fn group_delivery(launch: Launch) {
    let dir = TempDir::new();
    let main = dir.join("signals");
    let member = dir.join("member");
    let member_arg = member.to_str().unwrap();
    let p = start_recorder(launch, &[], &["--member", member_arg], &dir);
    p.signal(libc::SIGUSR1);
    wait_for_record(&main, "SIGUSR1", WAIT);
    wait_for_record(&member, "SIGUSR1", WAIT);
    p.signal(rtmin() + 3);
    // Both, before TERM: a process with TERM and RTMIN+3 pending takes TERM first.
    wait_for_record(&main, "SIGRTMIN+3", WAIT);
    wait_for_record(&member, "SIGRTMIN+3", WAIT);
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(0);
    assert_eq!(record_names(&main), ["SIGUSR1", "SIGRTMIN+3", "SIGTERM"], "{out}");
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
    let main = dir.join("signals");
    let member = dir.join("member");
    let member_arg = member.to_str().unwrap();
    let p = start_recorder(
        Launch::pidone(),
        &["--cleanup-grace", "5s"],
        &["--member", member_arg],
        &dir,
    );
    p.signal(libc::SIGUSR1);
    wait_for_record(&main, "SIGUSR1", WAIT);
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(0);
    assert_eq!(record_names(&main), ["SIGUSR1", "SIGTERM"], "{out}");
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
    let dir = TempDir::new();
    let file = dir.join("signals");
    let p = start_recorder(
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
        &dir,
    );
    send_and_expect(
        &p,
        &file,
        &[
            (libc::SIGUSR1, "SIGUSR2"),
            (libc::SIGHUP, "SIGRTMIN+3"),
            (rtmin() + 1, "SIGWINCH"),
            // Not rewritten.
            (libc::SIGUSR2, "SIGUSR2"),
            (libc::SIGQUIT, "SIGQUIT"),
        ],
    );
    p.signal(libc::SIGTERM);
    p.wait_timeout(T).assert_code(0);
}

#[test]
fn rewrite_to_drop_swallows_the_signal() {
    let dir = TempDir::new();
    let file = dir.join("signals");
    let p = start_recorder(
        Launch::pidone(),
        &["-r", "HUP:DROP", "-r", "RTMIN+3:DROP"],
        &[],
        &dir,
    );
    p.signal(libc::SIGHUP);
    p.signal(rtmin() + 3);
    // The kernel hands pending signals to pidone lowest number first, standard before
    // real-time: once USR1 and RTMIN+4 have arrived, HUP and RTMIN+3 were read before them.
    p.signal(libc::SIGUSR1);
    p.signal(rtmin() + 4);
    wait_for_record(&file, "SIGRTMIN+4", WAIT);
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(0);
    assert_eq!(record_names(&file), ["SIGUSR1", "SIGRTMIN+4", "SIGTERM"], "{out}");
}

#[test]
fn pidone_rewrite_variable_is_a_comma_separated_list() {
    let dir = TempDir::new();
    let file = dir.join("signals");
    let p = start_recorder(
        Launch::pidone().env("PIDONE_REWRITE", "USR1:USR2,HUP:DROP"),
        &[],
        &[],
        &dir,
    );
    p.signal(libc::SIGHUP);
    send_and_expect(&p, &file, &[(libc::SIGUSR1, "SIGUSR2")]);
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(0);
    assert_eq!(record_names(&file), ["SIGUSR2", "SIGTERM"], "{out}");
}

#[test]
fn a_rewritten_stop_signal_still_starts_the_grace() {
    // TERM arrives, USR1 is delivered (the recorder does not exit on it), and the grace that TERM
    // started still expires: stop signals are decided on the signal received.
    let dir = TempDir::new();
    let file = dir.join("signals");
    let p = start_recorder(
        Launch::pidone(),
        &["-t", "1s", "-r", "TERM:USR1"],
        &["--exit-on", "none"],
        &dir,
    );
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(137);
    assert_eq!(record_names(&file), ["SIGUSR1"], "{out}");
    assert!(out.elapsed >= Duration::from_millis(900), "{out}");
}

#[test]
fn a_dropped_stop_signal_still_starts_the_grace() {
    let dir = TempDir::new();
    let file = dir.join("signals");
    let p = start_recorder(
        Launch::pidone(),
        &["-t", "1s", "-r", "TERM:DROP"],
        &["--exit-on", "none"],
        &dir,
    );
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(137);
    assert_eq!(record_names(&file), Vec::<String>::new(), "{out}");
}

#[test]
fn stop_signals_option_chooses_what_starts_the_grace() {
    // With --stop-signals HUP, TERM is an ordinary forwarded signal and HUP starts the grace.
    let dir = TempDir::new();
    let file = dir.join("signals");
    let p = start_recorder(
        Launch::pidone(),
        &["-t", "1s", "--stop-signals", "HUP"],
        &["--exit-on", "none"],
        &dir,
    );
    p.signal(libc::SIGTERM);
    wait_for_record(&file, "SIGTERM", WAIT);
    p.signal(libc::SIGHUP);
    let out = p.wait_timeout(T);
    out.assert_code(137);
    assert_eq!(record_names(&file), ["SIGTERM", "SIGHUP"], "{out}");
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
