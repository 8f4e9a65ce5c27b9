//! Reading request bodies as JSON, and writing stored items.
//!
//! A body is checked once (UTF-8, depth, then syntax with `serde_json`, which
//! builds nothing) and then kept as its own text with the whitespace between
//! tokens taken out. Numbers, string escapes and key order therefore come back
//! exactly as the client sent them: `1e400` stays `1e400`, `1.10` stays `1.10`,
//! `"\u00e9"` stays `"\u00e9"`, and even a lone surrogate escape survives.

use crate::error::ApiError;
use crate::json::text::Strings;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// The deepest nesting of arrays and objects a body may have.
pub const MAX_DEPTH: usize = 128;

/// A body that is valid JSON, as its text without insignificant whitespace.
#[derive(Debug)]
pub(crate) struct Json {
    /// The compact text, for storing and echoing.
    pub text: String,
}

impl Json {
    /// Whether the value is an object.
    pub(crate) fn is_object(&self) -> bool {
        self.text.starts_with('{')
    }

    /// The elements' texts, if the value is an array.
    pub(crate) fn array(&self) -> Option<Vec<&str>> {
        self.text
            .starts_with('[')
            .then(|| crate::json::text::array_elements(&self.text))
    }
}

/// The deepest nesting a snapshot may have: its object and each type's array
/// wrap the items, which may nest [`MAX_DEPTH`] levels as any body may. So
/// whatever the API accepts, `GET /__admin/snapshot` and the durable snapshot
/// file render, and loading them accepts back.
pub(crate) const SNAPSHOT_MAX_DEPTH: usize = MAX_DEPTH + 2;

/// Parses a body as JSON: empty, too deep and invalid bodies are errors.
pub(crate) fn parse(body: &[u8]) -> Result<Json, ApiError> {
    parse_within(body, MAX_DEPTH)
}

/// Parses JSON that may nest up to `limit` levels (a snapshot wraps items
/// in two levels of its own).
pub(crate) fn parse_within(body: &[u8], limit: usize) -> Result<Json, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::EmptyBody);
    }
    if nesting_depth(body, limit) > limit {
        return Err(ApiError::TooDeep { limit });
    }
    let text = std::str::from_utf8(body).map_err(|err| {
        let (line, column) = position(body, err.valid_up_to());
        ApiError::InvalidJson {
            line,
            column,
            detail: "invalid UTF-8".to_owned(),
        }
    })?;
    let mut reader = serde_json::Deserializer::from_str(text);
    // The depth was bounded above, so the parser's own recursion limit can go.
    reader.disable_recursion_limit();
    IgnoredAny::deserialize(&mut reader)
        .and_then(|_| reader.end())
        .map_err(invalid_json)?;
    Ok(Json {
        text: minify(text.as_bytes()),
    })
}

/// The 1-based line and column of a byte offset.
fn position(body: &[u8], offset: usize) -> (usize, usize) {
    let before = &body[..offset.min(body.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.len()
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1)
        + 1;
    (line, column)
}

/// Parses JSON text the store holds (already checked, at most 128 levels deep).
pub(crate) fn parse_value(text: &str) -> Option<serde_json::Value> {
    let mut reader = serde_json::Deserializer::from_str(text);
    reader.disable_recursion_limit();
    let value = serde_json::Value::deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    Some(value)
}

fn invalid_json(err: serde_json::Error) -> ApiError {
    let full = err.to_string();
    let detail = match full.rsplit_once(" at line ") {
        Some((detail, _)) => detail.to_owned(),
        None => full,
    };
    ApiError::InvalidJson {
        line: err.line(),
        column: err.column(),
        detail,
    }
}

/// Whether JSON text that wraps stored items in `wrapping` levels of its own
/// (a snapshot's object and type arrays, a journal record's arrays) nests no
/// deeper than those levels plus [`MAX_DEPTH`], so that a host's files take
/// back every item the API accepted. Runs without parsing.
pub fn nests_within(text: &[u8], wrapping: usize) -> bool {
    let limit = MAX_DEPTH + wrapping;
    nesting_depth(text, limit) <= limit
}

/// The deepest nesting of `[` and `{` outside strings. Runs before the parser so
/// that no body can make it recurse past `limit`; stops counting past it.
fn nesting_depth(body: &[u8], limit: usize) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut strings = Strings::default();
    for &byte in body {
        if strings.feed(byte) {
            continue;
        }
        match byte {
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    break;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Valid JSON with the whitespace outside strings removed.
fn minify(valid: &[u8]) -> String {
    let mut out = Vec::with_capacity(valid.len());
    let mut strings = Strings::default();
    for &byte in valid {
        if strings.feed(byte) || !byte.is_ascii_whitespace() {
            out.push(byte);
        }
    }
    // The parser has checked the text is UTF-8, and whitespace is ASCII.
    String::from_utf8(out)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// Says whether a value is an object, or that the body is the wrong shape.
pub(crate) fn require_object(json: &Json) -> Result<(), ApiError> {
    if json.is_object() {
        Ok(())
    } else {
        Err(ApiError::WrongShape {
            expected: "a JSON object",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn depth_limit_is_exactly_128() {
        assert!(parse(nested(128).as_bytes()).is_ok());
        assert_eq!(
            parse(nested(129).as_bytes()).unwrap_err(),
            ApiError::TooDeep { limit: 128 }
        );
        assert_eq!(nesting_depth(br#"{"a":"[[[[{{{\"[["}"#, MAX_DEPTH), 1);
        assert!(parse_within(nested(SNAPSHOT_MAX_DEPTH).as_bytes(), SNAPSHOT_MAX_DEPTH).is_ok());
        assert_eq!(
            parse_within(nested(131).as_bytes(), SNAPSHOT_MAX_DEPTH).unwrap_err(),
            ApiError::TooDeep { limit: 130 }
        );
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        match parse(b"{\n  \"a\": 1,\n}").unwrap_err() {
            ApiError::InvalidJson {
                line,
                column,
                detail,
            } => {
                assert_eq!((line, column), (3, 1));
                assert_eq!(detail, "key must be a string");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(parse(b" \n\t").unwrap_err(), ApiError::EmptyBody);
        assert!(matches!(
            parse(b"{} x"),
            Err(ApiError::InvalidJson { line: 1, .. })
        ));
        assert!(matches!(
            parse(b"\"\xff\""),
            Err(ApiError::InvalidJson { .. })
        ));
    }
}
