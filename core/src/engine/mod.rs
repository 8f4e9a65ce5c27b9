//! The engine: routes a request, reads or changes the store, and says what to
//! answer. This module is the dispatcher; each kind of route has its own:
//! [`items`] (create, read, replace, patch, delete), [`lists`] (list queries
//! and page links) and [`admin`] (`/__admin/*`). CORS and access checks live
//! in [`crate::cors`] and [`crate::access`].

mod admin;
mod items;
mod lists;
mod proxy;
mod rules;

pub(crate) use rules::put_change;

use crate::access;
use crate::config::Config;
use crate::controls::{reason_phrase, Controls};
use crate::cors;
use crate::error::{message_body, ApiError};
use crate::feed::{self, ChangeFeed, Subscription};
use crate::ids::{content_seed, new_id, IdSource, SeededIds};
use crate::journal::Journal;
use crate::openapi;
use crate::pages::{self, Storage};
use crate::query::Patterns;
use crate::request::{Method, Request};
use crate::response::{Change, Outcome, Response};
use crate::route::Route;
use crate::rules::Rules;
use crate::snapshot::{self, Snapshot};
use crate::store::Store;
use std::time::Duration;

const JSON: &str = "application/json";
const HTML: &str = "text/html; charset=utf-8";

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
    /// The host's namespaces and their item counts, for `/health` and `/`.
    namespaces: Vec<(String, usize)>,
    /// The change feed: its sequence and the events kept for replay.
    feed: ChangeFeed,
    /// The subscription a `GET /__admin/events` being handled has accepted.
    subscribing: Option<Subscription>,
    /// `_like` patterns compiled by earlier list queries.
    patterns: Patterns,
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
            namespaces: Vec::new(),
            feed: ChangeFeed::new(),
            subscribing: None,
            patterns: Patterns::default(),
        }
    }

    /// Loads fixtures (a snapshot: `{"type": [items], "singular": {...}}`) as
    /// the store to start from and to reset to. Items keep the ids they carry
    /// (under `ID_FIELD`; strings or integers, one kind per type); an item without
    /// one gets the next integer in a type of integer ids, and otherwise an id
    /// that depends only on the fixtures' bytes and the item's place, so every start from the same file (a restart, another host, a
    /// service worker started again) gives it the same id. On error (invalid
    /// JSON names line and column) nothing is loaded. Returns the number of
    /// items.
    pub fn load_fixtures(&mut self, bytes: &[u8]) -> Result<usize, ApiError> {
        let count = self.restore(bytes)?;
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
        let snapshot = Snapshot::parse(bytes, &self.config.id_field, &mut || new_id(&mut ids))?;
        let count = snapshot.items.len();
        let store = snapshot.into_store();
        self.check_store_fits(&store)?;
        self.store = store;
        self.rules = self.initial_rules.clone();
        Ok(count)
    }

    /// Sets what `/health` reports about the host's storage (`None`: well).
    pub fn set_storage(&mut self, storage: Option<Storage>) {
        self.storage = storage;
    }

    /// Sets the namespaces a host with several holds, by name with their
    /// item counts, which `/health` and the homepage list when there is more
    /// than the default one. A host sets them before the requests for `/` and
    /// `/health` ([`Engine::shows_namespaces`]).
    pub fn set_namespaces(&mut self, namespaces: Vec<(String, usize)>) {
        self.namespaces = namespaces;
    }

    /// Whether the answer to `request` lists the namespaces (it is for `/`
    /// or `/health`): a host computes them only then.
    pub fn shows_namespaces(request: &Request) -> bool {
        matches!(request.path.as_str(), "/" | "/health")
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

    /// Handles one request at time `now` (since the Unix epoch). With
    /// `PROXY_TARGET` set, the outcome of a request that no rule answers
    /// asks the host to forward it ([`Outcome::forward`]); the host then
    /// answers with what [`Engine::proxied`] makes of the target's answer.
    pub fn handle(&mut self, request: &Request, now: Duration) -> Outcome {
        let mut changes = Vec::new();
        let mut delay = self.config.default_delay;
        let route = Route::parse_under(&request.path, &self.config.api_prefix)
            .map(|route| self.resolve(route));
        let mut fault = None;
        let mut through = None;
        // A target that is not a path (`*`) is answered `400` by the routes:
        // no rule matches it and it is never joined to `PROXY_TARGET`.
        let origin_form = request.path.starts_with('/');
        let proxying = origin_form
            && self.config.proxy_target.is_some()
            && !crate::proxy::is_local(&request.path);
        let step = if origin_form {
            self.rule_step(&route, request, now, &mut changes)
        } else {
            rules::Step::Store
        };
        let (result, rule) = match step {
            rules::Step::Answer {
                rule,
                response,
                delay: asked,
                fault: asked_fault,
            } => {
                delay = asked.unwrap_or(delay);
                fault = asked_fault;
                (Ok(response), rule)
            }
            rules::Step::Through {
                rule,
                headers,
                delay: asked,
            } => {
                delay = asked.unwrap_or(delay);
                if proxying {
                    match self.proxy_step(&route, request, &mut delay) {
                        None => {
                            return self.forwarding(request, Some(rule), headers, delay, changes)
                        }
                        Some(result) => {
                            through = Some(headers);
                            (result, Some(rule))
                        }
                    }
                } else {
                    through = Some(headers);
                    (
                        self.answer(&route, request, now, &mut delay, &mut changes),
                        Some(rule),
                    )
                }
            }
            rules::Step::Store if proxying => match self.proxy_step(&route, request, &mut delay) {
                None => return self.forwarding(request, None, Vec::new(), delay, changes),
                Some(result) => (result, None),
            },
            rules::Step::Store => (
                self.answer(&route, request, now, &mut delay, &mut changes),
                None,
            ),
        };
        let refused = matches!(result, Err(ApiError::Unauthorized));
        let mut response = result.unwrap_or_else(|err| err.to_response());
        if let Some(headers) = through {
            rules::set_headers(&mut response, headers);
        }
        // Admin routes, the journal's own reads among them, are not recorded.
        match (route.as_ref().is_ok_and(Route::is_admin), refused) {
            (true, _) => {}
            (false, true) => self.journal.record_refused(request, now),
            (false, false) => self
                .journal
                .record(request, response.status, now, rule.as_deref()),
        }
        let events = match &route {
            Ok(route) if !changes.is_empty() => self.feed.record(route, &request.method, &changes),
            _ => Vec::new(),
        };
        let subscribe = self.subscribing.take();
        self.finish(&mut response, request);
        Outcome {
            response,
            changes,
            delay,
            fault,
            events,
            subscribe,
            forward: None,
        }
    }

    /// A collection's path that names a singular resource is that resource's.
    fn resolve(&self, route: Route) -> Route {
        match route {
            Route::Collection { resource } if self.store.single(&resource).is_some() => {
                Route::Single { resource }
            }
            other => other,
        }
    }

    /// The answer of the routes and the store.
    fn answer(
        &mut self,
        route: &Result<Route, ApiError>,
        request: &Request,
        now: Duration,
        delay: &mut Duration,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        match route {
            Ok(route) => self.dispatch(route, request, now, delay, changes),
            Err(err) => Err(err.clone()),
        }
    }

    /// Adds what every response carries (CORS headers) and makes a `HEAD`
    /// answer bodiless. [`Engine::handle`] does this; a host that answers an
    /// error of its own ([`ApiError::to_response`]) calls it too.
    pub fn finish(&self, response: &mut Response, request: &Request) {
        cors::add_headers(&self.config, response, request);
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
            return Ok(cors::preflight(route, request));
        }
        if !access::authorized(&self.config, route, request) {
            return Err(ApiError::Unauthorized);
        }
        let controls = Controls::read(request)?;
        if let Some(asked) = controls.delay {
            *delay = asked;
        }
        if let Some(status) = controls.status {
            return Ok(forced(status));
        }
        if !route.takes(&request.method) {
            return Err(ApiError::MethodNotAllowed {
                method: request.method.to_string(),
                allow: route.allow(),
            });
        }
        crate::query::check_route_query(route, &request.method, &request.query)?;
        let elapsed = now.saturating_sub(self.started);
        let (name, version) = (&self.config.app_name, &self.config.app_version);
        // `takes` has admitted only the methods of the route table, and HEAD
        // where GET is; every other pair below is unreachable.
        match (route, &request.method) {
            (Route::Home, _) => {
                // `/` is open; what the feed and the journal hold is not.
                let withheld = !access::presents_token(&self.config, request);
                let recent = pages::Recent {
                    changes: if withheld {
                        Vec::new()
                    } else {
                        self.feed.latest(10)
                    },
                    requests: if withheld {
                        serde_json::Value::Null
                    } else {
                        self.journal.page(None, Some(10)).entries
                    },
                    seq: self.feed.last(),
                    withheld,
                };
                let mut page = pages::homepage(&self.config, elapsed, &self.store, &recent);
                pages::add_namespaces_html(&mut page, &self.namespaces);
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
            (Route::Rules, Method::Post) => self.add_rule(&request.body, changes),
            (Route::Rules, Method::Delete) => Ok(self.clear_rules(changes)),
            (Route::Rules, _) => Ok(self.list_rules()),
            (Route::Rule { id }, _) => self.delete_rule(id, changes),
            (Route::Events, method) => {
                let (subscription, since) = feed::subscription(request)?;
                let replay = self.feed.replay(since, &subscription);
                if *method == Method::Get {
                    self.subscribing = Some(subscription);
                }
                let mut response = respond(200, "text/event-stream", replay);
                response
                    .headers
                    .push(("cache-control", "no-store".to_owned()));
                // Proxies such as nginx would otherwise hold the events back.
                response
                    .headers
                    .push(("x-accel-buffering", "no".to_owned()));
                Ok(response)
            }
            (Route::Health, _) => {
                let (status, mut doc) =
                    pages::health(name, version, elapsed, &self.store, self.storage.as_ref());
                pages::add_namespaces(&mut doc, &self.namespaces);
                Ok(respond(status, JSON, doc.to_string().into_bytes()))
            }
            (Route::OpenApi, _) => Ok(respond(
                200,
                JSON,
                openapi::document(&self.config, &self.store),
            )),
            (Route::Collection { resource }, Method::Post) => {
                self.create(resource, &request.body, now, changes)
            }
            (Route::Collection { resource }, Method::Delete) => Ok(self.clear(resource, changes)),
            (Route::Collection { resource }, _) => self.list(resource, request),
            (Route::Item { resource, id }, Method::Put) => {
                self.rewrite(resource, id, request, false, now, changes)
            }
            (Route::Item { resource, id }, Method::Patch) => {
                self.rewrite(resource, id, request, true, now, changes)
            }
            (Route::Item { resource, id }, Method::Delete) => {
                self.delete(resource, id, request, changes)
            }
            (Route::Item { resource, id }, _) => self.get(resource, id, request),
            (Route::Single { resource }, Method::Put) => {
                self.rewrite_single(resource, request, false, now, changes)
            }
            (Route::Single { resource }, Method::Patch) => {
                self.rewrite_single(resource, request, true, now, changes)
            }
            (Route::Single { resource }, _) => self.get_single(resource, request),
            (
                Route::Children {
                    resource,
                    id,
                    children,
                },
                Method::Post,
            ) => self.create_child(resource, id, children, &request.body, now, changes),
            (
                Route::Children {
                    resource,
                    id,
                    children,
                },
                _,
            ) => self.list_children(resource, id, children, request),
        }
    }

    /// Applies a change to the store and reports it.
    fn record(&mut self, change: Change, changes: &mut Vec<Change>) {
        self.apply(&change);
        changes.push(change);
    }
}

/// The answer to `X-Mock-Status` (or `_status`).
fn forced(status: u16) -> Response {
    let message = format!(
        "Forced {status} {}: the request asked for it with X-Mock-Status or _status.",
        reason_phrase(status)
    );
    respond(status, JSON, message_body(&message))
}

fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Response {
    // Room for what most answers add: `etag`, `location` and the CORS headers.
    let mut headers = Vec::with_capacity(6);
    headers.push(("content-type", content_type.to_owned()));
    Response {
        status,
        headers,
        body,
    }
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
            [Change::CreateType { .. }, Change::Create { id, .. }] => id.clone(),
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
        let Change::Create { id, .. } = &created.changes[1] else {
            panic!("expected a put")
        };
        let target = format!("/api/p/{id}");
        log.extend(send(&mut live, Method::Put, &target, r#"{"a":3}"#).changes);
        log.extend(send(&mut live, Method::Patch, &target, r#"{"b":4}"#).changes);
        log.extend(send(&mut live, Method::Delete, &target, "").changes);
        log.extend(send(&mut live, Method::Post, "/api/q", "{}").changes);
        log.extend(send(&mut live, Method::Delete, "/api/q", "").changes);
        let kinds: Vec<&str> = log
            .iter()
            .map(|change| match change {
                Change::CreateType { .. } => "create_type",
                Change::Create { .. } => "create",
                Change::Replace { .. } => "replace",
                Change::Delete { .. } => "delete",
                Change::DropType { .. } => "drop_type",
                Change::ClearAll => "clear_all",
                Change::PutSingle { .. } => "put_single",
                Change::PutRule { .. } => "put_rule",
                Change::DeleteRule { .. } => "delete_rule",
                Change::ClearRules => "clear_rules",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "create_type",
                "create",
                "create",
                "create",
                "replace",
                "replace",
                "delete",
                "create_type",
                "create",
                "drop_type"
            ]
        );

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
        let Change::Create { id, .. } = &created.changes[1] else {
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
        assert_eq!(engine.store.total(), 1);
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
    fn fixtures_past_the_byte_budget_are_refused_whole() {
        let fixtures = br#"{"p":[{"_id":"a","s":"0123456789"}],"q":[{"_id":"b"}]}"#;
        // {"s":"0123456789","_id":"a"} is 29 bytes and {"_id":"b"} 10.
        for (budget, loaded) in [(39, true), (38, false)] {
            let config = Config {
                max_store_bytes: budget,
                ..Config::default()
            };
            let mut engine = Engine::new(config, Box::new(SeededIds::new(1)), T0);
            match engine.load_fixtures(fixtures) {
                Ok(count) => {
                    assert!(loaded, "{budget}");
                    assert_eq!(count, 2);
                    assert_eq!(engine.store.bytes(), 39);
                }
                Err(err) => {
                    assert!(!loaded, "{budget}: {err}");
                    assert_eq!(err.status(), 507);
                    assert!(err.message().contains("MAX_STORE_BYTES"));
                    assert_eq!(engine.store.total(), 0);
                }
            }
        }
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
    fn fixture_items_without_ids_get_the_same_ids_on_every_start() {
        let fixtures = br#"{"b":[{"_id":"x\"1","n":1.10}],"a":[{"n":2},{"n":3}]}"#;
        let start = |seed: u64| {
            let mut engine = Engine::new(Config::default(), Box::new(SeededIds::new(seed)), T0);
            engine.load_fixtures(fixtures).unwrap();
            engine.snapshot()
        };
        // Different random sources (as two starts of a host have): the same ids.
        assert_eq!(start(1), start(2));
        let mut other = Engine::new(Config::default(), Box::new(SeededIds::new(1)), T0);
        other.load_fixtures(br#"{"a":[{"n":2},{"n":4}]}"#).unwrap();
        let first_id = |snapshot: &[u8]| -> String {
            let value: serde_json::Value = serde_json::from_slice(snapshot).unwrap();
            value["a"][0]["_id"].as_str().unwrap().to_owned()
        };
        assert_ne!(
            first_id(&start(1)),
            first_id(&other.snapshot()),
            "other content, other ids"
        );
    }

    #[test]
    fn rebuild_changes_replay_into_the_same_store() {
        let mut engine = engine();
        engine
            .load_fixtures(br#"{"b":[{"_id":"x\"1","n":1.10}],"a":[{"n":2},{"n":3}]}"#)
            .unwrap();
        assert_eq!(
            send(&mut engine, Method::Post, "/api/b", r#"{"n":4}"#)
                .response
                .status,
            200
        );
        let changes = engine.rebuild_changes();
        assert_eq!(
            changes.len(),
            8,
            "clear, 2 types, 4 items, clear rules: {changes:?}"
        );
        assert_eq!(changes[7], Change::ClearRules);
        assert_eq!(changes[0], Change::ClearAll);
        assert_eq!(
            changes[1],
            Change::CreateType {
                resource: "b".to_owned()
            }
        );
        let mut copy = Engine::new(Config::default(), Box::new(SeededIds::new(8)), T0);
        for change in &changes {
            copy.apply(change);
        }
        assert_eq!(copy.snapshot(), engine.snapshot());
        let get = Request::new(Method::Get, "/api/b/x%221");
        assert_eq!(copy.handle(&get, T0).response.status, 200);
    }

    #[test]
    fn integer_ids_and_singular_resources_replay_from_their_changes() {
        let config = || {
            Config::default()
                .from_settings([("ID_FIELD", "id")])
                .unwrap()
                .0
        };
        let mut live = Engine::new(config(), Box::new(SeededIds::new(3)), T0);
        let mut log = live.rebuild_changes();
        for (method, target, body) in [
            (
                Method::Put,
                "/__admin/snapshot",
                r#"{"posts":[{"id":1}],"me":{"a":1}}"#,
            ),
            (Method::Post, "/api/posts", r#"{"t":"x"}"#),
            (Method::Patch, "/api/posts/2", r#"{"t":"y"}"#),
            (Method::Patch, "/api/me", r#"{"b":2}"#),
            (Method::Delete, "/api/posts/1", ""),
        ] {
            let outcome = send(&mut live, method, target, body);
            assert_eq!(outcome.response.status, 200, "{target}: {}", text(&outcome));
            log.extend(outcome.changes);
        }
        assert!(log.contains(&Change::PutSingle {
            resource: "me".to_owned(),
            item: r#"{"a":1,"b":2}"#.to_owned()
        }));
        assert_eq!(
            String::from_utf8(live.snapshot()).unwrap(),
            r#"{"posts":[{"t":"y","id":2}],"me":{"a":1,"b":2}}"#
        );
        let mut copy = Engine::new(config(), Box::new(SeededIds::new(4)), T0);
        for change in &log {
            copy.apply(change);
        }
        assert_eq!(copy.snapshot(), live.snapshot());
        // The replayed store knows the ids are integers, and the largest.
        let next = send(&mut copy, Method::Post, "/api/posts", "{}");
        assert_eq!(text(&next), r#"{"id":3}"#);
        let mut rebuilt = Engine::new(config(), Box::new(SeededIds::new(5)), T0);
        for change in live.rebuild_changes() {
            rebuilt.apply(&change);
        }
        assert_eq!(rebuilt.snapshot(), live.snapshot());
    }

    #[test]
    fn deleting_the_last_item_says_the_type_is_dropped() {
        let mut engine = engine();
        let created = send(&mut engine, Method::Post, "/api/p", r#"[{"a":1},{"a":2}]"#);
        let ids: Vec<String> = created
            .changes
            .iter()
            .filter_map(|change| match change {
                Change::Create { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
        let first = send(
            &mut engine,
            Method::Delete,
            &format!("/api/p/{}", ids[0]),
            "",
        );
        assert!(matches!(&first.changes[..], [Change::Delete { .. }]));
        let last = send(
            &mut engine,
            Method::Delete,
            &format!("/api/p/{}", ids[1]),
            "",
        );
        assert!(
            matches!(&last.changes[..], [Change::Delete { .. }, Change::DropType { resource }] if resource == "p"),
            "{:?}",
            last.changes
        );
        let again = send(&mut engine, Method::Post, "/api/p", "{}");
        assert!(matches!(
            &again.changes[..],
            [Change::CreateType { .. }, Change::Create { .. }]
        ));
    }
}

#[cfg(test)]
mod feed_tests {
    use super::*;

    const T0: Duration = Duration::from_secs(1_700_000_000);

    fn send(engine: &mut Engine, request: Request) -> Outcome {
        engine.handle(&request, T0)
    }

    #[test]
    fn reloaded_fixtures_reset_the_store_with_one_reset_event_and_bad_ones_change_nothing() {
        let mut engine = Engine::new(Config::default(), Box::new(SeededIds::new(7)), T0);
        engine.load_fixtures(br#"{"p":[{"a":1}]}"#).unwrap();
        send(
            &mut engine,
            Request::new(Method::Post, "/api/p").with_body(r#"{"a":2}"#),
        );
        let events = engine.reload_fixtures(br#"{"q":[{"b":1}]}"#).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, feed::EventKind::Reset);
        assert_eq!(events[0].seq, 2, "numbered after the POST's event");
        let list = |engine: &mut Engine, path: &str| {
            let answer = send(engine, Request::new(Method::Get, path)).response;
            String::from_utf8_lossy(&answer.body).into_owned()
        };
        assert_eq!(list(&mut engine, "/api/p"), "[]");
        assert!(list(&mut engine, "/api/q").contains(r#""b":1"#));

        assert!(engine.reload_fixtures(b"{").is_err());
        assert!(
            list(&mut engine, "/api/q").contains(r#""b":1"#),
            "a bad file changes nothing"
        );
        send(
            &mut engine,
            Request::new(Method::Post, "/api/q").with_body(r#"{"b":2}"#),
        );
        let reset = send(&mut engine, Request::new(Method::Post, "/__admin/reset"));
        assert_eq!(reset.events[0].seq, 4, "a bad file made no event");
        let after = list(&mut engine, "/api/q");
        assert!(
            after.contains(r#""b":1"#) && !after.contains(r#""b":2"#),
            "reset returns to the new fixtures: {after}"
        );
    }

    #[test]
    fn writes_carry_their_events_and_a_subscribe_replays_them() {
        let mut engine = Engine::new(Config::default(), Box::new(SeededIds::new(7)), T0);
        let created = send(
            &mut engine,
            Request::new(Method::Post, "/api/p").with_body(r#"[{"a":1},{"a":2}]"#),
        );
        assert_eq!(created.events.len(), 2);
        assert!(created.subscribe.is_none());
        let failed = send(
            &mut engine,
            Request::new(Method::Post, "/api/p").with_body("["),
        );
        assert!(failed.events.is_empty());
        let open = send(
            &mut engine,
            Request::new(Method::Get, "/__admin/events?_since=1&type=p"),
        );
        assert_eq!(open.response.status, 200);
        assert_eq!(
            open.response.header("content-type"),
            Some("text/event-stream")
        );
        assert_eq!(open.response.header("cache-control"), Some("no-store"));
        assert_eq!(open.response.body, created.events[1].bytes);
        assert_eq!(
            open.subscribe,
            Some(Subscription {
                types: vec!["p".to_owned()]
            })
        );
        let head = send(&mut engine, Request::new(Method::Head, "/__admin/events"));
        assert!(head.subscribe.is_none());
        let bad = send(
            &mut engine,
            Request::new(Method::Get, "/__admin/events?_since=x"),
        );
        assert_eq!(bad.response.status, 400);
        assert!(bad.subscribe.is_none());
    }

    #[test]
    fn the_token_travels_as_a_header_or_on_the_feed_as_a_query() {
        let config = Config {
            api_token: Some("s3cret".to_owned()),
            ..Config::default()
        };
        let mut engine = Engine::new(config, Box::new(SeededIds::new(7)), T0);
        let status = |engine: &mut Engine, request: Request| send(engine, request).response.status;
        assert_eq!(
            status(&mut engine, Request::new(Method::Get, "/__admin/events")),
            401
        );
        assert_eq!(
            status(
                &mut engine,
                Request::new(Method::Get, "/__admin/events?access_token=no")
            ),
            401
        );
        assert_eq!(
            status(
                &mut engine,
                Request::new(Method::Get, "/__admin/events?access_token=s3cret")
            ),
            200
        );
        assert_eq!(
            status(
                &mut engine,
                Request::new(Method::Get, "/__admin/events")
                    .with_header("Authorization", "Bearer s3cret")
            ),
            200
        );
        // Only the feed takes it in the URL.
        assert_eq!(
            status(
                &mut engine,
                Request::new(Method::Get, "/__admin/snapshot?access_token=s3cret")
            ),
            401
        );
    }
}
