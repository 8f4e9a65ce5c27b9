//! What the engine answers: a response and the store changes behind it.

use std::borrow::Cow;

/// An HTTP response, ready for a host to write out as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower-case) and values, in the order to send them. The
    /// engine's own names are static; those a rule or a proxy target brings
    /// are owned, and go with the response (nothing keeps them after it).
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// The body bytes. Empty for `HEAD`, `204` and `304`.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One change the engine made to its store, as data a host can persist or replay
/// with [`Engine::apply`](crate::Engine::apply).
///
/// Each change says everything a persistence layer needs, so a host maps one
/// change to one storage operation and derives no rule of the store itself:
/// where a new item or type goes, and when a type is forgotten, are explicit.
/// Replaying a host's stored state is `CreateType` and `Create` in creation
/// order (see [`Engine::rebuild_changes`](crate::Engine::rebuild_changes)).
///
/// With serde it reads and writes as an object tagged by `kind` in camel case
/// (`{"kind": "create", "resource", "id", "item"}`), the form a JavaScript
/// host stores.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "Stored", try_from = "Stored")]
pub enum Change {
    /// A resource type that did not exist, placed after every other type. Its
    /// first item follows as a `Create`; a type never exists without items.
    CreateType {
        /// The resource type, such as `persons`.
        resource: String,
    },
    /// A new item, placed after every other item of its type.
    Create {
        /// The resource type.
        resource: String,
        /// The item's id.
        id: String,
        /// The item as compact JSON, its id included (as its last member).
        item: String,
    },
    /// An existing item's new text (PUT or PATCH); the item keeps its place.
    Replace {
        /// The resource type.
        resource: String,
        /// The item's id.
        id: String,
        /// The item as compact JSON, its id included (as its last member).
        item: String,
    },
    /// One item is gone. When it was its type's last, a `DropType` follows.
    Delete {
        /// The resource type.
        resource: String,
        /// The item's id.
        id: String,
    },
    /// A type is gone with every item it had, and forgotten: its last item was
    /// deleted, or the whole collection was. A later item of the same name
    /// creates it again, after every other type.
    DropType {
        /// The resource type.
        resource: String,
    },
    /// Every type and item, and every singular resource, is gone (a
    /// snapshot or reset follows as `CreateType`s, `Create`s and `PutSingle`s).
    ClearAll,
    /// A singular resource's new object (from a snapshot, a reset, PUT or
    /// PATCH): a new name goes after the other singular resources, a known
    /// one keeps its place.
    PutSingle {
        /// The singular resource's name, such as `profile`.
        resource: String,
        /// Its object as compact JSON (it has no id).
        item: String,
    },
    /// A rule was added, or the `times` it has left changed: the rule as
    /// `GET /__admin/rules` lists it. A new id goes after every other rule; a
    /// known one keeps its place.
    PutRule {
        /// The rule's id.
        id: String,
        /// The rule as compact JSON, its id and the times left included.
        rule: String,
    },
    /// A rule is gone: deleted, or its `times` used up.
    DeleteRule {
        /// The rule's id.
        id: String,
    },
    /// Every rule is gone (a reset follows with `PutRule`s).
    ClearRules,
}

/// A [`Change`] as it is read and written: an object tagged by `kind`, with
/// only the members the kind has. Flat, so that its serde code stays small
/// in the wasm.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    item: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
}

impl From<Change> for Stored {
    fn from(change: Change) -> Self {
        let (kind, resource, id, item, rule) = match change {
            Change::CreateType { resource } => ("createType", Some(resource), None, None, None),
            Change::Create { resource, id, item } => {
                ("create", Some(resource), Some(id), Some(item), None)
            }
            Change::Replace { resource, id, item } => {
                ("replace", Some(resource), Some(id), Some(item), None)
            }
            Change::Delete { resource, id } => ("delete", Some(resource), Some(id), None, None),
            Change::DropType { resource } => ("dropType", Some(resource), None, None, None),
            Change::ClearAll => ("clearAll", None, None, None, None),
            Change::PutSingle { resource, item } => {
                ("putSingle", Some(resource), None, Some(item), None)
            }
            Change::PutRule { id, rule } => ("putRule", None, Some(id), None, Some(rule)),
            Change::DeleteRule { id } => ("deleteRule", None, Some(id), None, None),
            Change::ClearRules => ("clearRules", None, None, None, None),
        };
        Self {
            kind: kind.to_owned(),
            resource,
            id,
            item,
            rule,
        }
    }
}

impl TryFrom<Stored> for Change {
    type Error = String;

    fn try_from(stored: Stored) -> Result<Self, String> {
        let Stored {
            kind,
            resource,
            id,
            item,
            rule,
        } = stored;
        let missing = |field: &str| format!("a `{kind}` change has no `{field}`");
        let resource = || resource.clone().ok_or_else(|| missing("resource"));
        let id = || id.clone().ok_or_else(|| missing("id"));
        let item = || item.clone().ok_or_else(|| missing("item"));
        Ok(match kind.as_str() {
            "createType" => Change::CreateType {
                resource: resource()?,
            },
            "create" => Change::Create {
                resource: resource()?,
                id: id()?,
                item: item()?,
            },
            "replace" => Change::Replace {
                resource: resource()?,
                id: id()?,
                item: item()?,
            },
            "delete" => Change::Delete {
                resource: resource()?,
                id: id()?,
            },
            "dropType" => Change::DropType {
                resource: resource()?,
            },
            "clearAll" => Change::ClearAll,
            "putSingle" => Change::PutSingle {
                resource: resource()?,
                item: item()?,
            },
            "putRule" => Change::PutRule {
                id: id()?,
                rule: rule.clone().ok_or_else(|| missing("rule"))?,
            },
            "deleteRule" => Change::DeleteRule { id: id()? },
            "clearRules" => Change::ClearRules,
            other => return Err(format!("a change of unknown kind `{other}`")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_back_as_they_are_written_tagged_by_kind() {
        let changes = vec![
            Change::CreateType {
                resource: "p".into(),
            },
            Change::Create {
                resource: "p".into(),
                id: "1".into(),
                item: r#"{"a":1}"#.into(),
            },
            Change::Replace {
                resource: "p".into(),
                id: "1".into(),
                item: "{}".into(),
            },
            Change::Delete {
                resource: "p".into(),
                id: "1".into(),
            },
            Change::DropType {
                resource: "p".into(),
            },
            Change::ClearAll,
            Change::PutSingle {
                resource: "me".into(),
                item: "{}".into(),
            },
            Change::PutRule {
                id: "r".into(),
                rule: "{}".into(),
            },
            Change::DeleteRule { id: "r".into() },
            Change::ClearRules,
        ];
        let text = serde_json::to_string(&changes).unwrap();
        assert!(text.starts_with(r#"[{"kind":"createType","resource":"p"},{"kind":"create","resource":"p","id":"1","item":"{\"a\":1}"}"#), "{text}");
        let back: Vec<Change> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, changes);
        for (bad, why) in [
            (
                r#"{"kind":"create","resource":"p","id":"1"}"#,
                "has no `item`",
            ),
            (r#"{"kind":"explode"}"#, "unknown kind `explode`"),
        ] {
            let err = serde_json::from_str::<Change>(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
