//! Replays every conformance case against the engine, in-process.

use conformance::{replay_each, run_case, CoreTarget};

fn main() -> std::process::ExitCode {
    replay_each(|case| run_case(case, &mut CoreTarget::new(&case.env)?))
}
