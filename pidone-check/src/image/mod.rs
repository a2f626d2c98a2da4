//! Image mode (SPEC §6b): not implemented yet.

/// The whole invocation; returns the exit code.
pub fn main(_config: &crate::options::ImageConfig) -> i32 {
    crate::say("--image is not implemented yet");
    crate::options::EXIT_USAGE
}
