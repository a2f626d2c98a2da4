//! SPEC §2.7 and §5: pidone's exit code is the child's (128+signal when killed), then `-e`
//! mapping; exec failures give 127/126 with one line on stderr. pidone runs as PID 1.

mod support;

use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(20);

fn run(args: &[&str]) -> Outcome {
    Launch::pidone().args(args).run(T)
}

fn testkit_run(pidone_args: &[&str], testkit_args: &[&str]) -> Outcome {
    Launch::pidone()
        .args(pidone_args)
        .arg("--")
        .arg(testkit())
        .args(testkit_args)
        .run(T)
}

#[test]
fn exit_code_is_the_childs() {
    for code in [0, 1, 2, 42, 126, 127, 128, 255] {
        let out = testkit_run(&[], &["exit", &code.to_string()]);
        out.assert_code(code);
        // A plain exit is silent (report auto).
        assert_eq!(out.stderr, "", "{out}");
        assert_eq!(out.stdout, "", "{out}");
    }
}

#[test]
fn a_child_killed_by_a_signal_gives_128_plus_the_signal() {
    for (sig, code) in [
        ("TERM", 143),
        ("KILL", 137),
        ("INT", 130),
        ("SEGV", 139),
        ("USR1", 138),
    ] {
        let out = testkit_run(&[], &["kill-self", sig]);
        out.assert_code(code);
    }
}

#[test]
fn a_child_killed_by_a_real_time_signal_gives_128_plus_its_number() {
    // nix's waitpid can not name a real-time signal and would lose this child's status.
    let out = testkit_run(&[], &["kill-self", "RTMIN+3"]);
    out.assert_code(128 + libc::SIGRTMIN() + 3);
}

#[test]
fn dash_e_maps_a_code_to_0() {
    testkit_run(&["-e", "3"], &["exit", "3"]).assert_code(0);
    testkit_run(&["-e", "3"], &["exit", "4"]).assert_code(4);
    testkit_run(&["-e", "3", "-e", "4"], &["exit", "4"]).assert_code(0);
    testkit_run(&["-e", "0"], &["exit", "0"]).assert_code(0);
    testkit_run(&["-e", "255"], &["exit", "255"]).assert_code(0);
}

#[test]
fn dash_e_applies_after_the_signal_mapping() {
    testkit_run(&["-e", "143"], &["kill-self", "TERM"]).assert_code(0);
    testkit_run(&["-e", "143"], &["kill-self", "KILL"]).assert_code(137);
    testkit_run(&["-e143"], &["kill-self", "TERM"]).assert_code(0);
}

#[test]
fn command_not_found_is_127_with_one_line() {
    let out = run(&["--", "no-such-command-pidone-test"]);
    out.assert_code(127);
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(
        out.pidone_lines(),
        ["pidone: cannot run 'no-such-command-pidone-test': No such file or directory"],
        "{out}"
    );
    let out = run(&["--", "/nonexistent/dir/cmd"]);
    out.assert_code(127);
    assert!(
        out.stderr
            .starts_with("pidone: cannot run '/nonexistent/dir/cmd': "),
        "{out}"
    );
}

#[test]
fn exec_failure_codes_are_subject_to_dash_e() {
    let out = run(&["-e", "127", "--", "no-such-command-pidone-test"]);
    out.assert_code(0);
    assert!(out.stderr.contains("cannot run"), "{out}");
}

#[test]
fn not_executable_is_126() {
    let dir = TempDir::new();
    let file = write_file(&dir, "data.txt", b"exit 0\n", 0o644);
    let out = Launch::pidone().arg("--").arg(&file).run(T);
    out.assert_code(126);
    assert_eq!(out.pidone_lines().len(), 1, "{out}");
    assert!(
        out.stderr.contains("cannot run") && out.stderr.contains("Permission denied"),
        "{out}"
    );
    // A directory is not executable either.
    let out = Launch::pidone().arg("--").arg(dir.path()).run(T);
    out.assert_code(126);
}

#[test]
fn a_script_without_shebang_runs_through_the_shell_like_execvp() {
    let dir = TempDir::new();
    let script = write_file(&dir, "noshebang", b"echo from-script \"$1\"\nexit 7\n", 0o755);
    let out = Launch::pidone().arg("--").arg(&script).arg("arg1").run(T);
    out.assert_code(7);
    assert_eq!(out.stdout, "from-script arg1\n", "{out}");
    // Found through PATH, too.
    let out = Launch::pidone()
        .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
        .args(["--", "noshebang", "x"])
        .run(T);
    out.assert_code(7);
}

#[test]
fn exit_codes_are_the_same_when_not_pid1() {
    let testkit = testkit();
    for (command, code) in [
        (vec![testkit.as_os_str(), "exit".as_ref(), "42".as_ref()], 42),
        (
            vec![testkit.as_os_str(), "kill-self".as_ref(), "TERM".as_ref()],
            143,
        ),
        (vec!["no-such-command-pidone-test".as_ref()], 127),
    ] {
        let out = Launch::pidone().arg("--").args(command).not_pid1().run(T);
        out.assert_code(code);
    }
}

#[test]
fn an_empty_command_name_is_not_found() {
    let out = run(&["--", ""]);
    out.assert_code(127);
    assert!(out.stderr.starts_with("pidone: cannot run '': "), "{out}");
}
