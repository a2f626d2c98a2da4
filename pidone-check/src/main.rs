//! The `pidone-check` binary: tests whether an application shuts down cleanly (SPEC §6).
//!
//! `no_main` for the same reason as `pidone`: Rust's start-up code would set SIGPIPE to
//! ignored, and the application under test must inherit the dispositions pidone-check got.
//! (Under `cargo test` the harness brings its own `main`, so ours steps aside.)
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use std::ffi::{c_char, c_int};

#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // std reads argv itself on glibc (from .init_array), even without its runtime.
    pidone_check::main_with_args(std::env::args_os().collect())
}
