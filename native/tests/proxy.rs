//! The native host's proxy (`PROXY_TARGET`) against real sockets: a record
//! and replay session through a second mock process, the target's
//! failures (a closed port, silence, 100 MiB, a redirect, a 5xx, a `101`),
//! request targets that are not paths (`*`), and the mock's own token, which
//! the target never gets. What the proxy means is pinned in the core's tests
//! (`core/src/engine/proxy.rs`).

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Scratch, Target, WireRequest, WireResponse};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mock-rest-api"))
}

fn send(base: &str, method: &str, target: &str, body: &str) -> WireResponse {
    let mut request = WireRequest::new(method, target, body);
    request.headers.push((
        "Authorization".to_owned(),
        "Bearer upstream-secret".to_owned(),
    ));
    HttpTarget::new(base).send(&request).unwrap()
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn json(response: &WireResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}

#[test]
fn a_recorded_session_replays_offline_from_the_exports() {
    let upstream = NativeServer::start(binary(), &[]).unwrap();
    let created = send(
        upstream.base(),
        "POST",
        "/api/orders",
        r#"[{"item":"pen","qty":2,"status":"open"},{"item":"ink","qty":1.50,"status":"done"}]"#,
    );
    assert_eq!(created.status, 200);
    let first_id = json(&created)[0]["_id"].as_str().unwrap().to_owned();
    let second_id = json(&created)[1]["_id"].as_str().unwrap().to_owned();

    let recorder = NativeServer::start_with_env(
        binary(),
        &[],
        &env(&[("PROXY_TARGET", upstream.base()), ("RECORD", "1")]),
    )
    .unwrap();
    let session = [
        ("GET", "/api/orders".to_owned(), ""),
        ("GET", "/api/orders?status=open".to_owned(), ""),
        ("GET", format!("/api/orders/{first_id}"), ""),
        ("POST", "/api/customers".to_owned(), r#"{"name":"Ada"}"#),
        ("GET", "/api/nothing/here".to_owned(), ""),
        ("DELETE", "/api/orders/none".to_owned(), ""),
    ];
    let mut recorded = Vec::new();
    for (method, target, body) in &session {
        let live = send(recorder.base(), method, target, body);
        let direct_status = live.status;
        assert!(
            live.header("x-mock-recorded").is_some(),
            "{method} {target}: {:?}",
            live.header("x-mock-not-recorded")
        );
        recorded.push((direct_status, live.body));
    }
    assert_eq!(recorded[0].0, 200);
    assert_eq!(recorded[4].0, 404, "the target's 404 comes back as it is");
    // The target really answered: the customer is there, not in the recorder's store.
    assert_eq!(
        json(&send(upstream.base(), "GET", "/api/customers", ""))
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let journal = send(recorder.base(), "GET", "/__admin/requests", "");
    let journal_text = String::from_utf8_lossy(&journal.body).into_owned();
    assert!(
        journal_text.contains(&format!(r#""proxied":"{}""#, upstream.base())),
        "{journal_text}"
    );
    let rules = send(recorder.base(), "GET", "/__admin/rules", "").body;
    let snapshot = send(recorder.base(), "GET", "/__admin/snapshot", "").body;
    let rules_text = String::from_utf8_lossy(&rules).into_owned();
    assert!(!rules_text.contains("upstream-secret") && !journal_text.contains("upstream-secret"));
    assert_eq!(
        json(&send(recorder.base(), "GET", "/__admin/rules", ""))
            .as_array()
            .map(Vec::len),
        Some(6)
    );

    // The target goes away: the recorder, still proxying, says so with 502.
    let upstream_base = upstream.base().to_owned();
    drop(upstream);
    let gone = send(recorder.base(), "GET", "/api/orders/elsewhere", "");
    assert_eq!(gone.status, 502);
    assert!(json(&gone)["message"].as_str().unwrap().contains(&format!(
        "The proxy target {upstream_base} cannot be reached"
    )));
    drop(recorder);

    // Offline, from the exports alone.
    let scratch = Scratch::new("proxy", "replay").unwrap();
    let rules_file = scratch.file("rules.json", &rules_text).unwrap();
    let data_file = scratch
        .file("snapshot.json", &String::from_utf8_lossy(&snapshot))
        .unwrap();
    let offline = NativeServer::start_with_env(
        binary(),
        &["--rules", &rules_file],
        &env(&[("DATA_FILE", &data_file)]),
    )
    .unwrap();
    for ((method, target, body), (status, bytes)) in session.iter().zip(&recorded) {
        let replayed = send(offline.base(), method, target, body);
        assert_eq!(
            (replayed.status, String::from_utf8_lossy(&replayed.body)),
            (*status, String::from_utf8_lossy(bytes)),
            "{method} {target}"
        );
    }
    // The list's items are in the store, with their ids: an item never asked for is served too.
    let second = send(
        offline.base(),
        "GET",
        &format!("/api/orders/{second_id}"),
        "",
    );
    assert_eq!(second.status, 200);
    assert_eq!(json(&second)["qty"].to_string(), "1.50");
}

/// A target on 127.0.0.1 that answers by path: `/slow` never, `/big` with
/// 100 MiB (no length, until the connection closes), `/declared` with a
/// `Content-Length` of 100 MiB, `/redirect` with a `302`, `/down` with `503`.
fn fake_target() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || serve_fake(stream));
        }
    });
    base
}

fn serve_fake(mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split(' ').nth(1).unwrap_or("").to_owned();
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let head = |status: &str, extra: &str| {
        format!("HTTP/1.1 {status}\r\n{extra}Connection: close\r\n\r\n")
    };
    let _ = match path.as_str() {
        "/slow" => {
            std::thread::sleep(Duration::from_secs(30));
            Ok(())
        }
        "/big" => {
            let _ = stream.write_all(head("200 OK", "Content-Type: text/plain\r\n").as_bytes());
            let chunk = vec![b'x'; 64 * 1024];
            // 100 MiB, or until the mock hangs up.
            (0..1600).try_for_each(|_| stream.write_all(&chunk))
        }
        "/declared" => stream.write_all(head("200 OK", "Content-Length: 104857600\r\n").as_bytes()),
        "/redirect" => stream.write_all(
            head("302 Found", "Location: /elsewhere\r\nContent-Length: 0\r\n").as_bytes(),
        ),
        _ => stream.write_all(
            (head(
                "503 Service Unavailable",
                "Content-Type: application/json\r\nRetry-After: 7\r\nContent-Length: 13\r\n",
            ) + r#"{"down":true}"#)
                .as_bytes(),
        ),
    };
}

#[test]
fn the_targets_failures_are_defined_answers() {
    let target = fake_target();
    let mock = NativeServer::start_with_env(
        binary(),
        &[],
        &env(&[("PROXY_TARGET", &target), ("PROXY_TIMEOUT_MS", "300")]),
    )
    .unwrap();
    let base = mock.base();

    let started = Instant::now();
    let slow = send(base, "GET", "/slow", "");
    assert_eq!(slow.status, 504);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "cut at the timeout"
    );
    assert!(json(&slow)["message"]
        .as_str()
        .unwrap()
        .contains(&format!("{target} did not answer within 300 ms")));

    let before = mock.peak_rss_kib().unwrap();
    for path in ["/big", "/declared"] {
        let big = send(base, "GET", path, "");
        assert_eq!(big.status, 502, "{path}");
        assert!(
            json(&big)["message"]
                .as_str()
                .unwrap()
                .contains("over 1048576 bytes (MAX_BODY_BYTES)"),
            "{path}"
        );
    }
    let after = mock.peak_rss_kib().unwrap();
    assert!(
        after < before + 32 * 1024,
        "100 MiB from the target raised the peak from {before} KiB to {after} KiB"
    );

    let redirect = send(base, "GET", "/redirect", "");
    assert_eq!(
        (redirect.status, redirect.header("location")),
        (302, Some("/elsewhere")),
        "passed back, not followed"
    );
    let down = send(base, "GET", "/down", "");
    assert_eq!(down.status, 503);
    assert_eq!(down.body, br#"{"down":true}"#);
    assert_eq!(down.header("retry-after"), Some("7"));
    assert_eq!(down.header("access-control-allow-origin"), Some("*"));

    // The mock's own paths never go to the target.
    assert_eq!(send(base, "GET", "/health", "").status, 200);
}

#[test]
fn a_closed_port_is_502_naming_the_target() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mock =
        NativeServer::start_with_env(binary(), &[], &env(&[("PROXY_TARGET", &closed)])).unwrap();
    let answer = send(mock.base(), "POST", "/api/orders", "{}");
    assert_eq!(answer.status, 502);
    let message = json(&answer)["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with(&format!("The proxy target {closed} cannot be reached: ")),
        "{message}"
    );
}

#[test]
fn a_target_that_is_not_an_http_url_stops_the_start() {
    let stderr =
        NativeServer::refused(binary(), &["--proxy-target", "localhost:8080"], &[]).unwrap();
    assert!(
        stderr.contains("PROXY_TARGET")
            && stderr.contains("localhost:8080")
            && stderr.contains("not an absolute URL"),
        "{stderr}"
    );
}

/// A target on 127.0.0.1 that keeps the head of every request it gets and
/// answers each with what `answer` makes of that head (its body, if any,
/// read by its `Content-Length` and dropped); the connection then stays open.
fn recording_target(
    answer: fn(&str) -> Vec<u8>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&heads);
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let seen = std::sync::Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                loop {
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => break,
                            Ok(_) => head.push_str(&line),
                        }
                    }
                    let length = head
                        .lines()
                        .find_map(|line| {
                            let (name, value) = line.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    let mut body = vec![0; length];
                    if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
                        return;
                    }
                    seen.lock().unwrap().push(head.clone());
                    if writer.write_all(&answer(&head)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (base, heads)
}

/// Sends raw bytes on a new connection and reads until `answers` answers
/// have come (or the connection closes, or 10 s pass): what came.
fn raw_exchange(base: &str, bytes: &[u8], answers: usize) -> String {
    let mut stream = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while String::from_utf8_lossy(&seen).matches("HTTP/1.1 ").count() < answers
        || !String::from_utf8_lossy(&seen).ends_with('}')
    {
        match std::io::Read::read(&mut stream, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

fn echo_head(head: &str) -> Vec<u8> {
    let body = serde_json::json!({ "head": head }).to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn a_target_that_is_not_a_path_never_leaves_the_proxy_target() {
    let (target, heads) = recording_target(echo_head);
    let mock =
        NativeServer::start_with_env(binary(), &[], &env(&[("PROXY_TARGET", &target)])).unwrap();
    for method in ["GET", "OPTIONS", "POST"] {
        let answer = raw_exchange(
            mock.base(),
            format!("{method} * HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").as_bytes(),
            1,
        );
        assert!(answer.starts_with("HTTP/1.1 400 "), "{method} *: {answer}");
        assert!(
            answer.contains(r#"{"message":"The request target `*` is not a path: send a path that starts with `/`, such as /api/persons."}"#),
            "{answer}"
        );
    }
    // An absolute URI goes to the target, as its path.
    let answer = raw_exchange(
        mock.base(),
        b"GET http://127.0.0.1:1/v1/x?y=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        1,
    );
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0].starts_with("GET /v1/x?y=1 HTTP/1.1\r\n"),
        "{heads:?}"
    );
}

#[test]
fn the_mocks_own_token_is_not_sent_to_the_target() {
    let (target, heads) = recording_target(echo_head);
    let mock = NativeServer::start_with_env(
        binary(),
        &[],
        &env(&[
            ("PROXY_TARGET", &target),
            ("API_TOKEN", "mock-token"),
            ("AUTH_SCOPE", "writes"),
        ]),
    )
    .unwrap();
    let mut write = WireRequest::new("POST", "/orders?access_token=mock-token&x=1", "{}");
    write
        .headers
        .push(("Authorization".to_owned(), "Bearer mock-token".to_owned()));
    assert_eq!(
        HttpTarget::new(mock.base()).send(&write).unwrap().status,
        200
    );
    let mut read = WireRequest::new("GET", "/orders", "");
    read.headers
        .push(("Authorization".to_owned(), "Bearer theirs".to_owned()));
    assert_eq!(
        HttpTarget::new(mock.base()).send(&read).unwrap().status,
        200
    );
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert!(
        heads[0].starts_with("POST /orders?x=1 HTTP/1.1\r\n"),
        "{heads:?}"
    );
    assert!(!heads[0].contains("mock-token"), "{heads:?}");
    assert!(
        !heads[0].to_ascii_lowercase().contains("authorization"),
        "{heads:?}"
    );
    assert!(
        heads[1].contains("authorization: Bearer theirs\r\n"),
        "the target's own credential goes as it came: {heads:?}"
    );
}

#[test]
fn a_targets_101_is_502_and_the_next_pipelined_request_is_answered() {
    let (target, _) = recording_target(|_| {
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            .to_vec()
    });
    let mock =
        NativeServer::start_with_env(binary(), &[], &env(&[("PROXY_TARGET", &target)])).unwrap();
    let answer = raw_exchange(
        mock.base(),
        b"GET /socket HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        2,
    );
    assert!(answer.starts_with("HTTP/1.1 502 "), "{answer}");
    assert!(
        answer.contains(&format!(
            "The proxy target {target} answered 101 Switching Protocols, an interim answer the request did not ask for; it was not passed on."
        )),
        "{answer}"
    );
    let second = answer.find("HTTP/1.1 200 ").expect(&answer);
    assert!(answer[second..].contains(r#""status":"pass""#), "{answer}");
}
