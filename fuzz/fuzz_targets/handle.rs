//! Feeds the endpoint arbitrary requests: the first line of the input is the
//! method, the second the target (path and query), the third a header as
//! `name: value`, the rest the body. Every answer must be a well-formed
//! response of the contract: a known status, JSON errors, and no panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mock_rest_core::{Config, Endpoint, Method, Request, Seed, SeededIds};
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.splitn(4, |&b| b == b'\n');
    let method = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let target = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let header = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let body = lines.next().unwrap_or_default().to_vec();

    let now = Duration::from_secs(1_700_000_000);
    let config = Config { max_items: 50, max_types: 5, ..Config::default() };
    let mut engine = Endpoint::new(config, Seed::default(), Box::new(SeededIds::new(1)), now)
        .expect("an empty seed is a good one");
    // A store with something in it, so reads and writes of items are reached,
    // and relations: posts with comments (postId as a number and a string)
    // that also point at each other (commentId), for _embed, _expand and
    // the nested routes.
    let seed = Request::new(Method::Post, "/api/p").with_body(r#"[{"a":1,"t":["x"],"o":{"k":null}},{"a":"z"}]"#);
    engine.handle(&seed, now);
    let related = Request::new(Method::Post, "/api/posts").with_body(r#"{"title":"a","postId":"1"}"#);
    engine.handle(&related, now);
    let comments = Request::new(Method::Post, "/api/comments").with_body(r#"[{"postId":1,"body":"x"},{"postId":"1","commentId":"c"},{"postId":null}]"#);
    engine.handle(&comments, now);

    let mut request = Request::new(Method::parse(method.trim()), target.trim_end());
    if let Some((name, value)) = header.split_once(':') {
        request = request.with_header(name.trim(), value.trim());
    }
    request.body = body;
    for _ in 0..2 {
        let output = engine.handle(&request, now);
        let changes: Vec<_> = output.changes().cloned().collect();
        // A rule may drop the connection: there is no answer to check then.
        if let Some(response) = output.response() {
            let status = response.status;
            assert!((200..=599).contains(&status), "status {status}");
            if status >= 400 && request.method != Method::Head {
                let text = std::str::from_utf8(&response.body).expect("errors are UTF-8");
                assert!(text.starts_with("{\"message\":\""), "error body {text}");
            }
        }
        // The store always takes its reported changes back.
        let mut replayed =
            Endpoint::new(Config::default(), Seed::default(), Box::new(SeededIds::new(2)), now)
                .expect("an empty seed is a good one");
        replayed.open("default", now).expect("the first namespace is made");
        for change in &changes {
            replayed.apply("default", change);
        }
    }
});
