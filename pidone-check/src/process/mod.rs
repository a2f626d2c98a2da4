//! Process mode (SPEC §6): a command under pidone's own supervisor.

pub mod run; //        one run against the OS: start the supervisor, probe, stop, collect
pub mod supervisor; // the hidden mode that runs pidone's loop and reports back
pub mod verdict; //    what a run saw → the reasons it failed (pure)
pub mod wire; //       the supervisor's report over a pipe (pure)
