//! The engine: routes a request, reads or changes the store, and says what to answer.

use crate::body;
use crate::error::ApiError;
use crate::pages;
use crate::request::{Method, Request};
use crate::response::{Change, Outcome, Response};
use crate::route::Route;
use crate::store::Store;
use serde_json::Value;
use std::time::Duration;

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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            app_name: "mock-rest-api".to_owned(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
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
    ids: Box<dyn IdSource>,
    started: Duration,
}

impl Engine {
    /// An engine with an empty store. `started` is the time since the Unix epoch
    /// at which the server started; uptime counts from it.
    pub fn new(config: Config, ids: Box<dyn IdSource>, started: Duration) -> Self {
        Self {
            config,
            store: Store::new(),
            ids,
            started,
        }
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
        }
    }

    /// Handles one request at time `now` (since the Unix epoch).
    pub fn handle(&mut self, request: &Request, now: Duration) -> Outcome {
        let mut changes = Vec::new();
        let mut response = self
            .dispatch(request, now, &mut changes)
            .unwrap_or_else(|err| error_response(&err));
        response
            .headers
            .push(("access-control-allow-origin", "*".to_owned()));
        response
            .headers
            .push(("access-control-expose-headers", EXPOSED_HEADERS.to_owned()));
        if request.method == Method::Head {
            let length = response.body.len();
            response.body.clear();
            response
                .headers
                .push(("content-length", length.to_string()));
        }
        Outcome { response, changes }
    }

    fn dispatch(
        &mut self,
        request: &Request,
        now: Duration,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let limit = self.config.max_body_bytes;
        if request.body_too_large || request.body.len() > limit {
            return Err(ApiError::BodyTooLarge { limit });
        }
        let route = Route::parse(&request.path)?;
        if request.method == Method::Options {
            return Ok(preflight(&route, request));
        }
        if !route.methods().contains(&request.method) {
            return Err(ApiError::MethodNotAllowed {
                method: request.method.to_string(),
                allow: route.allow(),
            });
        }
        let allow = route.allow();
        let elapsed = now.saturating_sub(self.started);
        let reading = matches!(request.method, Method::Get | Method::Head);
        match route {
            Route::Home if reading => {
                let page = pages::homepage(
                    &self.config.app_name,
                    &self.config.app_version,
                    elapsed,
                    &self.store,
                );
                Ok(respond(200, HTML, page.into_bytes()))
            }
            Route::Health if reading => {
                let doc = pages::health(
                    &self.config.app_name,
                    &self.config.app_version,
                    elapsed,
                    &self.store,
                );
                Ok(respond(200, JSON, doc.to_string().into_bytes()))
            }
            Route::Collection { resource } if reading => Ok(self.list(&resource)),
            Route::Collection { resource } => self.create(&resource, &request.body, changes),
            Route::Item { resource, id } if reading => match self.store.get(&resource, &id) {
                Some(item) => Ok(respond(200, JSON, item.as_bytes().to_vec())),
                None => Err(ApiError::NotFound { id }),
            },
            Route::Item { resource, id } if request.method == Method::Put => {
                self.replace(&resource, &id, &request.body, changes)
            }
            Route::Item { resource, id } => self.delete(&resource, &id, changes),
            // Unreachable while the route table and this match agree (a test checks).
            Route::Home | Route::Health => Err(ApiError::MethodNotAllowed {
                method: request.method.to_string(),
                allow,
            }),
        }
    }

    fn list(&self, resource: &str) -> Response {
        let mut out = Vec::new();
        out.push(b'[');
        if let Some(collection) = self.store.collection(resource) {
            for (n, item) in collection.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(item.as_bytes());
            }
        }
        out.push(b']');
        respond(200, JSON, out)
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
        match &json.value {
            Value::Object(_) => {
                let item = self.insert_new(resource, &json.text, changes);
                Ok(respond(200, JSON, item.into_bytes()))
            }
            // All or nothing: every element is checked before any is created.
            Value::Array(elements) if elements.iter().all(Value::is_object) => {
                let mut out = b"[".to_vec();
                for (n, element) in body::array_elements(&json.text).into_iter().enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(self.insert_new(resource, element, changes).as_bytes());
                }
                out.push(b']');
                Ok(respond(200, JSON, out))
            }
            _ => Err(SHAPE),
        }
    }

    /// Stores a new item from a compact JSON object, under a fresh id.
    fn insert_new(&mut self, resource: &str, object: &str, changes: &mut Vec<Change>) -> String {
        let id = uuid::Builder::from_random_bytes(self.ids.random_bytes())
            .into_uuid()
            .hyphenated()
            .to_string();
        let item = body::item_text(object, &id);
        self.record(
            Change::Put {
                resource: resource.to_owned(),
                id,
                item: item.clone(),
            },
            changes,
        );
        item
    }

    fn replace(
        &mut self,
        resource: &str,
        id: &str,
        body: &[u8],
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let json = body::parse(body)?;
        body::require_object(&json)?;
        if self.store.get(resource, id).is_none() {
            return Err(ApiError::NotFound { id: id.to_owned() });
        }
        let item = body::item_text(&json.text, id);
        self.record(
            Change::Put {
                resource: resource.to_owned(),
                id: id.to_owned(),
                item: item.clone(),
            },
            changes,
        );
        Ok(respond(200, JSON, item.into_bytes()))
    }

    fn delete(
        &mut self,
        resource: &str,
        id: &str,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let removed = self
            .store
            .remove(resource, id)
            .ok_or_else(|| ApiError::NotFound { id: id.to_owned() })?;
        changes.push(Change::Delete {
            resource: resource.to_owned(),
            id: id.to_owned(),
        });
        Ok(respond(200, JSON, removed.into_boxed_bytes().into_vec()))
    }

    /// Applies a change to the store and reports it.
    fn record(&mut self, change: Change, changes: &mut Vec<Change>) {
        self.apply(&change);
        changes.push(change);
    }
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

/// The one place an [`ApiError`] becomes a response.
fn error_response(err: &ApiError) -> Response {
    let mut response = respond(err.status(), JSON, body::message_body(&err.message()));
    if let ApiError::MethodNotAllowed { allow, .. } = err {
        response.headers.push(("allow", (*allow).to_owned()));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let created = send(&mut live, Method::Post, "/api/p", r#"[{"a":1},{"a":2}]"#);
        log.extend(created.changes.clone());
        let Change::Put { id, .. } = &created.changes[0] else {
            panic!("expected a put")
        };
        let target = format!("/api/p/{id}");
        log.extend(send(&mut live, Method::Put, &target, r#"{"a":3}"#).changes);
        log.extend(send(&mut live, Method::Delete, &target, "").changes);
        assert_eq!(log.len(), 4);

        let mut replayed = engine();
        for change in &log {
            replayed.apply(change);
        }
        let list = |e: &mut Engine| text(&send(e, Method::Get, "/api/p", "")).to_owned();
        assert_eq!(list(&mut live), list(&mut replayed));
    }

    #[test]
    fn failed_requests_change_nothing() {
        let mut engine = engine();
        for (method, target, body) in [
            (Method::Post, "/api/p", r#"[{"a":1}, 2]"#),
            (Method::Post, "/api/p", "[1"),
            (Method::Put, "/api/p/none", "{}"),
            (Method::Delete, "/api/p/none", ""),
            (Method::Patch, "/api/p", "{}"),
        ] {
            let outcome = send(&mut engine, method, target, body);
            assert!(outcome.response.status >= 400, "{target} {body}");
            assert!(outcome.changes.is_empty());
        }
        assert_eq!(engine.store().total(), 0);
    }

    #[test]
    fn every_routed_method_is_dispatched() {
        // The route table and the dispatcher must agree: no allowed method may
        // fall through to a 405.
        for target in ["/", "/health", "/api/p", "/api/p/x"] {
            let route = Route::parse(target).unwrap();
            for method in route.methods() {
                let outcome = send(&mut engine(), method.clone(), target, "{}");
                assert_ne!(outcome.response.status, 405, "{method} {target}");
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
}
