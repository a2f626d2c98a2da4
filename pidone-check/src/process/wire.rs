//! The supervisor child's answer to pidone-check, over a pipe: the exit report, or the error
//! that stopped the supervisor. Pure.
//!
//! Both ends are the same binary, so this is a private format: one line per item, fields
//! separated by spaces, process names hex-encoded (a name may hold any byte but NUL).

use pidone::report::{Cause, ExitReport, Proc};
use pidone::signal::Signal;
use pidone::supervisor::ChildStatus;
use std::fmt::Write as _;
use std::time::Duration;

const CAUSES: [Cause; 4] = [
    Cause::Exited,
    Cause::StopSignal,
    Cause::GraceExpired,
    Cause::ExecFailed,
];

pub fn encode(result: &Result<ExitReport, String>) -> Vec<u8> {
    let mut out = String::new();
    match result {
        Err(message) => {
            let _ = writeln!(out, "err {}", hex(message.as_bytes()));
        }
        Ok(r) => {
            let child = match r.child {
                ChildStatus::Exited(code) => format!("e{code}"),
                ChildStatus::Signaled(sig) => format!("s{}", sig.raw()),
            };
            let stop_signal = r.stop_signal.map_or("-".to_owned(), |s| s.raw().to_string());
            let stop_ns = r
                .stop_duration
                .map_or("-".to_owned(), |d| d.as_nanos().to_string());
            let _ = writeln!(
                out,
                "ok {} {child} {} {stop_signal} {stop_ns} {}",
                r.exit_code,
                r.cause.as_str(),
                r.reaped
            );
            for (tag, list) in [("T", &r.terminated), ("K", &r.killed)] {
                for p in list {
                    let _ = writeln!(out, "{tag} {} {}", p.pid, hex(p.comm.as_bytes()));
                }
            }
            out.push_str("end\n");
        }
    }
    out.into_bytes()
}

/// The outer error means the message was cut or garbled (the supervisor died mid-write).
pub fn decode(bytes: &[u8]) -> Result<Result<ExitReport, String>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "report is not text".to_owned())?;
    let garbled = || format!("garbled report from the supervisor: {:?}", truncate(text));
    if !text.ends_with('\n') {
        return Err(if text.is_empty() {
            "the supervisor sent no report".to_owned()
        } else {
            garbled()
        });
    }
    let mut lines = text.lines();
    let first = lines
        .next()
        .ok_or_else(|| "the supervisor sent no report".to_owned())?;
    let fields: Vec<&str> = first.split(' ').collect();
    match fields.as_slice() {
        ["err", message] => {
            let bytes = unhex(message).ok_or_else(garbled)?;
            Ok(Err(String::from_utf8_lossy(&bytes).into_owned()))
        }
        ["ok", exit_code, child, cause, stop_signal, stop_ns, reaped] => {
            let num = |s: &str| s.parse::<i64>().ok();
            let signal = |s: &str| num(s).and_then(|n| Signal::from_raw(i32::try_from(n).ok()?));
            let child = match child.split_at_checked(1) {
                Some(("e", code)) => ChildStatus::Exited(
                    num(code)
                        .and_then(|n| i32::try_from(n).ok())
                        .ok_or_else(garbled)?,
                ),
                Some(("s", sig)) => ChildStatus::Signaled(signal(sig).ok_or_else(garbled)?),
                _ => return Err(garbled()),
            };
            let mut report = ExitReport {
                exit_code: num(exit_code)
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(garbled)?,
                child,
                cause: CAUSES
                    .into_iter()
                    .find(|c| c.as_str() == *cause)
                    .ok_or_else(garbled)?,
                stop_signal: match *stop_signal {
                    "-" => None,
                    s => Some(signal(s).ok_or_else(garbled)?),
                },
                stop_duration: match *stop_ns {
                    "-" => None,
                    s => Some(Duration::from_nanos(s.parse::<u64>().map_err(|_| garbled())?)),
                },
                reaped: reaped.parse().map_err(|_| garbled())?,
                terminated: Vec::new(),
                killed: Vec::new(),
            };
            for line in lines {
                let parts: Vec<&str> = line.split(' ').collect();
                let list = match parts.as_slice() {
                    ["end"] => return Ok(Ok(report)),
                    ["T", ..] => &mut report.terminated,
                    ["K", ..] => &mut report.killed,
                    _ => return Err(garbled()),
                };
                let [_, pid, comm] = parts.as_slice() else {
                    return Err(garbled());
                };
                list.push(Proc {
                    pid: pid.parse().map_err(|_| garbled())?,
                    comm: String::from_utf8_lossy(&unhex(comm).ok_or_else(garbled)?).into_owned(),
                });
            }
            Err(garbled())
        }
        _ => Err(garbled()),
    }
}

fn truncate(text: &str) -> &str {
    match text.char_indices().nth(80) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2 + 1);
    out.push('x'); // never empty, so the field count stays fixed
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits = text.strip_prefix('x')?.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ExitReport {
        ExitReport {
            exit_code: 137,
            child: ChildStatus::Signaled(Signal::KILL),
            cause: Cause::GraceExpired,
            stop_signal: Some(Signal::TERM),
            stop_duration: Some(Duration::from_nanos(2_000_123_456)),
            reaped: 4,
            terminated: vec![Proc {
                pid: 12,
                comm: "a b\n(c)".into(),
            }],
            killed: vec![
                Proc {
                    pid: 10,
                    comm: "ignore_term".into(),
                },
                Proc {
                    pid: 11,
                    comm: String::new(),
                },
            ],
        }
    }

    #[test]
    fn round_trips() {
        let ok = Ok(sample());
        assert_eq!(decode(&encode(&ok)), Ok(ok));
        let quiet = Ok(ExitReport {
            exit_code: 0,
            child: ChildStatus::Exited(0),
            cause: Cause::Exited,
            stop_signal: None,
            stop_duration: None,
            reaped: 0,
            terminated: vec![],
            killed: vec![],
        });
        assert_eq!(decode(&encode(&quiet)), Ok(quiet));
        let err = Err("cannot start the command: Resource temporarily unavailable".to_owned());
        assert_eq!(decode(&encode(&err)), Ok(err));
    }

    #[test]
    fn cut_or_garbled_reports_are_errors() {
        let bytes = encode(&Ok(sample()));
        for cut in [0, 5, bytes.len() - 4, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(b"ok 1 2 3\n").is_err());
        assert!(decode(b"ok 0 q0 exited - - 0\nend\n").is_err());
        assert!(decode(b"ok 0 e0 nope - - 0\nend\n").is_err());
        assert!(decode(b"ok 0 e0 exited - - 0\nK 1 zz\nend\n").is_err());
        assert!(decode(b"\xff").is_err());
    }
}
