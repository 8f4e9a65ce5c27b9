//! The engine alone on the filtered list, `q` and `_like` of `bench/`'s
//! limit scenario (#18): people POSTed in batches of 10,000 as the bench
//! does, then each query timed through `Endpoint::handle` (the first request,
//! which builds the index, apart), then single POSTs timed with the indexes
//! kept up to date. RSS (from `/proc/self/status`) after loading and after
//! the indexes are built, against the raw JSON of the people. Then `q` of a
//! different term on each request, which the word index has not kept.
//!
//! `cargo run --release -p mock-rest-core --example index_cpu [SIZES...]`
//! (default `1000 1000000`; `INDEX_ONLY=text` times only the queries that
//! hold the text)
//!
//! Per query: the median wall time of one request over many, and CPU time
//! (the process's, from `/proc/self/stat`, 10 ms ticks) over all of them;
//! one thread, so both measure the same work unless the machine is busy.

mod common;

use common::cpu;
use mock_rest_core::{Config, Endpoint, Method, Request, Response, Seed, SeededIds};
use std::time::{Duration, Instant};

const NOW: Duration = Duration::from_secs(1_800_000_000);

/// The bench's people (see `person` in `bench/bench.py`), without `_id`.
fn person(i: usize) -> String {
    format!(
        r#"{{"first_name":"Darth","last_name":"Vader{}","age":{}}}"#,
        i % 100,
        20 + i % 50
    )
}

/// A line of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`).
fn status_bytes(name: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(0)
        * 1024
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// Times 2,000 single POSTs (people from `first` on) into a store of about
/// `n`; returns their ids.
fn posts(engine: &mut Endpoint, n: usize, first: usize, when: &str) -> Vec<String> {
    let mut samples = Vec::new();
    let mut ids = Vec::new();
    for k in first..first + 2_000 {
        let request = Request::new(Method::Post, "/api/people")
            .with_header("Content-Type", "application/json")
            .with_body(person(k));
        let at = Instant::now();
        let response = answer(engine, &request);
        samples.push(at.elapsed());
        let status = response.status;
        let id = serde_json::from_slice::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|item| item["_id"].as_str().map(str::to_owned));
        ids.extend(id);
        if status / 100 != 2 {
            eprintln!("index_cpu: a POST answered {status}");
            std::process::exit(1);
        }
    }
    let slowest = samples.iter().max().copied().unwrap_or_default();
    println!(
        "{n:>8} people: POST {when}: median {:.1} µs, slowest {:.1} µs (2,000 POSTs)",
        median(samples).as_secs_f64() * 1e6,
        slowest.as_secs_f64() * 1e6
    );
    ids
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 1_000_000]
    } else {
        sizes
    };
    for n in sizes {
        let config = Config {
            max_items: n + 100_000,
            ..Config::default()
        };
        let mut engine = Endpoint::new(config, Seed::default(), Box::new(SeededIds::new(1)), NOW)
            .unwrap_or_else(|err| panic!("no seed to refuse: {err}"));
        let rss_empty = status_bytes("VmRSS");
        let mut raw = 0u64;
        let load = Instant::now();
        let mut i = 0;
        while i < n {
            let batch = (n - i).min(10_000);
            let body = format!(
                "[{}]",
                (i..i + batch).map(person).collect::<Vec<_>>().join(",")
            );
            let request = Request::new(Method::Post, "/api/people")
                .with_header("Content-Type", "application/json")
                .with_body(body);
            let response = answer(&mut engine, &request);
            if response.status / 100 != 2 {
                eprintln!("index_cpu: a batch POST answered {}", response.status);
                std::process::exit(1);
            }
            // The items as stored, without the array's brackets and commas.
            raw += (response.body.len() - 2 - (batch - 1)) as u64;
            i += batch;
        }
        let rss_loaded = status_bytes("VmRSS") - rss_empty;
        println!(
            "{n:>8} people: loaded in {:.2} s; raw JSON {:.1} MiB, RSS {:.1} MiB ({:.2}×)",
            load.elapsed().as_secs_f64(),
            mib(raw),
            mib(rss_loaded),
            rss_loaded as f64 / raw as f64
        );
        // Taken out again, so the queries run on `n` people (the holes are skipped).
        for id in posts(&mut engine, n, n, "before any index") {
            let request = Request::new(Method::Delete, &format!("/api/people/{id}"));
            engine.handle(&request, NOW);
        }
        for target in [
            "/api/people?last_name=Vader7&age_gte=30&_limit=20",
            // The bench's filter matches none (every `Vader7` is 27): one that matches.
            "/api/people?last_name=Vader7&age_lte=30&_limit=20",
            // One filter: counted from its key's list alone.
            "/api/people?last_name=Vader7&_limit=20",
            "/api/people?q=vader7&_limit=20",
            "/api/people?last_name_like=^vader7$&_limit=20",
            // json-server 1.0's operators, as the bench's 1.0 filter.
            "/api/people?last_name:startsWith=Vader7&age:gte=30&_limit=20",
        ] {
            if std::env::var("INDEX_ONLY").is_ok_and(|only| !target.contains(&only)) {
                continue;
            }
            let request = Request::new(Method::Get, target).with_header("Host", "127.0.0.1:3000");
            let first = Instant::now();
            let response = answer(&mut engine, &request);
            let first = first.elapsed();
            let total = response.header("x-total-count").unwrap_or("?").to_owned();
            // A query builds one index at a time: the second may build one more.
            let second = Instant::now();
            std::hint::black_box(engine.handle(&request, NOW));
            let second = second.elapsed();
            let third = Instant::now();
            std::hint::black_box(engine.handle(&request, NOW));
            let third = third.elapsed();
            // About two seconds of requests, at least 20.
            let rounds = (2_000_000 / (third.as_micros() as usize).max(1)).clamp(20, 200_000);
            let mut samples = Vec::with_capacity(rounds);
            let start = cpu();
            for _ in 0..rounds {
                let at = Instant::now();
                std::hint::black_box(engine.handle(&request, NOW));
                samples.push(at.elapsed());
            }
            let each = (cpu() - start) / rounds as u32;
            println!(
                "{n:>8} people: {target:<50} X-Total-Count {total:>7}; first {:>9.1} µs, second {:>9.1} µs, then median {:>8.1} µs, CPU {:>8.1} µs ({rounds} requests)",
                first.as_secs_f64() * 1e6,
                second.as_secs_f64() * 1e6,
                median(samples).as_secs_f64() * 1e6,
                each.as_secs_f64() * 1e6
            );
        }
        // A `q` the word index has not kept (see core/src/index.rs): 100
        // different terms in turn, more than it keeps, so each is a union of
        // its words' lists: `vader0`..`vader9` match 11 words each (110,000
        // people at a million), `vader10`..`vader99` one.
        if std::env::var("INDEX_ONLY").is_err() {
            let mut short = Vec::new();
            let mut long = Vec::new();
            let start = cpu();
            for round in 0..20 {
                for term in 0..100 {
                    let target = format!("/api/people?q=vader{term}&_limit=20");
                    let request = Request::new(Method::Get, &target);
                    let at = Instant::now();
                    std::hint::black_box(engine.handle(&request, NOW));
                    if round > 0 {
                        if term < 10 { &mut short } else { &mut long }.push(at.elapsed());
                    }
                }
            }
            let each = (cpu() - start) / 2_000;
            println!(
                "{n:>8} people: q of a term not kept, 100 terms in turn: median {:.1} µs for vader0-9, {:.1} µs for vader10-99, CPU {:.1} µs a request",
                median(short).as_secs_f64() * 1e6,
                median(long).as_secs_f64() * 1e6,
                each.as_secs_f64() * 1e6
            );
        }
        let rss_indexed = status_bytes("VmRSS") - rss_empty;
        println!(
            "{n:>8} people: RSS with the indexes {:.1} MiB ({:.2}× the raw JSON; {:.1} MiB for the indexes)",
            mib(rss_indexed),
            rss_indexed as f64 / raw as f64,
            mib(rss_indexed.saturating_sub(rss_loaded))
        );
        // An index of a field whose every value differs: the ids.
        let before = status_bytes("VmRSS");
        let request = Request::new(Method::Get, "/api/people?_id=none");
        let at = Instant::now();
        engine.handle(&request, NOW);
        let built = at.elapsed();
        let mut samples = Vec::new();
        for _ in 0..2_000 {
            let at = Instant::now();
            std::hint::black_box(engine.handle(&request, NOW));
            samples.push(at.elapsed());
        }
        println!(
            "{n:>8} people: an index of `_id` (every value differs): built in {:.1} ms, {:.1} MiB ({:.0} bytes per item); `?_id=none` then median {:.1} µs",
            built.as_secs_f64() * 1e3,
            mib(status_bytes("VmRSS").saturating_sub(before)),
            status_bytes("VmRSS").saturating_sub(before) as f64 / n as f64,
            median(samples).as_secs_f64() * 1e6
        );
        posts(&mut engine, n, n + 2_000, "with the indexes kept");
        println!("{n:>8} people: VmHWM {:.1} MiB", mib(status_bytes("VmHWM")));
    }
}

/// The answer the endpoint ends a request's output with.
fn answer(engine: &mut Endpoint, request: &Request) -> Response {
    let output = engine.handle(request, NOW);
    output.response().cloned().unwrap_or(Response {
        status: 0,
        headers: Vec::new(),
        body: Vec::new(),
    })
}
