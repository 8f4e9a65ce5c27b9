//! What the engine answers: a response and the store changes behind it.

use crate::feed::{Event, Subscription};
use crate::proxy::Forward;
use crate::rules::Fault;
use std::borrow::Cow;
use std::time::Duration;

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// What a rule asks the host to do instead of sending `response` (after
    /// the delay): drop the connection. `None` for every other answer.
    pub fault: Option<Fault>,
    /// The change feed's events for `changes`, in order, for the host to
    /// push to every open `/__admin/events` stream whose subscription
    /// [wants](Subscription::wants) them. Empty when nothing changed.
    pub events: Vec<Event>,
    /// For an accepted `GET /__admin/events`: the stream to keep open. The
    /// response's head and body (the replay) go out first, then the host
    /// pushes later events that the subscription wants, and
    /// [`KEEP_ALIVE`](crate::KEEP_ALIVE) every
    /// [`KEEP_ALIVE_SECS`](crate::KEEP_ALIVE_SECS). A host over its
    /// `MAX_SUBSCRIBERS` answers [`ApiError::TooManySubscribers`](crate::ApiError::TooManySubscribers) instead.
    pub subscribe: Option<Subscription>,
    /// A request for the host to send to `PROXY_TARGET` instead of sending
    /// `response`: the host sends it, then hands what came back to
    /// [`Engine::proxied`](crate::Engine::proxied), whose outcome it answers
    /// with. `response` is what a host that cannot proxy sends (`502`).
    /// `changes` are still to be persisted (a rule's `times` counted).
    pub forward: Option<Forward>,
}

impl Outcome {
    /// The outcome of a request a host refuses before the engine runs it (a
    /// body that did not arrive whole, a bad namespace): this response, and
    /// nothing else to do.
    pub fn refused(response: Response) -> Self {
        Self {
            response,
            changes: Vec::new(),
            delay: Duration::ZERO,
            fault: None,
            events: Vec::new(),
            subscribe: None,
            forward: None,
        }
    }
}
