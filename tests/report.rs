//! SPEC §5: the exit report. `auto` is silent unless something happened, `text` and `json`
//! always print one line on stderr, `off` never; JSON fields and their values.

mod support;

use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(10);

/// pidone ARGS -- testkit record FILE (exits 0 on TERM), stopped with TERM.
fn stopped_cooperatively(launch: Launch, args: &[&str]) -> Outcome {
    let dir = TempDir::new();
    let p = start_recorder(launch, args, &[], &dir);
    p.signal(libc::SIGTERM);
    p.wait_timeout(T)
}

#[test]
fn auto_is_silent_on_a_plain_exit() {
    for args in [&["--", "true"][..], &["--", "sh", "-c", "exit 5"]] {
        let out = Launch::pidone().args(args).run(T);
        assert_eq!(out.stderr, "", "{out}");
    }
    let out = Launch::pidone().args(["--report", "auto", "--", "true"]).run(T);
    assert_eq!(out.stderr, "", "{out}");
}

#[test]
fn auto_prints_one_line_after_a_stop() {
    let out = stopped_cooperatively(Launch::pidone(), &[]);
    out.assert_code(0);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    let line = lines[0];
    assert!(
        line.starts_with("pidone: exit 0 (child exited 0) after stop signal SIGTERM; stopped in "),
        "{out}"
    );
    assert!(line.ends_with("; reaped 0; killed 0"), "{out}");
}

#[test]
fn text_always_prints_one_line() {
    for (args, code, report) in [
        (
            &["--", "sh", "-c", "exit 3"][..],
            3,
            "pidone: exit 3 (child exited 3); reaped 0; killed 0\n",
        ),
        (
            &["-e", "3", "--", "sh", "-c", "exit 3"],
            0,
            "pidone: exit 0 (child exited 3); reaped 0; killed 0\n",
        ),
        (
            &["--", "sh", "-c", "kill -TERM $$"],
            143,
            "pidone: exit 143 (child killed by SIGTERM); reaped 0; killed 0\n",
        ),
    ] {
        let out = Launch::pidone().args(["--report", "text"]).args(args).run(T);
        out.assert_code(code);
        assert_eq!(out.stderr, report, "{out}");
    }
}

#[test]
fn off_prints_nothing_even_after_a_stop() {
    let out = stopped_cooperatively(Launch::pidone(), &["--report", "off"]);
    out.assert_code(0);
    assert_eq!(out.stderr, "", "{out}");
    let out = stopped_cooperatively(Launch::pidone().env("PIDONE_REPORT", "off"), &[]);
    assert_eq!(out.stderr, "", "{out}");
}

const FIELDS: [&str; 8] = [
    "exit_code",
    "child",
    "cause",
    "stop_signal",
    "stop_duration_ms",
    "reaped",
    "terminated",
    "killed",
];

fn assert_all_fields(report: &Json) {
    for f in FIELDS {
        let _ = report.get(f);
    }
    assert_eq!(
        report.keys().len(),
        FIELDS.len(),
        "unexpected fields: {:?}",
        report.keys()
    );
}

/// `pidone --report json -- COMMAND` where the child exits `code` by itself (pidone passing
/// the code on): the outcome, and its report, checked for every field and for that exit.
fn report_of_an_exit(command: &[&str], code: i32, cause: &str) -> (Outcome, Json) {
    let out = Launch::pidone()
        .args(["--report", "json", "--"])
        .args(command)
        .run(T);
    out.assert_code(code);
    let r = out.report_json();
    assert_all_fields(&r);
    assert_eq!(r.get("exit_code").as_i64(), i64::from(code));
    assert_eq!(r.get("child").get("exited").as_i64(), i64::from(code));
    assert_eq!(r.get("cause").as_str(), cause);
    (out, r)
}

#[test]
fn json_on_a_plain_exit() {
    let (out, r) = report_of_an_exit(&["sh", "-c", "exit 4"], 4, "exited");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert_eq!(*r.get("stop_signal"), Json::Null);
    assert_eq!(*r.get("stop_duration_ms"), Json::Null);
    assert_eq!(r.get("reaped").as_i64(), 0);
    assert_eq!(r.get("terminated").as_array().len(), 0);
    assert_eq!(r.get("killed").as_array().len(), 0);
}

#[test]
fn json_after_a_cooperative_stop() {
    let out = stopped_cooperatively(Launch::pidone(), &["--report", "json"]);
    out.assert_code(0);
    let r = out.report_json();
    assert_all_fields(&r);
    assert_eq!(r.get("exit_code").as_i64(), 0);
    assert_eq!(r.get("cause").as_str(), "stop_signal");
    assert_eq!(r.get("stop_signal").as_str(), "SIGTERM");
    let ms = r.get("stop_duration_ms").as_i64();
    assert!((0..2000).contains(&ms), "{out}");
}

#[test]
fn json_after_the_grace_expired() {
    let dir = TempDir::new();
    let ready = dir.join("ready");
    let p = Launch::pidone()
        .args(["--report", "json", "-t", "1s", "-e", "137", "--"])
        .arg(testkit())
        .args(["ignore", "TERM", "INT", "--ready"])
        .spawn_ready(&ready, WAIT);
    let pid: i64 = std::fs::read_to_string(&ready).unwrap().trim().parse().unwrap();
    p.signal(libc::SIGINT);
    let out = p.wait_timeout(T);
    out.assert_code(0);
    let r = out.report_json();
    assert_all_fields(&r);
    // exit_code is what pidone exits with, after -e.
    assert_eq!(r.get("exit_code").as_i64(), 0, "{out}");
    assert_eq!(r.get("child").get("signaled").as_str(), "SIGKILL", "{out}");
    assert_eq!(r.get("cause").as_str(), "grace_expired", "{out}");
    assert_eq!(r.get("stop_signal").as_str(), "SIGINT", "{out}");
    let ms = r.get("stop_duration_ms").as_i64();
    assert!((900..6000).contains(&ms), "{out}");
    let killed = r.get("killed").as_array();
    assert_eq!(killed.len(), 1, "{out}");
    assert_eq!(killed[0].get("pid").as_i64(), pid, "{out}");
    assert_eq!(killed[0].get("comm").as_str(), "testkit", "{out}");
}

#[test]
fn json_after_an_exec_failure() {
    let (out, _) = report_of_an_exit(&["no-such-command-pidone-test"], 127, "exec_failed");
    // The error line, then the report.
    assert_eq!(out.stderr.lines().count(), 2, "{out}");
}

#[test]
fn json_counts_reaped_zombies() {
    reap_orphans(Launch::pidone(), 25, T);
}

#[test]
fn pidone_report_variable_selects_the_format() {
    let out = Launch::pidone()
        .env("PIDONE_REPORT", "json")
        .args(["--", "true"])
        .run(T);
    out.assert_code(0);
    assert_eq!(out.report_json().get("exit_code").as_i64(), 0);
    let out = Launch::pidone()
        .env("PIDONE_REPORT", "text")
        .args(["--", "true"])
        .run(T);
    assert_eq!(
        out.stderr, "pidone: exit 0 (child exited 0); reaped 0; killed 0\n",
        "{out}"
    );
}

#[test]
fn log_format_json_makes_warnings_json_too() {
    let out = stop_a_term_ignorer(&["--log-format", "json", "--report", "json", "-t", "0"], WAIT, T);
    out.assert_code(137);
    for line in out.stderr.lines() {
        assert!(Json::parse(line).is_some(), "not JSON: {line:?}\n{out}");
    }
    assert!(
        out.stderr.lines().count() >= 2,
        "a warning and the report expected: {out}"
    );
}

#[test]
fn the_report_never_goes_to_stdout() {
    let out = stopped_cooperatively(Launch::pidone(), &["--report", "json"]);
    assert_eq!(out.stdout, "", "{out}");
    let out = Launch::pidone()
        .args(["--report", "text", "--", "echo", "app"])
        .run(T);
    assert_eq!(out.stdout, "app\n", "{out}");
}

#[test]
fn stop_duration_counts_from_receipt_including_the_stop_delay() {
    let out = stopped_cooperatively(Launch::pidone(), &["--stop-delay", "1s", "--report", "json"]);
    out.assert_code(0);
    let ms = out.report_json().get("stop_duration_ms").as_i64();
    assert!((950..6000).contains(&ms), "{out}");
}
