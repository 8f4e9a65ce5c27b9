//! Snapshots of the whole store as `{"type": [items...]}`: reading them (for
//! `PUT /__admin/snapshot` and fixture files) and writing them.

use crate::body;
use crate::error::ApiError;
use crate::ids::ID_KEY;
use crate::route::check_name;
use crate::store::Store;
use crate::text;
use serde_json::Value;
use std::collections::HashSet;

/// A checked snapshot: every item with its type, id and stored text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `(type, id, item text)`, types and items in the order given.
    pub items: Vec<(String, String, String)>,
}

impl Snapshot {
    /// Reads and checks a snapshot. Items keep the `_id` they carry (a
    /// non-empty string) and get one from `new_id` when they have none.
    /// Nothing is returned unless the whole snapshot is good.
    pub fn parse(bytes: &[u8], new_id: &mut dyn FnMut() -> String) -> Result<Self, ApiError> {
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
                    "The snapshot's `{name}` must be an array of objects."
                ))
            };
            if !member.value.starts_with('[') {
                return Err(not_objects());
            }
            let mut ids = HashSet::new();
            for element in text::array_elements(member.value) {
                if !element.starts_with('{') {
                    return Err(not_objects());
                }
                let given = text::members(element)
                    .into_iter()
                    .rev()
                    .find(|field| field.key == ID_KEY);
                let id = match given {
                    None => new_id(),
                    Some(field) => {
                        let id: String = match serde_json::from_str::<Value>(field.value) {
                            Ok(Value::String(id)) => id,
                            _ => {
                                return Err(bad(format!(
                                    "In the snapshot's `{name}`, an `_id` is not a string."
                                )))
                            }
                        };
                        check_name(&id, "id", &format!("in the snapshot's `{name}`"))
                            .map_err(|err| bad(err.message()))?;
                        id
                    }
                };
                if !ids.insert(id.clone()) {
                    return Err(bad(format!(
                        "The snapshot's `{name}` has the `_id` `{id}` twice."
                    )));
                }
                let item = text::item_text(element, &id);
                items.push((name.clone(), id, item));
            }
        }
        Ok(Self { items })
    }

    /// A store holding exactly these items.
    pub fn into_store(self) -> Store {
        let mut store = Store::new();
        for (resource, id, item) in self.items {
            store.put(&resource, &id, item);
        }
        store
    }
}

/// The store as snapshot JSON, items echoed as stored.
pub fn render(store: &Store) -> Vec<u8> {
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
    out.push('}');
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Snapshot, ApiError> {
        let mut n = 0;
        Snapshot::parse(text.as_bytes(), &mut || {
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
            r#"{"p":{}}"#,
            r#"{"p":[1]}"#,
            r#"{"p":[{"_id":1}]}"#,
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
