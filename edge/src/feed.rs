//! The change feed in the Durable Object: each open `/__admin/events` stream
//! is a response body fed from a small queue in the object's memory.
//!
//! The object is single-threaded, so a queue is a `RefCell`; the engine's
//! events go to every queue whose subscription wants them, and the body
//! sends what its queue holds, or a keep-alive after `KEEP_ALIVE_SECS` of
//! silence. A queue past `FEED_BUFFER_BYTES` (a client that does not read)
//! is replaced by `event: overflow` and its stream ends; a stream whose
//! client went away is dropped at the next event.
//!
//! An open stream keeps the object in memory, and the object is billed as
//! active for as long as a stream is open (see docs/feed.md).

use futures_util::Stream;
use mock_rest_core::{
    Event, Subscription, FEED_BUFFER_BYTES, KEEP_ALIVE, KEEP_ALIVE_SECS, OVERFLOW,
};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The bytes waiting for one stream.
#[derive(Default)]
struct Queue {
    chunks: VecDeque<Vec<u8>>,
    bytes: usize,
    /// No more after what is queued.
    closed: bool,
    /// The body was dropped: the client went away.
    gone: bool,
    waker: Option<Waker>,
}

impl Queue {
    fn push(&mut self, bytes: Vec<u8>) {
        if self.closed {
            return;
        }
        self.bytes += bytes.len();
        self.chunks.push_back(bytes);
        if self.bytes > FEED_BUFFER_BYTES {
            self.chunks.clear();
            self.chunks.push_back(OVERFLOW.to_vec());
            self.closed = true;
        }
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// The open streams of one object (one namespace).
#[derive(Default)]
pub struct Streams {
    open: Vec<(Subscription, Rc<RefCell<Queue>>)>,
}

impl Streams {
    /// How many streams are open.
    pub fn len(&mut self) -> usize {
        self.forget_gone();
        self.open.len()
    }

    fn forget_gone(&mut self) {
        self.open.retain(|(_, queue)| {
            let queue = queue.borrow();
            !queue.gone && !queue.closed
        });
    }

    /// Queues each event for every stream that wants it.
    pub fn publish(&mut self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        self.forget_gone();
        for event in events {
            for (subscription, queue) in &self.open {
                if subscription.wants(event) {
                    queue.borrow_mut().push(event.bytes.clone());
                }
            }
        }
    }

    /// A new stream that starts with `replay`.
    pub fn subscribe(&mut self, subscription: Subscription, replay: Vec<u8>) -> Body {
        let queue = Rc::new(RefCell::new(Queue::default()));
        if !replay.is_empty() {
            queue.borrow_mut().push(replay);
        }
        self.open.push((subscription, Rc::clone(&queue)));
        Body {
            queue,
            keep_alive: None,
        }
    }
}

/// A stream's response body.
pub struct Body {
    queue: Rc<RefCell<Queue>>,
    keep_alive: Option<worker::Delay>,
}

impl Drop for Body {
    fn drop(&mut self) {
        self.queue.borrow_mut().gone = true;
    }
}

impl Stream for Body {
    type Item = Result<Vec<u8>, worker::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        {
            let mut queue = this.queue.borrow_mut();
            if let Some(chunk) = queue.chunks.pop_front() {
                queue.bytes -= chunk.len();
                this.keep_alive = None;
                return Poll::Ready(Some(Ok(chunk)));
            }
            if queue.closed {
                return Poll::Ready(None);
            }
            queue.waker = Some(cx.waker().clone());
        }
        let delay = this
            .keep_alive
            .get_or_insert_with(|| worker::Delay::from(Duration::from_secs(KEEP_ALIVE_SECS)));
        match Pin::new(delay).poll(cx) {
            Poll::Ready(()) => {
                this.keep_alive = None;
                Poll::Ready(Some(Ok(KEEP_ALIVE.to_vec())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
