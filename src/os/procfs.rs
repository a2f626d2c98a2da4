//! Who is left: the processes below pidone, with their names, read from /proc.

use super::getpid;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;

/// One process as /proc/PID/stat shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcEntry {
    pub pid: i32,
    pub ppid: i32,
    pub comm: String,
    pub state: u8,
    /// Start time in clock ticks since boot: with the pid, it names one process for good.
    pub start_time: u64,
}

impl ProcEntry {
    fn is_dead(&self) -> bool {
        matches!(self.state, b'Z' | b'X' | b'x')
    }
}

/// Parses the contents of /proc/PID/stat. The name is between the first '(' and the last
/// ')', since it may itself contain spaces and parentheses.
pub fn parse_stat(text: &[u8]) -> Option<ProcEntry> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    let pid = std::str::from_utf8(text.get(..open)?).ok()?.trim().parse().ok()?;
    let comm = String::from_utf8_lossy(text.get(open + 1..close)?).into_owned();
    let rest = std::str::from_utf8(text.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    // Fields after the name, numbered as in proc(5): 3 state, 4 ppid, ..., 22 starttime.
    let state = *fields.next()?.as_bytes().first()?;
    let ppid = fields.next()?.parse().ok()?;
    let start_time = fields.nth(17)?.parse().ok()?;
    Some(ProcEntry {
        pid,
        ppid,
        comm,
        state,
        start_time,
    })
}

pub fn read_stat(pid: i32) -> io::Result<ProcEntry> {
    let text = fs::read(format!("/proc/{pid}/stat"))?;
    parse_stat(&text).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unparsable /proc stat"))
}

/// Whether /proc belongs to pidone's PID namespace. Under `unshare --pid` without a fresh
/// /proc mount it shows the host's processes, which pidone must never signal.
pub fn is_own_procfs() -> bool {
    fs::read_link("/proc/self")
        .is_ok_and(|target| target.as_os_str().as_encoded_bytes() == getpid().to_string().as_bytes())
}

/// Every live process in /proc (races with exits are skipped, not errors).
pub fn all_processes() -> io::Result<Vec<ProcEntry>> {
    let mut procs = Vec::new();
    for entry in fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        match read_stat(pid) {
            Ok(p) => procs.push(p),
            // Out of descriptors or memory: skipping would list nothing, which reads as
            // "nothing left" while processes are (pidone then made a KILL pass every second
            // for ever). Failing the listing sends the caller to its no-/proc fallback.
            Err(err)
                if matches!(
                    err.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM)
                ) =>
            {
                return Err(err);
            }
            Err(_) => {}
        }
    }
    Ok(procs)
}

/// Live processes below `root` in `procs`: with `everyone` (pidone is PID 1), every process
/// but `root`; otherwise those whose parent chain leads to `root`.
pub fn descendants_in(procs: &[ProcEntry], root: i32, everyone: bool) -> Vec<ProcEntry> {
    let mut found: Vec<ProcEntry> = if everyone {
        procs.iter().filter(|p| p.pid != root).cloned().collect()
    } else {
        let mut children: HashMap<i32, Vec<&ProcEntry>> = HashMap::new();
        for p in procs {
            children.entry(p.ppid).or_default().push(p);
        }
        let mut seen: HashSet<i32> = HashSet::from([root]);
        let mut found = Vec::new();
        let mut frontier = vec![root];
        while let Some(parent) = frontier.pop() {
            for &p in children.get(&parent).into_iter().flatten() {
                if seen.insert(p.pid) {
                    frontier.push(p.pid);
                    found.push(p.clone());
                }
            }
        }
        found
    };
    found.retain(|p| !p.is_dead());
    found.sort_by_key(|p| p.pid);
    found
}

/// Live descendants of pidone; an error when /proc is missing, unreadable or not ours.
pub fn descendants(everyone: bool) -> io::Result<Vec<ProcEntry>> {
    if !is_own_procfs() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "/proc is missing or belongs to another PID namespace",
        ));
    }
    Ok(descendants_in(&all_processes()?, getpid(), everyone))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pid: i32, ppid: i32, state: u8) -> ProcEntry {
        ProcEntry {
            pid,
            ppid,
            comm: format!("p{pid}"),
            state,
            start_time: 0,
        }
    }

    #[test]
    fn parses_stat_with_awkward_names() {
        let line = b"42 (a) b (c)) S 7 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 1000 10 0\n";
        let p = parse_stat(line).unwrap();
        assert_eq!((p.pid, p.ppid, p.state, p.start_time), (42, 7, b'S', 12345));
        assert_eq!(p.comm, "a) b (c)");
        assert!(parse_stat(b"garbage").is_none());
        assert!(parse_stat(b"1 (x) S").is_none());
    }

    #[test]
    fn reads_our_own_stat() {
        let me = read_stat(getpid()).unwrap();
        assert_eq!(me.pid, getpid());
        assert!(me.start_time > 0);
    }

    #[test]
    fn descendants_follow_the_parent_chain_and_skip_zombies() {
        let procs = vec![
            entry(1, 0, b'S'),
            entry(10, 1, b'S'),
            entry(11, 10, b'S'),
            entry(12, 11, b'R'),
            entry(13, 10, b'Z'),
            entry(20, 1, b'S'),
            entry(30, 20, b'S'),
        ];
        let pids = |v: Vec<ProcEntry>| v.iter().map(|p| p.pid).collect::<Vec<_>>();
        assert_eq!(pids(descendants_in(&procs, 10, false)), vec![11, 12]);
        assert_eq!(pids(descendants_in(&procs, 1, true)), vec![10, 11, 12, 20, 30]);
        assert_eq!(pids(descendants_in(&procs, 99, false)), Vec::<i32>::new());
    }
}
