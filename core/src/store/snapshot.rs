//! Snapshots of the whole store as `{"type": [items...], "name": {...}}`:
//! reading them (for `PUT /__admin/snapshot` and fixture files) and writing
//! them. A top-level array is a resource type; a top-level object is a
//! singular resource, as in json-server's `db.json`.

use crate::error::ApiError;
use crate::http::route::check_name;
use crate::json::body;
use crate::json::text;
use crate::store::ids::{integer_id, IdKeys, IdKind, IdValue};
use crate::store::Store;
use serde_json::Value;
use std::collections::HashSet;

/// A checked snapshot: every item with its type, id and stored text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// The id field of each type.
    pub keys: IdKeys,
    /// `(type, id, item text)`, types and items in the order given; the id
    /// in its string form.
    pub items: Vec<(String, String, String)>,
    /// `(name, object text)` of the singular resources, in the order given.
    pub singles: Vec<(String, String)>,
}

impl Snapshot {
    /// Reads and checks a snapshot whose items carry their id under their
    /// type's key in `keys`.
    /// Items keep the id they carry (a string or an integer; all of one type
    /// of one kind, no two alike). An item without one gets the next integer
    /// after its type's largest when the type's ids are integers, else a
    /// string from `new_id`. Nothing is returned unless the whole snapshot is
    /// good; an error names the type and the id.
    pub(crate) fn parse(
        bytes: &[u8],
        keys: &IdKeys,
        new_id: &mut dyn FnMut() -> String,
    ) -> Result<Self, ApiError> {
        let bad = |reason: String| ApiError::BadSnapshot { reason };
        let json =
            body::parse_within(bytes, body::SNAPSHOT_MAX_DEPTH).map_err(|err| match err {
                ApiError::TooDeep { .. } => bad(format!(
                "An item in the snapshot nests deeper than {} levels (the snapshot's object and \
                 arrays add {} more).",
                body::MAX_DEPTH,
                body::SNAPSHOT_MAX_DEPTH - body::MAX_DEPTH
            )),
                other => other,
            })?;
        if !json.is_object() {
            return Err(bad(
                "A snapshot must be a JSON object of arrays of objects: {\"type\": [{...}]}."
                    .to_owned(),
            ));
        }
        let mut items = Vec::new();
        let mut singles = Vec::new();
        let mut seen_types = HashSet::new();
        for member in text::members(&json.text) {
            let name = member.key.into_owned();
            check_name(&name, "resource name", "in the snapshot")
                .map_err(|err| bad(err.message()))?;
            if !seen_types.insert(name.clone()) {
                return Err(bad(format!("The snapshot names the type `{name}` twice.")));
            }
            let not_objects = || {
                bad(format!(
                    "The snapshot's `{name}` must be an array of objects (a type) or an object \
                     (a singular resource)."
                ))
            };
            if member.value.starts_with('{') {
                singles.push((name, member.value.to_owned()));
                continue;
            }
            if !member.value.starts_with('[') {
                return Err(not_objects());
            }
            let key = keys.of(&name);
            let elements = text::array_elements(member.value);
            let mut given = Vec::with_capacity(elements.len());
            let mut kind: Option<(IdKind, String)> = None;
            let mut largest: Option<i64> = None;
            for element in &elements {
                if !element.starts_with('{') {
                    return Err(not_objects());
                }
                let id = match text::member(element, key) {
                    None => None,
                    Some(raw) => {
                        let id = IdValue::parse(key, raw).map_err(|reason| {
                            bad(format!("In the snapshot's `{name}`, {reason}."))
                        })?;
                        match &kind {
                            None => kind = Some((id.kind, raw.to_owned())),
                            Some((first, first_raw)) if *first != id.kind => {
                                return Err(bad(format!(
                                    "The snapshot's `{name}` mixes id kinds: the `{key}` \
                                     {first_raw} is {} and the `{key}` {raw} is {}; one type has \
                                     one kind.",
                                    first.name(),
                                    id.kind.name()
                                )))
                            }
                            Some(_) => {}
                        }
                        if let Some(n) = integer_id(raw) {
                            largest = Some(largest.map_or(n, |l| l.max(n)));
                        }
                        Some(id)
                    }
                };
                given.push(id);
            }
            let mut ids = HashSet::new();
            for (element, id) in elements.into_iter().zip(given) {
                let id = match id {
                    Some(id) => id,
                    None if matches!(kind, Some((IdKind::Integer, _))) => {
                        let next = match largest {
                            None => 1,
                            Some(n) => n.checked_add(1).ok_or_else(|| {
                                bad(format!(
                                    "The snapshot's `{name}` has an item without an `{key}`, and \
                                     its ids have reached {n}, the largest integer id."
                                ))
                            })?,
                        };
                        largest = Some(next);
                        IdValue::integer(next)
                    }
                    None => IdValue::text(&new_id()),
                };
                let form = id.string_form().into_owned();
                if !ids.insert(form) {
                    return Err(bad(format!(
                        "The snapshot's `{name}` has the `{key}` {} twice.",
                        id.json
                    )));
                }
                let item = text::item_text(element, key, &id.json);
                items.push((name.clone(), id.string_form().into_owned(), item));
            }
        }
        Ok(Self {
            keys: keys.clone(),
            items,
            singles,
        })
    }

    /// A store holding exactly these items.
    pub(crate) fn into_store(self) -> Store {
        let mut store = Store::with_keys(self.keys);
        for (resource, id, item) in self.items {
            store.put(&resource, &id, item);
        }
        for (name, object) in self.singles {
            store.put_single(&name, object);
        }
        store
    }
}

/// The store as snapshot JSON, items echoed as stored: the types, then the
/// singular resources.
pub(crate) fn render(store: &Store) -> Vec<u8> {
    let mut out = String::from("{");
    for (n, (resource, collection)) in store.types().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(resource.to_owned()).to_string());
        out.push_str(":[");
        for (m, item) in collection.iter().enumerate() {
            if m > 0 {
                out.push(',');
            }
            out.push_str(item.json);
        }
        out.push(']');
    }
    for (name, object) in store.singles() {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&Value::String(name.to_owned()).to_string());
        out.push(':');
        out.push_str(object);
    }
    out.push('}');
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Snapshot, ApiError> {
        let mut n = 0;
        Snapshot::parse(text.as_bytes(), &IdKeys::new("_id"), &mut || {
            n += 1;
            format!("new-{n}")
        })
    }

    #[test]
    fn keeps_ids_and_assigns_missing_ones() {
        let snapshot =
            parse(r#"{"p":[{"_id":"a","x":1e400},{"y":2}],"q":[],"r":[{"_id":"a"}]}"#).unwrap();
        assert_eq!(
            snapshot.items,
            [
                (
                    "p".to_owned(),
                    "a".to_owned(),
                    r#"{"x":1e400,"_id":"a"}"#.to_owned()
                ),
                (
                    "p".to_owned(),
                    "new-1".to_owned(),
                    r#"{"y":2,"_id":"new-1"}"#.to_owned()
                ),
                ("r".to_owned(), "a".to_owned(), r#"{"_id":"a"}"#.to_owned()),
            ]
        );
        let store = snapshot.into_store();
        assert_eq!(
            String::from_utf8(render(&store)).unwrap(),
            r#"{"p":[{"x":1e400,"_id":"a"},{"y":2,"_id":"new-1"}],"r":[{"_id":"a"}]}"#
        );
    }

    #[test]
    fn takes_back_the_deepest_item_a_body_may_hold() {
        let item = |levels: usize| {
            format!(
                "{}{}",
                "{\"a\":".repeat(levels - 1) + "{}",
                "}".repeat(levels - 1)
            )
        };
        let deepest = format!("{{\"t\":[{}]}}", item(body::MAX_DEPTH));
        assert!(body::parse(item(body::MAX_DEPTH).as_bytes()).is_ok());
        let snapshot = parse(&deepest).unwrap();
        assert_eq!(snapshot.items.len(), 1);
        let rendered = render(&snapshot.into_store());
        assert!(parse(std::str::from_utf8(&rendered).unwrap()).is_ok());
        let deeper = format!("{{\"t\":[{}]}}", item(body::MAX_DEPTH + 1));
        assert!(matches!(
            parse(&deeper),
            Err(ApiError::BadSnapshot { reason }) if reason.contains("deeper than 128 levels")
        ));
    }

    #[test]
    fn rejects_bad_shapes_whole() {
        for bad in [
            "[]",
            r#"{"p":"x"}"#,
            r#"{"p":[1]}"#,
            r#"{"p":[{"_id":1.5}]}"#,
            r#"{"p":[{"_id":true}]}"#,
            r#"{"p":[{"_id":1},{"_id":"2"}]}"#,
            r#"{"p":[{"_id":1},{"_id":1}]}"#,
            r#"{"p":[{"_id":""}]}"#,
            r#"{"p":[{"_id":"a"},{"_id":"a"}]}"#,
            r#"{"":[]}"#,
            "{\"a\\u0000\":[]}",
            r#"{"p":[],"p":[]}"#,
        ] {
            assert_eq!(parse(bad).map_err(|e| e.status()), Err(400), "{bad}");
        }
        match parse("{\n \"p\": [\n  {\"a\": }\n ]\n}") {
            Err(ApiError::InvalidJson { line: 3, .. }) => {}
            other => panic!("expected invalid JSON on line 3, got {other:?}"),
        }
    }
}
