//! What the engine answers: a response and the store changes behind it.

use std::time::Duration;

/// An HTTP response, ready for a host to write out as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower-case) and values, in the order to send them.
    pub headers: Vec<(&'static str, String)>,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The item now has exactly this JSON text (created or replaced).
    Put {
        /// The resource type, such as `persons`.
        resource: String,
        /// The item's `_id`.
        id: String,
        /// The item as compact JSON, `_id` included.
        item: String,
    },
    /// The item is gone.
    Delete {
        /// The resource type.
        resource: String,
        /// The item's `_id`.
        id: String,
    },
    /// Every item of the type is gone.
    Clear {
        /// The resource type.
        resource: String,
    },
    /// Every item of every type is gone (a snapshot or reset follows as `Put`s).
    ClearAll,
}

/// The result of handling one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What to send back.
    pub response: Response,
    /// What changed in the store, in order. The engine has already applied them;
    /// a host that persists state records them before it sends the response.
    pub changes: Vec<Change>,
    /// How long the host waits before it sends the response (the mock's
    /// latency controls). The engine never waits itself.
    pub delay: Duration,
}
