//! Replays every conformance case against the real `mock-rest-api` binary,
//! one fresh process (on a free port of 127.0.0.1) per case.
//!
//! The binary is `$MOCK_REST_API_BIN` when that is set; otherwise this builds
//! it with `cargo build -p mock-rest-api` and uses what cargo reports.

use conformance::{replay_each, run_case, HttpTarget, NativeServer};
use std::path::PathBuf;
use std::process::Command;

fn binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("MOCK_REST_API_BIN") {
        return Ok(PathBuf::from(path));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["build", "-p", "mock-rest-api", "--bin", "mock-rest-api"])
        .args(["--message-format=json-render-diagnostics", "--quiet"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !output.status.success() {
        return Err("`cargo build -p mock-rest-api` failed".to_owned());
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo reported no mock-rest-api executable".to_owned())
}

fn main() -> std::process::ExitCode {
    let binary = match binary() {
        Ok(binary) => binary,
        Err(err) => {
            eprintln!("{err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    replay_each(move |case| {
        let server = NativeServer::start_with_env(&binary, &[], &case.env)?;
        run_case(case, &mut HttpTarget::new(server.base()))
    })
}
