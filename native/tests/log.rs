//! The binary's request log: one line per request on stderr, in
//! `tracing_subscriber`'s text (`TIME  INFO mock_rest_api::api: METHOD TARGET
//! STATUS TIME`), and only when `RUST_LOG`'s filter lets `mock_rest_api::api`
//! log at `INFO`.

#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Target, WireRequest};
use std::path::Path;
use std::time::{Duration, Instant};

const PREFIX: &str = "  INFO mock_rest_api::api: ";

fn start(filter: &str) -> NativeServer {
    NativeServer::start_with_env(
        Path::new(env!("CARGO_BIN_EXE_mock-rest-api")),
        &[],
        &[("RUST_LOG".to_owned(), filter.to_owned())],
    )
    .unwrap()
}

/// Sends a POST (with a query) and a GET of an id that does not exist.
fn send_two(server: &NativeServer) {
    let mut target = HttpTarget::new(server.base());
    let created = target
        .send(&WireRequest::new(
            "POST",
            "/api/people?a=1",
            r#"{"name":"Ada"}"#,
        ))
        .unwrap();
    assert_eq!(created.status, 200);
    let missing = target
        .send(&WireRequest::new("GET", "/api/people/none", ""))
        .unwrap();
    assert_eq!(missing.status, 404);
}

/// The server's request lines, once there are `wanted` of them (waiting up to
/// 10 s), or all there are after 300 ms when `wanted` is 0.
fn request_lines(server: &NativeServer, wanted: usize) -> Vec<String> {
    let patience = if wanted == 0 {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(10)
    };
    let deadline = Instant::now() + patience;
    loop {
        let lines: Vec<String> = server
            .log_lines()
            .into_iter()
            .filter(|line| line.contains(" mock_rest_api::api: "))
            .collect();
        if (wanted > 0 && lines.len() >= wanted) || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `2026-11-30T08:04:08.123456Z`: the time as the default timer writes it.
fn is_time(text: &str) -> bool {
    let shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    text.len() == shape.len()
        && text.chars().zip(shape.chars()).all(|(c, s)| match s {
            'd' => c.is_ascii_digit(),
            _ => c == s,
        })
}

/// The part of a request line after its time and target, checking both.
fn message(line: &str) -> &str {
    let (time, message) = line
        .split_once(PREFIX)
        .unwrap_or_else(|| panic!("not a request line: {line:?}"));
    assert!(is_time(time), "{line:?}");
    message
}

/// `0.3ms`: milliseconds to one decimal.
fn is_millis(text: &str) -> bool {
    text.strip_suffix("ms")
        .and_then(|number| number.split_once('.'))
        .is_some_and(|(whole, tenth)| {
            !whole.is_empty()
                && whole.chars().all(|c| c.is_ascii_digit())
                && tenth.len() == 1
                && tenth.chars().all(|c| c.is_ascii_digit())
        })
}

#[test]
fn each_request_is_one_line_in_the_subscribers_text() {
    let server = start("info");
    send_two(&server);
    let lines = request_lines(&server, 2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let expected = ["POST /api/people?a=1 200 ", "GET /api/people/none 404 "];
    for (line, start) in lines.iter().zip(expected) {
        let message = message(line);
        let took = message
            .strip_prefix(start)
            .unwrap_or_else(|| panic!("{line:?}"));
        assert!(is_millis(took), "{line:?}");
    }
    // The other lines still come through `tracing`, in the same text.
    let all = server.log_lines();
    assert!(
        all.iter()
            .any(|line| line.contains("  INFO mock_rest_api: ") && line.contains("listening")),
        "{all:?}"
    );
}

#[test]
fn the_filter_decides_by_the_handlers_target() {
    // (The test server must log its `listening on` line, at `INFO` under `mock_rest_api`.)
    // The request lines, and not salvo's lines at `INFO`.
    let server = start("warn,mock_rest_api=info");
    send_two(&server);
    assert_eq!(request_lines(&server, 2).len(), 2);
    let all = server.log_lines();
    assert!(!all.iter().any(|line| line.contains("salvo")), "{all:?}");
    drop(server);
    // Everything but the request lines.
    for filter in [
        "info,mock_rest_api::api=warn",
        "warn,mock_rest_api=info,mock_rest_api::api=warn",
    ] {
        let server = start(filter);
        send_two(&server);
        assert_eq!(request_lines(&server, 0), Vec::<String>::new(), "{filter}");
    }
}

#[test]
fn an_access_token_in_a_url_is_not_logged() {
    let server = NativeServer::start_with_env(
        Path::new(env!("CARGO_BIN_EXE_mock-rest-api")),
        &[],
        &[
            ("RUST_LOG".to_owned(), "info".to_owned()),
            ("API_TOKEN".to_owned(), "tok-SECRET-123".to_owned()),
        ],
    )
    .unwrap();
    let mut target = HttpTarget::new(server.base());
    // The homepage as the docs open it, a guess at another route, and the feed (a HEAD: no stream).
    for (method, path, status) in [
        ("GET", "/?access_token=tok-SECRET-123", 200),
        ("GET", "/api/people?x=1&access%5Ftoken=tok-SECRET-123", 401),
        ("HEAD", "/__admin/events?access_token=tok-SECRET-123", 200),
    ] {
        let answer = target.send(&WireRequest::new(method, path, "")).unwrap();
        assert_eq!(answer.status, status, "{method} {path}");
    }
    let lines = request_lines(&server, 3);
    let messages: Vec<&str> = lines
        .iter()
        .map(|line| message(line).rsplit_once(' ').unwrap().0)
        .collect();
    assert_eq!(
        messages,
        [
            "GET /?access_token=REDACTED 200",
            "GET /api/people?x=1&access%5Ftoken=REDACTED 401",
            "HEAD /__admin/events?access_token=REDACTED 200",
        ]
    );
    let all = server.log_lines().join("\n");
    assert!(!all.contains("tok-SECRET-123"), "{all}");
}
