//! The README's "Where signals go": who gets the forwarded stop signal in the common process
//! trees, with and without `-g`. (A single process: tests/signals.rs and tests/shutdown.rs.)

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(10);

/// Writes an executable `/bin/sh` script; it gets the temp dir as $1 and testkit as $2.
fn script(dir: &TempDir, body: &str) -> PathBuf {
    let path = dir.join("script.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Starts `pidone PIDONE_ARGS -- script DIR TESTKIT` and waits for DIR/`ready`.
fn start(dir: &TempDir, pidone_args: &[&str], body: &str, ready: &str) -> Pid1 {
    let p = Launch::pidone()
        .args(pidone_args)
        .arg("--")
        .arg(script(dir, body))
        .arg(dir.path())
        .arg(testkit())
        .spawn();
    wait_for_file(&dir.join(ready), WAIT);
    p
}

#[test]
fn a_shell_wrapper_without_exec_leaves_the_app_to_the_cleanup() {
    // The SIGTERM kills the shell (pidone exits with its 143); the app hears SIGTERM only from
    // the cleanup that follows.
    let dir = TempDir::new();
    let p = start(
        &dir,
        &["--report", "json"],
        "\"$2\" record \"$1/app\"\n",
        "app.ready",
    );
    p.signal(libc::SIGTERM);
    let out = p.wait_timeout(T);
    out.assert_code(143);
    assert_eq!(record_names(&dir.join("app")), ["SIGTERM"], "{out}");
    let terminated = out.report_json().get("terminated").as_array().to_vec();
    assert_eq!(terminated.len(), 1, "{out}");
    assert_eq!(terminated[0].get("comm").as_str(), "testkit", "{out}");
}

#[test]
fn a_trapping_shell_wrapper_passes_sigterm_on_only_with_g() {
    // The shell runs its trap only once its foreground command exits: without -g the app
    // never hears the SIGTERM and the grace expires; with -g both get it.
    let body = "trap 'echo SIGTERM >> \"$1/wrapper\"' TERM\n\"$2\" record \"$1/app\"\n";
    for (args, code, app, wrapper) in [
        (&["-t", "1s"][..], 137, &[][..], ""),
        (&["-t", "20s", "-g"][..], 0, &["SIGTERM"][..], "SIGTERM\n"),
    ] {
        let dir = TempDir::new();
        let p = start(&dir, args, body, "app.ready");
        p.signal(libc::SIGTERM);
        let out = p.wait_timeout(T);
        out.assert_code(code);
        assert_eq!(record_names(&dir.join("app")), app, "{args:?}: {out}");
        let trapped = std::fs::read_to_string(dir.join("wrapper")).unwrap_or_default();
        assert_eq!(trapped, wrapper, "{args:?}: {out}");
    }
}

/// A master that forwards SIGTERM to its worker (a `testkit record` in its process group), step
/// by step: on SIGTERM it creates `master-got-term`, forwards once `forward` exists, and
/// SIGKILLs the worker and exits 0 once `done` exists. The steps keep the worker's two
/// SIGTERMs apart under -g (two pending ones would merge into one).
const MASTER: &str = r#""$2" record "$1/worker" --exit-on none &
w=$!
trap 'touch "$1/master-got-term"
  until [ -e "$1/forward" ]; do sleep 0.01; done
  kill -TERM $w
  until [ -e "$1/done" ]; do sleep 0.01; done
  kill -KILL $w; exit 0' TERM
until [ -e "$1/worker.ready" ]; do sleep 0.01; done
touch "$1/ready"
wait $w
"#;

#[test]
fn with_g_a_master_s_workers_get_sigterm_twice() {
    for group in [false, true] {
        let dir = TempDir::new();
        let args: &[&str] = if group { &["-g"] } else { &[] };
        let p = start(&dir, args, MASTER, "ready");
        let worker = dir.join("worker");
        p.signal(libc::SIGTERM);
        wait_for_file(&dir.join("master-got-term"), WAIT);
        if group {
            // Straight from pidone, before the master forwarded anything.
            wait_for_record(&worker, "SIGTERM", WAIT);
        } else {
            assert_eq!(record_names(&worker), Vec::<String>::new());
        }
        std::fs::write(dir.join("forward"), "").unwrap();
        let expected = if group { 2 } else { 1 };
        wait_until("the master's SIGTERM", WAIT, || {
            record_names(&worker).len() >= expected
        });
        std::fs::write(dir.join("done"), "").unwrap();
        let out = p.wait_timeout(T);
        out.assert_code(0);
        assert_eq!(
            record_names(&worker),
            vec!["SIGTERM"; expected],
            "-g {group}: {out}"
        );
    }
}
