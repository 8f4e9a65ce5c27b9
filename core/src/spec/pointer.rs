//! JSON pointers (RFC 6901) and the local `$ref`s that hold them.

use super::error::SpecError;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::Value;
use std::borrow::Cow;

/// How many `$ref`s in a row may lead to another `$ref` before the chain is
/// taken for a loop (schemas may recurse; a parameter that is only a
/// reference to itself may not).
const MAX_REF_HOPS: usize = 64;

/// `pointer` with one more token, escaped.
pub(crate) fn join(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// The value `pointer` names in `root`, as `Value::pointer` finds it, but
/// unescaping a token only when it holds a `~`: a request's lookups (a
/// response's schema, an example) then allocate nothing.
pub(crate) fn get<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    let rest = pointer.strip_prefix('/')?;
    rest.split('/').try_fold(root, |value, token| {
        let token: Cow<'_, str> = if token.contains('~') {
            Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(token)
        };
        match value {
            Value::Object(map) => map.get(token.as_ref()),
            Value::Array(list) => index(&token).and_then(|i| list.get(i)),
            _ => None,
        }
    })
}

/// An array index token as RFC 6901 writes one: digits, no leading zero.
fn index(token: &str) -> Option<usize> {
    if token.is_empty() || token.starts_with('+') || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

/// The tokens of a pointer, unescaped.
pub(crate) fn tokens(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
}

/// The pointer a `$ref` names, or why it cannot be followed: only a local
/// reference (`#` and a JSON pointer, percent-encoded or not) is read, so a
/// document never makes the mock open a file or a URL.
pub(crate) fn ref_pointer(reference: &str) -> Result<String, String> {
    let Some(fragment) = reference.strip_prefix('#') else {
        return Err(format!(
            "$ref \"{reference}\" points outside this document; only local references (\"#/...\") are read, so bundle the document first"
        ));
    };
    let decoded = percent_decode_str(fragment)
        .decode_utf8()
        .map_err(|_| format!("$ref \"{reference}\" is not UTF-8 once percent-decoded"))?;
    if !decoded.is_empty() && !decoded.starts_with('/') {
        return Err(format!(
            "$ref \"{reference}\" names an anchor; only JSON pointers (\"#/...\") are read"
        ));
    }
    Ok(decoded.into_owned())
}

/// Follows `$ref`s from the object at `pointer` until an object without one,
/// giving its pointer and value. The error names the `$ref` that failed.
pub(crate) fn follow<'a>(root: &'a Value, pointer: &str) -> Result<(String, &'a Value), SpecError> {
    let mut at = pointer.to_owned();
    let mut value = get(root, &at).ok_or_else(|| SpecError::at(at.clone(), "nothing is here"))?;
    for _ in 0..MAX_REF_HOPS {
        let Some(reference) = value.get("$ref") else {
            return Ok((at, value));
        };
        let here = join(&at, "$ref");
        let Some(reference) = reference.as_str() else {
            return Err(SpecError::at(here, "$ref is not a string"));
        };
        let target = ref_pointer(reference).map_err(|why| SpecError::at(here.clone(), why))?;
        value = get(root, &target).ok_or_else(|| {
            SpecError::at(
                here.clone(),
                format!("$ref \"{reference}\" points to nothing in this document"),
            )
        })?;
        at = target;
    }
    Err(SpecError::at(
        pointer,
        "$refs lead to each other in a loop and never to a definition",
    ))
}

/// Characters kept out of a URL fragment, so that a pointer such as
/// `/paths/~1pets~1{petId}` reaches the validator as written.
const FRAGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A pointer as the fragment of a URL.
pub(crate) fn fragment(pointer: &str) -> String {
    utf8_percent_encode(pointer, FRAGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn get_finds_what_value_pointer_finds() {
        let doc = json!({"a/b": {"c~d": [1, {"e": 2}]}, "": 3, "01": 4});
        for p in [
            "",
            "/",
            "/a~1b",
            "/a~1b/c~0d",
            "/a~1b/c~0d/1/e",
            "/a~1b/c~0d/01",
            "/a~1b/c~0d/+1",
            "/a~1b/c~0d/9",
            "/01",
            "/x",
            "a",
            "/a~1b/c~0d/0/z",
        ] {
            assert_eq!(get(&doc, p), doc.pointer(p), "{p}");
        }
    }

    #[test]
    fn tokens_are_escaped_and_unescaped() {
        let p = join(&join("", "paths"), "/pets/{id}~x");
        assert_eq!(p, "/paths/~1pets~1{id}~0x");
        assert_eq!(tokens(&p).collect::<Vec<_>>(), ["paths", "/pets/{id}~x"]);
    }

    #[test]
    fn a_local_reference_is_followed_and_others_are_refused() {
        assert_eq!(ref_pointer("#/a/b%20c").as_deref(), Ok("/a/b c"));
        assert!(ref_pointer("other.yaml#/a")
            .unwrap_err()
            .contains("outside"));
        assert!(ref_pointer("#anchor").unwrap_err().contains("anchor"));
    }

    #[test]
    fn follow_reports_the_ref_that_points_nowhere_and_loops() {
        let doc = json!({"a": {"$ref": "#/b"}, "b": {"$ref": "#/c"}, "l": {"$ref": "#/l"}});
        let err = follow(&doc, "/a").unwrap_err();
        assert_eq!(err.pointer, "/b/$ref");
        assert!(err.reason.contains("\"#/c\" points to nothing"));
        assert!(follow(&doc, "/l").unwrap_err().reason.contains("loop"));
    }
}
