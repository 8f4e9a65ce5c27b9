//! The native host's connections and request bodies, over raw TCP sockets:
//! bodies that do not arrive whole, transfer codings, the 408, and the
//! timeouts that free connection slots held without use.

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Target, WireRequest};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

fn start(args: &[&str]) -> NativeServer {
    NativeServer::start(Path::new(env!("CARGO_BIN_EXE_mock-rest-api")), args).unwrap()
}

fn connect(server: &NativeServer) -> TcpStream {
    let stream = TcpStream::connect(server.base().trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Everything the server sends until it closes the connection (or a read
/// fails, as on a reset).
fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// What `GET /api/{resource}` lists, through a fresh connection.
fn list(server: &NativeServer, resource: &str) -> Vec<u8> {
    HttpTarget::new(server.base())
        .send(&WireRequest::new("GET", &format!("/api/{resource}"), ""))
        .unwrap()
        .body
}

/// Waits (a bounded while) for the server's log to have a line with `text`.
fn logged(server: &NativeServer, text: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if server.log_lines().iter().any(|line| line.contains(text)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn a_body_cut_short_of_its_content_length_changes_nothing() {
    let server = start(&[]);
    let mut stream = connect(&server);
    stream
        .write_all(b"POST /api/cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":1}")
        .unwrap();
    // The client stops sending: the body can never be whole.
    stream.shutdown(Shutdown::Write).unwrap();
    // It still reads: the answer it would have got.
    let answer = read_to_close(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains(
            "The request body ended after 7 of the 100 bytes its Content-Length declares; nothing was changed."
        ),
        "{answer}"
    );
    assert_eq!(list(&server, "cut"), b"[]");
    assert!(
        logged(&server, "POST /api/cut 400"),
        "{:?}",
        server.log_lines()
    );
}

#[test]
fn broken_chunked_bodies_get_400_and_change_nothing() {
    let server = start(&[]);
    let cases: [(&[u8], bool); 3] = [
        // A chunk size that is not hexadecimal.
        (b"zz\r\n{\"a\":1}\r\n0\r\n\r\n", false),
        // A chunk longer than its size says.
        (b"3\r\n{\"a\":1}\r\n0\r\n\r\n", false),
        // No last chunk, then the client stops sending.
        (b"7\r\n{\"a\":1}\r\n", true),
    ];
    for (body, close) in cases {
        let mut stream = connect(&server);
        stream
            .write_all(
                b"POST /api/chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            )
            .unwrap();
        stream.write_all(body).unwrap();
        if close {
            stream.shutdown(Shutdown::Write).unwrap();
        }
        let answer = read_to_close(&mut stream);
        assert!(
            answer.starts_with("HTTP/1.1 400"),
            "{}: {answer}",
            String::from_utf8_lossy(body)
        );
        assert!(
            answer.contains(
                r#"{"message":"The chunked request body is malformed or ended before its last chunk; nothing was changed."}"#
            ),
            "{answer}"
        );
    }
    assert_eq!(list(&server, "chunks"), b"[]");
    // A whole chunked body is stored.
    let mut stream = connect(&server);
    stream
        .write_all(b"POST /api/chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n")
        .unwrap();
    let answer = read_to_close(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#"{"a":1,"_id":""#), "{answer}");
}

#[test]
fn a_transfer_coding_the_server_cannot_decode_gets_501() {
    let server = start(&[]);
    for coding in ["gzip, chunked", "deflate,chunked"] {
        let mut stream = connect(&server);
        let head = format!(
            "POST /api/coded HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {coding}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(b"7\r\n{\"a\":1}\r\n0\r\n\r\n").unwrap();
        let answer = read_to_close(&mut stream);
        assert!(answer.starts_with("HTTP/1.1 501"), "{coding}: {answer}");
        assert!(
            answer.contains("content-type: application/json"),
            "{answer}"
        );
        let name = coding.split(',').next().unwrap();
        assert!(
            answer.contains(&format!(
                r#"{{"message":"Transfer-Encoding {name} is not supported: send the body as it is, with Content-Length or chunked."}}"#
            )),
            "{answer}"
        );
    }
    assert_eq!(list(&server, "coded"), b"[]");
}

#[test]
fn a_408_can_be_read_by_an_allowed_origin() {
    let server = start(&[
        "--body-timeout-secs",
        "1",
        "--cors-origins",
        "http://localhost:3000",
    ]);
    let mut stream = connect(&server);
    stream
        .write_all(b"POST /api/slow HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:3000\r\nContent-Length: 100\r\n\r\n{\"a\":")
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("arrive.\"}") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("access-control-allow-origin: http://localhost:3000"),
        "{answer}"
    );
    assert!(answer.contains("vary: Origin"), "{answer}");
    assert_eq!(list(&server, "slow"), b"[]");
}

/// Waits for the server to close an unused connection; returns how long it took.
fn closed_within(stream: &mut TcpStream, bound: Duration) -> Duration {
    stream.set_read_timeout(Some(bound)).unwrap();
    let started = Instant::now();
    let rest = read_to_close(stream);
    let waited = started.elapsed();
    assert!(waited < bound, "still open after {waited:?}");
    assert!(!rest.contains("HTTP/1.1"), "answered: {rest}");
    waited
}

#[test]
fn an_idle_http1_connection_is_closed_after_the_idle_time() {
    let server = start(&["--idle-timeout-secs", "1", "--header-timeout-secs", "30"]);
    // A connection that never sends a byte.
    let mut silent = connect(&server);
    closed_within(&mut silent, Duration::from_secs(15));
    // A kept-alive connection after its answer.
    let mut kept = connect(&server);
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut status = [0u8; 12];
    kept.read_exact(&mut status).unwrap();
    assert_eq!(&status, b"HTTP/1.1 200");
    closed_within(&mut kept, Duration::from_secs(15));
}

#[test]
fn a_request_head_that_trickles_in_is_cut_off() {
    let server = start(&["--header-timeout-secs", "1"]);
    let mut stream = connect(&server);
    let started = Instant::now();
    let mut cut = false;
    // One byte every 200 ms keeps the connection busy but never ends the head.
    for byte in b"GET /health HTTP/1.1\r\nX-Slow: ".iter().cycle().take(150) {
        if stream.write_all(&[*byte]).is_err() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(cut, "a 30 s request head was read to the end");
    assert!(started.elapsed() < Duration::from_secs(25));
}

#[test]
fn an_idle_http2_connection_is_closed() {
    let server = start(&["--idle-timeout-secs", "1"]);
    let mut stream = connect(&server);
    // The HTTP/2 preface and an empty SETTINGS frame, then nothing.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let started = Instant::now();
    let mut frames = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => frames.extend_from_slice(&buf[..n]),
            Err(err) => panic!("not closed after {:?}: {err}", started.elapsed()),
        }
    }
    // It spoke HTTP/2 (a SETTINGS frame first), then closed the connection.
    assert!(frames.len() >= 9 && frames[3] == 0x04, "{frames:?}");
}

#[test]
fn clients_that_never_read_their_answers_do_not_lock_others_out() {
    let server = start(&["--max-connections", "5", "--write-timeout-secs", "1"]);
    // An item of 512 KiB, whose answers will pile up unread.
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(512 * 1024));
    let created = HttpTarget::new(server.base())
        .send(&WireRequest::new("POST", "/api/big", &big))
        .unwrap();
    assert_eq!(created.status, 200);
    let item: serde_json::Value = serde_json::from_slice(&created.body).unwrap();
    let get = format!(
        "GET /api/big/{} HTTP/1.1\r\nHost: x\r\n\r\n",
        item["_id"].as_str().unwrap()
    );
    // Five clients take every slot, each asking for 100 answers (50 MiB) and reading none.
    let pipeliners: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut stream = connect(&server);
            stream.write_all(get.repeat(100).as_bytes()).unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // A new client still gets its answer, once a stalled write has timed out.
    let mut client = connect(&server);
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    client
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let answer = read_to_close(&mut client);
    assert!(answer.starts_with("HTTP/1.1 200"), "no answer: {answer:?}");
    drop(pipeliners);
}

#[test]
fn timeouts_that_cannot_work_stop_the_start_naming_the_setting() {
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_mock-rest-api"))
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} started");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let log = run(&["--idle-timeout-secs", "5", "--delay-ms", "5000"]);
    assert!(
        log.contains("IDLE_TIMEOUT_SECS (5 s) must be longer than DELAY_MS (5000 ms)"),
        "{log}"
    );
    assert!(!log.contains("listening"), "{log}");
    for flag in [
        "--idle-timeout-secs",
        "--header-timeout-secs",
        "--write-timeout-secs",
    ] {
        let log = run(&[flag, "0"]);
        assert!(log.contains(flag), "{flag}: {log}");
    }
}
