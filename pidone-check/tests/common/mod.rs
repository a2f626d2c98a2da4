//! Helpers shared by the end-to-end tests (`check.rs`, `image.rs`): running pidone-check to
//! completion, and reading its reports.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// What pidone-check did: exit code, stdout (the report), stderr (its messages and the app's output).
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Out {
    /// The report (stdout) says `text`; on failure, shows all that pidone-check did.
    #[track_caller]
    pub fn assert_reports(&self, text: &str) {
        assert!(self.stdout.contains(text), "{self}");
    }
}

/// A command line split into arguments at white space; '…' keeps white space in one argument.
pub fn argv(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    for (i, part) in line.split('\'').enumerate() {
        if i % 2 == 1 {
            args.push(part.to_owned());
        } else {
            args.extend(part.split_whitespace().map(str::to_owned));
        }
    }
    args
}

/// target/release (the test binaries are target/release/deps/NAME-HASH).
pub fn release_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// Reads a pipe to its end on a thread of its own.
pub fn reader(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for pidone-check's exit code; one that hangs fails the test after `limit` instead of
/// hanging it.
pub fn wait(child: &mut Child, limit: Duration, what: &dyn fmt::Debug) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().expect("pidone-check exited, not killed");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("pidone-check {what:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `cmd` (stdout and stderr piped) to completion within `limit`; returns what it did and
/// its pid.
pub fn finish(mut cmd: Command, limit: Duration) -> (Out, u32) {
    let mut child = cmd.spawn().expect("start pidone-check");
    let stdout = reader(child.stdout.take().unwrap());
    let stderr = reader(child.stderr.take().unwrap());
    let code = wait(&mut child, limit, &cmd.get_args().collect::<Vec<_>>());
    let out = Out {
        code,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    (out, child.id())
}

/// A non-negative integer field of a JSON object.
pub fn json_number(object: &str, key: &str) -> u64 {
    let at = object
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key} in {object}"))
        + key.len()
        + 3;
    let digits: String = object[at..].chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not a number in {object}"))
}
