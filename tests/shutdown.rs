//! SPEC §4: stop (grace, SIGKILL at the deadline, warning naming the victims), cleanup after
//! the main child exits (TERM then KILL after --cleanup-grace), --stop-delay, and that only
//! descendants are touched when pidone is not PID 1.

mod support;

use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(10);

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

/// Starts pidone with `testkit ARGS... --ready FILE` and waits for the file.
fn start(launch: Launch, pidone_args: &[&str], testkit_args: &[&str], dir: &TempDir) -> (Pid1, String) {
    let ready = dir.join("ready");
    let p = launch
        .args(pidone_args)
        .testkit(testkit_args)
        .arg("--ready")
        .spawn_ready(&ready, WAIT);
    let content = std::fs::read_to_string(&ready).unwrap();
    (p, content)
}

fn stop_and_wait(p: Pid1) -> (Outcome, Duration) {
    let sent = std::time::Instant::now();
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    (out, sent.elapsed())
}

/// Starts pidone over `testkit TESTKIT_ARGS`, sends SIGTERM and expects SIGKILL's exit 137
/// between `lo` and `hi` seconds later. Returns the outcome and the ready file's content.
fn killed_after(
    launch: Launch,
    pidone_args: &[&str],
    testkit_args: &[&str],
    lo: f64,
    hi: f64,
) -> (Outcome, String) {
    let dir = TempDir::new();
    let (p, ready) = start(launch, pidone_args, testkit_args, &dir);
    let (out, took) = stop_and_wait(p);
    out.assert_code(137);
    assert_took(took, lo, hi, "the stop", &out);
    (out, ready)
}

/// The line that announces the SIGKILL.
fn sigkill_warning(out: &Outcome) -> &str {
    let warning = out.stderr.lines().find(|l| l.contains("SIGKILL"));
    warning.unwrap_or_else(|| panic!("no SIGKILL warning: {out}"))
}

/// `pidone ARGS -- testkit leave-orphans FLAGS --marker FILE`, run to the end. Returns the
/// outcome and what the orphan that handles SIGTERM wrote to FILE ("" if it got none).
fn leave_orphans(launch: Launch, pidone_args: &[&str], flags: &[&str]) -> (Outcome, String) {
    let dir = TempDir::new();
    let marker = dir.join("marker");
    let launch = launch.args(pidone_args).testkit(["leave-orphans"]).args(flags);
    let out = launch.arg("--marker").arg(&marker).run(T);
    (out, std::fs::read_to_string(&marker).unwrap_or_default())
}

#[test]
fn a_cooperative_child_stops_promptly_with_its_own_code() {
    let dir = TempDir::new();
    let p = start_recorder(Launch::pidone(), &[], &["--exit-code", "7"], &dir);
    let (out, took) = stop_and_wait(p);
    out.assert_code(7);
    assert_took(took, 0.0, 2.0, "the stop", &out);
}

#[test]
fn a_child_dying_from_sigterm_gives_143() {
    let dir = TempDir::new();
    let (p, _) = start(Launch::pidone(), &[], &["sleep"], &dir);
    let (out, took) = stop_and_wait(p);
    out.assert_code(143);
    assert_took(took, 0.0, 2.0, "the stop", &out);
}

#[test]
fn a_child_ignoring_sigterm_is_killed_when_the_grace_expires() {
    let (out, pid) = killed_after(Launch::pidone(), &["-t", "1s"], &["ignore", "TERM"], 0.9, 6.0);
    let pid = pid.trim();
    // The warning comes before the kill and names every victim by pid and comm.
    let warning = sigkill_warning(&out);
    assert!(warning.starts_with("pidone: warning:"), "{out}");
    assert!(warning.contains("grace"), "{out}");
    assert!(
        warning.contains(&format!("{pid} (testkit)")),
        "warning must name {pid} (testkit): {out}"
    );
    let report = out.pidone_lines().last().copied().unwrap_or_default();
    assert!(
        report.contains("exit 137") && report.contains("grace expired"),
        "{out}"
    );
}

#[test]
fn grace_zero_escalates_at_once() {
    killed_after(Launch::pidone(), &["-t", "0"], &["ignore", "TERM"], 0.0, 2.0);
}

#[test]
fn pidone_grace_variable_sets_the_grace() {
    let launch = Launch::pidone().env("PIDONE_GRACE", "1s");
    killed_after(launch, &[], &["ignore", "TERM"], 0.9, 6.0);
}

#[test]
fn further_stop_signals_do_not_rearm_the_grace() {
    let dir = TempDir::new();
    let (p, _) = start(Launch::pidone(), &["-t", "2s"], &["ignore", "TERM", "INT"], &dir);
    let sent = std::time::Instant::now();
    p.signal(libc::SIGTERM);
    // A second stop signal a little later must not push the deadline.
    wait_until("1s to pass", WAIT, || sent.elapsed() >= secs(1.0));
    p.signal(libc::SIGINT);
    let out = p.wait_timeout(T);
    out.assert_code(137);
    assert_took(sent.elapsed(), 1.9, 2.9, "the stop (grace re-armed?)", &out);
}

/// A main process, a child and a grandchild ignoring TERM, plus a setsid'd child ignoring TERM.
const TREE: [&str; 2] = ["spawn-tree", "--main-ignores-term"];

/// spawn-tree: a child and a grandchild ignoring TERM, plus a setsid'd child ignoring TERM.
fn tree_pids(ready: &str) -> Vec<(String, String)> {
    ready
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

#[test]
fn the_whole_tree_is_killed_at_the_grace_deadline_as_pid1() {
    let args = ["-t", "1s", "--report", "json"];
    let (out, ready) = killed_after(Launch::pidone(), &args, &TREE, 0.9, 6.0);
    let warning = sigkill_warning(&out);
    for (role, pid) in tree_pids(&ready) {
        let comm = match role.as_str() {
            "main" => "testkit",
            "child" => "tk-ign-child",
            "grand" => "tk-ign-grand",
            _ => "tk-setsid",
        };
        assert!(
            warning.contains(&format!("{pid} ({comm})")),
            "warning misses {pid} ({comm}): {out}"
        );
    }
    let report = out.report_json();
    assert_eq!(report.get("killed").as_array().len(), 4, "{out}");
    assert_eq!(report.get("cause").as_str(), "grace_expired", "{out}");
}

#[test]
fn the_whole_tree_is_gone_at_the_grace_deadline_when_not_pid1() {
    // As a subreaper there is no kernel to kill what pidone misses: init reports leftovers.
    let (out, _) = killed_after(Launch::pidone().not_pid1(), &["-t", "1s"], &TREE, 0.9, 6.0);
    assert_eq!(out.nested().leftovers, [], "processes survived pidone: {out}");
    for comm in ["tk-ign-child", "tk-ign-grand", "tk-setsid"] {
        assert!(
            out.stderr.contains(comm),
            "{comm} not named in the warning: {out}"
        );
    }
}

#[test]
fn when_the_main_child_exits_during_a_stop_the_stop_still_ends_by_the_grace() {
    // The main child dies from TERM at once; its TERM-ignoring descendants are in cleanup,
    // whose own grace (10s) must not extend the stop beyond --grace (1s).
    let dir = TempDir::new();
    let (p, _) = start(
        Launch::pidone().not_pid1(),
        &["-t", "1s", "--cleanup-grace", "10s", "--report", "json"],
        &["spawn-tree"],
        &dir,
    );
    let (out, took) = stop_and_wait(p);
    out.assert_code(143);
    assert_took(took, 0.9, 6.0, "the stop", &out);
    assert_eq!(out.nested().leftovers, [], "{out}");
    let report = out.report_json();
    assert_eq!(report.get("child").get("signaled").as_str(), "SIGTERM", "{out}");
    assert_eq!(report.get("killed").as_array().len(), 3, "{out}");
}

fn comms(list: &Json) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .iter()
        .map(|p| p.get("comm").as_str().to_string())
        .collect();
    v.sort();
    v
}

/// The report names (by comm, sorted) the processes the cleanup terminated and killed; returns
/// the report.
fn assert_cleanup(out: &Outcome, terminated: &[&str], killed: &[&str]) -> Json {
    let report = out.report_json();
    assert_eq!(comms(report.get("terminated")), terminated, "{out}");
    assert_eq!(comms(report.get("killed")), killed, "{out}");
    report
}

/// After the main child exits on its own: orphans get TERM (one writes a marker), the one that
/// ignores it is SIGKILLed after --cleanup-grace; pidone exits with the main child's code.
/// Not as PID 1, nothing is left behind either.
fn cleanup_term_then_kill(launch: Launch) {
    let args = ["--cleanup-grace", "1s", "--report", "json"];
    let (out, marker) = leave_orphans(launch, &args, &["--ignorer", "--exit", "3"]);
    out.assert_code(3);
    assert_eq!(marker, "SIGTERM\n", "{out}");
    assert_took(out.elapsed, 0.9, 6.0, "the run", &out);
    let report = assert_cleanup(&out, &["tk-handler", "tk-ignorer"], &["tk-ignorer"]);
    assert_eq!(report.get("cause").as_str(), "exited", "{out}");
    assert!(sigkill_warning(&out).contains("(tk-ignorer)"), "{out}");
    no_leftovers(&out);
}

pid1_and_nested!(cleanup_term_then_kill: cleanup_terminates_then_kills_orphans_as_pid1, cleanup_terminates_then_kills_orphans_when_not_pid1);

/// In nested mode: nothing was left alive when pidone exited.
fn no_leftovers(out: &Outcome) {
    if let Some(nested) = &out.nested {
        assert_eq!(nested.leftovers, [], "{out}");
    }
}

#[test]
fn cleanup_ends_as_soon_as_nothing_is_left() {
    let (out, marker) = leave_orphans(Launch::pidone(), &["--cleanup-grace", "20s"], &[]);
    out.assert_code(0);
    assert_eq!(marker, "SIGTERM\n", "{out}");
    assert_took(
        out.elapsed,
        0.0,
        5.0,
        "the run (waited for the cleanup grace?)",
        &out,
    );
    // report auto: something was terminated, so the line is there.
    assert!(out.stderr.contains("terminated 1"), "{out}");
}

#[test]
fn cleanup_grace_zero_kills_at_once_without_term() {
    let (out, marker) = leave_orphans(
        Launch::pidone(),
        &["--cleanup-grace", "0", "--report", "json"],
        &[],
    );
    out.assert_code(0);
    assert_eq!(
        marker, "",
        "the orphan got SIGTERM despite --cleanup-grace 0: {out}"
    );
    assert_cleanup(&out, &[], &["tk-handler"]);
    assert_took(out.elapsed, 0.0, 5.0, "the run", &out);
}

#[test]
fn a_stop_signal_during_cleanup_kills_what_is_left_at_once() {
    let dir = TempDir::new();
    let marker = dir.join("marker");
    let launch = Launch::pidone().args(["--cleanup-grace", "30s"]);
    let launch = launch.testkit(["leave-orphans", "--ignorer", "--marker"]);
    let p = launch.arg(&marker).spawn();
    // The handler's marker says the cleanup's SIGTERM went out; the ignorer is still there.
    wait_for_file(&marker, WAIT);
    let (out, took) = stop_and_wait(p);
    out.assert_code(0);
    assert_took(took, 0.0, 5.0, "the stop", &out);
    assert!(out.stderr.contains("tk-ignorer"), "{out}");
}

#[test]
fn stop_delay_holds_term_while_other_signals_pass() {
    let dir = TempDir::new();
    let file = dir.join("signals");
    let p = start_recorder(Launch::pidone(), &["--stop-delay", "1s"], &[], &dir);
    let t0 = monotonic_ns();
    p.signal(libc::SIGTERM);
    p.signal(libc::SIGHUP);
    let hup = wait_for_record(&file, "SIGHUP", WAIT);
    let out = p.wait_timeout(T);
    out.assert_code(0);
    let recs = records(&file);
    let names: Vec<&str> = recs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["SIGHUP", "SIGTERM"], "{out}");
    let term = recs[1].1;
    assert_took(ns(hup - t0), 0.0, 0.8, "HUP (held too?)", &out);
    assert_took(ns(term - t0), 0.95, 5.0, "TERM", &out);
}

#[test]
fn a_second_stop_signal_during_the_stop_delay_delivers_at_once() {
    let dir = TempDir::new();
    let file = dir.join("signals");
    let p = start_recorder(Launch::pidone(), &["--stop-delay", "10s"], &[], &dir);
    p.signal(libc::SIGTERM);
    // Real-time signals are read after standard ones: once RTMIN is through, pidone has the TERM.
    p.signal(libc::SIGRTMIN());
    wait_for_record(&file, "SIGRTMIN+0", WAIT);
    let t1 = monotonic_ns();
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(0);
    let term = wait_for_record(&file, "SIGTERM", WAIT);
    assert_took(ns(term - t1), 0.0, 3.0, "the second TERM", &out);
    assert_eq!(record_names(&file), ["SIGRTMIN+0", "SIGTERM"], "{out}");
}

#[test]
fn stop_delay_then_grace_counts_from_delivery() {
    let args = ["--stop-delay", "1s", "-t", "1s"];
    killed_after(Launch::pidone(), &args, &["ignore", "TERM"], 1.9, 8.0);
}

#[test]
fn a_sibling_that_pidone_did_not_start_survives_its_shutdown_when_not_pid1() {
    // init starts a sibling before pidone; pidone's grace expires and it kills its own tree;
    // the sibling is no descendant of pidone's and must still be alive afterwards.
    let (out, _) = killed_after(Launch::pidone().sibling(), &["-t", "1s"], &TREE, 0.0, 20.0);
    assert_eq!(
        out.nested().sibling_alive,
        Some(true),
        "pidone killed a process outside its tree: {out}"
    );
    assert_eq!(out.nested().leftovers, [], "{out}");
    assert!(!out.stderr.contains("tk-sibling"), "{out}");
}

#[test]
fn a_sibling_survives_the_cleanup_too() {
    let launch = Launch::pidone().sibling();
    let (out, _) = leave_orphans(launch, &["--cleanup-grace", "1s"], &["--ignorer"]);
    out.assert_code(0);
    assert_eq!(out.nested().sibling_alive, Some(true), "{out}");
    assert_eq!(out.nested().leftovers, [], "{out}");
}

/// A process born during the cleanup (after the SIGTERM pass) is still found and killed.
fn late_orphan_is_killed(launch: Launch) {
    let args = ["--cleanup-grace", "1s", "--report", "json"];
    let (out, _) = leave_orphans(launch, &args, &["--forker"]);
    out.assert_code(0);
    assert_cleanup(&out, &["tk-forker", "tk-handler"], &["tk-late"]);
    assert_took(out.elapsed, 0.9, 6.0, "the run", &out);
    no_leftovers(&out);
}

pid1_and_nested!(late_orphan_is_killed: a_process_born_during_cleanup_is_killed_as_pid1, a_process_born_during_cleanup_is_killed_when_not_pid1);

#[test]
fn a_second_stop_signal_after_the_main_child_died_kills_the_rest_at_once() {
    // The main child dies from the first TERM; its TERM-ignoring descendants would get the
    // full grace (30 s); a second TERM during that cleanup SIGKILLs them at once.
    let dir = TempDir::new();
    let (p, _) = start(
        Launch::pidone(),
        &["-t", "30s", "--cleanup-grace", "30s"],
        &["spawn-tree"],
        &dir,
    );
    let main = children_of(p.pid);
    assert_eq!(main.len(), 1);
    let sent = std::time::Instant::now();
    p.signal(libc::SIGTERM);
    // As PID 1, pidone adopts the main child's children once it is gone.
    wait_until("the main child to be gone", WAIT, || {
        !children_of(p.pid).contains(&main[0])
    });
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(143);
    assert_took(sent.elapsed(), 0.0, 8.0, "the stop", &out);
    assert!(out.stderr.contains("tk-ign-grand"), "{out}");
}

#[test]
fn grace_none_never_escalates() {
    let dir = TempDir::new();
    let (p, _) = start(Launch::pidone(), &["-t", "none"], &["ignore", "TERM"], &dir);
    let child = children_of(p.pid);
    p.signal(libc::SIGTERM);
    // Absence of an event needs time: 1.5 s is well past any scheduling delay for a 0 s grace.
    let until = std::time::Instant::now() + secs(1.5);
    wait_until("1.5 s", WAIT, || std::time::Instant::now() >= until);
    assert!(p.is_running(), "pidone escalated despite --grace none");
    // SAFETY: SIGKILL to the child, a process of this test's own namespace.
    unsafe { libc::kill(child[0], libc::SIGKILL) };
    let out = p.wait_timeout(T);
    out.assert_code(137);
    assert!(!out.stderr.contains("warning"), "{out}");
}

#[test]
fn a_stopped_child_is_not_mistaken_for_an_exited_one() {
    let dir = TempDir::new();
    let (p, _) = start(Launch::pidone(), &[], &["sleep"], &dir);
    let child = children_of(p.pid)[0];
    let state = |pid: i32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(") ")
            .map(|(_, rest)| rest.chars().next().unwrap_or('?'))
            .unwrap_or('?')
    };
    // SAFETY: signals to our own namespace's process.
    unsafe { libc::kill(child, libc::SIGSTOP) };
    wait_until("the child to be stopped", WAIT, || state(child) == 'T');
    // SAFETY: as above.
    unsafe { libc::kill(child, libc::SIGCONT) };
    wait_until("the child to run again", WAIT, || state(child) != 'T');
    assert!(p.is_running(), "pidone exited when its child stopped");
    let (out, _) = stop_and_wait(p);
    out.assert_code(143);
}

#[test]
fn a_child_exiting_during_the_stop_delay_ends_pidone_at_once() {
    let dir = TempDir::new();
    let file = dir.join("signals");
    let args = ["--stop-delay", "20s", "--report", "json"];
    let p = start_recorder(
        Launch::pidone(),
        &args,
        &["--exit-on", "HUP", "--exit-code", "5"],
        &dir,
    );
    let sent = std::time::Instant::now();
    p.signal(libc::SIGTERM);
    p.signal(libc::SIGHUP);
    let out = p.wait_timeout(T);
    out.assert_code(5);
    assert_took(
        sent.elapsed(),
        0.0,
        5.0,
        "the stop (waited for the stop delay?)",
        &out,
    );
    // The held TERM was never delivered.
    assert_eq!(record_names(&file), ["SIGHUP"], "{out}");
}

#[test]
fn stop_related_variables_are_read() {
    // PIDONE_STOP_DELAY: TERM is held ~1 s.
    let dir = TempDir::new();
    let p = start_recorder(Launch::pidone().env("PIDONE_STOP_DELAY", "1s"), &[], &[], &dir);
    let t0 = monotonic_ns();
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(0);
    let term = wait_for_record(&dir.join("signals"), "SIGTERM", WAIT);
    assert_took(
        ns(term - t0),
        0.95,
        1e6,
        "TERM (PIDONE_STOP_DELAY ignored?)",
        &out,
    );

    // PIDONE_CLEANUP_GRACE=0: the orphan is killed without a TERM.
    let (out, marker) = leave_orphans(Launch::pidone().env("PIDONE_CLEANUP_GRACE", "0"), &[], &[]);
    out.assert_code(0);
    assert_eq!(marker, "", "PIDONE_CLEANUP_GRACE ignored: {out}");

    // PIDONE_STOP_SIGNALS=HUP: HUP starts the grace (the recorder does not exit on it).
    let dir = TempDir::new();
    let launch = Launch::pidone().env("PIDONE_STOP_SIGNALS", "HUP");
    let p = start_recorder(launch, &["-t", "1s"], &["--exit-on", "none"], &dir);
    p.signal(libc::SIGHUP);
    let out = p.wait_timeout(T);
    out.assert_code(137);
    assert!(out.stderr.contains("after stop signal SIGHUP"), "{out}");
}

#[test]
fn without_its_own_proc_pid1_still_terminates_and_kills_everything() {
    // /proc shows the parent namespace (unshare --pid --fork without --mount-proc): pidone can
    // not list processes, and as PID 1 falls back to kill(-1), which stays inside its namespace.
    let flags = ["--ignorer", "--exit", "4"];
    let (out, marker) = leave_orphans(Launch::pidone().host_proc(), &["--cleanup-grace", "1s"], &flags);
    out.assert_code(4);
    assert_eq!(marker, "SIGTERM\n", "{out}");
    assert_took(out.elapsed, 0.9, 6.0, "the run", &out);

    killed_after(Launch::pidone().host_proc(), &["-t", "1s"], &TREE, 0.9, 6.0);
}
