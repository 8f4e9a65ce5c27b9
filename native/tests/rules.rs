//! What is the native host's own about rules: faults as a socket sees them,
//! and `--rules FILE` at start. What rules mean is covered by the conformance
//! cases in `tests/cases/rules.json`.

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Scratch, Target, WireRequest};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mock-rest-api"))
}

fn send(base: &str, method: &str, target: &str, body: &str) -> conformance::WireResponse {
    HttpTarget::new(base)
        .send(&WireRequest::new(method, target, body))
        .unwrap()
}

/// Sends a raw HTTP/1.1 request and reads until the server closes: the bytes
/// that came back, or the error that ended the read.
fn raw(base: &str, request: &str) -> (Vec<u8>, Option<std::io::ErrorKind>) {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    let ended = stream.read_to_end(&mut got).err().map(|err| err.kind());
    (got, ended)
}

#[test]
fn a_reset_fault_closes_the_connection_without_an_answer() {
    let server = NativeServer::start(binary(), &[]).unwrap();
    let base = server.base();
    let added = send(
        base,
        "POST",
        "/__admin/rules",
        r#"{"match":{"path":"/api/down"},"respond":{"fault":"reset","delay_ms":100}}"#,
    );
    assert_eq!(added.status, 201);
    let rule: Value = serde_json::from_slice(&added.body).unwrap();

    let started = Instant::now();
    let (got, ended) = raw(
        base,
        "GET /api/down HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n",
    );
    assert!(
        got.is_empty(),
        "no byte of an answer: {:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(
        !matches!(
            ended,
            Some(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        ),
        "the server closed the connection rather than leaving it open: {ended:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "after the rule's delay"
    );

    // Other requests, and other connections, go on; the journal names the rule.
    let (got, _) = raw(
        base,
        "GET /api/up HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert!(
        got.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    let journal: Value =
        serde_json::from_slice(&send(base, "GET", "/__admin/requests", "").body).unwrap();
    assert_eq!(journal[0]["path"], "/api/down");
    assert_eq!(journal[0]["rule"], rule["id"]);
    assert_eq!(journal[0]["status"], 502);
    assert_eq!(journal[1]["rule"], Value::Null);
}

#[test]
fn a_malformed_fault_sends_a_whole_message_whose_json_is_cut_short() {
    let server = NativeServer::start(binary(), &[]).unwrap();
    let base = server.base();
    let rule = r#"{"match":{"path":"/api/orders"},"respond":{"status":200,"json":[{"id":1},{"id":2}],"fault":"malformed"}}"#;
    assert_eq!(send(base, "POST", "/__admin/rules", rule).status, 201);
    let (got, _) = raw(
        base,
        "GET /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8(got).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head.contains(&format!("content-length: {}", body.len())),
        "{head}"
    );
    assert_eq!(body, r#"[{"id":1}"#, "the first half of the 19 bytes");
    assert!(serde_json::from_str::<Value>(body).is_err());
}

#[test]
fn rules_from_the_file_are_loaded_at_start_and_restored_by_reset() {
    let scratch = Scratch::new("rules", "load").unwrap();
    let file = scratch.file(
        "rules.json",
        r#"[
          {"id": "orders-down", "match": {"method": "POST", "path": "/api/orders"}, "respond": {"status": 503}, "times": 1},
          {"match": {"path": "/api/reports/**"}, "respond": {"delay_ms": 10, "headers": {"X-From": "file"}}}
        ]"#,
    ).unwrap();
    let server = NativeServer::start(binary(), &["--rules", &file]).unwrap();
    let base = server.base();
    let listed = |base: &str| -> Value {
        serde_json::from_slice(&send(base, "GET", "/__admin/rules", "").body).unwrap()
    };
    let at_start = listed(base);
    assert_eq!(at_start.as_array().unwrap().len(), 2, "{at_start}");
    assert_eq!(at_start[0]["id"], "orders-down");
    assert_eq!(send(base, "POST", "/api/orders", "{}").status, 503);
    assert_eq!(
        send(base, "POST", "/api/orders", "{}").status,
        200,
        "times: 1"
    );
    let report = send(base, "GET", "/api/reports/2024", "");
    assert_eq!(report.header("x-from"), Some("file"));
    assert_eq!(
        send(
            base,
            "POST",
            "/__admin/rules",
            r#"{"respond":{"status":418}}"#
        )
        .status,
        201
    );
    assert_eq!(send(base, "POST", "/__admin/reset", "").status, 200);
    assert_eq!(listed(base), at_start, "reset restores the file's rules");
    assert_eq!(send(base, "POST", "/api/orders", "{}").status, 503);
}

/// Runs the binary, which must refuse to start; returns its stderr.
fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    NativeServer::refused(binary(), args, env).unwrap()
}

#[test]
fn a_bad_rules_file_stops_the_start_naming_the_file_and_the_field() {
    let scratch = Scratch::new("rules", "bad").unwrap();
    let bad_path = scratch.file(
        "bad.json",
        r#"[{"respond": {"status": 200}}, {"match": {"path": "orders"}, "respond": {"status": 200}}]"#,
    ).unwrap();
    let stderr = refused(&["--rules", &bad_path], &[]);
    assert!(
        stderr.contains(&format!("RULES={bad_path} (--rules)"))
            && stderr.contains("`[1].match.path`"),
        "{stderr}"
    );

    let big = scratch
        .file(
            "big.json",
            &format!(
                r#"[{{"respond": {{"status": 200, "body": "{}"}}}}]"#,
                "x".repeat(64)
            ),
        )
        .unwrap();
    let stderr = refused(&[], &[("RULES", &big), ("MAX_BODY_BYTES", "32")]);
    assert!(
        stderr.contains("`[0].respond.body`") && stderr.contains("MAX_BODY_BYTES"),
        "{stderr}"
    );

    let not_json = scratch.file("broken.json", "[{").unwrap();
    let stderr = refused(&["--rules", &not_json], &[]);
    assert!(stderr.contains("Invalid JSON at line 1"), "{stderr}");

    let many = scratch
        .file(
            "many.json",
            r#"[{"respond":{"status":200}},{"respond":{"status":201}}]"#,
        )
        .unwrap();
    let stderr = refused(&["--rules", &many, "--max-rules", "1"], &[]);
    assert!(stderr.contains("MAX_RULES"), "{stderr}");

    let missing = scratch.join("missing.json").to_string_lossy().into_owned();
    let stderr = refused(&["--rules", &missing], &[]);
    assert!(
        stderr.contains(&format!("RULES={missing} (--rules)")),
        "{stderr}"
    );
}

#[test]
fn with_data_rules_are_durable_across_restarts_crashes_and_compactions() {
    let scratch = Scratch::new("rules", "durable").unwrap();
    let rules_file = scratch.file(
        "rules.json",
        r#"[{"id": "from-file", "match": {"path": "/api/flaky"}, "respond": {"status": 503}, "times": 3}]"#,
    ).unwrap();
    let data = scratch.join("db.json").to_string_lossy().into_owned();
    let args = [
        "--data",
        data.as_str(),
        "--rules",
        rules_file.as_str(),
        "--compact-after-bytes",
        "256",
    ];
    let listed = |base: &str| -> Vec<(String, Value)> {
        let list: Value =
            serde_json::from_slice(&send(base, "GET", "/__admin/rules", "").body).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .map(|rule| {
                (
                    rule["id"].as_str().unwrap().to_owned(),
                    rule["times"].clone(),
                )
            })
            .collect()
    };
    let expect = |base: &str, want: &[(&str, Value)]| {
        let want: Vec<(String, Value)> = want
            .iter()
            .map(|(id, times)| ((*id).to_owned(), times.clone()))
            .collect();
        assert_eq!(listed(base), want);
    };

    let server = NativeServer::start(binary(), &args).unwrap();
    let base = server.base().to_owned();
    let added = r#"{"id":"added","match":{"path":"/api/slow"},"respond":{"delay_ms":1}}"#;
    assert_eq!(send(&base, "POST", "/__admin/rules", added).status, 201);
    assert_eq!(send(&base, "GET", "/api/flaky", "").status, 503);
    // Enough writes for several compactions of the journal into the snapshot.
    for n in 0..40 {
        let body = format!(r#"{{"n":{n},"pad":"{}"}}"#, "x".repeat(40));
        assert_eq!(send(&base, "POST", "/api/items", &body).status, 200);
    }
    expect(
        &base,
        &[("from-file", Value::from(2)), ("added", Value::Null)],
    );
    // A crash (SIGKILL, by the server's drop) keeps every acknowledged rule change.
    drop(server);
    let snapshot = std::fs::read_to_string(&data).unwrap();
    assert!(
        snapshot.contains(r#""n":30"#),
        "compacted into the snapshot: {snapshot}"
    );
    let journal = std::fs::read_to_string(format!("{data}.journal")).unwrap();
    let first_record = journal.lines().nth(1).unwrap_or_default();
    assert!(
        first_record.contains(r#"["clear_rules"],["put_rule","from-file""#),
        "a compacted journal starts with the rules: {journal}"
    );

    let server = NativeServer::start(binary(), &args).unwrap();
    let base = server.base().to_owned();
    expect(
        &base,
        &[("from-file", Value::from(2)), ("added", Value::Null)],
    );
    assert_eq!(send(&base, "GET", "/api/flaky", "").status, 503);
    assert_eq!(
        send(&base, "DELETE", "/__admin/rules/added", "").status,
        200
    );
    let status = server
        .signal_and_wait("TERM", Duration::from_secs(20))
        .unwrap();
    assert!(status.success(), "{status}");

    let server = NativeServer::start(binary(), &args).unwrap();
    let base = server.base().to_owned();
    expect(&base, &[("from-file", Value::from(1))]);
    assert_eq!(send(&base, "GET", "/api/flaky", "").status, 503);
    assert_eq!(send(&base, "GET", "/api/flaky", "").status, 200, "used up");
    expect(&base, &[]);
    assert_eq!(
        serde_json::from_slice::<Value>(&send(&base, "GET", "/api/items", "").body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        40
    );
    drop(server);

    // Reset brings back the file's rules, and that is durable too.
    let server = NativeServer::start(binary(), &args).unwrap();
    let base = server.base().to_owned();
    expect(&base, &[]);
    assert_eq!(send(&base, "POST", "/__admin/reset", "").status, 200);
    expect(&base, &[("from-file", Value::from(3))]);
    drop(server);
    let server = NativeServer::start(binary(), &args).unwrap();
    expect(server.base(), &[("from-file", Value::from(3))]);
}
