//! The Durable Object that owns one namespace: its engine, and the rows that
//! survive the object's eviction.

use crate::feed::{Body, Running, Slot, Wakers};
use crate::settings;
use crate::storage::Storage;
use futures_util::StreamExt;
use mock_rest_core::{
    error_response_without_engine, ApiError, BodyCollector, Effect, Feed, IdSource, Method, Output,
    Request,
};
use std::cell::RefCell;
use std::rc::Rc;
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

    fn fork(&mut self) -> Box<dyn IdSource> {
        Box::new(CryptoIds)
    }
}

/// The time since the Unix epoch from `Date.now()`.
fn unix_now() -> Duration {
    Duration::from_millis(worker::js_sys::Date::now() as u64)
}

/// One namespace: an endpoint holding it, loaded from storage by the first
/// request after the object starts, and the storage every change goes to
/// before its answer.
#[durable_object]
pub struct MockStore {
    state: State,
    env: Env,
    /// Loaded by the first request; dropped (to be loaded again) when a
    /// change could not be stored, so memory never runs ahead of storage.
    /// Shared with the open streams' bodies, which read what it queued.
    running: Slot<Option<Running>>,
    /// The storage of the running endpoint's namespace.
    storage: RefCell<Option<Storage>>,
    /// The open streams' bodies waiting to be woken.
    wakers: Slot<Wakers>,
    /// How many endpoints this object has run.
    generations: std::cell::Cell<u64>,
}

impl DurableObject for MockStore {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            running: Rc::new(RefCell::new(None)),
            storage: RefCell::new(None),
            wakers: Rc::new(RefCell::new(Wakers::default())),
            generations: std::cell::Cell::new(0),
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

/// How a request ends, once its effects that need no waiting are carried out.
enum Next {
    Respond(mock_rest_core::Response),
    Stream(mock_rest_core::StreamId, mock_rest_core::Response),
    Drop(mock_rest_core::Response),
    Forward(mock_rest_core::Ticket, mock_rest_core::Forward),
}

impl MockStore {
    async fn serve(
        &self,
        mut req: worker::Request,
        mut request: Request,
    ) -> worker::Result<worker::Response> {
        let limit = match self.running.borrow().as_ref() {
            Some(running) => running.endpoint.config().max_body_bytes,
            None => match self.config() {
                Ok(config) => config.max_body_bytes,
                Err(message) => return host_failed(message, &request),
            },
        };
        if let Err(error) = read_body(&mut req, &mut request, limit).await {
            // The body did not arrive whole, or cannot be decoded: the endpoint
            // never sees the request, so nothing changes.
            return respond(self.error_response(&error, &request));
        }
        // From handling to the end of its effects that need no waiting nothing
        // awaits, so requests to this object run and store one at a time.
        let output = {
            if let Err(message) = self.ensure_running(&request) {
                return host_failed(message, &request);
            }
            let mut slot = self.running.borrow_mut();
            let Some(running) = slot.as_mut() else {
                return host_failed("the endpoint is not running".to_owned(), &request);
            };
            running.endpoint.handle(&request, unix_now())
        };
        let mut next = self.carry(output, &request);
        let mut delay = Duration::ZERO;
        loop {
            match next {
                Ok((Next::Forward(ticket, forward), _)) => {
                    // PROXY_TARGET: the endpoint asks for the target's answer, then says what to answer.
                    let upstream = crate::proxy::send(&forward).await;
                    let output = {
                        let mut slot = self.running.borrow_mut();
                        let Some(running) = slot.as_mut() else {
                            return host_failed(
                                "the endpoint stopped while PROXY_TARGET answered".to_owned(),
                                &request,
                            );
                        };
                        running
                            .endpoint
                            .handle_upstream(ticket, upstream, unix_now())
                    };
                    next = self.carry(output, &request);
                }
                Ok((ending, waited)) => {
                    delay += waited;
                    if !delay.is_zero() {
                        worker::Delay::from(delay).await;
                    }
                    return match ending {
                        Next::Respond(response) => respond(response),
                        Next::Stream(id, mut response) => {
                            let replay = std::mem::take(&mut response.body);
                            let body = Body::new(id, &self.running, &self.wakers, replay);
                            stream(response, body)
                        }
                        Next::Drop(response) => respond(crate::reset::cut_short(response)),
                        Next::Forward(..) => unreachable_forward(&request),
                    };
                }
                Err(response) => return respond(response),
            }
        }
    }

    /// Carries out an output's effects that need no waiting, in order: its
    /// changes stored (one transaction), then its events published and the
    /// streams woken. When the storage refuses the changes, the answer is
    /// `503` and the endpoint is dropped, to be loaded again, so neither
    /// memory nor the feed runs ahead of storage.
    fn carry(
        &self,
        output: Output,
        request: &Request,
    ) -> Result<(Next, Duration), mock_rest_core::Response> {
        let mut delay = Duration::ZERO;
        let mut next = None;
        let mut slot = self.running.borrow_mut();
        let Some(running) = slot.as_mut() else {
            return Err(error_response_without_engine(
                &ApiError::StorageFailed,
                request,
            ));
        };
        for effect in output {
            match effect {
                // The object is its namespace: its storage is made when it starts.
                Effect::Open { .. } | Effect::Forget { .. } => {}
                Effect::Persist { changes, .. } => {
                    let stored = match self.storage.borrow().as_ref() {
                        Some(storage) => storage.record(&changes).map_err(|err| err.to_string()),
                        None => Err("no storage is open".to_owned()),
                    };
                    if let Err(err) = stored {
                        console_error!("storing the changes failed, nothing was kept: {err}");
                        let failed = running.endpoint.storage_failed(request);
                        *slot = None;
                        *self.storage.borrow_mut() = None;
                        return Err(failed);
                    }
                }
                Effect::Publish(publication) => {
                    let woken = running.endpoint.publish(publication);
                    self.wakers.borrow_mut().wake(&woken);
                }
                Effect::Wake(woken) => self.wakers.borrow_mut().wake(&woken),
                Effect::Wait(waited) => delay += waited,
                Effect::Forward(ticket, forward) => next = Some(Next::Forward(ticket, forward)),
                Effect::Drop(response) => next = Some(Next::Drop(response)),
                Effect::Respond(response) => next = Some(Next::Respond(response)),
                Effect::Stream(id, response) => next = Some(Next::Stream(id, response)),
            }
        }
        match next {
            Some(next) => Ok((next, delay)),
            None => Err(running
                .endpoint
                .unavailable(request, "the mock's answer was lost".to_owned())),
        }
    }

    /// Starts the endpoint (loaded from storage) if none runs: the first
    /// request, or the first after storage failed.
    fn ensure_running(&self, request: &Request) -> Result<(), String> {
        if self.running.borrow().is_some() {
            return Ok(());
        }
        let (running, storage) = self.start(request)?;
        *self.running.borrow_mut() = Some(running);
        *self.storage.borrow_mut() = Some(storage);
        Ok(())
    }

    /// The answer to a request the object refuses or fails itself, from the
    /// endpoint when there is one (so with its CORS settings).
    fn error_response(&self, error: &ApiError, request: &Request) -> mock_rest_core::Response {
        match self
            .running
            .try_borrow()
            .ok()
            .as_ref()
            .and_then(|running| running.as_ref())
        {
            Some(running) => running.endpoint.error_response(error, request),
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

    /// The endpoint holding this object's namespace (the one the request
    /// names), with every stored item, as it was before the object was
    /// evicted, and the seed (`FIXTURES`, `RULES`) as what `POST
    /// /__admin/reset` returns to. A namespace never written before starts
    /// from the seed, which is stored first. Uptime counts from here.
    fn start(&self, request: &Request) -> Result<(Running, Storage), String> {
        let config = self.config()?;
        let seed = settings::seed(|name| self.seed_var(name));
        let mut endpoint = settings::endpoint(config, seed, Box::new(CryptoIds), unix_now())
            .map_err(|err| format!("The Worker's seed is not valid: {err}."))?;
        // The front Worker checked the name: this object is that namespace.
        let name = endpoint
            .namespace_of(request)
            .map_err(|_| "the request names no namespace this object can hold".to_owned())?;
        endpoint
            .open(&name, unix_now())
            .map_err(|err| format!("The namespace could not be made: {}.", err.message()))?;
        let storage = Storage::open(&self.state)
            .map_err(|err| format!("The store could not be opened: {err}."))?;
        let begun = storage
            .begun()
            .map_err(|err| format!("The store could not be read: {err}."))?;
        let Some(engine) = endpoint.engine_mut(&name) else {
            return Err("the namespace was just made".to_owned());
        };
        if begun {
            // The rows are the store: the seed stays only what reset returns to.
            engine.apply(&mock_rest_core::Change::ClearAll);
            engine.apply(&mock_rest_core::Change::ClearRules);
            storage
                .load(engine)
                .map_err(|err| format!("The store could not be loaded: {err}."))?;
        } else {
            storage
                .begin(&engine.rebuild_changes())
                .map_err(|err| format!("The seed could not be stored: {err}."))?;
        }
        endpoint.loaded(&name);
        let generation = self.generations.get() + 1;
        self.generations.set(generation);
        Ok((
            Running {
                generation,
                endpoint,
            },
            storage,
        ))
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

/// The answer when a forward was asked twice in one output (which the
/// endpoint never does).
fn unreachable_forward(request: &Request) -> worker::Result<worker::Response> {
    host_failed("the endpoint asked to forward twice".to_owned(), request)
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

/// The engine's headers as the runtime's.
fn headers(response: &mock_rest_core::Response) -> Headers {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        if headers.append(name, value).is_err() {
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

/// An event stream: the endpoint's status and headers, then the body as the
/// endpoint queues for it.
fn stream(response: mock_rest_core::Response, body: Body) -> worker::Result<worker::Response> {
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
