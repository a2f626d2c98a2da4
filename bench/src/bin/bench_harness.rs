//! The benchmark harness behind bench/run.sh: pidone against tini, dumb-init and catatonit,
//! each run as PID 1 of a fresh PID (and mount) namespace, with "no init" measured in the
//! same run as the baseline. Prints a Markdown report on stdout, progress on stderr.
//!
//!     bench_harness --child PATH --init NAME=PATH[,ARG...] ... [--smoke] [--only LIST]
//!                   [--recorded-size BYTES] [--pidone-grace MS] [--log PATH]
//!
//! `--init pidone=/x/pidone,--` runs `/x/pidone -- COMMAND...`. "No init" is always
//! included. Inits are interleaved round by round in a fresh random order each round, so
//! drift and load from other processes hit every init alike. Tests (`--only`, comma
//! separated): startup, latency, cold, idle, stop, reap, size. `--cold-idle 5,300,990,1000`
//! sets the idle times (ms) of the cold test (the default). 990 ms as well as 1000: tini
//! starts a 1 s timer when it starts its child, so at 1000 ms after the child was ready that
//! timer has just woken tini (about 1 ms before the signal, warm); at 990 ms every init has
//! sat idle the whole time (the table's "ran while idle" shows which case a row is).
//!
//! `--smoke` runs short versions and exits 1 on a gross regression of the init named
//! "pidone": any idle wake-up, a binary over twice `--recorded-size`, or zombies left after
//! the reap test. Timings are printed but never judged there: they are noise on a shared machine.

use pidone_bench::monotonic_ns;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fmt::Write as _;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::exit;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- options

struct Init {
    name: String,
    /// The init's own argv, to which the command is appended; empty for "no init".
    argv: Vec<String>,
}

impl Init {
    fn is_none(&self) -> bool {
        self.argv.is_empty()
    }
    fn is_pidone(&self) -> bool {
        self.name.starts_with("pidone")
    }
}

struct Opts {
    child: String,
    inits: Vec<Init>,
    smoke: bool,
    tests: Vec<String>,
    recorded_size: Option<u64>,
    pidone_grace_ms: u64,
    log: String,
    startup_rounds: usize,
    latency_rounds: usize,
    latency_samples: usize,
    latency_settle_ms: u64,
    cold_rounds: usize,
    cold_idle_ms: Vec<u64>,
    idle_rounds: usize,
    idle_secs: u64,
    stop_rounds: usize,
    reap_rounds: usize,
    reap_n: usize,
}

fn usage(msg: &str) -> ! {
    eprintln!("bench_harness: {msg}");
    eprintln!(
        "usage: bench_harness --child PATH --init NAME=PATH[,ARG...]... [--smoke] [--only LIST] \
         [--recorded-size BYTES] [--pidone-grace MS] [--log PATH] [--rounds-scale F] \
         [--cold-idle MS,MS...]"
    );
    exit(2)
}

fn parse_opts() -> Opts {
    let mut child = None;
    let mut inits = vec![Init {
        name: "no init".into(),
        argv: Vec::new(),
    }];
    let mut smoke = false;
    let mut only: Option<String> = None;
    let mut recorded_size = None;
    let mut pidone_grace_ms = 2000;
    let mut log = "/dev/null".to_string();
    let mut scale = 1.0f64;
    let mut cold_idle: Option<Vec<u64>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |what: &str| {
            args.next()
                .unwrap_or_else(|| usage(&format!("{what} needs a value")))
        };
        match arg.as_str() {
            "--child" => child = Some(value("--child")),
            "--init" => {
                let v = value("--init");
                let (name, cmd) = v
                    .split_once('=')
                    .unwrap_or_else(|| usage("--init wants NAME=PATH[,ARG...]"));
                let argv: Vec<String> = cmd.split(',').map(str::to_string).collect();
                if argv[0].is_empty() {
                    usage("--init wants NAME=PATH[,ARG...]");
                }
                inits.push(Init {
                    name: name.to_string(),
                    argv,
                });
            }
            "--smoke" => smoke = true,
            "--only" => only = Some(value("--only")),
            "--recorded-size" => {
                recorded_size = Some(
                    value("--recorded-size")
                        .parse()
                        .unwrap_or_else(|_| usage("bad --recorded-size")),
                )
            }
            "--pidone-grace" => {
                pidone_grace_ms = value("--pidone-grace")
                    .parse()
                    .unwrap_or_else(|_| usage("bad --pidone-grace"))
            }
            "--log" => log = value("--log"),
            "--rounds-scale" => {
                scale = value("--rounds-scale")
                    .parse()
                    .unwrap_or_else(|_| usage("bad --rounds-scale"))
            }
            "--cold-idle" => {
                cold_idle = Some(
                    value("--cold-idle")
                        .split(',')
                        .map(|v| v.parse().unwrap_or_else(|_| usage("bad --cold-idle")))
                        .collect(),
                )
            }
            _ => usage(&format!("unknown argument '{arg}'")),
        }
    }
    let child = child.unwrap_or_else(|| usage("--child is required"));
    let all = "size,startup,latency,cold,idle,stop,reap";
    let tests = only
        .unwrap_or_else(|| {
            if smoke {
                "size,startup,latency,cold,idle,reap".into()
            } else {
                all.into()
            }
        })
        .split(',')
        .map(str::to_string)
        .collect();
    let n = |full: usize, quick: usize| {
        let base = if smoke { quick } else { full };
        ((base as f64 * scale).round() as usize).max(1)
    };
    Opts {
        child,
        inits,
        smoke,
        tests,
        recorded_size,
        pidone_grace_ms,
        log,
        startup_rounds: n(1000, 100),
        latency_rounds: n(40, 2),
        latency_samples: 30,
        latency_settle_ms: if smoke { 100 } else { 1000 },
        cold_rounds: n(100, 5),
        cold_idle_ms: cold_idle.unwrap_or_else(|| {
            if smoke {
                vec![5, 300]
            } else {
                vec![5, 300, 990, 1000]
            }
        }),
        idle_rounds: n(3, 1),
        idle_secs: if smoke { 5 } else { 10 },
        stop_rounds: n(3, 1),
        reap_rounds: n(7, 1),
        reap_n: if smoke { 1000 } else { 10_000 },
    }
}

// ---------------------------------------------------------------- small OS helpers

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

/// Moves `fd` to a number >= 100 (close-on-exec), so the child's dup2 onto 3 and 4 never
/// lands on one of its own sources.
fn high(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: plain fcntl on a descriptor we own.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 100) };
    // SAFETY: we own `fd` and close it once.
    unsafe { libc::close(fd) };
    if new < 0 {
        return Err(last_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(last_error());
    }
    Ok((high(fds[0])?, high(fds[1])?))
}

fn open(path: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    let c = CString::new(path).map_err(|_| io::Error::other("NUL in path"))?;
    // SAFETY: a NUL-terminated path; mode is used only with O_CREAT.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, 0o644) };
    if fd < 0 {
        return Err(last_error());
    }
    high(fd)
}

fn kill(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: plain syscall; a vanished pid is fine.
    unsafe { libc::kill(pid, sig) };
}

fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(last_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Waits until `fd` is readable or `deadline` passes; false on timeout.
fn wait_readable(fd: RawFd, deadline: Instant) -> io::Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let ret = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ret < 0 {
            let err = last_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        return Ok(ret > 0);
    }
}

fn cpu_set(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET only indexes the set; out-of-range CPUs are ignored by libc's check.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set
}

fn get_affinity() -> Option<libc::cpu_set_t> {
    // SAFETY: an all-zero cpu_set_t is a valid out-parameter of the right size.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer and size.
    let ok = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } == 0;
    ok.then_some(set)
}

fn set_affinity(set: &libc::cpu_set_t) {
    // SAFETY: valid pointer and size; failure only leaves the affinity as it was.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
}

/// The highest CPU this process may run on, if there are at least two (else pinning
/// changes nothing).
fn last_allowed_cpu() -> Option<usize> {
    let set = get_affinity()?;
    let allowed: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: CPU_ISSET only reads the set, for CPUs below CPU_SETSIZE.
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect();
    if allowed.len() < 2 {
        None
    } else {
        allowed.last().copied()
    }
}

/// Pins the harness to one CPU while alive, restoring the original affinity on drop.
struct PinSelf(Option<libc::cpu_set_t>);

impl PinSelf {
    fn new(cpu: usize) -> PinSelf {
        let saved = get_affinity();
        set_affinity(&cpu_set(cpu));
        PinSelf(saved)
    }
}

impl Drop for PinSelf {
    fn drop(&mut self) {
        if let Some(set) = &self.0 {
            set_affinity(set);
        }
    }
}

// ---------------------------------------------------------------- launching an init

/// What the namespace's first process runs, prepared before clone (the child must not
/// allocate).
struct Prepared {
    _args: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    report_w: Option<OwnedFd>,
    go_r: Option<OwnedFd>,
    devnull: OwnedFd,
    log: OwnedFd,
    /// CPU affinity for the namespace (inherited by the init and its child).
    cpus: Option<libc::cpu_set_t>,
}

/// A namespace's PID 1 (the init, or the command itself for "no init"), seen from outside.
struct Running {
    pid: libc::pid_t,
    report: Option<Reader>,
    go: Option<OwnedFd>,
    status: Option<i32>,
}

fn command(init: &Init, child: &[String]) -> Vec<String> {
    init.argv.iter().chain(child).cloned().collect()
}

fn prepare(
    cmd: &[String],
    report: bool,
    go: bool,
    log: &str,
    cpu: Option<usize>,
) -> io::Result<(Prepared, Option<Reader>, Option<OwnedFd>)> {
    let args = cmd
        .iter()
        .map(|a| CString::new(a.as_str()).map_err(|_| io::Error::other("NUL in argument")))
        .collect::<io::Result<Vec<CString>>>()?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let (reader, report_w) = if report {
        let (r, w) = pipe()?;
        (Some(Reader::new(r)), Some(w))
    } else {
        (None, None)
    };
    let (go_w, go_r) = if go {
        let (r, w) = pipe()?;
        (Some(w), Some(r))
    } else {
        (None, None)
    };
    let prepared = Prepared {
        _args: args,
        argv,
        report_w,
        go_r,
        devnull: open("/dev/null", libc::O_RDWR)?,
        log: open(log, libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND)?,
        cpus: cpu.map(cpu_set),
    };
    Ok((prepared, reader, go_w))
}

/// clone(CLONE_NEWPID | CLONE_NEWNS) and exec: the child is PID 1 of a fresh namespace with
/// its own /proc, as in a container. Consumes the child's pipe ends.
fn spawn(p: Prepared) -> io::Result<libc::pid_t> {
    let flags = (libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: clone without CLONE_VM and with a null stack behaves like fork; the harness is
    // single-threaded, and the child only makes raw syscalls before exec or _exit.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    if pid < 0 {
        return Err(last_error());
    }
    if pid == 0 {
        // SAFETY (whole block): syscalls on our own process with valid, prepared arguments.
        unsafe {
            libc::dup2(p.devnull.as_raw_fd(), 0);
            libc::dup2(p.devnull.as_raw_fd(), 1);
            libc::dup2(p.log.as_raw_fd(), 2);
            if let Some(w) = &p.report_w {
                libc::dup2(w.as_raw_fd(), 3);
            }
            if let Some(r) = &p.go_r {
                libc::dup2(r.as_raw_fd(), 4);
            }
            if let Some(set) = &p.cpus {
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set);
            }
            let none = std::ptr::null::<libc::c_char>();
            let private = (libc::MS_REC | libc::MS_PRIVATE) as libc::c_ulong;
            let procflags = (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as libc::c_ulong;
            if libc::mount(none, c"/".as_ptr(), none, private, std::ptr::null()) != 0
                || libc::mount(
                    c"proc".as_ptr(),
                    c"/proc".as_ptr(),
                    c"proc".as_ptr(),
                    procflags,
                    std::ptr::null(),
                ) != 0
            {
                let msg = b"bench_harness: cannot mount /proc in the new namespace\n";
                libc::write(2, msg.as_ptr().cast(), msg.len());
                libc::_exit(126);
            }
            libc::execv(p.argv[0], p.argv.as_ptr());
            let msg = b"bench_harness: exec failed\n";
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(127);
        }
    }
    Ok(pid as libc::pid_t)
}

fn launch(cmd: &[String], go: bool, log: &str) -> io::Result<Running> {
    launch_on(cmd, go, log, None)
}

fn launch_on(cmd: &[String], go: bool, log: &str, cpu: Option<usize>) -> io::Result<Running> {
    let (prepared, report, go) = prepare(cmd, true, go, log, cpu)?;
    let pid = spawn(prepared)?;
    Ok(Running {
        pid,
        report,
        go,
        status: None,
    })
}

fn wait_blocking(pid: libc::pid_t) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child with a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(status);
        }
        let err = last_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Waits until `pid` has exited, leaving it a zombie (WNOWAIT) so /proc can still be read.
fn wait_exited(pid: libc::pid_t) -> io::Result<()> {
    loop {
        // SAFETY: a zeroed siginfo_t is a valid out-parameter.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waiting for our own child with a valid out-pointer.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let err = last_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

impl Running {
    /// Waits for the child's "R" (it is up, under the init).
    fn ready(&mut self, timeout: Duration) -> io::Result<()> {
        let mut b = [0u8; 1];
        self.reader().read_exact(&mut b, Instant::now() + timeout)?;
        if b[0] != b'R' {
            return Err(io::Error::other("unexpected byte from the child"));
        }
        Ok(())
    }

    fn reader(&mut self) -> &mut Reader {
        self.report.as_mut().expect("launched with a report pipe")
    }

    /// SIGKILL to a namespace's PID 1 ends the whole namespace.
    fn finish(&mut self) {
        if self.status.is_none() {
            kill(self.pid, libc::SIGKILL);
            self.status = wait_blocking(self.pid).ok();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.finish();
    }
}

struct Reader {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl Reader {
    fn new(fd: OwnedFd) -> Reader {
        Reader { fd, buf: Vec::new() }
    }

    fn fill(&mut self, deadline: Instant) -> io::Result<()> {
        if !wait_readable(self.fd.as_raw_fd(), deadline)? {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "timed out waiting for the child",
            ));
        }
        let mut chunk = [0u8; 4096];
        // SAFETY: reading into a stack buffer of the given length.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), chunk.as_mut_ptr().cast(), chunk.len()) };
        if n < 0 {
            let err = last_error();
            return if err.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(err)
            };
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the child went away",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n as usize]);
        Ok(())
    }

    fn read_exact(&mut self, out: &mut [u8], deadline: Instant) -> io::Result<()> {
        while self.buf.len() < out.len() {
            self.fill(deadline)?;
        }
        out.copy_from_slice(&self.buf[..out.len()]);
        self.buf.drain(..out.len());
        Ok(())
    }

    fn read_line(&mut self, deadline: Instant) -> io::Result<String> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Ok(String::from_utf8_lossy(&line[..pos]).into_owned());
            }
            self.fill(deadline)?;
        }
    }
}

// ---------------------------------------------------------------- /proc readers

fn proc_field_kib(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn ctx_switches(pid: libc::pid_t) -> Option<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(path).ok()?;
    let get = |key: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse().ok())
    };
    Some(get("voluntary_ctxt_switches:")? + get("nonvoluntary_ctxt_switches:")?)
}

/// Time on CPU (ns), first field of /proc/PID/schedstat.
fn proc_cpu_ns(pid: libc::pid_t) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Minor page faults of the process itself (field 10 of /proc/PID/stat).
fn proc_minflt(pid: libc::pid_t) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 2..];
    // Fields from 3 (state) on; minflt is field 10.
    after.split_whitespace().nth(7)?.parse().ok()
}

fn proc_state(pid: libc::pid_t) -> Option<u8> {
    let text = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = text.iter().rposition(|&b| b == b')')?;
    text.get(close + 2).copied()
}

/// "static", "static-pie" or "dynamic", from the ELF header and program headers.
fn elf_linkage(path: &str) -> String {
    let Ok(data) = std::fs::read(path) else {
        return "unreadable".into();
    };
    let u16_at = |o: usize| {
        data.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |o: usize| {
        data.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        data.get(o..o + 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a) as usize
        })
    };
    if data.get(..4) != Some(b"\x7fELF".as_slice()) || data.get(4) != Some(&2) {
        return "not a 64-bit ELF".into();
    }
    let (Some(e_type), Some(phoff), Some(phentsize), Some(phnum)) =
        (u16_at(16), u64_at(32), u16_at(54), u16_at(56))
    else {
        return "truncated ELF".into();
    };
    let interp = (0..phnum).any(|i| u32_at(phoff + i * phentsize) == Some(3));
    match (interp, e_type) {
        (true, _) => "dynamic".into(),
        (false, 3) => "static-pie".into(),
        (false, 2) => "static".into(),
        _ => "other".into(),
    }
}

// ---------------------------------------------------------------- statistics and output

fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[rank.min(v.len() - 1)]
}

fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

/// A small xorshift: the run order only needs to differ between rounds, not be unpredictable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn shuffled(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        order
    }
}

/// What the cold test reads around one kill: the latency, and the init's faults and CPU time
/// before it (`u64::MAX`: unreadable).
struct Taken {
    ns: f64,
    faults: u64,
    cpu: u64,
    woke: Option<u64>,
}

/// One cold signal: its latency, and what it cost the init (None when /proc could not say).
struct ColdSample {
    ns: f64,
    faults: Option<u64>,
    cpu: Option<u64>,
    /// Times the init ran while it was meant to sit idle (from its child's "ready" to the kill).
    woke: Option<u64>,
}

/// Results keyed by init index, then metric name.
type Table = BTreeMap<(usize, &'static str), String>;

struct Ctx {
    opts: Opts,
    rng: Rng,
    out: String,
    summary: Table,
    failures: Vec<String>,
}

fn fmt_us(ns: f64) -> String {
    format!("{:.1} µs", ns / 1000.0)
}

fn fmt_ms(ns: f64) -> String {
    format!("{:.2} ms", ns / 1e6)
}

fn fmt_ratio(x: f64, base: f64) -> String {
    if base > 0.0 && x.is_finite() {
        format!("×{:.2}", x / base)
    } else {
        "n/a".into()
    }
}

impl Ctx {
    fn progress(&self, msg: &str) {
        eprintln!("bench: {msg}");
    }

    fn fail(&mut self, msg: String) {
        eprintln!("bench: FAIL: {msg}");
        self.failures.push(msg);
    }

    fn inits_for_smoke(&self) -> Vec<usize> {
        (0..self.opts.inits.len())
            .filter(|&i| !self.opts.smoke || self.opts.inits[i].is_none() || self.opts.inits[i].is_pidone())
            .collect()
    }

    // ------------------------------------------------------------ size

    fn size(&mut self) {
        let _ = writeln!(
            self.out,
            "\n## Binary size\n\n| init | file | bytes | MiB | linkage |\n|---|---|---:|---:|---|"
        );
        for i in 0..self.opts.inits.len() {
            let init = &self.opts.inits[i];
            if init.is_none() {
                continue;
            }
            let path = init.argv[0].clone();
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let linkage = elf_linkage(&path);
            let _ = writeln!(
                self.out,
                "| {} | `{path}` | {bytes} | {:.2} | {linkage} |",
                init.name,
                bytes as f64 / 1048576.0
            );
            self.summary.insert(
                (i, "size"),
                format!("{:.2} MiB ({linkage})", bytes as f64 / 1048576.0),
            );
            if init.name == "pidone"
                && let Some(recorded) = self.opts.recorded_size
                && bytes > 2 * recorded
            {
                let msg = format!("pidone is {bytes} bytes, over twice the recorded {recorded}");
                self.fail(msg);
            }
        }
    }

    // ------------------------------------------------------------ start-up

    fn startup(&mut self) {
        let idx = self.inits_for_smoke();
        let rounds = self.opts.startup_rounds;
        self.progress(&format!("start-up: `INIT -- /bin/true`, rounds: {rounds}"));
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); self.opts.inits.len()];
        let mut failed = vec![0usize; self.opts.inits.len()];
        let mut cpu_ns: Vec<Vec<f64>> = vec![Vec::new(); self.opts.inits.len()];
        let mut minflt: Vec<Vec<f64>> = vec![Vec::new(); self.opts.inits.len()];
        let child = vec!["/bin/true".to_string()];
        for _ in 0..rounds {
            for k in self.rng.shuffled(idx.len()) {
                let i = idx[k];
                let cmd = command(&self.opts.inits[i], &child);
                let Ok((prepared, _, _)) = prepare(&cmd, false, false, &self.opts.log, None) else {
                    failed[i] += 1;
                    continue;
                };
                let start = Instant::now();
                let exited = spawn(prepared).and_then(|pid| wait_exited(pid).map(|()| pid));
                let took = start.elapsed().as_nanos() as f64;
                let Ok(pid) = exited else {
                    failed[i] += 1;
                    continue;
                };
                // Still a zombie: its own CPU time and page faults can be read before reaping.
                let (cpu, faults) = (proc_cpu_ns(pid), proc_minflt(pid));
                match wait_blocking(pid) {
                    Ok(0) => {
                        times[i].push(took);
                        if let (Some(c), Some(f)) = (cpu, faults) {
                            cpu_ns[i].push(c as f64);
                            minflt[i].push(f as f64);
                        }
                    }
                    _ => failed[i] += 1,
                }
            }
        }
        let base = median(&times[0]);
        let _ = writeln!(
            self.out,
            "\n## Start-up: `INIT -- /bin/true` as PID 1 of a new PID+mount namespace\n\n\
             Rounds: {rounds}, the inits interleaved in random order in each; wall time from clone() to \
             the namespace's PID 1 has exited. Overhead = median − median(no init). CPU and faults: \
             the PID 1 process alone (the init, without its child; for \"no init\", /bin/true), from \
             /proc/PID/schedstat and /proc/PID/stat read while it is a zombie.\n\n\
             | init | median | p10 | p90 | overhead | ratio | CPU of PID 1 | minor faults of PID 1 | failed runs |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for &i in &idx {
            let m = median(&times[i]);
            let over = if i == 0 {
                "—".to_string()
            } else {
                format!("+{}", fmt_us(m - base))
            };
            let _ = writeln!(
                self.out,
                "| {} | {} | {} | {} | {over} | {} | {} | {:.0} | {} |",
                self.opts.inits[i].name,
                fmt_us(m),
                fmt_us(percentile(&times[i], 10.0)),
                fmt_us(percentile(&times[i], 90.0)),
                fmt_ratio(m, base),
                fmt_us(median(&cpu_ns[i])),
                median(&minflt[i]),
                failed[i]
            );
            let cell = if i == 0 {
                fmt_us(m)
            } else {
                format!("{} (+{}, {})", fmt_us(m), fmt_us(m - base), fmt_ratio(m, base))
            };
            self.summary.insert((i, "startup"), cell);
        }
    }

    // ------------------------------------------------------------ signal latency

    fn latency(&mut self) {
        let idx = self.inits_for_smoke();
        let (rounds, samples) = (self.opts.latency_rounds, self.opts.latency_samples);
        let pin_cpu = last_allowed_cpu();
        self.progress(&format!(
            "signal latency: rounds: {rounds}, {samples} SIGUSR1 per init and round, spread and on one CPU"
        ));
        // [mode][init]: mode 0 = scheduler's choice of CPUs, 1 = everything on one CPU.
        let mut lat: [Vec<Vec<f64>>; 2] = [
            vec![Vec::new(); self.opts.inits.len()],
            vec![Vec::new(); self.opts.inits.len()],
        ];
        let mut lost = vec![0usize; self.opts.inits.len()];
        let child = vec![self.opts.child.clone(), "latency".into()];
        let jobs: Vec<(usize, usize)> = idx.iter().flat_map(|&i| [(i, 0), (i, 1)]).collect();
        let settle = Duration::from_millis(self.opts.latency_settle_ms);
        for _ in 0..rounds {
            // Start every instance of the round first, then let them all sit idle for a while:
            // the scheduler's wake-up heuristics (wakee flips, lag) remember the start-up
            // (fork, exec, the init's own wait for the exec) for a few hundred milliseconds, and
            // a real signal comes long after start-up.
            let mut runs: Vec<(usize, usize, Running)> = Vec::new();
            for &(i, mode) in &jobs {
                let cpu = if mode == 1 { pin_cpu } else { None };
                if mode == 1 && cpu.is_none() {
                    continue;
                }
                let cmd = command(&self.opts.inits[i], &child);
                let started = launch_on(&cmd, false, &self.opts.log, cpu)
                    .and_then(|mut r| r.ready(Duration::from_secs(10)).map(|()| r));
                match started {
                    Ok(r) => runs.push((i, mode, r)),
                    Err(e) => self.fail(format!("latency: {} did not start: {e}", self.opts.inits[i].name)),
                }
            }
            std::thread::sleep(settle);
            for k in self.rng.shuffled(runs.len()) {
                let (i, mode, run) = &mut runs[k];
                let _pinned = if *mode == 1 {
                    pin_cpu.map(PinSelf::new)
                } else {
                    None
                };
                for _ in 0..samples {
                    // Let the init go back to sleep: each sample starts from idle, as a real signal would.
                    std::thread::sleep(Duration::from_millis(2));
                    let sent = monotonic_ns();
                    kill(run.pid, libc::SIGUSR1);
                    let mut stamp = [0u8; 8];
                    match run
                        .reader()
                        .read_exact(&mut stamp, Instant::now() + Duration::from_secs(2))
                    {
                        Ok(()) => lat[*mode][*i].push(u64::from_ne_bytes(stamp).saturating_sub(sent) as f64),
                        Err(_) => {
                            lost[*i] += 1;
                            break;
                        }
                    }
                }
            }
            for (_, _, run) in &mut runs {
                run.finish();
            }
        }
        let base = median(&lat[0][0]);
        let base1 = median(&lat[1][0]);
        let settle_ms = self.opts.latency_settle_ms;
        let cpu_note = match pin_cpu {
            Some(c) => format!("CPU {c}"),
            None => "(not measured: no CPU affinity)".into(),
        };
        let _ = writeln!(
            self.out,
            "\n## Signal latency: kill(INIT, SIGUSR1) → the child's handler runs\n\n\
             Rounds: {rounds}; in each, every init is started twice, all instances are left idle for \
             {settle_ms} ms, and then each (in random order) gets {samples} signals 2 ms apart (each from \
             idle): once where the scheduler puts it (\"spread\"), once with the sender, the init and the \
             child all on {cpu_note} (\"one CPU\": no cross-CPU wake-ups, so it shows the init's own \
             path with less noise). The sender takes \
             CLOCK_MONOTONIC just before kill(), the child's handler takes it first thing. \"No init\": \
             the signal goes straight to the child (PID 1 with a handler).\n\n\
             | init | spread: median | p10 | p90 | ratio | one CPU: median | p10 | p90 | ratio | samples | lost |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for &i in &idx {
            let (a, b) = (&lat[0][i], &lat[1][i]);
            let (m, m1) = (median(a), median(b));
            let _ = writeln!(
                self.out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                self.opts.inits[i].name,
                fmt_us(m),
                fmt_us(percentile(a, 10.0)),
                fmt_us(percentile(a, 90.0)),
                fmt_ratio(m, base),
                fmt_us(m1),
                fmt_us(percentile(b, 10.0)),
                fmt_us(percentile(b, 90.0)),
                fmt_ratio(m1, base1),
                a.len() + b.len(),
                lost[i]
            );
            let cell = if i == 0 {
                format!("{} / {}", fmt_us(m), fmt_us(m1))
            } else {
                format!(
                    "{} ({}) / {} ({})",
                    fmt_us(m),
                    fmt_ratio(m, base),
                    fmt_us(m1),
                    fmt_ratio(m1, base1)
                )
            };
            self.summary.insert((i, "latency"), cell);
        }
    }

    // ------------------------------------------------------------ cold signal latency

    /// One SIGTERM per fresh init, sent after the init has sat idle for a while since its
    /// child said it was ready. This is the case that matters in a container (`docker stop`
    /// comes long after start-up), and the one the warm test above does not see: there,
    /// every init's code and data are still in the caches and page tables from the previous
    /// signal 2 ms earlier.
    fn cold(&mut self) {
        let idx = self.inits_for_smoke();
        let rounds = self.opts.cold_rounds;
        let idles = self.opts.cold_idle_ms.clone();
        let pin_cpu = last_allowed_cpu();
        self.progress(&format!(
            "cold signal latency: rounds: {rounds}, idle times {idles:?} ms, one SIGTERM per fresh init, \
             spread and on one CPU"
        ));
        let n = self.opts.inits.len();
        let mut per_init: Vec<Vec<[Vec<ColdSample>; 2]>> = Vec::new();
        for _ in &idles {
            per_init.push((0..n).map(|_| [Vec::new(), Vec::new()]).collect());
        }
        let mut lost = vec![vec![0usize; n]; idles.len()];
        let mut late = vec![vec![0usize; n]; idles.len()];
        let child = vec![self.opts.child.clone(), "latency".into()];
        let mut jobs: Vec<(usize, usize)> = Vec::new();
        for &i in &idx {
            jobs.push((i, 0));
            if pin_cpu.is_some() {
                jobs.push((i, 1));
            }
        }
        for _ in 0..rounds {
            for k in self.rng.shuffled(idles.len()) {
                let idle = Duration::from_millis(idles[k]);
                let order: Vec<(usize, usize)> = self
                    .rng
                    .shuffled(jobs.len())
                    .into_iter()
                    .map(|j| jobs[j])
                    .collect();
                // Short idle times: one instance at a time (start, wait, signal, stop). Long
                // ones: start them all, then signal each in the same order, `idle` after its
                // own child was ready (the starts are ~1-2 ms apart, a measurement ~0.1 ms).
                let batches: Vec<Vec<(usize, usize)>> = if idles[k] < 100 {
                    order.iter().map(|&j| vec![j]).collect()
                } else {
                    vec![order]
                };
                for batch in batches {
                    let mut runs: Vec<(usize, usize, Running, Instant, Option<u64>)> = Vec::new();
                    for (i, mode) in batch {
                        let cpu = if mode == 1 { pin_cpu } else { None };
                        let cmd = command(&self.opts.inits[i], &child);
                        let started = launch_on(&cmd, false, &self.opts.log, cpu)
                            .and_then(|mut r| r.ready(Duration::from_secs(10)).map(|()| r));
                        match started {
                            Ok(r) => {
                                let switches = ctx_switches(r.pid);
                                runs.push((i, mode, r, Instant::now(), switches))
                            }
                            Err(e) => {
                                self.fail(format!("cold: {} did not start: {e}", self.opts.inits[i].name))
                            }
                        }
                    }
                    let mut taken: Vec<Option<Taken>> = Vec::new();
                    for (i, mode, run, ready_at, switches_at_ready) in &mut runs {
                        let _pinned = if *mode == 1 {
                            pin_cpu.map(PinSelf::new)
                        } else {
                            None
                        };
                        let due = *ready_at + idle;
                        let now = Instant::now();
                        if now > due + Duration::from_millis(2) + idle / 20 {
                            late[k][*i] += 1;
                            taken.push(None);
                            continue;
                        }
                        std::thread::sleep(due.saturating_duration_since(now));
                        // A sleeping init is switched out once per wake-up (the idle test's count).
                        let woke = ctx_switches(run.pid)
                            .zip(*switches_at_ready)
                            .map(|(now, then)| now.saturating_sub(then));
                        let before = (proc_minflt(run.pid), proc_cpu_ns(run.pid));
                        let sent = monotonic_ns();
                        kill(run.pid, libc::SIGTERM);
                        let mut stamp = [0u8; 8];
                        match run
                            .reader()
                            .read_exact(&mut stamp, Instant::now() + Duration::from_secs(2))
                        {
                            Ok(()) => {
                                let ns = u64::from_ne_bytes(stamp).saturating_sub(sent) as f64;
                                let (faults, cpu) = match before {
                                    (Some(f), Some(c)) => (f, c),
                                    _ => (u64::MAX, u64::MAX),
                                };
                                taken.push(Some(Taken {
                                    ns,
                                    faults,
                                    cpu,
                                    woke,
                                }));
                            }
                            Err(_) => {
                                lost[k][*i] += 1;
                                taken.push(None);
                            }
                        }
                    }
                    // Let every init finish its wake-up and sleep again, then read what the
                    // one signal cost it: CPU time and minor page faults (the init alone).
                    std::thread::sleep(Duration::from_millis(2));
                    for ((i, mode, run, _, _), t) in runs.iter_mut().zip(taken) {
                        if let Some(Taken {
                            ns,
                            faults: f0,
                            cpu: c0,
                            woke,
                        }) = t
                        {
                            let faults = proc_minflt(run.pid)
                                .filter(|_| f0 != u64::MAX)
                                .map(|f| f.saturating_sub(f0));
                            let cpu = proc_cpu_ns(run.pid)
                                .filter(|_| c0 != u64::MAX)
                                .map(|c| c.saturating_sub(c0));
                            per_init[k][*i][*mode].push(ColdSample {
                                ns,
                                faults,
                                cpu,
                                woke,
                            });
                        }
                        run.finish();
                    }
                }
            }
        }
        let tini = (0..n).find(|&i| self.opts.inits[i].name == "tini-static");
        let cpu_note = match pin_cpu {
            Some(c) => format!("CPU {c}"),
            None => "(not measured: no CPU affinity)".into(),
        };
        let _ = writeln!(
            self.out,
            "\n## Cold signal latency: the first signal to an init that has sat idle\n\n\
             Rounds: {rounds} per idle time; in each, every init is started fresh (PID 1 of a new \
             namespace) twice, once where the scheduler puts it (\"spread\") and once with the sender, \
             the init and the child on {cpu_note} (\"one CPU\"), in random order. Once its child has \
             written \"ready\", the init is left idle for the given time, then gets one SIGTERM. \
             Idle times under 100 ms: one instance at a time; longer: all instances of the round are \
             started first and each is signalled its idle time after its own child was ready. The \
             sender takes CLOCK_MONOTONIC just before kill(), the child's handler takes it first \
             thing. Ratio: median over tini-static's median in the same mode. \"CPU\" and \"faults\": \
             what that one signal cost the init itself (its CPU time from /proc/PID/schedstat and its \
             minor page faults from /proc/PID/stat, read before the kill and 2 ms after the \
             handler ran), medians of the spread runs. \"Ran while idle\": how many times the init \
             was switched out between its child's \"ready\" and the kill (its context switches in \
             /proc/PID/status, as in the idle test), median \
             over both modes: an init that wakes on a timer has run just before the signal when \
             the idle time is a multiple of its period (tini-static: 1 s), and its code and data are \
             warm then (a process still finishing its start-up when the \"ready\" came counts 1 \
             too: \"no init\" is the child itself). \"No init\": the signal goes straight to \
             the child."
        );
        let mut cells: Vec<Vec<String>> = vec![Vec::new(); n];
        for (k, &idle_ms) in idles.iter().enumerate() {
            let _ = writeln!(
                self.out,
                "\n### {idle_ms} ms idle\n\n\
                 | init | spread: median | p10 | p90 | × tini-static | one CPU: median | p10 | p90 | × tini-static | CPU per signal | faults per signal | ran while idle | samples | lost | late |\n\
                 |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            );
            let lat = |i: usize, m: usize| -> Vec<f64> { per_init[k][i][m].iter().map(|s| s.ns).collect() };
            let tm = |m: usize| tini.map(|t| median(&lat(t, m))).unwrap_or(f64::NAN);
            let (t0, t1) = (tm(0), tm(1));
            for &i in &idx {
                let (a, b) = (lat(i, 0), lat(i, 1));
                let (m, m1) = (median(&a), median(&b));
                let cpu: Vec<f64> = per_init[k][i][0]
                    .iter()
                    .filter_map(|s| s.cpu)
                    .map(|c| c as f64)
                    .collect();
                let flt: Vec<f64> = per_init[k][i][0]
                    .iter()
                    .filter_map(|s| s.faults)
                    .map(|c| c as f64)
                    .collect();
                let woke: Vec<f64> = per_init[k][i]
                    .iter()
                    .flatten()
                    .filter_map(|s| s.woke)
                    .map(|w| w as f64)
                    .collect();
                let _ = writeln!(
                    self.out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {} | {} | {} |",
                    self.opts.inits[i].name,
                    fmt_us(m),
                    fmt_us(percentile(&a, 10.0)),
                    fmt_us(percentile(&a, 90.0)),
                    fmt_ratio(m, t0),
                    fmt_us(m1),
                    fmt_us(percentile(&b, 10.0)),
                    fmt_us(percentile(&b, 90.0)),
                    fmt_ratio(m1, t1),
                    fmt_us(median(&cpu)),
                    median(&flt),
                    median(&woke),
                    a.len() + b.len(),
                    lost[k][i],
                    late[k][i]
                );
                cells[i].push(if tini.is_some() && i != 0 {
                    format!(
                        "{idle_ms} ms: {} ({}) / {} ({})",
                        fmt_us(m),
                        fmt_ratio(m, t0),
                        fmt_us(m1),
                        fmt_ratio(m1, t1)
                    )
                } else {
                    format!("{idle_ms} ms: {} / {}", fmt_us(m), fmt_us(m1))
                });
            }
        }
        for &i in &idx {
            self.summary.insert((i, "cold"), cells[i].join("; "));
        }
    }

    // ------------------------------------------------------------ idle: memory and wake-ups

    fn idle(&mut self) {
        let idx: Vec<usize> = self.inits_for_smoke().into_iter().filter(|&i| i != 0).collect();
        let (rounds, secs) = (self.opts.idle_rounds, self.opts.idle_secs);
        self.progress(&format!(
            "idle: rounds: {rounds}, {secs} s each, all inits side by side"
        ));
        let mut rss: Vec<Vec<f64>> = vec![Vec::new(); self.opts.inits.len()];
        let mut pss: Vec<Vec<f64>> = vec![Vec::new(); self.opts.inits.len()];
        let mut wakes: Vec<Vec<f64>> = vec![Vec::new(); self.opts.inits.len()];
        let child = vec![self.opts.child.clone(), "sleep".into()];
        for _ in 0..rounds {
            let mut runs: Vec<(usize, Running)> = Vec::new();
            for &i in &idx {
                let cmd = command(&self.opts.inits[i], &child);
                match launch(&cmd, false, &self.opts.log)
                    .and_then(|mut r| r.ready(Duration::from_secs(10)).map(|()| r))
                {
                    Ok(r) => runs.push((i, r)),
                    Err(e) => self.fail(format!("idle: {} did not start: {e}", self.opts.inits[i].name)),
                }
            }
            // Settle: start counting once the init has finished starting up and sleeps.
            let settle_until = Instant::now() + Duration::from_secs(3);
            let mut last: Vec<Option<u64>> = runs.iter().map(|(_, r)| ctx_switches(r.pid)).collect();
            while Instant::now() < settle_until {
                std::thread::sleep(Duration::from_millis(300));
                let now: Vec<Option<u64>> = runs.iter().map(|(_, r)| ctx_switches(r.pid)).collect();
                let stable = now == last;
                last = now;
                if stable {
                    break;
                }
            }
            for (i, r) in &runs {
                let rollup = format!("/proc/{}/smaps_rollup", r.pid);
                if let (Some(a), Some(b)) = (proc_field_kib(&rollup, "Rss:"), proc_field_kib(&rollup, "Pss:"))
                {
                    rss[*i].push(a as f64);
                    pss[*i].push(b as f64);
                }
            }
            let before: Vec<Option<u64>> = runs.iter().map(|(_, r)| ctx_switches(r.pid)).collect();
            std::thread::sleep(Duration::from_secs(secs));
            for (k, (i, r)) in runs.iter().enumerate() {
                if let (Some(a), Some(b)) = (before[k], ctx_switches(r.pid)) {
                    wakes[*i].push((b - a) as f64);
                }
            }
            for (_, r) in &mut runs {
                r.finish();
            }
        }
        let _ = writeln!(
            self.out,
            "\n## Idle: memory and wake-ups with a sleeping child\n\n\
             Rounds: {rounds}; in each, every init runs side by side with a child that sleeps in pause(). \
             RSS/PSS from /proc/PID/smaps_rollup of the init once it has settled; wake-ups = \
             voluntary + involuntary context switches of the init (/proc/PID/status) over {secs} s. \
             Medians over rounds.\n\n\
             | init | RSS | PSS | wake-ups / {secs} s | per round |\n|---|---:|---:|---:|---|"
        );
        for &i in &idx {
            let per_round: Vec<String> = wakes[i].iter().map(|w| format!("{w}")).collect();
            let _ = writeln!(
                self.out,
                "| {} | {:.0} KiB | {:.0} KiB | {} | {} |",
                self.opts.inits[i].name,
                median(&rss[i]),
                median(&pss[i]),
                median(&wakes[i]),
                per_round.join(", ")
            );
            self.summary.insert(
                (i, "rss"),
                format!("{:.0} KiB / {:.0} KiB", median(&rss[i]), median(&pss[i])),
            );
            // Per 10 s, whatever the window, so smoke and full runs read alike.
            let per10 = median(&wakes[i]) * 10.0 / secs as f64;
            self.summary.insert((i, "wakes"), format!("{per10:.0}"));
            if self.opts.smoke && self.opts.inits[i].name == "pidone" && wakes[i].iter().any(|&w| w > 0.0) {
                let msg = format!(
                    "pidone woke up {} times in {secs} s while idle (expected 0)",
                    per_round.join("+")
                );
                self.fail(msg);
            }
            if self.opts.smoke && self.opts.inits[i].name == "pidone" && wakes[i].is_empty() {
                self.fail("idle: no measurement for pidone".into());
            }
            // The budget (SPEC §8): 1 MiB. Text laid out by link/hot-symbols.txt keeps it near
            // 600 KiB; without the layout (a stale or lost list) it was 1,108 KiB.
            let idle_rss = median(&rss[i]);
            if self.opts.smoke && self.opts.inits[i].name == "pidone" && idle_rss > 1024.0 {
                self.fail(format!(
                    "pidone's idle RSS is {idle_rss:.0} KiB (budget 1,024 KiB)"
                ));
            }
        }
    }

    // ------------------------------------------------------------ stop with a SIGTERM-ignoring child

    fn stop(&mut self) {
        let idx: Vec<usize> = self.inits_for_smoke().into_iter().filter(|&i| i != 0).collect();
        let rounds = self.opts.stop_rounds;
        let grace = Duration::from_millis(self.opts.pidone_grace_ms);
        let give_up = grace + Duration::from_secs(3);
        self.progress(&format!(
            "stop: rounds: {rounds}, SIGTERM to every init side by side, child ignores it"
        ));
        let mut took: Vec<Vec<f64>> = vec![Vec::new(); self.opts.inits.len()];
        let mut codes: Vec<Vec<i32>> = vec![Vec::new(); self.opts.inits.len()];
        let mut hung = vec![0usize; self.opts.inits.len()];
        let child = [self.opts.child.clone(), "ignore-term".into()];
        for _ in 0..rounds {
            let mut runs: Vec<(usize, Running, OwnedFd)> = Vec::new();
            for &i in &idx {
                let init = &self.opts.inits[i];
                let mut argv = init.argv.clone();
                if init.is_pidone() {
                    argv.splice(1..1, ["--grace".to_string(), format!("{}ms", grace.as_millis())]);
                }
                let cmd: Vec<String> = argv.into_iter().chain(child.iter().cloned()).collect();
                let started = launch(&cmd, false, &self.opts.log)
                    .and_then(|mut r| r.ready(Duration::from_secs(10)).map(|()| r))
                    .and_then(|r| pidfd_open(r.pid).map(|fd| (r, fd)));
                match started {
                    Ok((r, fd)) => runs.push((i, r, fd)),
                    Err(e) => self.fail(format!("stop: {} did not start: {e}", init.name)),
                }
            }
            std::thread::sleep(Duration::from_millis(100));
            let mut sent = Vec::new();
            for (_, r, _) in &runs {
                sent.push(Instant::now());
                kill(r.pid, libc::SIGTERM);
            }
            let deadline = sent.first().copied().unwrap_or_else(Instant::now) + give_up;
            let mut open: Vec<usize> = (0..runs.len()).collect();
            while !open.is_empty() {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let mut pfds: Vec<libc::pollfd> = open
                    .iter()
                    .map(|&k| libc::pollfd {
                        fd: runs[k].2.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    })
                    .collect();
                // SAFETY: a valid array of pollfds of the given length.
                let n = unsafe {
                    libc::poll(
                        pfds.as_mut_ptr(),
                        pfds.len() as libc::nfds_t,
                        left.as_millis() as i32,
                    )
                };
                let now = Instant::now();
                if n <= 0 {
                    continue;
                }
                let mut still = Vec::new();
                for (pfd, &k) in pfds.iter().zip(&open) {
                    if pfd.revents == 0 {
                        still.push(k);
                        continue;
                    }
                    let (i, r, _) = &mut runs[k];
                    took[*i].push((now - sent[k]).as_nanos() as f64);
                    if let Ok(status) = wait_blocking(r.pid) {
                        r.status = Some(status);
                        let code = if libc::WIFEXITED(status) {
                            libc::WEXITSTATUS(status)
                        } else {
                            128 + libc::WTERMSIG(status)
                        };
                        codes[*i].push(code);
                    }
                }
                open = still;
            }
            for k in open {
                hung[runs[k].0] += 1;
            }
            for (_, r, _) in &mut runs {
                r.finish();
            }
        }
        let g = grace.as_secs_f64();
        let _ = writeln!(
            self.out,
            "\n## Stop of a child that ignores SIGTERM\n\n\
             Rounds: {rounds}; in each, every init runs side by side with a child that ignores SIGTERM, gets one \
             SIGTERM, and is watched (pidfd) for {:.1} s. pidone runs with `--grace {}ms`; the others \
             have no deadline of their own: they forward SIGTERM and wait for the child forever, until \
             the container runtime SIGKILLs the whole container (`docker stop`: after 10 s).\n\n\
             | init | stopped in (median) | setting | exit codes | still running after {:.1} s |\n|---|---:|---:|---|---:|",
            give_up.as_secs_f64(),
            grace.as_millis(),
            give_up.as_secs_f64()
        );
        for &i in &idx {
            let setting = if self.opts.inits[i].is_pidone() {
                format!("{g:.2} s")
            } else {
                "none".into()
            };
            let stopped = if took[i].is_empty() {
                "—".into()
            } else {
                format!("{:.3} s", median(&took[i]) / 1e9)
            };
            let codes_s: Vec<String> = codes[i].iter().map(|c| c.to_string()).collect();
            let _ = writeln!(
                self.out,
                "| {} | {stopped} | {setting} | {} | {}/{rounds} |",
                self.opts.inits[i].name,
                if codes_s.is_empty() {
                    "—".into()
                } else {
                    codes_s.join(", ")
                },
                hung[i]
            );
            let cell = if hung[i] == rounds {
                format!(
                    "never (no deadline; still running after {:.0} s)",
                    give_up.as_secs_f64()
                )
            } else if self.opts.inits[i].is_pidone() {
                format!("{stopped} (grace {g:.0} s)")
            } else {
                stopped
            };
            self.summary.insert((i, "stop"), cell);
        }
    }

    // ------------------------------------------------------------ reaping orphaned zombies

    /// One reap run: (wall ns, CPU ns of the reaper, zombies left).
    fn reap_once(&mut self, i: usize, n: usize) -> io::Result<(f64, f64, usize)> {
        let init = &self.opts.inits[i];
        let cmd = command(init, &[self.opts.child.clone(), "zombies".into(), n.to_string()]);
        let mut run = launch(&cmd, true, &self.opts.log)?;
        run.ready(Duration::from_secs(10))?;
        if !init.is_none() {
            kill(run.pid, libc::SIGSTOP);
            let until = Instant::now() + Duration::from_secs(5);
            while proc_state(run.pid) != Some(b'T') {
                if Instant::now() > until {
                    return Err(io::Error::other("the init did not stop"));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let go = run.go.take().ok_or_else(|| io::Error::other("no go pipe"))?;
        // SAFETY: writing one byte from a live buffer to our pipe.
        if unsafe { libc::write(go.as_raw_fd(), b"g".as_ptr().cast(), 1) } != 1 {
            return Err(last_error());
        }
        let made = run
            .reader()
            .read_line(Instant::now() + Duration::from_secs(120))?;
        if made != format!("zombies {n}") {
            return Err(io::Error::other(format!("unexpected report '{made}'")));
        }
        // The init is stopped: its CPU time stands still until SIGCONT.
        let cpu_before = proc_cpu_ns(run.pid);
        let start = monotonic_ns();
        if !init.is_none() {
            kill(run.pid, libc::SIGCONT);
        }
        let done = run.reader().read_line(Instant::now() + Duration::from_secs(60))?;
        let cpu_after = proc_cpu_ns(run.pid);
        run.finish();
        let parts: Vec<&str> = done.split_whitespace().collect();
        let num = |k: usize| parts.get(k).and_then(|v| v.parse::<u64>().ok());
        match (parts.first().copied(), num(1), num(2), num(3)) {
            (Some("done"), Some(end), Some(left), _) => {
                let cpu = match (cpu_before, cpu_after) {
                    (Some(a), Some(b)) => b.saturating_sub(a) as f64,
                    _ => f64::NAN,
                };
                Ok((end.saturating_sub(start) as f64, cpu, left as usize))
            }
            (Some("selfreap"), Some(took), Some(left), Some(cpu)) => {
                Ok((took as f64, cpu as f64, left as usize))
            }
            _ => Err(io::Error::other(format!("unexpected report '{done}'"))),
        }
    }

    fn reap(&mut self) {
        let idx = self.inits_for_smoke();
        let (rounds, n) = (self.opts.reap_rounds, self.opts.reap_n);
        self.progress(&format!(
            "reap: rounds: {rounds}, {n} orphaned zombies per init and round"
        ));
        let mut took: Vec<Vec<f64>> = vec![Vec::new(); self.opts.inits.len()];
        let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); self.opts.inits.len()];
        let mut left: Vec<Vec<usize>> = vec![Vec::new(); self.opts.inits.len()];
        for _ in 0..rounds {
            for k in self.rng.shuffled(idx.len()) {
                let i = idx[k];
                match self.reap_once(i, n) {
                    Ok((t, c, l)) => {
                        took[i].push(t);
                        if c.is_finite() {
                            cpu[i].push(c);
                        }
                        left[i].push(l);
                    }
                    Err(e) => self.fail(format!("reap: {}: {e}", self.opts.inits[i].name)),
                }
            }
        }
        let (base, base_cpu) = (median(&took[0]), median(&cpu[0]));
        let _ = writeln!(
            self.out,
            "\n## Reaping {n} orphaned zombies\n\n\
             Rounds: {rounds}, the inits interleaved. The init is SIGSTOPped; its child double-forks {n} \
             processes that exit at once (zombies of PID 1); once all have exited the init gets SIGCONT, \
             and the wall time runs until every one of them is gone (the child polls kill(pid, 0) for \
             ESRCH, every 100 µs). CPU: the init's own CPU time from SIGCONT to the end \
             (/proc/PID/schedstat), which the load from other processes does not inflate. \"No init\": \
             the child is PID 1 and reaps them itself with a blocking waitpid loop, the least any \
             reaper can do (its wall and CPU time of that loop). Zombies left: still there 30 s \
             later.\n\n\
             | init | wall: median | min | max | ratio | CPU of the reaper: median | min | ratio | zombies left |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for &i in &idx {
            let (m, mc) = (median(&took[i]), median(&cpu[i]));
            let l: usize = left[i].iter().copied().max().unwrap_or(0);
            let _ = writeln!(
                self.out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {l} |",
                self.opts.inits[i].name,
                fmt_ms(m),
                fmt_ms(percentile(&took[i], 0.0)),
                fmt_ms(percentile(&took[i], 100.0)),
                fmt_ratio(m, base),
                fmt_ms(mc),
                fmt_ms(percentile(&cpu[i], 0.0)),
                fmt_ratio(mc, base_cpu),
            );
            let cell = if i == 0 {
                format!("{} / {}", fmt_ms(m), fmt_ms(mc))
            } else {
                format!(
                    "{} ({}) / {} ({}), {l} left",
                    fmt_ms(m),
                    fmt_ratio(m, base),
                    fmt_ms(mc),
                    fmt_ratio(mc, base_cpu)
                )
            };
            self.summary.insert((i, "reap"), cell);
            if self.opts.inits[i].name == "pidone" && (l > 0 || took[i].is_empty()) {
                let msg = format!("pidone left {l} zombies (or the reap test failed)");
                self.fail(msg);
            }
        }
    }

    fn summary_table(&self) -> String {
        let rows: [(&str, String); 8] = [
            (
                "startup",
                "start-up `INIT -- /bin/true` (median; overhead, ratio)".into(),
            ),
            ("rss", "idle memory of the init, RSS / PSS".into()),
            ("wakes", "idle wake-ups per 10 s".into()),
            (
                "latency",
                "signal latency, kill → child's handler, median (ratio): spread / one CPU".into(),
            ),
            (
                "cold",
                "first signal after idle, kill → child's handler, median (× tini-static): spread / one CPU"
                    .into(),
            ),
            (
                "reap",
                format!(
                    "reap {} orphaned zombies, median (ratio): wall / CPU of the reaper; left",
                    self.opts.reap_n
                ),
            ),
            ("stop", "stop with a child that ignores SIGTERM".into()),
            ("size", "binary size (linkage)".into()),
        ];
        let cols: Vec<usize> = (0..self.opts.inits.len()).collect();
        let mut s = String::from("| metric |");
        for &i in &cols {
            let _ = write!(s, " {} |", self.opts.inits[i].name);
        }
        s.push_str("\n|---|");
        for _ in &cols {
            s.push_str("---|");
        }
        s.push('\n');
        for (key, label) in rows {
            if !cols.iter().any(|&i| self.summary.contains_key(&(i, key))) {
                continue;
            }
            let _ = write!(s, "| {label} |");
            for &i in &cols {
                let _ = write!(
                    s,
                    " {} |",
                    self.summary.get(&(i, key)).map_or("—", String::as_str)
                );
            }
            s.push('\n');
        }
        s
    }
}

fn main() {
    let opts = parse_opts();
    // SAFETY: plain getuid.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("bench_harness: needs root (new PID and mount namespaces, mounting /proc)");
        exit(2);
    }
    let seed = monotonic_ns() | 1;
    let tests = opts.tests.clone();
    let mut ctx = Ctx {
        opts,
        rng: Rng(seed),
        out: String::new(),
        summary: Table::new(),
        failures: Vec::new(),
    };
    for t in &tests {
        match t.as_str() {
            "size" => ctx.size(),
            "startup" => ctx.startup(),
            "latency" => ctx.latency(),
            "cold" => ctx.cold(),
            "idle" => ctx.idle(),
            "stop" => ctx.stop(),
            "reap" => ctx.reap(),
            other => usage(&format!("unknown test '{other}'")),
        }
    }
    println!("## Summary\n\n{}{}", ctx.summary_table(), ctx.out);
    if !ctx.failures.is_empty() {
        println!("\n## Failures\n");
        for f in &ctx.failures {
            println!("- {f}");
        }
        exit(1);
    }
}
