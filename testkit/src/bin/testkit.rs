//! testkit: one multi-tool helper binary for pidone's integration tests (tests/support).
//!
//! Readiness is always a file (or a pipe inside testkit), never a sleep. Helper processes
//! name themselves (`prctl(PR_SET_NAME)`) so pidone's warnings and reports can be checked.
//!
//! ```text
//! testkit init [--sibling] -- CMD...   minimal PID 1 for tests/support nested mode (see there)
//! testkit record FILE [--member FILE2] [--exit-on SIGS|none] [--exit-code N]
//!     blocks every signal and appends "SIGNAME MONOTONIC_NS" per signal to FILE; creates
//!     FILE.ready (containing "PID PGID") once set up. --member: first forks a process in the
//!     same process group that records into FILE2. Exits N (default 0) on a signal in
//!     --exit-on (default TERM,INT), after recording it.
//! testkit ignore SIG... [--ready FILE]  ignores the signals, then sleeps until killed
//! testkit sleep [--ready FILE]           sleeps until a signal kills it (default dispositions)
//! testkit exit N                         exits N
//! testkit kill-self SIG                  dies from SIG
//! testkit status [--await-init-slice]     prints what it inherited: key=value lines
//! testkit orphans N [--timeout SECS]     double-forks N processes that exit at once (zombies
//!     for the reaper), waits until they have all exited and no zombie is left in /proc, then
//!     prints "zombies=0" and exits 0; after --timeout (default 20) prints "zombies=K PIDS" and exits 1
//! testkit zombie                        leaves a child that has exited unreaped (a zombie that
//!     becomes the reaper's once this exits), prints its pid, exits 0
//! testkit orphan-ppid FILE               an orphan writes "ppid=A expected=B" to FILE once re-parented
//!     (B = this process's parent); then this process sleeps until killed
//! testkit spawn-tree --ready FILE [--main-ignores-term]
//!     a child ignoring TERM (tk-ign-child) with a grandchild ignoring TERM (tk-ign-grand), and a
//!     setsid'd child ignoring TERM (tk-setsid); FILE gets their pids once all are set up
//! testkit leave-orphans --marker FILE [--ignorer] [--forker] [--exit N]
//!     an orphan tk-handler that, on SIGTERM, writes "SIGTERM" to FILE and exits; with --ignorer an
//!     orphan tk-ignorer that ignores TERM; with --forker an orphan tk-forker that, on SIGTERM,
//!     starts tk-late (ignores TERM) and exits; exits N (default 0) once they are set up
//! testkit crowd [--ready FILE] [--exit] NAME:COUNT...
//!     ignores TERM, then for each NAME:COUNT forks COUNT children named NAME that inherit the
//!     ignored TERM and sleep until killed; names itself tk-crowd and creates FILE once all are
//!     forked; then sleeps until killed, or with --exit exits 0 (leaving them to the cleanup)
//! testkit parent-dies FILE -- CMD...
//!     for -p: an intermediate process starts CMD (e.g. pidone ... testkit record FILE) and exits
//!     once FILE.ready exists; this process then waits up to 10 s for FILE to be non-empty and
//!     prints its content (the signals the recorder got) on stdout
//! ```
#![no_main]

use nix::sys::signal::Signal;
use std::ffi::{CString, c_char, c_int};
use std::io::Write;
use std::time::{Duration, Instant};

const STATUS_FD: c_int = 200;

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // No Rust runtime start-up: it would ignore SIGPIPE, and `status` must report what this
    // process inherited.
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Some((cmd, rest)) = args.split_first() else {
        die("usage: testkit SUBCOMMAND ...");
    };
    match cmd.as_str() {
        "init" => init(rest),
        "record" => record(rest),
        "ignore" => ignore(rest),
        "sleep" => sleep(rest),
        "exit" => exit(
            rest.first()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| die("exit N")),
        ),
        "kill-self" => kill_self(rest),
        "status" => status(rest.first().is_some_and(|a| a == "--await-init-slice")),
        "orphans" => orphans(rest),
        "orphan-ppid" => orphan_ppid(rest),
        "zombie" => zombie(),
        "spawn-tree" => spawn_tree(rest),
        "leave-orphans" => leave_orphans(rest),
        "crowd" => crowd(rest),
        "parent-dies" => parent_dies(rest),
        other => die(&format!("unknown subcommand {other}")),
    }
}

fn die(msg: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "testkit: {msg}");
    exit(2)
}

fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    // SAFETY: plain exit.
    unsafe { libc::_exit(code) }
}

fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

// Signal names come from nix (the same oracle the tests use), not from pidone: a recorded
// name is what the signal is, whatever pidone thinks it is called.
fn sig_name(sig: i32) -> String {
    if let Ok(named) = Signal::try_from(sig) {
        return named.as_str().to_owned();
    }
    let rtmin = libc::SIGRTMIN();
    if sig >= rtmin {
        format!("SIGRTMIN+{}", sig - rtmin)
    } else {
        format!("SIG{sig}")
    }
}

fn parse_sig(text: &str) -> i32 {
    let name = text.strip_prefix("SIG").unwrap_or(text);
    if let Ok(n) = name.parse() {
        return n;
    }
    if let Ok(named) = format!("SIG{name}").parse::<Signal>() {
        return named as i32;
    }
    if let Some(off) = name.strip_prefix("RTMIN+").and_then(|o| o.parse::<i32>().ok()) {
        return libc::SIGRTMIN() + off;
    }
    die(&format!("unknown signal {text}"))
}

/// CLOCK_MONOTONIC in nanoseconds: the same clock in every PID namespace, so the test can
/// compare it with its own readings.
fn monotonic_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map_or(0, |t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
}

fn set_name(name: &str) {
    let c = CString::new(name).unwrap_or_default();
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr() as libc::c_ulong, 0, 0, 0) };
}

fn full_set() -> libc::sigset_t {
    // SAFETY: sigfillset initialises the set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        set
    }
}

fn set_mask(set: &libc::sigset_t) -> libc::sigset_t {
    // SAFETY: valid sigset pointers.
    unsafe {
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_SETMASK, set, &mut old);
        old
    }
}

fn wait_signal(set: &libc::sigset_t) -> i32 {
    loop {
        // SAFETY: valid set; no siginfo wanted.
        let sig = unsafe { libc::sigwaitinfo(set, std::ptr::null_mut()) };
        if sig > 0 {
            return sig;
        }
    }
}

fn ignore_sig(sig: i32) {
    // SAFETY: setting a disposition to SIG_IGN.
    unsafe { libc::signal(sig, libc::SIG_IGN) };
}

fn pause_forever() -> ! {
    loop {
        // SAFETY: plain pause.
        unsafe { libc::pause() };
    }
}

fn fork() -> i32 {
    // SAFETY: testkit is single-threaded.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        die("fork failed");
    }
    pid
}

fn pipe() -> (c_int, c_int) {
    let mut fds = [0; 2];
    // SAFETY: valid array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        die("pipe failed");
    }
    (fds[0], fds[1])
}

fn close(fd: c_int) {
    // SAFETY: closing an fd this process owns.
    unsafe { libc::close(fd) };
}

/// Reads until EOF; returns the number of bytes read.
fn drain(fd: c_int) -> usize {
    let mut total = 0;
    let mut buf = [0u8; 256];
    loop {
        // SAFETY: valid buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            total += n as usize;
        } else if n == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return total;
        }
    }
}

/// Writes a file atomically (write to a temp name, rename), so a reader that sees it sees all.
fn publish(path: &str, content: &str) {
    let tmp = format!("{path}.tmp{}", std::process::id());
    if std::fs::write(&tmp, content).is_err() || std::fs::rename(&tmp, path).is_err() {
        die(&format!("cannot write {path}"));
    }
}

fn flag_value(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
}

fn waitpid(pid: i32, flags: c_int) -> (i32, c_int) {
    let mut raw = 0;
    // SAFETY: valid status pointer.
    let rc = unsafe { libc::waitpid(pid, &mut raw, flags) };
    (rc, raw)
}

// ---------------------------------------------------------------------------------------------

/// The command after `--` in `args`, which must be there and not empty (`what` names the
/// subcommand in the error).
fn command_after_dashes(args: &[String], what: &str) -> Vec<CString> {
    let Some(dash) = args.iter().position(|a| a == "--") else {
        die(&format!("{what}: missing --"))
    };
    let cmd: Vec<CString> = args[dash + 1..]
        .iter()
        .map(|a| CString::new(a.as_bytes()).unwrap_or_default())
        .collect();
    if cmd.is_empty() {
        die(&format!("{what}: missing command"));
    }
    cmd
}

fn init(args: &[String]) -> ! {
    let sibling_wanted = args.first().is_some_and(|a| a == "--sibling");
    let cmd = command_after_dashes(args, "init");
    let mut argv: Vec<*const c_char> = cmd.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: marking our report fd close-on-exec so the program never sees it.
    unsafe { libc::fcntl(STATUS_FD, libc::F_SETFD, libc::FD_CLOEXEC) };
    let all = full_set();
    let original = set_mask(&all);

    let sibling = sibling_wanted.then(|| {
        let pid = fork();
        if pid == 0 {
            set_name("tk-sibling");
            set_mask(&original);
            pause_forever();
        }
        pid
    });
    let child = fork();
    if child == 0 {
        set_mask(&original);
        // SAFETY: argv is NULL-terminated and its strings live until exec.
        unsafe { libc::execvp(argv[0], argv.as_ptr()) };
        die("init: exec failed");
    }

    let mut sibling_dead = false;
    let status = 'outer: loop {
        let sig = wait_signal(&all);
        if sig != libc::SIGCHLD {
            // SAFETY: forwarding to our own child.
            unsafe { libc::kill(child, sig) };
            continue;
        }
        loop {
            let (pid, raw) = waitpid(-1, libc::WNOHANG);
            if pid <= 0 {
                break;
            }
            if pid == child {
                break 'outer raw;
            }
            if Some(pid) == sibling {
                sibling_dead = true;
            }
        }
    };

    let mut report = format!("status {status}\n");
    if let Some(sib) = sibling {
        let alive = !sibling_dead && proc_state(sib).is_some_and(|s| s != "Z");
        report.push_str(if alive {
            "sibling alive\n"
        } else {
            "sibling dead\n"
        });
    }
    for pid in proc_pids() {
        if pid == 1 || Some(pid) == sibling {
            continue;
        }
        if let Some((state, comm)) = proc_stat(pid) {
            report.push_str(&format!("leftover {pid} {state} {comm}\n"));
        }
    }
    // SAFETY: the report fd was passed to us; a short write to a pipe of this size can not happen.
    unsafe { libc::write(STATUS_FD, report.as_ptr().cast(), report.len()) };
    exit(0)
}

fn proc_pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// (state, comm) from /proc/PID/stat.
fn proc_stat(pid: i32) -> Option<(String, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let state = stat[close + 1..].split_whitespace().next()?.to_string();
    Some((state, comm))
}

fn proc_state(pid: i32) -> Option<String> {
    proc_stat(pid).map(|(s, _)| s)
}

/// The parent pid from /proc/PID/stat (the field after the state).
fn proc_ppid(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.rfind(')')?;
    stat[close + 1..].split_whitespace().nth(1)?.parse().ok()
}

fn record(args: &[String]) -> ! {
    let Some(file) = args.first().cloned() else {
        die("record FILE")
    };
    let exit_on: Vec<i32> = match flag_value(args, "--exit-on").as_deref() {
        None => vec![libc::SIGTERM, libc::SIGINT],
        Some("none") => Vec::new(),
        Some(list) => list.split(',').map(parse_sig).collect(),
    };
    let code: i32 = flag_value(args, "--exit-code")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let all = full_set();
    set_mask(&all);
    if let Some(member_file) = flag_value(args, "--member") {
        let (r, w) = pipe();
        let pid = fork();
        if pid == 0 {
            close(r);
            set_name("tk-member");
            record_loop(&member_file, &all, &exit_on, code, Some(w));
        }
        close(w);
        drain(r);
        close(r);
    }
    record_loop(&file, &all, &exit_on, code, None)
}

fn record_loop(file: &str, set: &libc::sigset_t, exit_on: &[i32], code: i32, ready: Option<c_int>) -> ! {
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .unwrap_or_else(|_| die(&format!("cannot open {file}")));
    // SAFETY: getpid/getpgrp never fail.
    let (pid, pgid) = unsafe { (libc::getpid(), libc::getpgrp()) };
    match ready {
        Some(fd) => close(fd),
        None => publish(&format!("{file}.ready"), &format!("{pid} {pgid}\n")),
    }
    loop {
        let sig = wait_signal(set);
        // One write per line: O_APPEND keeps lines whole.
        let _ = log.write_all(format!("{} {}\n", sig_name(sig), monotonic_ns()).as_bytes());
        if exit_on.contains(&sig) {
            exit(code);
        }
    }
}

fn ready_file(args: &[String]) {
    if let Some(path) = flag_value(args, "--ready") {
        // SAFETY: getpid never fails.
        publish(&path, &format!("{}\n", unsafe { libc::getpid() }));
    }
}

fn ignore(args: &[String]) -> ! {
    for a in args.iter().take_while(|a| *a != "--ready") {
        ignore_sig(parse_sig(a));
    }
    ready_file(args);
    pause_forever()
}

fn sleep(args: &[String]) -> ! {
    ready_file(args);
    pause_forever()
}

fn kill_self(args: &[String]) -> ! {
    let sig = parse_sig(
        args.first()
            .map(String::as_str)
            .unwrap_or_else(|| die("kill-self SIG")),
    );
    // SAFETY: no core file (SEGV, ABRT...) in the test's directory; then default disposition,
    // unblock, and raise: the process dies from sig.
    unsafe {
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), sig);
    }
    die("kill-self: still alive")
}

fn readlink(path: &str) -> String {
    std::fs::read_link(path).map_or_else(|e| format!("error:{e}"), |p| p.to_string_lossy().into_owned())
}

fn status(await_init_slice: bool) -> ! {
    let mut text = String::new();
    // List fds first, through a directory stream whose own fd we can leave out.
    // SAFETY: opendir/readdir/closedir on a valid path; entries are read before the next call.
    unsafe {
        let dir = libc::opendir(c"/proc/self/fd".as_ptr());
        if dir.is_null() {
            die("cannot list fds");
        }
        let own = libc::dirfd(dir);
        let mut fds = Vec::new();
        loop {
            let entry = libc::readdir(dir);
            if entry.is_null() {
                break;
            }
            let name = std::ffi::CStr::from_ptr((*entry).d_name.as_ptr());
            if let Ok(fd) = name.to_string_lossy().parse::<i32>()
                && fd != own
            {
                fds.push(fd);
            }
        }
        libc::closedir(dir);
        fds.sort();
        let list: Vec<String> = fds.iter().map(i32::to_string).collect();
        text.push_str(&format!("fds={}\n", list.join(",")));
        for fd in fds {
            text.push_str(&format!("fd.{fd}={}\n", readlink(&format!("/proc/self/fd/{fd}"))));
        }
        text.push_str(&format!(
            "pid={}\nppid={}\npgid={}\nsid={}\n",
            libc::getpid(),
            libc::getppid(),
            libc::getpgrp(),
            libc::getsid(0)
        ));
        let tc = libc::tcgetpgrp(0);
        if tc < 0 {
            text.push_str(&format!("tcpgrp=error:{}\n", std::io::Error::last_os_error()));
        } else {
            text.push_str(&format!("tcpgrp={tc}\n"));
        }
        text.push_str(&format!("cwd={}\n", readlink("/proc/self/cwd")));
        text.push_str(&format!("cwd1={}\n", readlink("/proc/1/cwd")));
        text.push_str(&format!(
            "cwdparent={}\n",
            readlink(&format!("/proc/{}/cwd", libc::getppid()))
        ));
    }
    // The scheduler slice (EEVDF, Linux 6.12+ report it as sched_runtime; 0 before): the
    // child's own, and its init's (pid 1 when pidone is PID 1).
    let own = sched_slice(0);
    let mut init = sched_slice(1);
    // pidone sets its slice just after the child has started, so the child can look first:
    // with --await-init-slice, give it up to 2 s to differ from the child's own.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while await_init_slice && init == own && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
        init = sched_slice(1);
    }
    text.push_str(&format!("slice={own}\nslice1={init}\n"));
    let proc_status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in proc_status.lines() {
        for key in ["SigBlk", "SigIgn", "SigCgt"] {
            if let Some(v) = line.strip_prefix(&format!("{key}:")) {
                text.push_str(&format!("{key}={}\n", v.trim()));
            }
        }
    }
    out(&text);
    exit(0)
}

/// `sched_getattr(pid)`'s `sched_runtime` (a normal task's slice in ns), or "error:...".
fn sched_slice(pid: libc::pid_t) -> String {
    let size = std::mem::size_of::<libc::sched_attr>() as u32;
    // SAFETY: sched_attr is plain data; all zeroes is a valid value.
    let mut attr: libc::sched_attr = unsafe { std::mem::zeroed() };
    // SAFETY: `attr` is a live sched_attr of `size` bytes.
    let ret = unsafe { libc::syscall(libc::SYS_sched_getattr, pid, &raw mut attr, size, 0) };
    if ret != 0 {
        return format!("error:{}", std::io::Error::last_os_error());
    }
    attr.sched_runtime.to_string()
}

/// Double-forks: runs `f` in a grandchild whose parent has exited (an orphan). The caller
/// reaps the intermediate process itself, so only the grandchild is left to the reaper.
fn orphan(f: impl FnOnce()) {
    let mid = fork();
    if mid == 0 {
        if fork() == 0 {
            f();
            exit(0);
        }
        exit(0);
    }
    waitpid(mid, 0);
}

fn orphans(args: &[String]) -> ! {
    let n: usize = args
        .first()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| die("orphans N"));
    let timeout: u64 = flag_value(args, "--timeout")
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    // Every orphan holds the write end: EOF means all have exited (they may still be zombies).
    let (r, w) = pipe();
    for _ in 0..n {
        orphan(|| {});
    }
    close(w);
    drain(r);
    // EOF comes when an orphan's files are closed, which is before it has become a zombie:
    // until then it is neither a zombie nor gone. Wait for those too (they have been re-parented
    // to this process's parent, pidone), so that none is still alive when this one exits.
    // SAFETY: getpid and getppid can not fail.
    let (me, parent) = unsafe { (libc::getpid(), libc::getppid()) };
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        let zombies: Vec<i32> = proc_pids()
            .into_iter()
            .filter(|&p| proc_state(p).is_some_and(|s| s == "Z") || (p != me && proc_ppid(p) == Some(parent)))
            .collect();
        if zombies.is_empty() {
            out("zombies=0\n");
            exit(0);
        }
        if Instant::now() >= deadline {
            let list: Vec<String> = zombies.iter().map(i32::to_string).collect();
            out(&format!("zombies={} {}\n", zombies.len(), list.join(",")));
            exit(1);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn zombie() -> ! {
    // SAFETY: single-threaded; the child only calls _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        die("fork failed");
    }
    if pid == 0 {
        // SAFETY: plain exit.
        unsafe { libc::_exit(0) }
    }
    // WNOWAIT: wait until it has exited, but leave it a zombie.
    // SAFETY: a zeroed siginfo_t is a valid out-parameter.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer; waits only for our own child.
    while unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    } != 0
    {
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            die("waitid failed");
        }
    }
    out(&format!("{pid}\n"));
    exit(0)
}

fn orphan_ppid(args: &[String]) -> ! {
    let Some(file) = args.first().cloned() else {
        die("orphan-ppid FILE")
    };
    // SAFETY: getppid never fails.
    let expected = unsafe { libc::getppid() };
    let (r, w) = pipe();
    let mid = fork();
    if mid == 0 {
        // SAFETY: getpid never fails.
        let mid_pid = unsafe { libc::getpid() };
        if fork() == 0 {
            close(w);
            set_name("tk-orphan");
            // EOF: the intermediate process has exited; re-parenting follows right after.
            drain(r);
            let deadline = Instant::now() + Duration::from_secs(10);
            // SAFETY: getppid never fails.
            while unsafe { libc::getppid() } == mid_pid && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            // SAFETY: getppid never fails.
            publish(
                &file,
                &format!("ppid={} expected={expected}\n", unsafe { libc::getppid() }),
            );
            pause_forever();
        }
        exit(0);
    }
    close(r);
    close(w);
    waitpid(mid, 0);
    pause_forever()
}

fn spawn_tree(args: &[String]) -> ! {
    let Some(ready) = flag_value(args, "--ready") else {
        die("spawn-tree --ready FILE")
    };
    if args.iter().any(|a| a == "--main-ignores-term") {
        ignore_sig(libc::SIGTERM);
    }
    let (r, w) = pipe();
    let (pr, pw) = pipe();
    let a = fork();
    if a == 0 {
        close(r);
        close(pr);
        set_name("tk-ign-child");
        ignore_sig(libc::SIGTERM);
        let b = fork();
        if b == 0 {
            set_name("tk-ign-grand");
            ignore_sig(libc::SIGTERM);
            // SAFETY: getpid never fails.
            let me = format!("grand={}\n", unsafe { libc::getpid() });
            // SAFETY: valid buffer.
            unsafe { libc::write(pw, me.as_ptr().cast(), me.len()) };
            close(pw);
            close(w);
            pause_forever();
        }
        close(pw);
        close(w);
        pause_forever();
    }
    let c = fork();
    if c == 0 {
        close(r);
        close(pr);
        // SAFETY: plain setsid in a fresh child (never a group leader).
        unsafe { libc::setsid() };
        set_name("tk-setsid");
        ignore_sig(libc::SIGTERM);
        close(pw);
        close(w);
        pause_forever();
    }
    close(w);
    close(pw);
    drain(r);
    let mut grand = [0u8; 64];
    // SAFETY: valid buffer.
    let n = unsafe { libc::read(pr, grand.as_mut_ptr().cast(), grand.len()) };
    let grand = String::from_utf8_lossy(&grand[..n.max(0) as usize]).into_owned();
    // SAFETY: getpid never fails.
    publish(
        &ready,
        &format!("main={}\nchild={a}\n{grand}setsid={c}\n", unsafe {
            libc::getpid()
        }),
    );
    pause_forever()
}

fn crowd(args: &[String]) -> ! {
    ignore_sig(libc::SIGTERM);
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        if a == "--ready" {
            rest.next();
            continue;
        }
        let Some((name, count)) = a.split_once(':') else {
            continue;
        };
        let count: usize = count.parse().unwrap_or_else(|_| die("crowd NAME:COUNT"));
        // Named before the forks: a child is born with its name and the ignored TERM.
        set_name(name);
        for _ in 0..count {
            if fork() == 0 {
                pause_forever();
            }
        }
    }
    set_name("tk-crowd");
    ready_file(args);
    if args.iter().any(|a| a == "--exit") {
        exit(0);
    }
    pause_forever()
}

/// Makes SIGTERM the only blocked signal and returns that set, to wait on.
fn block_only_sigterm() -> libc::sigset_t {
    let mut set: libc::sigset_t = full_set();
    // SAFETY: valid set.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
    }
    set_mask(&set);
    set
}

fn leave_orphans(args: &[String]) -> ! {
    let Some(marker) = flag_value(args, "--marker") else {
        die("leave-orphans --marker FILE")
    };
    let code: i32 = flag_value(args, "--exit")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (r, w) = pipe();
    orphan(|| {
        close(r);
        set_name("tk-handler");
        let set = block_only_sigterm();
        close(w);
        wait_signal(&set);
        publish(&marker, "SIGTERM\n");
        exit(0);
    });
    if args.iter().any(|a| a == "--forker") {
        orphan(|| {
            close(r);
            set_name("tk-forker");
            let set = block_only_sigterm();
            close(w);
            wait_signal(&set);
            // A process that appears during the cleanup, after pidone's SIGTERM went out.
            let (lr, lw) = pipe();
            if fork() == 0 {
                close(lr);
                set_name("tk-late");
                ignore_sig(libc::SIGTERM);
                close(lw);
                pause_forever();
            }
            close(lw);
            drain(lr);
            exit(0);
        });
    }
    if args.iter().any(|a| a == "--ignorer") {
        orphan(|| {
            close(r);
            set_name("tk-ignorer");
            ignore_sig(libc::SIGTERM);
            close(w);
            pause_forever();
        });
    }
    close(w);
    drain(r);
    exit(code)
}

fn parent_dies(args: &[String]) -> ! {
    let Some(file) = args.first().cloned() else {
        die("parent-dies FILE -- CMD...")
    };
    let cmd = command_after_dashes(args, "parent-dies");
    let mut argv: Vec<*const c_char> = cmd.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mid = fork();
    if mid == 0 {
        if fork() == 0 {
            // SAFETY: argv is NULL-terminated and its strings outlive the call.
            unsafe { libc::execvp(argv[0], argv.as_ptr()) };
            die("parent-dies: exec failed");
        }
        // The command's parent: exits once the command is set up, which fires its -p signal.
        let ready = format!("{file}.ready");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::path::Path::new(&ready).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        exit(0);
    }
    waitpid(mid, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let content = std::fs::read_to_string(&file).unwrap_or_default();
        if !content.is_empty() || Instant::now() >= deadline {
            out(&content);
            exit(0);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
