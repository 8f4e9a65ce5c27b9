//! Path patterns of rules: `/api/orders/*` (`*` is one segment) and
//! `/api/reports/**` (`**` is any number of segments, none included).

use percent_encoding::percent_decode_str;

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

/// A parsed path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    parts: Vec<Part>,
}

impl PathPattern {
    /// Reads a pattern: it starts with `/`; `*` and `**` stand alone as whole
    /// segments; one trailing slash is ignored, as in routes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!("`{text}` must start with `/`"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut parts = Vec::new();
        if rest.is_empty() {
            return Ok(Self { parts });
        }
        for segment in rest.split('/') {
            let part = match segment {
                "*" => Part::One,
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
        Ok(Self { parts })
    }

    /// Whether a raw (percent-encoded) request path matches.
    pub fn matches(&self, path: &str) -> bool {
        let segments = segments(path);
        matches_from(&self.parts, &segments)
    }
}

/// The percent-decoded segments of a raw path, one trailing slash ignored.
pub fn segments(path: &str) -> Vec<String> {
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

/// Whether the parts match the segments: dynamic programming over (part,
/// segment) pairs, so that patterns with many `**` stay linear in each.
fn matches_from(parts: &[Part], segments: &[String]) -> bool {
    // `reach[j]`: the parts so far can match the first `j` segments.
    let mut reach = vec![false; segments.len() + 1];
    reach[0] = true;
    for part in parts {
        let mut next = vec![false; segments.len() + 1];
        for j in 0..=segments.len() {
            next[j] = match part {
                Part::Any => reach[j] || (j > 0 && next[j - 1]),
                Part::One => j > 0 && reach[j - 1],
                Part::Literal(text) => j > 0 && reach[j - 1] && *text == segments[j - 1],
            };
        }
        reach = next;
    }
    reach[segments.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        PathPattern::parse(pattern).unwrap().matches(path)
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
        assert!(matches("/**", "/anything/at/all"));
        assert!(matches("/api/caf%C3%A9", "/api/café"));
        assert!(matches("/api/café", "/api/caf%C3%A9"));
        let many = format!("{}/x", "/**".repeat(40));
        let long = format!("{}/y", "/a".repeat(200));
        assert!(!matches(&many, &long), "many `**` stay fast");
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
}
