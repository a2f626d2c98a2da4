//! The report on stdout: text, JSON or JUnit XML (SPEC §6; image mode in [`image`]). Pure.

pub mod image;

use crate::options::{CheckConfig, Format, show_duration};
use crate::process::verdict::{Outcome, show_elapsed, show_exit, show_procs};
use pidone::report::{Proc, json_string};
use pidone::supervisor::ChildStatus;
use std::fmt::Write as _;
use std::time::Duration;

/// One judged run.
pub struct Run {
    pub outcome: Outcome,
    /// Why it failed; empty when it passed.
    pub reasons: Vec<String>,
}

/// Facts about the whole invocation that the formats show.
pub struct Context<'a> {
    pub config: &'a CheckConfig,
    /// Start of the first run, ISO 8601 UTC (`2026-11-28T06:40:00`), for JUnit.
    pub timestamp: String,
    pub hostname: String,
    pub total: Duration,
}

pub fn render(ctx: &Context, runs: &[Run]) -> String {
    match ctx.config.format {
        Format::Text => text(ctx, runs),
        Format::Json => json(ctx, runs),
        Format::Junit => junit(ctx, runs),
    }
}

/// "ready in 210ms; stopped in 1.02s after SIGTERM; exit code 0; terminated 0; killed 0; zombies left 0"
pub fn summary(ctx: &Context, o: &Outcome) -> String {
    let mut line = match o.ready_after {
        Some(t) => format!("ready in {}", show_elapsed(t)),
        None => "not ready".to_owned(),
    };
    if let Some(sig) = o.cancelled {
        let _ = write!(line, "; cancelled by {sig}: everything was killed");
        return line;
    }
    match (o.signal_sent, o.stop_time) {
        (true, Some(t)) => {
            let _ = write!(
                line,
                "; stopped in {} after {}",
                show_elapsed(t),
                ctx.config.signal
            );
        }
        (true, None) => {
            let _ = write!(line, "; did not stop after {}", ctx.config.signal);
        }
        (false, _) => line.push_str("; exited before the stop signal"),
    }
    let r = &o.report;
    let _ = write!(
        line,
        "; exit code {}; terminated {}; killed {}; zombies left {}",
        show_exit(r.child),
        r.terminated.len(),
        r.killed.len(),
        o.zombies_left
    );
    line
}

fn command_line(ctx: &Context) -> String {
    let words: Vec<String> = ctx
        .config
        .command
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    words.join(" ")
}

fn failed(runs: &[Run]) -> usize {
    runs.iter().filter(|r| !r.reasons.is_empty()).count()
}

fn text(ctx: &Context, runs: &[Run]) -> String {
    let mut out = String::new();
    let n = runs.len();
    for (i, run) in runs.iter().enumerate() {
        let verdict = if run.reasons.is_empty() { "PASS" } else { "FAIL" };
        let _ = writeln!(
            out,
            "run {}/{n}: {verdict}: {}",
            i + 1,
            summary(ctx, &run.outcome)
        );
        for reason in &run.reasons {
            let _ = writeln!(out, "  - {reason}");
        }
        let r = &run.outcome.report;
        if ctx.config.allow_orphans && !r.terminated.is_empty() {
            let _ = writeln!(
                out,
                "  note: outlived the main process (allowed): {}",
                show_procs(&r.terminated)
            );
        }
    }
    let bad = failed(runs);
    let _ = if bad == 0 {
        writeln!(out, "PASS: {n} of {n} runs passed ({})", command_line(ctx))
    } else {
        writeln!(out, "FAIL: {bad} of {n} runs failed ({})", command_line(ctx))
    };
    out
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("null".to_owned(), |d| d.as_millis().to_string())
}

fn procs_json(out: &mut String, procs: &[Proc]) {
    out.push('[');
    for (i, p) in procs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"pid\":{},\"comm\":", p.pid);
        json_string(out, &p.comm);
        out.push('}');
    }
    out.push(']');
}

fn strings_json(out: &mut String, items: impl IntoIterator<Item = impl AsRef<str>>) {
    out.push('[');
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, s.as_ref());
    }
    out.push(']');
}

/// One JSON object on one line.
fn json(ctx: &Context, runs: &[Run]) -> String {
    let c = ctx.config;
    let mut out = String::from("{\"command\":");
    strings_json(&mut out, c.command.iter().map(|w| w.to_string_lossy()));
    let codes: Vec<String> = c.expect_exit.iter().map(u8::to_string).collect();
    let _ = write!(
        out,
        ",\"signal\":\"{}\",\"within_ms\":{},\"expect_exit\":[{}],\"allow_orphans\":{},\"passed\":{},\"runs_total\":{},\"runs_failed\":{},\"runs\":[",
        c.signal,
        c.within.as_millis(),
        codes.join(","),
        c.allow_orphans,
        failed(runs) == 0,
        runs.len(),
        failed(runs),
    );
    for (i, run) in runs.iter().enumerate() {
        let o = &run.outcome;
        let r = &o.report;
        if i > 0 {
            out.push(',');
        }
        let child = match r.child {
            ChildStatus::Exited(code) => format!("{{\"exited\":{code}}}"),
            ChildStatus::Signaled(sig) => format!("{{\"signaled\":\"{sig}\"}}"),
        };
        let _ = write!(
            out,
            "{{\"run\":{},\"passed\":{},\"ready_ms\":{},\"signal_sent\":{},\"stop_ms\":{},\"exit_code\":{},\"child\":{child},\"cause\":\"{}\",\"reaped\":{},\"terminated\":",
            i + 1,
            run.reasons.is_empty(),
            ms(o.ready_after),
            o.signal_sent,
            ms(o.stop_time),
            o.exit_code(),
            r.cause.as_str(),
            r.reaped,
        );
        procs_json(&mut out, &r.terminated);
        out.push_str(",\"killed\":");
        procs_json(&mut out, &r.killed);
        out.push_str(",\"escaped\":");
        procs_json(&mut out, &o.escaped);
        let _ = write!(out, ",\"zombies_left\":{},\"not_ready\":", o.zombies_left);
        strings_json(&mut out, &o.not_ready);
        out.push_str(",\"failures\":");
        strings_json(&mut out, &run.reasons);
        let _ = write!(out, ",\"total_ms\":{}}}", o.total.as_millis());
    }
    out.push_str("]}\n");
    out
}

/// Escapes text for an XML 1.0 attribute value. Characters XML 1.0 can not carry at all (most
/// control characters) become U+FFFD, so the document always parses.
pub fn xml_escape(text: &str) -> String {
    escape(text, true)
}

/// Escapes text for XML element content: as for attributes, but line breaks stay readable.
pub fn xml_text(text: &str) -> String {
    escape(text, false)
}

fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' | '\t' if !attribute => out.push(c),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn xml_secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// The start of a JUnit document, as Jenkins, GitLab and GitHub reporters read it: one
/// testsuite named `suite` with `(tests, failures)` cases, started at `(timestamp, hostname)`,
/// and its properties. The caller adds the testcases and closes both elements.
pub(crate) fn junit_suite_start(
    suite: &str,
    (tests, failures): (usize, usize),
    total: Duration,
    (timestamp, hostname): (&str, &str),
    properties: &[(&str, String)],
) -> String {
    let total = xml_secs(total);
    let suite = xml_escape(suite);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"pidone-check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{total}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{suite}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{total}\" timestamp=\"{}\" hostname=\"{}\">",
        xml_escape(timestamp),
        xml_escape(hostname)
    );
    out.push_str("    <properties>\n");
    for (name, value) in properties {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            xml_escape(value)
        );
    }
    out.push_str("    </properties>\n");
    out
}

/// JUnit XML: one testsuite, one testcase per run, a `<failure>` naming every reason.
fn junit(ctx: &Context, runs: &[Run]) -> String {
    let c = ctx.config;
    let program = c
        .command
        .first()
        .map(|p| {
            let p = p.to_string_lossy();
            p.rsplit('/').next().unwrap_or(&p).to_owned()
        })
        .unwrap_or_default();
    let n = runs.len();
    let bad = failed(runs);
    let codes: Vec<String> = c.expect_exit.iter().map(u8::to_string).collect();
    let mut out = junit_suite_start(
        &format!("pidone-check {}", command_line(ctx)),
        (n, bad),
        ctx.total,
        (&ctx.timestamp, &ctx.hostname),
        &[
            ("command", command_line(ctx)),
            ("signal", c.signal.to_string()),
            ("within", show_duration(c.within)),
            ("expect-exit", codes.join(",")),
            ("allow-orphans", c.allow_orphans.to_string()),
        ],
    );
    let classname = xml_escape(&format!("pidone-check.{program}"));
    for (i, run) in runs.iter().enumerate() {
        let summary = xml_text(&summary(ctx, &run.outcome));
        let _ = writeln!(
            out,
            "    <testcase name=\"clean shutdown, run {} of {n}\" classname=\"{classname}\" time=\"{}\">",
            i + 1,
            xml_secs(run.outcome.total)
        );
        if !run.reasons.is_empty() {
            let message = xml_escape(&run.reasons.join("; "));
            let mut body = String::new();
            for reason in &run.reasons {
                let _ = writeln!(body, "- {reason}");
            }
            let _ = writeln!(
                out,
                "      <failure message=\"{message}\" type=\"shutdown\">{}{summary}</failure>",
                xml_text(&body)
            );
        }
        let _ = writeln!(out, "      <system-out>{summary}</system-out>");
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Seconds since the Unix epoch → `2026-11-28T06:40:00` (UTC, as JUnit's schema wants it).
pub fn iso8601(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escaping_keeps_documents_well_formed() {
        assert_eq!(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(xml_escape("x\u{1}y\nz\u{ffff}"), "x\u{fffd}y&#10;z\u{fffd}");
        assert_eq!(xml_text("a\"b'\n\t<\r\u{1}"), "a\"b'\n\t&lt;&#13;\u{fffd}");
    }

    #[test]
    fn timestamps() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(iso8601(1_798_432_496), "2026-12-28T04:34:56");
    }
}
