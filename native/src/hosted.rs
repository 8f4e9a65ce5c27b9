//! The loop that carries out the endpoint's effects for a request:
//!
//! ```text
//! lock: handle -> open/forget files, append to journals, publish, wake  (in order)
//! unlock: wait for the journals -> forward to PROXY_TARGET (and again) -> wait the delay -> answer
//! ```
//!
//! Everything the endpoint asks that needs no waiting is done under the lock,
//! so journals keep the endpoint's order and a new stream misses no event.

use crate::durable::{Durable, Ticket as Durability};
use crate::feed::FeedStream;
use crate::proxy::Proxy;
use crate::state::{lock, Hosted, Shared};
use crate::supply::unix_now;
use mock_rest_core::{
    Effect, Forward, Output, Request, Response, StreamId, Ticket, Upstream, DEFAULT_NAMESPACE,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How a request ends.
pub enum Ending {
    /// With this answer.
    Respond(Response),
    /// With this answer's head and body, then the stream's events.
    Stream(FeedStream, Response),
    /// With the connection dropped (a rule's `reset` fault).
    Drop,
}

/// What is left of an output once the lock is released.
#[derive(Default)]
struct Carried {
    /// Journal appends to wait for, by namespace.
    durability: Vec<(String, Durability)>,
    /// Whether the default namespace changed (for the json-server preset's file).
    changed_default: bool,
    delay: Duration,
    next: Option<Next>,
}

enum Next {
    Respond(Response),
    Stream(StreamId, Arc<Notify>, Response),
    Drop,
    Forward(Ticket, Forward),
}

impl Hosted {
    /// Does what needs no waiting, in order, and keeps the rest.
    fn carry(&mut self, output: Output, request: &Request) -> Carried {
        let mut carried = Carried::default();
        for effect in output {
            match effect {
                Effect::Open { namespace, .. } => {
                    let opened = match self.endpoint.engine_mut(&namespace) {
                        Some(engine) => self.stores.open(&namespace, engine, false),
                        None => Ok(()),
                    };
                    match opened {
                        Ok(()) => self.endpoint.loaded(&namespace),
                        Err(err) => {
                            tracing::error!("namespace {namespace} could not be made: {err}");
                            let removed = self.endpoint.remove(&namespace);
                            let reason =
                                format!("The namespace {namespace} could not be made: {err}.");
                            let answer = self.endpoint.unavailable(request, reason);
                            self.carry(removed, request);
                            carried.durability.clear();
                            carried.next = Some(Next::Respond(answer));
                            return carried;
                        }
                    }
                }
                Effect::Forget { namespace } => self.stores.forget(&namespace),
                Effect::Persist { namespace, changes } => {
                    carried.changed_default |= namespace == DEFAULT_NAMESPACE;
                    if let Some(durable) = self.stores.get(&namespace) {
                        let ticket = durable.append(&changes);
                        carried.durability.push((namespace, ticket));
                    }
                }
                Effect::Publish(publication) => {
                    let woken = self.endpoint.publish(publication);
                    self.wake(&woken);
                }
                Effect::Wake(woken) => self.wake(&woken),
                Effect::Wait(delay) => carried.delay += delay,
                Effect::Forward(ticket, forward) => {
                    carried.next = Some(Next::Forward(ticket, forward))
                }
                Effect::Drop(_) => carried.next = Some(Next::Drop),
                Effect::Respond(response) => carried.next = Some(Next::Respond(response)),
                Effect::Stream(id, response) => {
                    let notify = Arc::new(Notify::new());
                    self.watch(id, Arc::clone(&notify));
                    carried.next = Some(Next::Stream(id, notify, response));
                }
            }
        }
        carried
    }
}

/// Runs a request through the endpoint and carries out what it asks.
pub async fn run(shared: &Shared, proxy: Option<&Proxy>, request: &Request) -> Ending {
    let mut carried = {
        let mut hosted = lock(shared);
        hosted.note_storage(request);
        let output = hosted.endpoint.handle(request, unix_now());
        hosted.carry(output, request)
    };
    loop {
        if !settle(shared, std::mem::take(&mut carried.durability)).await {
            return Ending::Respond(lock(shared).endpoint.storage_failed(request));
        }
        if std::mem::take(&mut carried.changed_default) {
            save_back(shared).await;
        }
        match carried.next.take() {
            Some(Next::Forward(ticket, forward)) => {
                let upstream = match proxy {
                    Some(proxy) => proxy.send(&forward).await,
                    None => Upstream::Unreachable {
                        reason: "this server has no proxy client".to_owned(),
                    },
                };
                let mut hosted = lock(shared);
                let output = hosted
                    .endpoint
                    .handle_upstream(ticket, upstream, unix_now());
                carried = hosted.carry(output, request);
            }
            next => {
                // The mock's latency: a timer, so the lock is free and other requests go on.
                if !carried.delay.is_zero() {
                    tokio::time::sleep(carried.delay).await;
                }
                return match next {
                    Some(Next::Respond(response)) => Ending::Respond(response),
                    Some(Next::Stream(id, notify, response)) => {
                        Ending::Stream(FeedStream::new(Arc::clone(shared), id, notify), response)
                    }
                    Some(Next::Drop) => Ending::Drop,
                    Some(Next::Forward(..)) | None => {
                        let reason = "the mock's answer was lost".to_owned();
                        Ending::Respond(lock(shared).endpoint.unavailable(request, reason))
                    }
                };
            }
        }
    }
}

/// `--watch`: makes `fixtures` the seed and starts every namespace again from
/// it (durably, with `--data`); each namespace's open streams get a `reset`
/// event. Fixtures that are not valid change nothing and say why.
pub async fn reload(shared: &Shared, fixtures: Vec<u8>) -> Result<(), String> {
    let carried = {
        let mut hosted = lock(shared);
        let output = hosted
            .endpoint
            .reload_fixtures(fixtures)
            .map_err(|err| err.to_string())?;
        hosted.carry(
            output,
            &Request::new(mock_rest_core::Method::Post, "/__admin/reset"),
        )
    };
    if !settle(shared, carried.durability).await {
        tracing::error!(
            "--watch: a namespace's reset could not be saved; it keeps what its files hold"
        );
    }
    Ok(())
}

/// Under `JSON_SERVER=1`, writes the default namespace back into its file.
async fn save_back(shared: &Shared) {
    let write_back = lock(shared).write_back.clone();
    if let Some(write_back) = write_back {
        write_back.save(|| database_file(shared)).await;
    }
}

/// The default namespace's data as the json-server preset writes its file.
pub(crate) fn database_file(shared: &Shared) -> Option<Vec<u8>> {
    lock(shared)
        .endpoint
        .engine_mut(DEFAULT_NAMESPACE)
        .map(|engine| engine.database_file())
}

/// Waits until each namespace's appended changes are durable; a namespace
/// whose write failed is rolled back to what its files hold (memory keeps no
/// change answered `503`). Compacts a journal that outgrew its snapshot.
async fn settle(shared: &Shared, durability: Vec<(String, Durability)>) -> bool {
    let mut saved = true;
    for (namespace, ticket) in durability {
        let written = ticket.wait().await;
        let mut hosted = lock(shared);
        let Some(durable) = hosted.stores.get(&namespace).cloned() else {
            continue;
        };
        if !written {
            saved = false;
            if let Some(engine) = hosted.endpoint.engine_mut(&namespace) {
                durable.recover(engine);
            }
            hosted.endpoint.loaded(&namespace);
        }
        drop(hosted);
        if durable.wants_compaction() {
            compact_in_background(Arc::clone(shared), namespace, durable);
        }
    }
    saved
}

/// Renders the snapshot under the lock (so it covers exactly the journal so
/// far) and hands it to the flusher, off the async threads.
fn compact_in_background(shared: Shared, namespace: String, durable: Arc<Durable>) {
    tokio::task::spawn_blocking(move || {
        let mut hosted = lock(&shared);
        if let Some(engine) = hosted.endpoint.engine_mut(&namespace) {
            if durable.wants_compaction() {
                let _ = durable.compact(engine.snapshot(), &engine.rule_changes());
            }
        }
    });
}

/// Compacts a namespace now and waits until every acknowledged write is
/// durable (in the new snapshot, or in the journal if the compaction failed).
pub async fn compact_now(shared: &Shared, namespace: &str, durable: &Durable) -> bool {
    let ticket = {
        let mut hosted = lock(shared);
        let Some(engine) = hosted.endpoint.engine_mut(namespace) else {
            return true;
        };
        // After a failed write, the snapshot must not hold it.
        durable.recover(engine);
        durable.compact(engine.snapshot(), &engine.rule_changes())
    };
    ticket.wait().await
}
