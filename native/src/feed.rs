//! Writes the change feed's streams: each `/__admin/events` stream is a
//! streaming response body that sends the endpoint's replay, then what the
//! endpoint queued for it each time it is woken, and a keep-alive comment
//! after `KEEP_ALIVE_SECS` of silence.
//!
//! Which events a stream gets, how much may wait for it and when it
//! overflows are the core's ([`mock_rest_core::Endpoint::read_stream`]); this
//! module only waits for the wake-up and writes the bytes. A client that
//! reads nothing holds no more than its connection's buffers and what the
//! endpoint bounds, and `WRITE_TIMEOUT_SECS` closes it.

use crate::state::{lock, Shared};
use mock_rest_core::feed::{KEEP_ALIVE, KEEP_ALIVE_SECS};
use mock_rest_core::StreamId;
use salvo::hyper::body::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// One open stream. Dropping it (the client went away, the body ended)
/// tells the endpoint, which frees its place under `MAX_SUBSCRIBERS`.
pub struct FeedStream {
    shared: Shared,
    id: StreamId,
    notify: Arc<Notify>,
    /// Read from the endpoint and not yet sent, each shared with the other
    /// streams that got it.
    read: VecDeque<Bytes>,
    /// The endpoint ended the stream: send what was read, then end.
    ended: bool,
    /// `KEEP_ALIVE_SECS`; shorter in tests.
    keep_alive: Duration,
}

impl Drop for FeedStream {
    fn drop(&mut self) {
        lock(&self.shared).close_stream(self.id);
    }
}

/// What a stream does next.
enum Next {
    /// Sends these bytes and goes on.
    Send(Bytes),
    /// Sends these bytes (if any) and ends.
    Last(Bytes),
}

impl FeedStream {
    /// The stream `id` the endpoint opened, woken through `notify`.
    pub fn new(shared: Shared, id: StreamId, notify: Arc<Notify>) -> Self {
        Self {
            shared,
            id,
            notify,
            read: VecDeque::new(),
            ended: false,
            keep_alive: Duration::from_secs(KEEP_ALIVE_SECS),
        }
    }

    /// The next bytes to send: what the endpoint queued, or a keep-alive
    /// after `KEEP_ALIVE_SECS` of silence.
    async fn next(&mut self) -> Next {
        loop {
            if let Some(bytes) = self.read.pop_front() {
                return if self.ended && self.read.is_empty() {
                    Next::Last(bytes)
                } else {
                    Next::Send(bytes)
                };
            }
            if self.ended {
                return Next::Last(Bytes::new());
            }
            if tokio::time::timeout(self.keep_alive, self.notify.notified())
                .await
                .is_err()
            {
                return Next::Send(Bytes::from_static(KEEP_ALIVE));
            }
            let read = lock(&self.shared).endpoint.read_stream(self.id);
            // Shared, not copied: every stream that got an event sends the same bytes.
            self.read
                .extend(read.chunks.into_iter().map(Bytes::from_owner));
            self.ended = read.end;
        }
    }

    /// The response body: `replay`, then the live events, until the client
    /// goes away, the stream overflows or its namespace is dropped.
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
                    Next::Last(bytes) if bytes.is_empty() => None,
                    Next::Last(bytes) => Some((Ok(bytes), (stream, None, true))),
                }
            },
        )
    }
}
