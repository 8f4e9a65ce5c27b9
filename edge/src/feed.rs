//! Writes the change feed's streams in the Durable Object: each open
//! `/__admin/events` stream is a response body that sends what the endpoint
//! queued for it when it is woken, or a keep-alive after `KEEP_ALIVE_SECS` of
//! silence.
//!
//! Which events a stream gets, how much may wait for it and its overflow are
//! the core's ([`mock_rest_core::Endpoint::read_stream`]). The object is
//! single-threaded, so the endpoint and the wakers are behind `RefCell`s the
//! bodies share with the object.
//!
//! An open stream keeps the object in memory, and the object is billed as
//! active for as long as a stream is open (see docs/feed.md).

use futures_util::Stream;
use mock_rest_core::feed::{KEEP_ALIVE, KEEP_ALIVE_SECS};
use mock_rest_core::{Endpoint, StreamId};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The object's running endpoint, numbered: a body of an endpoint that was
/// dropped (storage failed) reads as ended.
pub struct Running {
    /// Which endpoint this is, counting from the object's start.
    pub generation: u64,
    /// The endpoint.
    pub endpoint: Endpoint,
}

/// What the object and its stream bodies share.
pub type Slot<T> = Rc<RefCell<T>>;

/// The wakers of the bodies waiting for bytes, by stream.
#[derive(Default)]
pub struct Wakers {
    waiting: HashMap<StreamId, Waker>,
}

impl Wakers {
    /// Wakes the bodies of these streams.
    pub fn wake(&mut self, streams: &[StreamId]) {
        for id in streams {
            if let Some(waker) = self.waiting.remove(id) {
                waker.wake();
            }
        }
    }
}

/// A stream's response body.
pub struct Body {
    id: StreamId,
    generation: u64,
    running: Slot<Option<Running>>,
    wakers: Slot<Wakers>,
    pending: VecDeque<Vec<u8>>,
    ended: bool,
    keep_alive: Option<worker::Delay>,
}

impl Body {
    /// The body of stream `id` of the running endpoint, starting with `first` (the replay).
    pub fn new(
        id: StreamId,
        running: &Slot<Option<Running>>,
        wakers: &Slot<Wakers>,
        first: Vec<u8>,
    ) -> Self {
        let generation = running
            .try_borrow()
            .ok()
            .and_then(|slot| slot.as_ref().map(|running| running.generation))
            .unwrap_or_default();
        let mut pending = VecDeque::new();
        if !first.is_empty() {
            pending.push_back(first);
        }
        Self {
            id,
            generation,
            running: Rc::clone(running),
            wakers: Rc::clone(wakers),
            pending,
            ended: false,
            keep_alive: None,
        }
    }

    /// Reads what the endpoint queued; an endpoint that is gone ends the stream.
    fn read(&mut self) {
        let Ok(mut slot) = self.running.try_borrow_mut() else {
            return;
        };
        match slot.as_mut() {
            Some(running) if running.generation == self.generation => {
                let read = running.endpoint.read_stream(self.id);
                self.pending
                    .extend(read.chunks.iter().map(|chunk| chunk.to_vec()));
                self.ended = read.end;
            }
            _ => self.ended = true,
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        if let Ok(mut wakers) = self.wakers.try_borrow_mut() {
            wakers.waiting.remove(&self.id);
        }
        if let Ok(mut slot) = self.running.try_borrow_mut() {
            if let Some(running) = slot.as_mut().filter(|r| r.generation == self.generation) {
                running.endpoint.close_stream(self.id);
            }
        }
    }
}

impl Stream for Body {
    type Item = Result<Vec<u8>, worker::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.pending.is_empty() && !this.ended {
            this.read();
        }
        if let Some(chunk) = this.pending.pop_front() {
            this.keep_alive = None;
            return Poll::Ready(Some(Ok(chunk)));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        if let Ok(mut wakers) = this.wakers.try_borrow_mut() {
            wakers.waiting.insert(this.id, cx.waker().clone());
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
