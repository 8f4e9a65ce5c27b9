//! Rules in number: CPU time per `Endpoint::handle` with 1, 1,000 and
//! 10,000 rules loaded, as a recording of a real API makes them (each a GET
//! of one literal path, `/api/orders/N`, answered with its JSON), beside a GET
//! by id that no rule answers and the same GET with no rules at all, and the
//! CPU time of loading the rules (an endpoint made from them as a seed).
//!
//! `cargo run --release -p mock-rest-core --example rules_scale [ROUNDS]`
//!
//! Rules are found through an index of their path patterns (by the whole
//! literal path, or by the first segment), so neither a rule-matched answer
//! nor a request no rule answers should cost more as rules are added; and a
//! `json` answer without templates is written once, when its rule is added.

mod common;

use common::cpu;
use mock_rest_core::{Config, Endpoint, Method, Request, Seed, SeededIds};
use std::time::Duration;

const NOW: Duration = Duration::from_secs(1_800_000_000);

/// An endpoint with `n` recorded-style rules and one stored person.
fn engine(n: usize) -> Endpoint {
    let rules: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"match":{{"method":"GET","path":"/api/orders/{i}"}},"respond":{{"status":200,"json":{{"id":{i},"total":12.5,"lines":[{{"sku":"a-{i}","qty":2}}]}}}}}}"#
            )
        })
        .collect();
    let seed = Seed {
        fixtures: Some(br#"{"people":[{"name":"Ada","_id":"p1"}]}"#.to_vec()),
        rules: Some(format!("[{}]", rules.join(",")).into_bytes()),
        openapi: None,
    };
    let config = Config {
        max_rules: n.max(1),
        ..Config::default()
    };
    Endpoint::new(config, seed, Box::new(SeededIds::new(1)), NOW).unwrap_or_else(|err| {
        eprintln!("rules_scale: the rules do not load: {err}");
        std::process::exit(1);
    })
}

/// The CPU time of one `handle`, over `rounds`, after a tenth as many to warm up.
fn per_request(engine: &mut Endpoint, request: &Request, rounds: u32) -> Duration {
    for _ in 0..rounds / 10 {
        std::hint::black_box(engine.handle(request, NOW));
    }
    let start = cpu();
    for _ in 0..rounds {
        std::hint::black_box(engine.handle(request, NOW));
    }
    (cpu() - start) / rounds
}

fn status(engine: &mut Endpoint, request: &Request) -> u16 {
    engine
        .handle(request, NOW)
        .response()
        .map_or(0, |r| r.status)
}

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(200_000);
    let by_id = Request::new(Method::Get, "/api/people/p1");
    let mut bare = engine(0);
    let alone = per_request(&mut bare, &by_id, rounds);
    println!(
        "rules loaded | loading them | rule-matched GET | GET by id, no rule matching | GET by id with no rules"
    );
    for n in [1, 1_000, 10_000] {
        let start = cpu();
        let mut loaded = engine(n);
        let load = cpu() - start;
        let matched = Request::new(Method::Get, &format!("/api/orders/{}", n / 2));
        assert_eq!(status(&mut loaded, &matched), 200, "the rule answers");
        assert_eq!(status(&mut loaded, &by_id), 200, "the store answers");
        let rule = per_request(&mut loaded, &matched, rounds);
        let store = per_request(&mut loaded, &by_id, rounds);
        println!(
            "{n} | {:.1} ms | {:.2} µs | {:.2} µs | {:.2} µs",
            load.as_secs_f64() * 1e3,
            rule.as_secs_f64() * 1e6,
            store.as_secs_f64() * 1e6,
            alone.as_secs_f64() * 1e6
        );
    }
}
