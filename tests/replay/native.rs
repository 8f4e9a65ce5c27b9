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
    let mut command = Command::new(cargo);
    // Cargo describes this test's package to it in the environment (CARGO_MANIFEST_DIR,
    // CARGO_PKG_NAME, ...). ring's build script reruns when one of those changes, so with them
    // this build would rebuild ring and the crates above it, and the next `cargo build` from a
    // shell would rebuild them again.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&&*name)
        {
            command.env_remove(&*name);
        }
    }
    let output = command
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
