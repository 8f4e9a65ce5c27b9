//! What is the native host's own about data files and namespaces: the
//! fixtures file is never written, `--watch` loads a good edit (and tells the
//! change feed's open streams) and keeps the stores on a bad one, a positional FILE, a missing fixtures file, a new data
//! file, and namespaces kept apart on disk. What namespaces mean is covered by
//! the conformance cases.

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Scratch, Target, WireRequest, WireResponse};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mock-rest-api"))
}

fn start(args: &[&str]) -> NativeServer {
    NativeServer::start(binary(), args).unwrap()
}

fn send_in(
    server: &NativeServer,
    namespace: Option<&str>,
    method: &str,
    target: &str,
    body: &str,
) -> WireResponse {
    let mut request = WireRequest::new(method, target, body);
    if let Some(namespace) = namespace {
        request
            .headers
            .push(("X-Mock-Namespace".to_owned(), namespace.to_owned()));
    }
    HttpTarget::new(server.base()).send(&request).unwrap()
}

fn text_in(server: &NativeServer, namespace: Option<&str>, target: &str) -> String {
    let response = send_in(server, namespace, "GET", target, "");
    assert_eq!(response.status, 200, "GET {target}");
    String::from_utf8(response.body).unwrap()
}

/// The titles of `/api/posts`, in order.
fn titles(server: &NativeServer, namespace: Option<&str>) -> Vec<String> {
    let list: serde_json::Value =
        serde_json::from_str(&text_in(server, namespace, "/api/posts")).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["title"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs the server expecting it not to start; returns its log.
fn start_fails(args: &[&str]) -> String {
    NativeServer::refused(binary(), args, &[]).unwrap()
}

/// Waits (up to 30 s) until the server has logged a line containing `text`.
fn wait_for_log(server: &NativeServer, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(line) = server.log_lines().iter().find(|line| line.contains(text)) {
            return line.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no log line with {text:?}; the log:\n{}",
            server.log_lines().join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Opens the default namespace's change feed on a raw socket.
fn open_feed(server: &NativeServer) -> TcpStream {
    let mut socket = TcpStream::connect(server.base().trim_start_matches("http://")).unwrap();
    socket
        .write_all(b"GET /__admin/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    socket
}

/// Reads the stream until `event: NAME` has arrived; what came until then.
fn read_until_event(socket: &mut TcpStream, name: &str) -> String {
    let wanted = format!("event: {name}\n");
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    // Keep-alive comments arrive even when no event does: a deadline, not only the read timeout.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(&seen).contains(&wanted) {
        let read = socket.read(&mut chunk).unwrap_or(0);
        assert!(
            read > 0 && Instant::now() < deadline,
            "no {wanted:?} within 30 s; the stream sent: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&chunk[..read]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// Hand-written, pretty, and without ids: everything a rewrite would change.
const FIXTURES: &str =
    "{\n  \"posts\": [\n    { \"title\": \"a\" },\n    { \"title\": \"b\" }\n  ]\n}\n";

#[test]
fn the_fixtures_file_is_never_written_and_reset_returns_to_it() {
    let scratch = Scratch::new("fixtures", "unchanged").unwrap();
    let fixtures = scratch.file("db.json", FIXTURES).unwrap();
    let data = scratch.join("data.json");
    let data = data.to_str().unwrap();
    for args in [
        vec!["--fixtures", fixtures.as_str()],
        vec![fixtures.as_str(), "--data", data],
    ] {
        let server = start(&args);
        let ids_at_start = text_in(&server, None, "/api/posts");
        assert_eq!(titles(&server, None), ["a", "b"]);
        for namespace in [None, Some("other")] {
            let created = send_in(&server, namespace, "POST", "/api/posts", r#"{"title":"c"}"#);
            assert_eq!(created.status, 200);
            assert_eq!(
                send_in(&server, namespace, "DELETE", "/api/posts", "").status,
                200
            );
        }
        assert_eq!(
            send_in(&server, Some("other"), "POST", "/__admin/reset", "").status,
            200
        );
        assert_eq!(titles(&server, Some("other")), ["a", "b"]);
        assert!(titles(&server, None).is_empty(), "reset is per namespace");
        let status = server
            .signal_and_wait("TERM", Duration::from_secs(20))
            .unwrap();
        assert!(status.success(), "{status}");
        assert_eq!(std::fs::read_to_string(&fixtures).unwrap(), FIXTURES);

        let server = start(&args);
        assert_eq!(
            send_in(&server, None, "POST", "/__admin/reset", "").status,
            200
        );
        // The ids the file's items get depend on its bytes only: the same after a restart.
        assert_eq!(text_in(&server, None, "/api/posts"), ids_at_start);
        drop(server);
        assert_eq!(std::fs::read_to_string(&fixtures).unwrap(), FIXTURES);
        let entries: Vec<String> = std::fs::read_dir(scratch.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("db.json"))
            .collect();
        assert_eq!(
            entries,
            ["db.json"],
            "nothing is written beside the fixtures"
        );
    }
}

#[test]
fn with_data_the_stores_outlive_a_restart_and_the_fixtures_seed_only_new_ones() {
    let scratch = Scratch::new("fixtures", "data").unwrap();
    let fixtures = scratch.file("seed.json", FIXTURES).unwrap();
    let data = scratch.data();
    let args = [
        "--fixtures",
        fixtures.as_str(),
        "--data",
        data.to_str().unwrap(),
    ];
    let server = start(&args);
    wait_for_log(&server, "did not exist: created it from the fixtures");
    for namespace in [None, Some("team-a")] {
        let body = format!(r#"{{"title":"{}"}}"#, namespace.unwrap_or("default"));
        assert_eq!(
            send_in(&server, namespace, "POST", "/api/posts", &body).status,
            200
        );
    }
    drop(server); // kill -9

    let server = start(&args);
    assert!(!server
        .log_lines()
        .iter()
        .any(|line| line.contains("did not exist")));
    assert_eq!(titles(&server, None), ["a", "b", "default"]);
    assert_eq!(titles(&server, Some("team-a")), ["a", "b", "team-a"]);
    assert_eq!(titles(&server, Some("new")), ["a", "b"]);
    assert!(data
        .with_extension("json.namespaces")
        .join("team-a.json")
        .exists());
    assert_eq!(std::fs::read_to_string(&fixtures).unwrap(), FIXTURES);
}

#[test]
fn watch_loads_a_good_edit_and_keeps_the_stores_on_a_bad_one() {
    let scratch = Scratch::new("fixtures", "watch").unwrap();
    let fixtures = scratch.file("db.json", FIXTURES).unwrap();
    let server = start(&[fixtures.as_str(), "--watch"]);
    wait_for_log(&server, "--watch: watching");
    for namespace in [None, Some("b")] {
        assert_eq!(
            send_in(
                &server,
                namespace,
                "POST",
                "/api/posts",
                r#"{"title":"mine"}"#
            )
            .status,
            200
        );
    }

    let mut feed = open_feed(&server);
    std::fs::write(&fixtures, r#"{"posts": [{"title": "broken"}"#).unwrap();
    let line = wait_for_log(&server, "is not loaded");
    assert!(line.contains("the running store is kept"), "{line}");
    assert_eq!(titles(&server, None), ["a", "b", "mine"]);
    assert_eq!(titles(&server, Some("b")), ["a", "b", "mine"]);

    // Replaced by rename, as editors do.
    let edited = scratch
        .file("db.json.new", r#"{"posts": [{"title": "z"}]}"#)
        .unwrap();
    std::fs::rename(&edited, &fixtures).unwrap();
    wait_for_log(&server, "--watch: loaded");
    let streamed = read_until_event(&mut feed, "reset");
    assert_eq!(
        streamed.matches("event: ").count(),
        1,
        "the bad file sent nothing, the good one one reset: {streamed}"
    );
    assert_eq!(titles(&server, None), ["z"]);
    assert_eq!(titles(&server, Some("b")), ["z"]);
    assert_eq!(titles(&server, Some("new")), ["z"], "new namespaces too");
    assert_eq!(
        send_in(&server, None, "POST", "/__admin/reset", "").status,
        200
    );
    assert_eq!(
        titles(&server, None),
        ["z"],
        "reset returns to the new file"
    );
}

#[test]
fn a_missing_fixtures_file_stops_the_start_naming_it() {
    let scratch = Scratch::new("fixtures", "missing").unwrap();
    let missing = scratch.join("nope.json");
    let missing = missing.to_str().unwrap();
    for args in [vec!["--fixtures", missing], vec![missing]] {
        let log = start_fails(&args);
        assert!(
            log.contains(&format!(
                "FIXTURES={missing} (--fixtures): {missing} cannot be read"
            )),
            "{log}"
        );
    }
    let bad = scratch.file("bad.json", "[1, 2]").unwrap();
    let log = start_fails(&[bad.as_str()]);
    assert!(
        log.contains(&format!("FIXTURES={bad} (--fixtures)")),
        "{log}"
    );
    assert!(!scratch.join("nope.json").exists());
    let log = start_fails(&["--watch"]);
    assert!(
        log.contains("WATCH (--watch) needs a fixtures file"),
        "{log}"
    );
    let fixtures = scratch.file("db.json", FIXTURES).unwrap();
    let log = start_fails(&[fixtures.as_str(), "--fixtures", fixtures.as_str()]);
    assert!(
        log.contains("means --fixtures FILE; give one or the other"),
        "{log}"
    );
}

#[test]
fn the_start_log_names_each_file_and_whether_it_is_written() {
    let scratch = Scratch::new("fixtures", "log").unwrap();
    let fixtures = scratch.file("db.json", FIXTURES).unwrap();
    let data = scratch.join("new.json");
    let server = start(&[fixtures.as_str(), "--data", data.to_str().unwrap()]);
    let log = server.log_lines().join("\n");
    assert!(
        log.contains(&format!(
            "fixtures: {fixtures}, read only: it will not be written"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "data: {}, durable: it will be written",
            data.display()
        )),
        "{log}"
    );
    assert_eq!(
        log.matches(&format!(
            "data: {} did not exist: created it",
            data.display()
        ))
        .count(),
        1,
        "{log}"
    );
    assert!(data.exists(), "the new data file is made at start");
}

#[test]
fn namespaces_are_bounded_and_named_by_the_rule() {
    let server = start(&["--max-namespaces", "2"]);
    assert_eq!(send_in(&server, Some("a"), "GET", "/api/x", "").status, 200);
    let refused = send_in(&server, Some("b"), "GET", "/api/x", "");
    assert_eq!(refused.status, 507, "default and a are two");
    assert!(String::from_utf8(refused.body)
        .unwrap()
        .contains("MAX_NAMESPACES"));
    let bad = send_in(&server, Some("a/b"), "POST", "/api/x", "{}");
    assert_eq!(bad.status, 400);
    assert_eq!(send_in(&server, Some("a"), "GET", "/api/x", "").status, 200);
    assert_eq!(send_in(&server, Some(" "), "GET", "/api/x", "").status, 200);
}

#[test]
fn health_and_the_homepage_list_the_namespaces() {
    let server = start(&[]);
    let health = text_in(&server, None, "/health");
    assert!(!health.contains("namespaces"), "only default: {health}");
    assert_eq!(
        send_in(&server, Some("shop"), "POST", "/api/x", "[{},{}]").status,
        200
    );
    let health: serde_json::Value =
        serde_json::from_str(&text_in(&server, None, "/health")).unwrap();
    assert_eq!(
        health["namespaces"],
        serde_json::json!([{"name": "default", "count": 0}, {"name": "shop", "count": 2}])
    );
    let page = text_in(&server, Some("shop"), "/");
    assert!(page.contains("<tr><td>shop</td><td>2</td></tr>"), "{page}");
}

#[test]
fn files_past_twice_max_store_bytes_are_not_read() {
    let scratch = Scratch::new("fixtures", "bound").unwrap();
    // 3 MiB of zeros (sparse: it costs no disk), past twice a MAX_STORE_BYTES of 1 MiB.
    let big = scratch.join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(3 << 20)
        .unwrap();
    let big = big.to_str().unwrap();
    let bound = "is larger than 2097152 bytes (twice MAX_STORE_BYTES), so it was not read; raise MAX_STORE_BYTES to read it";
    let env = [("MAX_STORE_BYTES", "1048576")];
    for (args, named) in [
        // A file that never ends stops at the bound (one byte past it is read).
        (
            vec!["--rules", "/dev/zero"],
            "RULES=/dev/zero (--rules): /dev/zero".to_owned(),
        ),
        (
            vec!["--fixtures", big],
            format!("FIXTURES={big} (--fixtures): {big}"),
        ),
        (
            vec!["--rules", big],
            format!("RULES={big} (--rules): {big}"),
        ),
        (vec!["--data", big], big.to_owned()),
    ] {
        let log = NativeServer::refused(binary(), &args, &env).unwrap();
        assert!(log.contains(&format!("{named} {bound}")), "{args:?}: {log}");
    }

    // `--watch` keeps the running store when the file grows past the bound.
    let fixtures = scratch.file("db.json", FIXTURES).unwrap();
    let server = NativeServer::start_with_env(
        binary(),
        &[fixtures.as_str(), "--watch"],
        &[("MAX_STORE_BYTES".to_owned(), "1048576".to_owned())],
    )
    .unwrap();
    wait_for_log(&server, "--watch: watching");
    std::fs::File::create(&fixtures)
        .unwrap()
        .set_len(3 << 20)
        .unwrap();
    let line = wait_for_log(&server, "the running store is kept");
    assert!(
        line.contains(&format!(
            "--watch: {fixtures} {bound}; the running store is kept"
        )),
        "{line}"
    );
    assert_eq!(titles(&server, None), ["a", "b"]);
}
