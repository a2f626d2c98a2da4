//! Issue 12: every text line pidone writes stays short however many processes it signals
//! (log drivers split or cut long lines: Docker's json-file at 16 KiB), naming the first few
//! and counting the rest, while `--report json` keeps every process.

mod support;

use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(30);

/// What `testkit crowd` forks: 3000 tk-worker, then 5 each of tk-a … tk-l (twelve names), all
/// ignoring TERM, under the main process tk-crowd.
const CROWD: [&str; 13] = [
    "tk-worker:3000",
    "tk-a:5",
    "tk-b:5",
    "tk-c:5",
    "tk-d:5",
    "tk-e:5",
    "tk-f:5",
    "tk-g:5",
    "tk-h:5",
    "tk-i:5",
    "tk-j:5",
    "tk-k:5",
    "tk-l:5",
];
const TOTAL: usize = 1 + 3000 + 12 * 5;

/// Runs pidone (`-v --report json --grace 1s --cleanup-grace 1s`) over a crowd; `stop` sends
/// SIGTERM once the crowd is ready (the grace expires), otherwise the main process exits by
/// itself (the cleanup terminates the crowd, then kills it).
fn run_crowd(stop: bool) -> Outcome {
    let dir = TempDir::new();
    let ready = dir.join("ready");
    let p = Launch::pidone()
        .args([
            "-v",
            "--report",
            "json",
            "--grace",
            "1s",
            "--cleanup-grace",
            "1s",
            "--",
        ])
        .arg(testkit())
        .args(["crowd", "--ready"])
        .arg(&ready)
        .args(if stop { &[][..] } else { &["--exit"][..] })
        .args(CROWD)
        .spawn();
    wait_for_file(&ready, WAIT);
    if stop {
        p.signal(libc::SIGTERM);
    }
    p.wait_timeout(T)
}

/// The stderr line containing `what`, checked to be short and to account for every process:
/// the entries it names ("PID (name)" for one, "name ×N" for N) plus "... and N more" add up
/// to the total it states, which is `total`.
fn bounded_line<'a>(out: &'a Outcome, what: &str, total: usize) -> &'a str {
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line with {what:?}: {out}"));
    assert!(line.len() < 1024, "{} bytes: {line}", line.len());
    let (head, list) = line.split_once(" processes: ").expect(line);
    let stated: usize = head.rsplit(' ').next().unwrap().parse().expect(line);
    assert_eq!(stated, total, "{line}");
    let mut accounted = 0;
    for entry in list.split(", ") {
        accounted += if let Some(more) = entry.strip_prefix("... and ") {
            more.strip_suffix(" more")
                .expect(entry)
                .parse::<usize>()
                .expect(entry)
        } else if let Some((_, n)) = entry.split_once(" ×") {
            n.parse::<usize>().expect(entry)
        } else {
            assert!(entry.ends_with(')'), "{entry:?} in {line}");
            1
        };
    }
    assert_eq!(accounted, total, "{line}");
    line
}

/// The JSON report's list `key`: every process, by name.
fn json_names(out: &Outcome, key: &str) -> Vec<String> {
    let report = out.report_json();
    let list = report.get(key).as_array();
    list.iter().map(|p| p.get("comm").as_str().to_owned()).collect()
}

#[test]
fn the_grace_expiry_warning_names_a_few_and_counts_the_rest() {
    let out = run_crowd(true);
    out.assert_code(137);
    let warning = bounded_line(&out, "sending SIGKILL to", TOTAL);
    assert!(
        warning.starts_with("pidone: warning: grace period of 1s expired"),
        "{out}"
    );
    // The ten most common names, in the order they were seen; tk-j, tk-k, tk-l (5 each) and
    // tk-crowd (the main process, 1) are left out.
    assert!(
        warning.ends_with(
            " processes: tk-worker ×3000, tk-a ×5, tk-b ×5, tk-c ×5, tk-d ×5, tk-e ×5, tk-f ×5, \
             tk-g ×5, tk-h ×5, tk-i ×5, ... and 16 more"
        ),
        "{warning}"
    );
    let killed = json_names(&out, "killed");
    assert_eq!(killed.len(), TOTAL, "{out}");
    assert_eq!(killed.iter().filter(|n| *n == "tk-worker").count(), 3000);
    assert!(killed.iter().any(|n| n == "tk-crowd") && killed.iter().any(|n| n == "tk-l"));
}

#[test]
fn the_cleanup_lines_name_a_few_and_count_the_rest() {
    let out = run_crowd(false);
    out.assert_code(0);
    // Without the main process (it exited): tk-worker and tk-a … tk-i, then 15 more.
    let term = bounded_line(&out, "main process exited; sent SIGTERM to", TOTAL - 1);
    assert!(term.ends_with("tk-i ×5, ... and 15 more"), "{term}");
    bounded_line(&out, "cleanup grace expired; sending SIGKILL to", TOTAL - 1);
    assert_eq!(json_names(&out, "terminated").len(), TOTAL - 1, "{out}");
    assert_eq!(json_names(&out, "killed").len(), TOTAL - 1, "{out}");
}
