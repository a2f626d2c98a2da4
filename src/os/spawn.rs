//! Starting the command (SPEC §2.5–§2.7): fork, child set-up, exec, and the exec-error pipe.

use super::signals::SignalState;
use super::{StdFd, errno_text, pidfd_open, retry, std_fd, write_all};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{ForkResult, Pid, fork, getpgrp, isatty, pipe2, setpgid, tcsetpgrp};
use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;

/// The main child, once forked.
pub struct Spawned {
    pub pid: i32,
    /// A pidfd for the child, where the kernel supports it: signals through it can not hit a
    /// recycled pid.
    pub pidfd: Option<OwnedFd>,
    /// Set when the child could not exec; it has then exited with [`SpawnFailure::exit_code`].
    pub failure: Option<SpawnFailure>,
}

/// Which step of the child's set-up failed, and the errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnFailure {
    Exec(i32),
    Terminal(i32),
    Signals(i32),
}

impl SpawnFailure {
    /// 127 when not found, 126 when not executable, 1 otherwise (SPEC §2.7, as shells do).
    pub fn exit_code(self) -> i32 {
        match self {
            SpawnFailure::Exec(libc::ENOENT) => 127,
            SpawnFailure::Exec(libc::EACCES | libc::ENOEXEC) => 126,
            _ => 1,
        }
    }

    fn encode(self) -> [u8; 5] {
        let (tag, errno) = match self {
            SpawnFailure::Exec(e) => (b'e', e),
            SpawnFailure::Terminal(e) => (b't', e),
            SpawnFailure::Signals(e) => (b's', e),
        };
        let mut out = [tag, 0, 0, 0, 0];
        out[1..].copy_from_slice(&errno.to_ne_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<SpawnFailure> {
        let errno = i32::from_ne_bytes(bytes.get(1..5)?.try_into().ok()?);
        match bytes.first()? {
            b'e' => Some(SpawnFailure::Exec(errno)),
            b't' => Some(SpawnFailure::Terminal(errno)),
            b's' => Some(SpawnFailure::Signals(errno)),
            _ => None,
        }
    }

    /// The one-line message for stderr.
    pub fn message(self, command: &OsString) -> String {
        // Escaped: a command name with a newline must not split the message.
        let name = crate::cli::escape_controls(&command.to_string_lossy());
        match self {
            SpawnFailure::Exec(e) => format!("cannot run '{name}': {}", errno_text(e)),
            SpawnFailure::Terminal(e) => {
                format!("cannot give the terminal to '{name}': {}", errno_text(e))
            }
            SpawnFailure::Signals(e) => {
                format!("cannot restore signal settings for '{name}': {}", errno_text(e))
            }
        }
    }
}

fn to_cstrings(command: &[OsString]) -> io::Result<Vec<CString>> {
    command
        .iter()
        .map(|arg| {
            CString::new(arg.as_bytes())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "an argument contains a NUL byte"))
        })
        .collect()
}

/// Forks and execs `command`. Errors are pidone's own (fork, pipe); an exec failure comes
/// back as `Spawned::failure` after the child has exited with its code.
pub fn spawn(command: &[OsString], signals: &SignalState) -> io::Result<Spawned> {
    // Everything the child needs is prepared before fork: it must not allocate.
    let args = to_cstrings(command)?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let (err_read, err_write) = pipe2(OFlag::O_CLOEXEC)?;

    // SAFETY: pidone is single-threaded, and the child only makes async-signal-safe calls
    // before exec or _exit.
    let pid = match unsafe { fork() }? {
        ForkResult::Parent { child } => child,
        ForkResult::Child => {
            let failure = child_setup(signals, &argv);
            let _ = write_all(&err_write, &failure.encode());
            // SAFETY: leaving the forked copy without running destructors or atexit handlers
            // that belong to the parent's state (nix has no `_exit`).
            unsafe { libc::_exit(failure.exit_code()) }
        }
    };

    // Also from the parent, so a signal to the group can not race the child's own setpgid.
    // EACCES (already exec'd) and ESRCH are fine: the child did it itself.
    let _ = setpgid(pid, pid);
    let pidfd = pidfd_open(pid.as_raw())
        .inspect_err(|err| log::debug!("pidfd_open failed ({err}); signalling by pid"))
        .ok();
    drop(err_write);
    let failure = read_failure(&err_read)?;
    Ok(Spawned {
        pid: pid.as_raw(),
        pidfd,
        failure,
    })
}

/// Reads the child's report: nothing (EOF at exec) means success.
fn read_failure(fd: &OwnedFd) -> io::Result<Option<SpawnFailure>> {
    let mut buf = [0u8; 5];
    let mut len = 0;
    while len < buf.len() {
        let n = retry(|| nix::unistd::read(fd, &mut buf[len..]))?;
        if n == 0 {
            break;
        }
        len += n;
    }
    Ok(if len == 0 {
        None
    } else {
        SpawnFailure::decode(&buf[..len])
    })
}

/// The child's side: own process group, the terminal, original signals, exec.
/// Returns only on failure.
fn child_setup(signals: &SignalState, argv: &[*const libc::c_char]) -> SpawnFailure {
    let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
    let stdin = std_fd(StdFd::In);
    if isatty(stdin).unwrap_or(false) {
        match tcsetpgrp(stdin, getpgrp()) {
            Ok(()) | Err(Errno::ENOTTY | Errno::ENXIO) => {}
            Err(errno) => return SpawnFailure::Terminal(errno as i32),
        }
    }
    if let Err(e) = signals.restore_in_child() {
        return SpawnFailure::Signals(e.raw_os_error().unwrap_or(libc::EINVAL));
    }
    // Raw execvp: nix's allocates the argument array, and this is after fork.
    // SAFETY: argv is a null-terminated array of pointers to NUL-terminated strings that
    // outlive the call.
    unsafe { libc::execvp(argv[0], argv.as_ptr()) };
    SpawnFailure::Exec(Errno::last_raw())
}
