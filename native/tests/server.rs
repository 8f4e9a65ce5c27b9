//! What is the native host's own: the process, its signals and its sharing of
//! the store between connections. The API itself is covered by the conformance
//! cases in `tests/cases`, replayed against this binary by `tests/replay/native.rs`.

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Target, WireRequest};
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

fn start() -> NativeServer {
    NativeServer::start(Path::new(env!("CARGO_BIN_EXE_mock-rest-api")), &[]).unwrap()
}

fn request(method: &str, target: &str, body: &str) -> WireRequest {
    WireRequest::new(method, target, body)
}

#[test]
fn parallel_posts_lose_nothing() {
    let server = start();
    let base = server.base().to_owned();
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let base = base.clone();
            std::thread::spawn(move || {
                let mut client = HttpTarget::new(&base);
                (0..50)
                    .map(|n| {
                        let body = format!(r#"{{"writer":{writer},"n":{n}}}"#);
                        let response = client.send(&request("POST", "/api/load", &body)).unwrap();
                        assert_eq!(response.status, 200);
                        let item: Value = serde_json::from_slice(&response.body).unwrap();
                        item["_id"].as_str().unwrap().to_owned()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut acknowledged = HashSet::new();
    for writer in writers {
        acknowledged.extend(writer.join().unwrap());
    }
    assert_eq!(acknowledged.len(), 400, "every POST got its own _id");

    let list = HttpTarget::new(&base)
        .send(&request("GET", "/api/load", ""))
        .unwrap();
    let items: Vec<Value> = serde_json::from_slice(&list.body).unwrap();
    let stored: HashSet<String> = items
        .iter()
        .map(|item| item["_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, acknowledged);
}

#[test]
fn sigterm_and_sigint_stop_the_server_cleanly() {
    for signal in ["TERM", "INT"] {
        let server = start();
        let mut client = HttpTarget::new(server.base());
        assert_eq!(
            client.send(&request("GET", "/health", "")).unwrap().status,
            200
        );
        let status = server
            .signal_and_wait(signal, Duration::from_secs(15))
            .unwrap();
        assert!(status.success(), "exit after SIG{signal}: {status}");
    }
}

#[test]
fn a_declared_oversized_body_is_refused_before_it_is_read() {
    let server = start();
    let mut client = HttpTarget::new(server.base());
    let mut big = request("POST", "/api/big", "");
    big.body = vec![b' '; 3 * 1024 * 1024];
    let response = client.send(&big).unwrap();
    assert_eq!(response.status, 413);
    let message: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(
        message["message"],
        "The request body is larger than the limit of 1048576 bytes."
    );
    // The server is still there and stored nothing.
    let list = HttpTarget::new(server.base())
        .send(&request("GET", "/api/big", ""))
        .unwrap();
    assert_eq!(list.body, b"[]");
}

#[test]
fn the_body_limit_and_app_settings_come_from_flags() {
    let server = NativeServer::start(
        Path::new(env!("CARGO_BIN_EXE_mock-rest-api")),
        &[
            "--max-body-bytes",
            "15",
            "--app-name",
            "flagged",
            "--app-version",
            "9",
        ],
    )
    .unwrap();
    let mut client = HttpTarget::new(server.base());
    let small = client
        .send(&request("POST", "/api/p", r#"{"a":"1234567"}"#))
        .unwrap();
    assert_eq!(small.status, 200);
    let large = client
        .send(&request("POST", "/api/p", r#"{"a":"12345678"}"#))
        .unwrap();
    assert_eq!(large.status, 413);
    let health: Value =
        serde_json::from_slice(&client.send(&request("GET", "/health", "")).unwrap().body).unwrap();
    assert_eq!(
        (health["name"].as_str(), health["version"].as_str()),
        (Some("flagged"), Some("9"))
    );
}

#[test]
fn slow_requests_overlap_rather_than_queue() {
    let server = start();
    let started = std::time::Instant::now();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let base = server.base().to_owned();
            std::thread::spawn(move || {
                let mut slow = request("GET", "/api/p", "");
                slow.headers
                    .push(("X-Mock-Delay".to_owned(), "1000".to_owned()));
                HttpTarget::new(&base).send(&slow).unwrap().status
            })
        })
        .collect();
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), 200);
    }
    let elapsed = started.elapsed();
    // Four 1 s delays that queued would take 4 s; overlapping, about 1 s.
    assert!(elapsed >= Duration::from_millis(1000), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(3500),
        "the delays queued: {elapsed:?}"
    );
}

#[test]
fn sigterm_during_a_delay_still_answers() {
    let server = start();
    let base = server.base().to_owned();
    let waiter = std::thread::spawn(move || {
        let mut slow = request("POST", "/api/p?_delay=1500", r#"{"a":1}"#);
        slow.headers
            .push(("Content-Type".to_owned(), "application/json".to_owned()));
        HttpTarget::new(&base).send(&slow)
    });
    std::thread::sleep(Duration::from_millis(400));
    let status = server
        .signal_and_wait("TERM", Duration::from_secs(20))
        .unwrap();
    let response = waiter.join().unwrap().unwrap();
    assert_eq!(response.status, 200);
    assert!(String::from_utf8_lossy(&response.body).starts_with(r#"{"a":1,"_id":""#));
    assert!(status.success(), "{status}");
}

/// Writes a file into a folder of its own (the server keeps its journal
/// beside a data file); remove it with `remove_dir`.
fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mock-rest-api-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn remove_dir(file: &std::path::Path) {
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[test]
fn ten_thousand_fixtures_load_and_are_served() {
    let items: Vec<String> = (0..10_000)
        .map(|n| format!(r#"{{"_id":"p{n}","n":{n},"name":"person {n}"}}"#))
        .collect();
    let file = temp_file(
        "fixtures.json",
        &format!(r#"{{"people":[{}]}}"#, items.join(",")),
    );
    let server = NativeServer::start(
        Path::new(env!("CARGO_BIN_EXE_mock-rest-api")),
        &["--data", file.to_str().unwrap()],
    )
    .unwrap();
    let mut client = HttpTarget::new(server.base());
    let page = client
        .send(&request("GET", "/api/people?_page=500&_limit=20", ""))
        .unwrap();
    assert_eq!(page.header("x-total-count"), Some("10000"));
    let items: Vec<Value> = serde_json::from_slice(&page.body).unwrap();
    assert_eq!(items.len(), 20);
    assert_eq!(items[19]["_id"], "p9999");
    let one = client
        .send(&request("GET", "/api/people/p1234", ""))
        .unwrap();
    assert_eq!(
        one.body,
        br#"{"n":1234,"name":"person 1234","_id":"p1234"}"#
    );
    std::fs::remove_file(file).unwrap();
}

#[test]
fn a_malformed_fixtures_file_stops_startup_with_line_and_column() {
    let file = temp_file("bad.json", "{\n  \"people\": [\n    {\"name\": }\n  ]\n}\n");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mock-rest-api"))
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--data",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    remove_dir(&file);
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("Invalid JSON at line 3, column 14"), "{log}");
    assert!(!log.contains("listening"), "{log}");
}

#[test]
fn a_flood_of_large_bodies_leaves_memory_bounded_by_the_item_limit() {
    let server = NativeServer::start(
        Path::new(env!("CARGO_BIN_EXE_mock-rest-api")),
        &["--max-items", "10"],
    )
    .unwrap();
    let one_mib = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1024 * 1024 - 10));
    let too_big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(3 * 1024 * 1024));
    let senders: Vec<_> = (0..8)
        .map(|_| {
            let base = server.base().to_owned();
            let (one_mib, too_big) = (one_mib.clone(), too_big.clone());
            std::thread::spawn(move || {
                let mut client = HttpTarget::new(&base);
                let mut statuses = Vec::new();
                for n in 0..15 {
                    let body = if n % 3 == 0 { &too_big } else { &one_mib };
                    statuses.push(
                        client
                            .send(&request("POST", "/api/flood", body))
                            .unwrap()
                            .status,
                    );
                }
                statuses
            })
        })
        .collect();
    let statuses: Vec<u16> = senders
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        10,
        "exactly the item limit is stored"
    );
    assert_eq!(statuses.iter().filter(|&&s| s == 413).count(), 40);
    assert_eq!(statuses.iter().filter(|&&s| s == 507).count(), 70);
    // 120 bodies (160 MiB) went in; 10 MiB are kept. Eight at a time in flight,
    // a few copies each, is the rest of the bound.
    let peak_mib = server.peak_rss_kib().unwrap() / 1024;
    println!("peak RSS after the flood: {peak_mib} MiB");
    assert!(peak_mib < 160, "peak RSS {peak_mib} MiB");
}

#[test]
fn a_body_that_stops_arriving_gets_408() {
    use std::io::{Read, Write};
    let server = NativeServer::start(
        Path::new(env!("CARGO_BIN_EXE_mock-rest-api")),
        &["--body-timeout-secs", "1"],
    )
    .unwrap();
    let addr = server.base().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"POST /api/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("arrive") {
        let n = stream.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed without an answer: {}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains(r#"{"message":"The request took too long to arrive."}"#),
        "{answer}"
    );
    // Nothing was stored, and the server still answers others.
    let list = HttpTarget::new(server.base())
        .send(&request("GET", "/api/slow", ""))
        .unwrap();
    assert_eq!(list.body, b"[]");
}

#[test]
fn connections_past_the_limit_wait_for_a_free_one() {
    use std::io::{Read, Write};
    let server = NativeServer::start(
        Path::new(env!("CARGO_BIN_EXE_mock-rest-api")),
        &["--max-connections", "1"],
    )
    .unwrap();
    let addr = server.base().trim_start_matches("http://").to_owned();
    let get = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    let read_status = |stream: &mut std::net::TcpStream| -> std::io::Result<String> {
        let mut buf = [0u8; 12];
        stream.read_exact(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    // The first connection is served and kept open (keep-alive), holding the only slot.
    let mut first = std::net::TcpStream::connect(&addr).unwrap();
    first.write_all(get).unwrap();
    assert_eq!(read_status(&mut first).unwrap(), "HTTP/1.1 200");
    // A second one is not served while the first is open...
    let mut second = std::net::TcpStream::connect(&addr).unwrap();
    second.write_all(get).unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    assert!(read_status(&mut second).is_err(), "served past the limit");
    // ...and is as soon as the first closes.
    drop(first);
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(read_status(&mut second).unwrap(), "HTTP/1.1 200");
}

#[test]
fn sorting_large_items_reads_them_in_place_and_too_many_sort_keys_are_refused() {
    // 1,000 items of about 10 KB each, in one string field that has an escape
    // (so decoding it would copy it) and differs only at its end.
    let server = NativeServer::start(
        Path::new(env!("CARGO_BIN_EXE_mock-rest-api")),
        &["--max-items", "1000"],
    )
    .unwrap();
    let mut client = HttpTarget::new(server.base());
    for batch in 0..20 {
        let items: Vec<String> = (0..50)
            .map(|n| {
                let id = batch * 50 + n;
                format!(
                    r#"{{"n":{id},"s":"\n{}{:04}"}}"#,
                    "x".repeat(10_000),
                    999 - id % 1000
                )
            })
            .collect();
        let body = format!("[{}]", items.join(","));
        let response = client.send(&request("POST", "/api/p", &body)).unwrap();
        assert_eq!(response.status, 200);
    }
    let loaded_mib = server.peak_rss_kib().unwrap() / 1024;

    // A thousand sort keys: refused before any work, naming the bound.
    let keys = vec!["s"; 1000].join(",");
    let response = client
        .send(&request(
            "GET",
            &format!("/api/p?_sort={keys}&_limit=1"),
            "",
        ))
        .unwrap();
    assert_eq!(response.status, 400);
    let message: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(message["message"], "`_sort` names 1000 fields; at most 16.");

    // Sixteen keys, the most a query may name, on the 10 KB field: the items
    // are sorted as slices of the stored text, so the sort holds a few dozen
    // bytes per item and key, about 1 MiB here. Copying the field per key, as
    // before, would have taken 16 x 10 MB = 160 MB.
    for sort in [vec!["s"; 16].join(","), vec!["-s"; 16].join(",")] {
        let response = client
            .send(&request(
                "GET",
                &format!("/api/p?_sort={sort}&_limit=1"),
                "",
            ))
            .unwrap();
        assert_eq!(response.status, 200);
        let items: Value = serde_json::from_slice(&response.body).unwrap();
        let first = if sort.starts_with('-') { 0 } else { 999 };
        assert_eq!(items[0]["n"], first, "{sort}");
    }
    let peak_mib = server.peak_rss_kib().unwrap() / 1024;
    println!(
        "peak RSS: {loaded_mib} MiB after loading 10 MB of items, {peak_mib} MiB after the sorts"
    );
    // 16 MiB of slack: well above the sort's own 1 MiB and allocator noise,
    // well below the 160 MB one copy of the field per key would take.
    assert!(
        peak_mib <= loaded_mib + 16,
        "peak RSS grew from {loaded_mib} MiB to {peak_mib} MiB"
    );
}

#[test]
fn a_log_filter_that_does_not_parse_stops_the_start_naming_it() {
    let stderr = NativeServer::refused(
        Path::new(env!("CARGO_BIN_EXE_mock-rest-api")),
        &[],
        &[("RUST_LOG", "info=loud")],
    )
    .unwrap();
    assert!(
        stderr.contains("RUST_LOG=info=loud is not a log filter"),
        "{stderr}"
    );
}
