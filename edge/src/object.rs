//! The Durable Object that owns one namespace: its engine, and the rows that
//! survive the object's eviction.

use crate::feed::Streams;
use crate::settings;
use crate::storage::Storage;
use futures_util::StreamExt;
use mock_rest_core::{
    error_response_without_engine, ApiError, BodyCollector, Change, Engine, Fault, Feed, IdSource,
    Method, Outcome, Request,
};
use std::cell::RefCell;
use std::time::Duration;
use wasm_bindgen::JsValue;
use worker::{
    console_error, console_warn, durable_object, DurableObject, Env, Headers, ResponseBuilder,
    State,
};

/// Ids from `crypto.getRandomValues`, through `uuid`.
struct CryptoIds;

impl IdSource for CryptoIds {
    fn random_bytes(&mut self) -> [u8; 16] {
        uuid::Uuid::new_v4().into_bytes()
    }
}

/// The time since the Unix epoch from `Date.now()`.
fn unix_now() -> Duration {
    Duration::from_millis(worker::js_sys::Date::now() as u64)
}

/// One namespace: the engine, loaded from storage by the first request after
/// the object starts, and the storage every change goes to before its answer.
#[durable_object]
pub struct MockStore {
    state: State,
    env: Env,
    /// Loaded by the first request; dropped (to be loaded again) when a
    /// change could not be stored, so memory never runs ahead of storage.
    live: RefCell<Option<Live>>,
    /// The open `/__admin/events` streams; they outlive a reload of `live`
    /// (not the object: an evicted object has none, as its clients were cut).
    streams: RefCell<Streams>,
}

struct Live {
    engine: Engine,
    storage: Storage,
}

impl DurableObject for MockStore {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            live: RefCell::new(None),
            streams: RefCell::new(Streams::default()),
        }
    }

    async fn fetch(&self, req: worker::Request) -> worker::Result<worker::Response> {
        let request = head(&req);
        match self.serve(req, request.clone()).await {
            Ok(response) => Ok(response),
            Err(err) => {
                let error = ApiError::HostFailed {
                    reason: format!("The request could not be served: {err}."),
                };
                console_error!("{}", error.message());
                respond(self.error_response(&error, &request))
            }
        }
    }
}

impl MockStore {
    async fn serve(
        &self,
        mut req: worker::Request,
        mut request: Request,
    ) -> worker::Result<worker::Response> {
        let limit = match self.live.borrow().as_ref() {
            Some(live) => live.engine.config().max_body_bytes,
            None => match self.config() {
                Ok(config) => config.max_body_bytes,
                Err(message) => return host_failed(message, &request),
            },
        };
        if let Err(error) = read_body(&mut req, &mut request, limit).await {
            // The body did not arrive whole, or cannot be decoded: the engine
            // never sees the request, so nothing changes.
            return respond(self.error_response(&error, &request));
        }
        // From here to the answer's delay nothing awaits, so requests to this
        // object run the engine and write their changes one at a time.
        let outcome = {
            let mut slot = self.live.borrow_mut();
            let live = match self.running(&mut slot) {
                Ok(live) => live,
                Err(message) => return host_failed(message, &request),
            };
            let mut outcome = live.engine.handle(&request, unix_now());
            if let Some(subscription) = outcome.subscribe.take() {
                // A subscribe changes nothing: it has no events and no changes.
                let mut streams = self.streams.borrow_mut();
                let limit = live.engine.config().max_subscribers;
                if streams.len() >= limit {
                    let refused = ApiError::TooManySubscribers { limit };
                    return respond(live.engine.error_response(&refused, &request));
                }
                let replay = std::mem::take(&mut outcome.response.body);
                let body = streams.subscribe(subscription, replay);
                return stream(outcome.response, body);
            }
            Self::store_and_publish(&mut slot, outcome, &request, &self.streams)
        };
        let outcome = match outcome.forward {
            // PROXY_TARGET: the engine asks for the target's answer, then says what to answer.
            Some(forward) => {
                let upstream = crate::proxy::send(&forward).await;
                let mut slot = self.live.borrow_mut();
                let live = match self.running(&mut slot) {
                    Ok(live) => live,
                    Err(message) => return host_failed(message, &request),
                };
                let outcome = live.engine.proxied(&request, forward, upstream, unix_now());
                // Recorded items reach the open streams as any write does.
                Self::store_and_publish(&mut slot, outcome, &request, &self.streams)
            }
            None => outcome,
        };
        if !outcome.delay.is_zero() {
            worker::Delay::from(outcome.delay).await;
        }
        if outcome.fault == Some(Fault::Reset) {
            // The front Worker cuts the answer short (see `crate::reset`).
            return crate::reset::mark(respond(outcome.response)?);
        }
        respond(outcome.response)
    }

    /// The running engine, started (loaded from storage) if there is none:
    /// the first request, or the first after storage failed.
    fn running<'s>(&self, slot: &'s mut Option<Live>) -> Result<&'s mut Live, String> {
        let live = match slot.take() {
            Some(live) => live,
            None => self.start()?,
        };
        Ok(slot.insert(live))
    }

    /// Writes an outcome's changes before its answer, then sends its events
    /// to the open streams (storage is synchronous and nothing awaits in
    /// between, so they go out in the engine's order); when the storage
    /// refuses the changes, the answer is `503` (and no forward), no event
    /// goes out, and the engine is dropped, to be loaded again, so neither
    /// memory nor the feed runs ahead of storage.
    fn store_and_publish(
        slot: &mut Option<Live>,
        mut outcome: Outcome,
        request: &Request,
        streams: &RefCell<Streams>,
    ) -> Outcome {
        if let Some(live) = slot.as_mut().filter(|_| !outcome.changes.is_empty()) {
            if let Err(err) = live.storage.record(&outcome.changes) {
                console_error!("storing the changes failed, nothing was kept: {err}");
                outcome.response = live
                    .engine
                    .error_response(&ApiError::StorageFailed, request);
                outcome.forward = None;
                outcome.events.clear();
                *slot = None;
            }
        }
        streams.borrow_mut().publish(&outcome.events);
        outcome
    }

    /// The answer to a request the object refuses or fails itself, from the
    /// engine when there is one (so with its CORS settings).
    fn error_response(&self, error: &ApiError, request: &Request) -> mock_rest_core::Response {
        match self
            .live
            .try_borrow()
            .ok()
            .as_ref()
            .and_then(|live| live.as_ref())
        {
            Some(live) => live.engine.error_response(error, request),
            None => error_response_without_engine(error, request),
        }
    }

    fn config(&self) -> Result<mock_rest_core::Config, String> {
        let (config, warnings) = settings::config(|name| {
            let value = if name == "API_TOKEN" {
                self.env.secret(name).ok()
            } else {
                self.env.var(name).ok()
            };
            value.map(|value| value.to_string())
        })
        .map_err(|err| format!("The Worker's settings are not valid: {err}."))?;
        for warning in warnings {
            console_warn!("{warning}");
        }
        Ok(config)
    }

    /// The engine with every stored item, as it was before the object was
    /// evicted, and the seed (`FIXTURES`, `RULES`) as what `POST
    /// /__admin/reset` returns to. A namespace never written before starts
    /// from the seed, which is stored first. Uptime counts from here.
    fn start(&self) -> Result<Live, String> {
        let config = self.config()?;
        let mut engine = Engine::new(config, Box::new(CryptoIds), unix_now());
        settings::seed(&mut engine, |name| self.seed_var(name))
            .map_err(|err| format!("The Worker's seed is not valid: {err}."))?;
        let storage = Storage::open(&self.state)
            .map_err(|err| format!("The store could not be opened: {err}."))?;
        let begun = storage
            .begun()
            .map_err(|err| format!("The store could not be read: {err}."))?;
        if begun {
            // The rows are the store: the seed stays only what reset returns to.
            engine.apply(&Change::ClearAll);
            engine.apply(&Change::ClearRules);
            storage
                .load(&mut engine)
                .map_err(|err| format!("The store could not be loaded: {err}."))?;
        } else {
            storage
                .begin(&engine.rebuild_changes())
                .map_err(|err| format!("The seed could not be stored: {err}."))?;
        }
        Ok(Live { engine, storage })
    }

    /// A seed var's text: a string as it is; JSON given in `wrangler.toml`
    /// (a table or an array, which the runtime hands over as an object) as
    /// its JSON text; `None` when it is not set.
    fn seed_var(&self, name: &str) -> Option<String> {
        let env: &JsValue = self.env.as_ref();
        let value = worker::js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
        if value.is_undefined() || value.is_null() {
            return None;
        }
        match value.as_string() {
            Some(text) => Some(text),
            None => worker::js_sys::JSON::stringify(&value)
                .ok()
                .and_then(|text| text.as_string()),
        }
    }
}

/// The method, target and headers of the request, as the engine takes them
/// (the body comes after, through [`read_body`]).
pub fn head(req: &worker::Request) -> Request {
    let url = req.inner().url();
    let mut request = Request::new(Method::parse(&req.inner().method()), target(&url));
    request.headers = req.headers().entries().collect();
    request
}

/// Reads the body into `request` by the core's [`BodyCollector`] rules: kept
/// up to the limit, drained a while past it (the engine then answers `413`),
/// and an error when it did not arrive whole or cannot be decoded.
async fn read_body(
    req: &mut worker::Request,
    request: &mut Request,
    limit: usize,
) -> Result<(), ApiError> {
    let mut collector = BodyCollector::for_request(request, limit)?;
    if req.inner().body().is_some() && collector.wants_more() {
        let mut chunks = req.stream().map_err(|_| collector.abort())?;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|_| collector.abort())?;
            if collector.feed(&chunk) == Feed::Stop {
                break;
            }
        }
    }
    collector.finish(request)
}

/// The path and query of an absolute URL, as the engine takes them.
fn target(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    match url[after_scheme..].find('/') {
        Some(at) => &url[after_scheme + at..],
        None => "/",
    }
}

/// The engine's headers as the runtime's, but for the reset fault's marker
/// (see `crate::reset`), which only the object sets.
fn headers(response: &mock_rest_core::Response) -> Headers {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        if crate::reset::is_marker(name) {
            console_warn!("dropped the {name} header, which mock-rest-api keeps for itself");
        } else if headers.append(name, value).is_err() {
            console_warn!("dropped a {name} header value that HTTP cannot carry");
        }
    }
    headers
}

/// The engine's response as the runtime's.
fn respond(response: mock_rest_core::Response) -> worker::Result<worker::Response> {
    let builder = ResponseBuilder::new()
        .with_status(response.status)
        .with_headers(headers(&response));
    Ok(if response.body.is_empty() {
        builder.empty()
    } else {
        builder.fixed(response.body)
    })
}

/// An event stream: the engine's status and headers, then the body as its
/// queue fills.
fn stream(
    response: mock_rest_core::Response,
    body: crate::feed::Body,
) -> worker::Result<worker::Response> {
    ResponseBuilder::new()
        .with_status(response.status)
        .with_headers(headers(&response))
        .from_stream(body)
}

/// The answer when there is no engine to ask (settings or storage that do
/// not work, an object that cannot be reached), logged as an error.
pub fn host_failed(reason: String, request: &Request) -> worker::Result<worker::Response> {
    console_error!("{reason}");
    respond(error_response_without_engine(
        &ApiError::HostFailed { reason },
        request,
    ))
}

/// A request the Worker refuses before any object takes it (a bad
/// namespace name), answered as the core says.
pub fn refused(error: &ApiError, request: &Request) -> worker::Result<worker::Response> {
    respond(error_response_without_engine(error, request))
}

/// As [`host_failed`], for what could not be reached (`503`).
pub fn unavailable(reason: String, request: &Request) -> worker::Result<worker::Response> {
    console_error!("{reason}");
    respond(error_response_without_engine(
        &ApiError::Unavailable { reason },
        request,
    ))
}
