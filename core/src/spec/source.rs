//! A document's bytes to JSON: JSON as it is, YAML through its events.
//!
//! YAML is read event by event into `serde_json` values, so that the limits
//! hold while it is read: nesting is bounded, and an alias (`*name`) copies
//! its anchor only while the document stays within [`MAX_NODES`] values, so a
//! "billion laughs" document is refused instead of filling the memory.

use super::error::SpecError;
use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// The largest document read, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;
/// The deepest nesting of a document (GitHub's REST description nests 20 deep).
pub const MAX_DOCUMENT_DEPTH: usize = 256;
/// How many values a YAML document may hold once its aliases are copied.
pub const MAX_NODES: usize = 16 * 1024 * 1024;

/// The document as JSON, whether it was written in JSON or YAML.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, SpecError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(SpecError::whole(format!(
            "the document has {} bytes, more than the {MAX_DOCUMENT_BYTES} read",
            bytes.len()
        )));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        SpecError::whole(format!(
            "the document is not UTF-8 text (byte {})",
            e.valid_up_to()
        ))
    })?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return json(text);
    }
    yaml(text)
}

fn json(text: &str) -> Result<Value, SpecError> {
    if !crate::json::body::nests_within(
        text.as_bytes(),
        MAX_DOCUMENT_DEPTH - crate::json::body::MAX_DEPTH,
    ) {
        return Err(SpecError::whole(format!(
            "the document nests deeper than {MAX_DOCUMENT_DEPTH} levels"
        )));
    }
    serde_json::from_str(text).map_err(|e| {
        SpecError::whole(format!(
            "invalid JSON at line {} column {}: {}",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        ))
    })
}

/// serde_json's message without the " at line L column C" it ends with.
fn strip_position(message: &str) -> &str {
    message.find(" at line ").map_or(message, |i| &message[..i])
}

enum Frame {
    Sequence(Vec<Value>, usize),
    /// A mapping, the key waiting for its value, its anchor, and the
    /// mappings merged into it (`<<`), applied when it closes so that its own
    /// keys win.
    Mapping(Map<String, Value>, Option<String>, usize, Vec<Value>),
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    done: Option<Value>,
}

fn yaml(text: &str) -> Result<Value, SpecError> {
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        done: None,
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            SpecError::whole(format!(
                "invalid YAML at line {} column {}: {}",
                e.marker().line(),
                e.marker().col() + 1,
                e.info()
            ))
        })?;
        let at = |why: String| {
            SpecError::whole(format!(
                "YAML at line {} column {}: {why}",
                span.start.line(),
                span.start.col() + 1
            ))
        };
        match event {
            Event::DocumentStart(_) if builder.done.is_some() => {
                return Err(at(
                    "a second document in the stream; give one document".into()
                ));
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar(&text, style, tag.as_deref());
                builder.value(value, 1, anchor).map_err(at)?;
            }
            Event::SequenceStart(anchor, _) => builder
                .open(Frame::Sequence(Vec::new(), anchor))
                .map_err(at)?,
            Event::MappingStart(anchor, _) => builder
                .open(Frame::Mapping(Map::new(), None, anchor, Vec::new()))
                .map_err(at)?,
            Event::SequenceEnd | Event::MappingEnd => builder.close().map_err(at)?,
            Event::Alias(id) => {
                let Some((value, size)) = builder.anchors.get(&id).cloned() else {
                    return Err(at("an alias to an anchor not yet defined".into()));
                };
                builder.value(value, size, 0).map_err(at)?;
            }
            _ => {}
        }
    }
    Ok(builder.done.unwrap_or(Value::Null))
}

impl Builder {
    fn count(&mut self, size: usize) -> Result<(), String> {
        self.nodes = self.nodes.saturating_add(size);
        if self.nodes > MAX_NODES {
            return Err(format!(
                "the document holds more than {MAX_NODES} values once its aliases are expanded"
            ));
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame) -> Result<(), String> {
        if self.stack.len() >= MAX_DOCUMENT_DEPTH {
            return Err(format!("nesting deeper than {MAX_DOCUMENT_DEPTH} levels"));
        }
        if let Some(Frame::Mapping(_, None, _, _)) = self.stack.last() {
            return Err("a mapping or sequence used as a key; keys must be scalars".into());
        }
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self) -> Result<(), String> {
        let (value, anchor) = match self.stack.pop() {
            Some(Frame::Sequence(items, anchor)) => (Value::Array(items), anchor),
            Some(Frame::Mapping(mut map, _, anchor, merges)) => {
                for value in merges {
                    merge(&mut map, value)?;
                }
                (Value::Object(map), anchor)
            }
            None => return Ok(()),
        };
        let size = if anchor > 0 { size_of(&value) } else { 0 };
        self.place(value, size, anchor)
    }

    fn value(&mut self, value: Value, size: usize, anchor: usize) -> Result<(), String> {
        self.count(size)?;
        self.place(value, size, anchor)
    }

    fn place(&mut self, value: Value, size: usize, anchor: usize) -> Result<(), String> {
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), size.max(1)));
        }
        match self.stack.last_mut() {
            None => self.done = Some(value),
            Some(Frame::Sequence(items, _)) => items.push(value),
            Some(Frame::Mapping(_, key @ None, _, _)) => {
                *key = Some(match value {
                    Value::String(s) => s,
                    Value::Null => "null".to_owned(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => return Err("a mapping or sequence used as a key".into()),
                });
            }
            Some(Frame::Mapping(map, key, _, merges)) => {
                let Some(name) = key.take() else {
                    return Ok(());
                };
                if name == "<<" {
                    merges.push(value);
                } else if map.insert(name.clone(), value).is_some() {
                    return Err(format!("the key \"{name}\" appears twice in one mapping"));
                }
            }
        }
        Ok(())
    }
}

/// YAML's merge key (`<<: *defaults`): the keys of the merged mappings that
/// the mapping does not set itself.
fn merge(map: &mut Map<String, Value>, value: Value) -> Result<(), String> {
    let sources = match value {
        Value::Object(o) => vec![o],
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::Object(o) => Ok(o),
                _ => Err("a merge key (<<) takes mappings".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("a merge key (<<) takes mappings".into()),
    };
    for source in sources {
        for (k, v) in source {
            map.entry(k).or_insert(v);
        }
    }
    Ok(())
}

fn size_of(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(size_of).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(size_of).sum::<usize>(),
        _ => 1,
    }
}

/// A scalar resolved by YAML 1.2's core schema; a quoted or block scalar, or
/// one tagged `!!str`, is a string.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    let core = tag
        .filter(|t| t.is_yaml_core_schema())
        .map(|t| t.suffix.as_str());
    match core {
        Some("str") => return Value::String(text.to_owned()),
        Some("null") => return Value::Null,
        Some("bool" | "int" | "float") => return resolve(text),
        _ => {}
    }
    if style != ScalarStyle::Plain || tag.is_some() {
        return Value::String(text.to_owned());
    }
    resolve(text)
}

fn resolve(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    number(text).map_or_else(|| Value::String(text.to_owned()), Value::Number)
}

/// A YAML number as JSON keeps it: `+1` -> `1`, `007` -> `7`, `.5` -> `0.5`,
/// `0x1F` -> `31`. Infinities and NaN stay strings, since JSON has none.
fn number(text: &str) -> Option<Number> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'-' => ("-", &text[1..]),
        b'+' => ("", &text[1..]),
        _ => ("", text),
    };
    if let Some(hex) = digits.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16)
            .ok()
            .filter(|_| sign.is_empty())
            .map(Number::from);
    }
    if let Some(oct) = digits.strip_prefix("0o") {
        return u64::from_str_radix(oct, 8)
            .ok()
            .filter(|_| sign.is_empty())
            .map(Number::from);
    }
    let (mantissa, exponent) = match digits.find(['e', 'E']) {
        Some(i) => (&digits[..i], Some(&digits[i + 1..])),
        None => (digits, None),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int)
        || !frac.is_none_or(all_digits)
        || (int.is_empty() && frac.is_none_or(str::is_empty))
    {
        return None;
    }
    let mut json = String::from(sign);
    let int = int.trim_start_matches('0');
    json.push_str(if int.is_empty() { "0" } else { int });
    if let Some(frac) = frac.filter(|f| !f.is_empty()) {
        json.push('.');
        json.push_str(frac);
    }
    if let Some(exp) = exponent {
        let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if digits.is_empty() || !all_digits(digits) {
            return None;
        }
        json.push('e');
        json.push_str(exp);
    }
    serde_json::from_str(&json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_becomes_the_json_it_means() {
        let doc = parse(
            b"openapi: 3.0.3\npaths:\n  /pets:\n    get:\n      responses:\n        200:\n          description: ok\nn: [1, +2, 007, .5, 1e3, 0x1F, -1.50]\nb: [true, 'true', ~, null, .inf]\nq: \"x\"\n",
        )
        .unwrap();
        assert_eq!(doc["openapi"], json!("3.0.3"));
        assert!(doc["paths"]["/pets"]["get"]["responses"]["200"].is_object());
        assert_eq!(doc["n"][4].as_f64(), Some(1000.0));
        doc["n"]
            .as_array()
            .unwrap()
            .iter()
            .for_each(|n| assert!(n.is_number(), "{n}"));
        assert_eq!(
            doc["n"].to_string().replace("1e+3", "1e3"),
            "[1,2,7,0.5,1e3,31,-1.50]"
        );
        assert_eq!(doc["b"], json!([true, "true", null, null, ".inf"]));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let doc =
            parse(b"base: &b {type: string, x: 1}\nuse: *b\nmerged:\n  <<: *b\n  x: 2\n").unwrap();
        assert_eq!(doc["use"], json!({"type": "string", "x": 1}));
        assert_eq!(doc["merged"], json!({"x": 2, "type": "string"}));
    }

    #[test]
    fn an_alias_bomb_is_refused_while_read() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse(text.as_bytes()).unwrap_err();
        assert!(
            err.reason.contains("once its aliases are expanded"),
            "{err}"
        );
    }

    #[test]
    fn bad_text_is_refused_with_its_line() {
        let err = parse(b"{\"openapi\": \"3.0.0\",\n  \"paths\": {]}").unwrap_err();
        assert_eq!(err.pointer, "");
        assert!(
            err.reason.starts_with("invalid JSON at line 2 column"),
            "{err}"
        );
        let err = parse(b"openapi: 3.0.0\npaths: {\n  a: [\n").unwrap_err();
        assert!(err.reason.starts_with("invalid YAML at line"), "{err}");
        let err = parse(b"a: 1\na: 2\n").unwrap_err();
        assert!(err.reason.contains("\"a\" appears twice"), "{err}");
        assert!(parse(b"\xff\xfe").unwrap_err().reason.contains("not UTF-8"));
        let deep = "[".repeat(300) + &"]".repeat(300);
        assert!(parse(deep.as_bytes())
            .unwrap_err()
            .reason
            .contains("deeper"));
        let deep = "- ".repeat(300) + "x";
        assert!(parse(deep.as_bytes())
            .unwrap_err()
            .reason
            .contains("deeper"));
    }
}
