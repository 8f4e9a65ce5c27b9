//! The engine: routes a request, reads or changes the store, and says what to
//! answer. This module is the dispatcher; each kind of route has its own:
//! [`items`] (create, read, replace, patch, delete), [`lists`] (list queries
//! and page links), [`admin`] (`/__admin/*`) and [`openapi`] (the paths of an
//! OpenAPI document). CORS and access checks live in [`crate::http::cors`]
//! and [`crate::http::access`].

mod admin;
mod dispatch;
mod items;
mod json_server;
pub use json_server::json_server_hint;
mod lists;
mod near;
pub(crate) mod openapi;
pub(crate) mod outcome;
mod proxy;
mod reply;
mod rules;
#[cfg(test)]
mod tests;

use crate::config::Config;
use crate::error::ApiError;
use crate::http::cors;
use crate::http::request::{Method, Request};
use crate::http::response::{Change, Response};
use crate::http::route::Route;
use crate::mock::feed::{self, ChangeFeed, Subscription};
use crate::mock::journal::Journal;
use crate::mock::rules::Rules;
use crate::pages::Storage;
use crate::store::ids::{content_seed, new_id, IdSource, SeededIds};
use crate::store::query::Patterns;
use crate::store::snapshot::{self, Snapshot};
use crate::store::Store;
use openapi::OpenApi;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// The mock API: a store plus the rules of the HTTP contract.
///
/// Every call is synchronous and touches nothing outside `self`: the time comes
/// in as an argument and ids from the [`IdSource`] given at construction.
pub struct Engine {
    config: Config,
    store: Store,
    /// What `POST /__admin/reset` restores: the fixtures, or nothing.
    initial: Store,
    journal: Journal,
    /// The rules (`/__admin/rules`), and the ones `POST /__admin/reset` restores.
    rules: Rules,
    initial_rules: Rules,
    ids: Box<dyn IdSource>,
    started: Duration,
    /// What the host's storage reports to `/health`, if it is not well.
    storage: Option<Storage>,
    /// The item bytes the other namespaces hold: `MAX_STORE_BYTES` bounds
    /// every namespace's together.
    others_bytes: usize,
    /// The change feed: its sequence and the events kept for replay.
    feed: ChangeFeed,
    /// The subscription a `GET /__admin/events` being handled has accepted.
    subscribing: Option<Subscription>,
    /// `_like` patterns compiled by earlier list queries.
    patterns: Patterns,
    /// The OpenAPI document whose paths this engine answers, shared by
    /// every namespace of the endpoint.
    openapi: Option<Arc<OpenApi>>,
    /// Under `JSON_SERVER=1`: the types the store has held since it started
    /// or was reset, so that one whose items were all deleted is still `[]`
    /// (json-server keeps it), not `404`.
    known_types: BTreeSet<String>,
}

impl Engine {
    /// An engine with an empty store. `started` is the time since the Unix epoch
    /// at which the server started; uptime counts from it.
    pub fn new(config: Config, ids: Box<dyn IdSource>, started: Duration) -> Self {
        Self {
            journal: Journal::new(config.journal_size),
            store: Store::keyed(&config.id_field),
            initial: Store::keyed(&config.id_field),
            config,
            rules: Rules::default(),
            initial_rules: Rules::default(),
            ids,
            started,
            storage: None,
            others_bytes: 0,
            feed: ChangeFeed::new(),
            subscribing: None,
            patterns: Patterns::default(),
            openapi: None,
            known_types: BTreeSet::new(),
        }
    }

    /// Loads fixtures (a snapshot: `{"type": [items], "singular": {...}}`) as
    /// the store to start from and to reset to. Items keep the ids they carry
    /// (under `ID_FIELD`; strings or integers, one kind per type); an item without
    /// one gets the next integer in a type of integer ids, and otherwise an id
    /// that depends only on the fixtures' bytes and the item's place, so every start from the same file (a restart, another host, a
    /// service worker started again) gives it the same id. With an OpenAPI
    /// document, the document's collections that the fixtures do not name
    /// start with the document's seeded items. On error (invalid JSON names
    /// line and column) nothing is loaded. Returns the number of items of the
    /// fixtures.
    pub fn load_fixtures(&mut self, bytes: &[u8]) -> Result<usize, ApiError> {
        let count = self.restore(bytes)?;
        self.add_seeded_types();
        self.initial = self.store.clone();
        Ok(count)
    }

    /// `--watch`: makes `bytes` the fixtures, read as [`Engine::load_fixtures`]
    /// reads them, and starts the store and the rules again from them, as
    /// `POST /__admin/reset` does. Returns the `reset` event for the open
    /// streams of the change feed. On error nothing changes and no event is
    /// made.
    pub fn reload_fixtures(&mut self, bytes: &[u8]) -> Result<Vec<feed::Event>, ApiError> {
        self.load_fixtures(bytes)?;
        let changes = self.rebuild_changes();
        Ok(self.feed.record(&Route::Reset, &Method::Post, &changes))
    }

    /// Replaces the store with a snapshot, read as [`Engine::load_fixtures`]
    /// reads it, and the rules with those the engine started with, but keeps
    /// what `POST /__admin/reset` restores: for a host that rebuilds the store
    /// from its files (then [`Engine::apply`]s its journal, rule changes
    /// included).
    pub fn restore(&mut self, bytes: &[u8]) -> Result<usize, ApiError> {
        let mut ids = SeededIds::new(content_seed(bytes));
        let snapshot = Snapshot::parse(bytes, self.store.keys(), &mut || new_id(&mut ids))?;
        let count = snapshot.items.len();
        let store = snapshot.into_store();
        self.check_store_fits(&store)?;
        self.store = store;
        self.rules = self.initial_rules.clone();
        self.remember_types(true);
        self.remember_listed_types(bytes);
        Ok(count)
    }

    /// Sets what `/health` reports about the host's storage (`None`: well).
    pub fn set_storage(&mut self, storage: Option<Storage>) {
        self.storage = storage;
    }

    /// Sets how many item bytes the other namespaces hold, which count
    /// toward `MAX_STORE_BYTES` with this store's.
    pub(crate) fn set_others_bytes(&mut self, bytes: usize) {
        self.others_bytes = bytes;
    }

    /// The bytes of item text the store holds.
    pub(crate) fn store_bytes(&self) -> usize {
        self.store.bytes()
    }

    /// The bytes the journal and the feed's replay ring hold.
    pub(crate) fn history_bytes(&self) -> usize {
        self.journal.bytes() + self.feed.ring_bytes()
    }

    /// Forgets the journal and the feed's replay ring (a client that
    /// reconnects then gets `event: gap`); the feed's sequence goes on.
    pub(crate) fn forget_history(&mut self) {
        self.journal.clear();
        self.feed.forget();
    }

    /// Starts again from `fresh` (an engine made from a new seed): its store,
    /// rules and what reset restores, keeping this engine's journal, feed
    /// sequence and storage health. Returns the `reset` event.
    pub(crate) fn restart_from(&mut self, fresh: Engine) -> Vec<feed::Event> {
        self.store = fresh.store;
        self.known_types = fresh.known_types;
        self.initial = fresh.initial;
        self.rules = fresh.rules;
        self.initial_rules = fresh.initial_rules;
        let changes = self.rebuild_changes();
        self.feed.record(&Route::Reset, &Method::Post, &changes)
    }

    /// How many items the store holds, for a host's list of namespaces.
    pub fn item_count(&self) -> usize {
        self.store.total()
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Applies a change, as when replaying what an earlier run recorded.
    pub fn apply(&mut self, change: &Change) {
        match change {
            // A type comes into being with its first item, which follows.
            Change::CreateType { .. } => {}
            Change::Create { resource, id, item } | Change::Replace { resource, id, item } => {
                self.store.put(resource, id, item.clone())
            }
            Change::Delete { resource, id } => {
                self.store.remove(resource, id);
            }
            Change::DropType { resource } => {
                self.store.clear(resource);
            }
            Change::ClearAll => self.store = self.store.emptied(),
            Change::PutSingle { resource, item } => self.store.put_single(resource, item.clone()),
            Change::PutRule { rule, .. } => self.rules.put(rule),
            Change::DeleteRule { id } => {
                self.rules.remove(id);
            }
            Change::ClearRules => {
                self.rules.clear();
            }
        }
    }

    /// The changes that rebuild the current store and rules from nothing: a
    /// `ClearAll`, then each type (`CreateType`) with its items (`Create`), in
    /// creation order, then each singular resource (`PutSingle`), then a
    /// `ClearRules` and each rule (`PutRule`) in the order they were added. A host that starts a store from fixtures stores
    /// these.
    pub fn rebuild_changes(&self) -> Vec<Change> {
        let mut changes = vec![Change::ClearAll];
        for (resource, collection) in self.store.types() {
            changes.push(Change::CreateType {
                resource: resource.to_owned(),
            });
            changes.extend(collection.iter().map(|item| Change::Create {
                resource: resource.to_owned(),
                id: item.id().into_owned(),
                item: item.json.to_owned(),
            }));
        }
        changes.extend(
            self.store
                .singles()
                .map(|(name, object)| Change::PutSingle {
                    resource: name.to_owned(),
                    item: object.to_owned(),
                }),
        );
        changes.push(Change::ClearRules);
        changes.extend(self.rules.puts());
        changes
    }

    /// The changes that turn the rules the engine started with (those of
    /// [`Engine::load_rules`]) into the current ones: none when they are the
    /// same, else a `ClearRules` and each rule (`PutRule`). A host whose
    /// storage of changes keeps items only in a snapshot (the native
    /// journal's compaction) stores these with it.
    pub fn rule_changes(&self) -> Vec<Change> {
        if self.rules == self.initial_rules {
            return Vec::new();
        }
        let mut changes = vec![Change::ClearRules];
        changes.extend(self.rules.puts());
        changes
    }

    /// Adds what every response carries (CORS headers) and makes a `HEAD`
    /// answer bodiless. [`Engine::handle`] does this; a host that answers an
    /// error of its own ([`ApiError::to_response`]) calls it too.
    pub(crate) fn finish(&self, response: &mut Response, request: &Request) {
        cors::finish(&self.config, response, request);
    }

    /// The whole store as snapshot JSON (`{"type": [items]}`), for a host that
    /// persists it.
    pub fn snapshot(&self) -> Vec<u8> {
        snapshot::render(&self.store)
    }

    /// The whole database as `GET /db` answers it under `JSON_SERVER=1`: the
    /// snapshot, with the types whose items were all deleted as `[]` (as
    /// json-server keeps them), for a host that writes it back to the file.
    pub fn database(&self) -> Vec<u8> {
        self.json_server_snapshot()
    }

    /// [`Engine::database`] as json-server writes its file: indented by two
    /// spaces at every level (JavaScript's `JSON.stringify(db, null, 2)`),
    /// numbers as they were sent.
    pub fn database_file(&self) -> Vec<u8> {
        let database = self.database();
        // The store's own text is valid JSON; were it not, it is written as held.
        match serde_json::from_slice::<serde_json::Value>(&database) {
            Ok(value) => serde_json::to_vec_pretty(&value).unwrap_or(database),
            Err(_) => database,
        }
    }

    /// Makes the current store the one `POST /__admin/reset` restores, as a
    /// host does after it has replayed its journal at start.
    pub fn mark_initial(&mut self) {
        self.initial = self.store.clone();
    }

    /// Applies a change to the store and reports it.
    pub(super) fn record(&mut self, change: Change, changes: &mut Vec<Change>) {
        self.apply(&change);
        changes.push(change);
    }
}
