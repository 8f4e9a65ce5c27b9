//! The endpoint: every namespace of a host behind one front, as quinn's
//! `Endpoint` is in front of its connections.
//!
//! It picks a request's namespace by its header (the host never reads it),
//! makes a new namespace from the seed, bounds how many there are
//! (`MAX_NAMESPACES`, giving the place of the one idle longest to a new one),
//! bounds the memory of all of them together, answers `/`, `/health` and
//! `/__admin/namespaces` from its own counts, holds the change feed's open
//! streams ([`streams`]) and the requests waiting for `PROXY_TARGET`, and
//! turns what a namespace's [`Engine`] did into [`Effect`]s, in the order a
//! host carries them out ([`output`]).

pub(crate) mod output;
pub(crate) mod streams;

use crate::config::Config;
use crate::engine::openapi::OpenApi;
use crate::engine::outcome::Outcome;
use crate::engine::Engine;
use crate::error::ApiError;
use crate::namespace::Listing;
use crate::namespace::{request_namespace, DEFAULT_NAMESPACE};
use crate::store::ids::IdSource;

use crate::http::request::Request;
use crate::http::response::{Change, Response};
use crate::mock::proxy::{Forward, Upstream};
use crate::mock::rules::Fault;
use crate::pages::Storage;
use output::{Effect, Output, Publication, Ticket};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use streams::{StreamId, StreamRead, Streams};

/// How many requests may wait for `PROXY_TARGET` at once; past it the
/// oldest is forgotten (its answer, if it comes, is a `502`).
const MAX_FORWARDS: usize = 1024;

/// How many bytes a forwarded request's body keeps for the journal (which
/// keeps 4,096 and marks a longer body as cut); the host sends the whole body.
const KEPT_BODY: usize = 4097;

/// The most bytes the journals and the feeds' replay rings of every
/// namespace hold together; past it the history of the namespaces unused
/// longest is forgotten first (a client that reconnects then gets
/// `event: gap`).
pub const HISTORY_BYTES: usize = 64 * 1024 * 1024;

/// What every new namespace starts from, and what `POST /__admin/reset`
/// returns it to: fixtures (a snapshot, `{"type": [items]}`), rules (a
/// JSON array, as `GET /__admin/rules` lists them) and an OpenAPI document
/// (JSON or YAML), whose paths every namespace then answers and whose
/// collections start with their example lists or generated items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seed {
    /// The fixtures' bytes, or none (an empty store).
    pub fixtures: Option<Vec<u8>>,
    /// The rules' bytes, or none.
    pub rules: Option<Vec<u8>>,
    /// The OpenAPI document's bytes, or none (the route table's `/api`).
    pub openapi: Option<Vec<u8>>,
}

/// Which part of the seed a [`SeedError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedPart {
    /// [`Seed::fixtures`].
    Fixtures,
    /// [`Seed::rules`].
    Rules,
    /// [`Seed::openapi`]: the error names the JSON pointer and why
    /// ([`ApiError::BadDocument`]).
    OpenApi,
}

/// A seed that cannot be used: which part, and why (the engine's error, whose
/// message names the line and column, or the rule and field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedError {
    /// The part at fault.
    pub part: SeedPart,
    /// Why.
    pub error: ApiError,
}

impl std::fmt::Display for SeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error.message())
    }
}

struct Space {
    engine: Engine,
    last_used: Duration,
    /// When it was last used, in the endpoint's count of requests: the
    /// order among namespaces used at the same instant.
    used: u64,
}

struct Waiting {
    namespace: String,
    request: Request,
    forward: Forward,
}

/// Every namespace of a host, and what they share.
pub struct Endpoint {
    config: Config,
    /// The seed's fixtures and rules; its document's bytes are not kept
    /// (a large document would be held twice), only `openapi`.
    seed: Seed,
    /// The seed's OpenAPI document, loaded once and shared by every
    /// namespace.
    openapi: Option<Arc<OpenApi>>,
    started: Duration,
    ids: Box<dyn IdSource>,
    spaces: BTreeMap<String, Space>,
    /// Each namespace's item count, kept beside the engines so that one
    /// engine can list every namespace while it runs.
    listing: Listing,
    /// The item text of every namespace, in bytes.
    store_bytes: usize,
    streams: Streams,
    /// By ticket, in order (tickets only grow).
    waiting: VecDeque<(Ticket, Waiting)>,
    next_ticket: u64,
    /// Requests handled so far (the order of [`Space::used`]).
    uses: u64,
}

impl Endpoint {
    /// An endpoint with no namespace yet; each is made from `seed` on first
    /// use. `ids` gives every namespace its random bytes (each a
    /// [fork](IdSource::fork) of it); `started` is when the host started
    /// (uptime counts from it). The seed is checked whole here: a bad one
    /// names its part.
    pub fn new(
        config: Config,
        seed: Seed,
        ids: Box<dyn IdSource>,
        started: Duration,
    ) -> Result<Self, SeedError> {
        let mut endpoint = Self {
            config,
            seed: Seed::default(),
            openapi: None,
            started,
            ids,
            spaces: BTreeMap::new(),
            listing: Listing::default(),
            store_bytes: 0,
            streams: Streams::default(),
            waiting: VecDeque::new(),
            next_ticket: 0,
            uses: 0,
        };
        endpoint.set_seed(seed)?;
        Ok(endpoint)
    }

    /// The OpenAPI document of `seed`, loaded (or the one loaded already,
    /// when its bytes are the same).
    fn load_openapi(&self, bytes: Option<Vec<u8>>) -> Result<Option<Arc<OpenApi>>, SeedError> {
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        if let Some(loaded) = &self.openapi {
            if loaded.is_from(&bytes) {
                return Ok(Some(Arc::clone(loaded)));
            }
        }
        OpenApi::load(&bytes, &self.config)
            .map(|api| Some(Arc::new(api)))
            .map_err(|err| SeedError {
                part: SeedPart::OpenApi,
                error: ApiError::BadDocument {
                    reason: err.to_string(),
                },
            })
    }

    /// The configuration every namespace runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A namespace's engine, made from the seed (with its own ids).
    fn seeded(&mut self) -> Result<Engine, SeedError> {
        let mut engine = Engine::new(self.config.clone(), self.ids.fork(), self.started);
        if let Some(api) = &self.openapi {
            engine.use_openapi(Arc::clone(api));
        }
        if let Some(rules) = &self.seed.rules {
            engine.load_rules(rules).map_err(|error| SeedError {
                part: SeedPart::Rules,
                error,
            })?;
        }
        if let Some(fixtures) = &self.seed.fixtures {
            engine.load_fixtures(fixtures).map_err(|error| SeedError {
                part: SeedPart::Fixtures,
                error,
            })?;
        }
        Ok(engine)
    }

    /// The names of the namespaces held, in order.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.spaces.keys().map(String::as_str)
    }

    /// The namespace a request is for, by the core's rule (the
    /// `X-Mock-Namespace` header; none or blank is `default`), or the answer
    /// refusing the request (`400`). For a host that must find or load a
    /// namespace's storage before the endpoint handles its first request.
    pub fn namespace_of(&self, request: &Request) -> Result<String, Response> {
        request_namespace(request)
            .map(str::to_owned)
            .map_err(|error| self.error_response(&error, request))
    }

    /// A namespace's engine, for a host's storage: to load what it stored
    /// into it ([`Engine::apply`], [`Engine::restore`]), to read it back
    /// ([`Engine::snapshot`], [`Engine::rebuild_changes`]), or to rebuild
    /// it after a write failed.
    pub fn engine_mut(&mut self, namespace: &str) -> Option<&mut Engine> {
        self.spaces
            .get_mut(namespace)
            .map(|space| &mut space.engine)
    }

    /// Makes a namespace now, from the seed, unless it is held already (as a
    /// host does at start for `default` and for each namespace its storage
    /// holds, then loads the stored state through [`Endpoint::engine_mut`]
    /// and calls [`Endpoint::loaded`]). Past `MAX_NAMESPACES` the one idle
    /// longest gives its place, as for a request; the effects say which.
    pub fn open(&mut self, namespace: &str, now: Duration) -> Result<Output, ApiError> {
        let mut out = Output::default();
        if !self.spaces.contains_key(namespace) {
            self.make(namespace, now, &mut out)?;
        }
        Ok(out)
    }

    /// Makes `seed` what new namespaces start from, leaving the ones held as
    /// they are (as a host does at start when the seed is what its storage
    /// held). A seed that cannot be used changes nothing.
    pub fn set_seed(&mut self, mut seed: Seed) -> Result<(), SeedError> {
        let openapi = self.load_openapi(seed.openapi.take())?;
        self.install(seed, openapi)
    }

    /// Makes `seed` (its document taken out) and `openapi` what new
    /// namespaces start from; neither changes when they cannot be used.
    fn install(&mut self, seed: Seed, openapi: Option<Arc<OpenApi>>) -> Result<(), SeedError> {
        let previous = std::mem::replace(&mut self.seed, seed);
        let previous_openapi = std::mem::replace(&mut self.openapi, openapi);
        match self.seeded() {
            Ok(_) => Ok(()),
            Err(err) => {
                self.seed = previous;
                self.openapi = previous_openapi;
                Err(err)
            }
        }
    }

    /// Drops every namespace, each with its store, rules, journal and
    /// streams (ended, and woken by the effects returned); the next request
    /// to each makes it again from the seed.
    pub fn clear(&mut self) -> Output {
        let mut out = Output::default();
        let names: Vec<String> = self.spaces.keys().cloned().collect();
        for name in names {
            self.drop_namespace(&name, &mut out);
        }
        out
    }

    /// Drops a namespace the host could not keep (its storage could not be
    /// made); its streams are ended, and woken by the effects returned.
    pub fn remove(&mut self, namespace: &str) -> Output {
        let mut out = Output::default();
        self.drop_namespace(namespace, &mut out);
        out
    }

    /// The changes that rebuild a namespace's store and rules from nothing
    /// ([`Engine::rebuild_changes`]), for a host that stores it whole.
    pub fn changes_of(&self, namespace: &str) -> Option<Vec<Change>> {
        self.spaces
            .get(namespace)
            .map(|space| space.engine.rebuild_changes())
    }

    /// A namespace's store as snapshot JSON (`{"type": [items]}`).
    pub fn snapshot_of(&self, namespace: &str) -> Option<Vec<u8>> {
        self.spaces
            .get(namespace)
            .map(|space| space.engine.snapshot())
    }

    /// A namespace's data as json-server writes its file (see
    /// [`Engine::database_file`]), for a host that writes it back under
    /// `JSON_SERVER=1`.
    pub fn database_file_of(&self, namespace: &str) -> Option<Vec<u8>> {
        self.spaces
            .get(namespace)
            .map(|space| space.engine.database_file())
    }

    /// Tells the endpoint that a host changed a namespace's store itself
    /// (loaded or rebuilt it from storage), so its counts are right again.
    pub fn loaded(&mut self, namespace: &str) {
        self.recount(namespace);
    }

    /// Sets what `/health` reports about a namespace's storage (`None`: well).
    pub fn set_storage(&mut self, namespace: &str, storage: Option<Storage>) {
        if let Some(space) = self.spaces.get_mut(namespace) {
            space.engine.set_storage(storage);
        }
    }

    /// Handles one request at time `now` (since the Unix epoch): what the
    /// host does, in order.
    pub fn handle(&mut self, request: &Request, now: Duration) -> Output {
        let mut out = Output::default();
        // Borrowed from the request: a namespace's name is copied only when it is made.
        let namespace = match request_namespace(request) {
            Ok(name) => name,
            Err(error) => {
                out.push(Effect::Respond(self.error_response(&error, request)));
                return out;
            }
        };
        if !self.spaces.contains_key(namespace) {
            if let Err(error) = self.make(namespace, now, &mut out) {
                out.push(Effect::Respond(self.error_response(&error, request)));
                return out;
            }
        }
        let others = self
            .store_bytes
            .saturating_sub(self.listing.bytes_of(namespace));
        self.uses += 1;
        let Some(space) = self.spaces.get_mut(namespace) else {
            return out;
        };
        space.last_used = now;
        space.used = self.uses;
        space.engine.set_others_bytes(others);
        let outcome = space.engine.serve(request, now, &self.listing);
        self.after(namespace, request, outcome, &mut out);
        out
    }

    /// What to do once the target answered a [`Effect::Forward`] (or failed
    /// to): the answer the namespace makes of it, recorded and journaled.
    pub fn handle_upstream(&mut self, ticket: Ticket, upstream: Upstream, now: Duration) -> Output {
        let mut out = Output::default();
        let found = self
            .waiting
            .binary_search_by_key(&ticket, |(ticket, _)| *ticket);
        let Some((_, waiting)) = found.ok().and_then(|at| self.waiting.remove(at)) else {
            let gone = ApiError::Unavailable {
                reason: "The request sent to PROXY_TARGET is no longer known (too many were waiting, or the mock started again).".to_owned(),
            };
            out.push(Effect::Respond(
                self.error_response(&gone, &Request::new(crate::Method::Get, "/")),
            ));
            return out;
        };
        let Waiting {
            namespace,
            request,
            forward,
        } = waiting;
        let Some(space) = self.spaces.get_mut(&namespace) else {
            let gone = ApiError::Unavailable {
                reason: format!(
                    "The namespace {namespace} was dropped while PROXY_TARGET answered."
                ),
            };
            out.push(Effect::Respond(self.error_response(&gone, &request)));
            return out;
        };
        space.last_used = now;
        self.uses += 1;
        space.used = self.uses;
        let outcome = space.engine.proxied(&request, forward, upstream, now);
        self.after(&namespace, &request, outcome, &mut out);
        out
    }

    /// Queues a publication's events for the open streams that want them;
    /// returns the streams to wake (see [`Effect::Wake`]).
    pub fn publish(&mut self, publication: Publication) -> Vec<StreamId> {
        self.streams
            .publish(&publication.namespace, &publication.events)
    }

    /// What an open stream has to send now.
    pub fn read_stream(&mut self, stream: StreamId) -> StreamRead {
        self.streams.read(stream)
    }

    /// Forgets a stream whose client went away.
    pub fn close_stream(&mut self, stream: StreamId) {
        self.streams.close(stream);
    }

    /// How many event streams are open, in every namespace.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// The answer to a request a host could not serve because the storage of
    /// the namespace it made could not be made (`503`, naming why).
    pub fn unavailable(&self, request: &Request, reason: String) -> Response {
        self.error_response(&ApiError::Unavailable { reason }, request)
    }

    /// The answer to a request whose changes could not be stored (`503`),
    /// with the headers every answer carries.
    pub fn storage_failed(&self, request: &Request) -> Response {
        self.error_response(&ApiError::StorageFailed, request)
    }

    /// The answer to `request` when the host refuses or fails it itself:
    /// the error's status and JSON `{"message"}`, with the CORS headers of
    /// the request and no body for `HEAD`.
    pub fn error_response(&self, error: &ApiError, request: &Request) -> Response {
        crate::host::error_response(&self.config, error, request)
    }

    /// `--watch` (and a host's new seed): makes `fixtures` the seed's and
    /// starts every namespace again from the seed, as `POST /__admin/reset`
    /// does, each with a `reset` event. Fixtures that cannot be used change
    /// nothing.
    pub fn reload_fixtures(&mut self, fixtures: Vec<u8>) -> Result<Output, SeedError> {
        let seed = Seed {
            fixtures: Some(fixtures),
            rules: self.seed.rules.clone(),
            openapi: None,
        };
        self.install(seed, self.openapi.clone())?;
        self.restart_all()
    }

    /// Makes `seed` what every namespace starts from and returns to, and
    /// starts every namespace again from it (each gets a `reset` event).
    /// A seed that cannot be used changes nothing.
    pub fn reseed(&mut self, seed: Seed) -> Result<Output, SeedError> {
        self.set_seed(seed)?;
        self.restart_all()
    }

    /// Starts every namespace held again from the seed; each gets a `reset`
    /// event.
    fn restart_all(&mut self) -> Result<Output, SeedError> {
        let mut out = Output::default();
        let names: Vec<String> = self.spaces.keys().cloned().collect();
        for name in names {
            let fresh = self.seeded()?;
            let Some(space) = self.spaces.get_mut(&name) else {
                continue;
            };
            let events = space.engine.restart_from(fresh);
            out.push(Effect::Persist {
                namespace: name.clone(),
                changes: space.engine.rebuild_changes(),
            });
            if !events.is_empty() {
                out.push(Effect::Publish(Publication {
                    namespace: name.clone(),
                    events,
                }));
            }
            self.recount(&name);
        }
        Ok(out)
    }

    /// Makes a namespace from the seed, first dropping the one idle longest
    /// when `MAX_NAMESPACES` are held.
    fn make(&mut self, namespace: &str, now: Duration, out: &mut Output) -> Result<(), ApiError> {
        if self.spaces.len() >= self.config.max_namespaces {
            let idle = self.config.namespace_idle;
            let evictable = self
                .spaces
                .iter()
                .filter(|(name, space)| {
                    name.as_str() != DEFAULT_NAMESPACE
                        && now.saturating_sub(space.last_used) >= idle
                        && self.streams.count_in(name) == 0
                        && !self.waiting.iter().any(|(_, w)| &w.namespace == *name)
                })
                .min_by_key(|(_, space)| space.used)
                .map(|(name, _)| name.clone());
            match evictable {
                Some(name) => self.drop_namespace(&name, out),
                None => {
                    return Err(ApiError::TooManyNamespaces {
                        limit: self.config.max_namespaces,
                    })
                }
            }
        }
        let engine = self.seeded().map_err(|err| err.error)?;
        let changes = engine.rebuild_changes();
        self.spaces.insert(
            namespace.to_owned(),
            Space {
                engine,
                last_used: now,
                used: self.uses,
            },
        );
        self.recount(namespace);
        out.push(Effect::Open {
            namespace: namespace.to_owned(),
            changes,
        });
        Ok(())
    }

    /// Drops a namespace: its store, rules, journal, waiting requests and
    /// streams (each woken to end).
    fn drop_namespace(&mut self, namespace: &str, out: &mut Output) {
        if self.spaces.remove(namespace).is_none() {
            return;
        }
        self.store_bytes = self
            .store_bytes
            .saturating_sub(self.listing.bytes_of(namespace));
        self.listing.remove(namespace);
        self.waiting
            .retain(|(_, waiting)| waiting.namespace != namespace);
        let ended = self.streams.end_namespace(namespace);
        out.push(Effect::Forget {
            namespace: namespace.to_owned(),
        });
        if !ended.is_empty() {
            out.push(Effect::Wake(ended));
        }
    }

    /// Keeps a namespace's item count and bytes up to date, and the history
    /// of every namespace within [`HISTORY_BYTES`].
    fn recount(&mut self, namespace: &str) {
        let Some(space) = self.spaces.get(namespace) else {
            return;
        };
        let (count, bytes, history) = (
            space.engine.item_count(),
            space.engine.store_bytes(),
            space.engine.history_bytes(),
        );
        let old = self.listing.set(namespace, count, bytes, history);
        self.store_bytes = self.store_bytes.saturating_sub(old) + bytes;
        if self.listing.history_total() > HISTORY_BYTES {
            self.trim_history();
        }
    }

    /// Forgets the history (journal, replay ring) of the namespaces unused
    /// longest until every namespace's together fits [`HISTORY_BYTES`].
    fn trim_history(&mut self) {
        let mut by_age: Vec<(u64, String)> = self
            .spaces
            .iter()
            .map(|(name, space)| (space.used, name.clone()))
            .collect();
        by_age.sort();
        for (_, name) in by_age {
            if self.listing.history_total() <= HISTORY_BYTES / 2 {
                break;
            }
            if let Some(space) = self.spaces.get_mut(&name) {
                space.engine.forget_history();
                let (count, bytes) = (space.engine.item_count(), space.engine.store_bytes());
                self.listing.set(&name, count, bytes, 0);
            }
        }
    }

    /// Turns what a namespace's engine did into effects.
    fn after(&mut self, namespace: &str, request: &Request, outcome: Outcome, out: &mut Output) {
        let Outcome {
            mut response,
            changes,
            delay,
            fault,
            events,
            subscribe,
            forward,
            drop_namespace,
        } = outcome;
        self.recount(namespace);
        if !changes.is_empty() {
            out.push(Effect::Persist {
                namespace: namespace.to_owned(),
                changes,
            });
        }
        if !events.is_empty() {
            out.push(Effect::Publish(Publication {
                namespace: namespace.to_owned(),
                events,
            }));
        }
        if let Some(name) = drop_namespace {
            self.drop_namespace(&name, out);
        }
        if let Some(mut forward) = forward {
            self.next_ticket += 1;
            let ticket = Ticket(self.next_ticket);
            let mut kept = request.clone();
            kept.body.truncate(KEPT_BODY);
            let mut held = forward.clone();
            held.body = Vec::new();
            forward.rule_headers = Vec::new();
            self.waiting.push_back((
                ticket,
                Waiting {
                    namespace: namespace.to_owned(),
                    request: kept,
                    forward: held,
                },
            ));
            while self.waiting.len() > MAX_FORWARDS {
                self.waiting.pop_front();
            }
            out.push(Effect::Forward(ticket, forward));
            return;
        }
        if let Some(subscription) = subscribe {
            let limit = self.config.max_subscribers;
            if self.streams.len() >= limit {
                response = self.error_response(&ApiError::TooManySubscribers { limit }, request);
            } else {
                let id = self.streams.open(namespace, subscription);
                if !delay.is_zero() {
                    out.push(Effect::Wait(delay));
                }
                out.push(Effect::Stream(id, response));
                return;
            }
        }
        if !delay.is_zero() {
            out.push(Effect::Wait(delay));
        }
        match fault {
            Some(Fault::Reset) => out.push(Effect::Drop(response)),
            _ => out.push(Effect::Respond(response)),
        }
    }

    /// A change made to a namespace by its host's storage, applied as the
    /// engine applies it (for a host that replays its storage).
    pub fn apply(&mut self, namespace: &str, change: &Change) {
        if let Some(space) = self.spaces.get_mut(namespace) {
            space.engine.apply(change);
        }
        self.recount(namespace);
    }
}
