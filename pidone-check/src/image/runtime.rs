//! The container runtime's CLI (podman, docker, or podman-docker's `docker`): the only I/O of
//! image mode besides /proc. Runs commands and returns what they said; decides nothing.
//! Only `image inspect`, `pull` (on request), `run -d`, `inspect`, `logs`, `healthcheck run`
//! (podman), `stop` and `rm` are used, so one code path serves both runtimes.

use crate::cancel::Cancel;
use crate::options::ImageConfig;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a runtime command other than `stop` may take before it counts as hung.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a pull is checked for its end (a cancel wakes the wait at once).
const PULL_POLL: Duration = Duration::from_millis(100);
/// How long a cancelled pull may clean up after SIGTERM: CI systems kill a cancelled job
/// about 10 s after asking it to stop (GitHub Actions: SIGINT, 7.5 s, SIGTERM, 2.5 s, SIGKILL).
const PULL_STOP_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct Runtime {
    pub program: PathBuf,
    /// As the user named it (`podman`, `/usr/bin/docker`), for the report.
    pub name: String,
    /// podman, or docker emulated by podman (podman-docker): `rm -t`, `healthcheck run`.
    pub is_podman: bool,
}

/// What a finished command said.
#[derive(Clone, Debug)]
pub struct Output {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The runtime's own message, in one line: the `Error: ...` line if there is one, else
    /// the last line that is not podman's log noise.
    pub fn message(&self) -> String {
        message_of(&self.stderr, self.status)
    }
}

/// The line of a runtime's stderr that says what went wrong (pure).
pub fn message_of(stderr: &str, status: Option<ExitStatus>) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let noise = |l: &&&str| l.starts_with("time=") || l.starts_with("Emulate Docker CLI");
    let line = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("Error") || l.starts_with("error"))
        .or_else(|| lines.iter().rev().find(|l| !noise(l)))
        .or(lines.last());
    match (line, status) {
        (Some(l), _) => l.strip_prefix("Error: ").unwrap_or(l).to_owned(),
        (None, Some(s)) => format!("it failed without a message ({s})"),
        (None, None) => "it did not answer in time".to_owned(),
    }
}

/// Finds `name` on `path` (a PATH value): an executable regular file.
fn search(name: &OsStr, path: &OsStr) -> Option<PathBuf> {
    path.as_bytes()
        .split(|&b| b == b':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(OsStr::from_bytes(d)).join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Runtime {
    /// `--runtime` / `PIDONE_CHECK_RUNTIME` (a path, or a name looked up on `path`), else
    /// podman if on PATH, else docker. Then asks it for its version, which also says whether
    /// it is podman underneath.
    pub fn resolve(choice: Option<&OsStr>, path: &OsStr) -> Result<Runtime, String> {
        let (program, name) = match choice {
            Some(c) if c.as_bytes().contains(&b'/') => {
                let p = PathBuf::from(c);
                let shown = p.display().to_string();
                match std::fs::metadata(&p) {
                    Err(e) => return Err(format!("container runtime '{shown}': {}", io_text(&e))),
                    Ok(m) if !m.is_file() => {
                        return Err(format!("container runtime '{shown}' is not a file"));
                    }
                    Ok(_) if !is_executable(&p) => {
                        return Err(format!("container runtime '{shown}' is not executable"));
                    }
                    Ok(_) => {}
                }
                (p, shown)
            }
            Some(c) => {
                let shown = c.to_string_lossy().into_owned();
                let p = search(c, path).ok_or_else(|| {
                    format!("container runtime '{shown}' not found on PATH (use --runtime PATH)")
                })?;
                (p, shown)
            }
            None => ["podman", "docker"]
                .iter()
                .find_map(|n| search(OsStr::new(n), path).map(|p| (p, (*n).to_owned())))
                .ok_or(
                    "no container runtime found: neither podman nor docker is on PATH (use --runtime PATH)",
                )?,
        };
        let mut rt = Runtime {
            program,
            name,
            is_podman: false,
        };
        let v = rt.exec(&["--version"], Duration::from_secs(30));
        if !v.ok() {
            return Err(format!(
                "container runtime '{}' does not work: {}",
                rt.name,
                v.message()
            ));
        }
        rt.is_podman = v.stdout.to_ascii_lowercase().contains("podman");
        Ok(rt)
    }

    fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut c = Command::new(&self.program);
        c.args(args).stdin(Stdio::null());
        c
    }

    /// Runs a command to completion (or `timeout`, then kills it), capturing its output.
    pub fn exec<S: AsRef<OsStr>>(&self, args: &[S], timeout: Duration) -> Output {
        let child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match child {
            Ok(child) => finish(child, timeout),
            Err(e) => Output {
                status: None,
                stdout: String::new(),
                stderr: format!("cannot run {}: {}", self.program.display(), io_text(&e)),
            },
        }
    }

    /// `image inspect`: the JSON, or None when the image is not present locally.
    pub fn inspect_image(&self, image: &str) -> Result<Option<String>, String> {
        let out = self.exec(&["image", "inspect", image], COMMAND_TIMEOUT);
        if out.ok() {
            return Ok(Some(out.stdout));
        }
        let text = out.stderr.to_ascii_lowercase();
        if ["no such image", "image not known", "not found", "no such object"]
            .iter()
            .any(|n| text.contains(n))
        {
            return Ok(None);
        }
        Err(format!(
            "{} image inspect {image} failed: {}",
            self.name,
            out.message()
        ))
    }

    /// `pull IMAGE` (only with --pull); its progress goes to pidone-check's stderr. A pull
    /// can take minutes, longer than a CI job's cancel waits before it kills: a cancel stops
    /// it (SIGTERM, so the runtime cleans up its partial layers; SIGKILL after
    /// [`PULL_STOP_WAIT`]) and returns as soon as it is gone.
    pub fn pull(&self, image: &str, cancel: &Cancel) -> Result<(), String> {
        let stopped = || format!("{} pull {image} stopped: pidone-check was cancelled", self.name);
        if cancel.is_cancelled() {
            return Err(stopped());
        }
        let mut child = self
            .command(&["pull", image])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run {}: {}", self.program.display(), io_text(&e)))?;
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(format!("{} pull {image} failed ({status})", self.name)),
                Ok(None) => {}
                Err(e) => {
                    return Err(format!(
                        "{} pull {image}: cannot wait for it: {}",
                        self.name,
                        io_text(&e)
                    ));
                }
            }
            if cancel.sleep(PULL_POLL) {
                stop(&mut child, PULL_STOP_WAIT);
                return Err(stopped());
            }
        }
    }

    /// `run -d --name NAME [--env K=V]... [--network N] IMAGE [ARGS...]`. Err: the runtime's
    /// own message.
    pub fn run(&self, name: &str, cfg: &ImageConfig) -> Result<(), String> {
        // --pull=never: the image was found locally a moment ago; should it vanish meanwhile,
        // the run fails instead of pulling behind the user's back.
        let mut args: Vec<OsString> = vec![
            "run".into(),
            "-d".into(),
            "--pull=never".into(),
            "--name".into(),
            name.into(),
        ];
        for e in &cfg.env {
            args.push("--env".into());
            args.push(e.into());
        }
        if let Some(n) = &cfg.network {
            args.push("--network".into());
            args.push(n.into());
        }
        args.push(cfg.image.clone().into());
        args.extend(cfg.args.iter().cloned());
        let out = self.exec(&args, COMMAND_TIMEOUT);
        if out.ok() { Ok(()) } else { Err(out.message()) }
    }

    /// `inspect` of the container: host pid of its PID 1 (0 when not running), running,
    /// exit code.
    pub fn state(&self, name: &str) -> Result<State, String> {
        let out = self.exec(
            &[
                "inspect",
                "--format",
                "{{.State.Pid}} {{.State.Running}} {{.State.ExitCode}}",
                name,
            ],
            COMMAND_TIMEOUT,
        );
        if !out.ok() {
            return Err(out.message());
        }
        State::parse(&out.stdout).ok_or_else(|| format!("unexpected inspect output: {:?}", out.stdout.trim()))
    }

    /// Whether the container's HEALTHCHECK says healthy. podman without systemd never runs
    /// the check on its own, so with podman it is run here (`healthcheck run`, exit 0 =
    /// healthy); docker's status is read.
    pub fn healthy(&self, name: &str) -> bool {
        if self.is_podman {
            return self.exec(&["healthcheck", "run", name], COMMAND_TIMEOUT).ok();
        }
        let out = self.exec(
            &[
                "inspect",
                "--format",
                "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
                name,
            ],
            COMMAND_TIMEOUT,
        );
        out.ok() && out.stdout.trim() == "healthy"
    }

    /// Starts `stop -t SECS NAME`; its stderr is piped (podman says there when it had to
    /// resort to SIGKILL).
    pub fn start_stop(&self, name: &str, secs: u64) -> std::io::Result<Child> {
        self.command(&["stop", "-t", &secs.to_string(), name])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
    }

    /// `rm -f` at once: podman waits its stop timeout first unless told `-t 0`; docker's
    /// `rm -f` kills at once.
    pub fn remove(&self, name: &str) -> Output {
        let args: &[&str] = if self.is_podman {
            &["rm", "-f", "-t", "0", name]
        } else {
            &["rm", "-f", name]
        };
        self.exec(args, COMMAND_TIMEOUT)
    }

    /// `logs -f NAME`: the container's stdout and stderr, chunk by chunk, on a channel.
    pub fn follow_logs(&self, name: &str) -> std::io::Result<(Child, mpsc::Receiver<Vec<u8>>)> {
        let (reader, writer) = std::io::pipe()?;
        let child = self
            .command(&["logs", "-f", name])
            .stdout(writer.try_clone()?)
            .stderr(writer)
            .spawn()?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new().name("logs".into()).spawn(move || {
            let mut reader = reader;
            let mut buf = [0u8; 16384];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        })?;
        Ok((child, rx))
    }
}

/// Waits for a child (up to `timeout`, then kills it) and collects its output.
pub fn finish(mut child: Child, timeout: Duration) -> Output {
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        // Builder, not thread::spawn: no thread to be had (a CI container at its pids limit)
        // is an empty output, never a panic that would leave the container behind.
        std::thread::Builder::new()
            .spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut bytes);
                }
                String::from_utf8_lossy(&bytes).into_owned()
            })
            .ok()
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let status = wait_or_kill(&mut child, timeout);
    Output {
        status,
        stdout: out.and_then(|t| t.join().ok()).unwrap_or_default(),
        stderr: err.and_then(|t| t.join().ok()).unwrap_or_default(),
    }
}

/// Waits for a child of ours up to `timeout`, then SIGKILLs it; reaps it either way. None:
/// it had to be killed (or could not be waited for).
fn wait_or_kill(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// SIGTERM to a child of ours, then SIGKILL if it is still there after `wait`; reaps it.
/// (Its pid can not be reused before the reap.)
fn stop(child: &mut Child, wait: Duration) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
    }
    wait_or_kill(child, wait);
}

/// The container's state, from `inspect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    pub pid: i32,
    pub running: bool,
    pub exit_code: i32,
}

impl State {
    pub fn parse(text: &str) -> Option<State> {
        let mut words = text.split_whitespace();
        let pid = words.next()?.parse().ok()?;
        let running = words.next()? == "true";
        let exit_code = words.next()?.parse().ok()?;
        Some(State {
            pid,
            running,
            exit_code,
        })
    }
}

fn io_text(e: &std::io::Error) -> &'static str {
    nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)).desc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_s_message_is_its_error_line() {
        let podman = "time=\"x\" level=error msg=\"unable to get systemd connection\"\n\
                      Error: runc: runc create failed: exec: \"/app\": no such file or directory\n";
        assert_eq!(
            message_of(podman, None),
            "runc: runc create failed: exec: \"/app\": no such file or directory"
        );
        let emulated = "Emulate Docker CLI using podman. Create /etc/containers/nodocker to quiet msg.\n\
                        Error: x: image not known\n";
        assert_eq!(message_of(emulated, None), "x: image not known");
        assert_eq!(
            message_of(
                "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n",
                None
            ),
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
        );
        assert_eq!(message_of("", None), "it did not answer in time");
    }

    #[test]
    fn inspect_state() {
        assert_eq!(
            State::parse("1234 true 0\n"),
            Some(State {
                pid: 1234,
                running: true,
                exit_code: 0
            })
        );
        assert_eq!(State::parse("0 false 137").map(|s| s.exit_code), Some(137));
        assert_eq!(State::parse("<no value>"), None);
    }

    #[test]
    fn runtimes_are_found_or_refused_in_one_line() {
        let empty = OsStr::new("/nonexistent-dir");
        let err = Runtime::resolve(None, empty).unwrap_err();
        assert!(err.starts_with("no container runtime found"), "{err}");
        let err = Runtime::resolve(Some(OsStr::new("podman")), empty).unwrap_err();
        assert_eq!(
            err,
            "container runtime 'podman' not found on PATH (use --runtime PATH)"
        );
        let err = Runtime::resolve(Some(OsStr::new("/nonexistent/podman")), empty).unwrap_err();
        assert_eq!(
            err,
            "container runtime '/nonexistent/podman': No such file or directory"
        );
        let plain = std::env::temp_dir().join(format!("pidone-check-runtime-{}", std::process::id()));
        std::fs::write(&plain, b"").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Runtime::resolve(Some(plain.as_os_str()), empty).unwrap_err();
        std::fs::remove_file(&plain).unwrap();
        assert_eq!(
            err,
            format!("container runtime '{}' is not executable", plain.display())
        );
        let err = Runtime::resolve(Some(OsStr::new("/tmp")), empty).unwrap_err();
        assert_eq!(err, "container runtime '/tmp' is not a file");
    }
}
