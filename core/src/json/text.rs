//! Operations on compact JSON text that keep every token as it was sent.
//!
//! Items are stored as the compact text of a body that [`crate::json::body::parse`]
//! has already validated, so these functions can walk it with a small scanner
//! instead of parsing and re-encoding it (which would rewrite `1e400` as `1e+400`).

use std::borrow::Cow;

/// The text of a JSON string literal (quotes included), decoded; borrowed
/// from the literal when it holds no escape.
pub(crate) fn decode_string(literal: &str) -> Cow<'_, str> {
    let inner = literal
        .get(1..literal.len().saturating_sub(1))
        .unwrap_or_default();
    if inner.contains('\\') {
        Cow::Owned(serde_json::from_str(literal).unwrap_or_default())
    } else {
        Cow::Borrowed(inner)
    }
}

/// A string as a JSON string literal, quotes included, escaped as
/// `serde_json` escapes it (`"`, `\`, and control characters; nothing else),
/// in one allocation of the exact size.
pub(crate) fn quote(text: &str) -> String {
    let extra: usize = text
        .bytes()
        .map(|byte| match escape(byte) {
            None => 0,
            Some(Escape::Short(_)) => 1,
            Some(Escape::Unicode) => 5,
        })
        .sum();
    let mut out = String::with_capacity(text.len() + 2 + extra);
    push_quoted(&mut out, text);
    out
}

/// Appends `text` as a JSON string literal, as [`quote`] writes it.
pub(crate) fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    let mut start = 0;
    for (at, byte) in text.bytes().enumerate() {
        let Some(escaped) = escape(byte) else {
            continue;
        };
        out.push_str(&text[start..at]);
        match escaped {
            Escape::Short(letter) => {
                out.push('\\');
                out.push(char::from(letter));
            }
            Escape::Unicode => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
        }
        start = at + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// How a byte of a JSON string is escaped, if it is.
enum Escape {
    /// `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`.
    Short(u8),
    /// `\u00XX`, for the other control characters.
    Unicode,
}

fn escape(byte: u8) -> Option<Escape> {
    match byte {
        b'"' => Some(Escape::Short(b'"')),
        b'\\' => Some(Escape::Short(b'\\')),
        0x08 => Some(Escape::Short(b'b')),
        0x0c => Some(Escape::Short(b'f')),
        b'\n' => Some(Escape::Short(b'n')),
        b'\r' => Some(Escape::Short(b'r')),
        b'\t' => Some(Escape::Short(b't')),
        0..=0x1f => Some(Escape::Unicode),
        _ => None,
    }
}

/// Where the value that starts at `start` in compact JSON ends (exclusive).
fn value_end(text: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut strings = Strings::default();
    let mut at = start;
    while let Some(&byte) = text.get(at) {
        at += 1;
        let was_inside = strings.inside();
        if strings.feed(byte) {
            if was_inside && !strings.inside() && depth == 0 {
                return at;
            }
            continue;
        }
        match byte {
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
pub(crate) fn array_elements(array: &str) -> Vec<&str> {
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
/// minus any member named `key` (the id field, a plain key), then
/// `"key":id` last, where `id_json` is the id's JSON text.
pub(crate) fn item_text(object: &str, key: &str, id_json: &str) -> String {
    let mut out = String::with_capacity(object.len() + key.len() + id_json.len() + 6);
    out.push('{');
    for member in members(object) {
        if member.key != key {
            out.push_str(member.key_text);
            out.push(':');
            out.push_str(member.value);
            out.push(',');
        }
    }
    out.push('"');
    out.push_str(key);
    out.push_str("\":");
    out.push_str(id_json);
    out.push('}');
    out
}

/// A compact JSON object without the members named by `keys`.
pub(crate) fn without_members(object: &str, keys: &[&str]) -> String {
    let kept: Vec<String> = members(object)
        .into_iter()
        .filter(|member| !keys.contains(&member.key.as_ref()))
        .map(|member| format!("{}:{}", member.key_text, member.value))
        .collect();
    format!("{{{}}}", kept.join(","))
}

/// One member of a compact JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member<'a> {
    /// The key as written, quotes and escapes included.
    pub key_text: &'a str,
    /// The key decoded (borrowed when it has no escapes).
    pub key: Cow<'a, str>,
    /// The value as written.
    pub value: &'a str,
}

/// The members of a compact JSON object, in order.
pub(crate) fn members(object: &str) -> Vec<Member<'_>> {
    let bytes = object.as_bytes();
    let mut out = Vec::new();
    let mut at = 1;
    while at < bytes.len() && bytes[at] != b'}' {
        let key_end = value_end(bytes, at);
        let member_end = value_end(bytes, key_end + 1);
        let key_text = object.get(at..key_end).unwrap_or_default();
        out.push(Member {
            key_text,
            key: decode_string(key_text),
            value: object.get(key_end + 1..member_end).unwrap_or_default(),
        });
        at = member_end + 1;
    }
    out
}

/// The member of a compact object with this key (the last, if repeated).
pub(crate) fn member<'a>(object: &'a str, key: &str) -> Option<&'a str> {
    members(object)
        .into_iter()
        .rev()
        .find(|m| m.key == key)
        .map(|m| m.value)
}

/// The id a foreign key's stored value names: a string's text, or a
/// number's text as written (`"postId":1` names the id `"1"`, as json-server
/// compares them loosely); `None` for any other value.
pub(crate) fn key_text(raw: &str) -> Option<Cow<'_, str>> {
    match raw.as_bytes().first() {
        Some(b'"') => Some(decode_string(raw)),
        Some(b'-' | b'0'..=b'9') => Some(Cow::Borrowed(raw)),
        _ => None,
    }
}

/// Applies a JSON Merge Patch (RFC 7386) to compact JSON text: members of an
/// object patch replace or (when `null`) remove the target's, recursively;
/// any other patch replaces the target. Untouched members keep their text and
/// place; new members go after them, in the patch's order.
pub(crate) fn merge_patch(target: &str, patch: &str) -> String {
    if !patch.starts_with('{') {
        return patch.to_owned();
    }
    let patch_members = members(patch);
    let target_members = if target.starts_with('{') {
        members(target)
    } else {
        Vec::new()
    };
    let mut parts: Vec<String> = Vec::with_capacity(target_members.len() + patch_members.len());
    for member in &target_members {
        match patch_members.iter().rev().find(|p| p.key == member.key) {
            None => parts.push(format!("{}:{}", member.key_text, member.value)),
            Some(p) if p.value == "null" => {}
            Some(p) => parts.push(format!(
                "{}:{}",
                member.key_text,
                merge_patch(member.value, p.value)
            )),
        }
    }
    let mut added: Vec<&str> = Vec::new();
    for (n, p) in patch_members.iter().enumerate() {
        let later = patch_members[n + 1..].iter().any(|q| q.key == p.key);
        let in_target = target_members.iter().any(|t| t.key == p.key);
        if later || in_target || p.value == "null" || added.contains(&p.key.as_ref()) {
            continue;
        }
        added.push(p.key.as_ref());
        parts.push(format!("{}:{}", p.key_text, merge_patch("null", p.value)));
    }
    format!("{{{}}}", parts.join(","))
}

/// Tracks whether a byte-by-byte scan of JSON text is inside a string literal.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Strings {
    inside: bool,
    escaped: bool,
}

impl Strings {
    /// Feeds the next byte; returns whether it belongs to a string literal
    /// (its quotes included).
    pub(crate) fn feed(&mut self, byte: u8) -> bool {
        if self.inside {
            match (self.escaped, byte) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.inside = false,
                _ => {}
            }
            true
        } else {
            self.inside = byte == b'"';
            self.inside
        }
    }

    /// Whether the scan is inside a string literal.
    pub(crate) fn inside(&self) -> bool {
        self.inside
    }
}

/// The values a path reaches: through objects by key, into arrays by index
/// or, for any other segment, through every element; arrays at the end are
/// flattened, so `tags=red` matches `"tags":["red","blue"]`.
pub(crate) fn reach<'v>(value: &'v str, path: &[String], out: &mut Vec<&'v str>) {
    let first = value.as_bytes().first().copied();
    match (path.split_first(), first) {
        (None, Some(b'[')) => {
            for element in array_elements(value) {
                reach(element, path, out);
            }
        }
        (None, _) => out.push(value),
        (Some((key, rest)), Some(b'{')) => {
            if let Some(value) = member(value, key) {
                reach(value, rest, out);
            }
        }
        (Some((key, rest)), Some(b'[')) => match key.parse::<usize>() {
            Ok(index) => {
                if let Some(element) = array_elements(value).get(index) {
                    reach(element, rest, out);
                }
            }
            Err(_) => {
                for element in array_elements(value) {
                    reach(element, path, out);
                }
            }
        },
        (Some(_), _) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::body::parse;

    fn item(body: &str, id: &str) -> String {
        let quoted = serde_json::Value::String(id.to_owned()).to_string();
        item_text(&parse(body.as_bytes()).unwrap().text, "_id", &quoted)
    }

    #[test]
    fn quote_escapes_as_serde_json_does() {
        let mut every_byte: String = (0u8..0x80).map(char::from).collect();
        every_byte.push_str("é 😀\u{2028}\u{7f}");
        for text in [
            "",
            "plain",
            "a\"b\\c",
            "\n\r\t\u{8}\u{c}\u{0}\u{1f}",
            &every_byte,
        ] {
            let expected = serde_json::Value::from(text).to_string();
            assert_eq!(quote(text), expected, "{text:?}");
            assert_eq!(quote(text).capacity(), expected.len(), "{text:?}");
            let mut out = "x".to_owned();
            push_quoted(&mut out, text);
            assert_eq!(out, format!("x{expected}"));
        }
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

    fn compact(text: &str) -> String {
        parse(text.as_bytes()).unwrap().text
    }

    #[test]
    fn merge_patch_follows_rfc_7386_examples() {
        // The test cases of RFC 7386, appendix A.
        for (target, patch, result) in [
            (r#"{"a":"b"}"#, r#"{"a":"c"}"#, r#"{"a":"c"}"#),
            (r#"{"a":"b"}"#, r#"{"b":"c"}"#, r#"{"a":"b","b":"c"}"#),
            (r#"{"a":"b"}"#, r#"{"a":null}"#, r#"{}"#),
            (r#"{"a":"b","b":"c"}"#, r#"{"a":null}"#, r#"{"b":"c"}"#),
            (r#"{"a":["b"]}"#, r#"{"a":"c"}"#, r#"{"a":"c"}"#),
            (r#"{"a":"c"}"#, r#"{"a":["b"]}"#, r#"{"a":["b"]}"#),
            (
                r#"{"a":{"b":"c"}}"#,
                r#"{"a":{"b":"d","c":null}}"#,
                r#"{"a":{"b":"d"}}"#,
            ),
            (r#"{"a":[{"b":"c"}]}"#, r#"{"a":[1]}"#, r#"{"a":[1]}"#),
            (r#"["a","b"]"#, r#"["c","d"]"#, r#"["c","d"]"#),
            (r#"{"a":"b"}"#, r#"["c"]"#, r#"["c"]"#),
            (r#"{"a":"foo"}"#, "null", "null"),
            (r#"{"a":"foo"}"#, r#""bar""#, r#""bar""#),
            (r#"{"e":null}"#, r#"{"a":1}"#, r#"{"e":null,"a":1}"#),
            (r#"[1,2]"#, r#"{"a":"b","c":null}"#, r#"{"a":"b"}"#),
            (
                r#"{}"#,
                r#"{"a":{"bb":{"ccc":null}}}"#,
                r#"{"a":{"bb":{}}}"#,
            ),
        ] {
            assert_eq!(
                merge_patch(&compact(target), &compact(patch)),
                result,
                "{target} + {patch}"
            );
        }
    }

    #[test]
    fn merge_patch_keeps_untouched_text() {
        let target = compact(r#"{"n":1e400,"s":"\u00e9","o":{"x":1.10,"y":2}}"#);
        let patch = compact(r#"{"o":{"y":3},"new":-0.0}"#);
        assert_eq!(
            merge_patch(&target, &patch),
            r#"{"n":1e400,"s":"\u00e9","o":{"x":1.10,"y":3},"new":-0.0}"#
        );
    }
}
