//! The change feed (`GET /__admin/events`): which event each store change
//! becomes, the ring of recent events a reconnecting client replays from, and
//! the bytes of every event as Server-Sent Events.
//!
//! The engine decides everything here; a host only keeps the stream open,
//! pushes the bytes of [`Outcome::events`](crate::Outcome::events) to each
//! subscriber whose [`Subscription`] wants them, sends [`KEEP_ALIVE`] every
//! [`KEEP_ALIVE_SECS`], and closes a subscriber that falls behind after
//! [`OVERFLOW`].

use crate::config::{FEED_RING_BYTES, FEED_RING_SIZE};
use crate::error::ApiError;
use crate::http::incoming::Incoming;
use crate::http::request::Method;
use crate::http::response::Change;
use crate::http::route::{check_name, Route};
use crate::json::number::whole_number;
use crate::json::text;
use std::collections::VecDeque;

/// What a host sends to every open stream this often, in seconds: a comment
/// line, so that proxies and clients see the connection is alive.
pub const KEEP_ALIVE_SECS: u64 = 15;

/// The comment line a host sends every [`KEEP_ALIVE_SECS`].
pub const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// The last thing a subscriber that fell behind gets before the host closes
/// its stream: it should reconnect (with `Last-Event-ID`) or reload.
pub(crate) const OVERFLOW: &[u8] = b"event: overflow\ndata: {}\n\n";

/// What happened to the store, as the feed names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// An item was created (`POST`).
    Created,
    /// An item was replaced whole (`PUT`).
    Replaced,
    /// An item was changed by a merge patch (`PATCH`).
    Patched,
    /// An item was deleted.
    Deleted,
    /// Every item of a type was deleted (`DELETE /api/{type}`).
    Cleared,
    /// The store went back to the one the server started with.
    Reset,
    /// The store was replaced by `PUT /__admin/snapshot`.
    Snapshot,
}

impl EventKind {
    /// The name on the `event:` line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Replaced => "replaced",
            Self::Patched => "patched",
            Self::Deleted => "deleted",
            Self::Cleared => "cleared",
            Self::Reset => "reset",
            Self::Snapshot => "snapshot",
        }
    }
}

/// One event of the feed, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its sequence number: 1 for the first change of the engine, one more
    /// for each after it.
    pub seq: u64,
    /// What happened.
    pub kind: EventKind,
    /// The resource type it concerns; `None` for `reset` and `snapshot`,
    /// which concern every type (and reach every subscriber).
    pub resource: Option<String>,
    /// The item's id; `None` for `cleared`, `reset` and `snapshot`.
    pub id: Option<String>,
    /// The event as Server-Sent Events text: `id:`, `event:`, `data:` and
    /// the blank line that ends it.
    pub bytes: Vec<u8>,
}

/// What a subscriber asked for: the types it keeps (`?type=`, empty: all).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Subscription {
    /// The types named by `?type=`; empty keeps every type.
    pub types: Vec<String>,
}

impl Subscription {
    /// Whether this subscriber gets `event`: every event when no type was
    /// named, else the events of the named types and those of no type
    /// (`reset`, `snapshot`), which change every type.
    pub(crate) fn wants(&self, event: &Event) -> bool {
        self.wants_type(event.resource.as_deref())
    }

    /// As [`Subscription::wants`], for an event's type alone (`None`: no
    /// type), for hosts that keep the event's bytes and type apart.
    pub(crate) fn wants_type(&self, resource: Option<&str>) -> bool {
        match resource {
            None => true,
            Some(resource) => self.types.is_empty() || self.types.iter().any(|t| t == resource),
        }
    }
}

/// An engine's feed: the sequence so far, and the recent events a client
/// that reconnects replays.
#[derive(Debug, Clone)]
pub(crate) struct ChangeFeed {
    last: u64,
    ring: VecDeque<Event>,
    ring_bytes: usize,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl ChangeFeed {
    /// An empty feed, at sequence 0.
    pub(crate) fn new() -> Self {
        Self {
            last: 0,
            ring: VecDeque::new(),
            ring_bytes: 0,
        }
    }

    /// The events of one answered request's changes, numbered and kept in
    /// the ring. Which event a change becomes depends on the route and
    /// method: a `Replace` is `replaced` for `PUT` and `patched` for `PATCH`;
    /// the changes of a reset or a snapshot are one event; a type dropped
    /// after its last item is part of that `deleted`.
    pub(crate) fn record(
        &mut self,
        route: &Route,
        method: &Method,
        changes: &[Change],
    ) -> Vec<Event> {
        let mut events = Vec::new();
        match route {
            Route::Reset | Route::Snapshot => {
                if changes.iter().any(is_store_change) {
                    let kind = match route {
                        Route::Reset => EventKind::Reset,
                        _ => EventKind::Snapshot,
                    };
                    events.push(self.next(kind, None, None, None));
                }
            }
            _ => {
                for change in changes {
                    let event = match change {
                        Change::Create { resource, id, item } => {
                            self.next(EventKind::Created, Some(resource), Some(id), Some(item))
                        }
                        Change::Replace { resource, id, item } => {
                            let kind = match method {
                                Method::Patch => EventKind::Patched,
                                _ => EventKind::Replaced,
                            };
                            self.next(kind, Some(resource), Some(id), Some(item))
                        }
                        Change::Delete { resource, id } => {
                            self.next(EventKind::Deleted, Some(resource), Some(id), None)
                        }
                        // A singular resource has no id: `{"type", "item"}`.
                        Change::PutSingle { resource, item } => {
                            let kind = match method {
                                Method::Patch => EventKind::Patched,
                                _ => EventKind::Replaced,
                            };
                            self.next(kind, Some(resource), None, Some(item))
                        }
                        Change::DropType { resource } if is_clear(route, method) => {
                            self.next(EventKind::Cleared, Some(resource), None, None)
                        }
                        _ => continue,
                    };
                    events.push(event);
                }
            }
        }
        events
    }

    /// Numbers an event, renders it and keeps a copy in the ring, dropping
    /// the oldest past [`FEED_RING_SIZE`] events or [`FEED_RING_BYTES`].
    fn next(
        &mut self,
        kind: EventKind,
        resource: Option<&str>,
        id: Option<&str>,
        item: Option<&str>,
    ) -> Event {
        self.last += 1;
        // A full ring drops its oldest event for this one: the new event is
        // written in the old one's buffers.
        let spare = if self.ring.len() >= FEED_RING_SIZE {
            self.ring.pop_front()
        } else {
            None
        };
        let (bytes, old_resource, old_id) = match spare {
            Some(old) => {
                self.ring_bytes -= old.bytes.len();
                (old.bytes, old.resource, old.id)
            }
            None => (Vec::new(), None, None),
        };
        let event = Event {
            seq: self.last,
            kind,
            resource: refill(old_resource, resource),
            id: refill(old_id, id),
            bytes: render(bytes, self.last, kind, resource, id, item),
        };
        self.ring_bytes += event.bytes.len();
        // The ring keeps the rendered buffers (with their room to spare for
        // the event that replaces this one); the caller gets a copy.
        let copy = event.clone();
        self.ring.push_back(event);
        while self.ring.len() > FEED_RING_SIZE || self.ring_bytes > FEED_RING_BYTES {
            match self.ring.pop_front() {
                Some(old) => self.ring_bytes -= old.bytes.len(),
                None => break,
            }
        }
        copy
    }

    /// The newest `count` kept events, oldest first.
    pub(crate) fn latest(&self, count: usize) -> Vec<&Event> {
        self.ring
            .iter()
            .skip(self.ring.len().saturating_sub(count))
            .collect()
    }

    /// The sequence number of the last event (0 before any).
    pub(crate) fn last(&self) -> u64 {
        self.last
    }

    /// The bytes of the events kept for replay.
    pub(crate) fn ring_bytes(&self) -> usize {
        self.ring_bytes
    }

    /// Forgets the events kept for replay; the sequence goes on.
    pub(crate) fn forget(&mut self) {
        self.ring.clear();
        self.ring_bytes = 0;
    }

    /// What a new subscriber gets first: with `since`, the kept events after
    /// it that `subscription` wants, or `event: gap` when the ring no longer
    /// reaches back to it or `since` lies ahead of the feed (the server
    /// restarted, or the client talked to another one).
    pub(crate) fn replay(&self, since: Option<u64>, subscription: &Subscription) -> Vec<u8> {
        let mut out = Vec::new();
        let Some(since) = since else {
            return out;
        };
        let oldest = self.ring.front().map_or(self.last + 1, |event| event.seq);
        if since > self.last || since.saturating_add(1) < oldest {
            let _ = std::io::Write::write_fmt(
                &mut out,
                format_args!(
                    "id: {0}\nevent: gap\ndata: {{\"since\":{since},\"last\":{0}}}\n\n",
                    self.last
                ),
            );
            return out;
        }
        for event in self.ring.iter().filter(|event| event.seq > since) {
            if subscription.wants(event) {
                out.extend_from_slice(&event.bytes);
            }
        }
        out
    }
}

/// `text` as an owned string, in `spare`'s space unless that is far larger.
fn refill(spare: Option<String>, text: Option<&str>) -> Option<String> {
    let text = text?;
    match spare {
        Some(mut buffer) if buffer.capacity() <= text.len().max(64) * 4 => {
            buffer.clear();
            buffer.push_str(text);
            Some(buffer)
        }
        _ => Some(text.to_owned()),
    }
}

/// Whether the request is `DELETE /api/{type}`, whose dropped type is the
/// `cleared` event (elsewhere a dropped type follows a `deleted`).
fn is_clear(route: &Route, method: &Method) -> bool {
    matches!(route, Route::Collection { .. }) && *method == Method::Delete
}

/// Whether a change touches the store (rather than the rules).
fn is_store_change(change: &Change) -> bool {
    !matches!(
        change,
        Change::PutRule { .. } | Change::DeleteRule { .. } | Change::ClearRules
    )
}

/// One event as Server-Sent Events text. The item is compact JSON (one
/// line); `data:` is split at line breaks all the same, as the format needs.
/// `buffer` is reused when it is not far larger than the event needs.
fn render(
    buffer: Vec<u8>,
    seq: u64,
    kind: EventKind,
    resource: Option<&str>,
    id: Option<&str>,
    item: Option<&str>,
) -> Vec<u8> {
    use std::fmt::Write;
    // Sized for the usual event in one allocation: escapes are rare in names and ids.
    let size = |text: Option<&str>| text.map_or(0, |text| text.len() + 12);
    let needed = 48 + size(resource) + size(id) + size(item);
    let mut out = if buffer.capacity() > needed.max(256) * 4 {
        String::with_capacity(needed)
    } else {
        let mut buffer = buffer;
        buffer.clear();
        // Empty, so valid UTF-8.
        let mut out = String::from_utf8(buffer).unwrap_or_default();
        out.reserve(needed);
        out
    };
    let _ = write!(out, "id: {seq}\nevent: {}\ndata: ", kind.as_str());
    let data_at = out.len();
    out.push('{');
    let mut first = true;
    let mut member = |out: &mut String, name: &str| {
        if !first {
            out.push(',');
        }
        first = false;
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
    };
    if let Some(resource) = resource {
        member(&mut out, "type");
        text::push_quoted(&mut out, resource);
    }
    if let Some(id) = id {
        member(&mut out, "id");
        text::push_quoted(&mut out, id);
    }
    if let Some(item) = item {
        member(&mut out, "item");
        out.push_str(item);
    }
    out.push('}');
    if out[data_at..].contains('\n') {
        // Not from the store's compact text, but split all the same.
        let data = out.split_off(data_at);
        out.truncate(data_at - "data: ".len());
        for line in data.split('\n') {
            out.push_str("data: ");
            out.push_str(line.trim_end_matches('\r'));
            out.push('\n');
        }
    } else {
        out.push('\n');
    }
    out.push('\n');
    out.into_bytes()
}

/// Reads a subscribe request: the `?type=` filter and where to replay from
/// (`Last-Event-ID`, else `?_since=`). A type that is not a valid resource
/// name, or a position that is not a whole number, is `400`; a type with no
/// items (yet) is taken.
pub(crate) fn subscription(
    request: &Incoming<'_>,
) -> Result<(Subscription, Option<u64>), ApiError> {
    let mut subscription = Subscription::default();
    let mut since = None;
    let position = |name: &str, value: &str| {
        whole_number(value.trim()).ok_or_else(|| ApiError::BadQuery {
            reason: format!("`{name}` must be a whole number (an event id); got `{value}`."),
        })
    };
    for (key, value) in request.query_pairs() {
        match key.as_str() {
            "type" => {
                check_name(value, "resource name", "in `type`")?;
                if !subscription.types.iter().any(|t| t == value) {
                    subscription.types.push(value.clone());
                }
            }
            "_since" => since = Some(position("_since", value)?),
            _ => {}
        }
    }
    // The header wins: a browser's EventSource sends it when it reconnects,
    // to the URL (and its `_since`) it first opened.
    if let Some(header) = request.header("last-event-id") {
        since = Some(position("Last-Event-ID", header)?);
    }
    Ok((subscription, since))
}

/// The `data:` of an event as JSON, for tests.
#[cfg(test)]
fn data_of(event: &Event) -> serde_json::Value {
    let text = String::from_utf8_lossy(&event.bytes);
    let data: String = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .collect();
    serde_json::from_str(&data).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::Request;

    #[test]
    fn render_writes_one_data_line_and_splits_any_line_break() {
        let event = render(
            Vec::new(),
            3,
            EventKind::Created,
            Some("a\"b"),
            Some("1"),
            Some(r#"{"n":1}"#),
        );
        assert_eq!(
            String::from_utf8(event).unwrap(),
            "id: 3\nevent: created\ndata: {\"type\":\"a\\\"b\",\"id\":\"1\",\"item\":{\"n\":1}}\n\n"
        );
        let split = render(
            vec![b'x'; 300],
            4,
            EventKind::Replaced,
            None,
            None,
            Some("{\"a\":\r\n1}"),
        );
        assert_eq!(
            String::from_utf8(split).unwrap(),
            "id: 4\nevent: replaced\ndata: {\"item\":{\"a\":\ndata: 1}}\n\n"
        );
    }

    fn create(resource: &str, id: &str) -> Change {
        Change::Create {
            resource: resource.to_owned(),
            id: id.to_owned(),
            item: format!(r#"{{"_id":"{id}"}}"#),
        }
    }

    fn collection(resource: &str) -> Route {
        Route::Collection {
            resource: resource.to_owned(),
        }
    }

    #[test]
    fn events_are_numbered_and_rendered() {
        let mut feed = ChangeFeed::new();
        let events = feed.record(
            &collection("p"),
            &Method::Post,
            &[
                Change::CreateType {
                    resource: "p".to_owned(),
                },
                create("p", "a"),
                create("p", "b"),
            ],
        );
        assert_eq!(events.len(), 2);
        assert_eq!(
            String::from_utf8_lossy(&events[0].bytes),
            "id: 1\nevent: created\ndata: {\"type\":\"p\",\"id\":\"a\",\"item\":{\"_id\":\"a\"}}\n\n"
        );
        assert_eq!(events[1].seq, 2);
        assert_eq!(feed.last(), 2);
    }

    #[test]
    fn the_method_names_a_replace_and_a_clear_is_one_event() {
        let mut feed = ChangeFeed::new();
        let item = Route::Item {
            resource: "p".to_owned(),
            id: "a".to_owned(),
        };
        let replace = Change::Replace {
            resource: "p".to_owned(),
            id: "a".to_owned(),
            item: "{}".to_owned(),
        };
        let put = feed.record(&item, &Method::Put, std::slice::from_ref(&replace));
        let patch = feed.record(&item, &Method::Patch, &[replace]);
        assert_eq!(put[0].kind, EventKind::Replaced);
        assert_eq!(patch[0].kind, EventKind::Patched);
        let drop = Change::DropType {
            resource: "p".to_owned(),
        };
        let delete = Change::Delete {
            resource: "p".to_owned(),
            id: "a".to_owned(),
        };
        let deleted = feed.record(&item, &Method::Delete, &[delete, drop.clone()]);
        assert_eq!(deleted.len(), 1, "the dropped type is part of the delete");
        assert_eq!(
            data_of(&deleted[0]),
            serde_json::json!({"type":"p","id":"a"})
        );
        let cleared = feed.record(&collection("p"), &Method::Delete, &[drop]);
        assert_eq!(cleared[0].kind, EventKind::Cleared);
        assert_eq!(data_of(&cleared[0]), serde_json::json!({"type":"p"}));
        let reset = feed.record(
            &Route::Reset,
            &Method::Post,
            &[Change::ClearAll, create("p", "z")],
        );
        assert_eq!(reset.len(), 1);
        assert_eq!(
            (reset[0].kind, reset[0].resource.as_deref()),
            (EventKind::Reset, None)
        );
        assert_eq!(data_of(&reset[0]), serde_json::json!({}));
        let rules_only = feed.record(&Route::Rules, &Method::Delete, &[Change::ClearRules]);
        assert!(rules_only.is_empty(), "rules are not the store");
    }

    #[test]
    fn events_written_over_dropped_ones_carry_nothing_of_them() {
        let mut feed = ChangeFeed::new();
        // Long names and items first, then short ones that take their buffers.
        for n in 0..FEED_RING_SIZE {
            let long = format!("{n}-{}", "x".repeat(200));
            feed.record(&collection("long"), &Method::Post, &[create("long", &long)]);
        }
        let mut returned = Vec::new();
        for n in 0..3 {
            let events = feed.record(
                &collection("p"),
                &Method::Post,
                &[create("p", &n.to_string())],
            );
            returned.extend(events);
        }
        let wanted = Subscription {
            types: vec!["p".to_owned()],
        };
        let replayed = feed.replay(Some(feed.last() - 3), &wanted);
        let expected: Vec<u8> = (0..3u64)
            .flat_map(|n| {
                let item = format!(r#"{{"_id":"{n}"}}"#);
                let seq = FEED_RING_SIZE as u64 + 1 + n;
                render(
                    Vec::new(),
                    seq,
                    EventKind::Created,
                    Some("p"),
                    Some(&n.to_string()),
                    Some(&item),
                )
            })
            .collect();
        assert_eq!(
            String::from_utf8(replayed).unwrap(),
            String::from_utf8(expected).unwrap()
        );
        assert_eq!(returned[2].resource.as_deref(), Some("p"));
        assert_eq!(returned[2].id.as_deref(), Some("2"));
        assert_eq!(
            data_of(&returned[2])["item"],
            serde_json::json!({"_id": "2"})
        );
    }

    #[test]
    fn replay_sends_what_is_kept_or_a_gap() {
        let mut feed = ChangeFeed::new();
        for n in 0..FEED_RING_SIZE + 5 {
            feed.record(
                &collection("p"),
                &Method::Post,
                &[create("p", &n.to_string())],
            );
        }
        let all = Subscription::default();
        let last = feed.last();
        assert!(feed.replay(None, &all).is_empty());
        assert!(feed.replay(Some(last), &all).is_empty());
        let one = String::from_utf8(feed.replay(Some(last - 1), &all)).unwrap();
        assert!(one.starts_with(&format!("id: {last}\nevent: created\n")));
        assert_eq!(one.matches("event:").count(), 1);
        // The ring keeps the newest FEED_RING_SIZE: 5 .. last are there.
        assert!(!String::from_utf8(feed.replay(Some(5), &all))
            .unwrap()
            .contains("gap"));
        for too_old_or_ahead in [0, 4, last + 1] {
            let gap = String::from_utf8(feed.replay(Some(too_old_or_ahead), &all)).unwrap();
            assert_eq!(
                gap,
                format!("id: {last}\nevent: gap\ndata: {{\"since\":{too_old_or_ahead},\"last\":{last}}}\n\n")
            );
        }
        let other = Subscription {
            types: vec!["q".to_owned()],
        };
        assert!(feed.replay(Some(last - 3), &other).is_empty());
    }

    #[test]
    fn the_ring_is_bounded_in_bytes() {
        let mut feed = ChangeFeed::new();
        let big = format!(r#"{{"s":"{}"}}"#, "x".repeat(64 * 1024));
        for n in 0..200 {
            feed.record(
                &collection("p"),
                &Method::Post,
                &[Change::Create {
                    resource: "p".to_owned(),
                    id: n.to_string(),
                    item: big.clone(),
                }],
            );
        }
        assert!(feed.ring_bytes <= FEED_RING_BYTES);
        assert!(feed.ring.len() < 200);
        assert_eq!(
            feed.ring_bytes,
            feed.ring.iter().map(|e| e.bytes.len()).sum::<usize>()
        );
    }

    #[test]
    fn subscribe_requests_are_read_or_refused() {
        let read = |target: &str, last: Option<&str>| {
            let mut request = Request::new(Method::Get, target);
            if let Some(last) = last {
                request = request.with_header("Last-Event-ID", last);
            }
            subscription(&Incoming::new(&request)).map_err(|e| e.status())
        };
        assert_eq!(
            read("/__admin/events?type=a&type=b&type=a&_since=3", None),
            Ok((
                Subscription {
                    types: vec!["a".to_owned(), "b".to_owned()]
                },
                Some(3)
            ))
        );
        assert_eq!(
            read("/__admin/events?_since=3", Some("7")).map(|s| s.1),
            Ok(Some(7))
        );
        for (target, last) in [
            ("/__admin/events?_since=x", None),
            ("/__admin/events?_since=-1", None),
            ("/__admin/events", Some("abc")),
            ("/__admin/events?type=", None),
            ("/__admin/events?type=%00", None),
        ] {
            assert_eq!(read(target, last), Err(400), "{target} {last:?}");
        }
    }
}
