//! The endpoint behind one lock, with what this host keeps beside it: each
//! namespace's files and each open stream's waker.

use crate::storage::Stores;
use crate::write_back::WriteBack;
use mock_rest_core::{Endpoint, Request, StreamId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// The endpoint and what the host keeps beside it.
pub struct Hosted {
    /// Every namespace.
    pub endpoint: Endpoint,
    /// Their files, with `--data`.
    pub stores: Stores,
    /// The waker of each open event stream.
    wakers: HashMap<StreamId, Arc<Notify>>,
    /// Under `JSON_SERVER=1`, the file the default namespace's changes go back into.
    pub write_back: Option<Arc<WriteBack>>,
}

/// What every connection shares.
pub type Shared = Arc<Mutex<Hosted>>;

/// Locks the endpoint. A panic elsewhere cannot leave a store half-written
/// (each change is applied whole), so a poisoned lock is still usable.
pub fn lock(shared: &Shared) -> MutexGuard<'_, Hosted> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hosted {
    /// The endpoint and the files of its namespaces.
    pub fn new(endpoint: Endpoint, stores: Stores) -> Self {
        Self {
            endpoint,
            stores,
            wakers: HashMap::new(),
            write_back: None,
        }
    }

    /// Keeps the waker of a stream the endpoint opened.
    pub(crate) fn watch(&mut self, id: StreamId, notify: Arc<Notify>) {
        self.wakers.insert(id, notify);
    }

    pub(crate) fn wake(&self, streams: &[StreamId]) {
        for id in streams {
            if let Some(notify) = self.wakers.get(id) {
                notify.notify_one();
            }
        }
    }

    /// Forgets a stream whose body ended or whose client went away.
    pub fn close_stream(&mut self, id: StreamId) {
        self.wakers.remove(&id);
        self.endpoint.close_stream(id);
    }

    /// Tells the endpoint what the files of the request's namespace report,
    /// if that changed.
    pub(crate) fn note_storage(&mut self, request: &Request) {
        if !self.stores.durable() {
            return;
        }
        let Ok(namespace) = self.endpoint.namespace_of(request) else {
            return;
        };
        if let Some(storage) = self
            .stores
            .get(&namespace)
            .and_then(|d| d.storage_changed())
        {
            self.endpoint.set_storage(&namespace, storage);
        }
    }
}
