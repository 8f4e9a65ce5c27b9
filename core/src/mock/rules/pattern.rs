//! Path patterns of rules: `/api/orders/*` (`*` is one segment) and
//! `/api/reports/**` (`**` is any number of segments, none included).
//!
//! A pattern is compiled into a small automaton over segments: state `i`
//! is "the first `i` parts have matched", and every state (one more than
//! the parts, at most [`MAX_PATTERN_SEGMENTS`]) is a bit of one word. A path
//! is read once, segment by segment, and each segment moves every live state
//! at once, so matching takes time in proportion to the path's segments
//! whatever the pattern holds: there is no backtracking. Patterns are
//! bounded in bytes ([`MAX_PATTERN_BYTES`]) and segments, so a rule cannot
//! make every request slow.

use percent_encoding::percent_decode_str;

/// The most segments a pattern may have: the automaton's states fit in a
/// `u128` (one bit per state, and one for the end).
pub(super) const MAX_PATTERN_SEGMENTS: usize = 64;

/// The longest pattern, in bytes: the default `MAX_URI_BYTES`, so a recorded
/// path always fits.
pub(super) const MAX_PATTERN_BYTES: usize = 8 * 1024;

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// This text, percent-decoded.
    Literal(String),
    /// Any one segment.
    One,
    /// Any number of segments, none included.
    Any,
}

/// Where an index of patterns keeps one ([`PathPattern::key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Key<'a> {
    /// Only a path of exactly these segments matches.
    Exact(Vec<String>),
    /// Only a path whose first segment is this matches.
    First(&'a str),
    /// Any path may match.
    Anywhere,
}

/// A compiled path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PathPattern {
    /// The parts, with each run of `**` made one (`/**/**` is `/**`).
    parts: Vec<Part>,
    /// Bit `i`: part `i` is `*`.
    one: u128,
    /// Bit `i`: part `i` is `**`.
    any: u128,
    /// Bit `i`: part `i` is a literal.
    literal: u128,
    /// The fewest segments a matching path has: the parts but `**`.
    least: usize,
}

impl PathPattern {
    /// Reads a pattern: it starts with `/`; `*` and `**` stand alone as whole
    /// segments; one trailing slash is ignored, as in routes. At most
    /// [`MAX_PATTERN_BYTES`] bytes and [`MAX_PATTERN_SEGMENTS`] segments.
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_PATTERN_BYTES {
            return Err(format!(
                "is {} bytes long; a path pattern is at most {MAX_PATTERN_BYTES} bytes",
                text.len()
            ));
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!("`{text}` must start with `/`"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let written = if rest.is_empty() {
            0
        } else {
            rest.split('/').count()
        };
        if written > MAX_PATTERN_SEGMENTS {
            return Err(format!(
                "has {written} segments; a path pattern has at most {MAX_PATTERN_SEGMENTS}"
            ));
        }
        let mut parts = Vec::new();
        for segment in rest.split('/').filter(|_| written > 0) {
            let part = match segment {
                "*" => Part::One,
                "**" if parts.last() == Some(&Part::Any) => continue,
                "**" => Part::Any,
                "" => return Err(format!("`{text}` has an empty segment (`//`)")),
                other if other.contains('*') => {
                    return Err(format!(
                        "`{text}`: `*` and `**` must be whole segments, as in `/api/*/items` or `/api/**`"
                    ))
                }
                other => Part::Literal(decode(other)),
            };
            parts.push(part);
        }
        let bits = |wanted: fn(&Part) -> bool| {
            parts
                .iter()
                .enumerate()
                .filter(|(_, part)| wanted(part))
                .fold(0u128, |bits, (at, _)| bits | 1 << at)
        };
        Ok(Self {
            one: bits(|part| *part == Part::One),
            any: bits(|part| *part == Part::Any),
            literal: bits(|part| matches!(part, Part::Literal(_))),
            least: parts.iter().filter(|part| **part != Part::Any).count(),
            parts,
        })
    }

    /// Where an index finds the pattern: every path it matches has exactly
    /// these segments (`Exact`), or starts with this segment (`First`);
    /// `Anywhere` when neither holds (a pattern that starts with `*` or `**`).
    pub(super) fn key(&self) -> Key<'_> {
        if self.any == 0 && self.one == 0 {
            let texts = self.parts.iter().filter_map(|part| match part {
                Part::Literal(text) => Some(text.clone()),
                _ => None,
            });
            return Key::Exact(texts.collect());
        }
        match self.parts.first() {
            Some(Part::Literal(text)) => Key::First(text),
            _ => Key::Anywhere,
        }
    }

    /// Whether a path, as its percent-decoded [`segments`], matches.
    pub(super) fn matches(&self, segments: &[String]) -> bool {
        if segments.len() < self.least {
            return false;
        }
        if self.any == 0 {
            return segments.len() == self.parts.len()
                && self
                    .parts
                    .iter()
                    .zip(segments)
                    .all(|(part, segment)| match part {
                        Part::Literal(text) => text == segment,
                        _ => true,
                    });
        }
        let mut states = self.skip_any(1);
        for segment in segments {
            // A `**` takes the segment and stays; a `*` takes it and moves on.
            let mut next = (states & self.any) | ((states & self.one) << 1);
            let mut literals = states & self.literal;
            while literals != 0 {
                let at = literals.trailing_zeros() as usize;
                literals &= literals - 1;
                if matches!(&self.parts[at], Part::Literal(text) if text == segment) {
                    next |= 2 << at;
                }
            }
            states = self.skip_any(next);
            if states == 0 {
                return false;
            }
        }
        states & (1 << self.parts.len()) != 0
    }

    /// The states, and those past a `**` matching no segment. Runs of `**`
    /// are one part, so one step reaches every such state.
    fn skip_any(&self, states: u128) -> u128 {
        states | ((states & self.any) << 1)
    }
}

/// The percent-decoded segments of a raw path, one trailing slash ignored.
pub(crate) fn segments(path: &str) -> Vec<String> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Vec::new();
    }
    rest.split('/').map(decode).collect()
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        PathPattern::parse(pattern)
            .unwrap()
            .matches(&segments(path))
    }

    #[test]
    fn stars_match_one_segment_and_double_stars_any_number() {
        assert!(matches("/api/orders", "/api/orders"));
        assert!(matches("/api/orders", "/api/orders/"));
        assert!(!matches("/api/orders", "/api/orders/1"));
        assert!(matches("/api/orders/*", "/api/orders/1"));
        assert!(!matches("/api/orders/*", "/api/orders"));
        assert!(!matches("/api/orders/*", "/api/orders/1/lines"));
        assert!(matches("/api/reports/**", "/api/reports"));
        assert!(matches("/api/reports/**", "/api/reports/2024/q1"));
        assert!(matches("/**/lines", "/api/orders/1/lines"));
        assert!(!matches("/**/lines", "/api/orders/1"));
        assert!(matches("/", "/"));
        assert!(!matches("/", "/a"));
        assert!(matches("/**", "/"));
        assert!(matches("/**", "/anything/at/all"));
        assert!(matches("/api/caf%C3%A9", "/api/café"));
        assert!(matches("/api/café", "/api/caf%C3%A9"));
    }

    #[test]
    fn wildcards_combine_as_a_glob_does() {
        for (pattern, path, expected) in [
            ("/**/a/**", "/a", true),
            ("/**/a/**", "/x/y/a/z", true),
            ("/**/a/**", "/x/y/z", false),
            ("/**/**/a", "/a", true),
            ("/**/*/a", "/a", false),
            ("/**/*/a", "/x/a", true),
            ("/*/**/*", "/x", false),
            ("/*/**/*", "/x/y", true),
            ("/*/**/*", "/x/y/z/w", true),
            ("/a/**/b/**/c", "/a/b/c", true),
            ("/a/**/b/**/c", "/a/x/b/y/b/c", true),
            ("/a/**/b/**/c", "/a/c/b", false),
            ("/**/x/*", "/x/x/x", true),
            ("/**/x/*", "/x/y/x", false),
        ] {
            assert_eq!(matches(pattern, path), expected, "{pattern} on {path}");
        }
    }

    /// The automaton against a plain backtracking matcher, on every pattern
    /// of up to four parts over a small alphabet and every path of up to
    /// five segments.
    #[test]
    fn the_automaton_agrees_with_backtracking() {
        fn reference(parts: &[&str], path: &[&str]) -> bool {
            match parts.split_first() {
                None => path.is_empty(),
                Some((&"**", rest)) => (0..=path.len()).any(|n| reference(rest, &path[n..])),
                Some((part, rest)) => path.split_first().is_some_and(|(seg, tail)| {
                    (*part == "*" || part == seg) && reference(rest, tail)
                }),
            }
        }
        fn all<'a>(alphabet: &[&'a str], longest: usize) -> Vec<Vec<&'a str>> {
            let mut out = vec![Vec::new()];
            let mut last = vec![Vec::new()];
            for _ in 0..longest {
                last = last
                    .iter()
                    .flat_map(|prefix: &Vec<&str>| {
                        alphabet.iter().map(move |next| {
                            let mut longer = prefix.clone();
                            longer.push(*next);
                            longer
                        })
                    })
                    .collect();
                out.extend(last.iter().cloned());
            }
            out
        }
        let paths = all(&["a", "b"], 5);
        for parts in all(&["a", "b", "*", "**"], 4) {
            let pattern = PathPattern::parse(&format!("/{}", parts.join("/"))).unwrap();
            for path in &paths {
                let owned: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
                assert_eq!(
                    pattern.matches(&owned),
                    reference(&parts, path),
                    "/{} on /{}",
                    parts.join("/"),
                    path.join("/")
                );
            }
        }
    }

    #[test]
    fn the_largest_pattern_is_matched_in_one_pass() {
        let widest = format!("{}/x", "/**/*".repeat(MAX_PATTERN_SEGMENTS / 2 - 1) + "/**");
        assert_eq!(widest.matches('/').count(), MAX_PATTERN_SEGMENTS);
        let pattern = PathPattern::parse(&widest).unwrap();
        let long: Vec<String> = (0..4000).map(|n| format!("s{n}")).collect();
        assert!(!pattern.matches(&long));
        let mut ends = long.clone();
        ends.push("x".to_owned());
        assert!(pattern.matches(&ends));
    }

    #[test]
    fn bad_patterns_say_why() {
        assert!(PathPattern::parse("api")
            .unwrap_err()
            .contains("start with `/`"));
        assert!(PathPattern::parse("/api/ord*")
            .unwrap_err()
            .contains("whole segments"));
        assert!(PathPattern::parse("/api//x")
            .unwrap_err()
            .contains("empty segment"));
    }

    #[test]
    fn patterns_are_bounded_in_segments_and_bytes() {
        let most = "/a".repeat(MAX_PATTERN_SEGMENTS);
        assert!(PathPattern::parse(&most).is_ok());
        assert!(PathPattern::parse(&format!("{most}/")).is_ok());
        let err = PathPattern::parse(&format!("{most}/a")).unwrap_err();
        assert_eq!(err, "has 65 segments; a path pattern has at most 64");
        let longest = format!("/{}", "x".repeat(MAX_PATTERN_BYTES - 1));
        assert!(PathPattern::parse(&longest).is_ok());
        let err = PathPattern::parse(&format!("{longest}x")).unwrap_err();
        assert_eq!(
            err,
            "is 8193 bytes long; a path pattern is at most 8192 bytes"
        );
        let probe = format!("{}/x", "/**/*".repeat(75_000));
        assert!(PathPattern::parse(&probe).is_err());
    }
}
