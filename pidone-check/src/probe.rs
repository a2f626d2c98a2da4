//! Readiness probes (`--ready-*`): each one latches once it has held, and the application is
//! ready when all of them have. Where a probe looks (the host, or inside a container) is up to
//! the caller: [`Probes::check_in`] takes the looking as functions.

use crate::options::{Readiness, TcpTarget};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

/// How long one TCP connection attempt may take: connections to a local port are refused or
/// accepted at once, so this only matters for an address that drops packets.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);

/// The longest line kept for `--ready-log` matching; the rest of a longer line is ignored.
const MAX_LINE: usize = 64 * 1024;

pub struct Probes<'a> {
    spec: &'a Readiness,
    tcp_ok: Vec<bool>,
    file_ok: Vec<bool>,
    log_ok: Vec<bool>,
    health_ok: bool,
    line: Vec<u8>,
}

/// How the probes look at the world.
pub trait World {
    fn file_exists(&mut self, path: &Path) -> bool;
    fn tcp_connects(&mut self, target: &TcpTarget) -> bool;
    /// The image's HEALTHCHECK says healthy (image mode only).
    fn healthy(&mut self) -> bool {
        false
    }
}

/// The host itself (process mode).
pub struct Host;

impl World for Host {
    fn file_exists(&mut self, path: &Path) -> bool {
        path.exists()
    }

    fn tcp_connects(&mut self, target: &TcpTarget) -> bool {
        target
            .addrs
            .iter()
            .any(|addr| TcpStream::connect_timeout(addr, CONNECT_TIMEOUT).is_ok())
    }
}

impl<'a> Probes<'a> {
    pub fn new(spec: &'a Readiness) -> Probes<'a> {
        Probes {
            spec,
            tcp_ok: vec![false; spec.tcp.len()],
            file_ok: vec![false; spec.files.len()],
            log_ok: vec![false; spec.logs.len()],
            health_ok: false,
            line: Vec::new(),
        }
    }

    /// Feeds output of the application; complete lines are matched against `--ready-log`.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.log_ok.iter().all(|&ok| ok) {
            return; // nothing left to look for: a chatty application costs no matching
        }
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            self.push_partial(&rest[..nl]);
            self.end_line();
            rest = &rest[nl + 1..];
        }
        self.push_partial(rest);
    }

    /// Matches what is left of an unterminated last line (the output has ended).
    pub fn finish(&mut self) {
        if !self.line.is_empty() {
            self.end_line();
        }
    }

    fn push_partial(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn end_line(&mut self) {
        let text = String::from_utf8_lossy(&self.line);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        for (ok, pattern) in self.log_ok.iter_mut().zip(&self.spec.logs) {
            *ok = *ok || pattern.regex.is_match(text);
        }
        self.line.clear();
    }

    /// Checks the probes that look at the world (files, sockets, the clock) and returns
    /// whether everything holds. `elapsed` is the time since the start.
    pub fn check(&mut self, elapsed: Duration) -> bool {
        self.check_in(&mut Host, elapsed)
    }

    /// [`Probes::check`], looking through `world`. Probes that already held are not asked again.
    pub fn check_in(&mut self, world: &mut dyn World, elapsed: Duration) -> bool {
        for (ok, path) in self.file_ok.iter_mut().zip(&self.spec.files) {
            *ok = *ok || world.file_exists(path);
        }
        for (ok, target) in self.tcp_ok.iter_mut().zip(&self.spec.tcp) {
            *ok = *ok || world.tcp_connects(target);
        }
        if self.spec.health && !self.health_ok {
            self.health_ok = world.healthy();
        }
        self.spec.after.is_none_or(|after| elapsed >= after) && self.pending_probes().is_empty()
    }

    /// How long until the `--ready-after` delay is over (the others need polling).
    pub fn delay_left(&self, elapsed: Duration) -> Option<Duration> {
        self.spec.after.map(|after| after.saturating_sub(elapsed))
    }

    /// What has not held yet, in words, for the "not ready" failure.
    pub fn pending_probes(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (ok, t) in self.tcp_ok.iter().zip(&self.spec.tcp) {
            if !ok {
                out.push(format!("no TCP connection to {}", t.text));
            }
        }
        for (ok, f) in self.file_ok.iter().zip(&self.spec.files) {
            if !ok {
                out.push(format!("no file {}", f.display()));
            }
        }
        for (ok, l) in self.log_ok.iter().zip(&self.spec.logs) {
            if !ok {
                out.push(format!("no output line matched '{}'", l.text));
            }
        }
        if self.spec.health && !self.health_ok {
            out.push("the HEALTHCHECK never said healthy".to_owned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{LogPattern, parse_tcp_target};
    use regex_lite::Regex;
    use std::net::TcpListener;

    fn log(p: &str) -> LogPattern {
        LogPattern {
            text: p.into(),
            regex: Regex::new(p).unwrap(),
        }
    }

    #[test]
    fn log_lines_match_across_reads_and_only_whole_lines() {
        let spec = Readiness {
            logs: vec![log("^listening on [0-9]+$"), log("ready")],
            ..Readiness::default()
        };
        let mut p = Probes::new(&spec);
        p.feed(b"starting\nlisten");
        assert!(!p.check(Duration::ZERO));
        p.feed(b"ing on 80");
        assert!(!p.check(Duration::ZERO), "an unfinished line does not count yet");
        p.feed(b"80\r\nalmost re");
        assert_eq!(
            p.pending_probes(),
            vec!["no output line matched 'ready'".to_owned()]
        );
        p.feed(b"ady");
        p.finish();
        assert!(p.check(Duration::ZERO));
    }

    #[test]
    fn files_tcp_and_delay_must_all_hold() {
        let dir = std::env::temp_dir().join(format!("pidone-check-probe-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let spec = Readiness {
            tcp: vec![parse_tcp_target(&format!("127.0.0.1:{port}")).unwrap()],
            files: vec![dir.clone()],
            after: Some(Duration::from_millis(100)),
            ..Readiness::default()
        };
        let mut p = Probes::new(&spec);
        assert!(!p.check(Duration::from_secs(1)));
        assert_eq!(p.pending_probes().len(), 2);
        std::fs::write(&dir, b"").unwrap();
        let _listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        assert!(!p.check(Duration::from_millis(50)), "the delay is not over");
        assert_eq!(
            p.delay_left(Duration::from_millis(50)),
            Some(Duration::from_millis(50))
        );
        assert!(p.check(Duration::from_millis(100)));
        std::fs::remove_file(&dir).unwrap();
        assert!(p.check(Duration::from_millis(100)), "probes latch");
    }
}
