//! Rules at their size bounds: CPU time per `Endpoint::handle` for requests a
//! rule's path or body pattern must be matched against, beside the same
//! requests with a rule whose pattern costs nothing (no path pattern, or the
//! body pattern `{}`, which still parses the body), so the patterns' own
//! cost shows.
//!
//! `cargo run --release -p mock-rest-core --example rules_cpu [ROUNDS]`
//!
//! - the widest path pattern (64 segments of `**` and `*`) on an 8 KiB path
//!   of 4,095 segments, which it matches only at the end;
//! - a body pattern of 6,000 numbers against a body of the same 6,000;
//! - a body pattern with 16 objects in an array against a body of 30,000
//!   objects (about 1 MiB) that all share the pattern's first member, so
//!   each is looked into, and whose last 16 are the pattern's.

mod common;

use common::cpu;
use mock_rest_core::{Config, Endpoint, Method, Request, Seed, SeededIds};
use std::time::Duration;

const NOW: Duration = Duration::from_secs(1_800_000_000);

fn engine(rule: String) -> Endpoint {
    let mut engine = Endpoint::new(
        Config::default(),
        Seed::default(),
        Box::new(SeededIds::new(1)),
        NOW,
    )
    .unwrap_or_else(|err| panic!("no seed to refuse: {err}"));
    let added = engine.handle(
        &Request::new(Method::Post, "/__admin/rules").with_body(rule),
        NOW,
    );
    match added.response() {
        Some(response) if response.status == 201 => {}
        other => {
            eprintln!("rules_cpu: the rule was refused: {other:?}");
            std::process::exit(1);
        }
    }
    engine
}

/// The CPU time of one `handle`, over `rounds`.
fn per_request(engine: &mut Endpoint, request: &Request, rounds: u32) -> Duration {
    let start = cpu();
    for _ in 0..rounds {
        std::hint::black_box(engine.handle(request, NOW));
    }
    (cpu() - start) / rounds
}

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(200);
    let widest = format!("{}/**/x", "/**/*".repeat(31));
    let path_rule = format!(r#"{{"match":{{"path":"{widest}"}},"respond":{{"status":204}}}}"#);
    let any_path = r#"{"respond":{"status":204}}"#.to_owned();
    let long_path = format!("{}/x", "/a".repeat(4094));
    let empty = |path: &str| {
        format!(r#"{{"match":{{"path":"{path}","body":{{}}}},"respond":{{"status":204}}}}"#)
    };
    let numbers: Vec<String> = (0..6_000).map(|n| (n * 7).to_string()).collect();
    let numbers_rule = format!(
        r#"{{"match":{{"path":"/api/n","body":{{"ids":[{}]}}}},"respond":{{"status":204}}}}"#,
        numbers.join(",")
    );
    let body_numbers = format!(r#"{{"ids":[{}]}}"#, numbers.join(","));
    let lines: Vec<String> = (0..16)
        .map(|n| format!(r#"{{"sku":"a","n":{{"x":{n}}}}}"#))
        .collect();
    let objects_rule = format!(
        r#"{{"match":{{"path":"/api/o","body":{{"lines":[{}]}}}},"respond":{{"status":204}}}}"#,
        lines.join(",")
    );
    let mut all = vec![r#"{"sku":"a","n":{"x":99}}"#.to_owned(); 30_000 - 16];
    all.extend(lines.iter().cloned());
    let body_objects = format!(r#"{{"lines":[{}]}}"#, all.join(","));
    let scenarios = [
        (
            "widest path pattern, 8 KiB path",
            path_rule,
            any_path,
            Request::new(Method::Get, &long_path),
        ),
        (
            "6,000 numbers against 6,000",
            numbers_rule,
            empty("/api/n"),
            Request::new(Method::Post, "/api/n").with_body(body_numbers),
        ),
        (
            "16 objects against 30,000 (1 MiB)",
            objects_rule,
            empty("/api/o"),
            Request::new(Method::Post, "/api/o").with_body(body_objects),
        ),
    ];
    println!("scenario | the rule | a rule whose pattern costs nothing | the pattern's own");
    for (name, rule, baseline, request) in scenarios {
        let mut with_rule = engine(rule);
        assert_eq!(
            with_rule
                .handle(&request, NOW)
                .response()
                .map_or(0, |r| r.status),
            204,
            "{name}"
        );
        let with = per_request(&mut with_rule, &request, rounds);
        let without = per_request(&mut engine(baseline), &request, rounds);
        println!(
            "{name} | {:.2} ms | {:.2} ms | {:.2} ms",
            with.as_secs_f64() * 1e3,
            without.as_secs_f64() * 1e3,
            with.saturating_sub(without).as_secs_f64() * 1e3
        );
    }
}
