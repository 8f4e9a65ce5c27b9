//! Matching a response against what a case expects, with captured values.
//!
//! In an expected JSON body, an object whose only key starts with `$` is a matcher:
//!
//! | matcher | matches |
//! |---|---|
//! | `{"$uuid": "name"}` | a lowercase hyphenated UUID v4 string; remembered as `name` (unless `""`) |
//! | `{"$capture": "name"}` | any value; remembered as `name` |
//! | `{"$same": "name"}` | the value remembered as `name` |
//! | `{"$regex": "re"}` | a string the regular expression finds a match in |
//! | `{"$type": "t"}` | a value of JSON type `t` (`string`, `number`, `boolean`, `null`, `array`, `object`) |
//! | `{"$any": null}` | any value |
//!
//! Everything else must be equal: objects with the same keys *in the same
//! order*, arrays element by element, numbers by their text. A string may use
//! `{{name}}` to stand for a remembered value, as requests may.

use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;

/// Values remembered from earlier responses in a case.
#[derive(Debug, Default, Clone)]
pub struct Captures {
    values: HashMap<String, Value>,
}

impl Captures {
    /// Remembers a value.
    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_owned(), value);
    }

    /// Replaces each `{{name}}` in a text with the remembered value (a string as it is,
    /// anything else as JSON text).
    pub fn fill(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            // `\{{` is a literal `{{` (as in a rule's templates).
            if rest[..start].ends_with('\\') {
                out.push_str(&rest[..start - 1]);
                out.push_str("{{");
                rest = &rest[start + 2..];
                continue;
            }
            let end = rest[start..]
                .find("}}")
                .ok_or_else(|| format!("unclosed {{{{ in `{text}`"))?;
            let name = &rest[start + 2..start + end];
            let value = self
                .values
                .get(name)
                .ok_or_else(|| format!("nothing was captured as `{name}`"))?;
            out.push_str(&rest[..start]);
            match value {
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            }
            rest = &rest[start + end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Fills every string inside a JSON value.
    pub fn fill_json(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => Value::String(self.fill(s)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.fill_json(item))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.fill_json(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// Checks `actual` against the pattern `expected`, remembering captures.
pub fn match_json(
    expected: &Value,
    actual: &Value,
    captures: &mut Captures,
    at: &str,
) -> Result<(), String> {
    if let Some((op, arg)) = matcher(expected) {
        return apply(op, arg, actual, captures, at);
    }
    let mismatch = || {
        format!(
            "at {at}: expected {}, got {}",
            short(expected),
            short(actual)
        )
    };
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => {
            let want_keys: Vec<&String> = want.keys().collect();
            let got_keys: Vec<&String> = got.keys().collect();
            if want_keys != got_keys {
                return Err(format!(
                    "at {at}: expected keys {want_keys:?} (in this order), got {got_keys:?}"
                ));
            }
            for (key, value) in want {
                match_json(value, &got[key], captures, &format!("{at}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                return Err(format!(
                    "at {at}: expected {} elements, got {}: {}",
                    want.len(),
                    got.len(),
                    short(actual)
                ));
            }
            for (n, (w, g)) in want.iter().zip(got).enumerate() {
                match_json(w, g, captures, &format!("{at}[{n}]"))?;
            }
            Ok(())
        }
        (Value::String(want), Value::String(got)) => {
            if &captures.fill(want)? == got {
                Ok(())
            } else {
                Err(mismatch())
            }
        }
        (Value::Number(want), Value::Number(got)) => {
            if want.to_string() == got.to_string() {
                Ok(())
            } else {
                Err(mismatch())
            }
        }
        _ if expected == actual => Ok(()),
        _ => Err(mismatch()),
    }
}

/// Checks a header value (or its absence) against what a case expects.
pub fn match_header(
    name: &str,
    expected: &Value,
    actual: Option<&str>,
    captures: &mut Captures,
) -> Result<(), String> {
    let at = format!("header {name}");
    match (expected, actual) {
        (Value::Null, None) => Ok(()),
        (Value::Null, Some(got)) => Err(format!("{at}: expected none, got `{got}`")),
        (_, None) => Err(format!("{at}: missing, expected {}", short(expected))),
        (_, Some(got)) => match_json(expected, &Value::String(got.to_owned()), captures, &at),
    }
}

fn matcher(value: &Value) -> Option<(&str, &Value)> {
    let members = value.as_object()?;
    let (key, arg) = members.iter().next()?;
    (members.len() == 1 && key.starts_with('$')).then_some((key.as_str(), arg))
}

fn apply(
    op: &str,
    arg: &Value,
    actual: &Value,
    captures: &mut Captures,
    at: &str,
) -> Result<(), String> {
    let name = arg.as_str().unwrap_or_default();
    let fail = |what: String| Err(format!("at {at}: expected {what}, got {}", short(actual)));
    match op {
        "$any" => Ok(()),
        "$capture" => {
            captures.set(name, actual.clone());
            Ok(())
        }
        "$uuid" => {
            let is_v4 = actual.as_str().is_some_and(|s| {
                Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
                    .is_ok_and(|re| re.is_match(s))
            });
            if !is_v4 {
                return fail("a lowercase UUID v4".to_owned());
            }
            if !name.is_empty() {
                captures.set(name, actual.clone());
            }
            Ok(())
        }
        "$same" => {
            let want = captures
                .values
                .get(name)
                .ok_or_else(|| format!("at {at}: nothing was captured as `{name}`"))?;
            if want == actual {
                Ok(())
            } else {
                fail(format!("the value captured as `{name}` ({})", short(want)))
            }
        }
        "$regex" => {
            let re = Regex::new(name).map_err(|e| format!("at {at}: bad regex: {e}"))?;
            match actual.as_str() {
                Some(s) if re.is_match(s) => Ok(()),
                _ => fail(format!("a string matching /{name}/")),
            }
        }
        "$type" => {
            let kind = match actual {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            if kind == name {
                Ok(())
            } else {
                fail(format!("a value of type {name}"))
            }
        }
        other => Err(format!("at {at}: unknown matcher {other}")),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matchers_capture_and_compare() {
        let mut captures = Captures::default();
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let pattern = json!({"a": 1, "_id": {"$uuid": "id"}});
        match_json(&pattern, &json!({"a": 1, "_id": id}), &mut captures, "$").unwrap();
        assert_eq!(
            captures.fill("/api/p/{{id}}").unwrap(),
            format!("/api/p/{id}")
        );
        match_json(&json!({"$same": "id"}), &json!(id), &mut captures, "$").unwrap();
        assert!(match_json(&json!({"$same": "id"}), &json!("x"), &mut captures, "$").is_err());
    }

    #[test]
    fn key_order_and_number_text_count() {
        let mut captures = Captures::default();
        let got: Value = serde_json::from_str(r#"{"b":1.10,"a":2}"#).unwrap();
        let same: Value = serde_json::from_str(r#"{"b":1.10,"a":2}"#).unwrap();
        let reordered: Value = serde_json::from_str(r#"{"a":2,"b":1.10}"#).unwrap();
        let retyped: Value = serde_json::from_str(r#"{"b":1.1,"a":2}"#).unwrap();
        assert!(match_json(&same, &got, &mut captures, "$").is_ok());
        assert!(match_json(&reordered, &got, &mut captures, "$").is_err());
        assert!(match_json(&retyped, &got, &mut captures, "$").is_err());
        assert!(match_json(
            &json!({"$uuid": ""}),
            &json!("NOT-A-UUID"),
            &mut captures,
            "$"
        )
        .is_err());
    }

    #[test]
    fn headers_can_be_required_absent() {
        let mut captures = Captures::default();
        assert!(match_header("x", &Value::Null, None, &mut captures).is_ok());
        assert!(match_header("x", &Value::Null, Some("1"), &mut captures).is_err());
        assert!(match_header("x", &json!("1"), None, &mut captures).is_err());
        assert!(match_header(
            "x",
            &json!({"$regex": "^GET"}),
            Some("GET, HEAD"),
            &mut captures
        )
        .is_ok());
    }
}
