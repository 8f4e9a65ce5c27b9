//! The change feed's delivery: the open `/__admin/events` streams of every
//! namespace, which of them want an event, what waits unsent for each, and
//! the overflow of one that falls behind.
//!
//! A host holds the connections and writes bytes; everything else is here.
//! Each event's bytes are rendered once and shared by every stream that gets
//! them. A write costs nothing for a stream that does not want its type: the
//! streams are indexed by the types they asked for. A stream that has bytes
//! waiting is woken once (the host is told its [`StreamId`]) until it
//! [reads](Streams::read) them, however many events come in between.

use crate::config::FEED_BUFFER_BYTES;
use crate::mock::feed::{Event, Subscription, OVERFLOW};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// One open event stream, as the host and the [`Endpoint`](crate::Endpoint)
/// name it. Ids are never reused within an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u64);

/// What a stream has to send, from [`Endpoint::read_stream`](crate::Endpoint::read_stream).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamRead {
    /// The bytes to write, in order (each an event, shared with the other
    /// streams that got it, or `event: overflow`).
    pub chunks: Vec<Arc<[u8]>>,
    /// The stream is over: after writing `chunks` the host ends it. The
    /// endpoint has already forgotten it.
    pub end: bool,
}

#[derive(Debug)]
struct Stream {
    namespace: String,
    subscription: Subscription,
    queue: VecDeque<Arc<[u8]>>,
    queued: usize,
    /// Ended (overflow, or its namespace was dropped): it gets no more events.
    ended: bool,
}

/// Which streams of one namespace want which events.
#[derive(Debug, Default)]
struct Index {
    /// Streams that asked for every type.
    every: Vec<StreamId>,
    /// Streams that named types, by type.
    by_type: HashMap<String, Vec<StreamId>>,
}

impl Index {
    fn add(&mut self, id: StreamId, subscription: &Subscription) {
        if subscription.types.is_empty() {
            self.every.push(id);
        }
        for wanted in &subscription.types {
            let list = self.by_type.entry(wanted.clone()).or_default();
            if !list.contains(&id) {
                list.push(id);
            }
        }
    }

    fn remove(&mut self, id: StreamId, subscription: &Subscription) {
        self.every.retain(|other| *other != id);
        for wanted in &subscription.types {
            if let Some(list) = self.by_type.get_mut(wanted) {
                list.retain(|other| *other != id);
                if list.is_empty() {
                    self.by_type.remove(wanted);
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.every.is_empty() && self.by_type.is_empty()
    }
}

/// Every open stream of an endpoint, bounded by `MAX_SUBSCRIBERS` together.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    next: u64,
    /// By id, in order (ids only grow): a vector is smaller in the wasm than a map.
    open: Vec<(StreamId, Stream)>,
    indexes: HashMap<String, Index>,
}

impl Streams {
    /// How many streams are open.
    pub(crate) fn len(&self) -> usize {
        self.open.len()
    }

    /// Opens a stream of `namespace` for `subscription`.
    pub(crate) fn open(&mut self, namespace: &str, subscription: Subscription) -> StreamId {
        self.next += 1;
        let id = StreamId(self.next);
        self.indexes
            .entry(namespace.to_owned())
            .or_default()
            .add(id, &subscription);
        self.open.push((
            id,
            Stream {
                namespace: namespace.to_owned(),
                subscription,
                queue: VecDeque::new(),
                queued: 0,
                ended: false,
            },
        ));
        id
    }

    fn get_mut(&mut self, id: StreamId) -> Option<&mut Stream> {
        find(&mut self.open, id)
    }

    /// Queues a namespace's events for every stream that wants them, and
    /// returns the streams to wake: those that had nothing waiting before.
    /// A stream past [`FEED_BUFFER_BYTES`] unsent gets `event: overflow` in
    /// place of what waited, and nothing more.
    pub(crate) fn publish(&mut self, namespace: &str, events: &[Event]) -> Vec<StreamId> {
        let mut woken = Vec::new();
        let Some(index) = self.indexes.get(namespace) else {
            return woken;
        };
        for event in events {
            let shared: Arc<[u8]> = Arc::from(event.bytes.as_slice());
            let wanting: Vec<StreamId> = match event.resource.as_deref() {
                // `reset` and `snapshot` change every type: every stream gets them, once.
                None => {
                    let mut all: Vec<StreamId> = index
                        .every
                        .iter()
                        .chain(index.by_type.values().flatten())
                        .copied()
                        .collect();
                    all.sort_unstable();
                    all.dedup();
                    all
                }
                Some(resource) => index
                    .every
                    .iter()
                    .chain(index.by_type.get(resource).into_iter().flatten())
                    .copied()
                    .collect(),
            };
            for id in wanting {
                let Some(stream) = find(&mut self.open, id) else {
                    continue;
                };
                if stream.ended {
                    continue;
                }
                if stream.queue.is_empty() {
                    woken.push(id);
                }
                stream.queued += shared.len();
                stream.queue.push_back(Arc::clone(&shared));
                if stream.queued > FEED_BUFFER_BYTES {
                    stream.queue.clear();
                    stream.queue.push_back(Arc::from(OVERFLOW));
                    stream.queued = OVERFLOW.len();
                    stream.ended = true;
                }
            }
        }
        woken
    }

    /// What a stream has to send now. An ended stream is forgotten once
    /// read; an unknown one reads as ended.
    pub(crate) fn read(&mut self, id: StreamId) -> StreamRead {
        let Some(stream) = self.get_mut(id) else {
            return StreamRead {
                chunks: Vec::new(),
                end: true,
            };
        };
        let chunks = stream.queue.drain(..).collect();
        stream.queued = 0;
        let end = stream.ended;
        if end {
            self.close(id);
        }
        StreamRead { chunks, end }
    }

    /// Forgets a stream (its client went away, or the host ended it).
    pub(crate) fn close(&mut self, id: StreamId) {
        let Ok(at) = self.open.binary_search_by_key(&id, |(id, _)| *id) else {
            return;
        };
        let (_, stream) = self.open.remove(at);
        if let Some(index) = self.indexes.get_mut(&stream.namespace) {
            index.remove(id, &stream.subscription);
            if index.is_empty() {
                self.indexes.remove(&stream.namespace);
            }
        }
    }

    /// Ends every stream of a namespace (it was dropped): each is woken to
    /// read the end.
    pub(crate) fn end_namespace(&mut self, namespace: &str) -> Vec<StreamId> {
        self.indexes.remove(namespace);
        let mut woken = Vec::new();
        for (id, stream) in &mut self.open {
            if stream.namespace == namespace && !stream.ended {
                stream.ended = true;
                woken.push(*id);
            }
        }
        woken
    }

    /// How many streams of a namespace are open.
    pub(crate) fn count_in(&self, namespace: &str) -> usize {
        self.open
            .iter()
            .filter(|(_, stream)| stream.namespace == namespace)
            .count()
    }
}

/// A stream by its id, in streams kept in order of their ids.
fn find(open: &mut [(StreamId, Stream)], id: StreamId) -> Option<&mut Stream> {
    let at = open.binary_search_by_key(&id, |(id, _)| *id).ok()?;
    Some(&mut open[at].1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::feed::EventKind;

    fn event(seq: u64, resource: Option<&str>, size: usize) -> Event {
        Event {
            seq,
            kind: EventKind::Created,
            resource: resource.map(str::to_owned),
            id: None,
            bytes: vec![b'x'; size],
        }
    }

    fn types(names: &[&str]) -> Subscription {
        Subscription {
            types: names.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    #[test]
    fn streams_get_the_events_they_want_once_and_are_woken_once() {
        let mut streams = Streams::default();
        let every = streams.open("ns", Subscription::default());
        let posts = streams.open("ns", types(&["posts", "tags"]));
        let other = streams.open("elsewhere", Subscription::default());
        let woken = streams.publish("ns", &[event(1, Some("posts"), 3)]);
        assert_eq!(woken, [every, posts]);
        // Already woken, not yet read: not woken again.
        let woken = streams.publish("ns", &[event(2, Some("users"), 4), event(3, None, 5)]);
        assert!(woken.is_empty(), "{woken:?}");
        let read = streams.read(every);
        assert_eq!(
            read.chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            [3, 4, 5]
        );
        assert!(!read.end);
        let read = streams.read(posts);
        // The typeless event once, though the stream names two types.
        assert_eq!(
            read.chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            [3, 5]
        );
        assert!(streams.read(other).chunks.is_empty());
        assert_eq!(
            streams.publish("ns", &[event(4, Some("users"), 1)]),
            [every]
        );
    }

    #[test]
    fn a_stream_that_falls_behind_overflows_and_ends_and_frees_its_place() {
        let mut streams = Streams::default();
        let slow = streams.open("ns", Subscription::default());
        let half = FEED_BUFFER_BYTES / 2 + 1;
        streams.publish("ns", &[event(1, Some("a"), half)]);
        streams.publish("ns", &[event(2, Some("a"), half)]);
        streams.publish("ns", &[event(3, Some("a"), 10)]);
        let read = streams.read(slow);
        assert_eq!(read.chunks.len(), 1);
        assert_eq!(&*read.chunks[0], OVERFLOW);
        assert!(read.end);
        assert_eq!(streams.len(), 0);
        assert!(streams.indexes.is_empty());
    }

    #[test]
    fn a_dropped_namespace_ends_its_streams() {
        let mut streams = Streams::default();
        let a = streams.open("gone", types(&["x"]));
        let b = streams.open("kept", Subscription::default());
        assert_eq!(streams.end_namespace("gone"), [a]);
        assert!(streams.read(a).end);
        assert!(!streams.read(b).end);
        assert_eq!(streams.count_in("kept"), 1);
        assert_eq!(streams.count_in("gone"), 0);
        streams.close(b);
        assert_eq!(streams.len(), 0);
        assert!(streams.read(b).end, "an unknown stream reads as ended");
    }
}
