//! What the endpoint asks a host to do: effects, in the order to carry them
//! out, drained one at a time as str0m's hosts drain its outputs.

use super::streams::StreamId;
use crate::http::response::{Change, Response};
use crate::mock::feed::Event;
use crate::mock::proxy::Forward;
use std::collections::VecDeque;
use std::time::Duration;

/// A request sent to `PROXY_TARGET`, by the number the endpoint gave it; its
/// answer comes back through [`Endpoint::handle_upstream`](crate::Endpoint::handle_upstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

/// Events for the open streams of one namespace, to hand back to
/// [`Endpoint::publish`](crate::Endpoint::publish) once the changes they
/// report are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub(crate) namespace: String,
    pub(crate) events: Vec<Event>,
}

impl Publication {
    /// The events, in order (each with its Server-Sent Events bytes).
    pub fn events(&self) -> &[Event] {
        &self.events
    }
}

/// One thing a host does for a request, in the order [`Output`] gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A namespace was made from the seed: a host that stores namespaces
    /// makes its storage now, holding these changes (they rebuild it), before
    /// anything else of this output.
    Open {
        /// The namespace's name.
        namespace: String,
        /// What it holds, as [`Engine::rebuild_changes`](crate::Engine::rebuild_changes) says.
        changes: Vec<Change>,
    },
    /// A namespace was dropped (deleted, or evicted for a new one): a host
    /// that stores namespaces forgets its storage. Its streams are ended.
    Forget {
        /// The namespace's name.
        namespace: String,
    },
    /// Changes to store before answering. When storing fails, the host
    /// answers [`Endpoint::storage_failed`](crate::Endpoint::storage_failed)
    /// instead of the rest of this output, and restores the namespace from
    /// its storage.
    Persist {
        /// The namespace's name.
        namespace: String,
        /// The changes, in order; the endpoint has applied them already.
        changes: Vec<Change>,
    },
    /// Events for the open streams, once the changes before are stored: the
    /// host calls [`Endpoint::publish`](crate::Endpoint::publish) with it and
    /// wakes the streams that returns.
    Publish(Publication),
    /// These streams have bytes waiting: the host reads each
    /// ([`Endpoint::read_stream`](crate::Endpoint::read_stream)) and writes them.
    Wake(Vec<StreamId>),
    /// Send this request to `PROXY_TARGET` and hand what comes back (or its
    /// failure) to [`Endpoint::handle_upstream`](crate::Endpoint::handle_upstream)
    /// with the ticket; its output replaces what would follow here.
    Forward(Ticket, Forward),
    /// Wait this long before what follows (a timer; never block other requests).
    Wait(Duration),
    /// Close the connection without an answer (a rule's `reset` fault). A
    /// host that cannot close it unanswered (a Worker) sends this answer cut
    /// short.
    Drop(Response),
    /// Send this answer.
    Respond(Response),
    /// Send this answer's status, headers and body, then keep the
    /// connection open as an event stream: write what
    /// [`Endpoint::read_stream`](crate::Endpoint::read_stream) gives when the
    /// stream is woken, [`KEEP_ALIVE`](crate::mock::feed::KEEP_ALIVE) after
    /// [`KEEP_ALIVE_SECS`](crate::mock::feed::KEEP_ALIVE_SECS) of silence, and
    /// tell [`Endpoint::close_stream`](crate::Endpoint::close_stream) when
    /// the client goes away.
    Stream(StreamId, Response),
}

/// What the host does for one request: effects in order. Iterate it, or
/// take them one at a time with [`Output::next`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    effects: VecDeque<Effect>,
}

impl Output {
    /// An output that only answers, for a host that refuses a request before
    /// the endpoint sees it (a body that did not arrive whole, say).
    pub fn responding(response: Response) -> Self {
        let mut output = Self::default();
        output.push(Effect::Respond(response));
        output
    }

    pub(crate) fn push(&mut self, effect: Effect) {
        self.effects.push_back(effect);
    }

    /// The effects left, in order.
    pub fn effects(&self) -> impl Iterator<Item = &Effect> {
        self.effects.iter()
    }

    /// The answer this output ends with, if it ends with one ([`Effect::Respond`]
    /// or [`Effect::Stream`]): for tests and for a host that only answers.
    pub fn response(&self) -> Option<&Response> {
        self.effects.iter().rev().find_map(|effect| match effect {
            Effect::Respond(response) | Effect::Stream(_, response) => Some(response),
            _ => None,
        })
    }

    /// Every change this output asks to store, of every namespace, in order.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.effects.iter().flat_map(|effect| match effect {
            Effect::Persist { changes, .. } => changes.as_slice(),
            _ => &[],
        })
    }

    /// How long the host waits before answering (the sum of [`Effect::Wait`]s).
    pub fn delay(&self) -> Duration {
        self.effects
            .iter()
            .map(|effect| match effect {
                Effect::Wait(delay) => *delay,
                _ => Duration::ZERO,
            })
            .sum()
    }
}

impl Iterator for Output {
    type Item = Effect;

    fn next(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }
}
