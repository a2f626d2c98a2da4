//! Starting the command (SPEC §2.5–§2.7): posix_spawn where it can, else fork, child set-up,
//! exec, and the exec-error pipe.

use super::signals::SignalState;
use super::{StdFd, errno_text, error_text, pidfd_open, retry, std_fd, write_all};
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

/// Starts `command`. Errors are pidone's own (fork, pipe); an exec failure comes back as
/// `Spawned::failure` after the child has exited with its code.
pub fn spawn(command: &[OsString], signals: &SignalState) -> io::Result<Spawned> {
    // Everything the child needs is prepared before fork: it must not allocate.
    let args = to_cstrings(command)?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let (pid, failure) = match spawn_posix(&argv, signals) {
        Some(pid) => (pid, None),
        None => spawn_fork(&argv, signals)?,
    };
    // After a failed exec too: the child is a zombie until pidone reaps it, so the pidfd is
    // still its own.
    let pidfd = pidfd_open(pid)
        .inspect_err(|err| log::debug!("pidfd_open failed ({}); signalling by pid", error_text(err)))
        .ok();
    Ok(Spawned { pid, pidfd, failure })
}

unsafe extern "C" {
    /// The process's environment, which the command inherits as it is.
    static environ: *const *mut libc::c_char;
}

/// The fast way to start the command, when it can give the child exactly what the fork path
/// does: glibc's posix_spawn shares pidone's memory with the child until exec (`CLONE_VM |
/// CLONE_VFORK`) instead of copying it, so the child takes no page faults on pidone's pages,
/// and reports a failed exec itself (no error pipe). That saved about 40 µs of start-up CPU
/// and 7 page faults (BENCHMARKS.md, "Code layout"). `None` sends the caller to the fork path:
/// stdin is a terminal (the child must take the foreground), an inherited SIG_IGN must be
/// restored, the inherited mask holds glibc's reserved signals 32/33 (glibc's sigprocmask
/// drops them), or posix_spawn failed: then the fork path tries again and reports the failure
/// its own way, with execvp's /bin/sh fallback for ENOEXEC and the child's exit status (glibc
/// reaps a child that failed to exec).
fn spawn_posix(argv: &[*const libc::c_char], signals: &SignalState) -> Option<i32> {
    if isatty(std_fd(StdFd::In)).unwrap_or(true) {
        return None;
    }
    let (mask, defaults) = signals.for_posix_spawn()?;
    let mut defaults = *defaults.as_ref();
    let flags = libc::POSIX_SPAWN_SETPGROUP | libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
    let mut pid: libc::pid_t = 0;
    // SAFETY: `attr` is initialised before use and destroyed after; `mask`, `defaults`, `argv`
    // (null-terminated, of NUL-terminated strings) and `environ` (the C library's own) outlive
    // the call; the u64 reads and write are of the kernel-mask word glibc's sigset_t starts
    // with.
    let spawned = unsafe {
        let reserved = (1u64 << 31) | (1 << 32);
        if (std::ptr::from_ref(mask).cast::<u64>().read() & reserved) != 0 {
            return None;
        }
        // glibc's spawned child sets its reserved signals to SIG_IGN while it sets up, and an
        // ignored signal stays ignored across exec: ask for SIG_DFL (sigaddset refuses them).
        let word = (&raw mut defaults).cast::<u64>();
        word.write(word.read() | reserved);
        let mut attr = std::mem::MaybeUninit::<libc::posix_spawnattr_t>::uninit();
        if libc::posix_spawnattr_init(attr.as_mut_ptr()) != 0 {
            return None;
        }
        let mut attr = attr.assume_init();
        let set_up = libc::posix_spawnattr_setflags(&mut attr, flags as libc::c_short) == 0
            && libc::posix_spawnattr_setpgroup(&mut attr, 0) == 0
            && libc::posix_spawnattr_setsigmask(&mut attr, mask) == 0
            && libc::posix_spawnattr_setsigdefault(&mut attr, &defaults) == 0;
        let ret = if set_up {
            libc::posix_spawnp(
                &mut pid,
                argv[0],
                std::ptr::null(),
                &attr,
                argv.as_ptr().cast(),
                environ,
            )
        } else {
            -1
        };
        libc::posix_spawnattr_destroy(&mut attr);
        ret == 0
    };
    spawned.then_some(pid)
}

/// The general way: fork, set up in the child, exec; an exec error comes back through a pipe.
/// Returns the child's pid, and how it failed if it did (it has then exited with its code).
fn spawn_fork(
    argv: &[*const libc::c_char],
    signals: &SignalState,
) -> io::Result<(i32, Option<SpawnFailure>)> {
    let (err_read, err_write) = pipe2(OFlag::O_CLOEXEC)?;

    // SAFETY: pidone is single-threaded, and the child only makes async-signal-safe calls
    // before exec or _exit.
    let pid = match unsafe { fork() }? {
        ForkResult::Parent { child } => child,
        ForkResult::Child => {
            let failure = child_setup(signals, argv);
            let _ = write_all(&err_write, &failure.encode());
            // SAFETY: leaving the forked copy without running destructors or atexit handlers
            // that belong to the parent's state (nix has no `_exit`).
            unsafe { libc::_exit(failure.exit_code()) }
        }
    };

    // Also from the parent, so a signal to the group can not race the child's own setpgid.
    // EACCES (already exec'd) and ESRCH are fine: the child did it itself.
    let _ = setpgid(pid, pid);
    drop(err_write);
    let failure = read_failure(&err_read)?;
    Ok((pid.as_raw(), failure))
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
