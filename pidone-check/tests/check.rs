//! pidone-check end to end (SPEC §6), against the shared example applications.
//!
//! pidone-check runs as an ordinary process here: it is a child subreaper and its supervisor
//! only ever signals its own descendants, so the tests need no namespace. Each test asserts on
//! the exit code, the report and what the application itself printed (its output comes
//! through on stderr), and checks in /proc that nothing it started is left.

mod common;

use common::{Out, argv, json_number};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn a_well_behaved_app_passes_with_every_probe() {
    let dir = TempDir::new("wellbehaved");
    let port = free_port();
    let ready = dir.file("ready");
    let out = check(&argv(&format!(
        "--ready-tcp 127.0.0.1:{port} --ready-file {ready} --ready-log '^graceful: ready$' \
         -- {} --port {port} --ready-file {ready}",
        example("graceful")
    )));
    assert_eq!(out.code, 0, "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("run 1/1: PASS: ready in "), "{out}");
    assert!(
        lines[0].contains("after SIGTERM; exit code 0; terminated 0; killed 0; zombies left 0"),
        "{out}"
    );
    assert!(lines[1].starts_with("PASS: 1 of 1 runs passed ("), "{out}");
    // The application's output passes through on stderr, never on stdout.
    assert!(out.stderr.contains("graceful: ready\n"), "{out}");
    assert!(out.stderr.contains("graceful: got SIGTERM\n"), "{out}");
    assert!(!out.stdout.contains("graceful:"), "{out}");
}

#[test]
fn the_default_probe_is_a_one_second_delay() {
    let out = check(&["--format", "json", "--", "sleep", "60"]);
    assert_eq!(out.code, 0, "{out}");
    let run = json_run(&out, 1);
    let ready_ms = json_number(run, "ready_ms");
    assert!((1000..10_000).contains(&ready_ms), "{out}");
    assert!(
        run.contains("\"child\":{\"signaled\":\"SIGTERM\"}"),
        "143 is accepted: {out}"
    );
}

#[test]
fn a_slow_app_fails_a_tight_budget() {
    let dir = TempDir::new("tight");
    let ready = dir.file("ready");
    let out = check(&argv(&format!(
        "--ready-file {ready} --within 300ms -- {} --stop-time 30s --ready-file {ready}",
        example("slow_stop")
    )));
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.starts_with("run 1/1: FAIL: "), "{out}");
    out.assert_reports("\n  - did not stop within 300ms of SIGTERM (took ");
    let pid = pid_in(&ready);
    out.assert_reports(&format!("\n  - had to SIGKILL 1 process: {pid} (slow_stop)\n"));
    assert!(
        !out.stdout.contains("exit code 137 (SIGKILL) is not accepted"),
        "one reason only: {out}"
    );
    out.assert_reports("\nFAIL: 1 of 1 runs failed (");
    assert_gone(pid, "slow_stop");
}

#[test]
fn a_slow_app_passes_a_loose_budget() {
    let out = check(&argv(&format!(
        "--ready-log ready --within 20s --format json -- {} --stop-time 400ms",
        example("slow_stop")
    )));
    assert_eq!(out.code, 0, "{out}");
    let run = json_run(&out, 1);
    let stop_ms = json_number(run, "stop_ms");
    assert!(
        (400..20_000).contains(&stop_ms),
        "the stop took the app's 400ms: {out}"
    );
    assert!(out.stderr.contains("slow_stop: got SIGTERM"), "{out}");
}

#[test]
fn an_app_that_ignores_term_fails_and_is_killed() {
    let dir = TempDir::new("ignore");
    let ready = dir.file("ready");
    let out = check(&argv(&format!(
        "--ready-file {ready} --within 500ms --format json -- {} --ready-file {ready}",
        example("ignore_term")
    )));
    assert_eq!(out.code, 1, "{out}");
    let run = json_run(&out, 1);
    assert!(run.contains("\"passed\":false"), "{out}");
    assert!(run.contains("\"cause\":\"grace_expired\""), "{out}");
    assert!(run.contains("\"child\":{\"signaled\":\"SIGKILL\"}"), "{out}");
    let pid = pid_in(&ready);
    assert!(
        run.contains(&format!(
            "\"killed\":[{{\"pid\":{pid},\"comm\":\"ignore_term\"}}]"
        )),
        "{out}"
    );
    assert!(run.contains("had to SIGKILL 1 process"), "{out}");
    assert!(out.stderr.contains("ignore_term: got SIGTERM (ignored)"), "{out}");
    let stop_ms = json_number(run, "stop_ms");
    assert!(
        (500..5000).contains(&stop_ms),
        "killed when the budget ran out: {out}"
    );
    assert_gone(pid, "ignore_term");
}

#[test]
fn exit_code_1_fails_unless_accepted() {
    let app = example("graceful");
    let args = ["--ready-log", "ready", "--", app.as_str(), "--exit-code", "1"];
    let out = check(&args);
    assert_eq!(out.code, 1, "{out}");
    out.assert_reports("\n  - exit code 1 is not accepted (expected 0,143)\n");
    let out = check(&[&["--expect-exit", "0,1"][..], &args[..]].concat());
    assert_eq!(out.code, 0, "{out}");
    out.assert_reports("; exit code 1;");
}

#[test]
fn leaked_orphans_fail_unless_allowed() {
    let dir = TempDir::new("orphans");
    let markers = dir.path().join("strict");
    std::fs::create_dir(&markers).unwrap();
    let app = example("leaky");
    let leaky = |markers: &Path| {
        vec![
            app.clone(),
            "--orphans".into(),
            "2".into(),
            "--marker-dir".into(),
            markers.to_string_lossy().into_owned(),
        ]
    };
    let mut args = argv("--ready-log ready --");
    args.extend(leaky(&markers));
    let out = check(&args);
    assert_eq!(out.code, 1, "{out}");
    let orphans = orphan_markers(&markers);
    assert_eq!(orphans.len(), 2, "both orphans got pidone's SIGTERM: {out}");
    let named: Vec<String> = orphans.iter().map(|pid| format!("{pid} (leaky)")).collect();
    out.assert_reports(&format!(
        "\n  - left 2 processes running after the main process exited (pidone sent them SIGTERM): {}\n",
        named.join(", ")
    ));
    for pid in orphans {
        assert_gone(pid, "leaky");
    }

    let allowed = dir.path().join("allowed");
    std::fs::create_dir(&allowed).unwrap();
    let mut args = argv("--allow-orphans --ready-log ready --");
    args.extend(leaky(&allowed));
    let out = check(&args);
    assert_eq!(out.code, 0, "{out}");
    out.assert_reports("terminated 2; killed 0");
    out.assert_reports("\n  note: outlived the main process (allowed): ");
    assert_eq!(orphan_markers(&allowed).len(), 2, "{out}");
}

#[test]
fn zombies_are_reaped_and_none_is_left() {
    let out = check(&argv(&format!(
        "--ready-log ready --format json -- {} --zombies 3",
        example("leaky")
    )));
    assert_eq!(out.code, 0, "{out}");
    let run = json_run(&out, 1);
    assert!(json_number(run, "reaped") >= 3, "{out}");
    assert_eq!(json_number(run, "zombies_left"), 0, "{out}");
}

#[test]
fn an_app_that_is_never_ready_fails_on_the_timeout() {
    let dir = TempDir::new("never");
    let never = dir.file("never-created");
    let out = check(&argv(&format!(
        "--ready-file {never} --ready-timeout 500ms -- {}",
        example("graceful")
    )));
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.starts_with("run 1/1: FAIL: not ready; stopped in "),
        "{out}"
    );
    out.assert_reports(&format!("\n  - not ready within 500ms: no file {never}\n"));
    // It is still stopped and judged: one reason only, the stop itself was clean.
    assert_eq!(out.stdout.matches("\n  - ").count(), 1, "{out}");
    assert!(out.stderr.contains("graceful: got SIGTERM"), "{out}");
}

#[test]
fn an_app_that_exits_before_it_is_ready_fails() {
    let out = check(&argv(&format!("--ready-tcp {} -- sh -c 'exit 3'", free_port())));
    assert_eq!(out.code, 1, "{out}");
    out.assert_reports("\n  - exited before it was ready, with exit code 3\n");
}

#[test]
fn repeat_catches_a_hang_one_time_in_three() {
    let dir = TempDir::new("repeat");
    let state = dir.path().join("runs");
    let app = example("slow_stop");
    let state_arg = state.to_string_lossy().into_owned();
    let args = |repeat: &str| {
        argv(&format!(
            "--repeat {repeat} --within 2s --ready-log ready \
             -- {app} --stop-time 50ms --hang-every 3 --state {state_arg}"
        ))
    };
    let out = check(&args("2"));
    assert_eq!(out.code, 0, "two runs in a row look fine: {out}");
    std::fs::remove_file(&state).unwrap();

    let out = check(&args("3"));
    assert_eq!(out.code, 1, "{out}");
    let verdicts: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("run "))
        .map(|l| &l[..l.find(": ready").unwrap_or(l.len())])
        .collect();
    assert_eq!(
        verdicts,
        ["run 1/3: PASS", "run 2/3: PASS", "run 3/3: FAIL"],
        "{out}"
    );
    out.assert_reports("had to SIGKILL 1 process: ");
    out.assert_reports("\nFAIL: 1 of 3 runs failed (");
    assert_eq!(std::fs::read_to_string(&state).unwrap().trim(), "3", "{out}");
}

#[test]
fn another_stop_signal_is_forwarded() {
    let out = check(&argv(&format!(
        "--signal INT --ready-log ready -- {}",
        example("graceful")
    )));
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stderr.contains("graceful: got SIGINT"), "{out}");
    out.assert_reports("after SIGINT;");
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    for (args, message) in [
        (
            vec!["--bogus", "true"],
            "pidone-check: unknown option '--bogus' (see pidone-check --help)",
        ),
        (
            vec!["--within", "1s"],
            "pidone-check: no command given (see pidone-check --help)",
        ),
        (
            vec!["--signal", "KILL", "true"],
            "pidone-check: --signal: SIGKILL can not be used as a stop signal (see pidone-check --help)",
        ),
        (
            vec!["--ready-tcp", "db.example:5432", "true"],
            "pidone-check: --ready-tcp: cannot use host 'db.example' in 'db.example:5432' (use an IP address or localhost, e.g. 127.0.0.1:8080) (see pidone-check --help)",
        ),
        (
            vec!["no-such-command-for-pidone-check"],
            "pidone-check: cannot run 'no-such-command-for-pidone-check': command not found",
        ),
        (
            vec!["/nonexistent/app"],
            "pidone-check: cannot run '/nonexistent/app': No such file or directory",
        ),
    ] {
        let out = check(&args);
        assert_eq!(out.code, 2, "{args:?}: {out}");
        assert_eq!(out.stderr, format!("{message}\n"), "{args:?}");
        assert_eq!(out.stdout, "", "{args:?}");
    }
    let out = check(&["--ready-log", "(unclosed", "true"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .starts_with("pidone-check: --ready-log: invalid regular expression '(unclosed': "),
        "{out}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
}

#[test]
fn help_and_version_go_to_stdout() {
    let out = check(&["--help"]);
    assert_eq!(out.code, 0, "{out}");
    for option in argv(
        "--ready-tcp --ready-file --ready-log --ready-after --ready-timeout --signal --within \
         --expect-exit --allow-orphans --repeat --format",
    ) {
        assert!(out.stdout.contains(&option), "{option}");
    }
    let out = check(&["--version"]);
    assert_eq!(
        out.stdout,
        format!("pidone-check {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn stdout_carries_the_report_even_when_the_app_floods_it() {
    // 200 KiB of application output: more than a pipe holds, so the relay must keep reading.
    let mut args = argv("--ready-log ^done$ --format json -- sh -c");
    args.push("i=0; while [ $i -lt 4000 ]; do echo 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'; i=$((i+1)); done; echo done; exec sleep 60".into());
    let out = check(&args);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout.lines().count(), 1, "{out}");
    assert!(out.stdout.starts_with("{\"command\":[\"sh\""), "{out}");
    assert_eq!(out.stderr.matches("xxxxxxxxxxxxxxxx\n").count(), 4000);
}

#[test]
fn junit_output_has_the_schema_s_required_structure() {
    let dir = TempDir::new("junit");
    let state = dir.file("runs");
    let out = check(&argv(&format!(
        "--format junit --repeat 2 --within 2s --ready-log ready \
         -- {} --stop-time 20ms --hang-every 2 --state {state}",
        example("slow_stop")
    )));
    assert_eq!(out.code, 1, "{out}");
    let suite = validate_junit(&out.stdout, 2, 1);
    let cases: Vec<_> = suite.children().filter(|n| n.has_tag_name("testcase")).collect();
    assert!(
        cases[0].children().all(|n| !n.has_tag_name("failure")),
        "run 1 passed: {out}"
    );
    let failure = cases[1]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap_or_else(|| panic!("run 2 failed: {out}"));
    let message = failure.attribute("message").unwrap();
    assert!(message.contains("did not stop within 2s of SIGTERM"), "{message}");
    assert!(message.contains("had to SIGKILL 1 process: "), "{message}");
    assert!(message.contains(" (slow_stop)"), "{message}");
    // The log on stderr still says what happened, run by run.
    assert!(out.stderr.contains("pidone-check: run 1/2: PASS\n"), "{out}");
    assert!(
        out.stderr
            .contains("pidone-check: run 2/2: FAIL: did not stop within"),
        "{out}"
    );
}

#[test]
fn junit_output_survives_hostile_names() {
    // Markup characters and a control character (which XML 1.0 can not carry even escaped) in
    // the command line, and an orphan whose failure message names it.
    let mut args = argv("--format junit --ready-log '^<ready & \"set\">$' -- sh -c");
    args.extend([
        // Ready only once the orphan has exec'd `sleep`: until then it is a forked `sh`.
        "trap 'exit 0' TERM; sleep 60 & until read -r c < /proc/$!/comm && [ \"$c\" = sleep ]; do :; done; \
         echo '<ready & \"set\">'; wait"
            .to_owned(),
        "a<b>&'\"\u{1}c".to_owned(),
    ]);
    let out = check(&args);
    assert_eq!(out.code, 1, "{out}");
    let suite = validate_junit(&out.stdout, 1, 1);
    let command = suite
        .descendants()
        .find(|n| n.has_tag_name("property") && n.attribute("name") == Some("command"))
        .and_then(|n| n.attribute("value"))
        .unwrap_or_else(|| panic!("no command property: {out}"));
    assert!(command.ends_with("a<b>&'\"\u{fffd}c"), "{command:?}");
    let failure = suite.descendants().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(
        failure.attribute("message").unwrap().contains(" (sleep)"),
        "{out}"
    );
}

/// Parses `xml` with a strict parser and checks what JUnit consumers require (the Ant/Jenkins
/// schema): `<testsuites>` with tests/failures/errors/time, one `<testsuite>` with name, tests,
/// failures, errors, skipped, time, timestamp and hostname, `<testcase>`s with name, classname
/// and time, and a `<failure>` with a message where a run failed. Returns the testsuite.
fn validate_junit(xml: &str, tests: usize, failures: usize) -> roxmltree::Node<'_, '_> {
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        "{xml}"
    );
    // Leak the document so the returned node can outlive this function (tests only).
    let doc: &'static roxmltree::Document<'static> = Box::leak(Box::new(
        roxmltree::Document::parse(Box::leak(xml.to_owned().into_boxed_str()))
            .unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{xml}")),
    ));
    let root = doc.root_element();
    assert!(root.has_tag_name("testsuites"), "{xml}");
    let number = |node: roxmltree::Node, attr: &str| -> f64 {
        let value = node
            .attribute(attr)
            .unwrap_or_else(|| panic!("<{}> has no {attr}: {xml}", node.tag_name().name()));
        let n: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("{attr}={value:?} is not a number"));
        assert!(n >= 0.0 && n.is_finite(), "{attr}={value}");
        n
    };
    let count = |node, attr| number(node, attr) as usize;
    assert_eq!(count(root, "tests"), tests, "{xml}");
    assert_eq!(count(root, "failures"), failures, "{xml}");
    assert_eq!(count(root, "errors"), 0, "{xml}");
    number(root, "time");

    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert_eq!(suites.len(), 1, "{xml}");
    let suite = suites[0];
    assert!(suite.has_tag_name("testsuite"), "{xml}");
    assert!(!suite.attribute("name").unwrap_or_default().is_empty(), "{xml}");
    assert_eq!(count(suite, "tests"), tests, "{xml}");
    assert_eq!(count(suite, "failures"), failures, "{xml}");
    assert_eq!(count(suite, "errors"), 0, "{xml}");
    assert_eq!(count(suite, "skipped"), 0, "{xml}");
    let suite_time = number(suite, "time");
    let timestamp = suite.attribute("timestamp").unwrap();
    assert!(
        timestamp.len() == 19 && timestamp.as_bytes()[10] == b'T' && timestamp.starts_with("20"),
        "timestamp {timestamp:?}"
    );
    assert!(
        !suite.attribute("hostname").unwrap_or_default().is_empty(),
        "{xml}"
    );

    let mut seen_failures = 0;
    let mut case_times = 0.0;
    let elements: Vec<_> = suite.children().filter(|n| n.is_element()).collect();
    assert!(elements[0].has_tag_name("properties"), "{xml}");
    for props in elements[0].children().filter(|n| n.is_element()) {
        assert!(
            props.has_tag_name("property")
                && props.attribute("name").is_some()
                && props.attribute("value").is_some()
        );
    }
    let cases = &elements[1..];
    assert_eq!(cases.len(), tests, "{xml}");
    for (i, case) in cases.iter().enumerate() {
        assert!(case.has_tag_name("testcase"), "{xml}");
        assert_eq!(
            case.attribute("name"),
            Some(format!("clean shutdown, run {} of {tests}", i + 1).as_str())
        );
        assert!(
            case.attribute("classname")
                .unwrap_or_default()
                .starts_with("pidone-check."),
            "{xml}"
        );
        case_times += number(*case, "time");
        for child in case.children().filter(|n| n.is_element()) {
            match child.tag_name().name() {
                "failure" => {
                    seen_failures += 1;
                    assert!(
                        !child.attribute("message").unwrap_or_default().is_empty(),
                        "{xml}"
                    );
                    assert!(child.text().is_some_and(|t| t.contains("- ")), "{xml}");
                }
                "system-out" => assert!(child.text().is_some_and(|t| t.contains("exit code")), "{xml}"),
                other => panic!("unexpected <{other}> in a testcase: {xml}"),
            }
        }
    }
    assert_eq!(seen_failures, failures, "{xml}");
    assert!(
        case_times <= suite_time + 0.01,
        "the runs fit in the suite's time: {xml}"
    );
    suite
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Runs pidone-check to completion; a run that hangs fails the test after a minute instead of
/// hanging it.
fn check(args: &[impl AsRef<OsStr>]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pidone-check"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    common::finish(cmd, Duration::from_secs(60)).0
}

/// An example application of the pidone package (`examples/`), built by `cargo test` at the
/// workspace root next to the test binaries.
fn example(name: &str) -> String {
    // target/<profile>/deps/check-<hash> -> target/<profile>/examples/<name>
    let path = common::release_dir().join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo test` at the workspace root (it builds the examples)",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("pidone-check-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The pid an example wrote into its --ready-file.
fn pid_in(ready_file: &str) -> i32 {
    let text = std::fs::read_to_string(ready_file).unwrap();
    text.trim().parse().unwrap()
}

/// The pids of leaky's orphans that got SIGTERM (they write DIR/orphan-PID).
fn orphan_markers(dir: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_prefix("orphan-")?
                .parse()
                .ok()
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// The process is gone (or its pid now belongs to something else).
fn assert_gone(pid: i32, comm: &str) {
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        assert!(
            !stat.contains(&format!("({comm})")),
            "{pid} ({comm}) is still there: {stat}"
        );
    }
}

/// The JSON object of run `n` in a `--format json` report.
fn json_run(out: &Out, n: usize) -> &str {
    let start = out
        .stdout
        .find(&format!("{{\"run\":{n},"))
        .unwrap_or_else(|| panic!("no run {n}: {out}"));
    let rest = &out.stdout[start..];
    let end = rest[1..].find("{\"run\":").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}
