//! The decisions of image mode (SPEC §6b), as plain functions over data: the image's
//! configuration and what one run observed → findings, `killed_by`, the verdict. Pure, so every
//! finding is a unit test; the runtime driver and the /proc observer only gather the data.

use super::json::{self, Value};
use crate::options::{ImageConfig, Severity, show_duration};
use crate::process::verdict::show_elapsed;
use pidone::signal::Signal;
use std::time::Duration;

/// What `image inspect` says about the image, as far as the audit cares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageInfo {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub user: String,
    pub healthcheck: bool,
    pub labels: Vec<(String, String)>,
    pub stop_signal: Option<String>,
}

impl ImageInfo {
    /// From `image inspect IMAGE` (a JSON array with one object), docker's or podman's: podman
    /// keeps the HEALTHCHECK and the USER at the top level as well as (or instead of) in Config.
    pub fn from_inspect(text: &str) -> Result<ImageInfo, String> {
        let doc = json::parse(text)?;
        let image = match &doc {
            Value::Array(items) => items.first().ok_or("no image in the output")?,
            other => other,
        };
        let config = image.get("Config").unwrap_or(&Value::Null);
        let field = |name: &str| config.get(name).or_else(|| image.get(name));
        let labels = match field("Labels") {
            Some(Value::Object(members)) => members
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect(),
            _ => Vec::new(),
        };
        let health = config
            .get("Healthcheck")
            .or_else(|| image.get("Healthcheck"))
            .or_else(|| image.get("HealthCheck"));
        Ok(ImageInfo {
            entrypoint: field("Entrypoint").map(Value::strings).unwrap_or_default(),
            cmd: field("Cmd").map(Value::strings).unwrap_or_default(),
            user: field("User")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            healthcheck: health.is_some_and(|h| {
                let test = h.get("Test").map(Value::strings).unwrap_or_default();
                !test.is_empty() && test[0] != "NONE"
            }),
            labels,
            stop_signal: field("StopSignal")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        })
    }
}

/// Who killed the container's PID 1 during the stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KilledBy {
    Runtime,
    Init,
}

impl KilledBy {
    pub fn as_str(self) -> &'static str {
        match self {
            KilledBy::Runtime => "runtime",
            KilledBy::Init => "init",
        }
    }
}

/// Everything one run observed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunObservation {
    /// The runtime could not start the container: its own message.
    pub start_error: Option<String>,
    /// From `run` to every readiness probe holding.
    pub ready: Option<Duration>,
    /// The probes that never held (empty when ready).
    pub not_ready: Vec<String>,
    /// The container exited on its own before the stop request.
    pub exited_early: bool,
    /// The stop was requested.
    pub stopped: bool,
    /// From the stop request to the container's exit.
    pub stop: Option<Duration>,
    pub exit_code: Option<i32>,
    /// The runtime said it had to resort to SIGKILL (podman prints this).
    pub runtime_said_kill: bool,
    /// The command name of the container's PID 1.
    pub pid1: Option<String>,
    pub max_processes: u32,
    pub max_zombies: u32,
    /// pidone-check itself got this signal and removed the container.
    pub cancelled: Option<Signal>,
    /// The runtime was asked to create the container (false: cancelled before that).
    pub run_started: bool,
    /// The run could not be watched from here at all (the container's processes are not in
    /// this /proc): a setup error, not a finding about the image.
    pub setup_error: Option<String>,
}

/// The init systems SPEC §6b names, and podman's `--init` (catatonit, bind-mounted as
/// /run/podman-init). `comm` is at most 15 bytes, which all of these fit.
pub fn is_init(comm: &str) -> bool {
    matches!(
        comm,
        "pidone"
            | "tini"
            | "tini-static"
            | "docker-init"
            | "dumb-init"
            | "catatonit"
            | "s6-svscan"
            | "podman-init"
    )
}

/// SPEC §6b: exit 137 after the runtime's timeout ran out (or the runtime said it sent
/// SIGKILL) is the runtime's kill; 137 before it is the init's (its grace ran out).
pub fn killed_by(o: &RunObservation, runtime_timeout: Duration) -> Option<KilledBy> {
    // No stop time: the stop never finished, so nobody is known to have killed anything.
    if o.exit_code != Some(137) || !o.stopped || o.stop.is_none() {
        return None;
    }
    let timed_out = o.stop.is_some_and(|t| t >= runtime_timeout);
    if o.runtime_said_kill || timed_out {
        Some(KilledBy::Runtime)
    } else {
        Some(KilledBy::Init)
    }
}

/// One finding: `{"id","severity","message","fix"}`; `run` when it belongs to one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    pub message: String,
    pub fix: String,
    pub run: Option<u32>,
}

fn finding(id: &'static str, severity: Severity, message: String, fix: &str) -> Finding {
    Finding {
        id,
        severity,
        message,
        fix: fix.to_owned(),
        run: None,
    }
}

pub const FIX_INIT: &str = "put pidone in the image as PID 1: COPY pidone /usr/local/bin/pidone, ENTRYPOINT [\"/usr/local/bin/pidone\",\"--\",\"/app\"]";

/// The findings of one run (`n` of `total`).
pub fn run_findings(cfg: &ImageConfig, o: &RunObservation, n: u32, total: u32) -> Vec<Finding> {
    let mut out = Vec::new();
    let prefix = if total > 1 {
        format!("run {n}/{total}: ")
    } else {
        String::new()
    };
    let code = |c: Option<i32>| c.map_or("unknown".to_owned(), |c| c.to_string());
    let mut add = |id, sev, message: String, fix: &str| {
        let mut f = finding(id, sev, format!("{prefix}{message}"), fix);
        f.run = Some(n);
        out.push(f);
    };
    if let Some(sig) = o.cancelled {
        add(
            "cancelled",
            Severity::Error,
            format!("pidone-check got {sig} and removed the container (rm -f) before the run ended"),
            "nothing to fix in the image: the check was interrupted (a cancelled CI job); run it again",
        );
        return out;
    }
    if let Some(message) = &o.start_error {
        add(
            "runtime-error",
            Severity::Error,
            format!("the runtime could not start the container: {message}"),
            "run the image by hand with the same runtime to see why it does not start",
        );
        return out;
    }
    if o.ready.is_none() {
        let why = if o.exited_early {
            format!(
                "the container exited before it was ready, with exit code {}",
                code(o.exit_code)
            )
        } else if o.not_ready.is_empty() {
            format!("not ready within {}", show_duration(cfg.ready_timeout))
        } else {
            format!(
                "not ready within {}: {}",
                show_duration(cfg.ready_timeout),
                o.not_ready.join("; ")
            )
        };
        add(
            "not-ready",
            Severity::Error,
            why,
            "check the --ready-* conditions against what the image does, or raise --ready-timeout",
        );
    } else if o.exited_early {
        add(
            "exited-early",
            Severity::Error,
            format!(
                "the container exited on its own before the stop request, with exit code {}",
                code(o.exit_code)
            ),
            "a service image should run until it is stopped: check its ENTRYPOINT and CMD",
        );
    }
    let killed = killed_by(o, cfg.runtime_timeout);
    let took = o
        .stop
        .map_or(String::new(), |t| format!(" (took {})", show_elapsed(t)));
    match killed {
        Some(KilledBy::Runtime) => add(
            "killed-by-runtime",
            Severity::Error,
            format!(
                "PID 1{} did not stop on the stop signal ({}): the runtime SIGKILLed it after its {} timeout{took}",
                o.pid1.as_ref().map_or(String::new(), |c| format!(" ({c})")),
                "the image's STOPSIGNAL, SIGTERM by default",
                show_duration(cfg.runtime_timeout)
            ),
            "make PID 1 handle SIGTERM: run the application under pidone (ENTRYPOINT [\"/usr/local/bin/pidone\",\"--\",\"/app\"]) or add a SIGTERM handler",
        ),
        Some(KilledBy::Init) => add(
            "killed-by-init",
            Severity::Error,
            format!("the application outlived the init's grace and was SIGKILLed{took}"),
            "make the application exit on SIGTERM within the grace, or raise the grace (PIDONE_GRACE) below the runtime's stop timeout",
        ),
        None => {}
    }
    if o.ready.is_some() && !o.exited_early && o.stop.is_none() {
        // The runtime's stop did not return or the container kept running: the worst slow stop.
        add(
            "slow-stop",
            Severity::Error,
            format!(
                "the container did not stop: the runtime's stop request did not end with its exit (--within {})",
                show_duration(cfg.within)
            ),
            "run the image by hand and stop it: a process stuck in uninterruptible sleep, or a runtime that does not answer, is the usual cause",
        );
    }
    if killed.is_none()
        && let Some(t) = o.stop
        && t > cfg.within
    {
        add(
            "slow-stop",
            Severity::Error,
            format!(
                "the stop took {} (over --within {})",
                show_elapsed(t),
                show_duration(cfg.within)
            ),
            "shorten the application's shutdown work, or raise --within if this is expected",
        );
    }
    if killed.is_none()
        && o.stopped
        && let Some(c) = o.exit_code
        && !u8::try_from(c).is_ok_and(|c| cfg.expect_exit.contains(&c))
    {
        let expected: Vec<String> = cfg.expect_exit.iter().map(u8::to_string).collect();
        add(
            "exit-code",
            Severity::Error,
            format!("exit code {c} is not accepted (expected {})", expected.join(",")),
            "exit 0 (or die by the stop signal) on SIGTERM, or list the code in --expect-exit",
        );
    }
    if o.max_zombies > 0 {
        add(
            "zombies",
            Severity::Error,
            format!(
                "{} zombie process(es) stayed unreaped while the container ran",
                o.max_zombies
            ),
            &format!("an init reaps them: {FIX_INIT}"),
        );
    }
    out
}

/// Whether a command line is the shell form: `/bin/sh -c ...` (unless the script `exec`s).
pub fn is_shell_form(argv: &[String]) -> bool {
    let shell = argv
        .first()
        .is_some_and(|s| matches!(s.rsplit('/').next(), Some("sh" | "bash" | "ash" | "dash")));
    shell
        && argv.get(1).is_some_and(|a| a == "-c")
        && !argv
            .get(2)
            .is_some_and(|script| script.trim_start().starts_with("exec "))
}

/// Whether the USER is root: empty, `0` or `root` (group aside).
pub fn is_root(user: &str) -> bool {
    let uid = user.split(':').next().unwrap_or_default().trim();
    uid.is_empty() || uid == "0" || uid == "root"
}

/// The findings about the image itself. `args_given`: `-- ARGS` replaced CMD. `pid1`: the
/// command names of PID 1 seen in the runs.
pub fn image_findings(info: &ImageInfo, args_given: bool, pid1: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    let quoted = |argv: &[String]| argv.join(" ");
    if is_shell_form(&info.entrypoint) {
        out.push(finding(
            "shell-form",
            Severity::Error,
            format!(
                "ENTRYPOINT is the shell form ({}): the shell, not the application, gets the stop signal",
                quoted(&info.entrypoint)
            ),
            "use the exec form: ENTRYPOINT [\"/app\"] (or start the script with `exec`)",
        ));
    } else if !args_given && is_shell_form(&info.cmd) {
        out.push(finding(
            "shell-form",
            Severity::Error,
            format!(
                "CMD is the shell form ({}): the shell, not the application, gets the stop signal",
                quoted(&info.cmd)
            ),
            "use the exec form: CMD [\"/app\"] (or start the script with `exec`)",
        ));
    }
    if let Some(comm) = pid1.iter().find(|c| !is_init(c)) {
        out.push(finding(
            "no-init",
            Severity::Warning,
            format!(
                "PID 1 is {comm}, not an init: zombies are not reaped, and default signal actions do not apply to PID 1"
            ),
            FIX_INIT,
        ));
    }
    if is_root(&info.user) {
        let what = if info.user.is_empty() {
            "no USER".to_owned()
        } else {
            format!("USER {}", info.user)
        };
        out.push(finding(
            "runs-as-root",
            Severity::Warning,
            format!("the image runs as root ({what})"),
            "add an unprivileged user: USER 65532:65532",
        ));
    }
    if !info.healthcheck {
        out.push(finding(
            "no-healthcheck",
            Severity::Warning,
            "the image has no HEALTHCHECK".to_owned(),
            "add one, e.g. HEALTHCHECK CMD [\"/app\",\"--health\"] (build with --format docker: OCI images drop it)",
        ));
    }
    let versioned = info
        .labels
        .iter()
        .any(|(k, _)| k == "org.opencontainers.image.version" || k == "org.opencontainers.image.revision");
    if !versioned {
        out.push(finding(
            "no-version-label",
            Severity::Info,
            "no org.opencontainers.image.version or org.opencontainers.image.revision label".to_owned(),
            "LABEL org.opencontainers.image.version=\"1.2.3\" org.opencontainers.image.revision=\"<git sha>\"",
        ));
    }
    out
}

/// Whether a set of findings fails the check.
pub fn fails(findings: &[Finding], fail_on: Severity) -> bool {
    findings.iter().any(|f| f.severity >= fail_on)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &[&str]) -> ImageConfig {
        crate::options::testing::image(&[&["--image", "x"], extra].concat())
    }

    /// A clean run: ready, stopped in 200ms with exit 0 under pidone.
    fn clean() -> RunObservation {
        RunObservation {
            ready: Some(Duration::from_millis(500)),
            stopped: true,
            stop: Some(Duration::from_millis(200)),
            exit_code: Some(0),
            pid1: Some("pidone".into()),
            max_processes: 2,
            ..RunObservation::default()
        }
    }

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    fn good_image() -> ImageInfo {
        ImageInfo {
            entrypoint: vec!["/usr/local/bin/pidone".into(), "--".into()],
            cmd: vec!["/app".into()],
            user: "65532".into(),
            healthcheck: true,
            labels: vec![("org.opencontainers.image.version".into(), "1".into())],
            stop_signal: None,
        }
    }

    #[test]
    fn a_clean_run_of_a_good_image_has_no_finding() {
        assert!(run_findings(&cfg(&[]), &clean(), 1, 1).is_empty());
        assert!(image_findings(&good_image(), false, &["pidone".into()]).is_empty());
    }

    #[test]
    fn killed_by_the_runtime() {
        let mut o = clean();
        o.exit_code = Some(137);
        o.pid1 = Some("ignore_term".into());
        o.stop = Some(Duration::from_millis(2300));
        let c = cfg(&["--runtime-timeout", "2"]);
        assert_eq!(killed_by(&o, c.runtime_timeout), Some(KilledBy::Runtime));
        let f = run_findings(&c, &o, 1, 1);
        assert_eq!(
            ids(&f),
            ["killed-by-runtime"],
            "no exit-code, no slow-stop for a kill"
        );
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].message.contains("PID 1 (ignore_term) did not stop"), "{f:?}");
        assert!(
            f[0].message.contains("after its 2s timeout (took 2.30s)"),
            "{f:?}"
        );
        // podman says so even when the stop measured a little under the timeout.
        o.stop = Some(Duration::from_millis(1990));
        o.runtime_said_kill = true;
        assert_eq!(killed_by(&o, c.runtime_timeout), Some(KilledBy::Runtime));
    }

    #[test]
    fn killed_by_the_init() {
        let mut o = clean();
        o.exit_code = Some(137);
        o.stop = Some(Duration::from_millis(1100));
        let f = run_findings(&cfg(&[]), &o, 1, 1);
        assert_eq!(ids(&f), ["killed-by-init"]);
        assert!(f[0].fix.contains("PIDONE_GRACE"));
        o.stopped = false;
        assert_eq!(
            killed_by(&o, Duration::from_secs(10)),
            None,
            "no stop, no kill by a stop"
        );
    }

    #[test]
    fn a_stop_that_never_ended_fails_and_names_no_killer() {
        // The runtime's stop gave up (PID 1 in uninterruptible sleep, a runtime that hangs):
        // no stop time, maybe no exit code. That must fail, not pass for lack of numbers.
        let mut o = clean();
        o.stop = None;
        o.exit_code = None;
        let f = run_findings(&cfg(&[]), &o, 1, 1);
        assert_eq!(ids(&f), ["slow-stop"]);
        assert!(f[0].message.contains("did not stop"), "{}", f[0].message);
        o.exit_code = Some(137);
        assert_eq!(
            killed_by(&o, Duration::from_secs(10)),
            None,
            "no stop time, no killer"
        );
        assert_eq!(
            ids(&run_findings(&cfg(&[]), &o, 1, 1)),
            ["slow-stop", "exit-code"]
        );
    }

    #[test]
    fn slow_stop_and_exit_code() {
        let mut o = clean();
        o.stop = Some(Duration::from_millis(1500));
        o.exit_code = Some(3);
        let f = run_findings(&cfg(&["--within", "1s"]), &o, 2, 3);
        assert_eq!(ids(&f), ["slow-stop", "exit-code"]);
        assert!(
            f[0].message
                .starts_with("run 2/3: the stop took 1.50s (over --within 1s)"),
            "{f:?}"
        );
        assert_eq!(
            f[1].message,
            "run 2/3: exit code 3 is not accepted (expected 0,143)"
        );
        assert!(f.iter().all(|f| f.run == Some(2)));
        assert!(run_findings(&cfg(&["--within", "2s", "--expect-exit", "3"]), &o, 1, 1).is_empty());
        o.exit_code = Some(143);
        o.stop = Some(Duration::from_millis(100));
        assert!(run_findings(&cfg(&[]), &o, 1, 1).is_empty(), "143 is accepted");
    }

    #[test]
    fn zombies() {
        let mut o = clean();
        o.max_zombies = 5;
        let f = run_findings(&cfg(&[]), &o, 1, 1);
        assert_eq!(ids(&f), ["zombies"]);
        assert!(f[0].message.starts_with("5 zombie"));
        assert!(f[0].fix.contains("pidone"));
    }

    #[test]
    fn not_ready_exited_early_and_start_errors() {
        let mut o = clean();
        o.ready = None;
        o.not_ready = vec!["no TCP connection to 8080".into()];
        let f = run_findings(&cfg(&["--ready-timeout", "2s"]), &o, 1, 1);
        assert_eq!(ids(&f), ["not-ready"]);
        assert_eq!(f[0].message, "not ready within 2s: no TCP connection to 8080");

        let mut o = clean();
        o.ready = None;
        o.exited_early = true;
        o.stopped = false;
        o.stop = None;
        o.exit_code = Some(1);
        let f = run_findings(&cfg(&[]), &o, 1, 1);
        assert_eq!(ids(&f), ["not-ready"]);
        assert!(
            f[0].message
                .contains("exited before it was ready, with exit code 1")
        );

        o.ready = Some(Duration::from_secs(1));
        assert_eq!(ids(&run_findings(&cfg(&[]), &o, 1, 1)), ["exited-early"]);

        let o = RunObservation {
            start_error: Some("runc: exec: \"/app\": no such file".into()),
            ..RunObservation::default()
        };
        let f = run_findings(&cfg(&[]), &o, 1, 1);
        assert_eq!(ids(&f), ["runtime-error"]);
        assert!(f[0].message.ends_with("runc: exec: \"/app\": no such file"));

        let o = RunObservation {
            cancelled: Some(Signal::INT),
            ..RunObservation::default()
        };
        assert_eq!(ids(&run_findings(&cfg(&[]), &o, 1, 1)), ["cancelled"]);
    }

    #[test]
    fn shell_form() {
        let sh = |s: &str| vec!["/bin/sh".to_owned(), "-c".to_owned(), s.to_owned()];
        assert!(is_shell_form(&sh("/app --port 1")));
        assert!(!is_shell_form(&sh("exec /app")));
        assert!(!is_shell_form(&["/app".into()]));
        assert!(!is_shell_form(&["/bin/sh".into(), "/start.sh".into()]));

        let mut info = good_image();
        info.entrypoint = sh("/app");
        let f = image_findings(&info, false, &["pidone".into()]);
        assert_eq!(ids(&f), ["shell-form"]);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(
            f[0].message
                .contains("ENTRYPOINT is the shell form (/bin/sh -c /app)")
        );
        assert!(f[0].fix.contains("ENTRYPOINT [\"/app\"]"));

        let mut info = good_image();
        info.cmd = sh("/app");
        assert_eq!(ids(&image_findings(&info, false, &[])), ["shell-form"]);
        assert!(
            image_findings(&info, true, &[]).is_empty(),
            "-- ARGS replace the CMD"
        );
    }

    #[test]
    fn no_init() {
        let f = image_findings(&good_image(), false, &["pidone".into(), "ignore_term".into()]);
        assert_eq!(ids(&f), ["no-init"]);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].message.starts_with("PID 1 is ignore_term, not an init"));
        assert!(
            f[0].fix.contains(r#"ENTRYPOINT ["/usr/local/bin/pidone","--""#),
            "{f:?}"
        );
        for init in [
            "tini",
            "docker-init",
            "dumb-init",
            "catatonit",
            "s6-svscan",
            "pidone",
        ] {
            assert!(is_init(init), "{init}");
        }
        assert!(!is_init("sh") && !is_init("node"));
    }

    #[test]
    fn root_healthcheck_and_labels() {
        for root in ["", "0", "root", "0:0", "root:staff"] {
            let info = ImageInfo {
                user: root.into(),
                ..good_image()
            };
            assert_eq!(
                ids(&image_findings(&info, false, &[])),
                ["runs-as-root"],
                "{root:?}"
            );
        }
        for user in ["65532", "app", "1000:0"] {
            assert!(!is_root(user), "{user}");
        }
        let info = ImageInfo {
            healthcheck: false,
            labels: vec![],
            ..good_image()
        };
        let f = image_findings(&info, false, &[]);
        assert_eq!(ids(&f), ["no-healthcheck", "no-version-label"]);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[1].severity, Severity::Info);
        let info = ImageInfo {
            labels: vec![("org.opencontainers.image.revision".into(), "abc".into())],
            ..good_image()
        };
        assert!(image_findings(&info, false, &[]).is_empty());
    }

    #[test]
    fn the_verdict_depends_on_fail_on() {
        let w = finding("no-init", Severity::Warning, String::new(), "");
        let i = finding("no-version-label", Severity::Info, String::new(), "");
        assert!(!fails(&[w.clone(), i.clone()], Severity::Error));
        assert!(fails(&[w, i.clone()], Severity::Warning));
        assert!(!fails(&[i], Severity::Warning));
    }

    #[test]
    fn inspect_output_of_podman_and_docker() {
        // podman: HEALTHCHECK and USER at the top level, no Config.User when empty.
        let podman = r#"[{"Config":{"Entrypoint":["/bin/sh","-c","/app"],"Labels":{"org.opencontainers.image.version":"1.0"},"StopSignal":"SIGTERM"},
            "User":"","Healthcheck":{"Test":["CMD","/app","--health"],"Interval":1000000000}}]"#;
        let info = ImageInfo::from_inspect(podman).unwrap();
        assert_eq!(info.entrypoint, ["/bin/sh", "-c", "/app"]);
        assert!(info.cmd.is_empty() && info.user.is_empty() && info.healthcheck);
        assert_eq!(info.stop_signal.as_deref(), Some("SIGTERM"));
        assert_eq!(info.labels.len(), 1);
        // docker: all in Config; HEALTHCHECK NONE means none.
        let docker = r#"[{"Config":{"User":"65532","Cmd":["/app"],"Entrypoint":null,"Labels":null,
            "Healthcheck":{"Test":["NONE"]}}}]"#;
        let info = ImageInfo::from_inspect(docker).unwrap();
        assert_eq!(info.user, "65532");
        assert_eq!(info.cmd, ["/app"]);
        assert!(!info.healthcheck && info.labels.is_empty() && info.stop_signal.is_none());
        assert!(ImageInfo::from_inspect("[]").is_err());
        assert!(ImageInfo::from_inspect("Error: nope").is_err());
    }
}
