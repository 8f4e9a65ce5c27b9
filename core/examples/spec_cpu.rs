//! The engine alone on the OpenAPI mode's requests of `bench/openapi.py`
//! (tracker issue 28): CPU time per `Endpoint::handle` for a validated
//! `GET /pets/1` of the 3.0 Petstore (100 seeded pets) beside a plain
//! `GET /api/pets/1` of the same item on an endpoint without a document.
//!
//! `cargo run --release -p mock-rest-core --example spec_cpu [ROUNDS]`
//!
//! The target: a validated GET at least half the rate of a plain one. The
//! engine's share is what this measures; the bench adds the server's.

mod common;

use common::cpu;
use mock_rest_core::{Config, Endpoint, Method, Request, Seed, SeededIds};
use std::time::Duration;

const NOW: Duration = Duration::from_secs(1_800_000_000);
const PETSTORE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/openapi-docs/petstore-3.0.yaml"
);

/// An endpoint from `settings` and `seed`, or the example stops naming why.
fn endpoint(settings: &[(&str, &str)], seed: Seed) -> Endpoint {
    let pairs = settings.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    let config = match Config::default().from_settings(pairs) {
        Ok((config, _)) => config,
        Err(err) => {
            eprintln!("spec_cpu: {err}");
            std::process::exit(1);
        }
    };
    match Endpoint::new(config, seed, Box::new(SeededIds::new(1)), NOW) {
        Ok(endpoint) => endpoint,
        Err(err) => {
            eprintln!("spec_cpu: {err}");
            std::process::exit(1);
        }
    }
}

/// CPU microseconds per answer to `request`, after a tenth as many warm-up rounds.
fn per_request(endpoint: &mut Endpoint, request: &Request, rounds: u32) -> f64 {
    let status = endpoint.handle(request, NOW).response().map(|r| r.status);
    if status != Some(200) {
        eprintln!("spec_cpu: {} answered {status:?}", request.path);
        std::process::exit(1);
    }
    for _ in 0..rounds / 10 {
        endpoint.handle(request, NOW);
    }
    let start = cpu();
    for _ in 0..rounds {
        endpoint.handle(request, NOW);
    }
    (cpu() - start).as_secs_f64() * 1e6 / f64::from(rounds)
}

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(200_000);
    let document = match std::fs::read(PETSTORE) {
        Ok(bytes) => bytes,
        Err(err) => {
            eprintln!("spec_cpu: {PETSTORE}: {err}");
            std::process::exit(1);
        }
    };
    let mut spec = endpoint(
        &[("OPENAPI_SEED_ITEMS", "100")],
        Seed {
            openapi: Some(document),
            ..Seed::default()
        },
    );
    let get = Request::new(Method::Get, "/pets/1").with_header("Host", "127.0.0.1:3000");
    let validated = per_request(&mut spec, &get, rounds);
    let item = spec.handle(&get, NOW).response().map(|r| r.body.clone());
    let fixtures = format!(
        r#"{{"pets":[{}]}}"#,
        String::from_utf8_lossy(&item.unwrap_or_default())
    );
    let mut plain = endpoint(
        &[("ID_FIELD", "id")],
        Seed {
            fixtures: Some(fixtures.into_bytes()),
            ..Seed::default()
        },
    );
    let get = Request::new(Method::Get, "/api/pets/1").with_header("Host", "127.0.0.1:3000");
    let bare = per_request(&mut plain, &get, rounds);
    println!("validated GET /pets/1      {validated:7.2} µs");
    println!("plain GET /api/pets/1      {bare:7.2} µs");
    println!(
        "plain / validated          {:7.0} %",
        bare / validated * 100.0
    );
}
