//! A string that a regular expression (a schema's `pattern`) matches.

use fake::rand::rngs::ChaCha8Rng;
use fake::rand::RngExt;
use regex_syntax::hir::{Class, Hir, HirKind};

/// How many extra repetitions an unbounded `*` or `+` may add.
const EXTRA_REPEATS: u32 = 3;

/// A string the pattern matches, or `None` when the pattern does not parse.
/// Anchors are left out (JSON Schema patterns match anywhere).
pub(crate) fn sample(pattern: &str, rng: &mut ChaCha8Rng) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new()
        .nest_limit(64)
        .build()
        .parse(pattern)
        .ok()?;
    let mut out = String::new();
    walk(&hir, rng, &mut out, 0);
    Some(out)
}

fn walk(hir: &Hir, rng: &mut ChaCha8Rng, out: &mut String, depth: usize) {
    if depth > 64 || out.len() > 4096 {
        return;
    }
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => out.push_str(&String::from_utf8_lossy(&lit.0)),
        HirKind::Class(Class::Unicode(class)) => {
            let ranges = class.ranges();
            // Printable ASCII when the class has any: readable, and what a
            // user of `[^,]` expects to see.
            let ascii: Vec<(u32, u32)> = ranges
                .iter()
                .filter_map(|r| {
                    let (lo, hi) = (u32::from(r.start()).max(0x21), u32::from(r.end()).min(0x7e));
                    (lo <= hi).then_some((lo, hi))
                })
                .collect();
            let pool: Vec<(u32, u32)> = if ascii.is_empty() {
                ranges
                    .iter()
                    .map(|r| (u32::from(r.start()), u32::from(r.end())))
                    .collect()
            } else {
                ascii
            };
            if pool.is_empty() {
                return;
            }
            let (lo, hi) = pool[rng.random_range(0..pool.len())];
            if let Some(c) = char::from_u32(rng.random_range(lo..=hi)) {
                out.push(c);
            }
        }
        HirKind::Class(Class::Bytes(class)) => {
            let ranges = class.ranges();
            if ranges.is_empty() {
                return;
            }
            let r = ranges[rng.random_range(0..ranges.len())];
            let b = rng.random_range(r.start()..=r.end());
            out.push(char::from(b.clamp(0x20, 0x7e)));
        }
        HirKind::Repetition(rep) => {
            let max = rep
                .max
                .unwrap_or(rep.min + EXTRA_REPEATS)
                .min(rep.min + EXTRA_REPEATS + 2);
            let n = rng.random_range(rep.min..=max.max(rep.min));
            for _ in 0..n {
                walk(&rep.sub, rng, out, depth + 1);
            }
        }
        HirKind::Capture(cap) => walk(&cap.sub, rng, out, depth + 1),
        HirKind::Concat(parts) => parts.iter().for_each(|p| walk(p, rng, out, depth + 1)),
        HirKind::Alternation(alts) => {
            let pick = rng.random_range(0..alts.len());
            walk(&alts[pick], rng, out, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake::rand::SeedableRng;
    use regex::Regex;

    #[test]
    fn samples_match_their_pattern() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for pattern in [
            "^[A-Z]{3}-\\d{4}$",
            "^(cat|dog)s?$",
            "^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$",
            "^\\+?[1-9]\\d{1,14}$",
            "[^,]+",
            "^v\\d+\\.\\d+(\\.\\d+)?$",
        ] {
            let re = Regex::new(pattern).unwrap();
            for _ in 0..50 {
                let s = sample(pattern, &mut rng).unwrap();
                assert!(re.is_match(&s), "{s:?} does not match {pattern}");
            }
        }
        assert_eq!(sample("(", &mut rng), None);
    }
}
