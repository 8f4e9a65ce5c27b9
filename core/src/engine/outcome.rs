//! What the engine says of one request: the answer and everything around it
//! (the changes, events, delay, fault, subscription, forward), which the
//! endpoint turns into a host's effects.

use crate::http::response::{Change, Response};
use crate::mock::feed::{Event, Subscription};
use crate::mock::proxy::Forward;
use crate::mock::rules::Fault;
use std::time::Duration;

/// The result of handling one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// What to send back.
    pub(crate) response: Response,
    /// What changed in the store, in order. The engine has already applied them;
    /// a host that persists state records them before it sends the response.
    pub(crate) changes: Vec<Change>,
    /// How long the host waits before it sends the response (the mock's
    /// latency controls). The engine never waits itself.
    pub(crate) delay: Duration,
    /// What a rule asks the host to do instead of sending `response` (after
    /// the delay): drop the connection. `None` for every other answer.
    pub(crate) fault: Option<Fault>,
    /// The change feed's events for `changes`, in order, for the host to
    /// push to every open `/__admin/events` stream whose subscription
    /// [wants](Subscription::wants) them. Empty when nothing changed.
    pub(crate) events: Vec<Event>,
    /// For an accepted `GET /__admin/events`: the stream to keep open. The
    /// response's head and body (the replay) go out first, then the host
    /// pushes later events that the subscription wants, and
    /// [`KEEP_ALIVE`](crate::KEEP_ALIVE) every
    /// [`KEEP_ALIVE_SECS`](crate::KEEP_ALIVE_SECS). A host over its
    /// `MAX_SUBSCRIBERS` answers [`ApiError::TooManySubscribers`](crate::ApiError::TooManySubscribers) instead.
    pub(crate) subscribe: Option<Subscription>,
    /// A request for the host to send to `PROXY_TARGET` instead of sending
    /// `response`: the host sends it, then hands what came back to
    /// [`Engine::proxied`](crate::Engine::proxied), whose outcome it answers
    /// with. `response` is what a host that cannot proxy sends (`502`).
    /// `changes` are still to be persisted (a rule's `times` counted).
    pub(crate) forward: Option<Forward>,
    /// A namespace the request asked to drop (`DELETE
    /// /__admin/namespaces/{name}`), which the endpoint drops after it.
    pub(crate) drop_namespace: Option<String>,
}

impl Outcome {
    /// The outcome of a request a host refuses before the engine runs it (a
    /// body that did not arrive whole, a bad namespace): this response, and
    /// nothing else to do.
    pub(crate) fn refused(response: Response) -> Self {
        Self {
            response,
            changes: Vec::new(),
            delay: Duration::ZERO,
            fault: None,
            events: Vec::new(),
            subscribe: None,
            forward: None,
            drop_namespace: None,
        }
    }
}

impl Outcome {
    /// An outcome that asks the host to proxy.
    pub(crate) fn forwarding(forward: Forward, changes: Vec<Change>) -> Self {
        let response = forward.unsupported();
        Self {
            changes,
            forward: Some(forward),
            ..Self::refused(response)
        }
    }
}
