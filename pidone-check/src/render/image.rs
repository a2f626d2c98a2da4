//! The report of image mode (SPEC §6b): text, JSON (exactly the documented keys) or JUnit XML
//! (a test case per run and per finding). Pure.

use super::{junit_suite_start, xml_escape, xml_secs, xml_text};
use crate::image::audit::{Finding, RunObservation, is_init, killed_by};
use crate::options::{Format, ImageConfig, Severity};
use crate::process::verdict::show_elapsed;
use pidone::report::json_string;
use std::fmt::Write as _;
use std::time::Duration;

pub struct Context<'a> {
    pub config: &'a ImageConfig,
    /// The runtime as the user named it (`podman`, `/usr/bin/docker`).
    pub runtime: &'a str,
    pub timestamp: String,
    pub hostname: String,
    pub total: Duration,
}

pub fn render(ctx: &Context, runs: &[RunObservation], findings: &[Finding]) -> String {
    match ctx.config.format {
        Format::Text => text(ctx, runs, findings),
        Format::Json => json(ctx, runs, findings),
        Format::Junit => junit(ctx, runs, findings),
    }
}

/// Whether run `n` passed: none of its own findings reaches `--fail-on`.
fn run_passed(ctx: &Context, findings: &[Finding], n: u32) -> bool {
    !findings
        .iter()
        .any(|f| f.run == Some(n) && f.severity >= ctx.config.fail_on)
}

fn passed(ctx: &Context, findings: &[Finding]) -> bool {
    !findings.iter().any(|f| f.severity >= ctx.config.fail_on)
}

/// "ready in 612ms; stopped in 2.41s; exit code 137 (killed by the runtime); PID 1 ignore_term (not an init); processes 1; zombies 0"
pub fn summary(o: &RunObservation, runtime_timeout: Duration) -> String {
    if let Some(sig) = o.cancelled {
        if !o.run_started {
            return format!("cancelled by {sig} before the container was started");
        }
        return format!("cancelled by {sig}: the container was removed at once");
    }
    if let Some(m) = &o.start_error {
        return format!("the container did not start: {m}");
    }
    let mut line = match (o.ready, o.exited_early) {
        (Some(t), _) => format!("ready in {}", show_elapsed(t)),
        (None, true) => "exited before it was ready".to_owned(),
        (None, false) => "not ready".to_owned(),
    };
    match o.stop {
        Some(t) => {
            let _ = write!(line, "; stopped in {}", show_elapsed(t));
        }
        None if o.stopped => line.push_str("; did not stop"),
        None if o.exited_early && o.ready.is_some() => line.push_str("; exited before the stop"),
        None => {}
    }
    if let Some(c) = o.exit_code {
        let _ = write!(line, "; exit code {c}");
        if let Some(k) = killed_by(o, runtime_timeout) {
            let _ = write!(line, " (killed by the {})", k.as_str());
        }
    }
    if let Some(p) = &o.pid1 {
        let what = if is_init(p) { "an init" } else { "not an init" };
        let _ = write!(line, "; PID 1 {p} ({what})");
    }
    let _ = write!(line, "; processes {}; zombies {}", o.max_processes, o.max_zombies);
    line
}

fn counts(findings: &[Finding]) -> String {
    let n = |s| findings.iter().filter(|f| f.severity == s).count();
    let word = |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    format!(
        "{}, {}, {}",
        word(n(Severity::Error), "error", "errors"),
        word(n(Severity::Warning), "warning", "warnings"),
        word(n(Severity::Info), "info", "infos")
    )
}

fn text(ctx: &Context, runs: &[RunObservation], findings: &[Finding]) -> String {
    let mut out = String::new();
    let total = ctx.config.repeat;
    for (i, o) in runs.iter().enumerate() {
        let n = i as u32 + 1;
        let verdict = if run_passed(ctx, findings, n) {
            "PASS"
        } else {
            "FAIL"
        };
        let _ = writeln!(
            out,
            "run {n}/{total}: {verdict}: {}",
            summary(o, ctx.config.runtime_timeout)
        );
    }
    for f in findings {
        let _ = writeln!(out, "{:<8} {}: {}", f.severity.as_str(), f.id, f.message);
        let _ = writeln!(out, "         fix: {}", f.fix);
    }
    let bad = (1..=runs.len() as u32)
        .filter(|&n| !run_passed(ctx, findings, n))
        .count();
    let runs_line = if bad == 0 {
        format!("{} of {} runs passed", runs.len(), runs.len())
    } else {
        format!("{bad} of {} runs failed", runs.len())
    };
    let verdict = if passed(ctx, findings) { "PASS" } else { "FAIL" };
    let _ = writeln!(
        out,
        "{verdict}: {runs_line}; {} ({} under {})",
        counts(findings),
        ctx.config.image,
        ctx.runtime
    );
    out
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("null".to_owned(), |d| d.as_millis().to_string())
}

fn json_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => json_string(out, s),
        None => out.push_str("null"),
    }
}

/// One JSON object on one line, exactly the keys of SPEC §6b.
fn json(ctx: &Context, runs: &[RunObservation], findings: &[Finding]) -> String {
    let mut out = String::from("{\"mode\":\"image\",\"image\":");
    json_string(&mut out, &ctx.config.image);
    out.push_str(",\"runtime\":");
    json_string(&mut out, ctx.runtime);
    let _ = write!(out, ",\"passed\":{},\"runs\":[", passed(ctx, findings));
    for (i, o) in runs.iter().enumerate() {
        let n = i as u32 + 1;
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"run\":{n},\"passed\":{},\"ready_ms\":{},\"stop_ms\":{},\"exit_code\":{},\"killed_by\":",
            run_passed(ctx, findings, n),
            ms(o.ready),
            ms(o.stop),
            o.exit_code.map_or("null".to_owned(), |c| c.to_string()),
        );
        json_opt_str(
            &mut out,
            killed_by(o, ctx.config.runtime_timeout).map(|k| k.as_str()),
        );
        out.push_str(",\"pid1\":");
        json_opt_str(&mut out, o.pid1.as_deref());
        let _ = write!(
            out,
            ",\"init\":{},\"max_processes\":{},\"max_zombies\":{}}}",
            o.pid1.as_deref().is_some_and(is_init),
            o.max_processes,
            o.max_zombies
        );
    }
    out.push_str("],\"findings\":[");
    for (i, f) in findings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":");
        json_string(&mut out, f.id);
        out.push_str(",\"severity\":");
        json_string(&mut out, f.severity.as_str());
        out.push_str(",\"message\":");
        json_string(&mut out, &f.message);
        out.push_str(",\"fix\":");
        json_string(&mut out, &f.fix);
        out.push('}');
    }
    out.push_str("]}\n");
    out
}

/// JUnit XML: one testsuite; a testcase per run (failed when one of its findings reaches
/// `--fail-on`) and one per finding (failed when the finding does).
fn junit(ctx: &Context, runs: &[RunObservation], findings: &[Finding]) -> String {
    let c = ctx.config;
    let cases = runs.len() + findings.len();
    let failing = |f: &Finding| f.severity >= c.fail_on;
    let failures = (1..=runs.len() as u32)
        .filter(|&n| !run_passed(ctx, findings, n))
        .count()
        + findings.iter().filter(|f| failing(f)).count();
    let mut out = junit_suite_start(
        &format!("pidone-check --image {}", c.image),
        (cases, failures),
        ctx.total,
        (&ctx.timestamp, &ctx.hostname),
        &[
            ("image", c.image.clone()),
            ("runtime", ctx.runtime.to_owned()),
            ("runtime-timeout", format!("{}s", c.runtime_timeout.as_secs())),
            ("fail-on", c.fail_on.as_str().to_owned()),
        ],
    );
    let classname = xml_escape(&format!("pidone-check.image.{}", c.image));
    for (i, o) in runs.iter().enumerate() {
        let n = i as u32 + 1;
        let line = xml_text(&summary(o, c.runtime_timeout));
        let _ = writeln!(
            out,
            "    <testcase name=\"clean shutdown, run {n} of {}\" classname=\"{classname}\" time=\"{}\">",
            c.repeat,
            xml_secs(o.ready.unwrap_or_default() + o.stop.unwrap_or_default())
        );
        let mine: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.run == Some(n) && failing(f))
            .collect();
        if !mine.is_empty() {
            let message: Vec<String> = mine.iter().map(|f| format!("{}: {}", f.id, f.message)).collect();
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"shutdown\">{line}</failure>",
                xml_escape(&message.join("; "))
            );
        }
        let _ = writeln!(out, "      <system-out>{line}</system-out>");
        out.push_str("    </testcase>\n");
    }
    for f in findings {
        let _ = writeln!(
            out,
            "    <testcase name=\"{}\" classname=\"{classname}.audit\" time=\"0\">",
            xml_escape(&format!("{} ({})", f.id, f.severity.as_str()))
        );
        let body = xml_text(&format!("{}\nfix: {}", f.message, f.fix));
        if failing(f) {
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{}\">{body}</failure>",
                xml_escape(&f.message),
                f.id
            );
        }
        let _ = writeln!(out, "      <system-out>{body}</system-out>");
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::audit::{ImageInfo, image_findings, run_findings};

    fn cfg(extra: &[&str]) -> ImageConfig {
        crate::options::testing::image(&[&["--image", "app:1"], extra].concat())
    }

    fn killed_run() -> RunObservation {
        RunObservation {
            ready: Some(Duration::from_millis(612)),
            stopped: true,
            stop: Some(Duration::from_millis(2410)),
            exit_code: Some(137),
            runtime_said_kill: true,
            pid1: Some("ignore_term".into()),
            max_processes: 1,
            ..RunObservation::default()
        }
    }

    fn report(format: &str) -> String {
        let c = cfg(&["--format", format, "--runtime-timeout", "2"]);
        let runs = vec![killed_run()];
        let mut findings = run_findings(&c, &runs[0], 1, 1);
        findings.extend(image_findings(
            &ImageInfo::default(),
            false,
            &["ignore_term".into()],
        ));
        let ctx = Context {
            config: &c,
            runtime: "podman",
            timestamp: "2026-01-01T00:00:00".into(),
            hostname: "h".into(),
            total: Duration::from_secs(3),
        };
        render(&ctx, &runs, &findings)
    }

    #[test]
    fn json_has_exactly_the_documented_keys() {
        let out = report("json");
        assert_eq!(
            out,
            "{\"mode\":\"image\",\"image\":\"app:1\",\"runtime\":\"podman\",\"passed\":false,\"runs\":[{\"run\":1,\"passed\":false,\"ready_ms\":612,\"stop_ms\":2410,\"exit_code\":137,\"killed_by\":\"runtime\",\"pid1\":\"ignore_term\",\"init\":false,\"max_processes\":1,\"max_zombies\":0}],\"findings\":[".to_owned()
                + &out[out.find("{\"id\":\"killed-by-runtime\"").unwrap()..]
        );
        for id in [
            "killed-by-runtime",
            "no-init",
            "runs-as-root",
            "no-healthcheck",
            "no-version-label",
        ] {
            assert!(
                out.contains(&format!("{{\"id\":\"{id}\",\"severity\":")),
                "{id}: {out}"
            );
        }
        assert!(out.ends_with("\"}]}\n"), "{out}");
    }

    #[test]
    fn text_names_each_finding_and_its_fix() {
        let out = report("text");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "run 1/1: FAIL: ready in 612ms; stopped in 2.41s; exit code 137 (killed by the runtime); PID 1 ignore_term (not an init); processes 1; zombies 0"
        );
        assert!(lines[1].starts_with("error    killed-by-runtime: PID 1 (ignore_term) did not stop"));
        assert!(lines[2].starts_with("         fix: "));
        assert!(lines[3].starts_with("warning  no-init: "));
        assert_eq!(
            *lines.last().unwrap(),
            "FAIL: 1 of 1 runs failed; 1 error, 3 warnings, 1 info (app:1 under podman)"
        );
    }
}
