//! The JavaScript face of the endpoint: one class whose methods each forward
//! to an [`Endpoint`] call, requests and effects crossing on the wire
//! (`crate::wire`), held data converted by serde (to JSON text, which the
//! host parses), and errors turned into JavaScript `Error`s in one place
//! ([`fail`]).
//!
//! [`Endpoint`]: mock_rest_core::Endpoint

use crate::wire::{self, Held, Holding, TAGS};
use js_sys::{Array, Float64Array, Object, Reflect, Uint8Array};
use mock_rest_core::feed::{KEEP_ALIVE, KEEP_ALIVE_SECS};
use mock_rest_core::limits::DRAIN_BYTES;
use mock_rest_core::token::redact_query;
use mock_rest_core::{
    closest_name, error_response_without_engine, json_server_hint, ApiError, BodyCollector, Change,
    Config, Endpoint, IdSource, Kind, Method, Request, Response, Seed, StreamId, Ticket, Upstream,
    NAMESPACE_HEADER, SETTINGS,
};
use serde::Serialize;
use std::cell::RefCell;
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

    fn fork(&mut self) -> Box<dyn IdSource> {
        Box::new(Self::new())
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

/// Every namespace of a JavaScript host (the Node server, a test's mock, a
/// page's service worker), behind one endpoint.
#[wasm_bindgen]
pub struct MockEndpoint {
    endpoint: Endpoint,
    warnings: Vec<String>,
    /// Whether the host stores namespaces (then it gets `open`, `forget`
    /// and `persist` effects).
    stores: bool,
    holding: Holding,
}

#[wasm_bindgen]
impl MockEndpoint {
    /// An endpoint with these settings (`{appName: "shop", delayMs: 200, ...}`,
    /// by the names of the core's table or their JavaScript forms; values as
    /// strings, numbers or arrays of strings), the seed's fixtures (snapshot
    /// JSON text), rules (JSON array text) and OpenAPI document (JSON or
    /// YAML text), if any. `stores`: the host
    /// stores namespaces. `publicly_reachable`: the host listens where others
    /// can reach it, so the homepage warns when no token guards the data.
    /// Throws, naming the setting or the part of the seed, when one cannot
    /// be taken.
    #[wasm_bindgen(constructor)]
    pub fn new(
        settings: &Object,
        fixtures: Option<String>,
        rules: Option<String>,
        openapi: Option<String>,
        stores: bool,
        publicly_reachable: Option<bool>,
    ) -> Result<MockEndpoint, JsValue> {
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
            .map_err(|err| JsValue::from(fail(err)))?;
        let base = Config {
            publicly_reachable: publicly_reachable.unwrap_or(false),
            ..Config::default()
        };
        let (config, warnings) = base
            .from_settings(pairs)
            .map_err(|err| JsValue::from(fail(err)))?;
        let endpoint = Endpoint::new(
            config,
            seed(fixtures, rules, openapi),
            Box::new(CryptoIds::new()),
            unix_now(),
        )
        .map_err(seed_error)?;
        Ok(Self {
            endpoint,
            warnings,
            stores,
            holding: Holding::default(),
        })
    }

    /// What the settings say that has no effect (such as `authScope` without
    /// `apiToken`), for the host to log.
    #[wasm_bindgen(getter)]
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// The largest request body the settings allow, in bytes: a host keeps
    /// at most one byte more, and the endpoint answers `413` past it.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        self.endpoint.config().max_body_bytes as f64
    }

    /// The most bytes a host reads of a file the settings name (fixtures,
    /// rules, a data file): twice `MAX_STORE_BYTES`
    /// (`Config::max_file_bytes`).
    #[wasm_bindgen(getter, js_name = maxFileBytes)]
    pub fn max_file_bytes(&self) -> f64 {
        self.endpoint.config().max_file_bytes() as f64
    }

    /// Why a file past [`MockEndpoint::max_file_bytes`] is not read, in the
    /// words after its name (`larger than N bytes (twice MAX_STORE_BYTES), ...`).
    #[wasm_bindgen(getter, js_name = fileTooLarge)]
    pub fn file_too_large(&self) -> String {
        self.endpoint.config().file_too_large()
    }

    /// `MAX_URI_BYTES`: the longest path and query, which the endpoint
    /// answers with `414` past it (a host's parser must not cut in first).
    #[wasm_bindgen(getter, js_name = maxUriBytes)]
    pub fn max_uri_bytes(&self) -> f64 {
        self.endpoint.config().max_uri_bytes as f64
    }

    /// Handles the request in the request buffer (see [`wire_request`]):
    /// its first `length` bytes, the head in the first `head_length`. The
    /// body is read by the core's rules. Returns the address of the answer
    /// in [`wire_memory`] (its layout: `crate::wire`), valid until the next
    /// call that answers on the wire.
    #[wasm_bindgen(js_name = handleWire)]
    pub fn handle_wire(&mut self, length: usize, head_length: usize) -> *const u8 {
        let request = WIRE.with(|wire| {
            let wire = wire.borrow();
            let bytes = &wire.request[..length.min(wire.request.len())];
            wire::decode_request(bytes, head_length)
        });
        let mut request = request;
        let output = match read_body(&mut request, self.endpoint.config().max_body_bytes) {
            Ok(()) => self.endpoint.handle(&request, unix_now()),
            // Refused before the endpoint: nothing changes.
            Err(error) => respond_only(self.endpoint.error_response(&error, &request)),
        };
        self.answer(output)
    }

    /// What to answer once the target answered a `forward` (by its ticket):
    /// `headers` alternate names and values, `body` is at most
    /// `maxBodyBytes`. Answers on the wire, as [`MockEndpoint::handle_wire`].
    pub fn upstream(
        &mut self,
        ticket: f64,
        status: u16,
        headers: Vec<String>,
        body: &[u8],
    ) -> *const u8 {
        let upstream = Upstream::Answered {
            status,
            headers: pairs(headers),
            body: body.to_vec(),
        };
        let output = self
            .endpoint
            .handle_upstream(Ticket(ticket as u64), upstream, unix_now());
        self.answer(output)
    }

    /// What to answer when a `forward` (by its ticket) failed: `kind` is
    /// `"timeout"`, `"tooLarge"` or `"unreachable"` (with `reason`, the
    /// client's words). Answers on the wire.
    #[wasm_bindgen(js_name = upstreamFailed)]
    pub fn upstream_failed(&mut self, ticket: f64, kind: &str, reason: String) -> *const u8 {
        let upstream = match kind {
            "timeout" => Upstream::TimedOut,
            "tooLarge" => Upstream::TooLarge,
            _ => Upstream::Unreachable { reason },
        };
        let output = self
            .endpoint
            .handle_upstream(Ticket(ticket as u64), upstream, unix_now());
        self.answer(output)
    }

    /// Makes a namespace now (from the seed) unless it is held, as a host
    /// does before it loads the namespace's storage into it. Answers on the
    /// wire (an `open`, and any namespace dropped for it); throws past
    /// `MAX_NAMESPACES`.
    pub fn open(&mut self, namespace: &str) -> Result<*const u8, JsError> {
        let output = self
            .endpoint
            .open(namespace, unix_now())
            .map_err(|err| fail(err.message()))?;
        Ok(self.answer(output))
    }

    /// Makes these fixtures, rules and OpenAPI document (text, or none)
    /// what every namespace starts from, and starts every namespace again
    /// from them, each with a `reset` event. Answers on the wire; throws,
    /// changing nothing, when the seed cannot be used.
    pub fn reseed(
        &mut self,
        fixtures: Option<String>,
        rules: Option<String>,
        openapi: Option<String>,
    ) -> Result<*const u8, JsValue> {
        let output = self
            .endpoint
            .reseed(seed(fixtures, rules, openapi))
            .map_err(seed_error)?;
        Ok(self.answer(output))
    }

    /// Drops every namespace (each open stream ends); the next request to
    /// each makes it again from the seed. Answers on the wire.
    pub fn clear(&mut self) -> *const u8 {
        let output = self.endpoint.clear();
        self.answer(output)
    }

    /// The changes an answer's `persist` holds (by its number), as the JSON
    /// text of an array of objects tagged by `kind` (the core's `Change`), to
    /// store before the answer.
    #[wasm_bindgen(js_name = takeChanges)]
    pub fn take_changes(&mut self, number: u32) -> Result<String, JsError> {
        match self.holding.take(number) {
            Some(Held::Changes(changes)) => to_json(&changes),
            _ => Ok("[]".to_owned()),
        }
    }

    /// The request an answer's `forward` holds (by its number):
    /// `{url, method, headers: [[name, value]], body, timeoutMs,
    /// maxBodyBytes, target}`.
    #[wasm_bindgen(js_name = takeForward)]
    pub fn take_forward(&mut self, number: u32) -> Result<Object, JsError> {
        let Some(Held::Forward(forward)) = self.holding.take(number) else {
            return Err(fail(format!("no forward is held as {number}")));
        };
        let view = ForwardView {
            url: &forward.url,
            method: &forward.method,
            headers: &forward.headers,
            timeout_ms: forward.timeout.as_millis() as f64,
            max_body_bytes: forward.max_body_bytes as f64,
            target: &forward.target,
        };
        let object: Object = js_sys::JSON::parse(&to_json(&view)?)
            .map_err(|_| fail("a forward that JSON cannot carry"))?
            .into();
        set(&object, "body", Uint8Array::from(forward.body.as_slice()));
        Ok(object)
    }

    /// Sends an answer's `publish` (by its number) to the open streams that
    /// want its events, once its changes are stored: the ids of the streams
    /// to read ([`MockEndpoint::read_stream`]).
    pub fn publish(&mut self, number: u32) -> Float64Array {
        let woken = match self.holding.take(number) {
            Some(Held::Publication(publication)) => self.endpoint.publish(publication),
            _ => Vec::new(),
        };
        ids(&woken)
    }

    /// What a stream has to send now: `{bytes: Uint8Array, end: boolean}`
    /// (after `end`, the host ends the stream; the endpoint forgot it).
    #[wasm_bindgen(js_name = readStream)]
    pub fn read_stream(&mut self, stream: f64) -> Object {
        let read = self.endpoint.read_stream(StreamId(stream as u64));
        let bytes: Vec<u8> = read
            .chunks
            .iter()
            .flat_map(|chunk| chunk.iter().copied())
            .collect();
        let object = Object::new();
        set(&object, "bytes", Uint8Array::from(bytes.as_slice()));
        set(&object, "end", read.end);
        object
    }

    /// Forgets a stream whose reader went away.
    #[wasm_bindgen(js_name = closeStream)]
    pub fn close_stream(&mut self, stream: f64) {
        self.endpoint.close_stream(StreamId(stream as u64));
    }

    /// The namespace a request is for, by the core's rule: `{name}`, or
    /// `{response}` refusing it (`400`).
    #[wasm_bindgen(js_name = namespaceOf)]
    pub fn namespace_of(&self, method: &str, target: &str, headers: Vec<String>) -> Object {
        let mut request = Request::new(Method::parse(method), target);
        request.headers = pairs(headers);
        let answer = Object::new();
        match self.endpoint.namespace_of(&request) {
            Ok(name) => set(&answer, "name", name),
            Err(response) => set(&answer, "response", response_object(&response)),
        }
        answer
    }

    /// The namespaces held, by name.
    pub fn namespaces(&self) -> Vec<String> {
        self.endpoint.namespaces().map(str::to_owned).collect()
    }

    /// Replays a stored change (the JSON text of an object as `takeChanges`
    /// gives) into a namespace, as a host does when it loads the namespace's
    /// storage.
    pub fn apply(&mut self, namespace: &str, change: &str) -> Result<(), JsError> {
        let change: Change = serde_json::from_str(change)
            .map_err(|err| fail(format!("a stored change that cannot be read: {err}")))?;
        self.endpoint.apply(namespace, &change);
        Ok(())
    }

    /// The changes that rebuild a namespace's store and rules from nothing,
    /// for storing it whole, as `takeChanges` gives them.
    #[wasm_bindgen(js_name = storeChanges)]
    pub fn store_changes(&self, namespace: &str) -> Result<String, JsError> {
        let changes = self
            .endpoint
            .changes_of(namespace)
            .ok_or_else(|| fail(format!("no namespace {namespace}")))?;
        to_json(&changes)
    }

    /// A namespace's store as snapshot JSON text (`{"type": [items]}`).
    pub fn snapshot(&self, namespace: &str) -> Option<String> {
        self.endpoint
            .snapshot_of(namespace)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A namespace's data as json-server writes its `db.json` (indented by
    /// two spaces, emptied types as `[]`), for the Node server's write-back
    /// under `JSON_SERVER=1`.
    #[wasm_bindgen(js_name = databaseFile)]
    pub fn database_file(&self, namespace: &str) -> Option<String> {
        self.endpoint
            .database_file_of(namespace)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The answer to a request whose body did not arrive within the host's
    /// body timeout (`408`), with the headers every answer carries.
    #[wasm_bindgen(js_name = requestTimedOut)]
    pub fn request_timed_out(&self, method: &str, target: &str, headers: Vec<String>) -> Object {
        let mut request = Request::new(Method::parse(method), target);
        request.headers = pairs(headers);
        response_object(
            &self
                .endpoint
                .error_response(&ApiError::RequestTimeout, &request),
        )
    }

    /// The answer (`500`, `{"message"}`) to a request the host itself failed
    /// to answer, with the headers every answer carries.
    #[wasm_bindgen(js_name = hostFailed)]
    pub fn host_failed(
        &self,
        message: &str,
        method: &str,
        target: &str,
        headers: Vec<String>,
    ) -> Object {
        let mut request = Request::new(Method::parse(method), target);
        request.headers = pairs(headers);
        let error = ApiError::HostFailed {
            reason: message.to_owned(),
        };
        response_object(&self.endpoint.error_response(&error, &request))
    }

    /// The answer to a request the host's parser could not read (by the
    /// parser's `code`: headers too large `431`, a target too long `414`,
    /// anything else `400` naming it), with no request to take CORS headers
    /// from: readable from any origin.
    pub fn unparsed(&self, code: &str) -> Object {
        let error = match code {
            "HPE_HEADER_OVERFLOW" => ApiError::HeadersTooLarge,
            "HPE_URI_TOO_LONG" => ApiError::UriTooLong {
                limit: self.endpoint.config().max_uri_bytes,
            },
            other => ApiError::Malformed {
                reason: other.to_owned(),
            },
        };
        response_object(&error_response_without_engine(
            &error,
            &Request::new(Method::Get, "/"),
        ))
    }

    /// The answer to a request whose changes could not be stored (`503`),
    /// with the headers every answer carries.
    #[wasm_bindgen(js_name = storageFailed)]
    pub fn storage_failed(&self, method: &str, target: &str, headers: Vec<String>) -> Object {
        let mut request = Request::new(Method::parse(method), target);
        request.headers = pairs(headers);
        response_object(&self.endpoint.storage_failed(&request))
    }
}

impl MockEndpoint {
    /// Writes an output into the answer buffer; its address.
    fn answer(&mut self, output: mock_rest_core::Output) -> *const u8 {
        WIRE.with(|wire| {
            let mut wire = wire.borrow_mut();
            if wire.answer.capacity() > KEPT_ANSWER {
                // A large answer's room is given back rather than kept.
                wire.answer = Vec::new();
            }
            wire::encode_output(output, self.stores, &mut self.holding, &mut wire.answer);
            wire.answer.as_ptr()
        })
    }
}

/// A forward as JavaScript reads it (the body is added as a `Uint8Array`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ForwardView<'a> {
    url: &'a str,
    method: &'a str,
    headers: &'a [(String, String)],
    timeout_ms: f64,
    max_body_bytes: f64,
    target: &'a str,
}

/// The one conversion of held data for JavaScript: JSON text, derived by serde.
fn to_json(value: &impl Serialize) -> Result<String, JsError> {
    serde_json::to_string(value).map_err(fail)
}

fn seed(fixtures: Option<String>, rules: Option<String>, openapi: Option<String>) -> Seed {
    Seed {
        fixtures: fixtures.map(String::into_bytes),
        rules: rules.map(String::into_bytes),
        openapi: openapi.map(String::into_bytes),
    }
}

/// A seed that cannot be used, as an `Error` whose `part` says which:
/// `"fixtures"`, `"rules"` or `"openapi"` (so a host names the file it came
/// from).
fn seed_error(err: mock_rest_core::SeedError) -> JsValue {
    let message = err.error.message();
    let (part, message) = match err.part {
        mock_rest_core::SeedPart::Fixtures => {
            ("fixtures", format!("The seed is not valid: {message}"))
        }
        mock_rest_core::SeedPart::Rules => ("rules", format!("The rules are not valid: {message}")),
        // The message says which document, where and why.
        mock_rest_core::SeedPart::OpenApi => ("openapi", message),
    };
    let error = js_sys::Error::new(&message);
    set(&error, "part", part);
    error.into()
}

/// Reads the body by the core's rules (the limit, then `413`).
fn read_body(request: &mut Request, limit: usize) -> Result<(), ApiError> {
    let body = std::mem::take(&mut request.body);
    let mut collector = BodyCollector::for_request(request, limit)?;
    collector.feed(&body);
    collector.finish(request)
}

fn respond_only(response: Response) -> mock_rest_core::Output {
    mock_rest_core::Output::responding(response)
}

fn pairs(flat: Vec<String>) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut flat = flat.into_iter();
    while let (Some(name), Some(value)) = (flat.next(), flat.next()) {
        out.push((name, value));
    }
    out
}

fn ids(streams: &[StreamId]) -> Float64Array {
    let list: Vec<f64> = streams.iter().map(|id| id.0 as f64).collect();
    Float64Array::from(list.as_slice())
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

/// The wire's layout for JavaScript: `{tags: {open: 1, ...}}`.
#[wasm_bindgen(js_name = wireLayout)]
pub fn wire_layout() -> Object {
    let tags = Object::new();
    for (name, tag) in TAGS {
        set(&tags, name, *tag);
    }
    let layout = Object::new();
    set(&layout, "tags", tags);
    layout
}

/// The candidate spelt closest to `name`, when it is close enough to be a
/// slip (the core's rule): for a host that names the option a user meant.
#[wasm_bindgen(js_name = closestName)]
pub fn closest_name_of(name: &str, candidates: Vec<String>) -> Option<String> {
    closest_name(name, candidates.iter().map(String::as_str)).map(str::to_owned)
}

/// The start log's line for fixtures that look like json-server's `db.json`
/// (every item has an `id`), for a host without `JSON_SERVER=1`: the core's
/// words, so every host logs the same; `undefined` otherwise.
#[wasm_bindgen(js_name = jsonServerHint)]
pub fn json_server_hint_of(fixtures: &str) -> Option<String> {
    json_server_hint(fixtures.as_bytes()).map(str::to_owned)
}

/// The header that names a request's namespace, as the core reads it: a
/// host that makes requests of its own in a namespace takes the name from
/// here.
#[wasm_bindgen(js_name = namespaceHeader)]
pub fn namespace_header() -> String {
    NAMESPACE_HEADER.to_owned()
}

/// What a host needs to keep a stream alive: `{keepAlive, keepAliveMs}`
/// (the comment's bytes as a `Uint8Array`).
#[wasm_bindgen(js_name = feedConstants)]
pub fn feed_constants() -> Object {
    let object = Object::new();
    set(&object, "keepAlive", Uint8Array::from(KEEP_ALIVE));
    set(&object, "keepAliveMs", (KEEP_ALIVE_SECS * 1000) as f64);
    object
}

/// The answer (`500`, `{"message"}`) when the host itself fails, with no
/// endpoint to ask: readable from any origin, as the settings are not known.
#[wasm_bindgen(js_name = hostFailed)]
pub fn host_failed(message: &str, method: &str, target: &str, headers: Vec<String>) -> Object {
    let mut request = Request::new(Method::parse(method), target);
    request.headers = pairs(headers);
    let error = ApiError::HostFailed {
        reason: message.to_owned(),
    };
    response_object(&error_response_without_engine(&error, &request))
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

/// The request and answer buffers of the wire, kept between calls (the wasm
/// instance is single-threaded: one per instance).
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

/// The room kept for answers between calls: one larger is given back at the next call.
const KEPT_ANSWER: usize = 1 << 20;

/// Where the host writes a request for [`MockEndpoint::handle_wire`]: makes
/// the request buffer exactly `size` bytes long (zeroed) and returns its
/// address in [`wire_memory`], valid until the next call of this function.
#[wasm_bindgen(js_name = wireRequest)]
pub fn wire_request(size: usize) -> *mut u8 {
    WIRE.with(|wire| {
        let request = &mut wire.borrow_mut().request;
        *request = vec![0; size];
        request.as_mut_ptr()
    })
}

/// This wasm instance's memory (a `WebAssembly.Memory`), where the host
/// writes requests and reads answers. Its `buffer` is replaced when the
/// memory grows: a host reads it again after every call that may allocate.
#[wasm_bindgen(js_name = wireMemory)]
pub fn wire_memory() -> JsValue {
    wasm_bindgen::memory()
}

fn set(object: &JsValue, key: &str, value: impl Into<JsValue>) {
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
