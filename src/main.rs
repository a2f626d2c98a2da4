//! The `pidone` binary.
//!
//! `no_main`: Rust's own start-up code sets SIGPIPE to ignored (and installs SIGSEGV
//! handlers) before `main`, and an ignored SIGPIPE would be inherited by the command. With
//! our own C `main`, the dispositions pidone was started with are the ones it sees and passes on.
#![no_main]

use std::ffi::{c_char, c_int};

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // std reads argv itself on glibc (from .init_array), even without its runtime.
    pidone::main_with_args(std::env::args_os().collect())
}
