//! The JavaScript face of the engine: one class, each method a call of the
//! engine (plus the settings table, [`settings`]), errors turned into
//! JavaScript `Error`s in one place ([`fail`]).
//!
//! Shapes the worker sees (plain objects):
//! - a change: `{kind: "createType", resource}`, `{kind: "create", resource, id, item}`,
//!   `{kind: "replace", resource, id, item}`, `{kind: "delete", resource, id}`,
//!   `{kind: "dropType", resource}`, `{kind: "clearAll"}`, `{kind: "putSingle", resource, item}`,
//!   `{kind: "putRule", id, rule}`,
//!   `{kind: "deleteRule", id}` or `{kind: "clearRules"}` (the core's `Change`);
//! - a response: `{status, headers: [[name, value], ...], body: Uint8Array}`;
//! - an outcome: a response plus `changes` (an array of changes, to be stored
//!   before the answer), `delay` (milliseconds to wait before it) and, when a
//!   rule asks to drop the connection, `fault: "reset"` (the worker answers
//!   `Response.error()` instead of the response); with `PROXY_TARGET`,
//!   `forward: {id, url, method, headers: [[name, value], ...], body,
//!   timeoutMs, maxBodyBytes, target}`: a host that proxies (the Node host)
//!   sends it and passes what came back to `proxied` or `proxyFailed`; one
//!   that does not (the browser) sends the response, a `502` saying so;
//! - for the Node host, the same request and outcome (without the changes) as
//!   bytes: see [`MockEngine::handle_wire`].

use js_sys::{Array, Object, Reflect, Uint8Array};
use mock_rest_core::{
    error_response_without_engine, redact_query, request_namespace, ApiError, BodyCollector,
    Change, Config, Engine, Event, Fault, Forward, IdSource, Kind, Method, Outcome, Request,
    Response, Subscription, Upstream, DRAIN_BYTES, FEED_BUFFER_BYTES, KEEP_ALIVE, KEEP_ALIVE_SECS,
    OVERFLOW, SETTINGS,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `crypto.getRandomValues` (a global in Node and in browsers, workers
    /// included): fills `bytes` (at most 65,536 a call) from the system's
    /// secure random source.
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(bytes: &mut [u8]);
}

/// How many ids' random bytes [`CryptoIds`] fetches in one call.
const IDS_PER_CALL: usize = 16;

/// Ids from `crypto.getRandomValues`, fetched for [`IDS_PER_CALL`] ids at a
/// time (a call out of wasm costs more than the bytes); each byte is given
/// out once.
struct CryptoIds {
    pool: [u8; 16 * IDS_PER_CALL],
    used: usize,
}

impl CryptoIds {
    fn new() -> Self {
        let pool = [0; 16 * IDS_PER_CALL];
        // Empty: the first id fetches.
        let used = pool.len();
        Self { pool, used }
    }
}

impl IdSource for CryptoIds {
    fn random_bytes(&mut self) -> [u8; 16] {
        if self.used + 16 > self.pool.len() {
            get_random_values(&mut self.pool);
            self.used = 0;
        }
        let mut bytes = [0; 16];
        bytes.copy_from_slice(&self.pool[self.used..self.used + 16]);
        self.used += 16;
        bytes
    }
}

/// The time since the Unix epoch from `Date.now()`.
fn unix_now() -> Duration {
    Duration::from_millis(js_sys::Date::now() as u64)
}

/// The one conversion of this crate's errors into JavaScript.
fn fail(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

/// One namespace's engine, driven by the service worker.
#[wasm_bindgen]
pub struct MockEngine {
    engine: Engine,
    warnings: Vec<String>,
    /// Requests sent to the proxy target, by the `forward.id` the host got,
    /// until the host reports what came back. A host that never does (the
    /// browser, which cannot proxy) leaves at most [`MAX_PENDING`].
    pending: BTreeMap<u32, (Request, Forward)>,
    next_forward: u32,
    /// The `forward` of the last request [`MockEngine::handle_wire`]
    /// answered, until the host takes it.
    waiting: Option<Object>,
}

/// The most forwarded requests awaiting their answer; past it the oldest is
/// forgotten (its answer, if it comes, is a `502`).
const MAX_PENDING: usize = 1024;

/// How much of a forwarded request's body is kept for the journal (which
/// keeps 4096 bytes, and marks a longer body as cut): the host has the body
/// to send in `forward.body`.
const KEPT_BODY: usize = 4097;

#[wasm_bindgen]
impl MockEngine {
    /// An engine with these settings (`{appName: "shop", delayMs: 200, ...}`,
    /// values as strings, numbers or arrays of strings) and, if given, a seed:
    /// fixtures in the snapshot format (`{"type": [items]}`), the store to start
    /// from and the one `POST /__admin/reset` restores; and, if given, rules
    /// (a JSON array, as `GET /__admin/rules` lists them), the rules to start
    /// with and the ones reset restores. Throws on a setting it does not know
    /// or cannot take, and on a seed or rules that are not valid.
    /// `publicly_reachable`: the host listens where others can reach it (the
    /// Node server on a non-loopback address), so the homepage warns when no
    /// token guards the data; absent in the browser, where only the page
    /// reaches the engine.
    #[wasm_bindgen(constructor)]
    pub fn new(
        settings: &Object,
        seed: Option<String>,
        rules: Option<String>,
        publicly_reachable: Option<bool>,
    ) -> Result<MockEngine, JsError> {
        let pairs = Object::entries(settings)
            .iter()
            .map(|entry| {
                let entry = Array::from(&entry);
                let name = entry.get(0).as_string().unwrap_or_default();
                let value = setting_text(&entry.get(1))
                    .ok_or_else(|| format!("{name}: a string, a number or an array of strings"))?;
                Ok((name, value))
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(fail)?;
        let base = Config {
            publicly_reachable: publicly_reachable.unwrap_or(false),
            ..Config::default()
        };
        let (config, warnings) = base.from_settings(pairs).map_err(fail)?;
        let mut engine = Engine::new(config, Box::new(CryptoIds::new()), unix_now());
        if let Some(seed) = seed {
            engine
                .load_fixtures(seed.as_bytes())
                .map_err(|err| fail(format!("The seed is not valid: {}", err.message())))?;
        }
        if let Some(rules) = rules {
            engine
                .load_rules(rules.as_bytes())
                .map_err(|err| fail(format!("The rules are not valid: {}", err.message())))?;
        }
        Ok(Self {
            engine,
            warnings,
            pending: BTreeMap::new(),
            next_forward: 0,
            waiting: None,
        })
    }

    /// The largest request body the settings allow, in bytes: a host that
    /// reads bodies itself keeps at most one byte more, and [`MockEngine::handle`]
    /// answers `413` past it by the core's rule.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        self.engine.config().max_body_bytes as f64
    }

    /// The most bytes a host reads of a file the settings name (fixtures,
    /// rules, a data file): twice `MAX_STORE_BYTES`
    /// (`Config::max_file_bytes`).
    #[wasm_bindgen(getter, js_name = maxFileBytes)]
    pub fn max_file_bytes(&self) -> f64 {
        self.engine.config().max_file_bytes() as f64
    }

    /// Why a file past [`MockEngine::max_file_bytes`] is not read, in the
    /// words after its name (`larger than N bytes (twice MAX_STORE_BYTES), ...`).
    #[wasm_bindgen(getter, js_name = fileTooLarge)]
    pub fn file_too_large(&self) -> String {
        self.engine.config().file_too_large()
    }

    /// What the settings say that has no effect (such as `authScope` without
    /// `apiToken`), for the worker to log.
    #[wasm_bindgen(getter)]
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// The changes that rebuild the current store from nothing (a `clearAll`,
    /// then every item), for storing a namespace's seed.
    #[wasm_bindgen(js_name = storeChanges)]
    pub fn store_changes(&self) -> Array {
        self.engine
            .rebuild_changes()
            .iter()
            .map(change_object)
            .collect()
    }

    /// Replays a stored change, as when the worker loads a namespace.
    pub fn apply(&mut self, change: &JsValue) -> Result<(), JsError> {
        let field = |name: &str| {
            Reflect::get(change, &JsValue::from_str(name))
                .ok()
                .and_then(|value| value.as_string())
                .ok_or_else(|| fail(format!("a stored change has no `{name}` text")))
        };
        let change = match field("kind")?.as_str() {
            "createType" => Change::CreateType {
                resource: field("resource")?,
            },
            "create" => Change::Create {
                resource: field("resource")?,
                id: field("id")?,
                item: field("item")?,
            },
            "replace" => Change::Replace {
                resource: field("resource")?,
                id: field("id")?,
                item: field("item")?,
            },
            "delete" => Change::Delete {
                resource: field("resource")?,
                id: field("id")?,
            },
            "dropType" => Change::DropType {
                resource: field("resource")?,
            },
            "clearAll" => Change::ClearAll,
            "putSingle" => Change::PutSingle {
                resource: field("resource")?,
                item: field("item")?,
            },
            "putRule" => Change::PutRule {
                id: field("id")?,
                rule: field("rule")?,
            },
            "deleteRule" => Change::DeleteRule { id: field("id")? },
            "clearRules" => Change::ClearRules,
            other => return Err(fail(format!("a stored change of unknown kind `{other}`"))),
        };
        self.engine.apply(&change);
        Ok(())
    }

    /// Handles one request: `target` is the path and query as on the wire,
    /// `headers` alternate names and values, `body` is the whole body. The
    /// body is read by the core's rules (the limit, then `413`). Returns the
    /// outcome: the response, `delay`, `changes`, `fault`, `events` (each
    /// `{type, bytes}`) and, for an accepted `/__admin/events`, `subscribe`.
    pub fn handle(
        &mut self,
        method: &str,
        target: &str,
        headers: Vec<String>,
        body: &[u8],
    ) -> Object {
        let (outcome, request) = self.outcome(request(method, target, headers), body);
        self.outcome_object(outcome, request)
    }

    /// [`MockEngine::handle`] for a host that stores no changes (the Node
    /// host), crossing the wasm boundary once each way with nothing allocated
    /// to cross: the request is read from the request buffer and the answer
    /// written into the answer buffer, both kept in this wasm instance's
    /// memory between calls (see [`wire_request`] and [`wire_memory`]), so
    /// that no object, array, string or buffer is made per header or per
    /// request.
    ///
    /// The request is the first `length` bytes of the request buffer: the
    /// head, UTF-8, in its first `head_length` bytes, then the body. The head
    /// is the method, the target, then the headers' names and values
    /// alternating, joined with `\n` (which none of them can hold on the
    /// wire, nor in a fetch `Request`).
    ///
    /// `listed`: the host has just given the namespaces
    /// ([`MockEngine::set_namespaces`]). When it has not and the answer lists
    /// them ([`shows_namespaces`]), the request is not handled: the answer's
    /// flags say 4 and nothing else is in it, and the host calls again with the
    /// namespaces given (the request buffer is as it left it).
    ///
    /// Returns the address of the answer, valid until the next call of this
    /// method or of [`wire_request`]. The answer, little-endian; each text is
    /// a length (u32) then UTF-8 bytes:
    /// - the answer's length in bytes, this field included (u32);
    /// - the status (u16); 1 if a rule drops the connection (u8, else 0);
    ///   flags (u8): 1 if the request subscribes to the change feed, 2 if it
    ///   is to be forwarded to `PROXY_TARGET` (then [`MockEngine::take_forward`]
    ///   gives the `forward` that [`MockEngine::handle`] would have), 4 if
    ///   the namespaces are needed first (see `listed`);
    /// - the delay in milliseconds (u32);
    /// - the number of headers (u32), then each header's name's and value's
    ///   length in UTF-16 code units (u32 each, name and value alternating),
    ///   then the length in bytes of all of them (u32), then all of them,
    ///   UTF-8, one after another (one text to decode, cut by those lengths);
    /// - the number of feed events (u32), then each event's type (a length of
    ///   `u32::MAX` and no bytes when it has none) and its bytes;
    /// - when it subscribes: the number of types it wants (u32, 0 for every
    ///   type), then each type;
    /// - the body.
    #[wasm_bindgen(js_name = handleWire)]
    pub fn handle_wire(&mut self, length: usize, head_length: usize, listed: bool) -> *const u8 {
        WIRE.with(|wire| {
            let mut wire = wire.borrow_mut();
            let Wire { request, answer } = &mut *wire;
            let request = &request[..length.min(request.len())];
            self.handle_wire_into(request, head_length, listed, answer);
            answer.as_ptr()
        })
    }

    fn handle_wire_into(
        &mut self,
        request: &[u8],
        head_length: usize,
        listed: bool,
        out: &mut Vec<u8>,
    ) {
        let (head, body) = request.split_at(head_length.min(request.len()));
        let head = String::from_utf8_lossy(head);
        let mut parts = head.split('\n');
        let method = parts.next().unwrap_or_default();
        let target = parts.next().unwrap_or_default();
        let mut request = Request::new(Method::parse(method), target);
        if !listed && Engine::shows_namespaces(&request) {
            out.clear();
            out.extend_from_slice(&wire_length(8));
            out.extend_from_slice(&[0, 0, 0, NEEDS_NAMESPACES]);
            return;
        }
        while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
            request.headers.push((name.to_owned(), value.to_owned()));
        }
        let (mut outcome, request) = self.outcome(request, body);
        let forwarding = match outcome.forward.take() {
            Some(forward) => {
                self.waiting = Some(self.hold(forward, request));
                2
            }
            None => 0,
        };
        let response = &outcome.response;
        let texts: usize = response
            .headers
            .iter()
            .map(|(name, value)| 8 + name.len() + value.len())
            .sum();
        out.clear();
        if out.capacity() > KEPT_ANSWER {
            // A large answer's room is given back rather than kept.
            out.shrink_to(KEPT_ANSWER);
        }
        out.reserve(24 + texts + response.body.len());
        // The length, written last.
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&response.status.to_le_bytes());
        out.push(u8::from(outcome.fault == Some(Fault::Reset)));
        out.push(u8::from(outcome.subscribe.is_some()) | forwarding);
        let delay = u32::try_from(outcome.delay.as_millis()).unwrap_or(u32::MAX);
        out.extend_from_slice(&delay.to_le_bytes());
        out.extend_from_slice(&wire_length(response.headers.len()));
        let mut bytes = 0;
        for (name, value) in &response.headers {
            out.extend_from_slice(&wire_length(utf16_length(name)));
            out.extend_from_slice(&wire_length(utf16_length(value)));
            bytes += name.len() + value.len();
        }
        out.extend_from_slice(&wire_length(bytes));
        for (name, value) in &response.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(value.as_bytes());
        }
        out.extend_from_slice(&wire_length(outcome.events.len()));
        for event in &outcome.events {
            match &event.resource {
                Some(resource) => wire_text(out, resource.as_bytes()),
                None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
            }
            wire_text(out, &event.bytes);
        }
        if let Some(subscription) = &outcome.subscribe {
            out.extend_from_slice(&wire_length(subscription.types.len()));
            for wanted in &subscription.types {
                wire_text(out, wanted.as_bytes());
            }
        }
        out.extend_from_slice(&response.body);
        let total = wire_length(out.len());
        out[..4].copy_from_slice(&total);
    }

    /// The engine's outcome for `request` with this body, read by the core's
    /// rules; a body refused before the engine changes nothing.
    fn outcome(&mut self, mut request: Request, body: &[u8]) -> (Outcome, Request) {
        let limit = self.engine.config().max_body_bytes;
        let read = BodyCollector::for_request(&request, limit).and_then(|mut collector| {
            collector.feed(body);
            collector.finish(&mut request)
        });
        let outcome = match read {
            Ok(()) => self.engine.handle(&request, unix_now()),
            // Refused before the engine: nothing changes.
            Err(error) => Outcome::refused(self.engine.error_response(&error, &request)),
        };
        (outcome, request)
    }

    /// The `forward` of the request [`MockEngine::handle_wire`] answered
    /// last, when its flags said it is to be forwarded; else `undefined`.
    #[wasm_bindgen(js_name = takeForward)]
    pub fn take_forward(&mut self) -> Option<Object> {
        self.waiting.take()
    }

    /// What to answer once the target answered a `forward` (by its `id`):
    /// `headers` alternate names and values, `body` is at most `maxBodyBytes`.
    /// Returns an outcome, as `handle` does.
    pub fn proxied(&mut self, id: u32, status: u16, headers: Vec<String>, body: &[u8]) -> Object {
        let mut pairs = Vec::new();
        let mut headers = headers.into_iter();
        while let (Some(name), Some(value)) = (headers.next(), headers.next()) {
            pairs.push((name, value));
        }
        self.upstream(
            id,
            Upstream::Answered {
                status,
                headers: pairs,
                body: body.to_vec(),
            },
        )
    }

    /// What to answer when a `forward` (by its `id`) failed: `kind` is
    /// `"timeout"`, `"tooLarge"` or `"unreachable"` (with `reason`, the
    /// client's words).
    #[wasm_bindgen(js_name = proxyFailed)]
    pub fn proxy_failed(&mut self, id: u32, kind: &str, reason: String) -> Object {
        let upstream = match kind {
            "timeout" => Upstream::TimedOut,
            "tooLarge" => Upstream::TooLarge,
            _ => Upstream::Unreachable { reason },
        };
        self.upstream(id, upstream)
    }

    fn upstream(&mut self, id: u32, upstream: Upstream) -> Object {
        let Some((request, forward)) = self.pending.remove(&id) else {
            let gone = ApiError::HostFailed {
                reason: format!("no forwarded request has the id {id}"),
            };
            return response_object(&error_response_without_engine(
                &gone,
                &Request::new(Method::Get, "/"),
            ));
        };
        let outcome = self.engine.proxied(&request, forward, upstream, unix_now());
        self.outcome_object(outcome, request)
    }

    /// An outcome as `handle` answers it: the response, `delay`, `changes`,
    /// `fault`, `events` (each `{type, bytes}`), and, when there is one,
    /// `subscribe` (an accepted `/__admin/events`) or `forward`.
    fn outcome_object(&mut self, outcome: Outcome, request: Request) -> Object {
        let answer = response_object(&outcome.response);
        set(&answer, "delay", outcome.delay.as_millis() as f64);
        let changes: Array = outcome.changes.iter().map(change_object).collect();
        set(&answer, "changes", changes);
        if outcome.fault == Some(Fault::Reset) {
            set(&answer, "fault", "reset");
        }
        let events: Array = outcome.events.iter().map(event_object).collect();
        set(&answer, "events", events);
        if let Some(subscription) = &outcome.subscribe {
            set(&answer, "subscribe", subscription_object(subscription));
        }
        if let Some(forward) = outcome.forward {
            set(&answer, "forward", self.hold(forward, request));
        }
        answer
    }

    /// Keeps a forwarded request until the host reports what came back, and
    /// gives the host its `forward` object (with the body to send; the kept
    /// copy holds only what the journal shows).
    fn hold(&mut self, mut forward: Forward, mut request: Request) -> Object {
        request.body.truncate(KEPT_BODY);
        let id = self.next_forward;
        self.next_forward = self.next_forward.wrapping_add(1);
        let object = forward_object(id, &forward);
        forward.body = Vec::new();
        self.pending.insert(id, (request, forward));
        while self.pending.len() > MAX_PENDING {
            self.pending.pop_first();
        }
        object
    }

    /// The answer to a request whose body did not arrive within the host's
    /// body timeout (`408`), with the headers every answer carries.
    #[wasm_bindgen(js_name = requestTimedOut)]
    pub fn request_timed_out(&self, method: &str, target: &str, headers: Vec<String>) -> Object {
        let request = request(method, target, headers);
        response_object(
            &self
                .engine
                .error_response(&ApiError::RequestTimeout, &request),
        )
    }

    /// The answer to a request whose changes could not be stored (`503`), with
    /// the headers every answer carries.
    #[wasm_bindgen(js_name = storageFailed)]
    pub fn storage_failed(&self, method: &str, target: &str, headers: Vec<String>) -> Object {
        let request = request(method, target, headers);
        response_object(
            &self
                .engine
                .error_response(&ApiError::StorageFailed, &request),
        )
    }
}

/// The engine's settings, from the core's one table, for a host that reads
/// them by flag and environment (the Node server): an array of
/// `{name, flag, jsName, default, help, secret}`.
#[wasm_bindgen]
pub fn settings() -> Array {
    SETTINGS
        .iter()
        .map(|setting| {
            let object = Object::new();
            set(&object, "name", setting.name);
            set(&object, "flag", setting.flag());
            set(&object, "jsName", setting.js_name());
            set(&object, "default", setting.default);
            set(&object, "help", setting.help);
            set(&object, "secret", setting.kind == Kind::Secret);
            JsValue::from(object)
        })
        .collect()
}

/// What a host with many namespaces (the Node host) asks before it picks one.
#[wasm_bindgen]
impl MockEngine {
    /// The namespace a request is for, by its `X-Mock-Namespace` header (the
    /// core's rule): `{name}`, or `{response}` refusing the header (`400`).
    #[wasm_bindgen(js_name = namespaceOf)]
    pub fn namespace_of(&self, method: &str, target: &str, headers: Vec<String>) -> Object {
        let request = request(method, target, headers);
        let answer = Object::new();
        match request_namespace(&request) {
            Ok(name) => set(&answer, "name", name),
            Err(err) => set(&answer, "response", self.refusal(&err, &request)),
        }
        answer
    }

    /// The answer to a request for a new namespace when the host holds
    /// `limit` already (`507`).
    #[wasm_bindgen(js_name = tooManyNamespaces)]
    pub fn too_many_namespaces(
        &self,
        method: &str,
        target: &str,
        headers: Vec<String>,
        limit: u32,
    ) -> Object {
        let request = request(method, target, headers);
        let err = ApiError::TooManyNamespaces {
            limit: limit as usize,
        };
        self.refusal(&err, &request)
    }

    /// How many items the store holds, for a host's list of namespaces.
    #[wasm_bindgen(getter, js_name = itemCount)]
    pub fn item_count(&self) -> f64 {
        self.engine.item_count() as f64
    }

    /// Sets the host's namespaces (`names` and their item `counts`, in the
    /// same order), which `/health` and the homepage list when there is more
    /// than the default one. Set before the requests [`shows_namespaces`] names.
    #[wasm_bindgen(js_name = setNamespaces)]
    pub fn set_namespaces(&mut self, names: Vec<String>, counts: Vec<u32>) {
        let listed = names
            .into_iter()
            .zip(counts)
            .map(|(name, count)| (name, count as usize))
            .collect();
        self.engine.set_namespaces(listed);
    }

    /// `MAX_SUBSCRIBERS`: the most open event streams the host keeps.
    #[wasm_bindgen(getter, js_name = maxSubscribers)]
    pub fn max_subscribers(&self) -> f64 {
        self.engine.config().max_subscribers as f64
    }

    /// The answer to a subscribe request when the host holds
    /// `MAX_SUBSCRIBERS` streams already (`503`).
    #[wasm_bindgen(js_name = tooManySubscribers)]
    pub fn too_many_subscribers(&self, method: &str, target: &str, headers: Vec<String>) -> Object {
        let request = request(method, target, headers);
        let err = ApiError::TooManySubscribers {
            limit: self.engine.config().max_subscribers,
        };
        self.refusal(&err, &request)
    }

    /// The store as snapshot JSON text (`{"type": [items]}`).
    pub fn snapshot(&self) -> String {
        String::from_utf8_lossy(&self.engine.snapshot()).into_owned()
    }

    fn refusal(&self, err: &ApiError, request: &Request) -> Object {
        response_object(&self.engine.error_response(err, request))
    }
}

/// Whether the answer to a request for `target` (path and query) lists the
/// namespaces (`/` and `/health`): a host with several computes them then.
#[wasm_bindgen(js_name = showsNamespaces)]
pub fn shows_namespaces(target: &str) -> bool {
    Engine::shows_namespaces(&Request::new(Method::Get, target))
}

/// The answer (`500`, `{"message"}`) when the worker itself fails, with no
/// engine to ask (a namespace that could not start, say): readable from any
/// origin, as the namespace's `corsOrigins` are not known.
#[wasm_bindgen(js_name = hostFailed)]
pub fn host_failed(message: &str, method: &str, target: &str, headers: Vec<String>) -> Object {
    let request = request(method, target, headers);
    let error = ApiError::HostFailed {
        reason: message.to_owned(),
    };
    response_object(&error_response_without_engine(&error, &request))
}

/// A request target (path and query) as a host's request log writes it:
/// the value of every `access_token` query parameter is `REDACTED`, as the
/// journal keeps it.
#[wasm_bindgen(js_name = redactTarget)]
pub fn redact_target(target: &str) -> String {
    match target.split_once('?') {
        Some((path, query)) => format!("{path}?{}", redact_query(query)),
        None => target.to_owned(),
    }
}

/// How far past the body limit a host that reads bodies itself drains an
/// oversized one before it stops reading and answers `413` (`DRAIN_BYTES`).
#[wasm_bindgen(js_name = drainBytes)]
pub fn drain_bytes() -> f64 {
    DRAIN_BYTES as f64
}

/// What a host needs to deliver the change feed, from the core:
/// `{keepAlive, keepAliveMs, overflow, bufferBytes}` (the bytes as
/// `Uint8Array`s).
#[wasm_bindgen(js_name = feedConstants)]
pub fn feed_constants() -> Object {
    let object = Object::new();
    set(&object, "keepAlive", Uint8Array::from(KEEP_ALIVE));
    set(&object, "keepAliveMs", (KEEP_ALIVE_SECS * 1000) as f64);
    set(&object, "overflow", Uint8Array::from(OVERFLOW));
    set(&object, "bufferBytes", FEED_BUFFER_BYTES as f64);
    object
}

/// An event as `{type, bytes}` (`type` is `null` for `reset` and
/// `snapshot`, which reach every subscriber).
fn event_object(event: &Event) -> JsValue {
    let object = Object::new();
    set(
        &object,
        "type",
        event
            .resource
            .as_deref()
            .map_or(JsValue::NULL, JsValue::from_str),
    );
    set(&object, "bytes", Uint8Array::from(event.bytes.as_slice()));
    object.into()
}

/// A subscription as `{types}` (empty: every type). A host delivers an
/// event when `type` is `null`, `types` is empty, or `types` has `type`
/// (the core's `Subscription::wants`).
fn subscription_object(subscription: &Subscription) -> Object {
    let object = Object::new();
    let types: Array = subscription
        .types
        .iter()
        .map(|t| JsValue::from_str(t))
        .collect();
    set(&object, "types", types);
    object
}

/// A setting's value as text: a string as it is, a whole number in decimal,
/// an array of strings joined with commas.
fn setting_text(value: &JsValue) -> Option<String> {
    if let Some(text) = value.as_string() {
        return Some(text);
    }
    if let Some(number) = value.as_f64() {
        return Some(if number.fract() == 0.0 && number.abs() < 9e15 {
            format!("{}", number as i64)
        } else {
            number.to_string()
        });
    }
    if Array::is_array(value) {
        let parts: Option<Vec<String>> = Array::from(value).iter().map(|v| v.as_string()).collect();
        return parts.map(|parts| parts.join(","));
    }
    if value.is_null() || value.is_undefined() {
        return Some(String::new());
    }
    None
}

fn request(method: &str, target: &str, headers: Vec<String>) -> Request {
    let mut request = Request::new(Method::parse(method), target);
    let mut headers = headers.into_iter();
    while let (Some(name), Some(value)) = (headers.next(), headers.next()) {
        request.headers.push((name, value));
    }
    request
}

/// The request and answer buffers of [`MockEngine::handle_wire`], kept
/// between calls (the wasm instance is single-threaded: one per instance).
struct Wire {
    request: Vec<u8>,
    answer: Vec<u8>,
}

thread_local! {
    static WIRE: RefCell<Wire> = const {
        RefCell::new(Wire {
            request: Vec::new(),
            answer: Vec::new(),
        })
    };
}

/// The flag of [`MockEngine::handle_wire`]'s answer that asks for the
/// namespaces first.
const NEEDS_NAMESPACES: u8 = 4;

/// The room kept for answers between calls of [`MockEngine::handle_wire`]:
/// one larger is given back at the next call.
const KEPT_ANSWER: usize = 1 << 20;

/// Where the host writes a request for [`MockEngine::handle_wire`]: makes the
/// request buffer exactly `size` bytes long (zeroed) and returns its address
/// in [`wire_memory`], valid until the next call of this function. The host
/// calls it when a request needs more room than it has, and to give back
/// the room of a large one.
#[wasm_bindgen(js_name = wireRequest)]
pub fn wire_request(size: usize) -> *mut u8 {
    WIRE.with(|wire| {
        let request = &mut wire.borrow_mut().request;
        *request = vec![0; size];
        request.as_mut_ptr()
    })
}

/// This wasm instance's memory (a `WebAssembly.Memory`), where the host
/// writes requests for [`MockEngine::handle_wire`] and reads its answers. Its
/// `buffer` is replaced when the memory grows: a host reads it again after
/// every call that may allocate.
#[wasm_bindgen(js_name = wireMemory)]
pub fn wire_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// A text's length in UTF-16 code units, as JavaScript counts it.
fn utf16_length(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.encode_utf16().count()
    }
}

/// A length in the answer of [`MockEngine::handle_wire`]: u32, little-endian
/// (a header or the answer is far below 4 GiB: the engine's limits bound them).
fn wire_length(length: usize) -> [u8; 4] {
    u32::try_from(length).unwrap_or(u32::MAX).to_le_bytes()
}

/// A text in the answer of [`MockEngine::handle_wire`]: its length, then its bytes.
fn wire_text(out: &mut Vec<u8>, text: &[u8]) {
    out.extend_from_slice(&wire_length(text.len()));
    out.extend_from_slice(text);
}

fn set(object: &Object, key: &str, value: impl Into<JsValue>) {
    // Setting a property of a plain object made here cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), &value.into());
}

fn response_object(response: &Response) -> Object {
    let answer = Object::new();
    set(&answer, "status", response.status);
    let headers: Array = response
        .headers
        .iter()
        .map(|(name, value)| Array::of2(&JsValue::from_str(name), &JsValue::from_str(value)))
        .collect();
    set(&answer, "headers", headers);
    set(&answer, "body", Uint8Array::from(response.body.as_slice()));
    answer
}

fn forward_object(id: u32, forward: &Forward) -> Object {
    let object = Object::new();
    set(&object, "id", id);
    set(&object, "url", forward.url.as_str());
    set(&object, "method", forward.method.as_str());
    let headers: Array = forward
        .headers
        .iter()
        .map(|(name, value)| Array::of2(&JsValue::from_str(name), &JsValue::from_str(value)))
        .collect();
    set(&object, "headers", headers);
    set(&object, "body", Uint8Array::from(forward.body.as_slice()));
    set(&object, "timeoutMs", forward.timeout.as_millis() as f64);
    set(&object, "maxBodyBytes", forward.max_body_bytes as f64);
    set(&object, "target", forward.target.as_str());
    object
}

fn change_object(change: &Change) -> JsValue {
    let object = Object::new();
    let (kind, resource, id, item, rule) = match change {
        Change::CreateType { resource } => ("createType", Some(resource), None, None, None),
        Change::Create { resource, id, item } => {
            ("create", Some(resource), Some(id), Some(item), None)
        }
        Change::Replace { resource, id, item } => {
            ("replace", Some(resource), Some(id), Some(item), None)
        }
        Change::Delete { resource, id } => ("delete", Some(resource), Some(id), None, None),
        Change::DropType { resource } => ("dropType", Some(resource), None, None, None),
        Change::ClearAll => ("clearAll", None, None, None, None),
        Change::PutSingle { resource, item } => {
            ("putSingle", Some(resource), None, Some(item), None)
        }
        Change::PutRule { id, rule } => ("putRule", None, Some(id), None, Some(rule)),
        Change::DeleteRule { id } => ("deleteRule", None, Some(id), None, None),
        Change::ClearRules => ("clearRules", None, None, None, None),
    };
    set(&object, "kind", kind);
    let fields = [
        ("resource", resource),
        ("id", id),
        ("item", item),
        ("rule", rule),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            set(&object, key, value.as_str());
        }
    }
    object.into()
}
