//! The engine alone on the list queries of `bench/` (#14): CPU time per
//! `Endpoint::handle` for the plain 20-item page and the same page with
//! `_embed=pets`, at the bench's sizes, as `bench/bench.py` loads them.
//!
//! `cargo run --release -p mock-rest-core --example embed_cpu [ROUNDS]`
//!
//! CPU time (the process's, from `/proc/self/stat`) rather than wall time,
//! as the machine may be shared; one thread, so the two are the same work.

mod common;

use common::cpu;
use mock_rest_core::{Config, Endpoint, Method, Request, Seed, SeededIds};
use std::time::Duration;

const NOW: Duration = Duration::from_secs(1_800_000_000);

/// The bench's people and pets (see `people` and `pets` in `bench/bench.py`).
fn store(n: usize) -> String {
    let people: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"first_name":"Darth","last_name":"Vader{}","age":{},"_id":"p{i:07}"}}"#,
                i % 100,
                20 + i % 50
            )
        })
        .collect();
    let count = n.clamp(2000, 100_000);
    let pets: Vec<String> = (0..count)
        .map(|i| {
            let owner = if i < 200 {
                120 + i / 10
            } else {
                140 + ((i - 200) / 10) % (n - 140).max(1)
            };
            format!(r#"{{"name":"pet{i}","personId":"p{owner:07}","_id":"x{i:07}"}}"#)
        })
        .collect();
    format!(
        r#"{{"people":[{}],"pets":[{}]}}"#,
        people.join(","),
        pets.join(",")
    )
}

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(200_000);
    for n in [1_000, 100_000] {
        let seed = Seed {
            fixtures: Some(store(n).into_bytes()),
            rules: None,
            openapi: None,
        };
        let mut engine =
            match Endpoint::new(Config::default(), seed, Box::new(SeededIds::new(1)), NOW) {
                Ok(engine) => engine,
                Err(err) => {
                    eprintln!("embed_cpu: the bench's store does not load: {err}");
                    std::process::exit(1);
                }
            };
        let mut per = Vec::new();
        for target in [
            "/api/people?_page=7&_limit=20",
            "/api/people?_page=7&_limit=20&_embed=pets",
        ] {
            let request = Request::new(Method::Get, target).with_header("Host", "127.0.0.1:3000");
            let bytes = engine
                .handle(&request, NOW)
                .response()
                .map_or(0, |response| response.body.len());
            for _ in 0..rounds / 10 {
                engine.handle(&request, NOW);
            }
            let start = cpu();
            for _ in 0..rounds {
                std::hint::black_box(engine.handle(&request, NOW));
            }
            let each = (cpu() - start) / rounds;
            println!(
                "{n:>7} people: {target:<45} {bytes:>6} bytes  {:>7.2} µs CPU each",
                each.as_secs_f64() * 1e6
            );
            per.push(each);
        }
        println!(
            "{n:>7} people: embedded / plain CPU time {:.2}×",
            per[1].as_secs_f64() / per[0].as_secs_f64()
        );
    }
}
