//! Watches a container from the host's /proc while it runs: its PID 1 (by host pid, from the
//! runtime's `inspect`) and every descendant. Gathers numbers, decides nothing; the one rule
//! here ("a zombie counts when two samples in a row see it") is a pure function.
//!
//! The tree is walked through `/proc/PID/task/TID/children`, so a sample reads only the
//! container's own processes, not every process of the host.

use pidone::os::procfs::{self, ProcEntry};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the watcher samples (SPEC §6b: at most 100 ms).
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

/// A process, as identified across samples (a pid alone can be reused).
pub type Key = (i32, u64);

/// One look at the container's processes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    pub processes: u32,
    pub zombies: Vec<Key>,
}

/// What the watcher saw over the whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Watched {
    pub samples: u32,
    pub max_processes: u32,
    /// The most zombies seen in two samples in a row.
    pub max_zombies: u32,
}

/// Zombies in `now` that `before` saw too (one reaped promptly is no leak).
pub fn lasting_zombies(before: &[Key], now: &[Key]) -> u32 {
    now.iter().filter(|z| before.contains(z)).count() as u32
}

impl Watched {
    /// Adds a sample, given the previous one.
    pub fn add(&mut self, before: Option<&Sample>, now: &Sample) {
        self.samples += 1;
        self.max_processes = self.max_processes.max(now.processes);
        if let Some(before) = before {
            self.max_zombies = self
                .max_zombies
                .max(lasting_zombies(&before.zombies, &now.zombies));
        }
    }
}

/// The identity of `pid` now, if it is alive (a zombie counts as gone: it has exited).
pub fn alive(pid: i32, start_time: u64) -> bool {
    procfs::read_stat(pid).is_ok_and(|p| p.start_time == start_time && p.state != b'Z')
}

/// The container's PID 1 as the host sees it.
pub fn root(pid: i32) -> Option<ProcEntry> {
    procfs::read_stat(pid).ok()
}

/// Whether `pid` is the first process of a PID namespace below the one pidone-check sees
/// /proc from, as a container's PID 1 is: its `NSpid` line (pids from the outermost namespace
/// in, kernel 4.1+) has two or more entries, the last 1. None when that cannot be read.
pub fn is_namespace_init(pid: i32) -> Option<bool> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    nspid_is_namespace_init(&status)
}

/// [`is_namespace_init`] on the text of a `status` file (pure).
fn nspid_is_namespace_init(status: &str) -> Option<bool> {
    let line = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    let pids: Vec<&str> = line.split_whitespace().collect();
    Some(pids.len() >= 2 && pids.last() == Some(&"1"))
}

/// The children of `pid`, from every one of its threads.
fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let mut path = task.path();
        path.push("children");
        if let Ok(text) = std::fs::read_to_string(&path) {
            out.extend(text.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    out
}

/// Samples the tree under `root` (identified by its start time). None when the root is gone.
pub fn sample(root: Key) -> Option<Sample> {
    let top = procfs::read_stat(root.0)
        .ok()
        // A PID 1 that has exited and waits for the runtime to reap it is the end of the
        // container, not a zombie it leaks.
        .filter(|p| p.start_time == root.1 && p.state != b'Z')?;
    let mut s = Sample::default();
    let mut seen = HashSet::new();
    let mut queue = vec![top];
    while let Some(p) = queue.pop() {
        if !seen.insert(p.pid) {
            continue;
        }
        s.processes += 1;
        if p.state == b'Z' {
            s.zombies.push((p.pid, p.start_time));
            continue;
        }
        for child in children(p.pid) {
            if let Ok(c) = procfs::read_stat(child) {
                queue.push(c);
            }
        }
    }
    Some(s)
}

/// A sampling thread: samples every [`SAMPLE_INTERVAL`] until stopped or the root is gone.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Watched>,
}

impl Watcher {
    pub fn start(root: Key) -> std::io::Result<Watcher> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("watcher".into())
            .spawn(move || {
                let mut watched = Watched::default();
                let mut before: Option<Sample> = None;
                while !flag.load(Ordering::SeqCst) {
                    let Some(now) = sample(root) else { break };
                    watched.add(before.as_ref(), &now);
                    before = Some(now);
                    std::thread::park_timeout(SAMPLE_INTERVAL);
                }
                watched
            })?;
        Ok(Watcher { stop, thread })
    }

    /// Stops the thread and returns what it saw.
    pub fn finish(self) -> Watched {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.thread().unpark();
        self.thread.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zombie_counts_only_when_two_samples_in_a_row_see_it() {
        let s = |procs, zombies: &[Key]| Sample {
            processes: procs,
            zombies: zombies.to_vec(),
        };
        let mut w = Watched::default();
        let samples = [
            s(3, &[(10, 1)]), // reaped before the next sample: no leak
            s(2, &[]),
            s(5, &[(11, 1), (12, 1)]), // these two stay
            s(5, &[(11, 1), (12, 1), (13, 1)]),
            s(4, &[(12, 1), (13, 2)]), // 13 is another process now (start time)
        ];
        let mut before: Option<&Sample> = None;
        for now in &samples {
            w.add(before, now);
            before = Some(now);
        }
        assert_eq!(
            w,
            Watched {
                samples: 5,
                max_processes: 5,
                max_zombies: 2
            }
        );
    }

    #[test]
    fn samples_this_process_tree() {
        let me = procfs::read_stat(std::process::id() as i32).unwrap();
        let mut child = std::process::Command::new("sleep").arg("10").spawn().unwrap();
        let s = sample((me.pid, me.start_time)).unwrap();
        assert!(s.processes >= 2, "{s:?}");
        assert!(alive(me.pid, me.start_time));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            sample((me.pid, me.start_time + 1)).is_none(),
            "another start time: gone"
        );
    }

    #[test]
    fn a_containers_pid_1_is_the_init_of_a_namespace_below() {
        let status = |nspid: &str| format!("Name:\tpidone\nTgid:\t4242\nNSpid:{nspid}\nPPid:\t1\n");
        assert_eq!(nspid_is_namespace_init(&status("\t4242\t1")), Some(true));
        assert_eq!(nspid_is_namespace_init(&status("\t4242\t77\t1")), Some(true));
        // The host's own PID 1 (or any process of the host's namespace).
        assert_eq!(nspid_is_namespace_init(&status("\t1")), Some(false));
        assert_eq!(nspid_is_namespace_init(&status("\t4242")), Some(false));
        // A process inside a container, not its first.
        assert_eq!(nspid_is_namespace_init(&status("\t4243\t2")), Some(false));
        assert_eq!(nspid_is_namespace_init("Name:\told-kernel\n"), None);
        let me = std::process::id() as i32;
        assert_eq!(
            is_namespace_init(me),
            Some(false),
            "the test itself is no container init"
        );
    }
}
