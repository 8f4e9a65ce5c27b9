//! Item ids: the key they live under, where new ones come from, and how they
//! are written.
//!
//! An id is a JSON string (1 to 128 bytes, no control character) or a JSON
//! integer (canonical text, within a signed 64-bit range). Routes and
//! foreign keys name an id by its *string form*: a string's text, or an
//! integer's digits, so `/api/posts/1` finds `"id": 1` and `"id": "1"`. All
//! ids of one type are of one kind, so no two of them share a string form.

use crate::http::route::check_name;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// The default key under which every item carries its id (`ID_FIELD`).
pub(crate) const ID_KEY: &str = "_id";

/// The key each type's items carry their id under: `ID_FIELD` for every
/// type, but for the store types of an OpenAPI document, whose items carry it
/// in their schema's id property (`id`, `petId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdKeys {
    default: Arc<str>,
    by_type: Arc<HashMap<String, Arc<str>>>,
}

impl IdKeys {
    /// `key` for every type.
    pub(crate) fn new(key: &str) -> Self {
        Self {
            default: Arc::from(key),
            by_type: Arc::default(),
        }
    }

    /// `key` for every type but those named in `types`, each with its own.
    pub(crate) fn with_types(key: &str, types: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            default: Arc::from(key),
            by_type: Arc::new(
                types
                    .into_iter()
                    .map(|(name, key)| (name, Arc::from(key)))
                    .collect(),
            ),
        }
    }

    /// The key of a type's ids.
    pub(crate) fn of(&self, resource: &str) -> &str {
        if self.by_type.is_empty() {
            return &self.default;
        }
        self.by_type.get(resource).unwrap_or(&self.default)
    }
}

/// The two kinds of id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdKind {
    /// A JSON string.
    Text,
    /// A JSON integer.
    Integer,
}

impl IdKind {
    /// The kind's name in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Text => "a string",
            Self::Integer => "an integer",
        }
    }
}

/// An id as an item carries it: the JSON text of its value, and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdValue {
    /// The JSON text: `"abc"` (quotes included) or `12`.
    pub json: String,
    /// Which kind it is.
    pub kind: IdKind,
}

impl IdValue {
    /// A string id.
    pub(crate) fn text(id: &str) -> Self {
        Self {
            json: crate::json::text::quote(id),
            kind: IdKind::Text,
        }
    }

    /// An integer id.
    pub(crate) fn integer(n: i64) -> Self {
        Self {
            json: n.to_string(),
            kind: IdKind::Integer,
        }
    }

    /// Reads an id from the JSON text of the member `key`'s value, or says
    /// why it cannot be one.
    pub(crate) fn parse(key: &str, raw: &str) -> Result<Self, String> {
        match raw.as_bytes().first() {
            Some(b'"') => {
                let text = crate::json::text::decode_string(raw);
                check_name(&text, "id", "").map_err(|_| {
                    format!(
                        "the `{key}` {raw} is not 1 to 128 bytes without control characters"
                    )
                })?;
                Ok(Self {
                    json: raw.to_owned(),
                    kind: IdKind::Text,
                })
            }
            Some(b'-' | b'0'..=b'9') => match integer_id(raw) {
                Some(_) => Ok(Self {
                    json: raw.to_owned(),
                    kind: IdKind::Integer,
                }),
                None => Err(format!(
                    "the `{key}` {raw} is a number but not an integer from -2^63 to 2^63-1 written plainly"
                )),
            },
            _ => Err(format!("the `{key}` {raw} is neither a string nor an integer")),
        }
    }

    /// The string form that routes and foreign keys name it by.
    pub(crate) fn string_form(&self) -> Cow<'_, str> {
        string_form(&self.json)
    }
}

/// The integer an id's JSON text holds, if it is a plainly written integer
/// (`12`, `-3`; not `1.0`, `1e3`, `-0` or one past 64 bits).
pub(crate) fn integer_id(raw: &str) -> Option<i64> {
    let n: i64 = raw.parse().ok()?;
    (n.to_string() == raw).then_some(n)
}

/// The string form of an id's JSON text: a string's text, an integer's digits.
pub(crate) fn string_form(raw: &str) -> Cow<'_, str> {
    if raw.starts_with('"') {
        crate::json::text::decode_string(raw)
    } else {
        Cow::Borrowed(raw)
    }
}

/// Whether `key` may name the id field: 1 to 64 bytes of letters, digits,
/// `_`, `-` and `$`, so that it is its own JSON text and a plain query key.
pub(crate) fn plain_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-$".contains(&b))
}

/// Where new `_id`s come from: 16 random bytes a call, which the engine turns
/// into a UUID v4. Hosts pass a real random source; tests pass [`SeededIds`].
pub trait IdSource: Send {
    /// Sixteen fresh random bytes.
    fn random_bytes(&mut self) -> [u8; 16];

    /// A source for another namespace, drawing bytes that this one will
    /// never give (a seeded source seeds the new one from its next bytes).
    fn fork(&mut self) -> Box<dyn IdSource>;
}

/// A deterministic [`IdSource`] (SplitMix64 from a seed), for tests and replays.
#[derive(Debug, Clone)]
pub struct SeededIds {
    state: u64,
}

impl SeededIds {
    /// A source that gives the same ids for the same seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl IdSource for SeededIds {
    fn random_bytes(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes
    }

    fn fork(&mut self) -> Box<dyn IdSource> {
        Box::new(Self::new(self.next_u64()))
    }
}

/// A fresh lowercase hyphenated UUID v4.
pub(crate) fn new_id(ids: &mut dyn IdSource) -> String {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Builder::from_random_bytes(ids.random_bytes())
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut text)
        .to_owned()
}

/// A seed that depends only on `bytes`, for ids that must be the same every
/// time the same content is loaded. `DefaultHasher::new()` is SipHash with
/// fixed keys: the same in every process built by the same compiler.
pub(crate) fn content_seed(bytes: &[u8]) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}
