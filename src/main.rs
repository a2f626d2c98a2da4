//! The `pidone` binary.
//!
//! `no_main`: Rust's own start-up code sets SIGPIPE to ignored (and installs SIGSEGV
//! handlers) before `main`, and an ignored SIGPIPE would be inherited by the command. With
//! our own C `main`, the dispositions pidone was started with are the ones it sees and passes on.
//! (Under `cargo test` the harness brings its own `main`, so ours steps aside.)
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use std::ffi::{c_char, c_int};

#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // std reads argv itself on glibc (from .init_array), even without its runtime.
    pidone::main_with_args(std::env::args_os().collect())
}
