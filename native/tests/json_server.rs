//! The json-server preset's host side (`--json-server`): the file is
//! written back as json-server writes it (every level indented by two
//! spaces, emptied types as `[]`), `--watch` does not load back its own
//! writes but does load an edit, and without the preset a json-server
//! `db.json` gets one line in the start log naming `--json-server`. What
//! the preset answers is covered by the conformance cases
//! (`tests/cases/json-server-preset.json`).

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Scratch, Target, WireRequest, WireResponse};
use std::path::Path;
use std::time::{Duration, Instant};

const DB: &str = r#"{
  "posts": [
    { "id": 1, "title": "json-server", "author": "typicode" }
  ],
  "comments": [
    { "id": 1, "body": "some comment", "postId": 1 }
  ],
  "profile": { "name": "typicode" }
}"#;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mock-rest-api"))
}

fn send(server: &NativeServer, method: &str, target: &str, body: &str) -> WireResponse {
    let request = WireRequest::new(method, target, body);
    HttpTarget::new(server.base()).send(&request).unwrap()
}

/// Waits (up to 30 s) until `check` holds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_file_is_written_back_as_json_server_writes_it() {
    let scratch = Scratch::new("json-server", "write-back").unwrap();
    let db = scratch.file("db.json", DB).unwrap();
    let server = NativeServer::start(binary(), &["--json-server", db.as_str()]).unwrap();
    assert!(
        server
            .log_lines()
            .iter()
            .any(|line| line.contains("every change of the data is written back")),
        "{:?}",
        server.log_lines()
    );
    assert_eq!(
        send(&server, "POST", "/posts", r#"{"title":"two"}"#).status,
        201
    );
    // The answer comes after the file is written.
    let written = std::fs::read_to_string(&db).unwrap();
    assert_eq!(
        written,
        "{\n  \"posts\": [\n    {\n      \"title\": \"json-server\",\n      \"author\": \"typicode\",\n      \"id\": 1\n    },\n    {\n      \"title\": \"two\",\n      \"id\": 2\n    }\n  ],\n  \"comments\": [\n    {\n      \"body\": \"some comment\",\n      \"postId\": 1,\n      \"id\": 1\n    }\n  ],\n  \"profile\": {\n    \"name\": \"typicode\"\n  }\n}"
    );
    // The post's comment goes with it, and the emptied type stays, as `[]`.
    assert_eq!(send(&server, "DELETE", "/posts/1", "").status, 200);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&db).unwrap()).unwrap();
    assert_eq!(
        written,
        serde_json::json!({"posts": [{"title": "two", "id": 2}], "profile": {"name": "typicode"}, "comments": []})
    );
    // Reset returns to the file as it was at start, and writes that back.
    assert_eq!(send(&server, "POST", "/__admin/reset", "").status, 200);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&db).unwrap()).unwrap();
    let original: serde_json::Value = serde_json::from_str(DB).unwrap();
    assert_eq!(written["posts"][0]["title"], original["posts"][0]["title"]);
    assert_eq!(written["comments"].as_array().unwrap().len(), 1);
    // Another namespace's writes are not the file's.
    let mut request = WireRequest::new("POST", "/posts", r#"{"title":"elsewhere"}"#);
    request
        .headers
        .push(("X-Mock-Namespace".to_owned(), "other".to_owned()));
    let before = std::fs::read_to_string(&db).unwrap();
    assert_eq!(
        HttpTarget::new(server.base())
            .send(&request)
            .unwrap()
            .status,
        201
    );
    assert_eq!(std::fs::read_to_string(&db).unwrap(), before);
}

#[test]
fn watch_loads_an_edit_but_not_its_own_write() {
    let scratch = Scratch::new("json-server", "watch").unwrap();
    let db = scratch.file("db.json", DB).unwrap();
    let server = NativeServer::start(binary(), &["--json-server", "-w", db.as_str()]).unwrap();
    eventually("--watch is on", || {
        server
            .log_lines()
            .iter()
            .any(|line| line.contains("--watch: watching"))
    });
    assert_eq!(
        send(&server, "POST", "/posts", r#"{"title":"two"}"#).status,
        201
    );
    // Several polls of the file pass: its own write is not loaded back
    // (which would reset the store and log `--watch: loaded`).
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        !server
            .log_lines()
            .iter()
            .any(|line| line.contains("--watch: loaded")),
        "{:?}",
        server.log_lines()
    );
    std::fs::write(&db, r#"{"posts": [{"id": 7, "title": "edited"}]}"#).unwrap();
    eventually("the edit is loaded", || {
        send(&server, "GET", "/posts/7", "").status == 200
    });
}

#[test]
fn a_db_json_without_the_preset_gets_a_hint() {
    let scratch = Scratch::new("json-server", "hint").unwrap();
    let db = scratch.file("db.json", DB).unwrap();
    let server = NativeServer::start(binary(), &[db.as_str()]).unwrap();
    let hints: Vec<String> = server
        .log_lines()
        .into_iter()
        .filter(|line| line.contains("--json-server"))
        .collect();
    assert_eq!(hints.len(), 1, "{:?}", server.log_lines());
    assert_eq!(std::fs::read_to_string(&db).unwrap(), DB, "never written");
    let other = scratch
        .file("mine.json", r#"{"posts": [{"title": "a"}]}"#)
        .unwrap();
    let server = NativeServer::start(binary(), &[other.as_str()]).unwrap();
    assert!(!server
        .log_lines()
        .iter()
        .any(|line| line.contains("--json-server")));
}
