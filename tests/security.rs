//! Security properties of pidone (issue 6; threat model and arguments in SECURITY.md):
//! nothing of pidone's leaks into the child (descriptors, signal state, environment,
//! arguments), and pidone never signals a process it did not start or adopt, even when a pid
//! it knew is reused.
//!
//! Most tests compare against a baseline: the same probe started directly by the launcher
//! with the same inherited state. "The child sees exactly what pidone got" is then an equality.

mod support;

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::Duration;
use support::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The lines of `hard_probe report` whose key is in `keys`.
fn report_lines(out: &Outcome, keys: &[&str]) -> Vec<String> {
    out.stdout
        .lines()
        .filter(|l| keys.iter().any(|k| l.split(' ').next() == Some(k)))
        .map(str::to_owned)
        .collect()
}

/// Runs `hard_probe report` directly and under pidone, both started by `configure(launch)`
/// in the same mode; returns (baseline, under pidone).
fn compare(
    nested: bool,
    configure: impl Fn(Launch) -> Launch,
    extra_args: &[OsString],
) -> (Outcome, Outcome) {
    let mode = |l: Launch| l.not_pid1_if(nested);
    let direct = configure(mode(Launch::new(hard_probe())))
        .arg("report")
        .args(extra_args)
        .run(secs(30));
    let under = configure(mode(Launch::pidone()))
        .hard_probe(["report"])
        .args(extra_args)
        .run(secs(30));
    direct.assert_code(0);
    under.assert_code(0);
    (direct, under)
}

// ---------------------------------------------------------------------------------------------
// descriptors

fn no_descriptor_leaks(nested: bool) {
    // Descriptors given to pidone on purpose (not close-on-exec) are the child's too; pidone's
    // own (signalfd, pidfd, the exec-error pipe) never are.
    let file = fs::File::open("/dev/null").unwrap();
    let (r, w) = std::io::pipe().unwrap();
    let configure = |l: Launch| l.pass_fd(&file, 7).pass_fd(&r, 42).pass_fd(&w, 99);
    let (direct, under) = compare(nested, configure, &[]);
    // Number, flags and target; stdout and stderr are different pipes in the two runs.
    let fds = |o: &Outcome| -> Vec<String> {
        report_lines(o, &["fd"])
            .into_iter()
            .map(|l| match l.find(" pipe:[") {
                Some(cut) if l.starts_with("fd 1 ") || l.starts_with("fd 2 ") => l[..cut].to_owned(),
                _ => l,
            })
            .collect()
    };
    assert_eq!(
        fds(&under),
        fds(&direct),
        "under pidone:\n{under}\ndirect:\n{direct}"
    );
    assert_eq!(fds(&under).len(), 6, "{under}");
}

#[test]
fn no_descriptor_of_pidone_leaks_into_the_child_as_pid1() {
    no_descriptor_leaks(false);
}

#[test]
fn no_descriptor_of_pidone_leaks_into_the_child_when_not_pid1() {
    no_descriptor_leaks(true);
}

/// pidone's descriptors other than the inherited 0, 1, 2: (fd, target, fdinfo).
fn own_descriptors(pid: i32) -> Vec<(i32, String, String)> {
    let mut own = Vec::new();
    for entry in fs::read_dir(format!("/proc/{pid}/fdinfo")).unwrap() {
        let entry = entry.unwrap();
        let fd: i32 = entry.file_name().to_str().unwrap().parse().unwrap();
        if fd > 2 {
            let info = fs::read_to_string(entry.path()).unwrap_or_default();
            let target = fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap_or_default();
            own.push((fd, target.display().to_string(), info));
        }
    }
    own
}

/// Every descriptor pidone opens itself is close-on-exec, so no code path that execs (the
/// child, or any future one) can carry one along; and one of them is a pidfd for the child.
#[test]
fn pidones_own_descriptors_are_all_close_on_exec() {
    for nested in [false, true] {
        let dir = TempDir::new();
        let ready = dir.join("ready");
        let p = Launch::pidone()
            .not_pid1_if(nested)
            .hard_probe(["wait-signal"])
            .spawn_ready(&ready, secs(10));
        let pidone = if nested { p.children()[0] } else { p.pid };
        let child = children_of(pidone)[0];
        // The child can run before pidone has finished starting it: wait until the exec-error
        // pipe is closed. Then one descriptor is the child's pidfd, whose fdinfo (read through
        // the host's /proc) names the child's host pid.
        let pidfd = format!("Pid:\t{child}\n");
        let mut own = Vec::new();
        wait_until("pidone to settle", secs(10), || {
            own = own_descriptors(pidone);
            own.iter()
                .any(|(_, t, info)| t.contains("pidfd") && info.contains(&pidfd))
                && !own.iter().any(|(_, t, _)| t.starts_with("pipe:"))
        });
        for (fd, target, info) in &own {
            let flags = info
                .lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .map(|f| u32::from_str_radix(f.trim(), 8).unwrap())
                .unwrap();
            assert_ne!(
                flags & libc::O_CLOEXEC as u32,
                0,
                "fd {fd} ({target}) is not close-on-exec: {info}"
            );
        }
        p.signal(libc::SIGTERM);
        p.wait_timeout(secs(10)).assert_code(0);
    }
}

// ---------------------------------------------------------------------------------------------
// signal mask and dispositions

const IGNORED: &[i32] = &[
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGPIPE,
    libc::SIGUSR1,
    libc::SIGTTIN,
    libc::SIGCHLD,
    libc::SIGXFSZ,
];
const BLOCKED: &[i32] = &[
    libc::SIGUSR2,
    libc::SIGTERM,
    libc::SIGWINCH,
    libc::SIGALRM,
    libc::SIGTTOU,
    libc::SIGCONT,
];

fn signal_state(nested: bool) {
    let sig_lines = |o: &Outcome| report_lines(o, &["SigBlk", "SigIgn", "SigCgt"]);
    // Nothing special inherited: the child gets nothing special either.
    let (direct, under) = compare(nested, |l| l, &[]);
    assert_eq!(sig_lines(&under), sig_lines(&direct), "{under}");
    // Many ignored and blocked signals at once, SIGCHLD ignored included, which pidone must
    // undo for itself to be able to reap, and give back to the child. (Not in nested mode:
    // there the inherited state is the launcher's init's too, and an init that ignores
    // SIGCHLD can not wait for its program.)
    let ignored: Vec<i32> = IGNORED
        .iter()
        .copied()
        .filter(|s| !nested || *s != libc::SIGCHLD)
        .collect();
    let configure = |mut l: Launch| {
        for &s in &ignored {
            l = l.ignore_signal(s);
        }
        for &s in BLOCKED {
            l = l.block_signal(s);
        }
        l
    };
    let (direct, under) = compare(nested, configure, &[]);
    assert_eq!(sig_lines(&under), sig_lines(&direct), "{under}");
    let want = ignored.iter().fold(0u64, |m, s| m | 1 << (s - 1));
    let ign = report_lines(&under, &["SigIgn"]);
    assert!(ign[0].ends_with(&format!("{want:016x}")), "{ign:?}");
}

#[test]
fn the_childs_signal_mask_and_dispositions_are_what_pidone_inherited_as_pid1() {
    signal_state(false);
}

#[test]
fn the_childs_signal_mask_and_dispositions_are_what_pidone_inherited_when_not_pid1() {
    signal_state(true);
}

#[test]
fn an_inherited_ignored_sigchld_does_not_stop_pidone_reaping() {
    // With SIGCHLD ignored the kernel would reap pidone's children itself, and pidone would
    // never see the exit status nor any orphan. (PID 1 mode only: see `signal_state`.)
    let dir = TempDir::new();
    let out = Launch::pidone()
        .ignore_signal(libc::SIGCHLD)
        .args(["--report", "json", "--cleanup-grace", "0"])
        .hard_probe(["regroup", "stay-exit"])
        .arg(dir.join("ready"))
        .run(secs(10));
    out.assert_code(3);
    assert_eq!(out.report_json().get("reaped").as_i64(), 1, "{out}");
}

// ---------------------------------------------------------------------------------------------
// environment and arguments

#[test]
fn pidone_adds_nothing_to_the_childs_environment() {
    for nested in [false, true] {
        let configure = |l: Launch| {
            l.env("PIDONE_GRACE", "5s")
                .env("PIDONE_REPORT", "off")
                .env("TINI_SUBREAPER", "")
                .env("TINI_VERBOSITY", "1")
                .env("EMPTY", "")
                .env("EQUALS", "a=b=c")
                .env("NOT_UTF8", OsString::from_vec(vec![0xff, 0xfe, b'x']))
                .env(OsString::from_vec(vec![b'K', 0xff]), "key not UTF-8")
                .env("NEWLINE", "a\nb")
                .env("LONG", "x".repeat(100_000))
        };
        let (direct, under) = compare(nested, configure, &[]);
        let env = |o: &Outcome| report_lines(o, &["env"]);
        assert_eq!(env(&under), env(&direct), "nested {nested}");
        assert_eq!(env(&under).len(), 11, "{under}");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn arguments_pass_through_byte_exact_even_100000_of_them() {
    let mut args: Vec<OsString> = vec![
        OsString::new(),
        OsString::from_vec(vec![0xff, 0x80, b'a']),
        "--".into(),
        "-v".into(),
        "--grace".into(),
        " spaces and\nnewlines\t".into(),
        OsString::new(),
    ];
    args.extend((0..100_000).map(|i| OsString::from(format!("{i}"))));
    let want: Vec<String> = args
        .iter()
        .map(|a| format!("arg {}", hex(a.as_bytes())))
        .collect();
    let out = Launch::pidone().hard_probe(["report"]).args(&args).run(secs(60));
    out.assert_code(0);
    let got = report_lines(&out, &["arg"]);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "arguments differ");
    // Not PID 1: the launcher's init passes arguments on as lossy UTF-8, so compare with the
    // probe run directly under the same init.
    let (direct, under) = compare(true, |l| l, &args);
    assert_eq!(report_lines(&direct, &["arg"]).len(), want.len());
    assert!(
        report_lines(&under, &["arg"]) == report_lines(&direct, &["arg"]),
        "arguments differ (nested)"
    );
}

// ---------------------------------------------------------------------------------------------
// never a process pidone did not start or adopt

/// After the main child is reaped, another process (not a descendant of pidone) is given the
/// very same pid, and makes itself a group leader, so both `kill(pid)` and `kill(-pid)` would
/// reach it. pidone, still cleaning up after a leftover that ignores SIGTERM, then gets
/// signals, a stop signal among them (which SIGKILLs everything left). The impostor must get
/// nothing: pidone signals only what it finds below itself, through pidfds.
#[test]
fn a_reused_pid_never_redirects_a_signal() {
    for dash_g in [false, true] {
        let dir = TempDir::new();
        let pidfile = dir.join("pid");
        let ready = dir.join("ready");
        let marker = dir.join("marker");
        let mut pidone_args = vec!["--cleanup-grace", "30s", "--report", "json"];
        if dash_g {
            pidone_args.push("-g");
        }
        let p = Launch::new(hard_probe())
            .not_pid1()
            .arg("pid-reuse")
            .args([&pidfile, &ready, &marker])
            .arg("--")
            .arg(pidone_bin())
            .args(&pidone_args)
            .hard_probe(["leave-ignorer"])
            .arg(&pidfile)
            .spawn();
        wait_for_file(&ready, secs(20));
        let old = fs::read_to_string(&pidfile).unwrap();
        assert_eq!(fs::read_to_string(&ready).unwrap(), old, "the pid was not reused");
        // The harness's children: pidone and the impostor.
        let harness = p.children()[0];
        let pidone = children_of(harness)
            .into_iter()
            .find(|c| fs::read_to_string(format!("/proc/{c}/comm")).is_ok_and(|n| n.trim() == "pidone"))
            .expect("pidone");
        for sig in [libc::SIGHUP, libc::SIGUSR1, libc::SIGWINCH, libc::SIGTERM] {
            // SAFETY: pidone is a process of our test namespace, not yet reaped.
            unsafe { libc::kill(pidone, sig) };
        }
        let out = p.wait_timeout(secs(20));
        out.assert_code(3);
        let report = out.report_json();
        assert_eq!(report.get("killed").as_array().len(), 1, "{out}");
        let got = fs::read_to_string(&marker).unwrap_or_default();
        assert!(
            got.is_empty(),
            "the impostor with the reused pid got signals {got:?} (-g {dash_g})\n{out}"
        );
    }
}
