//! `mock-rest-api --healthcheck`, which a container's HEALTHCHECK runs: it asks
//! the server on 127.0.0.1 and PORT for `/health`.

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::NativeServer;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mock-rest-api");

fn healthcheck(port: u16) -> std::process::Output {
    Command::new(BIN)
        .args(["--healthcheck"])
        .env("PORT", port.to_string())
        .env_remove("HOST")
        .output()
        .unwrap()
}

#[test]
fn a_running_server_is_healthy_and_a_missing_one_is_not() {
    let server = NativeServer::start(Path::new(BIN), &[]).unwrap();
    let port: u16 = server.base().rsplit(':').next().unwrap().parse().unwrap();
    let healthy = healthcheck(port);
    assert!(healthy.status.success(), "{healthy:?}");

    // A port nobody listens on: bound, then released.
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let missing = healthcheck(free);
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(
        said.contains("unhealthy") && said.contains(&format!("127.0.0.1:{free}/health")),
        "{said}"
    );
}
