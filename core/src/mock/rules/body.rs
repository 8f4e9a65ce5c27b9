//! `match.body`: a JSON value that a request's body must contain.
//!
//! - An object contains each of the pattern's members, recursively; the body
//!   may have more.
//! - An array contains each element of the pattern's array somewhere in it,
//!   in any order; one element of the body may stand for several equal ones
//!   of the pattern.
//! - Numbers are equal when their exact decimal values are: `10`, `10.0`
//!   and `1e1` are equal, `1234567890123456789` and `1234567890123456788`
//!   are not, nor are `1e400` and `1e999` (the store keeps numbers' text, so
//!   matching reads it too, never a 64-bit float).
//! - Anything else is equal as JSON is.
//!
//! A pattern is compiled when its rule is added, and its cost on a body is
//! bounded by the body's size:
//!
//! - The scalars of a pattern's array are sorted once; each scalar of the
//!   body's array is looked up among them, and the array matches when every
//!   one was found. An object with more members than the body's never matches.
//! - An object or array inside a pattern's array is tried against each
//!   element of the body's array. There are at most [`MAX_NESTED_ELEMENTS`]
//!   of those in a pattern, so each value of a body is compared with at most
//!   that many values of the pattern: matching costs at most that many
//!   passes over the body (times a logarithm, for the lookups).
//! - A pattern holds at most [`MAX_VALUES`] values.

use crate::json::number::{Decimal, EXACT_EXPONENT_DIGITS};
use serde_json::Value;
use std::cmp::Ordering;

/// The most values (objects, arrays and scalars, at any depth) in one
/// `match.body`.
pub(super) const MAX_VALUES: usize = 10_000;

/// The most objects and arrays that are elements of arrays, at any depth,
/// in one `match.body`.
pub(super) const MAX_NESTED_ELEMENTS: usize = 16;

/// A value that is not an object nor an array. `S` is `String` in a
/// pattern, and `&str` borrowed from a body.
#[derive(Debug, Clone, PartialEq)]
enum Scalar<S> {
    Null,
    Bool(bool),
    Number(Decimal),
    String(S),
}

impl<S: AsRef<str>> Scalar<S> {
    fn rank(&self) -> u8 {
        match self {
            Self::Null => 0,
            Self::Bool(_) => 1,
            Self::Number(_) => 2,
            Self::String(_) => 3,
        }
    }
}

/// A total order on scalars, by kind and then by value (numbers by their
/// exact value).
fn compare<A: AsRef<str>, B: AsRef<str>>(a: &Scalar<A>, b: &Scalar<B>) -> Ordering {
    match (a, b) {
        (Scalar::Bool(a), Scalar::Bool(b)) => a.cmp(b),
        (Scalar::Number(a), Scalar::Number(b)) => a.cmp(b),
        (Scalar::String(a), Scalar::String(b)) => a.as_ref().cmp(b.as_ref()),
        _ => a.rank().cmp(&b.rank()),
    }
}

/// A body's value as a scalar; `None` for an object or an array.
fn scalar_of(value: &Value) -> Option<Scalar<&str>> {
    Some(match value {
        Value::Null => Scalar::Null,
        Value::Bool(b) => Scalar::Bool(*b),
        // Every JSON number parses; a saturated exponent only ever equals
        // another saturated one, and a pattern holds none.
        Value::Number(n) => Scalar::Number(Decimal::parse(n.as_str())?),
        Value::String(text) => Scalar::String(text.as_str()),
        Value::Array(_) | Value::Object(_) => return None,
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// A number, with its text as parsed, which most bodies that hold it
    /// repeat (no need to read the body's number as a decimal).
    Number {
        value: Decimal,
        text: String,
    },
    /// Another scalar.
    Scalar(Scalar<String>),
    Object(Vec<(String, Node)>),
    Array {
        /// The array's scalars, sorted, each once.
        scalars: Vec<Scalar<String>>,
        /// Its objects and arrays, in order.
        nested: Vec<Node>,
    },
}

/// A compiled `match.body`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BodyPattern {
    root: Node,
}

/// What compiling counts against the bounds.
#[derive(Default)]
struct Counts {
    values: usize,
    nested: usize,
}

impl BodyPattern {
    /// Compiles a pattern, or says why it cannot be one.
    pub(super) fn compile(value: &Value) -> Result<Self, String> {
        let mut counts = Counts::default();
        let root = compile(value, &mut counts)?;
        Ok(Self { root })
    }

    /// Whether `body` contains the pattern.
    pub(super) fn matches(&self, body: &Value) -> bool {
        contains(&self.root, body)
    }
}

fn compile(value: &Value, counts: &mut Counts) -> Result<Node, String> {
    counts.values += 1;
    if counts.values > MAX_VALUES {
        return Err(format!(
            "holds more than {MAX_VALUES} values; a body pattern holds at most {MAX_VALUES}"
        ));
    }
    Ok(match value {
        Value::Object(members) => Node::Object(
            members
                .iter()
                .map(|(key, member)| Ok((key.clone(), compile(member, counts)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Array(elements) => {
            let mut scalars = Vec::new();
            let mut nested = Vec::new();
            for element in elements {
                match compile(element, counts)? {
                    Node::Scalar(scalar) => scalars.push(scalar),
                    Node::Number { value, .. } => scalars.push(Scalar::Number(value)),
                    node => {
                        counts.nested += 1;
                        if counts.nested > MAX_NESTED_ELEMENTS {
                            return Err(format!(
                                "has more than {MAX_NESTED_ELEMENTS} objects and arrays as elements of arrays; \
                                 a body pattern has at most {MAX_NESTED_ELEMENTS} (scalars in arrays are not counted)"
                            ));
                        }
                        nested.push(node);
                    }
                }
            }
            scalars.sort_by(compare);
            scalars.dedup_by(|a, b| compare(a, b) == Ordering::Equal);
            Node::Array { scalars, nested }
        }
        Value::Number(n) => match Decimal::parse_exact(n.as_str()) {
            Some(value) => Node::Number {
                value,
                text: n.as_str().to_owned(),
            },
            None => {
                return Err(format!(
                    "holds the number {n}, whose exponent has more than {EXACT_EXPONENT_DIGITS} digits; \
                     such numbers cannot be compared exactly"
                ))
            }
        },
        Value::Null => Node::Scalar(Scalar::Null),
        Value::Bool(b) => Node::Scalar(Scalar::Bool(*b)),
        Value::String(text) => Node::Scalar(Scalar::String(text.clone())),
    })
}

fn contains(pattern: &Node, actual: &Value) -> bool {
    match (pattern, actual) {
        (Node::Object(want), Value::Object(have)) => {
            want.len() <= have.len()
                && want
                    .iter()
                    .all(|(key, node)| member(have, key).is_some_and(|value| contains(node, value)))
        }
        (Node::Array { scalars, nested }, Value::Array(have)) => {
            has_every_scalar(scalars, have)
                && nested
                    .iter()
                    .all(|node| have.iter().any(|value| contains(node, value)))
        }
        (Node::Number { value, text }, Value::Number(have)) => {
            let have = have.as_str();
            have == text
                || (!(plain_integer(text) && plain_integer(have))
                    && Decimal::parse(have).is_some_and(|have| have == *value))
        }
        (Node::Scalar(want), value) => {
            scalar_of(value).is_some_and(|have| compare(want, &have) == Ordering::Equal)
        }
        _ => false,
    }
}

/// An object's member: small objects (most of a body's) are read in order,
/// which is cheaper than hashing the key.
fn member<'a>(object: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    if object.len() <= 8 {
        object
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| value)
    } else {
        object.get(key)
    }
}

/// Whether a number's text is an integer with no fraction nor exponent, and
/// not `-0`: two such texts that differ are different values.
fn plain_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    text != "-0" && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether every one of `wanted` (sorted, each once) is among the scalars of
/// `have`: each of those is looked up, and the distinct ones found counted.
fn has_every_scalar(wanted: &[Scalar<String>], have: &[Value]) -> bool {
    if wanted.is_empty() {
        return true;
    }
    let mut found: Vec<usize> = have
        .iter()
        .filter_map(scalar_of)
        .filter_map(|scalar| wanted.binary_search_by(|want| compare(want, &scalar)).ok())
        .collect();
    found.sort_unstable();
    found.dedup();
    found.len() == wanted.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn matches(pattern: &str, body: &str) -> bool {
        BodyPattern::compile(&parse(pattern))
            .unwrap()
            .matches(&parse(body))
    }

    #[test]
    fn objects_are_matched_member_by_member() {
        assert!(matches(
            r#"{"a":{"b":1}}"#,
            r#"{"a":{"b":1.0,"c":2},"d":3}"#
        ));
        assert!(!matches(r#"{"a":{"b":1}}"#, r#"{"a":{"b":2}}"#));
        assert!(!matches(r#"{"a":1,"b":2}"#, r#"{"a":1}"#));
        assert!(!matches(r#"{"a":"1"}"#, r#"{"a":1}"#));
        assert!(!matches(r#"{"a":null}"#, r#"{}"#));
        assert!(matches(r#"{"a":null}"#, r#"{"a":null}"#));
        assert!(matches(r#"{}"#, r#"{"a":1}"#));
        assert!(!matches(r#"{}"#, r#"[]"#));
        assert!(matches(r#""x""#, r#""x""#));
    }

    #[test]
    fn numbers_are_equal_by_exact_value() {
        for (pattern, body, equal) in [
            ("1234567890123456789", "1234567890123456789", true),
            ("1234567890123456789", "1234567890123456788", false),
            ("1e400", "1e400", true),
            ("1e400", "1e999", false),
            ("1e400", "10e399", true),
            ("1.0", "1", true),
            ("10", "1e1", true),
            ("0.1", "1e-1", true),
            ("-0", "0", true),
            ("0.30000000000000004", "0.3", false),
            ("1e999999999999999", "1e9999999999999999999999", false),
        ] {
            assert_eq!(matches(pattern, body), equal, "{pattern} and {body}");
            assert_eq!(
                matches(&format!("[{pattern}]"), &format!("[7,{body}]")),
                equal,
                "{pattern} in an array of {body}"
            );
        }
    }

    #[test]
    fn arrays_hold_each_element_in_any_order() {
        assert!(matches(r#"{"tags":["x"]}"#, r#"{"tags":["y","x"]}"#));
        assert!(!matches(r#"{"tags":["z"]}"#, r#"{"tags":["y","x"]}"#));
        assert!(matches(r#"["x","x","y"]"#, r#"["y","x"]"#));
        assert!(!matches(r#"["x","y"]"#, r#"["x","x"]"#));
        assert!(matches(r#"[]"#, r#"[1]"#));
        assert!(!matches(r#"[]"#, r#"{}"#));
        assert!(matches(r#"[1,"1",true,null]"#, r#"[null,true,"1",1.0]"#));
        assert!(!matches(r#"[1,"1"]"#, r#"["1",true]"#));
        assert!(matches(
            r#"[{"sku":"a"},{"sku":"b","n":2}]"#,
            r#"[{"sku":"b","n":2.0,"x":1},{"sku":"a"}]"#
        ));
        assert!(!matches(
            r#"[{"sku":"a"},{"sku":"c"}]"#,
            r#"[{"sku":"a"},{"sku":"b"}]"#
        ));
        assert!(matches(r#"[[1,2]]"#, r#"[[3],[2,1,0]]"#));
        assert!(!matches(r#"[[1,2]]"#, r#"[[1],[2]]"#));
        assert!(!matches(r#"[{}]"#, r#"[1,[]]"#));
    }

    #[test]
    fn scalars_of_large_arrays_are_looked_up_not_scanned() {
        let wanted: Vec<Value> = (0..6_000).map(|n| json!(n * 2)).collect();
        let pattern = BodyPattern::compile(&json!({ "ids": wanted })).unwrap();
        let mut have: Vec<Value> = (0..12_000).map(|n| json!(n)).collect();
        have.reverse();
        assert!(pattern.matches(&json!({ "ids": have })));
        have.retain(|n| n != &json!(5_000));
        assert!(!pattern.matches(&json!({ "ids": have })));
    }

    #[test]
    fn patterns_are_bounded() {
        let most: Vec<Value> = (0..MAX_VALUES - 1).map(|n| json!(n)).collect();
        assert!(BodyPattern::compile(&Value::Array(most.clone())).is_ok());
        let mut over = most;
        over.push(json!(-1));
        assert_eq!(
            BodyPattern::compile(&Value::Array(over)).unwrap_err(),
            "holds more than 10000 values; a body pattern holds at most 10000"
        );
        let nested = |n: usize| Value::Array((0..n).map(|i| json!({ "a": [i] })).collect());
        assert!(BodyPattern::compile(&nested(MAX_NESTED_ELEMENTS)).is_ok());
        assert!(BodyPattern::compile(&nested(MAX_NESTED_ELEMENTS + 1))
            .unwrap_err()
            .starts_with("has more than 16 objects and arrays as elements of arrays"));
        let deep = json!({"a": [[{"b": [{}]}]]});
        assert!(BodyPattern::compile(&deep).is_ok(), "3 of 16");
        assert!(BodyPattern::compile(&parse("[1e9999999999999999]"))
            .unwrap_err()
            .contains("exponent has more than 15 digits"));
    }
}
