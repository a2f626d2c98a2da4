//! pidone-check --image end to end (SPEC §6b), with real rootful podman + runc.
//!
//! The images are built here with `podman build --format docker` FROM scratch, from the static
//! release binaries (pidone, the examples) and busybox-static; no registry is ever contacted.
//! They are shared by the tests of this binary and removed when the last test using them is
//! done (a reference-counted guard), under tags unique to this test process. Every test also
//! checks that pidone-check left no container behind.
//!
//! Needs: root, podman, runc, busybox-static, podman-docker (`e2e/setup.sh`), and a release
//! build of the workspace (`cargo build --release --workspace --all-targets`).

mod common;

use common::{Out, argv, json_number, reader, release_dir, wait};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

#[test]
fn a_good_image_with_pidone_passes() {
    let images = images();
    let out = images.check(
        "good",
        "--ready-tcp 8080 --ready-log '^graceful: ready$' --ready-health --ready-file /app/graceful \
         --fail-on warning --format json",
    );
    assert_eq!(out.code, 0, "{out}");
    let run = json_run(&out);
    assert!(run.contains("\"passed\":true"), "{out}");
    assert!((1..30_000).contains(&json_number(run, "ready_ms")), "{out}");
    assert!(json_number(run, "stop_ms") < 5000, "{out}");
    assert!(
        run.contains("\"exit_code\":0,\"killed_by\":null,\"pid1\":\"pidone\",\"init\":true"),
        "{out}"
    );
    assert_eq!(json_number(run, "max_processes"), 2, "pidone and graceful: {out}");
    assert!(
        out.stdout.ends_with("\"findings\":[]}\n"),
        "no finding at all: {out}"
    );
    assert!(
        out.stderr.contains("graceful: got SIGTERM"),
        "the container's output is relayed: {out}"
    );
}

#[test]
fn the_docker_cli_path_works_too() {
    let images = images();
    let out = images.check("good", "--runtime /usr/bin/docker --ready-log ready");
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.starts_with("run 1/1: PASS: ready in "), "{out}");
    assert!(
        out.stdout.ends_with(&format!(
            "PASS: 1 of 1 runs passed; 0 errors, 0 warnings, 0 infos ({} under /usr/bin/docker)\n",
            images.tag("good")
        )),
        "{out}"
    );
}

#[test]
fn an_app_as_pid_1_that_ignores_sigterm_is_killed_by_the_runtime() {
    let images = images();
    let out = images.check(
        "apps",
        "--ready-log 'ignore_term: ready' --runtime-timeout 2 --format json",
    );
    assert_eq!(out.code, 1, "{out}");
    let run = json_run(&out);
    assert!(
        run.contains("\"exit_code\":137,\"killed_by\":\"runtime\",\"pid1\":\"ignore_term\",\"init\":false"),
        "{out}"
    );
    let stop_ms = json_number(run, "stop_ms");
    assert!(
        (1900..15_000).contains(&stop_ms),
        "the runtime's 2s timeout: {out}"
    );
    assert_eq!(
        finding_ids(&out.stdout),
        [
            "killed-by-runtime",
            "no-init",
            "runs-as-root",
            "no-healthcheck",
            "no-version-label"
        ],
        "{out}"
    );
    out.assert_reports(
        "\"id\":\"killed-by-runtime\",\"severity\":\"error\",\"message\":\"PID 1 (ignore_term) did not stop",
    );
    out.assert_reports("\"id\":\"no-init\",\"severity\":\"warning\"");
    assert!(out.stderr.contains("ignore_term: got SIGTERM (ignored)"), "{out}");
}

#[test]
fn under_pidone_with_a_short_grace_the_init_kills_it() {
    // `-- ARGS` replace the CMD; --env reaches pidone.
    let images = images();
    let out = images.check(
        "apps",
        "--env PIDONE_GRACE=1s --ready-log 'ignore_term: ready' -- /usr/local/bin/pidone -- /app/ignore_term",
    );
    assert_eq!(out.code, 1, "{out}");
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("run 1/1: FAIL: ready in "), "{out}");
    assert!(
        first.contains("; exit code 137 (killed by the init); PID 1 pidone (an init); processes 2;"),
        "{out}"
    );
    let stop = stop_secs(first);
    assert!(
        (0.9..6.0).contains(&stop),
        "pidone's 1s grace, well before the runtime's 10s: {out}"
    );
    out.assert_reports("\nerror    killed-by-init: ");
    assert!(!out.stdout.contains("no-init"), "{out}");
    assert!(
        !out.stdout.contains("exit-code"),
        "a kill is not reported twice: {out}"
    );
    assert!(
        out.stderr.contains("pidone: warning: grace period of 1s expired"),
        "{out}"
    );
}

#[test]
fn zombies_under_an_app_as_pid_1_are_found() {
    let images = images();
    let out = images.check(
        "apps",
        "--ready-log 'leaky: ready' --ready-after 500ms --format json -- /app/leaky --zombies 5",
    );
    assert_eq!(out.code, 1, "{out}");
    let run = json_run(&out);
    assert_eq!(json_number(run, "max_zombies"), 5, "{out}");
    assert!(json_number(run, "max_processes") >= 6, "{out}");
    assert!(
        run.contains("\"exit_code\":0,\"killed_by\":null,\"pid1\":\"leaky\""),
        "{out}"
    );
    assert_eq!(finding_ids(&out.stdout)[..2], ["zombies", "no-init"], "{out}");
    out.assert_reports("\"message\":\"5 zombie process(es) stayed unreaped");
}

#[test]
fn a_shell_form_entrypoint_is_an_error() {
    let images = images();
    let out = images.check("shell", "--ready-log 'graceful: ready'");
    assert_eq!(out.code, 1, "{out}");
    out.assert_reports("\nerror    shell-form: ENTRYPOINT is the shell form (/bin/sh -c /app/graceful --port 0): the shell, not the application, gets the stop signal\n         fix: use the exec form: ENTRYPOINT [\"/app\"]");
}

#[test]
fn ready_tcp_connects_inside_a_container_without_network() {
    let images = images();
    let graceful = |probe: &str| {
        images.check(
            "apps",
            &format!("--network none {probe} -- /usr/local/bin/pidone -- /app/graceful --port 9090"),
        )
    };
    let out = graceful("--ready-tcp 9090 --ready-timeout 20s --format json");
    let run = json_run(&out);
    assert!(run.contains("\"passed\":true"), "{out}");
    assert!(json_number(run, "ready_ms") < 20_000, "{out}");
    // A port nobody listens on is never ready.
    let out = graceful("--ready-tcp 9091 --ready-timeout 1s");
    assert_eq!(out.code, 1, "{out}");
    out.assert_reports("\nerror    not-ready: not ready within 1s: no TCP connection to 9091\n");
}

#[test]
fn ready_file_resolves_the_images_absolute_symlinks_in_the_container() {
    // /links/ready -> /app/ready-now, which graceful creates once up: looked up on the host,
    // the link leads nowhere and the run would end not ready.
    let images = images();
    let out = images.check(
        "apps",
        "--ready-file /links/ready --ready-timeout 20s --format json -- /usr/local/bin/pidone -- \
         /app/graceful --port 0 --ready-file /app/ready-now",
    );
    assert_eq!(out.code, 0, "{out}");
    let run = json_run(&out);
    assert!(run.contains("\"passed\":true"), "{out}");
    assert!(json_number(run, "ready_ms") < 20_000, "{out}");
}

#[test]
fn junit_has_a_case_per_run_and_per_finding() {
    let images = images();
    let out = images.check(
        "apps",
        "--ready-log 'ignore_term: ready' --runtime-timeout 1 --fail-on warning --format junit",
    );
    assert_eq!(out.code, 1, "{out}");
    let doc = roxmltree::Document::parse(&out.stdout)
        .unwrap_or_else(|e| panic!("not well-formed XML ({e}): {out}"));
    let root = doc.root_element();
    assert!(root.has_tag_name("testsuites"));
    let suite = root
        .children()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap_or_else(|| panic!("no testsuite: {out}"));
    let cases: Vec<_> = suite.children().filter(|n| n.has_tag_name("testcase")).collect();
    let names: Vec<&str> = cases.iter().filter_map(|c| c.attribute("name")).collect();
    assert_eq!(
        names,
        [
            "clean shutdown, run 1 of 1",
            "killed-by-runtime (error)",
            "no-init (warning)",
            "runs-as-root (warning)",
            "no-healthcheck (warning)",
            "no-version-label (info)"
        ],
        "{out}"
    );
    let failed: Vec<bool> = cases
        .iter()
        .map(|c| c.children().any(|n| n.has_tag_name("failure")))
        .collect();
    assert_eq!(
        failed,
        [true, true, true, true, true, false],
        "--fail-on warning: {out}"
    );
    for (node, tests, failures) in [(root, "6", "5"), (suite, "6", "5")] {
        assert_eq!(node.attribute("tests"), Some(tests), "{out}");
        assert_eq!(node.attribute("failures"), Some(failures), "{out}");
        assert_eq!(node.attribute("errors"), Some("0"), "{out}");
        assert!(
            node.attribute("time").is_some_and(|t| t.parse::<f64>().is_ok()),
            "{out}"
        );
    }
    for case in &cases {
        assert!(
            case.attribute("classname")
                .is_some_and(|c| c.starts_with("pidone-check.image."))
        );
        assert!(case.attribute("time").is_some_and(|t| t.parse::<f64>().is_ok()));
    }
    assert!(suite.attribute("timestamp").is_some() && suite.attribute("hostname").is_some());
}

#[test]
fn a_container_that_cannot_start_is_a_failed_run_quoting_the_runtime() {
    let images = images();
    let out = images.check("apps", "-- /no/such/app");
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout
            .starts_with("run 1/1: FAIL: the container did not start: "),
        "{out}"
    );
    out.assert_reports("\nerror    runtime-error: the runtime could not start the container: ");
    assert!(
        out.stdout.contains("/no/such/app"),
        "the runtime's own message: {out}"
    );
}

#[test]
fn sigterm_removes_the_container_at_once() {
    let images = images();
    // The stop would take the runtime's whole 30 s: SIGTERM arrives while it waits.
    let tag = images.tag("apps");
    let args = argv(&format!(
        "--image {tag} --ready-log 'ignore_term: ready' --runtime-timeout 30"
    ));
    let out = interrupt(&args, "stop -t 30", nix_signal("TERM"));
    assert_eq!(out.code, 143, "{out}");
    assert!(
        out.stdout
            .starts_with("run 1/1: FAIL: cancelled by SIGTERM: the container was removed at once\n"),
        "{out}"
    );
    out.assert_reports("\nerror    cancelled: pidone-check got SIGTERM");
    // And during the readiness wait, with SIGINT (Ctrl-C).
    let args = argv(&format!("--image {tag} --ready-file /never --ready-timeout 60s"));
    let out = interrupt(&args, "ignore_term: ready", nix_signal("INT"));
    assert_eq!(out.code, 130, "{out}");
    out.assert_reports("cancelled by SIGINT");
    // And SIGHUP: the terminal or ssh session that ran it went away.
    let out = interrupt(&args, "ignore_term: ready", nix_signal("HUP"));
    assert_eq!(out.code, 129, "{out}");
    out.assert_reports("cancelled by SIGHUP");
}

#[test]
fn a_runtime_whose_pids_are_not_in_this_proc_is_a_setup_error() {
    // podman, but `inspect` reports the pid as a runtime on another machine (a remote
    // DOCKER_HOST, docker-in-docker) would: one that names some other process here (pid 1).
    let images = images();
    let runtime = FakeRuntime::new(
        "remote-podman",
        "#!/bin/sh\n\
         if [ \"$1\" = inspect ] && [ \"$2\" = --format ]; then\n\
           out=$(podman \"$@\") || exit $?\n\
           set -- $out\n\
           echo \"1 $2 $3\"\n\
           exit 0\n\
         fi\n\
         exec podman \"$@\"\n",
    );
    let out = images.check(
        "apps",
        &format!("--runtime {} --ready-after 100ms", runtime.path.display()),
    );
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert!(
        out.stderr.ends_with(
            "pidone-check: the runtime says the container's PID 1 is pid 1, which this machine's /proc does not show \
             as a container's PID 1: pidone-check --image must run where the containers run and see their \
             processes (not with a remote DOCKER_HOST or CONTAINER_HOST, docker-in-docker, from a container \
             without --pid=host, or with /proc mounted hidepid)\n"
        ),
        "{out}"
    );
}

#[test]
fn sigterm_during_a_pull_stops_it_at_once() {
    // A runtime whose pull never ends (a large image on a slow registry): the cancel must not
    // wait for it, or the CI system kills pidone-check before it has cleaned up.
    let fake = FakeRuntime::new(
        "podman",
        "#!/bin/sh\n\
         case \"$1\" in\n\
         --version) echo 'podman version 4.3.1' ;;\n\
         image) echo 'Error: no such image' >&2; exit 125 ;;\n\
         pull) echo \"pulling as pid $$\" >&2; exec sleep 120 ;;\n\
         *) echo \"Error: unexpected $1\" >&2; exit 125 ;;\n\
         esac\n",
    );
    let runtime = fake.path.to_string_lossy();
    let args = [
        "--image",
        "localhost/pidone-check-slow-pull:1",
        "--pull",
        "--runtime",
        &runtime,
    ];
    let out = interrupt(&args, "pulling as pid", nix_signal("TERM"));
    assert_eq!(out.code, 143, "{out}");
    assert!(
        out.stderr.contains(&format!(
            "pidone-check: {runtime} pull localhost/pidone-check-slow-pull:1 stopped: pidone-check was cancelled\n"
        )),
        "{out}"
    );
    assert_eq!(out.stdout, "", "no run, no report: {out}");
    let pid = out
        .stderr
        .split("pulling as pid ")
        .nth(1)
        .and_then(|r| r.lines().next())
        .unwrap();
    assert!(
        !std::fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with("sleep")),
        "the pull is gone: {out}"
    );
}

#[test]
fn sigterm_before_the_first_run_starts_no_container() {
    // Cancelled while the image is being inspected: nothing is left to clean up, and no
    // container is created only to be removed.
    let images = images();
    let fake = FakeRuntime::new(
        "podman",
        "#!/bin/sh\n\
         if [ \"$1\" = image ]; then echo 'inspecting the image' > /proc/$PPID/fd/2; sleep 1; fi\n\
         if [ \"$1\" = run ]; then echo 'fake runtime: run was called' > /proc/$PPID/fd/2; fi\n\
         exec podman \"$@\"\n",
    );
    let runtime = fake.path.to_string_lossy();
    let tag = images.tag("apps");
    let args = ["--image", &tag, "--runtime", &runtime, "--ready-log", "ready"];
    let out = interrupt(&args, "inspecting the image", nix_signal("TERM"));
    assert_eq!(out.code, 143, "{out}");
    assert!(
        out.stdout
            .starts_with("run 1/1: FAIL: cancelled by SIGTERM before the container was started\n"),
        "{out}"
    );
    assert!(!out.stderr.contains("run was called"), "{out}");
    out.assert_reports("cancelled: pidone-check got SIGTERM");
}

#[test]
fn sigterm_stops_the_application_in_process_mode() {
    let dir = std::env::temp_dir().join(format!("pidone-check-cancel-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ready = dir.join("ready");
    let ready_arg = ready.to_string_lossy().into_owned();
    let app = release_dir().join("examples/ignore_term");
    let app = app.to_string_lossy();
    // Never ready by pidone-check's own reckoning (a minute's delay); the app says when it is up.
    let args = ["--ready-after", "60s", "--", &app, "--ready-file", &ready_arg];
    let out = interrupt(&args, "ignore_term: ready", nix_signal("TERM"));
    assert_eq!(out.code, 143, "{out}");
    assert!(
        out.stdout
            .starts_with("run 1/1: FAIL: not ready; cancelled by SIGTERM"),
        "{out}"
    );
    out.assert_reports("\n  - cancelled: pidone-check got SIGTERM and killed the application\n");
    let pid: i32 = std::fs::read_to_string(&ready).unwrap().trim().parse().unwrap();
    assert!(
        !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains("(ignore_term)")),
        "the application is gone"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_setups_are_one_line_and_exit_2() {
    let out = check_image(&["--image", "localhost/pidone-check-no-such-image:1"]);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(
        out.stderr,
        "pidone-check: image 'localhost/pidone-check-no-such-image:1' is not present locally; pidone-check never pulls on its own: run `podman pull localhost/pidone-check-no-such-image:1` first, or pass --pull\n"
    );
    let out = check_image(&["--image", "x", "--runtime", "/nonexistent/podman"]);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(
        out.stderr,
        "pidone-check: container runtime '/nonexistent/podman': No such file or directory\n"
    );
    let mut cmd = pidone_check(&["--image", "x"]);
    cmd.env("PATH", "/nonexistent").env_remove("PIDONE_CHECK_RUNTIME");
    let out = run(cmd);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(
        out.stderr,
        "pidone-check: no container runtime found: neither podman nor docker is on PATH (use --runtime PATH)\n"
    );
    let out = check_image(&["--image", "x", "--runtime-timeout", "2.5s"]);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(
        out.stderr
            .starts_with("pidone-check: --runtime-timeout: '2.5s' is not a whole number of seconds"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// Images

/// The test images of this process, removed when the last test holding them drops them.
struct Images {
    prefix: String,
}

impl Images {
    fn tag(&self, name: &str) -> String {
        format!("{}-{name}:test", self.prefix)
    }

    /// pidone-check --image (the image `name`) with the arguments of the command line `line`.
    fn check(&self, name: &str, line: &str) -> Out {
        check_image(&argv(&format!("--image {} {line}", self.tag(name))))
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        for name in IMAGES.iter().map(|(n, _)| n) {
            let _ = podman(&["rmi", "-f", &self.tag(name)]).output();
        }
    }
}

/// name → Containerfile. Build context: pidone, the examples, busybox (as /bin/sh and /bin/true).
const IMAGES: &[(&str, &str)] = &[
    (
        "good",
        "FROM scratch\n\
         COPY pidone /usr/local/bin/pidone\n\
         COPY graceful /app/graceful\n\
         COPY busybox /bin/true\n\
         USER 65532:65532\n\
         HEALTHCHECK --interval=1s CMD [\"/bin/true\"]\n\
         LABEL org.opencontainers.image.version=1.0.0\n\
         ENTRYPOINT [\"/usr/local/bin/pidone\",\"--\"]\n\
         CMD [\"/app/graceful\",\"--port\",\"8080\"]\n",
    ),
    (
        "apps",
        "FROM scratch\n\
         COPY pidone /usr/local/bin/pidone\n\
         COPY graceful ignore_term leaky slow_stop /app/\n\
         COPY links /links\n\
         CMD [\"/app/ignore_term\"]\n",
    ),
    (
        "shell",
        "FROM scratch\n\
         COPY graceful /app/graceful\n\
         COPY busybox /bin/sh\n\
         USER 65532:65532\n\
         ENTRYPOINT /app/graceful --port 0\n",
    ),
];

static SHARED: Mutex<Weak<Images>> = Mutex::new(Weak::new());

/// The images, built on first use (again if every earlier user is done).
fn images() -> Arc<Images> {
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(images) = shared.upgrade() {
        return images;
    }
    let images = Arc::new(build_images());
    *shared = Arc::downgrade(&images);
    images
}

fn build_images() -> Images {
    let started = Instant::now();
    let release = release_dir();
    let context = std::env::temp_dir().join(format!(
        "pidone-check-images-{}-{}",
        std::process::id(),
        BUILDS.load(Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(&context).unwrap();
    let mut files = vec![(release.join("pidone"), "pidone")];
    for app in ["graceful", "ignore_term", "leaky", "slow_stop"] {
        files.push((release.join("examples").join(app), app));
    }
    files.push((PathBuf::from("/bin/busybox"), "busybox"));
    for (from, to) in files {
        assert!(
            from.exists(),
            "{} is missing: run `cargo build --release --workspace --all-targets` (and e2e/setup.sh for busybox-static)",
            from.display()
        );
        std::fs::copy(&from, context.join(to)).unwrap();
    }
    // An absolute symlink, as images have them: it points into the container, not the host.
    std::fs::create_dir_all(context.join("links")).unwrap();
    std::os::unix::fs::symlink("/app/ready-now", context.join("links/ready")).unwrap();
    // A fresh prefix per build: a set being removed never shares a tag with a new one.
    static BUILDS: AtomicU32 = AtomicU32::new(0);
    let images = Images {
        prefix: format!(
            "localhost/pidone-check-test-{}-{}",
            std::process::id(),
            BUILDS.fetch_add(1, Ordering::SeqCst)
        ),
    };
    for (name, containerfile) in IMAGES {
        let file = context.join(format!("Containerfile.{name}"));
        std::fs::write(&file, containerfile).unwrap();
        // --format docker keeps HEALTHCHECK (OCI drops it).
        let out = podman(&["build", "--format", "docker", "-q", "-f"])
            .arg(&file)
            .args(["-t", &images.tag(name)])
            .arg(&context)
            .output()
            .expect("podman is missing: run e2e/setup.sh (as root)");
        assert!(
            out.status.success(),
            "podman build {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&context);
    eprintln!("built the test images in {:.1}s", started.elapsed().as_secs_f64());
    images
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// An executable script standing in for the runtime, in a directory of its own that goes
/// with it.
struct FakeRuntime {
    path: PathBuf,
}

impl FakeRuntime {
    fn new(name: &str, script: &str) -> FakeRuntime {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "pidone-check-fake-runtime-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        FakeRuntime { path }
    }
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// This repository's podman configuration (runc, cgroupfs, no network, ulimits).
fn containers_conf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/containers.conf")
}

fn podman(args: &[&str]) -> Command {
    let mut c = Command::new("podman");
    c.args(args).env("CONTAINERS_CONF", containers_conf());
    c
}

fn pidone_check(args: &[impl AsRef<OsStr>]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pidone-check"));
    c.args(args)
        .env("CONTAINERS_CONF", containers_conf())
        .env_remove("PIDONE_CHECK_RUNTIME")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn check_image(args: &[impl AsRef<OsStr>]) -> Out {
    run(pidone_check(args))
}

/// Runs pidone-check to completion (at most two minutes), then checks it left no container.
fn run(cmd: Command) -> Out {
    let (out, pid) = common::finish(cmd, Duration::from_secs(120));
    assert_no_container(pid, &out);
    out
}

/// Starts pidone-check, waits for a line of its stderr that contains `marker`, sends it
/// `sig`, and requires it to exit within 10 s leaving no container.
fn interrupt(args: &[impl AsRef<OsStr>], marker: &str, sig: i32) -> Out {
    let mut child = pidone_check(args).spawn().expect("start pidone-check");
    let stdout = reader(child.stdout.take().unwrap());
    let mut lines = BufReader::new(child.stderr.take().unwrap());
    let mut stderr = String::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            panic!("pidone-check ended before '{marker}':\n{stderr}");
        }
        stderr.push_str(&line);
        if line.contains(marker) {
            break;
        }
    }
    let sent = Instant::now();
    assert_eq!(
        Command::new("kill")
            .args([format!("-{sig}"), child.id().to_string()])
            .status()
            .map(|s| s.success())
            .ok(),
        Some(true)
    );
    let rest = reader(lines.into_inner());
    let code = wait(
        &mut child,
        Duration::from_secs(30),
        &args.iter().map(AsRef::as_ref).collect::<Vec<&OsStr>>(),
    );
    let took = sent.elapsed();
    stderr.push_str(&rest.join().unwrap());
    let out = Out {
        code,
        stdout: stdout.join().unwrap(),
        stderr,
    };
    assert!(
        took < Duration::from_secs(10),
        "exited {took:?} after the signal: {out}"
    );
    assert_no_container(child.id(), &out);
    out
}

fn nix_signal(name: &str) -> i32 {
    let sig: nix::sys::signal::Signal = format!("SIG{name}").parse().expect("a signal name");
    sig as i32
}

/// No container named after that pidone-check process is left, running or not.
fn assert_no_container(pid: u32, out: &Out) {
    let ps = podman(&["ps", "-a", "--format", "{{.Names}}"])
        .output()
        .expect("podman ps");
    let names = String::from_utf8_lossy(&ps.stdout);
    let prefix = format!("pidone-check-{pid}-");
    let left: Vec<&str> = names.lines().filter(|n| n.starts_with(&prefix)).collect();
    assert!(left.is_empty(), "containers left behind: {left:?}\n{out}");
}

/// The run object of a one-run JSON report.
fn json_run(out: &Out) -> &str {
    let start = out
        .stdout
        .find("{\"run\":1,")
        .unwrap_or_else(|| panic!("no run: {out}"));
    let rest = &out.stdout[start..];
    &rest[..rest.find('}').map_or(rest.len(), |e| e + 1)]
}

/// The ids of the findings of a JSON report, in order.
fn finding_ids(json: &str) -> Vec<&str> {
    json.split("{\"id\":\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect()
}

/// "stopped in 1.02s" / "stopped in 850ms" → seconds.
fn stop_secs(line: &str) -> f64 {
    let at = line.find("stopped in ").unwrap_or_else(|| panic!("{line}")) + 11;
    let word: String = line[at..].chars().take_while(|c| *c != ';').collect();
    if let Some(ms) = word.strip_suffix("ms") {
        ms.parse::<f64>().unwrap() / 1000.0
    } else {
        word.trim_end_matches('s').parse().unwrap()
    }
}
