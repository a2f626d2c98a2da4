//! Fuzzing every parser pidone has (issue 6): arguments, environment variables, durations,
//! exit codes, signal names and numbers, signal lists, rewrite maps, and the /proc stat line.
//!
//! Properties: no panic, no hang (a watchdog aborts a case that runs for 10 s), every rejection
//! is a single printable line, and every acceptance means what the input says (checked against
//! independent reference implementations where one is short enough to trust).
//!
//! Volume comes from calling the parsers in-process; `binary_*` tests run the real binary on a
//! smaller number of inputs to prove the usage-error contract end to end: exit 1, the message
//! on one line, the hint on the next, nothing else on stderr and nothing on stdout.
//!
//! Case counts: `PROPTEST_CASES` (in-process, default 2000 per property) and
//! `FUZZ_EXEC_CASES` (binary runs, default 48). The corpus of interesting inputs in
//! tests/fuzz_corpus/cli.txt always runs in full, in-process and through the binary.
//! A short run for CI:
//!     PROPTEST_CASES=500 FUZZ_EXEC_CASES=16 cargo test --test fuzz_cli

use pidone::cli::{self, Invocation, UsageError};
use pidone::config::{self, Grace, MAX_DURATION};
use pidone::os::procfs;
use pidone::report;
use pidone::signal::{RewriteMap, RewriteTarget, Signal, SignalSet, rtmax, rtmin};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config as PropConfig, FileFailurePersistence, TestRunner};
use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt::Debug;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Configuration and the hang watchdog

fn env_count(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn in_process_config() -> PropConfig {
    PropConfig {
        cases: env_count("PROPTEST_CASES", 2000),
        // Failures found by proptest are saved next to the corpus, so they are replayed first
        // on the next run; the interesting ones are then copied into the corpus by hand.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/fuzz_corpus/proptest-regressions.txt",
        ))),
        ..PropConfig::default()
    }
}

fn exec_config() -> PropConfig {
    PropConfig {
        cases: env_count("FUZZ_EXEC_CASES", 48),
        failure_persistence: None,
        ..PropConfig::default()
    }
}

/// A single parser call longer than this is a hang.
const HANG_LIMIT: Duration = Duration::from_secs(10);

type Running = Mutex<HashMap<ThreadId, (Instant, String)>>;

/// What each test thread is parsing right now. A watchdog thread aborts the whole process,
/// naming the input, when one call outlives [`HANG_LIMIT`]: a hang must fail the suite, not
/// stall it.
fn running() -> &'static Running {
    static RUNNING: OnceLock<Running> = OnceLock::new();
    RUNNING.get_or_init(|| {
        thread::spawn(|| {
            loop {
                thread::sleep(Duration::from_millis(500));
                let map = RUNNING.get().expect("initialised before the thread").lock();
                let Ok(map) = map else { continue };
                for (start, input) in map.values() {
                    if start.elapsed() > HANG_LIMIT {
                        eprintln!("fuzz_cli: a parser hung for over {HANG_LIMIT:?} on input {input}");
                        std::process::abort();
                    }
                }
            }
        });
        Mutex::new(HashMap::new())
    })
}

/// Runs `f` on `input` under the watchdog.
fn guarded<I: Debug + ?Sized, T>(input: &I, f: impl FnOnce() -> T) -> T {
    let id = thread::current().id();
    running()
        .lock()
        .unwrap()
        .insert(id, (Instant::now(), format!("{input:?}")));
    let out = f();
    running().lock().unwrap().remove(&id);
    out
}

// ---------------------------------------------------------------------------------------------
// Shared checks

/// A message from one of the value parsers: not empty, and one clean line whenever the input
/// is (escaping control characters is done once, for the whole usage error, by `cli::parse`).
fn assert_inner_message(msg: &str, input: &str) {
    assert!(!msg.trim().is_empty(), "empty message for {input:?}");
    if !input.chars().any(char::is_control) {
        assert_one_line(msg, &input);
    }
}

/// A message for stderr: not empty, one line, no control characters (a quoted input must not
/// break the line or drive the terminal).
fn assert_one_line(msg: &str, input: &dyn Debug) {
    assert!(!msg.trim().is_empty(), "empty message for {input:?}");
    assert!(
        !msg.chars().any(char::is_control),
        "message for {input:?} has a control character: {msg:?}"
    );
}

type Env = Vec<(String, OsString)>;

fn parse(args: &[OsString], env: &Env) -> Result<Invocation, UsageError> {
    let lookup = |name: &str| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    guarded(&(args, env), || cli::parse(args, &lookup))
}

/// The properties of one `cli::parse` call.
fn check_cli(args: &[OsString], env: &Env) -> Result<Invocation, UsageError> {
    let first = parse(args, env);
    assert_eq!(parse(args, env), first, "not deterministic for {args:?} {env:?}");
    match &first {
        Err(UsageError(msg)) => assert_one_line(msg, &(args, env)),
        Ok(Invocation::Run(c)) => {
            assert!(!c.command.is_empty());
            // Operands pass through byte-exact: the command is the tail of the arguments.
            assert!(
                args.ends_with(&c.command),
                "command {:?} is not the tail of {args:?}",
                c.command
            );
            for d in [c.cleanup_grace, c.stop_delay] {
                assert!(d <= MAX_DURATION, "{d:?} from {args:?} {env:?}");
            }
            if let Grace::After(d) = c.grace {
                assert!(d <= MAX_DURATION, "{d:?} from {args:?} {env:?}");
            }
            assert!(!c.stop_signals.iter().any(|s| !s.is_catchable()));
            let mut codes = c.success_codes.clone();
            codes.dedup();
            assert_eq!(codes.len(), c.success_codes.len());
        }
        Ok(_) => {}
    }
    first
}

// ---------------------------------------------------------------------------------------------
// Generators

const OPTIONS: &[&str] = &[
    "-s",
    "-g",
    "-v",
    "-w",
    "-l",
    "-h",
    "-e",
    "-p",
    "-t",
    "-r",
    "-x",
    "--grace",
    "--cleanup-grace",
    "--stop-delay",
    "--stop-signals",
    "--rewrite",
    "--report",
    "--log-format",
    "--help",
    "--version",
    "--verbose",
    "--",
    "-",
    "---",
    "--=",
];

const ENV_VARS: &[&str] = &[
    "PIDONE_GRACE",
    "PIDONE_CLEANUP_GRACE",
    "PIDONE_STOP_DELAY",
    "PIDONE_STOP_SIGNALS",
    "PIDONE_REWRITE",
    "PIDONE_REPORT",
    "PIDONE_LOG_FORMAT",
    "PIDONE_LOG",
    "TINI_SUBREAPER",
    "TINI_KILL_PROCESS_GROUP",
    "TINI_VERBOSITY",
];

/// Whole parts around every limit the duration parser has: 100 years in each unit, u64 and
/// u128 overflow of the nanosecond count.
const BIG_NUMBERS: &[&str] = &[
    "3153600000",
    "3153600001",
    "3153599999",
    "52560000",
    "52560001",
    "876000",
    "876001",
    "3153600000000",
    "3153600000001",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431",
    "340282366920938463463374607432",
    "340282366920938463463374607431768211455",
    "340282366920938463463374607431768211456",
    "99999999999999999999999999999999999999999999",
    "0000000000000000000000000000000000000000001",
];

fn duration_text() -> impl Strategy<Value = String> {
    let whole = prop_oneof![
        4 => "[0-9]{0,4}",
        2 => "[0-9]{5,45}",
        2 => select(BIG_NUMBERS).prop_map(str::to_owned),
    ];
    let fraction = prop::option::of("[0-9]{0,30}");
    let unit = select(
        &[
            "", "", "s", "ms", "m", "h", "S", "us", "x", " s", "sec", "s ", "\u{661}",
        ][..],
    );
    let sign = select(&["", "", "", "-", "+", " ", "."][..]);
    (sign, whole, fraction, unit).prop_map(|(sign, w, f, u)| match f {
        Some(f) => format!("{sign}{w}.{f}{u}"),
        None => format!("{sign}{w}{u}"),
    })
}

const SIGNAL_NAMES: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE",
    "ALRM", "TERM", "STKFLT", "CHLD", "CLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ",
    "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS", "RTMIN", "RTMAX", "EMT", "INFO", "LOST", "UNUSED",
    "SIG", "",
];

fn signal_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // Names, any case, with or without the SIG prefix.
        (
            select(&["", "SIG", "sig", "Sig"][..]),
            select(SIGNAL_NAMES),
            any::<bool>()
        )
            .prop_map(|(p, n, lower)| {
                let s = format!("{p}{n}");
                if lower { s.to_ascii_lowercase() } else { s }
            }),
        // Numbers around the valid range, with odd spellings.
        (select(&["", "0", "00", "+", "-", " "][..]), -3i64..80).prop_map(|(p, n)| format!("{p}{n}")),
        "[0-9]{10,25}",
        // Real-time arithmetic.
        (
            select(&["RTMIN", "RTMAX", "SIGRTMIN", "sigrtmax", "RTMIN+", "RTMAX-"][..]),
            select(&["", "+", "-", "++", "+-"][..]),
            prop_oneof![
                (0u64..40).prop_map(|n| n.to_string()),
                "[0-9]{9,22}",
                Just(String::new())
            ],
        )
            .prop_map(|(b, s, n)| format!("{b}{s}{n}")),
        "[A-Za-z0-9+ -]{0,10}",
        any::<String>(),
    ]
}

fn rewrite_text() -> impl Strategy<Value = String> {
    let target = prop_oneof![3 => signal_text(), 1 => select(&["DROP", "drop", "Drop", " DROP "][..]).prop_map(str::to_owned)];
    let rule = prop_oneof![
        6 => (signal_text(), select(&[":", ":", "::", " : ", ";", ""][..]), target)
            .prop_map(|(f, sep, t)| format!("{f}{sep}{t}")),
        1 => any::<String>(),
    ];
    (vec(rule, 0..5), select(&[",", ",", ", ", ",,", ";"][..])).prop_map(|(rules, sep)| rules.join(sep))
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "auto", "text", "json", "off", "JSON", "none", "NONE", "xml", "yaml"
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z]{1,8}",
        "[0-9]{1,4}",
    ]
}

fn value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => duration_text(),
        3 => signal_text(),
        2 => rewrite_text(),
        2 => word(),
        1 => "[\\x00-\\x1f\\x7f]{1,4}[a-z]{0,3}",
        1 => any::<String>(),
        1 => "x{200,3000}",
    ]
}

fn value_os() -> impl Strategy<Value = OsString> {
    prop_oneof![
        8 => value_text().prop_map(OsString::from),
        1 => vec(any::<u8>(), 0..12).prop_map(OsString::from_vec),
    ]
}

fn arg() -> impl Strategy<Value = OsString> {
    prop_oneof![
        6 => select(OPTIONS).prop_map(OsString::from),
        4 => value_os(),
        // --long=value
        3 => (select(OPTIONS), value_text()).prop_map(|(o, v)| OsString::from(format!("{o}={v}"))),
        // A short cluster with an attached value: -sgv, -e143, -pTERM, -vvvx
        3 => ("-[sgvwlhepxtr]{1,4}", prop::option::of(value_text()))
            .prop_map(|(c, v)| OsString::from(format!("{c}{}", v.unwrap_or_default()))),
        // Bytes that are not UTF-8 where an option is expected.
        1 => vec(any::<u8>(), 0..6).prop_map(|b| OsString::from_vec([b"-".as_slice(), &b].concat())),
        2 => "[a-z/]{1,10}".prop_map(OsString::from),
    ]
}

/// Options that are always accepted, as their argument words.
const VALID_OPTIONS: &[&[&str]] = &[
    &["-s"],
    &["-g"],
    &["-v"],
    &["-vvw"],
    &["-e", "143"],
    &["-e0"],
    &["-pTERM"],
    &["-p", "RTMAX-1"],
    &["--grace", "1s"],
    &["--grace=none"],
    &["-t0"],
    &["-r", "TERM:INT"],
    &["--rewrite=HUP:DROP,RTMIN+2:USR1"],
    &["--report=json"],
    &["--log-format", "JSON"],
    &["--stop-signals", "TERM,QUIT"],
    &["--stop-delay=1.5"],
    &["--cleanup-grace", "0"],
];

fn env_entries() -> impl Strategy<Value = Env> {
    vec((select(ENV_VARS).prop_map(str::to_owned), value_os()), 0..4)
}

// ---------------------------------------------------------------------------------------------
// Reference implementations

/// Duration in nanoseconds, computed the long way: exact floor of value × unit, None when the
/// text is not a duration (the range check is left to the caller).
fn reference_duration_ns(text: &str) -> Option<u128> {
    let (number, scale): (&str, u128) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1_000_000)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000_000_000)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000_000_000)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3_600_000_000_000)
    } else {
        (text, 1_000_000_000)
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) || (whole.is_empty() && fraction.is_empty()) {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > 38 {
        return Some(u128::MAX); // far out of range either way
    }
    let w: u128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    // Digits past the 24th change the result by less than a nanosecond times 3.6e-12.
    let fraction = &fraction[..fraction.len().min(24)];
    let f: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    let frac_ns = f * scale / 10u128.pow(fraction.len() as u32);
    Some(
        w.checked_mul(scale)
            .and_then(|n| n.checked_add(frac_ns))
            .unwrap_or(u128::MAX),
    )
}

/// Names of standard signals come from nix (its `Signal`, an oracle independent of pidone's
/// parser); these are the other names shells accept, which nix does not know.
const SIGNAL_ALIASES: &[(&str, i32)] = &[
    ("IOT", libc::SIGABRT),
    ("CLD", libc::SIGCHLD),
    ("POLL", libc::SIGIO),
];

fn reference_signal(text: &str) -> Option<i32> {
    // A decimal number, leading zeros allowed; anything longer than 12 digits is out of range.
    let number = |d: &str| -> Option<i64> {
        match d.trim_start_matches('0') {
            "" => Some(0),
            t if t.len() > 12 => None,
            t => t.parse().ok(),
        }
    };
    if !text.is_empty() && digits_only(text) {
        let n = number(text)?;
        return (1..=i64::from(rtmax())).contains(&n).then_some(n as i32);
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = SIGNAL_ALIASES.iter().find(|(k, _)| *k == name) {
        return Some(n);
    }
    if let Ok(sig) = format!("SIG{name}").parse::<nix::sys::signal::Signal>() {
        return Some(sig as i32);
    }
    let rt = |rest: &str, base: i32, sign: char| -> Option<i32> {
        let offset = if rest.is_empty() {
            0
        } else {
            let d = rest.strip_prefix(sign)?;
            if d.is_empty() || !digits_only(d) {
                return None;
            }
            number(d)?
        };
        let n = if sign == '+' {
            i64::from(base) + offset
        } else {
            i64::from(base) - offset
        };
        (i64::from(rtmin())..=i64::from(rtmax()))
            .contains(&n)
            .then_some(n as i32)
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return rt(rest, rtmin(), '+');
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        return rt(rest, rtmax(), '-');
    }
    None
}

fn digits_only(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

// ---------------------------------------------------------------------------------------------
// In-process properties

proptest! {
    #![proptest_config(in_process_config())]

    #[test]
    fn cli_parse_never_panics_and_rejects_in_one_line(args in vec(arg(), 0..10), env in env_entries()) {
        let _ = check_cli(&args, &env);
    }

    #[test]
    fn cli_operands_after_double_dash_pass_through(
        opts in vec(select(VALID_OPTIONS), 0..6),
        operands in vec(vec(any::<u8>(), 0..20).prop_map(OsString::from_vec), 1..6),
    ) {
        let mut args: Vec<OsString> = opts.iter().flat_map(|o| o.iter().map(OsString::from)).collect();
        args.push("--".into());
        args.extend(operands.iter().cloned());
        match check_cli(&args, &Vec::new()) {
            Ok(Invocation::Run(c)) => prop_assert_eq!(&c.command, &operands),
            other => prop_assert!(false, "{:?}: {:?}", args, other),
        }
    }

    #[test]
    fn env_values_never_panic(value in value_os(), var in select(ENV_VARS)) {
        let env = vec![(var.to_owned(), value)];
        let args = vec![OsString::from("cmd")];
        if let Err(UsageError(msg)) = check_cli(&args, &env) {
            prop_assert!(msg.starts_with(var), "{msg}");
        }
        // A flag that overrides the variable means the variable is never read (and so can not
        // make the command line fail).
        let flag = match var {
            "PIDONE_GRACE" => Some(["--grace", "1s"]),
            "PIDONE_CLEANUP_GRACE" => Some(["--cleanup-grace", "1s"]),
            "PIDONE_STOP_DELAY" => Some(["--stop-delay", "0"]),
            "PIDONE_STOP_SIGNALS" => Some(["--stop-signals", "TERM"]),
            "PIDONE_REWRITE" => Some(["-r", "HUP:DROP"]),
            "PIDONE_REPORT" => Some(["--report", "off"]),
            "PIDONE_LOG_FORMAT" => Some(["--log-format", "text"]),
            _ => None,
        };
        if let Some(flag) = flag {
            let args: Vec<OsString> = flag.iter().map(OsString::from).chain([OsString::from("cmd")]).collect();
            prop_assert!(matches!(check_cli(&args, &env), Ok(Invocation::Run(_))));
        }
    }

    #[test]
    fn durations_match_the_reference(text in duration_text()) {
        let got = guarded(&text, || config::parse_duration(&text));
        let want = reference_duration_ns(&text);
        match (&got, want) {
            (Err(msg), _) => {
                assert_inner_message(msg, &text);
                // Rejected: not a duration, or beyond the limit (within a few ns of rounding).
                prop_assert!(want.is_none_or(|n| n.saturating_add(10) > MAX_DURATION.as_nanos()), "{text:?} rejected: {msg}");
            }
            (Ok(d), Some(n)) => {
                prop_assert!(*d <= MAX_DURATION);
                // The parser truncates digits below its unit's nanosecond; a few ns of slack.
                prop_assert!(d.as_nanos().abs_diff(n) < 10, "{text:?}: got {d:?}, want {n} ns");
            }
            (Ok(d), None) => prop_assert!(false, "{text:?} accepted as {d:?}"),
        }
        // `none` only for the grace.
        let grace = config::parse_grace(&text);
        prop_assert_eq!(grace.ok(), got.ok().map(Grace::After));
    }

    #[test]
    fn durations_round_trip(secs in 0u64..=MAX_DURATION.as_secs(), nanos in 0u32..1_000_000_000) {
        let d = Duration::new(secs, nanos);
        let text = format!("{secs}.{nanos:09}s");
        if d <= MAX_DURATION {
            prop_assert_eq!(config::parse_duration(&text), Ok(d));
        } else {
            prop_assert!(config::parse_duration(&text).is_err());
        }
        let ms = d.as_millis();
        prop_assert_eq!(config::parse_duration(&format!("{ms}ms")), Ok(Duration::from_millis(ms as u64)));
    }

    #[test]
    fn exit_codes_match_the_reference(text in prop_oneof!["[0-9]{0,5}", "[ +-]?[0-9x]{0,4}", any::<String>()]) {
        let got = guarded(&text, || config::parse_exit_code(&text));
        let want = (!text.is_empty() && text.len() <= 3 && digits_only(&text))
            .then(|| text.parse::<u32>().ok())
            .flatten()
            .filter(|n| *n <= 255);
        match got {
            Ok(code) => prop_assert_eq!(Some(u32::from(code)), want),
            Err(msg) => {
                assert_inner_message(&msg, &text);
                prop_assert_eq!(want, None);
            }
        }
    }

    #[test]
    fn verbosity_report_and_log_format(text in value_text()) {
        for result in [
            config::parse_report(&text).map(|_| ()),
            config::parse_log_format(&text).map(|_| ()),
        ] {
            if let Err(msg) = result {
                assert_inner_message(&msg, &text);
            }
        }
        // tini's atoi: never an error; the leading digits when the text is only digits.
        let verbosity = config::parse_verbosity(&text);
        if !text.is_empty() && digits_only(&text) {
            prop_assert_eq!(verbosity, text.parse::<u32>().unwrap_or(u32::MAX));
        }
    }

    #[test]
    fn signals_match_the_reference(text in signal_text()) {
        let got = guarded(&text, || Signal::parse(&text));
        match &got {
            Ok(sig) => {
                prop_assert!((1..=rtmax()).contains(&sig.raw()));
                // The canonical name parses back (the glibc-reserved 32 and 33 have none).
                if !(32..rtmin()).contains(&sig.raw()) {
                    prop_assert_eq!(Signal::parse(&sig.to_string()), Ok(*sig));
                }
                // Standard signals are called what nix calls them.
                if let Ok(named) = nix::sys::signal::Signal::try_from(sig.raw()) {
                    prop_assert_eq!(sig.to_string(), named.as_str());
                }
            }
            Err(msg) => assert_one_line(msg, &text),
        }
        prop_assert_eq!(got.as_ref().ok().map(|s| s.raw()), reference_signal(&text), "{:?}", text);
        prop_assert_eq!(Signal::parse(&text.to_ascii_lowercase()).ok(), got.ok());
    }

    #[test]
    fn signal_lists(list in vec(signal_text(), 0..6), sep in select(&[",", ", ", ",,", " ,"][..])) {
        let text = list.join(sep);
        match guarded(&text, || SignalSet::parse(&text)) {
            Ok(set) => {
                for item in text.split(',') {
                    let sig = Signal::parse(item.trim());
                    prop_assert!(sig.is_ok_and(|s| s.is_catchable() && set.contains(s)), "{text:?}");
                }
            }
            Err(msg) => assert_one_line(&msg, &text),
        }
    }

    #[test]
    fn rewrite_maps(text in rewrite_text()) {
        let mut map = RewriteMap::default();
        match guarded(&text, || map.add_rules(&text)) {
            Ok(()) => {
                // Every rule is in effect, the last one for a signal winning.
                let mut want: HashMap<i32, RewriteTarget> = HashMap::new();
                for rule in text.split(',') {
                    let (from, to) = rule.split_once(':').expect("accepted rules have a colon");
                    let from = Signal::parse(from.trim()).expect("accepted");
                    let to = to.trim();
                    let to = if to.eq_ignore_ascii_case("drop") {
                        RewriteTarget::Drop
                    } else {
                        RewriteTarget::Deliver(Signal::parse(to).expect("accepted"))
                    };
                    want.insert(from.raw(), to);
                }
                for (from, to) in want {
                    prop_assert_eq!(map.apply(Signal::from_raw(from).unwrap()), to);
                }
            }
            Err(msg) => assert_one_line(&msg, &text),
        }
    }

    #[test]
    fn proc_stat_lines(
        pid in prop_oneof![Just("42".to_owned()), "[0-9 -]{0,12}"],
        comm in vec(any::<u8>(), 0..20),
        rest in prop_oneof![
            Just(" S 7 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 1000 10 0\n".to_owned()),
            "( ?[A-Z] [0-9-]{1,5}( [0-9]{1,3}){0,22})?",
            any::<String>(),
        ],
    ) {
        let mut line = pid.into_bytes();
        line.push(b'(');
        line.extend_from_slice(&comm);
        line.push(b')');
        line.extend_from_slice(rest.as_bytes());
        // Kernel input, but a comm may hold any bytes: never a panic.
        guarded(&line, || procfs::parse_stat(&line));
        let raw = rest.as_bytes();
        guarded(raw, || procfs::parse_stat(raw));
    }

    #[test]
    fn json_strings_stay_one_valid_line(s in any::<String>()) {
        let mut out = String::new();
        report::json_string(&mut out, &s);
        prop_assert!(!out.chars().any(|c| (c as u32) < 0x20));
        prop_assert_eq!(unescape_json(&out), Some(s));
    }

    #[test]
    fn version_text_takes_any_argv0(argv0 in vec(any::<u8>(), 0..30)) {
        let text = cli::version_text(&OsString::from_vec(argv0));
        prop_assert!(text.starts_with("pidone ") || text.starts_with("tini version "));
    }
}

/// Decodes a JSON string literal (enough of RFC 8259 to check `json_string`).
fn unescape_json(lit: &str) -> Option<String> {
    let inner = lit.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                _ => return None,
            },
            c => out.push(c),
        }
    }
    Some(out)
}

/// Tens of thousands of options and operands: linear, no stack or quadratic blow-up.
#[test]
fn huge_argument_lists_parse_quickly() {
    let mut args: Vec<OsString> = Vec::new();
    for i in 0..50_000 {
        args.push("-v".into());
        args.push(format!("-e{}", i % 256).into());
        args.push(format!("--rewrite=RTMIN+{}:DROP", i % 20).into());
    }
    args.push("cmd".into());
    args.extend((0..100_000).map(|i| OsString::from(format!("operand{i}"))));
    let start = Instant::now();
    let result = check_cli(&args, &Vec::new());
    assert!(
        matches!(result, Ok(Invocation::Run(ref c)) if c.command.len() == 100_001 && c.success_codes.len() == 256)
    );
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());

    let long = "9".repeat(1_000_000);
    let start = Instant::now();
    assert!(config::parse_duration(&long).is_err());
    assert!(Signal::parse(&long).is_err());
    assert!(Signal::parse(&format!("RTMIN+{long}")).is_err());
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
}

/// The overflow that slipped through: a whole part just below u128::MAX / 10^9 nanoseconds plus
/// a fraction wrapped around (release) or panicked (debug) instead of "too long".
#[test]
fn duration_overflow_is_too_long_not_a_wrap() {
    for text in [
        "340282366920938463463374607431.9s",
        "340282366920938463463374607431.999999999",
        "5671372782015641057722910123.9m",
        "94522879700260684295381835.9h",
        "340282366920938463463374607431768.9ms",
    ] {
        let got = config::parse_duration(text);
        assert!(
            got.as_ref().is_err_and(|e| e.contains("too long")),
            "{text}: {got:?}"
        );
    }
}

/// Quoted input with control characters stays on one line.
#[test]
fn usage_errors_escape_control_characters() {
    for (args, env) in [
        (vec!["--grace=1\nx", "cmd"], vec![]),
        (vec!["-p", "TERM\r\u{1b}[2J", "cmd"], vec![]),
        (vec!["--bogus\n", "cmd"], vec![]),
        (vec!["cmd"], vec![("PIDONE_REPORT", "json\npidone: exit 0")]),
    ] {
        let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
        let env: Env = env
            .into_iter()
            .map(|(k, v)| (k.to_owned(), OsString::from(v)))
            .collect();
        match check_cli(&args, &env) {
            Err(UsageError(msg)) => assert!(msg.contains("\\n") || msg.contains("\\r"), "{msg}"),
            other => panic!("{args:?}: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The corpus

struct CorpusCase {
    line: usize,
    expect: String,
    args: Vec<OsString>,
    env: Env,
}

fn unescape_field(field: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'\\' => out.push(b'\\'),
                b'$' => out.push(b'$'),
                b'_' => {}
                b'x' => {
                    let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).expect("\\xNN");
                    out.push(u8::from_str_radix(hex, 16).expect("\\xNN"));
                    i += 2;
                }
                other => panic!("unknown escape \\{} in corpus field {field:?}", other as char),
            }
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn corpus() -> Vec<CorpusCase> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz_corpus/cli.txt");
    let text = std::fs::read_to_string(path).expect("tests/fuzz_corpus/cli.txt");
    let mut cases = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split('\t');
        let expect = fields.next().unwrap_or_default().to_owned();
        let mut case = CorpusCase {
            line: n + 1,
            expect,
            args: Vec::new(),
            env: Vec::new(),
        };
        for field in fields {
            if let Some(assign) = field.strip_prefix('$') {
                let (k, v) = assign.split_once('=').expect("$NAME=value");
                case.env
                    .push((k.to_owned(), OsString::from_vec(unescape_field(v))));
            } else {
                case.args.push(OsString::from_vec(unescape_field(field)));
            }
        }
        cases.push(case);
    }
    assert!(cases.len() > 50, "corpus too small: {}", cases.len());
    cases
}

#[test]
fn corpus_in_process() {
    for case in corpus() {
        let got = check_cli(&case.args, &case.env);
        let ctx = format!(
            "corpus line {}: {:?} {:?} => {got:?}",
            case.line, case.args, case.env
        );
        match case.expect.as_str() {
            "ok" => assert!(matches!(got, Ok(Invocation::Run(_))), "{ctx}"),
            "help" => assert_eq!(got, Ok(Invocation::Help), "{ctx}"),
            "version" => assert_eq!(got, Ok(Invocation::Version), "{ctx}"),
            "license" => assert_eq!(got, Ok(Invocation::License), "{ctx}"),
            expect => {
                let needle = expect
                    .strip_prefix("err")
                    .expect("ok, help, version, license or err[:NEEDLE]");
                let Err(UsageError(msg)) = got else {
                    panic!("{ctx}")
                };
                if let Some(needle) = needle.strip_prefix(':') {
                    assert!(msg.contains(needle), "{ctx}: wanted {needle:?}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The real binary

struct Ran {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs pidone with exactly this argument list and environment, failing after 10 s.
fn run_binary(args: &[OsString], env: &Env) -> Ran {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pidone"));
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn pidone");
    let pid = child.id();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let _ = out.read_to_end(&mut stdout);
        let _ = err.read_to_end(&mut stderr);
        let status = child.wait().expect("wait");
        let _ = tx.send(Ran {
            code: status.code(),
            stdout,
            stderr,
        });
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(ran) => ran,
        Err(_) => {
            // Not reaped yet (the waiting thread still owns it), so the pid is still ours.
            // SAFETY: plain kill of our own unreaped child.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("pidone hung on {args:?} {env:?}");
        }
    }
}

fn assert_binary_rejects(args: &[OsString], env: &Env, msg: &str) {
    let ran = run_binary(args, env);
    let stderr = String::from_utf8_lossy(&ran.stderr);
    let ctx = format!("{args:?} {env:?}: stderr {stderr:?}");
    assert_eq!(ran.code, Some(1), "{ctx}");
    assert!(ran.stdout.is_empty(), "{ctx}");
    assert_eq!(
        stderr,
        format!("pidone: {msg}\nTry 'pidone --help' for more information.\n"),
        "{ctx}"
    );
}

/// Inputs the real binary can be given: no NUL bytes (impossible in argv and environ).
fn execable(args: &[OsString], env: &Env) -> bool {
    args.iter()
        .chain(env.iter().map(|(_, v)| v))
        .all(|a| !a.as_bytes().contains(&0))
}

#[test]
fn corpus_through_the_binary() {
    for case in corpus() {
        if !execable(&case.args, &case.env) {
            continue;
        }
        match parse(&case.args, &case.env) {
            Err(UsageError(msg)) => assert_binary_rejects(&case.args, &case.env, &msg),
            Ok(Invocation::Help | Invocation::Version | Invocation::License) => {
                let ran = run_binary(&case.args, &case.env);
                assert_eq!(ran.code, Some(0), "corpus line {}", case.line);
                assert!(
                    !ran.stdout.is_empty() && ran.stderr.is_empty(),
                    "corpus line {}",
                    case.line
                );
            }
            // Valid command lines would run their command: covered by the other suites.
            Ok(Invocation::Run(_)) => {}
        }
    }
}

/// Strips NUL bytes, which argv and environ can not carry.
fn no_nul(s: OsString) -> OsString {
    OsString::from_vec(s.into_vec().into_iter().filter(|b| *b != 0).collect())
}

/// Random rejections through the real binary. A plain runner rather than `proptest!`, whose
/// macro lets PROPTEST_CASES override the (much smaller) count of binary runs.
#[test]
fn binary_rejections_are_exit_1_and_one_line() {
    let mut runner = TestRunner::new(exec_config());
    let inputs = (
        vec(arg().prop_map(no_nul), 0..6),
        prop_oneof![
            select(&["-x", "--nope", "-e", "--grace"][..]).prop_map(OsString::from),
            value_os().prop_map(no_nul),
        ],
        env_entries().prop_map(|env| env.into_iter().map(|(k, v)| (k, no_nul(v))).collect::<Env>()),
    );
    let result = runner.run(&inputs, |(mut args, bad, env)| {
        // An unknown or value-less option at the end makes most inputs a usage error; those
        // that still parse would run a command and are left to the in-process properties.
        args.push(bad);
        if let Err(UsageError(msg)) = parse(&args, &env) {
            assert_binary_rejects(&args, &env, &msg);
        }
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
}
