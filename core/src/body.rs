//! Reading request bodies as JSON, and writing stored items.
//!
//! A body is checked once with `serde_json` (syntax, UTF-8, depth) and then kept
//! as its own text with the whitespace between tokens taken out. Numbers, string
//! escapes and key order therefore come back exactly as the client sent them:
//! `1e400` stays `1e400`, `1.10` stays `1.10`.

use crate::error::ApiError;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The deepest nesting of arrays and objects a body may have.
pub const MAX_DEPTH: usize = 128;

/// The key under which every item carries its id.
pub const ID_KEY: &str = "_id";

/// A body that is valid JSON: its value, and its text without insignificant whitespace.
#[derive(Debug)]
pub struct Json {
    /// The parsed value, for decisions about shape and content.
    pub value: Value,
    /// The compact text, for storing and echoing.
    pub text: String,
}

/// Parses a body as JSON: empty, too deep and invalid bodies are errors.
pub fn parse(body: &[u8]) -> Result<Json, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::EmptyBody);
    }
    if nesting_depth(body) > MAX_DEPTH {
        return Err(ApiError::TooDeep { limit: MAX_DEPTH });
    }
    let mut reader = serde_json::Deserializer::from_slice(body);
    // The depth was bounded above, so the parser's own recursion limit can go.
    reader.disable_recursion_limit();
    let value = Value::deserialize(&mut reader)
        .and_then(|value| reader.end().map(|()| value))
        .map_err(invalid_json)?;
    Ok(Json {
        value,
        text: minify(body),
    })
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

/// The deepest nesting of `[` and `{` outside strings. Runs before the parser so
/// that no body can make it recurse past [`MAX_DEPTH`]; stops counting early.
fn nesting_depth(body: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in body {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > MAX_DEPTH {
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
    let (mut in_string, mut escaped) = (false, false);
    for &byte in valid {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            out.push(byte);
        } else if !byte.is_ascii_whitespace() {
            in_string = byte == b'"';
            out.push(byte);
        }
    }
    // The parser has checked the text is UTF-8, and whitespace is ASCII.
    String::from_utf8(out)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// Where the value that starts at `start` in compact JSON ends (exclusive).
fn value_end(text: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut at = start;
    while let Some(&byte) = text.get(at) {
        at += 1;
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    if depth == 0 {
                        return at;
                    }
                }
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    return at;
                }
            }
            b',' | b']' | b'}' | b':' if depth == 0 => return at - 1,
            _ => {}
        }
    }
    at
}

/// The elements of a compact JSON array, as text.
pub fn array_elements(array: &str) -> Vec<&str> {
    let bytes = array.as_bytes();
    let mut elements = Vec::new();
    let mut at = 1;
    while at < bytes.len() && bytes[at] != b']' {
        let end = value_end(bytes, at);
        elements.push(array.get(at..end).unwrap_or_default());
        at = end + 1;
    }
    elements
}

/// The item as stored and echoed: a compact JSON object's members as sent,
/// minus any `_id` the client sent, then `"_id"` last.
pub fn item_text(object: &str, id: &str) -> String {
    let bytes = object.as_bytes();
    let mut out = String::with_capacity(object.len() + id.len() + 10);
    out.push('{');
    let mut at = 1;
    while at < bytes.len() && bytes[at] != b'}' {
        let key_end = value_end(bytes, at);
        let member_end = value_end(bytes, key_end + 1);
        let key = object.get(at..key_end).unwrap_or_default();
        if serde_json::from_str::<String>(key).ok().as_deref() != Some(ID_KEY) {
            out.push_str(object.get(at..member_end).unwrap_or_default());
            out.push(',');
        }
        at = member_end + 1;
    }
    out.push_str("\"_id\":");
    out.push_str(&Value::String(id.to_owned()).to_string());
    out.push('}');
    out
}

/// Says whether a value is an object, or that the body is the wrong shape.
pub fn require_object(json: &Json) -> Result<(), ApiError> {
    match json.value {
        Value::Object(_) => Ok(()),
        _ => Err(ApiError::WrongShape {
            expected: "a JSON object",
        }),
    }
}

/// Writes `{"message": ...}`.
pub fn message_body(message: &str) -> Vec<u8> {
    let mut members = Map::new();
    members.insert("message".to_owned(), Value::String(message.to_owned()));
    Value::Object(members).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    fn item(body: &str, id: &str) -> String {
        item_text(&parse(body.as_bytes()).unwrap().text, id)
    }

    #[test]
    fn numbers_keys_and_escapes_survive() {
        let sent = "{ \"z\": 12345678901234567890, \"a\" :1.10,\n \"m\":1e400,\"s\":\"é 😀\\u0000\\u00e9\",\"n\":-0}";
        assert_eq!(
            item(sent, "x"),
            r#"{"z":12345678901234567890,"a":1.10,"m":1e400,"s":"é 😀\u0000\u00e9","n":-0,"_id":"x"}"#
        );
    }

    #[test]
    fn a_sent_id_is_dropped_and_ours_goes_last() {
        assert_eq!(
            item(r#"{"_id":"mine","a":{"_id":1}}"#, "ours"),
            r#"{"a":{"_id":1},"_id":"ours"}"#
        );
        assert_eq!(
            item(r#"{"\u005fid":[1,{"b":"}"}],"c":"\""}"#, "i"),
            r#"{"c":"\"","_id":"i"}"#
        );
        assert_eq!(item("{}", "i"), r#"{"_id":"i"}"#);
    }

    #[test]
    fn arrays_split_into_their_elements() {
        let text = parse(br#"[ {"a":[1,2]}, {"b":"],}"}, {} ]"#).unwrap().text;
        assert_eq!(
            array_elements(&text),
            [r#"{"a":[1,2]}"#, r#"{"b":"],}"}"#, "{}"]
        );
        assert!(array_elements("[]").is_empty());
    }

    #[test]
    fn depth_limit_is_exactly_128() {
        assert!(parse(nested(128).as_bytes()).is_ok());
        assert_eq!(
            parse(nested(129).as_bytes()).unwrap_err(),
            ApiError::TooDeep { limit: 128 }
        );
        assert_eq!(nesting_depth(br#"{"a":"[[[[{{{\"[["}"#), 1);
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
                assert_eq!(detail, "trailing comma");
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
