//! Signal names and numbers, real-time signals included, and small signal sets.
//!
//! Names and numbers of the standard signals come from nix's `Signal` (one table for the whole
//! project); the real-time ones (`SIGRTMIN+n`, `SIGRTMAX-n`) are pidone's own, since nix has no
//! type for them. Pure: nothing here touches the OS except reading glibc's
//! `SIGRTMIN`/`SIGRTMAX`, which are constants for the life of the process.

use nix::sys::signal::Signal as Named;
use std::fmt;

/// A signal number, as the kernel numbers them (1..=SIGRTMAX).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

/// Other names that `kill -l` and shells accept, for signals nix names otherwise.
const ALIASES: &[(&str, Named)] = &[
    ("IOT", Named::SIGABRT),
    ("CLD", Named::SIGCHLD),
    ("POLL", Named::SIGIO),
];

/// Lowest real-time signal usable by applications (glibc reserves the first two for itself).
pub fn rtmin() -> i32 {
    libc::SIGRTMIN()
}

/// Highest signal number.
pub fn rtmax() -> i32 {
    libc::SIGRTMAX()
}

impl Signal {
    pub const HUP: Signal = Signal(Named::SIGHUP as i32);
    pub const INT: Signal = Signal(Named::SIGINT as i32);
    pub const KILL: Signal = Signal(Named::SIGKILL as i32);
    pub const TERM: Signal = Signal(Named::SIGTERM as i32);
    pub const CHLD: Signal = Signal(Named::SIGCHLD as i32);
    pub const CONT: Signal = Signal(Named::SIGCONT as i32);
    pub const STOP: Signal = Signal(Named::SIGSTOP as i32);
    pub const TTIN: Signal = Signal(Named::SIGTTIN as i32);
    pub const TTOU: Signal = Signal(Named::SIGTTOU as i32);

    /// A signal from its number; `None` outside 1..=SIGRTMAX.
    #[inline(always)]
    pub fn from_raw(n: i32) -> Option<Signal> {
        // The standard signals (1..=31) without asking glibc for SIGRTMAX: the signal path
        // then touches none of glibc's data (a cold page after an idle spell).
        if (1..32).contains(&n) {
            return Some(Signal(n));
        }
        (1..=rtmax()).contains(&n).then_some(Signal(n))
    }

    pub fn raw(self) -> i32 {
        self.0
    }

    /// nix's name for it; `None` for the real-time signals (32 and up), which nix does not name.
    pub fn named(self) -> Option<Named> {
        Named::try_from(self.0).ok()
    }

    /// Whether a process can catch, block or ignore it (everything but KILL and STOP).
    pub fn is_catchable(self) -> bool {
        self != Signal::KILL && self != Signal::STOP
    }

    /// Every signal number the kernel knows, 1..=SIGRTMAX.
    pub fn all() -> impl Iterator<Item = Signal> {
        (1..=rtmax()).map(Signal)
    }

    /// Parses `TERM`, `SIGTERM`, `sigterm`, `15`, `RTMIN`, `RTMIN+3`, `SIGRTMAX-2`.
    pub fn parse(text: &str) -> Result<Signal, String> {
        let bad = || {
            format!(
                "unknown signal '{text}' (use a name like TERM or SIGTERM, or a number 1-{})",
                rtmax()
            )
        };
        if text.is_empty() {
            return Err(bad());
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse::<i32>()
                .ok()
                .and_then(Signal::from_raw)
                .ok_or_else(bad);
        }
        let upper = text.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        if let Some(&(_, sig)) = ALIASES.iter().find(|(alias, _)| *alias == name) {
            return Ok(sig.into());
        }
        if let Ok(sig) = format!("SIG{name}").parse::<Named>() {
            return Ok(sig.into());
        }
        let rt = |rest: &str, base: i32, sign: i32| -> Option<Signal> {
            let offset = match rest {
                "" => 0,
                _ => {
                    let digits = rest.strip_prefix(if sign > 0 { '+' } else { '-' })?;
                    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    digits.parse::<i32>().ok()?
                }
            };
            let n = base.checked_add(sign.checked_mul(offset)?)?;
            (rtmin()..=rtmax()).contains(&n).then_some(Signal(n))
        };
        if let Some(rest) = name.strip_prefix("RTMIN") {
            return rt(rest, rtmin(), 1).ok_or_else(bad);
        }
        if let Some(rest) = name.strip_prefix("RTMAX") {
            return rt(rest, rtmax(), -1).ok_or_else(bad);
        }
        Err(bad())
    }

    /// The canonical name: `SIGTERM`, `SIGRTMIN+3`, `SIGRTMAX-1`, or `SIG32` for the
    /// glibc-reserved numbers below SIGRTMIN.
    pub fn name(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(sig) = self.named() {
            return f.write_str(sig.as_str());
        }
        let n = self.0;
        let (lo, hi) = (rtmin(), rtmax());
        if (lo..=hi).contains(&n) {
            let from_min = n - lo;
            let from_max = hi - n;
            return match (from_min, from_max) {
                (0, _) => write!(f, "SIGRTMIN"),
                (_, 0) => write!(f, "SIGRTMAX"),
                _ if from_min <= from_max => write!(f, "SIGRTMIN+{from_min}"),
                _ => write!(f, "SIGRTMAX-{from_max}"),
            };
        }
        write!(f, "SIG{n}")
    }
}

impl From<Named> for Signal {
    fn from(sig: Named) -> Signal {
        Signal(sig as i32)
    }
}

/// A set of signals as a bitmask (signal numbers go up to 64).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalSet(u64);

impl SignalSet {
    pub fn empty() -> SignalSet {
        SignalSet(0)
    }

    pub fn insert(&mut self, sig: Signal) {
        self.0 |= 1u64 << (sig.0 - 1);
    }

    pub fn contains(&self, sig: Signal) -> bool {
        self.0 & (1u64 << (sig.0 - 1)) != 0
    }

    pub fn iter(&self) -> impl Iterator<Item = Signal> + '_ {
        Signal::all().filter(|s| self.contains(*s))
    }

    /// Parses a comma-separated list such as `TERM,INT` or `15,SIGQUIT`; only catchable signals.
    pub fn parse(text: &str) -> Result<SignalSet, String> {
        let mut set = SignalSet::empty();
        for item in text.split(',') {
            let sig = Signal::parse(item.trim())?;
            if !sig.is_catchable() {
                return Err(format!("{sig} can not be caught, so it can not be a stop signal"));
            }
            set.insert(sig);
        }
        Ok(set)
    }
}

impl FromIterator<Signal> for SignalSet {
    fn from_iter<I: IntoIterator<Item = Signal>>(iter: I) -> Self {
        let mut set = SignalSet::empty();
        for sig in iter {
            set.insert(sig);
        }
        set
    }
}

/// What a received signal becomes on its way to the child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RewriteTarget {
    Deliver(Signal),
    Drop,
}

/// `--rewrite FROM:TO` rules; later rules for the same FROM win.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RewriteMap(Vec<(Signal, RewriteTarget)>);

impl RewriteMap {
    /// Parses one `FROM:TO` rule into the map.
    pub fn add_rule(&mut self, rule: &str) -> Result<(), String> {
        let (from, to) = rule
            .split_once(':')
            .ok_or_else(|| format!("bad rewrite '{rule}': expected FROM:TO, e.g. TERM:QUIT or INT:DROP"))?;
        let from = Signal::parse(from.trim()).map_err(|e| format!("bad rewrite '{rule}': {e}"))?;
        if !from.is_catchable() {
            return Err(format!(
                "bad rewrite '{rule}': {from} can not be caught, so it can not be rewritten"
            ));
        }
        let to = to.trim();
        let to = if to.eq_ignore_ascii_case("DROP") {
            RewriteTarget::Drop
        } else {
            RewriteTarget::Deliver(Signal::parse(to).map_err(|e| format!("bad rewrite '{rule}': {e}"))?)
        };
        self.0.retain(|(f, _)| *f != from);
        self.0.push((from, to));
        Ok(())
    }

    /// Parses a comma-separated list of rules (the `PIDONE_REWRITE` form) into the map.
    pub fn add_rules(&mut self, list: &str) -> Result<(), String> {
        if list.trim().is_empty() {
            return Err("expected FROM:TO, e.g. TERM:QUIT or INT:DROP".into());
        }
        list.split(',').try_for_each(|rule| self.add_rule(rule))
    }

    pub fn apply(&self, sig: Signal) -> RewriteTarget {
        self.0
            .iter()
            .find(|(from, _)| *from == sig)
            .map(|(_, to)| *to)
            .unwrap_or(RewriteTarget::Deliver(sig))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_numbers_and_prefixes() {
        assert_eq!(Signal::parse("TERM"), Ok(Signal::TERM));
        assert_eq!(Signal::parse("SIGTERM"), Ok(Signal::TERM));
        assert_eq!(Signal::parse("sigterm"), Ok(Signal::TERM));
        assert_eq!(Signal::parse("15"), Ok(Signal::TERM));
        assert_eq!(Signal::parse("IOT").map(|s| s.raw()), Ok(libc::SIGABRT));
        for bad in ["0", "65", "", "SIG", "TERMX", "+15", "99999999999999999999"] {
            assert!(Signal::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parses_real_time_signals() {
        assert_eq!(Signal::parse("RTMIN").map(|s| s.raw()), Ok(rtmin()));
        assert_eq!(Signal::parse("SIGRTMIN+3").map(|s| s.raw()), Ok(rtmin() + 3));
        assert_eq!(Signal::parse("RTMAX-1").map(|s| s.raw()), Ok(rtmax() - 1));
        assert_eq!(Signal::parse("RTMAX").map(|s| s.raw()), Ok(rtmax()));
        for bad in ["RTMIN+99", "RTMIN-1", "RTMIN+", "RTMAX+1"] {
            assert!(Signal::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_round_trip_for_every_signal() {
        for sig in Signal::all() {
            let name = sig.name();
            if (32..rtmin()).contains(&sig.raw()) {
                assert_eq!(name, format!("SIG{}", sig.raw()));
                continue;
            }
            assert_eq!(Signal::parse(&name), Ok(sig), "{name}");
        }
        assert_eq!(Signal::TERM.name(), "SIGTERM");
        assert_eq!(
            Signal::from_raw(rtmin() + 3).map(|s| s.name()),
            Some("SIGRTMIN+3".into())
        );
    }

    #[test]
    fn signal_sets() {
        let set = SignalSet::parse("TERM, INT").unwrap();
        assert!(set.contains(Signal::TERM) && set.contains(Signal::INT));
        assert!(!set.contains(Signal::HUP));
        let rt = Signal::from_raw(rtmax()).unwrap();
        let set: SignalSet = [rt].into_iter().collect();
        assert!(set.contains(rt));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![rt]);
        assert!(SignalSet::parse("KILL").is_err());
        assert!(SignalSet::parse("TERM,").is_err());
    }

    #[test]
    fn rewrite_rules() {
        let mut map = RewriteMap::default();
        map.add_rule("TERM:QUIT").unwrap();
        map.add_rule("INT:drop").unwrap();
        map.add_rule("USR1:RTMIN+3").unwrap();
        assert_eq!(
            map.apply(Signal::TERM),
            RewriteTarget::Deliver(Signal::parse("QUIT").unwrap())
        );
        assert_eq!(map.apply(Signal::INT), RewriteTarget::Drop);
        assert_eq!(map.apply(Signal::HUP), RewriteTarget::Deliver(Signal::HUP));
        map.add_rule("TERM:HUP").unwrap();
        assert_eq!(map.apply(Signal::TERM), RewriteTarget::Deliver(Signal::HUP));
        assert!(map.add_rule("TERM").is_err());
        assert!(map.add_rule("KILL:TERM").is_err());
        assert!(map.add_rule("TERM:NOPE").is_err());
        let mut list = RewriteMap::default();
        list.add_rules("TERM:INT,HUP:DROP").unwrap();
        assert!(list.add_rules("TERM:INT,").is_err());
        assert_eq!(list.apply(Signal::HUP), RewriteTarget::Drop);
    }
}
