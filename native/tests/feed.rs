//! The native host's delivery of the change feed: what the conformance cases
//! (tests/cases/feed.json) cannot show, as they read every stream promptly.
//! Subscribers that never read, and one that goes away in the middle of an
//! event.

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Target, WireRequest};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

fn start(env: &[(&str, &str)]) -> NativeServer {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    NativeServer::start_with_env(Path::new(env!("CARGO_BIN_EXE_mock-rest-api")), &[], &env).unwrap()
}

/// Opens `GET /__admin/events` on a raw socket and reads nothing but the
/// status line, so the stream is open and counted.
fn subscribe(base: &str) -> (TcpStream, String) {
    let addr = base.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .write_all(b"GET /__admin/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let mut status = [0u8; 12];
    socket.read_exact(&mut status).unwrap();
    (socket, String::from_utf8_lossy(&status).into_owned())
}

#[test]
fn a_thousand_subscribers_that_never_read_leave_memory_bounded() {
    let server = start(&[("MAX_SUBSCRIBERS", "1000")]);
    let sockets: Vec<TcpStream> = (0..1000)
        .map(|_| {
            let (socket, status) = subscribe(server.base());
            assert_eq!(status, "HTTP/1.1 200");
            socket
        })
        .collect();
    let (_, refused) = subscribe(server.base());
    assert_eq!(refused, "HTTP/1.1 503", "MAX_SUBSCRIBERS is enforced");
    let before_kib = server.peak_rss_kib().unwrap();
    // 2,000 events of 16 KiB (32 MiB) for each of 1,000 subscribers that read
    // none of them: 32 GiB if each stream kept its own.
    let item = format!(r#"{{"pad":"{}"}}"#, "x".repeat(16 * 1024));
    let mut client = HttpTarget::new(server.base());
    for _ in 0..2000 {
        let answer = client
            .send(&WireRequest::new("POST", "/api/feed", &item))
            .unwrap();
        assert_eq!(answer.status, 200);
    }
    let peak_mib = server.peak_rss_kib().unwrap() / 1024;
    println!(
        "peak RSS: {} MiB with 1,000 idle streams, {peak_mib} MiB after 32 MiB of events each did not read",
        before_kib / 1024
    );
    // Measured: about 90 MiB (the broadcast keeps 1,024 events once, shared).
    assert!(peak_mib < 200, "peak RSS {peak_mib} MiB");
    drop(sockets);
}

#[test]
fn a_subscriber_that_goes_away_mid_event_frees_its_place() {
    let server = start(&[("MAX_SUBSCRIBERS", "1")]);
    let (mut socket, status) = subscribe(server.base());
    assert_eq!(status, "HTTP/1.1 200");
    let mut client = HttpTarget::new(server.base());
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(512 * 1024));
    let post = |client: &mut HttpTarget| {
        let answer = client
            .send(&WireRequest::new("POST", "/api/big", &big))
            .unwrap();
        assert_eq!(answer.status, 200);
    };
    post(&mut client);
    // Part of the event, then the client is gone.
    let mut some = [0u8; 1024];
    socket.read_exact(&mut some).unwrap();
    drop(socket);
    // The next events fail to write; the stream ends and its place is free.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        post(&mut client);
        let (_, status) = subscribe(server.base());
        if status == "HTTP/1.1 200" {
            break;
        }
        assert_eq!(status, "HTTP/1.1 503");
        assert!(Instant::now() < deadline, "the place was never freed");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The server goes on answering.
    let health = client
        .send(&WireRequest::new("GET", "/health", ""))
        .unwrap();
    assert_eq!(health.status, 200);
}
