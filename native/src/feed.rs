//! Delivers the engine's change feed: one tokio broadcast per engine carries
//! each event to every open `/__admin/events` stream, and each stream is a
//! streaming response body that sends the subscriber's replay, then the
//! events its subscription wants, and a keep-alive comment every
//! `KEEP_ALIVE_SECS`.
//!
//! Memory stays bounded whatever the subscribers do: the broadcast keeps the
//! last [`FEED_BUFFER_EVENTS`] events once, shared by every stream; a stream
//! that falls further behind gets `event: overflow` and ends. A client that
//! reads nothing holds no more than its connection's buffers, and
//! `WRITE_TIMEOUT_SECS` closes it. Writers never wait for subscribers: a send
//! on the broadcast does not block.

use mock_rest_core::{
    Event, Subscription, FEED_BUFFER_EVENTS, KEEP_ALIVE, KEEP_ALIVE_SECS, OVERFLOW,
};
use salvo::hyper::body::Bytes;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

/// One event as the broadcast carries it: its type for the filter, and its
/// bytes, shared by every stream that sends them.
#[derive(Debug)]
pub struct Shared {
    resource: Option<String>,
    bytes: Bytes,
}

/// The feed of one engine (one namespace): the broadcast its events go out
/// on, and the count of open streams, shared by every namespace's feed.
#[derive(Debug, Clone)]
pub struct FeedHub {
    sender: broadcast::Sender<Arc<Shared>>,
    open: Arc<AtomicUsize>,
}

impl Default for FeedHub {
    fn default() -> Self {
        Self::new()
    }
}

impl FeedHub {
    /// A feed with no subscribers.
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(FEED_BUFFER_EVENTS).0,
            open: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A feed with a broadcast of its own that counts its streams with this
    /// one's, so that `MAX_SUBSCRIBERS` bounds them together (one feed per
    /// namespace, one bound per process).
    pub fn sharing_count(&self) -> Self {
        Self {
            sender: broadcast::channel(FEED_BUFFER_EVENTS).0,
            open: Arc::clone(&self.open),
        }
    }

    /// How many streams are open (on every feed sharing this one's count).
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Sends an engine's events to every open stream. Call it under the
    /// engine's lock, so the streams get them in the engine's order.
    pub fn publish(&self, events: Vec<Event>) {
        // Nobody listens (a stream subscribes under the same lock, so none
        // can be on its way): a send would fail after building its message.
        if self.sender.receiver_count() == 0 {
            return;
        }
        for event in events {
            // No receiver is not an error: nobody listens.
            let _ = self.sender.send(Arc::new(Shared {
                resource: event.resource,
                bytes: Bytes::from(event.bytes),
            }));
        }
    }

    /// A new stream, or `None` past `limit` open streams. Call it under the
    /// engine's lock, with the outcome that answered the subscribe, so that
    /// no event falls between the replay and the first live one.
    pub fn subscribe(&self, subscription: Subscription, limit: usize) -> Option<FeedStream> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < limit).then_some(open + 1)
            });
        taken.ok()?;
        Some(FeedStream {
            receiver: self.sender.subscribe(),
            subscription,
            open: Arc::clone(&self.open),
            keep_alive: Duration::from_secs(KEEP_ALIVE_SECS),
        })
    }
}

/// One open stream: its receiver and filter. Dropping it (the client went
/// away, the body ended) frees its place under `MAX_SUBSCRIBERS`.
pub struct FeedStream {
    receiver: broadcast::Receiver<Arc<Shared>>,
    subscription: Subscription,
    open: Arc<AtomicUsize>,
    /// `KEEP_ALIVE_SECS`; shorter in tests.
    keep_alive: Duration,
}

impl Drop for FeedStream {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a stream does next.
enum Next {
    /// Sends these bytes and goes on.
    Send(Bytes),
    /// Sends these bytes and ends.
    Last(Bytes),
    /// Ends.
    End,
}

impl FeedStream {
    /// The next bytes to send: an event the subscription wants, a
    /// keep-alive after `KEEP_ALIVE_SECS` of silence, or `event: overflow`
    /// (then `None`) when the stream fell behind.
    async fn next(&mut self) -> Next {
        let keep_alive = self.keep_alive;
        loop {
            match tokio::time::timeout(keep_alive, self.receiver.recv()).await {
                Err(_) => return Next::Send(Bytes::from_static(KEEP_ALIVE)),
                Ok(Ok(event)) => {
                    if self.subscription.wants_type(event.resource.as_deref()) {
                        return Next::Send(event.bytes.clone());
                    }
                }
                Ok(Err(RecvError::Lagged(_))) => return Next::Last(Bytes::from_static(OVERFLOW)),
                // The engine is gone: the server is stopping.
                Ok(Err(RecvError::Closed)) => return Next::End,
            }
        }
    }

    /// The response body: `replay`, then the live events, until the client
    /// goes away or the stream overflows.
    pub fn body(
        self,
        replay: Vec<u8>,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> + Send + 'static
    {
        let first = (!replay.is_empty()).then(|| Bytes::from(replay));
        futures_util::stream::unfold(
            (self, first, false),
            |(mut stream, first, done)| async move {
                if done {
                    return None;
                }
                if let Some(first) = first {
                    return Some((Ok(first), (stream, None, false)));
                }
                match stream.next().await {
                    Next::Send(bytes) => Some((Ok(bytes), (stream, None, false))),
                    Next::Last(bytes) => Some((Ok(bytes), (stream, None, true))),
                    Next::End => None,
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use mock_rest_core::EventKind;

    fn event(seq: u64, resource: &str) -> Event {
        Event {
            seq,
            kind: EventKind::Created,
            resource: Some(resource.to_owned()),
            id: Some("x".to_owned()),
            bytes: format!("id: {seq}\n\n").into_bytes(),
        }
    }

    #[tokio::test]
    async fn streams_get_what_they_want_and_free_their_place() {
        let hub = FeedHub::new();
        let wanted = Subscription {
            types: vec!["a".to_owned()],
        };
        let stream = hub.subscribe(wanted, 1).unwrap();
        assert!(hub.subscribe(Subscription::default(), 1).is_none());
        let mut body = Box::pin(stream.body(b"replay".to_vec()));
        hub.publish(vec![event(1, "b"), event(2, "a")]);
        assert_eq!(body.next().await.unwrap().unwrap(), "replay");
        assert_eq!(body.next().await.unwrap().unwrap(), "id: 2\n\n");
        drop(body);
        assert_eq!(hub.open(), 0);
        assert!(hub.subscribe(Subscription::default(), 1).is_some());
    }

    #[tokio::test]
    async fn a_silent_stream_sends_the_keep_alive_comment() {
        let hub = FeedHub::new();
        let mut stream = hub.subscribe(Subscription::default(), 1).unwrap();
        stream.keep_alive = Duration::from_millis(20);
        let mut body = Box::pin(stream.body(Vec::new()));
        assert_eq!(body.next().await.unwrap().unwrap(), KEEP_ALIVE);
        hub.publish(vec![event(1, "a")]);
        assert_eq!(body.next().await.unwrap().unwrap(), "id: 1\n\n");
    }

    #[tokio::test]
    async fn a_stream_that_falls_behind_gets_overflow_and_ends() {
        let hub = FeedHub::new();
        let stream = hub.subscribe(Subscription::default(), 10).unwrap();
        let mut body = Box::pin(stream.body(Vec::new()));
        let events: Vec<Event> = (1..=FEED_BUFFER_EVENTS as u64 + 1)
            .map(|n| event(n, "a"))
            .collect();
        hub.publish(events);
        assert_eq!(body.next().await.unwrap().unwrap(), OVERFLOW);
        assert!(body.next().await.is_none());
    }
}
