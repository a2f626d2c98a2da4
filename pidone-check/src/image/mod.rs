//! Image mode (SPEC §6b): an image runs unchanged under its container runtime, is stopped by
//! the runtime's own `stop`, watched from the host's /proc, and audited.
//!
//! - `runtime.rs`: the docker/podman CLI (the only I/O besides /proc);
//! - `observe.rs`: the container's processes from the host's /proc (a sampling thread);
//! - `audit.rs`: the rules, pure: image configuration + observations → findings;
//! - this file: one run, step by step, and the whole invocation.
//!
//! The container always goes (`rm -f`, unique name): after a pass, a failure, a timeout, and
//! at once when pidone-check gets SIGINT or SIGTERM.

pub mod audit;
pub mod json;
pub mod observe;
pub mod runtime;

use crate::cancel::Cancel;
use crate::options::{EXIT_FAILED, EXIT_PASSED, EXIT_USAGE, ImageConfig, TcpTarget};
use crate::probe::{Probes, World};
use crate::process::verdict::show_elapsed;
use crate::render::image as report;
use crate::say;
use audit::{Finding, ImageInfo, RunObservation};
use observe::{Key, Watcher};
use runtime::Runtime;
use std::net::TcpStream;
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// How often readiness is checked.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How often the stop is checked for PID 1's exit: the resolution of `stop_ms`.
const STOP_POLL: Duration = Duration::from_millis(5);
/// How long past its own timeout the runtime's `stop` may take before it counts as hung.
const STOP_SLACK: Duration = Duration::from_secs(30);
/// How often podman's `healthcheck run` is invoked while waiting for healthy.
const HEALTH_INTERVAL: Duration = Duration::from_millis(500);
/// One TCP connection attempt inside the container.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);

/// The whole invocation; returns the exit code.
pub fn main(cfg: &ImageConfig) -> i32 {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let rt = match Runtime::resolve(cfg.runtime.as_deref(), &path) {
        Ok(rt) => rt,
        Err(e) => {
            say(&e);
            return EXIT_USAGE;
        }
    };
    let Some(cancel) = crate::install_cancel() else {
        return EXIT_USAGE;
    };
    let info = match image_info(&rt, cfg, &cancel) {
        Ok(info) => info,
        Err(e) => {
            say(&e);
            return cancel.signal().map_or(EXIT_USAGE, crate::cancelled_exit);
        }
    };
    if cfg.ready.health && !info.healthcheck {
        say(&format!(
            "--ready-health: image '{}' has no HEALTHCHECK (an image built in OCI format drops it: build with --format docker)",
            cfg.image
        ));
        return EXIT_USAGE;
    }

    let timestamp = crate::timestamp_now();
    let started = Instant::now();
    let mut runs: Vec<RunObservation> = Vec::new();
    for n in 1..=cfg.repeat {
        let o = run_once(&rt, cfg, n, &cancel);
        if let Some(e) = &o.setup_error {
            say(e);
            return EXIT_USAGE;
        }
        say(&format!(
            "run {n}/{}: {}",
            cfg.repeat,
            report::summary(&o, cfg.runtime_timeout)
        ));
        let cancelled = o.cancelled.is_some();
        runs.push(o);
        if cancelled {
            break;
        }
    }
    let mut findings: Vec<Finding> = Vec::new();
    for (i, o) in runs.iter().enumerate() {
        findings.extend(audit::run_findings(cfg, o, i as u32 + 1, cfg.repeat));
    }
    let pid1: Vec<String> = runs.iter().filter_map(|o| o.pid1.clone()).collect();
    findings.extend(audit::image_findings(&info, !cfg.args.is_empty(), &pid1));

    let ctx = report::Context {
        config: cfg,
        runtime: &rt.name,
        timestamp,
        hostname: crate::hostname(),
        total: started.elapsed(),
    };
    crate::print(&report::render(&ctx, &runs, &findings));
    if let Some(sig) = runs.iter().find_map(|o| o.cancelled) {
        return crate::cancelled_exit(sig);
    }
    if audit::fails(&findings, cfg.fail_on) {
        EXIT_FAILED
    } else {
        EXIT_PASSED
    }
}

/// The image's configuration; never pulls unless `--pull` was given.
fn image_info(rt: &Runtime, cfg: &ImageConfig, cancel: &Cancel) -> Result<ImageInfo, String> {
    let json = match rt.inspect_image(&cfg.image)? {
        Some(json) => json,
        None if cfg.pull => {
            rt.pull(&cfg.image, cancel)?;
            rt.inspect_image(&cfg.image)?
                .ok_or_else(|| format!("image '{}' is still not present after the pull", cfg.image))?
        }
        None => {
            return Err(format!(
                "image '{}' is not present locally; pidone-check never pulls on its own: run `{} pull {}` first, or pass --pull",
                cfg.image, rt.name, cfg.image
            ));
        }
    };
    ImageInfo::from_inspect(&json)
        .map_err(|e| format!("cannot read the configuration of image '{}': {e}", cfg.image))
}

/// The setup error for a container PID 1 this machine's /proc does not show as one.
fn foreign_pid(pid: i32) -> String {
    format!(
        "the runtime says the container's PID 1 is pid {pid}, which this machine's /proc does not show \
         as a container's PID 1: pidone-check --image must run where the containers run and see their \
         processes (not with a remote DOCKER_HOST or CONTAINER_HOST, docker-in-docker, from a container \
         without --pid=host, or with /proc mounted hidepid)"
    )
}

/// Removes the container when dropped, whatever happened.
struct Container<'a> {
    rt: &'a Runtime,
    name: String,
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let out = self.rt.remove(&self.name);
        if !out.ok() {
            say(&format!(
                "warning: could not remove container {}: {}",
                self.name,
                out.message()
            ));
        }
    }
}

/// A child process (`logs -f`, `stop`) that is killed and reaped when dropped.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The probes' view from inside the container.
struct InContainer<'a> {
    rt: &'a Runtime,
    name: &'a str,
    pid: i32,
    last_health: Option<Instant>,
    /// Whether the user was told why the TCP probe can not enter the container.
    told_no_access: bool,
}

impl InContainer<'_> {
    /// Says once why `--ready-tcp` can not work (a non-root user in the docker group, rootless
    /// podman): otherwise the run would only end as `not-ready`, blaming the image.
    fn no_access(&mut self, what: &str, err: &dyn std::fmt::Display) {
        if !self.told_no_access {
            self.told_no_access = true;
            crate::say(&format!(
                "--ready-tcp: cannot {what} of the container's PID 1 ({err}); entering its network \
                 namespace needs root (or CAP_SYS_ADMIN), as rootful podman or docker's daemon run it"
            ));
        }
    }
}

/// Whether `path` exists in the file system whose root is the directory `root`, following
/// symlinks as a process chrooted there would. A plain `root.join(path)` would resolve an
/// absolute symlink in the image (`/app/ready -> /run/app/ready`, common) against the host's
/// `/`, and wrongly find or miss the file: `openat2`'s `RESOLVE_IN_ROOT` keeps every step,
/// `..` and absolute targets included, under `root`. Without `openat2` it is the plain join.
fn exists_in_root(root: &Path, path: &Path) -> bool {
    use nix::errno::Errno;
    use nix::fcntl::{OFlag, OpenHow, ResolveFlag, open, openat2};
    use nix::sys::stat::Mode;

    let inside = path.strip_prefix("/").unwrap_or(path);
    let inside = if inside.as_os_str().is_empty() {
        Path::new(".")
    } else {
        inside
    };
    let Ok(dir) = open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        // The container is gone (or not ours to look into): nothing exists in it.
        return false;
    };
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    match openat2(&dir, inside, how) {
        Ok(_) => true,
        // No openat2: a kernel before 5.6, or a seccomp profile that predates it (Docker's
        // answered EPERM before 20.10).
        Err(Errno::ENOSYS | Errno::EPERM) => root.join(inside).exists(),
        // ENOENT, ENOTDIR, ELOOP, EACCES, or EAGAIN (a rename raced a `..`; the next poll
        // asks again): not there, as `Path::exists` says on any error.
        Err(_) => false,
    }
}

impl World for InContainer<'_> {
    /// Through /proc/PID/root: the container's root file system as its PID 1 sees it.
    fn file_exists(&mut self, path: &Path) -> bool {
        exists_in_root(Path::new(&format!("/proc/{}/root", self.pid)), path)
    }

    /// From a thread that has joined the container's network namespace: no published port
    /// needed, works with `--network none`.
    fn tcp_connects(&mut self, target: &TcpTarget) -> bool {
        let ns = match std::fs::File::open(format!("/proc/{}/ns/net", self.pid)) {
            Ok(ns) => ns,
            Err(err) => {
                if err.kind() == std::io::ErrorKind::PermissionDenied {
                    self.no_access("open the network namespace", &err);
                }
                return false;
            }
        };
        let addrs = target.addrs.clone();
        let probe = std::thread::Builder::new()
            .name("ready-tcp".into())
            .spawn(move || {
                // setns(CLONE_NEWNET) moves only this thread; it ends right after.
                nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).map(|()| {
                    addrs
                        .iter()
                        .any(|a| TcpStream::connect_timeout(a, CONNECT_TIMEOUT).is_ok())
                })
            });
        match probe.map(|t| t.join()) {
            Ok(Ok(Ok(connected))) => connected,
            Ok(Ok(Err(errno))) => {
                if matches!(errno, nix::errno::Errno::EPERM | nix::errno::Errno::EACCES) {
                    self.no_access("join the network namespace", &errno);
                }
                false
            }
            _ => false,
        }
    }

    fn healthy(&mut self) -> bool {
        if self.last_health.is_some_and(|t| t.elapsed() < HEALTH_INTERVAL) {
            return false;
        }
        self.last_health = Some(Instant::now());
        self.rt.healthy(self.name)
    }
}

/// Relays what the container printed (to stderr) and feeds it to the log probes.
fn pump_logs(logs: Option<&Receiver<Vec<u8>>>, probes: &mut Probes) {
    if let Some(rx) = logs {
        while let Ok(chunk) = rx.try_recv() {
            crate::say_raw(&chunk);
            probes.feed(&chunk);
        }
    }
}

/// A name no other run, test or user has.
fn container_name(n: u32) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("pidone-check-{}-{n}-{nanos:09}", std::process::id())
}

/// Waits until `inspect` says the container is no longer running (bounded), for its exit code.
fn exit_code(rt: &Runtime, name: &str) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match rt.state(name) {
            Ok(s) if !s.running => return Some(s.exit_code),
            Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}

/// One run: start, wait for readiness, stop, collect. Never fails: what went wrong is part of
/// the observation (a runtime error is a failed run).
fn run_once(rt: &Runtime, cfg: &ImageConfig, n: u32, cancel: &Cancel) -> RunObservation {
    let mut o = RunObservation::default();
    let name = container_name(n);
    let start = Instant::now();
    if let Some(sig) = cancel.signal() {
        // Cancelled before this run began (during the image's inspection, or between runs).
        o.cancelled = Some(sig);
        return o;
    }
    // Not interrupted by a signal: a half-created container is harder to remove.
    o.run_started = true;
    let started = rt.run(&name, cfg);
    let _container = Container {
        rt,
        name: name.clone(),
    };
    if let Some(sig) = cancel.signal() {
        o.cancelled = Some(sig);
        return o;
    }
    if let Err(message) = started {
        o.start_error = Some(message);
        return o;
    }
    let state = match rt.state(&name) {
        Ok(s) => s,
        Err(message) => {
            o.start_error = Some(format!("inspect failed: {message}"));
            return o;
        }
    };
    let root = (state.pid > 0).then(|| observe::root(state.pid)).flatten();
    // The runtime's pid must name the container's PID 1 here. From a runtime on another
    // machine or in another PID namespace it names some other process, or none, and every
    // observation would be wrong.
    let still_running = || rt.state(&name).is_ok_and(|s| s.running && s.pid == state.pid);
    let Some(root) = root else {
        // Gone before we could look: it exited at once (the runtime may say "running" for a
        // moment after, until it has handled the exit), or the pid is not one of ours.
        let code = exit_code(rt, &name);
        if code.is_none() && state.running && still_running() {
            o.setup_error = Some(foreign_pid(state.pid));
            return o;
        }
        o.exited_early = true;
        o.exit_code = code;
        return o;
    };
    if observe::is_namespace_init(root.pid) == Some(false) && still_running() {
        o.setup_error = Some(foreign_pid(state.pid));
        return o;
    }
    let key: Key = (root.pid, root.start_time);
    o.pid1 = Some(root.comm.clone());
    let watcher = Watcher::start(key).ok();
    let (logs_child, logs) = match rt.follow_logs(&name) {
        Ok((child, rx)) => (Some(Reaped(child)), Some(rx)),
        Err(e) => {
            say(&format!("warning: cannot follow the container's logs: {e}"));
            (None, None)
        }
    };

    // Readiness.
    let mut probes = Probes::new(&cfg.ready);
    let mut world = InContainer {
        rt,
        name: &name,
        pid: root.pid,
        last_health: None,
        told_no_access: false,
    };
    loop {
        pump_logs(logs.as_ref(), &mut probes);
        let elapsed = start.elapsed();
        if probes.check_in(&mut world, elapsed) {
            o.ready = Some(elapsed);
            break;
        }
        if !observe::alive(key.0, key.1) {
            o.exited_early = true;
            break;
        }
        if elapsed >= cfg.ready_timeout {
            o.not_ready = probes.pending_probes();
            break;
        }
        if cancel.sleep(POLL_INTERVAL) {
            break;
        }
    }
    // PID 1 as it is now (a shell may have exec'd the application).
    if let Some(now) = observe::root(key.0).filter(|p| p.start_time == key.1) {
        o.pid1 = Some(now.comm);
    }

    // The stop: the runtime's own, timed until PID 1 has exited.
    if !o.exited_early && !cancel.is_cancelled() {
        say(&format!(
            "run {n}/{}: {}; {} stop -t {}",
            cfg.repeat,
            o.ready.map_or("not ready".to_owned(), |t| format!(
                "ready in {}",
                show_elapsed(t)
            )),
            rt.name,
            cfg.runtime_timeout.as_secs()
        ));
        let t0 = Instant::now();
        match rt.start_stop(&name, cfg.runtime_timeout.as_secs()) {
            Ok(mut child) => {
                let deadline = t0 + cfg.runtime_timeout + STOP_SLACK;
                o.stopped = true;
                loop {
                    if !observe::alive(key.0, key.1) {
                        o.stop = Some(t0.elapsed());
                        break;
                    }
                    if Instant::now() >= deadline {
                        say(&format!(
                            "run {n}/{}: the runtime's stop did not finish; removing the container",
                            cfg.repeat
                        ));
                        break;
                    }
                    if cancel.sleep(STOP_POLL) {
                        break;
                    }
                }
                if cancel.is_cancelled() {
                    let _ = child.kill();
                    let _ = child.wait();
                } else {
                    let out = runtime::finish(child, Duration::from_secs(10));
                    o.runtime_said_kill = out.stderr.contains("resorting to SIGKILL");
                    if !out.ok() {
                        say(&format!(
                            "run {n}/{}: {} stop: {}",
                            cfg.repeat,
                            rt.name,
                            out.message()
                        ));
                    }
                }
            }
            Err(e) => say(&format!("cannot run {} stop: {e}", rt.name)),
        }
    }
    if let Some(sig) = cancel.signal() {
        o.cancelled = Some(sig);
        // The container goes at once (Container's drop); nothing more to wait for.
        drop(logs_child);
        if let Some(w) = watcher {
            w.finish();
        }
        return o;
    }
    o.exit_code = exit_code(rt, &name);

    // The rest of the output: `logs -f` ends when the container has.
    if let Some(mut child) = logs_child {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && matches!(child.0.try_wait(), Ok(None)) {
            pump_logs(logs.as_ref(), &mut probes);
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.0.kill();
        let _ = child.0.wait();
    }
    pump_logs(logs.as_ref(), &mut probes);
    if let Some(w) = watcher {
        let watched = w.finish();
        o.max_processes = watched.max_processes;
        o.max_zombies = watched.max_zombies;
    }
    o
}

#[cfg(test)]
mod tests {
    use super::exists_in_root;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    /// A directory standing for a container's root: symlinks in it resolve inside it, as they
    /// do for the container's processes, never on the host.
    #[test]
    fn ready_files_resolve_symlinks_inside_the_container_root() {
        let root = std::env::temp_dir().join(format!("pidone-check-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("run/app")).unwrap();
        std::fs::write(root.join("run/app/ready"), "").unwrap();
        // Absolute, as images write them: /app/ready -> /run/app/ready.
        std::fs::create_dir_all(root.join("app")).unwrap();
        symlink("/run/app/ready", root.join("app/ready")).unwrap();
        // A target that exists on the host only (the root itself, by its host path).
        symlink(root.join("run/app/ready"), root.join("app/host-path")).unwrap();
        // `..` past the root stays at the root.
        symlink("../../../../../../run/app/ready", root.join("app/dotdot")).unwrap();
        symlink("/nowhere", root.join("app/dangling")).unwrap();

        let exists = |path: &str| exists_in_root(&root, Path::new(path));
        assert!(exists("/run/app/ready"));
        assert!(exists("/app/ready"), "absolute symlink, resolved in the root");
        assert!(exists("/app/dotdot"));
        assert!(exists("/"));
        assert!(
            !exists("/app/host-path"),
            "the host's file is not the container's"
        );
        assert!(!exists("/app/dangling"));
        assert!(!exists("/run/app/missing"));
        assert!(!exists_in_root(&root.join("gone"), Path::new("/run/app/ready")));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
