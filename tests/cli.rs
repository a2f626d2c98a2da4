//! SPEC §1 (invocation) as seen from outside: output streams, exit codes and argument passing,
//! with pidone running as PID 1 of a fresh namespace.

mod support;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(20);
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn pidone(args: &[&str]) -> Outcome {
    Launch::pidone().args(args).run(T)
}

#[test]
fn version_goes_to_stdout() {
    let out = pidone(&["--version"]);
    out.assert_code(0);
    assert_eq!(out.stdout, format!("pidone {VERSION}\n"), "{out}");
    assert_eq!(out.stderr, "", "{out}");
}

#[test]
fn version_under_the_name_tini_or_docker_init_imitates_tini() {
    for argv0 in ["tini", "/usr/bin/docker-init", "./tini"] {
        let out = Launch::pidone().argv0(argv0).arg("--version").run(T);
        out.assert_code(0);
        assert_eq!(
            out.stdout,
            format!("tini version {VERSION} - git.pidone\n"),
            "argv0 {argv0}: {out}"
        );
    }
    // Only the basename counts.
    let out = Launch::pidone().argv0("/opt/tini/pidone").arg("--version").run(T);
    assert_eq!(out.stdout, format!("pidone {VERSION}\n"), "{out}");
}

#[test]
fn help_goes_to_stdout_and_exits_0() {
    for flag in ["-h", "--help"] {
        let out = pidone(&[flag]);
        out.assert_code(0);
        assert!(out.stdout.contains("Usage: pidone"), "{flag}: {out}");
        assert_eq!(out.stderr, "", "{flag}: {out}");
    }
}

#[test]
fn license_goes_to_stdout_and_exits_0() {
    let out = pidone(&["-l"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("MIT") || out.stdout.contains("Permission"),
        "{out}"
    );
    assert_eq!(out.stderr, "", "{out}");
}

/// A usage error: exit 1 (tini's code, not clap's 2), nothing on stdout, and on stderr exactly one
/// line saying what is wrong plus one hint line. The command must not have been started.
fn assert_usage_error(args: &[&str], env: &[(&str, &str)], mentions: &str) {
    let dir = TempDir::new();
    let marker = dir.join("started");
    let mut launch = Launch::pidone()
        .args(args)
        .args(["touch".as_ref(), marker.as_os_str()]);
    for (k, v) in env {
        launch = launch.env(k, v);
    }
    let out = launch.run(T);
    out.assert_code(1);
    assert_eq!(out.stdout, "", "{args:?}: {out}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "{args:?}: one error line plus a hint expected: {out}"
    );
    assert!(lines[0].starts_with("pidone: "), "{args:?}: {out}");
    assert!(
        lines[0].contains(mentions),
        "{args:?}: error should mention {mentions:?}: {out}"
    );
    assert!(lines[1].contains("--help"), "{args:?}: hint expected: {out}");
    assert!(
        !marker.exists(),
        "{args:?}: the command ran despite the usage error"
    );
}

#[test]
fn no_command_is_a_usage_error() {
    let out = pidone(&[]);
    out.assert_code(1);
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(out.stderr.lines().count(), 2, "{out}");
    let out = pidone(&["-t", "1s", "--"]);
    out.assert_code(1);
    assert_eq!(out.stderr.lines().count(), 2, "{out}");
}

#[test]
fn unknown_options_are_usage_errors() {
    assert_usage_error(&["-x", "--"], &[], "-x");
    assert_usage_error(&["--bogus", "--"], &[], "--bogus");
    assert_usage_error(&["-sx", "--"], &[], "-x");
}

#[test]
fn a_mistyped_long_option_suggests_the_right_one_on_the_same_line() {
    assert_usage_error(&["--gracee", "1s", "--"], &[], "did you mean '--grace'?");
    assert_usage_error(&["--log-fromat=json", "--"], &[], "did you mean '--log-format'?");
}

#[test]
fn bad_values_are_usage_errors_before_anything_starts() {
    assert_usage_error(&["-t", "soon", "--"], &[], "-t");
    assert_usage_error(&["--grace", "5parsecs", "--"], &[], "--grace");
    assert_usage_error(&["--cleanup-grace=-1", "--"], &[], "--cleanup-grace");
    assert_usage_error(&["--stop-delay", "x", "--"], &[], "--stop-delay");
    assert_usage_error(&["-e", "256", "--"], &[], "-e");
    assert_usage_error(&["-e", "abc", "--"], &[], "-e");
    assert_usage_error(&["-p", "NOTASIGNAL", "--"], &[], "-p");
    assert_usage_error(&["-r", "TERM", "--"], &[], "rewrite");
    assert_usage_error(&["-r", "TERM:BOGUS", "--"], &[], "rewrite");
    assert_usage_error(&["--report", "xml", "--"], &[], "--report");
    assert_usage_error(&["--log-format", "yaml", "--"], &[], "--log-format");
    assert_usage_error(&["--stop-signals", "TERM,NOPE", "--"], &[], "--stop-signals");
}

#[test]
fn a_missing_value_is_a_usage_error() {
    let out = pidone(&["-t"]);
    out.assert_code(1);
    assert_eq!(out.stderr.lines().count(), 2, "{out}");
    assert!(
        out.stderr.contains("-t") || out.stderr.contains("--grace"),
        "{out}"
    );
}

#[test]
fn bad_environment_values_are_usage_errors() {
    assert_usage_error(&["--"], &[("PIDONE_GRACE", "forever")], "PIDONE_GRACE");
    assert_usage_error(&["--"], &[("PIDONE_REPORT", "xml")], "PIDONE_REPORT");
    assert_usage_error(&["--"], &[("PIDONE_REWRITE", "TERM")], "PIDONE_REWRITE");
}

#[test]
fn a_flag_beats_its_variable_which_is_then_not_read() {
    // The variable is invalid: reading it would be a usage error.
    let out = Launch::pidone()
        .env("PIDONE_GRACE", "forever")
        .args(["-t", "1s", "--", "true"])
        .run(T);
    out.assert_code(0);
    assert_eq!(out.stderr, "", "{out}");
    // And the flag's value wins over a valid variable: report json (flag) vs off (env).
    let out = Launch::pidone()
        .env("PIDONE_REPORT", "off")
        .args(["--report", "json", "--", "true"])
        .run(T);
    out.assert_code(0);
    assert!(out.stderr.starts_with('{'), "{out}");
}

#[test]
fn options_end_at_the_first_operand() {
    // `pidone ls -ld /` runs `ls -ld /`: -l and -d belong to ls (pidone's -l would print the licence).
    let out = pidone(&["ls", "-ld", "/"]);
    out.assert_code(0);
    assert!(
        out.stdout.starts_with('d') && out.stdout.trim_end().ends_with(" /"),
        "{out}"
    );
    // Everything after the command is the command's, even things that look like pidone options.
    let out = pidone(&[
        "-t",
        "1s",
        "sh",
        "-c",
        r#"printf '[%s]' "$@""#,
        "sh",
        "-t",
        "--grace",
        "-h",
        "--",
    ]);
    out.assert_code(0);
    assert_eq!(out.stdout, "[-t][--grace][-h][--]", "{out}");
}

#[test]
fn double_dash_ends_options() {
    let out = pidone(&["--", "sh", "-c", r#"printf '[%s]' "$@""#, "sh", "--", "-v"]);
    out.assert_code(0);
    assert_eq!(out.stdout, "[--][-v]", "{out}");
    // A command whose name starts with '-' is only reachable after `--`.
    let out = pidone(&["--", "-definitely-not-a-command"]);
    out.assert_code(127);
    assert!(
        out.stderr.contains("cannot run '-definitely-not-a-command'"),
        "{out}"
    );
}

#[test]
fn short_options_cluster_and_take_attached_values() {
    let out = pidone(&["-sgw", "-t1s", "-e3", "--", "sh", "-c", "exit 3"]);
    out.assert_code(0);
    let out = pidone(&["--grace=1s", "--report=off", "--", "true"]);
    out.assert_code(0);
}

#[test]
fn arguments_pass_through_byte_exact() {
    let weird = OsStr::from_bytes(b"\xff\xfe not utf-8 \x01 \xc3\x28");
    let out = Launch::pidone()
        .args([OsStr::new("--"), OsStr::new("printf"), OsStr::new("%s"), weird])
        .run(T);
    out.assert_code(0);
    assert_eq!(out.stdout_bytes, weird.as_bytes(), "{out}");
}

#[test]
fn subreaper_flag_and_variable_are_accepted_as_pid1() {
    let out = pidone(&["-s", "--", "true"]);
    out.assert_code(0);
    assert_eq!(out.stderr, "", "{out}");
    let out = Launch::pidone()
        .env("TINI_SUBREAPER", "")
        .args(["--", "true"])
        .run(T);
    out.assert_code(0);
    assert_eq!(out.stderr, "", "{out}");
}

/// `PIDONE_LOG` takes an env_logger filter for pidone's own lines and replaces `-v`; `RUST_LOG`
/// belongs to the application: pidone never reads it, and the command still gets it.
#[test]
fn pidone_log_filters_pidone_lines_and_rust_log_is_left_to_the_application() {
    let debug_line = "pidone: debug: main child";
    let run = |env: &[(&str, &str)], args: &[&str]| {
        // Empty means unset: an inherited PIDONE_LOG must not leak into the test.
        let mut launch = Launch::pidone().env("PIDONE_LOG", "");
        for (k, v) in env {
            launch = launch.env(k, v);
        }
        let out = launch.args(args).run(T);
        out.assert_code(0);
        out
    };
    // The default hides debug lines.
    let out = run(&[], &["--", "true"]);
    assert_eq!(out.stderr, "", "{out}");
    // RUST_LOG changes nothing for pidone, and reaches the command unchanged.
    let out = run(
        &[("RUST_LOG", "trace")],
        &["--", "sh", "-c", r#"printf %s "$RUST_LOG""#],
    );
    assert_eq!(out.stderr, "", "{out}");
    assert_eq!(out.stdout, "trace", "{out}");
    // PIDONE_LOG=debug shows them, by level or by pidone's target.
    for filter in ["debug", "pidone=trace", "warn,pidone=debug"] {
        let out = run(&[("PIDONE_LOG", filter)], &["--", "true"]);
        assert!(out.stderr.starts_with(debug_line), "{filter}: {out}");
    }
    // Another target's filter, or a lower level, hides them, even with -vvv (replaced).
    for filter in ["other=trace", "warn"] {
        let out = run(&[("PIDONE_LOG", filter)], &["-vvv", "--", "true"]);
        assert_eq!(out.stderr, "", "{filter}: {out}");
    }
    // And TINI_VERBOSITY is replaced too.
    let out = run(
        &[("PIDONE_LOG", "debug"), ("TINI_VERBOSITY", "0")],
        &["--", "true"],
    );
    assert!(out.stderr.starts_with(debug_line), "{out}");
    // The JSON format applies to those lines: one object per line.
    let out = run(
        &[("PIDONE_LOG", "debug")],
        &["--log-format", "json", "--", "true"],
    );
    assert!(!out.stderr.is_empty(), "{out}");
    for line in out.stderr.lines() {
        assert!(
            line.starts_with(r#"{"level":"debug","msg":"#) && line.ends_with('}'),
            "{out}"
        );
    }
}

#[test]
fn a_bad_pidone_log_is_a_usage_error() {
    assert_usage_error(&["--"], &[("PIDONE_LOG", "pidone=loud")], "PIDONE_LOG");
    assert_usage_error(&["--"], &[("PIDONE_LOG", "a/b/c")], "PIDONE_LOG");
}
