//! The engine: routes a request, reads or changes the store, and says what to answer.

use crate::body;
use crate::controls::{reason_phrase, Controls};
use crate::error::ApiError;
use crate::journal::{Journal, DEFAULT_JOURNAL_SIZE};
use crate::openapi;
use crate::pages::{self, Storage};
use crate::query::ListQuery;
use crate::request::{Method, Request};
use crate::response::{Change, Outcome, Response};
use crate::route::Route;
use crate::select::{select, Selection};
use crate::snapshot::{self, Snapshot};
use crate::store::{Item, Store};
use crate::text;
use std::fmt::Write;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The default body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Headers a browser may send on a cross-origin request, for preflights that do not ask.
const ALLOWED_REQUEST_HEADERS: &str =
    "Content-Type, Authorization, If-Match, If-None-Match, X-Mock-Delay, X-Mock-Status, X-Mock-Namespace";

/// Response headers a cross-origin script may read.
const EXPOSED_HEADERS: &str = "X-Total-Count, Link, ETag";

const JSON: &str = "application/json";
const HTML: &str = "text/html; charset=utf-8";

/// What the engine is told at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APP_NAME`: shown by `/health` and the homepage.
    pub app_name: String,
    /// `APP_VERSION`: shown by `/health` and the homepage.
    pub app_version: String,
    /// The largest request body accepted, in bytes; larger ones get `413`.
    pub max_body_bytes: usize,
    /// `CORS_ORIGINS`: the origins allowed to read responses. Empty means any
    /// (`Access-Control-Allow-Origin: *`); otherwise a listed `Origin` is echoed
    /// and responses vary on `Origin`. `*` in the list allows any origin by echo.
    pub cors_origins: Vec<String>,
    /// A delay for every response that does not ask for its own.
    pub default_delay: Duration,
    /// How many requests the journal keeps.
    pub journal_size: usize,
    /// `API_TOKEN`: when set, every route but `/` and `/health` needs
    /// `Authorization: Bearer <token>`.
    pub api_token: Option<String>,
    /// `AUTH_SCOPE`: which requests the token guards.
    pub auth_scope: AuthScope,
    /// Whether the host listens where others can reach it; with no token, the
    /// homepage then warns that anyone can change the data.
    pub publicly_reachable: bool,
    /// `MAX_ITEMS`: the most items the store holds; a write past it is `507`.
    pub max_items: usize,
    /// `MAX_TYPES`: the most resource types the store holds; a new type past it is `507`.
    pub max_types: usize,
    /// `MAX_URI_BYTES`: the longest path and query; longer is `414`.
    pub max_uri_bytes: usize,
}

/// The default `MAX_ITEMS`.
pub const DEFAULT_MAX_ITEMS: usize = 1_000_000;
/// The default `MAX_TYPES`.
pub const DEFAULT_MAX_TYPES: usize = 10_000;
/// The default `MAX_URI_BYTES`.
pub const DEFAULT_MAX_URI_BYTES: usize = 8 * 1024;

/// Which requests `API_TOKEN` guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthScope {
    /// Every route but `/` and `/health` (`AUTH_SCOPE=all`, the default).
    #[default]
    All,
    /// Only writes and `/__admin`; reads of `/api` and `/openapi.json` are open (`AUTH_SCOPE=writes`).
    Writes,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            app_name: "mock-rest-api".to_owned(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            cors_origins: Vec::new(),
            default_delay: Duration::ZERO,
            journal_size: DEFAULT_JOURNAL_SIZE,
            api_token: None,
            auth_scope: AuthScope::All,
            publicly_reachable: false,
            max_items: DEFAULT_MAX_ITEMS,
            max_types: DEFAULT_MAX_TYPES,
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
        }
    }
}

/// The settings [`Config::set`] takes, by the names of the contract (the
/// native server's environment variables).
pub const SETTING_NAMES: [&str; 11] = [
    "APP_NAME",
    "APP_VERSION",
    "API_TOKEN",
    "AUTH_SCOPE",
    "CORS_ORIGINS",
    "DELAY_MS",
    "JOURNAL_SIZE",
    "MAX_BODY_BYTES",
    "MAX_ITEMS",
    "MAX_TYPES",
    "MAX_URI_BYTES",
];

impl Config {
    /// Sets one setting from its text, by its name in [`SETTING_NAMES`], so
    /// that every host reads settings alike. An empty (or blank) value leaves
    /// the setting as it is. The error says why a value was refused (`not a
    /// whole number`, `at most 30000`, ...) or that the name is not a setting;
    /// the host puts its own name for the setting in front.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let value = value.trim();
        if !SETTING_NAMES.contains(&name) {
            return Err(format!(
                "not a setting; the settings are {}",
                SETTING_NAMES.join(", ")
            ));
        }
        if value.is_empty() {
            return Ok(());
        }
        let number = |max: u64| match value.parse::<u64>() {
            Ok(number) if number <= max => Ok(number),
            Ok(_) => Err(format!("at most {max}")),
            Err(_) => Err("not a whole number".to_owned()),
        };
        let size = || number(u64::MAX).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        let max_delay_ms =
            u64::try_from(crate::controls::MAX_DELAY.as_millis()).unwrap_or(u64::MAX);
        match name {
            "APP_NAME" => self.app_name = value.to_owned(),
            "APP_VERSION" => self.app_version = value.to_owned(),
            "API_TOKEN" => self.api_token = Some(value.to_owned()),
            "AUTH_SCOPE" => {
                self.auth_scope = match value {
                    "all" => AuthScope::All,
                    "writes" => AuthScope::Writes,
                    _ => return Err("`all` or `writes`".to_owned()),
                }
            }
            "CORS_ORIGINS" => {
                self.cors_origins = value
                    .split(',')
                    .map(str::trim)
                    .filter(|origin| !origin.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "DELAY_MS" => self.default_delay = Duration::from_millis(number(max_delay_ms)?),
            "JOURNAL_SIZE" => self.journal_size = size()?,
            "MAX_BODY_BYTES" => self.max_body_bytes = size()?,
            "MAX_ITEMS" => self.max_items = size()?,
            "MAX_TYPES" => self.max_types = size()?,
            _ => self.max_uri_bytes = size()?,
        }
        Ok(())
    }
}

/// Where new `_id`s come from: 16 random bytes a call, which the engine turns
/// into a UUID v4. Hosts pass a real random source; tests pass [`SeededIds`].
pub trait IdSource: Send {
    /// Sixteen fresh random bytes.
    fn random_bytes(&mut self) -> [u8; 16];
}

/// A deterministic [`IdSource`] (SplitMix64 from a seed), for tests and replays.
#[derive(Debug, Clone)]
pub struct SeededIds {
    state: u64,
}

impl SeededIds {
    /// A source that gives the same ids for the same seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl IdSource for SeededIds {
    fn random_bytes(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes
    }
}

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
    ids: Box<dyn IdSource>,
    started: Duration,
    /// What the host's storage reports to `/health`, if it is not well.
    storage: Option<Storage>,
}

impl Engine {
    /// An engine with an empty store. `started` is the time since the Unix epoch
    /// at which the server started; uptime counts from it.
    pub fn new(config: Config, ids: Box<dyn IdSource>, started: Duration) -> Self {
        Self {
            journal: Journal::new(config.journal_size),
            config,
            store: Store::new(),
            initial: Store::new(),
            ids,
            started,
            storage: None,
        }
    }

    /// Loads fixtures (a snapshot: `{"type": [items]}`) as the store to start
    /// from and to reset to. Items keep the `_id`s they carry. On error
    /// (invalid JSON names line and column) nothing is loaded. Returns the
    /// number of items.
    pub fn load_fixtures(&mut self, bytes: &[u8]) -> Result<usize, ApiError> {
        let count = self.restore(bytes)?;
        self.initial = self.store.clone();
        Ok(count)
    }

    /// Replaces the store with a snapshot, as [`Engine::load_fixtures`] reads
    /// it, but keeps what `POST /__admin/reset` restores: for a host that
    /// rebuilds the store from its files (then [`Engine::apply`]s its journal).
    pub fn restore(&mut self, bytes: &[u8]) -> Result<usize, ApiError> {
        let ids = &mut self.ids;
        let snapshot = Snapshot::parse(bytes, &mut || new_id(ids.as_mut()))?;
        let count = snapshot.items.len();
        let store = snapshot.into_store();
        self.check_store_fits(&store)?;
        self.store = store;
        Ok(count)
    }

    /// Sets what `/health` reports about the host's storage (`None`: well).
    pub fn set_storage(&mut self, storage: Option<Storage>) {
        self.storage = storage;
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store, for hosts that persist it and for tests.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Applies a change, as when replaying what an earlier run recorded.
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Put { resource, id, item } => self.store.put(resource, id, item.clone()),
            Change::Delete { resource, id } => {
                self.store.remove(resource, id);
            }
            Change::Clear { resource } => {
                self.store.clear(resource);
            }
            Change::ClearAll => self.store = Store::new(),
        }
    }

    /// Handles one request at time `now` (since the Unix epoch).
    pub fn handle(&mut self, request: &Request, now: Duration) -> Outcome {
        let mut changes = Vec::new();
        let mut delay = self.config.default_delay;
        let route = Route::parse(&request.path);
        let mut response = match &route {
            Ok(route) => self.dispatch(route, request, now, &mut delay, &mut changes),
            Err(err) => Err(err.clone()),
        }
        .unwrap_or_else(|err| err.to_response());
        if !route.as_ref().is_ok_and(Route::is_admin) {
            self.journal.record(request, response.status, now);
        }
        self.finish(&mut response, request);
        Outcome {
            response,
            changes,
            delay,
        }
    }

    /// Adds what every response carries (CORS headers) and makes a `HEAD`
    /// answer bodiless. [`Engine::handle`] does this; a host that answers an
    /// error of its own ([`ApiError::to_response`]) calls it too.
    pub fn finish(&self, response: &mut Response, request: &Request) {
        self.add_cors_headers(response, request);
        if request.method == Method::Head {
            let length = response.body.len();
            response.body.clear();
            response
                .headers
                .push(("content-length", length.to_string()));
        }
    }

    /// The whole store as snapshot JSON (`{"type": [items]}`), for a host that
    /// persists it.
    pub fn snapshot(&self) -> Vec<u8> {
        snapshot::render(&self.store)
    }

    /// Makes the current store the one `POST /__admin/reset` restores, as a
    /// host does after it has replayed its journal at start.
    pub fn mark_initial(&mut self) {
        self.initial = self.store.clone();
    }

    fn dispatch(
        &mut self,
        route: &Route,
        request: &Request,
        now: Duration,
        delay: &mut Duration,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let limit = self.config.max_uri_bytes;
        if request.path.len() + request.query.len() + 1 > limit {
            return Err(ApiError::UriTooLong { limit });
        }
        let limit = self.config.max_body_bytes;
        if request.body_too_large || request.body.len() > limit {
            return Err(ApiError::BodyTooLarge { limit });
        }
        if request.method == Method::Options {
            // A CORS preflight carries no token and must not be delayed or forced.
            *delay = Duration::ZERO;
            return Ok(preflight(route, request));
        }
        if !self.authorized(route, request) {
            return Err(ApiError::Unauthorized);
        }
        let controls = Controls::read(request)?;
        if let Some(asked) = controls.delay {
            *delay = asked;
        }
        if let Some(status) = controls.status {
            let message = format!(
                "Forced {status} {}: the request asked for it with X-Mock-Status or _status.",
                reason_phrase(status)
            );
            return Ok(respond(status, JSON, body::message_body(&message)));
        }
        if !route.takes(&request.method) {
            return Err(ApiError::MethodNotAllowed {
                method: request.method.to_string(),
                allow: route.allow(),
            });
        }
        let elapsed = now.saturating_sub(self.started);
        let (name, version) = (&self.config.app_name, &self.config.app_version);
        // `takes` has admitted only the methods of the route table, and HEAD
        // where GET is; every other pair below is unreachable.
        let warn = self.config.publicly_reachable && self.config.api_token.is_none();
        match (route.clone(), &request.method) {
            (Route::Home, _) => {
                let page = pages::homepage(name, version, elapsed, &self.store, warn);
                Ok(respond(200, HTML, page.into_bytes()))
            }
            (Route::Snapshot, Method::Put) => self.put_snapshot(&request.body, changes),
            (Route::Snapshot, _) => Ok(respond(200, JSON, snapshot::render(&self.store))),
            (Route::Reset, _) => Ok(self.reset(changes)),
            (Route::Requests, Method::Delete) => {
                let deleted = self.journal.clear();
                Ok(respond(
                    200,
                    JSON,
                    format!("{{\"deleted\":{deleted}}}").into_bytes(),
                ))
            }
            (Route::Requests, _) => self.requests(request),
            (Route::Health, _) => {
                let (status, doc) =
                    pages::health(name, version, elapsed, &self.store, self.storage.as_ref());
                Ok(respond(status, JSON, doc.to_string().into_bytes()))
            }
            (Route::OpenApi, _) => Ok(respond(200, JSON, openapi::document(name, version))),
            (Route::Collection { resource }, Method::Post) => {
                self.create(&resource, &request.body, changes)
            }
            (Route::Collection { resource }, Method::Delete) => Ok(self.clear(&resource, changes)),
            (Route::Collection { resource }, _) => self.list(&resource, request),
            (Route::Item { resource, id }, Method::Put) => {
                self.rewrite(&resource, &id, request, false, changes)
            }
            (Route::Item { resource, id }, Method::Patch) => {
                self.rewrite(&resource, &id, request, true, changes)
            }
            (Route::Item { resource, id }, Method::Delete) => {
                self.delete(&resource, &id, request, changes)
            }
            (Route::Item { resource, id }, _) => self.get(&resource, &id, request),
        }
    }

    /// Whether the request may use the route, given `API_TOKEN` and `AUTH_SCOPE`.
    fn authorized(&self, route: &Route, request: &Request) -> bool {
        let Some(token) = &self.config.api_token else {
            return true;
        };
        let reading = matches!(request.method, Method::Get | Method::Head);
        if route.is_public()
            || (self.config.auth_scope == AuthScope::Writes && reading && !route.is_admin())
        {
            return true;
        }
        let presented = request.header("authorization").and_then(|value| {
            let (scheme, credentials) = value.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| credentials.trim())
        });
        presented.is_some_and(|presented| bool::from(presented.as_bytes().ct_eq(token.as_bytes())))
    }

    fn put_snapshot(
        &mut self,
        body: &[u8],
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let ids = &mut self.ids;
        let snapshot = Snapshot::parse(body, &mut || new_id(ids.as_mut()))?;
        let store = snapshot.into_store();
        self.check_store_fits(&store)?;
        self.replace_store(store, changes);
        Ok(respond(200, JSON, snapshot::render(&self.store)))
    }

    fn reset(&mut self, changes: &mut Vec<Change>) -> Response {
        self.replace_store(self.initial.clone(), changes);
        let total = self.store.total();
        respond(
            200,
            JSON,
            format!("{{\"total_resources_count\":{total}}}").into_bytes(),
        )
    }

    /// Swaps in a whole new store, reported as `ClearAll` then a `Put` per item.
    fn replace_store(&mut self, store: Store, changes: &mut Vec<Change>) {
        self.store = store;
        changes.push(Change::ClearAll);
        for (resource, collection) in self.store.types() {
            for item in collection.iter() {
                if let Some(id) = item_id(item.json) {
                    changes.push(Change::Put {
                        resource: resource.to_owned(),
                        id,
                        item: item.json.to_owned(),
                    });
                }
            }
        }
    }

    fn requests(&self, request: &Request) -> Result<Response, ApiError> {
        let mut since = 0;
        let mut limit = None;
        for (key, value) in form_urlencoded::parse(request.query.as_bytes()) {
            let number = || {
                value.trim().parse::<u64>().map_err(|_| ApiError::BadQuery {
                    reason: format!("`{key}` must be a whole number; got `{value}`."),
                })
            };
            match key.as_ref() {
                "_since" => since = number()?,
                "_limit" => limit = Some(usize::try_from(number()?).unwrap_or(usize::MAX)),
                _ => {}
            }
        }
        let entries = self.journal.render(since, limit);
        Ok(respond(200, JSON, entries.to_string().into_bytes()))
    }

    fn list(&self, resource: &str, request: &Request) -> Result<Response, ApiError> {
        let query = ListQuery::parse(&request.query)?;
        let Selection {
            total,
            items,
            pages,
        } = select(self.store.collection(resource), &query);
        let size = items.iter().map(|item| item.json.len() + 1).sum::<usize>() + 2;
        let mut out = Vec::with_capacity(size);
        out.push(b'[');
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(item.json.as_bytes());
        }
        out.push(b']');
        let mut response = respond(200, JSON, out);
        response.headers.push(("x-total-count", total.to_string()));
        if let Some(pages) = pages {
            let base = page_url_base(request);
            let mut links = String::with_capacity(4 * (base.len() + 40));
            let mut link = |page: usize, rel: &str| {
                if !links.is_empty() {
                    links.push_str(", ");
                }
                let _ = write!(
                    links,
                    "<{base}_page={page}&_limit={}>; rel=\"{rel}\"",
                    pages.limit
                );
            };
            link(1, "first");
            if let Some(prev) = pages.prev {
                link(prev, "prev");
            }
            if let Some(next) = pages.next {
                link(next, "next");
            }
            link(pages.last, "last");
            response.headers.push(("link", links));
        }
        Ok(response)
    }

    fn get(&self, resource: &str, id: &str, request: &Request) -> Result<Response, ApiError> {
        let item = self.find(resource, id)?;
        let etag = item.etag();
        if request
            .header("if-none-match")
            .is_some_and(|wanted| etag_listed(wanted, &etag, true))
        {
            return Ok(Response {
                status: 304,
                headers: vec![("etag", etag)],
                body: Vec::new(),
            });
        }
        Ok(item_response(item))
    }

    fn create(
        &mut self,
        resource: &str,
        body: &[u8],
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        const SHAPE: ApiError = ApiError::WrongShape {
            expected: "a JSON object or an array of objects",
        };
        let json = body::parse(body)?;
        if json.is_object() {
            self.check_room(resource, 1)?;
            let id = self.insert_new(resource, &json.text, changes);
            return Ok(item_response(self.find(resource, &id)?));
        }
        let elements = json.array().ok_or(SHAPE)?;
        // All or nothing: every element is checked before any is created.
        if !elements.iter().all(|element| element.starts_with('{')) {
            return Err(SHAPE);
        }
        self.check_room(resource, elements.len())?;
        let mut out = b"[".to_vec();
        for (n, element) in elements.into_iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let id = self.insert_new(resource, element, changes);
            out.extend_from_slice(self.find(resource, &id)?.json.as_bytes());
        }
        out.push(b']');
        Ok(respond(200, JSON, out))
    }

    /// `507` unless `adding` more items of the type fit the store's limits.
    fn check_room(&self, resource: &str, adding: usize) -> Result<(), ApiError> {
        let limit = self.config.max_items;
        if self.store.total().saturating_add(adding) > limit {
            return Err(ApiError::StoreFull { limit });
        }
        let limit = self.config.max_types;
        if adding > 0
            && self.store.collection(resource).is_none()
            && self.store.counts().count() >= limit
        {
            return Err(ApiError::TooManyTypes { limit });
        }
        Ok(())
    }

    /// `507` unless a whole new store fits the limits.
    fn check_store_fits(&self, store: &Store) -> Result<(), ApiError> {
        if store.total() > self.config.max_items {
            return Err(ApiError::StoreFull {
                limit: self.config.max_items,
            });
        }
        if store.counts().count() > self.config.max_types {
            return Err(ApiError::TooManyTypes {
                limit: self.config.max_types,
            });
        }
        Ok(())
    }

    /// Stores a new item from a compact JSON object under a fresh id; returns the id.
    fn insert_new(&mut self, resource: &str, object: &str, changes: &mut Vec<Change>) -> String {
        let id = new_id(self.ids.as_mut());
        let item = text::item_text(object, &id);
        self.record(
            Change::Put {
                resource: resource.to_owned(),
                id: id.clone(),
                item,
            },
            changes,
        );
        id
    }

    /// PUT (`merge: false`) or PATCH (`merge: true`) of an item.
    fn rewrite(
        &mut self,
        resource: &str,
        id: &str,
        request: &Request,
        merge: bool,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let json = body::parse(&request.body)?;
        body::require_object(&json)?;
        let current = self.check_if_match(resource, id, request)?;
        let object = if merge {
            text::merge_patch(&current, &json.text)
        } else {
            json.text
        };
        self.write(resource, id, text::item_text(&object, id), changes)
    }

    fn delete(
        &mut self,
        resource: &str,
        id: &str,
        request: &Request,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        self.check_if_match(resource, id, request)?;
        let (json, tag) = self
            .store
            .remove(resource, id)
            .ok_or_else(|| ApiError::NotFound { id: id.to_owned() })?;
        changes.push(Change::Delete {
            resource: resource.to_owned(),
            id: id.to_owned(),
        });
        Ok(item_response(Item { json: &json, tag }))
    }

    fn clear(&mut self, resource: &str, changes: &mut Vec<Change>) -> Response {
        let deleted = self.store.clear(resource);
        if deleted > 0 {
            changes.push(Change::Clear {
                resource: resource.to_owned(),
            });
        }
        respond(200, JSON, format!("{{\"deleted\":{deleted}}}").into_bytes())
    }

    /// The item, or `404`.
    fn find(&self, resource: &str, id: &str) -> Result<Item<'_>, ApiError> {
        self.store
            .get(resource, id)
            .ok_or_else(|| ApiError::NotFound { id: id.to_owned() })
    }

    /// `404` if the item is missing, `412` if `If-Match` names another version;
    /// otherwise the item's current text.
    fn check_if_match(
        &self,
        resource: &str,
        id: &str,
        request: &Request,
    ) -> Result<String, ApiError> {
        let item = self.find(resource, id)?;
        if let Some(wanted) = request.header("if-match") {
            if !etag_listed(wanted, &item.etag(), false) {
                return Err(ApiError::PreconditionFailed { id: id.to_owned() });
            }
        }
        Ok(item.json.to_owned())
    }

    /// Stores an item's new text and answers with it.
    fn write(
        &mut self,
        resource: &str,
        id: &str,
        item: String,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        self.record(
            Change::Put {
                resource: resource.to_owned(),
                id: id.to_owned(),
                item,
            },
            changes,
        );
        Ok(item_response(self.find(resource, id)?))
    }

    /// Applies a change to the store and reports it.
    fn record(&mut self, change: Change, changes: &mut Vec<Change>) {
        self.apply(&change);
        changes.push(change);
    }

    fn add_cors_headers(&self, response: &mut Response, request: &Request) {
        let allowed = &self.config.cors_origins;
        if allowed.is_empty() {
            response
                .headers
                .push(("access-control-allow-origin", "*".to_owned()));
        } else {
            if let Some(origin) = request.header("origin") {
                if allowed.iter().any(|o| o == origin || o == "*") {
                    response
                        .headers
                        .push(("access-control-allow-origin", origin.to_owned()));
                }
            }
            response.headers.push(("vary", "Origin".to_owned()));
        }
        response
            .headers
            .push(("access-control-expose-headers", EXPOSED_HEADERS.to_owned()));
    }
}

/// A fresh lowercase hyphenated UUID v4.
fn new_id(ids: &mut dyn IdSource) -> String {
    uuid::Builder::from_random_bytes(ids.random_bytes())
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// The `_id` of a stored item (always its last member).
fn item_id(item: &str) -> Option<String> {
    text::members(item)
        .into_iter()
        .rev()
        .find(|member| member.key == body::ID_KEY)
        .and_then(|member| serde_json::from_str(member.value).ok())
}

/// Whether a conditional header's list names the tag (`*` names any).
/// `If-None-Match` compares weakly (a `W/` prefix is ignored), `If-Match` strongly.
fn etag_listed(header: &str, etag: &str, weak: bool) -> bool {
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*"
            || candidate == etag
            || (weak && candidate.strip_prefix("W/") == Some(etag))
    })
}

/// `scheme://host` of the request, from `Host` (and `X-Forwarded-Proto`, as a
/// proxy such as Elastic Beanstalk's or Cloudflare's sets it), so that page
/// links are absolute as json-server's are. Empty when there is no usable
/// `Host`, and the links are then relative to the server.
fn request_origin(request: &Request) -> String {
    let host = request.header("host").filter(|host| {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
    });
    let scheme = match request.header("x-forwarded-proto") {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    host.map(|host| format!("{scheme}://{host}"))
        .unwrap_or_default()
}

/// A page link up to its `_page`: the request's origin, path and query
/// without `_page` and `_limit`, ending in `?` or `&`.
fn page_url_base(request: &Request) -> String {
    let mut url = request_origin(request);
    url.push_str(&request.path);
    url.push('?');
    for pair in request.query.split('&').filter(|pair| !pair.is_empty()) {
        let key = form_urlencoded::parse(pair.as_bytes())
            .next()
            .map(|(key, _)| key)
            .unwrap_or_default();
        if key != "_page" && key != "_limit" {
            url.push_str(pair);
            url.push('&');
        }
    }
    url
}

/// A `204` answer to `OPTIONS`, which is also a CORS preflight.
fn preflight(route: &Route, request: &Request) -> Response {
    let allow = route.allow();
    let headers = request
        .header("access-control-request-headers")
        .unwrap_or(ALLOWED_REQUEST_HEADERS);
    Response {
        status: 204,
        headers: vec![
            ("allow", allow.to_owned()),
            ("access-control-allow-methods", allow.to_owned()),
            ("access-control-allow-headers", headers.to_owned()),
            ("access-control-max-age", "86400".to_owned()),
        ],
        body: Vec::new(),
    }
}

fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Response {
    Response {
        status,
        headers: vec![("content-type", content_type.to_owned())],
        body,
    }
}

fn item_response(item: Item<'_>) -> Response {
    let mut response = respond(200, JSON, item.json.as_bytes().to_vec());
    response.headers.push(("etag", item.etag()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::ROUTES;

    const T0: Duration = Duration::from_secs(1_700_000_000);

    fn engine() -> Engine {
        Engine::new(Config::default(), Box::new(SeededIds::new(7)), T0)
    }

    fn send(engine: &mut Engine, method: Method, target: &str, body: &str) -> Outcome {
        engine.handle(&Request::new(method, target).with_body(body), T0)
    }

    fn text(outcome: &Outcome) -> &str {
        std::str::from_utf8(&outcome.response.body).unwrap()
    }

    #[test]
    fn ids_are_pinned_by_the_seed_and_are_uuid_v4() {
        let a = send(&mut engine(), Method::Post, "/api/p", "{}");
        let b = send(&mut engine(), Method::Post, "/api/p", "{}");
        assert_eq!(a, b);
        let id = match &a.changes[..] {
            [Change::Put { id, .. }] => id.clone(),
            other => panic!("unexpected {other:?}"),
        };
        let parsed = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(id, id.to_lowercase());
        assert_eq!(text(&a), format!(r#"{{"_id":"{id}"}}"#));
    }

    #[test]
    fn changes_replay_into_the_same_store() {
        let mut live = engine();
        let mut log = Vec::new();
        let created = send(
            &mut live,
            Method::Post,
            "/api/p",
            r#"[{"a":1},{"a":2},{"a":3}]"#,
        );
        log.extend(created.changes.clone());
        let Change::Put { id, .. } = &created.changes[0] else {
            panic!("expected a put")
        };
        let target = format!("/api/p/{id}");
        log.extend(send(&mut live, Method::Put, &target, r#"{"a":3}"#).changes);
        log.extend(send(&mut live, Method::Patch, &target, r#"{"b":4}"#).changes);
        log.extend(send(&mut live, Method::Delete, &target, "").changes);
        log.extend(send(&mut live, Method::Post, "/api/q", "{}").changes);
        log.extend(send(&mut live, Method::Delete, "/api/q", "").changes);
        assert_eq!(log.len(), 8);

        let mut replayed = engine();
        for change in &log {
            replayed.apply(change);
        }
        for target in ["/api/p", "/api/q", "/health"] {
            let list = |e: &mut Engine| text(&send(e, Method::Get, target, "")).to_owned();
            assert_eq!(list(&mut live), list(&mut replayed));
        }
    }

    #[test]
    fn failed_requests_change_nothing() {
        let mut engine = engine();
        let created = send(&mut engine, Method::Post, "/api/p", r#"{"a":1}"#);
        let Change::Put { id, .. } = &created.changes[0] else {
            panic!("expected a put")
        };
        let item = format!("/api/p/{id}");
        let stale = Request::new(Method::Put, &item)
            .with_header("If-Match", "\"0000000000000000\"")
            .with_body("{}");
        assert_eq!(engine.handle(&stale, T0).response.status, 412);
        for (method, target, body) in [
            (Method::Post, "/api/p", r#"[{"a":1}, 2]"#),
            (Method::Post, "/api/p", "[1"),
            (Method::Put, "/api/p/none", "{}"),
            (Method::Patch, &item, "[]"),
            (Method::Delete, "/api/p/none", ""),
            (Method::Get, "/api/p?_page=0", ""),
            (Method::Put, "/api/p", "{}"),
        ] {
            let outcome = send(&mut engine, method, target, body);
            assert!(outcome.response.status >= 400, "{target} {body}");
            assert!(outcome.changes.is_empty());
        }
        assert_eq!(engine.store().total(), 1);
        assert_eq!(
            text(&send(&mut engine, Method::Get, &item, "")),
            format!(r#"{{"a":1,"_id":"{id}"}}"#)
        );
    }

    #[test]
    fn the_route_table_and_the_dispatcher_agree() {
        // Every method of the table is dispatched (never a 405), and every other is a 405.
        let methods = [
            Method::Get,
            Method::Head,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
        ];
        for spec in ROUTES {
            let target = spec
                .template
                .replace("{resource}", "p")
                .replace("{id}", "x");
            let route = Route::parse(&target).unwrap();
            for method in &methods {
                let status = send(&mut engine(), method.clone(), &target, "{}")
                    .response
                    .status;
                assert_eq!(
                    status == 405,
                    !route.takes(method),
                    "{method} {target}: {status}"
                );
            }
        }
    }

    #[test]
    fn head_has_no_body_but_the_get_length() {
        let mut engine = engine();
        let get = send(&mut engine, Method::Get, "/health", "");
        let head = send(&mut engine, Method::Head, "/health", "");
        assert!(head.response.body.is_empty());
        let length = get.response.body.len().to_string();
        assert_eq!(
            head.response.header("content-length"),
            Some(length.as_str())
        );
    }

    #[test]
    fn body_limit_is_inclusive() {
        let config = Config {
            max_body_bytes: 10,
            ..Config::default()
        };
        let mut engine = Engine::new(config, Box::new(SeededIds::new(1)), T0);
        assert_eq!(
            send(&mut engine, Method::Post, "/api/p", r#"{"a":"12"}"#)
                .response
                .status,
            200
        );
        assert_eq!(
            send(&mut engine, Method::Post, "/api/p", r#"{"a":"123"}"#)
                .response
                .status,
            413
        );
        let mut flagged = Request::new(Method::Post, "/api/p");
        flagged.body_too_large = true;
        assert_eq!(engine.handle(&flagged, T0).response.status, 413);
    }

    #[test]
    fn settings_are_read_by_their_contract_names() {
        let mut config = Config::default();
        for (name, value) in [
            ("APP_NAME", "n"),
            ("API_TOKEN", "t"),
            ("AUTH_SCOPE", "writes"),
            ("CORS_ORIGINS", "http://a.test, ,http://b.test"),
            ("DELAY_MS", "30000"),
            ("MAX_URI_BYTES", "64"),
            ("APP_VERSION", " "),
        ] {
            config.set(name, value).unwrap();
        }
        assert_eq!(
            (config.app_name.as_str(), config.api_token.as_deref()),
            ("n", Some("t"))
        );
        assert_eq!(config.auth_scope, AuthScope::Writes);
        assert_eq!(config.cors_origins, ["http://a.test", "http://b.test"]);
        assert_eq!(config.default_delay, Duration::from_secs(30));
        assert_eq!(config.max_uri_bytes, 64);
        assert_eq!(
            config.app_version,
            Config::default().app_version,
            "blank leaves it"
        );
        assert_eq!(
            config.set("DELAY_MS", "30001"),
            Err("at most 30000".to_owned())
        );
        assert_eq!(
            config.set("JOURNAL_SIZE", "-1"),
            Err("not a whole number".to_owned())
        );
        assert_eq!(
            config.set("AUTH_SCOPE", "reads"),
            Err("`all` or `writes`".to_owned())
        );
        assert!(config
            .set("DELAY", "1")
            .unwrap_err()
            .starts_with("not a setting"));
    }

    #[test]
    fn page_links_keep_other_parameters() {
        let base = |target: &str| page_url_base(&Request::new(Method::Get, target));
        assert_eq!(
            base("/api/p?name=a%20b&_page=2&_limit=5&_sort=x"),
            "/api/p?name=a%20b&_sort=x&"
        );
        assert_eq!(base("/api/p/"), "/api/p/?");
    }

    #[test]
    fn page_links_are_absolute_when_the_host_is_known() {
        let origin = |headers: &[(&str, &str)]| {
            let mut request = Request::new(Method::Get, "/api/p");
            for (name, value) in headers {
                request = request.with_header(name, value);
            }
            request_origin(&request)
        };
        assert_eq!(
            origin(&[("Host", "localhost:5000")]),
            "http://localhost:5000"
        );
        assert_eq!(
            origin(&[("Host", "[::1]:80"), ("X-Forwarded-Proto", "https")]),
            "https://[::1]:80"
        );
        assert_eq!(origin(&[("Host", "evil>; rel=\"x\"")]), "");
        assert_eq!(origin(&[]), "");
    }
}
