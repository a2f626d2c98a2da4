//! hard_probe: the misbehaving or inspecting child for the hardening and security tests
//! (tests/hardening.rs, tests/security.rs). std + libc only.
//!
//! `#![no_main]` like pidone: Rust's start-up code would ignore SIGPIPE and install SIGSEGV
//! handlers, and `report` must show exactly what this process inherited.
//!
//! ```text
//! hard_probe report [--out FILE] [ARGS...]   prints (or writes to FILE) what it inherited:
//!     arg HEX / env HEX (byte-exact) / fd N FLAGS TARGET / SigBlk HEX / SigIgn HEX /
//!     SigCgt HEX / pgid N / sid N / ppid N / cwd PATH
//! hard_probe wrap [--nofile N] [--nproc N] [--uid U] [--hide-proc] [--tmpfs DIR]...
//!     [--foreign-proc] [--close-stdio] -- CMD...
//!     sets limits / identity / a /proc pidone can not use, then execs CMD (see `wrap`)
//! hard_probe orphans TOTAL BATCH   makes TOTAL orphans that exit at once, BATCH per
//!     short-lived intermediate process; exits 0 when all were forked
//! hard_probe nproc-orphans COUNT BATCH   makes COUNT orphans through intermediates that each
//!     try BATCH forks without reaping (so a process limit is hit), retrying for up to 30 s;
//!     prints "orphans=N eagain=E"; exit 0, or 1 if it gave up
//! hard_probe storm-target READY DONE SEEN   blocks every signal and records each one it
//!     gets: SEEN holds the set as hex (bit N-1 = signal N), rewritten whenever it grows; on
//!     SIGUSR2 once DONE exists prints "seen HEX" and exits 42
//! hard_probe stop-self SIG READY CODE  creates READY, stops itself with SIG (STOP or TSTP);
//!     once continued prints "resumed" and exits CODE
//! hard_probe close-stdio CODE      closes 0, 1 and 2, leaves an orphan that writes to the
//!     closed descriptors, and exits CODE
//! hard_probe regroup MODE READY    MODE setsid|newgroup|stay: forks a child that calls
//!     setsid(), setpgid(0,0) or nothing, and sleeps; leave: forks a newgroup child and then
//!     moves itself into the child's group. Writes the child's pid to READY; then waits for
//!     SIGTERM (exit 0) or, with MODE ending in "-exit", exits 3 at once
//! hard_probe leave-ignorer PIDFILE [NAME]   writes its pid to PIDFILE, leaves an orphan (named
//!     NAME, default hp-ignorer, in a process group of its own) that ignores SIGTERM; exits 3
//! hard_probe pid-reuse PIDFILE READY MARKER -- CMD...   runs CMD (pidone) as its child; once
//!     the pid in PIDFILE is gone, forks a process that gets that same pid (through
//!     /proc/sys/kernel/ns_last_pid), makes it a process group leader, and records every
//!     signal it receives in MARKER; READY gets "PID" once it runs. Exits with CMD's status.
//! hard_probe exit-when FILE CODE   exits CODE once FILE exists (polled every 5 ms, 60 s max)
//! hard_probe wait-signal READY     blocks everything, creates READY, exits 0 on SIGTERM,
//!     printing every other signal number it got first
//! ```
#![no_main]

use std::ffi::{CStr, CString, OsString, c_char, c_int};
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        die("usage: hard_probe SUBCOMMAND ...");
    };
    let text: Vec<String> = rest.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    match cmd.to_str().unwrap_or("") {
        "report" => report(rest),
        "exit-when" => exit_when(arg(&text, 0), num(&text, 1) as i32),
        "leave-ignorer" => leave_ignorer(arg(&text, 0), text.get(1).map(String::as_str)),
        "pid-reuse" => pid_reuse(&text),
        "wrap" => wrap(rest),
        "orphans" => orphans(num(&text, 0), num(&text, 1)),
        "nproc-orphans" => nproc_orphans(num(&text, 0), num(&text, 1)),
        "storm-target" => storm_target(arg(&text, 0), arg(&text, 1), arg(&text, 2)),
        "stop-self" => stop_self(num(&text, 0) as i32, arg(&text, 1), num(&text, 2) as i32),
        "close-stdio" => close_stdio(num(&text, 0) as i32),
        "regroup" => regroup(arg(&text, 0), arg(&text, 1)),
        "wait-signal" => wait_signal(arg(&text, 0)),
        other => die(&format!("unknown subcommand {other}")),
    }
}

fn die(msg: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "hard_probe: {msg}");
    exit(2)
}

fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    // SAFETY: plain _exit; nothing needs unwinding.
    unsafe { libc::_exit(code) }
}

fn arg(args: &[String], i: usize) -> &str {
    args.get(i)
        .map(String::as_str)
        .unwrap_or_else(|| die("missing argument"))
}

fn num(args: &[String], i: usize) -> u64 {
    arg(args, i).parse().unwrap_or_else(|_| die("bad number"))
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn create(path: &str, text: &str) {
    // Written to a temporary name and renamed, so a reader never sees half a file.
    let tmp = format!("{path}.tmp");
    fs::write(&tmp, text).unwrap_or_else(|e| die(&format!("write {tmp}: {e}")));
    fs::rename(&tmp, path).unwrap_or_else(|e| die(&format!("rename {path}: {e}")));
}

fn fork() -> i32 {
    // SAFETY: this program is single-threaded; children only make plain syscalls.
    unsafe { libc::fork() }
}

/// The kernel signal mask with every signal but KILL and STOP (glibc's sigfillset would leave
/// out 32 and 33).
fn block_everything() -> u64 {
    let full: u64 = !0;
    // SAFETY: valid pointers to u64 masks of the kernel's sigset size.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &full,
            std::ptr::null_mut::<u64>(),
            8usize,
        )
    };
    full
}

/// Waits for one blocked signal (any in `mask`); None after `timeout`.
fn wait_one(mask: u64, timeout: Duration) -> Option<i32> {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    loop {
        // SAFETY: a kernel-sized mask, a null siginfo pointer, a valid timespec.
        let sig = unsafe {
            libc::syscall(
                libc::SYS_rt_sigtimedwait,
                &mask,
                std::ptr::null_mut::<libc::siginfo_t>(),
                &ts,
                8usize,
            )
        };
        if sig > 0 {
            return Some(sig as i32);
        }
        if errno() != libc::EINTR {
            return None;
        }
    }
}

// ---------------------------------------------------------------------------------------------

fn report(args: &[OsString]) -> ! {
    // With --out, the report file's own descriptor is left out of the listing.
    let (sink, own_fd, args): (Box<dyn Write>, c_int, &[OsString]) = match args {
        [flag, path, rest @ ..] if flag == "--out" => {
            let file = fs::File::create(path).unwrap_or_else(|e| die(&format!("--out: {e}")));
            let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
            (Box::new(file), fd, rest)
        }
        _ => (Box::new(std::io::stdout().lock()), -1, args),
    };
    let mut out = std::io::BufWriter::new(sink);
    for a in args {
        let _ = writeln!(out, "arg {}", hex(a.as_bytes()));
    }
    let environ = fs::read("/proc/self/environ").unwrap_or_default();
    for entry in environ.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let _ = writeln!(out, "env {}", hex(entry));
    }
    // Probing each number with F_GETFD opens nothing itself (a /proc/self/fd listing would).
    // SAFETY: a zeroed rlimit is a valid out-parameter.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    for fd in 0..lim.rlim_cur.min(65536) as c_int {
        // SAFETY: F_GETFD on any number is harmless.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags >= 0 && fd != own_fd {
            let target = fs::read_link(format!("/proc/self/fd/{fd}"))
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = writeln!(out, "fd {fd} {flags} {target}");
        }
    }
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines() {
        if let Some((key, value)) = line.split_once(':')
            && matches!(key, "SigBlk" | "SigIgn" | "SigCgt")
        {
            let _ = writeln!(out, "{key} {}", value.trim());
        }
    }
    // SAFETY: plain getters.
    let (pgid, sid, ppid) = unsafe { (libc::getpgrp(), libc::getsid(0), libc::getppid()) };
    let _ = writeln!(out, "pgid {pgid}\nsid {sid}\nppid {ppid}");
    if let Ok(cwd) = std::env::current_dir() {
        let _ = writeln!(out, "cwd {}", cwd.display());
    }
    let _ = out.flush();
    drop(out);
    exit(0)
}

/// Sets up the hostile environment, then execs the command:
/// - `--nofile N`, `--nproc N`: soft and hard RLIMIT_NOFILE / RLIMIT_NPROC.
/// - `--uid U`: drops to uid and gid U (RLIMIT_NPROC binds only non-root users).
/// - `--hide-proc`, `--tmpfs DIR`: a private mount namespace with an empty tmpfs over /proc
///   (or DIR).
/// - `--foreign-proc`: a new PID namespace, keeping the old /proc: the command (PID 2 there,
///   under a small init that reaps and passes its exit status on) sees another namespace's
///   processes in /proc.
fn wrap(args: &[OsString]) -> ! {
    let mut i = 0;
    let mut nofile = None;
    let mut nproc = None;
    let mut uid = None;
    let mut tmpfs: Vec<CString> = Vec::new();
    let mut foreign_proc = false;
    let mut close_stdio = false;
    let text = |i: usize| {
        args.get(i)
            .and_then(|a| a.to_str())
            .unwrap_or_else(|| die("wrap: bad option"))
    };
    while i < args.len() {
        match text(i) {
            "--nofile" => {
                nofile = Some(text(i + 1).parse::<u64>().unwrap_or_else(|_| die("--nofile N")));
                i += 1;
            }
            "--nproc" => {
                nproc = Some(text(i + 1).parse::<u64>().unwrap_or_else(|_| die("--nproc N")));
                i += 1;
            }
            "--uid" => {
                uid = Some(text(i + 1).parse::<u32>().unwrap_or_else(|_| die("--uid U")));
                i += 1;
            }
            "--hide-proc" => tmpfs.push(c"/proc".to_owned()),
            "--tmpfs" => {
                tmpfs.push(CString::new(text(i + 1)).unwrap_or_else(|_| die("--tmpfs DIR")));
                i += 1;
            }
            "--foreign-proc" => foreign_proc = true,
            "--close-stdio" => close_stdio = true,
            "--" => {
                i += 1;
                break;
            }
            other => die(&format!("wrap: unknown option {other}")),
        }
        i += 1;
    }
    let command: Vec<CString> = args[i..]
        .iter()
        .map(|a| CString::new(a.as_bytes()).unwrap_or_else(|_| die("NUL in argument")))
        .collect();
    if command.is_empty() {
        die("wrap: no command");
    }
    // SAFETY (whole block): plain syscalls with valid pointers; single-threaded.
    unsafe {
        if !tmpfs.is_empty() {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                die(&format!("unshare(CLONE_NEWNS): errno {}", errno()));
            }
            let none = std::ptr::null::<c_char>();
            libc::mount(
                none,
                c"/".as_ptr(),
                none,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            );
            for dir in &tmpfs {
                if libc::mount(
                    c"none".as_ptr(),
                    dir.as_ptr(),
                    c"tmpfs".as_ptr(),
                    0,
                    std::ptr::null(),
                ) != 0
                {
                    die(&format!("mount tmpfs on {dir:?}: errno {}", errno()));
                }
            }
        }
        if let Some(n) = nproc {
            set_limit(libc::RLIMIT_NPROC, n);
        }
        if let Some(n) = nofile {
            set_limit(libc::RLIMIT_NOFILE, n);
        }
        if let Some(u) = uid
            && (libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(u) != 0 || libc::setuid(u) != 0)
        {
            die(&format!("cannot become uid {u}: errno {}", errno()));
        }
        if foreign_proc {
            if libc::unshare(libc::CLONE_NEWPID) != 0 {
                die(&format!("unshare(CLONE_NEWPID): errno {}", errno()));
            }
            // The first child is PID 1 of the new namespace; the command runs below it.
            let init = fork();
            if init < 0 {
                die("fork");
            }
            if init > 0 {
                exit(pass_on_status(init));
            }
            let pid = fork();
            if pid < 0 {
                die("fork");
            }
            if pid > 0 {
                // A minimal init: reap everything, leave with the command's status.
                let mut code = 0;
                loop {
                    let mut status = 0;
                    let reaped = libc::waitpid(-1, &mut status, 0);
                    if reaped == pid {
                        code = encode(status);
                    } else if reaped < 0 && errno() == libc::ECHILD {
                        exit(code);
                    }
                }
            }
        }
    }
    if close_stdio {
        // SAFETY: closing our own descriptors right before exec.
        unsafe {
            libc::close(0);
            libc::close(1);
            libc::close(2);
        }
    }
    exec(&command)
}

/// The exit code that carries a wait status through one more process: the code, or 128+N.
fn encode(status: c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

fn pass_on_status(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        if errno() != libc::EINTR {
            return 1;
        }
    }
    encode(status)
}

fn set_limit(resource: libc::__rlimit_resource_t, n: u64) {
    let lim = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: a valid rlimit.
    if unsafe { libc::setrlimit(resource, &lim) } != 0 {
        die(&format!("setrlimit: errno {}", errno()));
    }
}

fn exec(command: &[CString]) -> ! {
    let mut argv: Vec<*const c_char> = command.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: a NULL-terminated array of valid C strings.
    unsafe { libc::execvp(argv[0], argv.as_ptr()) };
    die(&format!("exec {:?}: errno {}", command[0], errno()))
}

/// TOTAL orphans in batches: an intermediate process forks BATCH children that exit at once and
/// exits itself without waiting, so they are re-parented to the subreaper (or PID 1), which
/// must reap every one.
fn orphans(total: u64, batch: u64) -> ! {
    let mut made = 0;
    while made < total {
        let n = batch.min(total - made);
        let mid = fork();
        if mid < 0 {
            die(&format!("fork: errno {}", errno()));
        }
        if mid == 0 {
            for _ in 0..n {
                let pid = fork();
                if pid == 0 {
                    // SAFETY: leaving a forked child at once.
                    unsafe { libc::_exit(0) };
                }
                if pid < 0 {
                    // SAFETY: as above.
                    unsafe { libc::_exit(1) };
                }
            }
            // SAFETY: as above.
            unsafe { libc::_exit(0) };
        }
        if pass_on_status(mid) != 0 {
            die("a batch could not fork all its orphans");
        }
        made += n;
    }
    println!("orphans={made}");
    exit(0)
}

/// COUNT orphans under a process limit. Each intermediate process tries BATCH forks without
/// reaping (its zombies count against RLIMIT_NPROC), so with a limit below BATCH + 3 some fork
/// fails every time; it exits with the number it made, and its children become orphans. Only
/// progresses if the subreaper reaps the orphans: zombies count until reaped.
fn nproc_orphans(count: u64, batch: u64) -> ! {
    let deadline = Instant::now() + Duration::from_secs(30);
    let batch = batch.min(250);
    let mut made = 0;
    let mut eagain = 0u64;
    while made < count {
        if Instant::now() > deadline {
            println!("orphans={made} eagain={eagain} (gave up after 30 s)");
            exit(1);
        }
        let mid = fork();
        if mid < 0 {
            eagain += 1;
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        if mid == 0 {
            let mut forked = 0;
            for _ in 0..batch {
                match fork() {
                    // SAFETY: leaving a forked child at once.
                    0 => unsafe { libc::_exit(0) },
                    pid if pid > 0 => forked += 1,
                    _ => {}
                }
            }
            // SAFETY: as above.
            unsafe { libc::_exit(forked) };
        }
        let forked = pass_on_status(mid) as u64;
        made += forked;
        eagain += batch - forked;
        if forked == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    println!("orphans={made} eagain={eagain}");
    exit(0)
}

fn exit_when(file: &str, code: i32) -> ! {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !Path::new(file).exists() {
        if Instant::now() > deadline {
            exit(1);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    exit(code)
}

fn storm_target(ready: &str, done: &str, seen_file: &str) -> ! {
    let mask = block_everything();
    create(ready, "");
    let mut seen: u64 = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Some(sig) = wait_one(mask, deadline.saturating_duration_since(Instant::now())) {
        if seen & (1 << (sig - 1)) == 0 {
            seen |= 1 << (sig - 1);
            create(seen_file, &format!("{seen:x}"));
        }
        if sig == libc::SIGUSR2 && Path::new(done).exists() {
            println!("seen {seen:x}");
            exit(42);
        }
    }
    println!("seen {seen:x} (timed out)");
    exit(1)
}

fn stop_self(sig: i32, ready: &str, code: i32) -> ! {
    create(ready, "");
    // SAFETY: signalling ourselves.
    unsafe { libc::kill(libc::getpid(), sig) };
    println!("resumed");
    exit(code)
}

fn close_stdio(code: i32) -> ! {
    // SAFETY: closing our own descriptors.
    unsafe {
        libc::close(0);
        libc::close(1);
        libc::close(2);
    }
    let pid = fork();
    if pid == 0 {
        // An orphan that keeps writing into the closed descriptors: EBADF, nothing else.
        for _ in 0..100 {
            // SAFETY: writes of a static buffer; failures are the point.
            unsafe {
                libc::write(1, b"x\n".as_ptr().cast(), 2);
                libc::write(2, b"x\n".as_ptr().cast(), 2);
            }
        }
        exit(0);
    }
    exit(code)
}

/// Forks a child that runs `setup`, names itself `name` and sleeps until killed; returns its pid
/// once it is set up (it says so through a pipe).
fn fork_sleeper(name: &CStr, setup: impl FnOnce()) -> i32 {
    let mut sync = [0; 2];
    // SAFETY: a valid array of two ints.
    if unsafe { libc::pipe(sync.as_mut_ptr()) } != 0 {
        die("pipe");
    }
    let pid = fork();
    if pid == 0 {
        // SAFETY: closing our copy of the read end.
        unsafe { libc::close(sync[0]) };
        setup();
        // SAFETY: a NUL-terminated name; then tell the parent we are set up, and sleep.
        unsafe {
            libc::prctl(libc::PR_SET_NAME, name.as_ptr());
            libc::write(sync[1], b"x".as_ptr().cast(), 1);
            libc::close(sync[1]);
            loop {
                libc::pause();
            }
        }
    }
    let mut byte = 0u8;
    // SAFETY: reading one byte from our pipe.
    unsafe {
        libc::close(sync[1]);
        libc::read(sync[0], (&mut byte as *mut u8).cast(), 1);
    }
    pid
}

fn regroup(mode: &str, ready: &str) -> ! {
    let (mode, exit_at_once) = match mode.strip_suffix("-exit") {
        Some(base) => (base, true),
        None => (mode, false),
    };
    // "-ignore": the main process ignores SIGTERM and waits for its SIGKILL.
    let (base, ignore_term) = match mode.strip_suffix("-ignore") {
        Some(base) => (base, true),
        None => (mode, false),
    };
    let name = match base {
        "setsid" => c"hp-setsid",
        "stay" => c"hp-stay",
        _ => c"hp-newgroup",
    };
    let pid = fork_sleeper(name, || {
        // SAFETY: plain syscalls on ourselves.
        let ok = unsafe {
            match base {
                "setsid" => libc::setsid() > 0,
                "stay" => true,
                _ => libc::setpgid(0, 0) == 0,
            }
        };
        if !ok {
            die(&format!("{base}: errno {}", errno()));
        }
    });
    if base == "leave" {
        // SAFETY: joining the child's group (same session).
        if unsafe { libc::setpgid(0, pid) } != 0 {
            die(&format!("setpgid(0, {pid}): errno {}", errno()));
        }
    }
    create(ready, &pid.to_string());
    if exit_at_once {
        exit(3);
    }
    let mask = block_everything();
    while let Some(sig) = wait_one(mask, Duration::from_secs(60)) {
        if sig == libc::SIGTERM && !ignore_term {
            exit(0);
        }
    }
    exit(1)
}

fn wait_signal(ready: &str) -> ! {
    let mask = block_everything();
    create(ready, "");
    while let Some(sig) = wait_one(mask, Duration::from_secs(60)) {
        if sig == libc::SIGTERM {
            exit(0);
        }
        println!("{sig}");
    }
    exit(1)
}

fn leave_ignorer(pidfile: &str, name: Option<&str>) -> ! {
    let name = CString::new(name.unwrap_or("hp-ignorer")).unwrap_or_else(|_| die("NUL in name"));
    fork_sleeper(&name, || {
        // SAFETY: plain syscalls on ourselves.
        unsafe {
            // Its own group: the kernel keeps a pid unused while a group still has that id.
            libc::setpgid(0, 0);
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
        }
    });
    // SAFETY: getpid can not fail.
    create(pidfile, &unsafe { libc::getpid() }.to_string());
    exit(3)
}

fn pid_reuse(args: &[String]) -> ! {
    let [pidfile, ready, marker, dashes, command @ ..] = args else {
        die("pid-reuse PIDFILE READY MARKER -- CMD...");
    };
    if dashes != "--" || command.is_empty() {
        die("pid-reuse PIDFILE READY MARKER -- CMD...");
    }
    let command: Vec<CString> = command
        .iter()
        .map(|a| CString::new(a.as_str()).unwrap_or_else(|_| die("NUL")))
        .collect();
    let cmd = fork();
    if cmd == 0 {
        exec(&command);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let wait_for = |what: &str, cond: &dyn Fn() -> bool| {
        while !cond() {
            if Instant::now() > deadline {
                die(&format!("pid-reuse: timed out waiting for {what}"));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    wait_for("PIDFILE", &|| Path::new(pidfile).exists());
    let target: i32 = fs::read_to_string(pidfile)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or_else(|| die("bad PIDFILE"));
    wait_for("the old process to be reaped", &|| {
        !Path::new(&format!("/proc/{target}")).exists()
    });
    let mut victim = 0;
    for _ in 0..200 {
        // The next fork in this namespace gets target (unless someone else forks first).
        let _ = fs::write("/proc/sys/kernel/ns_last_pid", (target - 1).to_string());
        let pid = fork();
        if pid == 0 {
            // SAFETY: becoming a group leader, so even a kill(-target, ...) would land here.
            unsafe { libc::setpgid(0, 0) };
            let mask = block_everything();
            // SAFETY: getpid can not fail.
            let me = unsafe { libc::getpid() };
            if me != target {
                // The wrong pid: the parent kills this one and tries again.
                wait_one(mask, Duration::from_secs(60));
                exit(1);
            }
            create(ready, &me.to_string());
            while let Some(sig) = wait_one(mask, Duration::from_secs(60)) {
                let mut file = fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(marker)
                    .unwrap_or_else(|e| die(&format!("{marker}: {e}")));
                let _ = writeln!(file, "{sig}");
            }
            exit(0);
        }
        if pid == target {
            victim = pid;
            break;
        }
        // SAFETY: our own child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        pass_on_status(pid);
    }
    if victim == 0 {
        die("pid-reuse: could not get the pid back");
    }
    let code = pass_on_status(cmd);
    // SAFETY: our own child, not yet reaped.
    unsafe { libc::kill(victim, libc::SIGKILL) };
    pass_on_status(victim);
    exit(code)
}
