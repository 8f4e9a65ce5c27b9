//! How long GitHub's REST description (about 13 MB of JSON, about 1,000
//! operations) takes to load, and how much memory it holds once loaded:
//!
//! ```text
//! npm ci   # or: bash scripts/test.sh setup
//! cargo run --release -p mock-rest-core --example spec_load [FILE]
//! ```
//!
//! The targets (tracker issue 28): a load under 2 s natively, and a resident
//! set after loading under 10 times the document's size. The resident set is
//! read from /proc (Linux); elsewhere only the time is printed.

use mock_rest_core::spec::Spec;
use std::time::Instant;

const GITHUB: &str = "node_modules/@octokit/openapi/generated/api.github.com.json";

/// The process's resident set in bytes, from /proc/self/status.
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        format!("{root}/{GITHUB}")
    });
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e} (run `npm ci` at the repository's root first)");
            std::process::exit(2);
        }
    };
    let before = rss();
    let start = Instant::now();
    let spec = match Spec::load(&bytes) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let took = start.elapsed();
    let size = bytes.len() as u64;
    drop(bytes);
    let after = rss();
    println!("document   {path}");
    println!("size       {:.1} MB", size as f64 / 1e6);
    println!("operations {}", spec.operations().count());
    println!("store types {}", spec.resources().len());
    println!("load       {:.3} s (target < 2 s)", took.as_secs_f64());
    if let (Some(before), Some(after)) = (before, after) {
        println!(
            "RSS        {:.1} MB after loading ({:.1} MB before, the document's bytes dropped): {:.1}x its size (target < 10x)",
            after as f64 / 1e6,
            before as f64 / 1e6,
            after as f64 / size as f64
        );
    }
}
