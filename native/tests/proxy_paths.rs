//! The path the native host forwards to `PROXY_TARGET`, as the target reads
//! it: a second mock process is the target, and its journal shows the path
//! each request arrived with. What the path becomes is pinned in the core
//! (`forwarded_path` in `core/src/proxy.rs`); this shows that the bytes on
//! the wire are those.

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Target, WireRequest};
use serde_json::Value;
use std::path::Path;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mock-rest-api"))
}

#[test]
fn dot_segments_never_take_a_request_above_the_targets_path() {
    let target = NativeServer::start(binary(), &[]).unwrap();
    let proxy = NativeServer::start_with_env(
        binary(),
        &[],
        &[("PROXY_TARGET".to_owned(), format!("{}/v1", target.base()))],
    )
    .unwrap();
    for path in [
        "/api/../../x",
        "/api/%2e%2e/%2E%2E/x?q=1",
        "/a/./b/../c",
        "/plain/path",
    ] {
        let answer = HttpTarget::new(proxy.base())
            .send(&WireRequest::new("GET", path, ""))
            .unwrap();
        assert_eq!(answer.status, 404, "{path}: the target's own 404");
    }
    let journal = HttpTarget::new(target.base())
        .send(&WireRequest::new("GET", "/__admin/requests", ""))
        .unwrap();
    let entries: Value = serde_json::from_slice(&journal.body).unwrap();
    let paths: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/v1/x", "/v1/x", "/v1/a/c", "/v1/plain/path"]);
}
