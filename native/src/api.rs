//! The one handler: a salvo request in, the engine's outcome out.

use crate::durable::Durable;
use crate::feed::FeedStream;
use crate::log;
use crate::namespaces::{Namespaces, Space};
use crate::proxy::Proxy;
use http_body_util::BodyExt;
use mock_rest_core::{
    redact_query, ApiError, BodyCollector, Engine, Fault, Feed, IdSource, Method, Outcome, Request,
    Upstream,
};
use salvo::http::body::ReqBody;
use salvo::http::header::{HeaderName, HeaderValue};
use salvo::http::{ResBody, StatusCode};
use salvo::prelude::*;
use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A namespace's engine, shared by every connection. Requests hold the lock
/// only while the engine runs (no I/O, no await), so no request waits on
/// another's network.
pub type SharedEngine = Arc<Mutex<Engine>>;

/// How many ids' random bytes [`OsIds`] draws from the OS at once.
const IDS_PER_DRAW: usize = 256;

/// Ids from the operating system's random source, drawn for
/// [`IDS_PER_DRAW`] ids at a time: one system call per 256 new ids, not
/// one per id. Each engine has its own (a namespace that creates nothing
/// holds no bytes); bytes are never handed out twice.
#[derive(Debug, Default, Clone)]
pub struct OsIds {
    bytes: Vec<u8>,
    /// How many of `bytes` are used (all of them: draw again).
    used: usize,
}

impl IdSource for OsIds {
    fn random_bytes(&mut self) -> [u8; 16] {
        if self.used == self.bytes.len() {
            self.bytes.resize(16 * IDS_PER_DRAW, 0);
            if getrandom::fill(&mut self.bytes).is_err() {
                self.bytes.clear();
                self.used = 0;
                // As before the batches: one draw for this id (uuid's own, which
                // fails loudly if the OS has no random bytes at all).
                return uuid::Uuid::new_v4().into_bytes();
            }
            self.used = 0;
        }
        let mut out = [0; 16];
        out.copy_from_slice(&self.bytes[self.used..self.used + 16]);
        // Spent bytes are wiped, so the buffer holds only ids still to come.
        self.bytes[self.used..self.used + 16].fill(0);
        self.used += 16;
        out
    }
}

/// The time since the Unix epoch, as the engine takes it.
pub fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Forwards every request to its namespace's engine.
pub struct Api {
    namespaces: Arc<Namespaces>,
    max_body_bytes: usize,
    body_timeout: Duration,
    /// The client for `PROXY_TARGET`, when one is set.
    proxy: Option<Proxy>,
}

impl Api {
    /// A handler over the namespaces, each persisting through its files if it
    /// has them. A request body that takes longer than `body_timeout` to
    /// arrive gets `408`.
    pub fn new(namespaces: Arc<Namespaces>, body_timeout: Duration) -> Self {
        let max_body_bytes = namespaces.max_body_bytes();
        let proxying = namespaces.config().proxy_target.is_some();
        Self {
            namespaces,
            max_body_bytes,
            body_timeout,
            proxy: proxying.then(Proxy::new),
        }
    }
}

#[handler]
impl Api {
    async fn handle(&self, req: &mut salvo::Request, res: &mut salvo::Response) {
        let started = Instant::now();
        let mut request = head(req);
        let (response, fault, stream) = match self.read_body(req, &mut request, started).await {
            Ok(()) => self.answer(&request).await,
            // A body that took too long, did not arrive whole or cannot be
            // decoded: the engine never sees the request, so nothing changes.
            Err(error) => (self.namespaces.refuse(&error, &request), None, None),
        };
        if fault == Some(Fault::Reset) {
            // A body that fails before its first byte: hyper then closes the
            // connection (HTTP/2: resets the stream) without an answer.
            res.body(ResBody::Boxed(Box::pin(Dropped)));
            tracing::info!(
                "{} {} dropped (a rule's fault)",
                request.method,
                LoggedTarget(&request)
            );
            recycle(request);
            return;
        }
        let status = response.status;
        match stream {
            Some(stream) => {
                let replay = write_head(res, response);
                res.stream(stream.body(replay));
            }
            None => write(res, response),
        }
        if tracing::enabled!(target: log::REQUEST_TARGET, tracing::Level::INFO) {
            let elapsed = Millis(started.elapsed());
            let target = LoggedTarget(&request);
            let line = format_args!("{} {} {} {}", request.method, target, status, elapsed);
            // Straight to the log's buffer when the binary set it up, else through `tracing`.
            if !log::request_line(line) {
                tracing::info!(target: log::REQUEST_TARGET, "{line}");
            }
        }
        recycle(request);
    }
}

impl Api {
    /// Reads the body into `request` as the core's [`BodyCollector`] rules,
    /// within the body timeout from `started` (when the handler began).
    async fn read_body(
        &self,
        req: &mut salvo::Request,
        request: &mut Request,
        started: Instant,
    ) -> Result<(), ApiError> {
        // The body goes into the buffer an earlier request left ([`head`]).
        let buffer = std::mem::take(&mut request.body);
        let mut collector = BodyCollector::for_request_into(request, self.max_body_bytes, buffer)?;
        // From the time already read: no clock read of its own.
        let deadline = tokio::time::Instant::from_std(started) + self.body_timeout;
        match tokio::time::timeout_at(deadline, drive(req.take_body(), &mut collector)).await {
            Err(_) => Err(ApiError::RequestTimeout),
            Ok(false) => Err(collector.abort()),
            Ok(true) => collector.finish(request),
        }
    }

    /// Runs the namespace's engine (and, when it asks, sends the request to
    /// the proxy target and runs the engine on what came back), makes its
    /// changes durable and waits its delay; the answer, the fault a rule asks
    /// for, and the event stream a `/__admin/events` request opens.
    async fn answer(
        &self,
        request: &Request,
    ) -> (mock_rest_core::Response, Option<Fault>, Option<FeedStream>) {
        let space = match self.namespaces.pick(request) {
            Ok(space) => space,
            // A bad name (400), too many namespaces (507): nothing changes.
            Err(error) => return (self.namespaces.refuse(&error, request), None, None),
        };
        // Counted before this namespace's lock is taken: each engine is locked on its own.
        let listed = Engine::shows_namespaces(request).then(|| self.namespaces.counts());
        let (mut outcome, mut failed, stream) = self
            .step(&space, request, |engine| {
                if let Some(listed) = listed {
                    engine.set_namespaces(listed);
                }
                engine.handle(request, unix_now())
            })
            .await;
        if let Some(forward) = outcome.forward.take() {
            // Unless the changes before it could not be saved.
            if failed.is_none() {
                let upstream = match &self.proxy {
                    Some(proxy) => proxy.send(&forward).await,
                    None => Upstream::Unreachable {
                        reason: "this server has no proxy client".to_owned(),
                    },
                };
                (outcome, failed, _) = self
                    .step(&space, request, |engine| {
                        engine.proxied(request, forward, upstream, unix_now())
                    })
                    .await;
            }
        }
        // The mock's latency: a timer, so the lock is free and other requests go on.
        if !outcome.delay.is_zero() {
            tokio::time::sleep(outcome.delay).await;
        }
        (failed.unwrap_or(outcome.response), outcome.fault, stream)
    }

    /// Runs the namespace's engine once, sends its events to the open
    /// streams, and makes its changes durable: the outcome, the `503` to send
    /// instead when the changes could not be saved, and the stream a
    /// subscribe opens.
    async fn step(
        &self,
        space: &Space,
        request: &Request,
        run: impl FnOnce(&mut Engine) -> Outcome,
    ) -> (
        Outcome,
        Option<mock_rest_core::Response>,
        Option<FeedStream>,
    ) {
        let (outcome, ticket, stream) = {
            let mut engine = lock(&space.engine);
            if let Some(storage) = space.durable.as_ref().and_then(|d| d.storage_changed()) {
                engine.set_storage(storage);
            }
            let mut outcome = run(&mut engine);
            // Under the lock: the streams get events in the engine's order,
            // and a new stream misses none after its replay.
            space.feed.publish(std::mem::take(&mut outcome.events));
            let stream = match outcome.subscribe.take() {
                Some(subscription) => {
                    let limit = engine.config().max_subscribers;
                    let stream = space.feed.subscribe(subscription, limit);
                    if stream.is_none() {
                        outcome.response =
                            engine.error_response(&ApiError::TooManySubscribers { limit }, request);
                    }
                    stream
                }
                None => None,
            };
            // Appended under the engine's lock, so the journal has the engine's order.
            let ticket = match &space.durable {
                Some(durable) if !outcome.changes.is_empty() => {
                    Some(durable.append(&outcome.changes))
                }
                _ => None,
            };
            (outcome, ticket, stream)
        };
        let mut failed = None;
        if let (Some(ticket), Some(durable)) = (ticket, &space.durable) {
            if !ticket.wait().await {
                // Memory holds the change the files lack: undo it before answering.
                let mut engine = lock(&space.engine);
                durable.recover(&mut engine);
                failed = Some(engine.error_response(&ApiError::StorageFailed, request));
            }
            if durable.wants_compaction() {
                compact_in_background(Arc::clone(&space.engine), Arc::clone(durable));
            }
        }
        (outcome, failed, stream)
    }
}

/// A duration as the log line gives it: milliseconds to one decimal (`0.3ms`),
/// rounded in integers, which costs less than formatting a float.
struct Millis(Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tenths = (self.0.as_nanos() + 50_000) / 100_000;
        write!(f, "{}.{}ms", tenths / 10, tenths % 10)
    }
}

/// A response body that fails at once, so the connection is dropped.
struct Dropped;

impl salvo::http::body::Body for Dropped {
    type Data = salvo::hyper::body::Bytes;
    type Error = salvo::BoxedError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<salvo::http::body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err("a rule drops the connection".into())))
    }
}

/// Feeds a body's frames to the collector until it ends or the collector has
/// enough. `false` when the body did not arrive whole: the connection closed
/// early, or its framing (chunk sizes, the last chunk) was broken.
async fn drive(mut body: ReqBody, collector: &mut BodyCollector) -> bool {
    while collector.wants_more() {
        match body.frame().await {
            None => break,
            Some(Err(_)) => return false,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if collector.feed(&data) == Feed::Stop {
                        break;
                    }
                }
            }
        }
    }
    true
}

/// How many finished requests each thread keeps for reuse ([`head`],
/// [`recycle`]): enough for the requests one thread has in flight at once
/// (as many as connections, when each waits for its journal's fsync), and
/// at most [`SPARE_BYTES`] each, 512 KiB a thread.
const SPARE_REQUESTS: usize = 64;

/// The most bytes of text and body a request may hold to be kept for reuse.
const SPARE_BYTES: usize = 8 * 1024;

thread_local! {
    /// Requests whose strings and vectors the next requests on this thread
    /// fill again: no allocation for the path, the headers or the body of a
    /// request that fits in what an earlier one left.
    static SPARE: RefCell<Vec<Request>> = const { RefCell::new(Vec::new()) };
}

/// Copies the method, target and headers of a salvo request into a request
/// kept from an earlier one, or a new one (the body comes after, through
/// [`Api::read_body`]); hand it to [`recycle`] when done.
fn head(req: &salvo::Request) -> Request {
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |target| target.as_str());
    let Some(mut request) = SPARE.with(|spare| spare.borrow_mut().pop()) else {
        let mut request = Request::new(Method::parse(req.method().as_str()), target);
        request.headers = header_pairs(req.headers());
        return request;
    };
    request.method = Method::parse(req.method().as_str());
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    request.path.clear();
    request.path.push_str(path);
    request.query.clear();
    request.query.push_str(query);
    let headers = req.headers();
    for (at, (name, value)) in headers.iter().enumerate() {
        let value = String::from_utf8_lossy(value.as_bytes());
        match request.headers.get_mut(at) {
            Some((old_name, old_value)) => {
                old_name.clear();
                old_name.push_str(name.as_str());
                old_value.clear();
                old_value.push_str(&value);
            }
            None => request
                .headers
                .push((name.as_str().to_owned(), value.into_owned())),
        }
    }
    // The map's length counts its values, as its iterator does.
    request.headers.truncate(headers.len());
    request.body.clear();
    request.body_too_large = false;
    request
}

/// Keeps a finished request for [`head`] to fill again, unless this thread
/// keeps enough already or it holds more than [`SPARE_BYTES`].
fn recycle(request: Request) {
    let held = request.path.capacity()
        + request.query.capacity()
        + request.body.capacity()
        + request.headers.capacity() * std::mem::size_of::<(String, String)>()
        + request
            .headers
            .iter()
            .map(|(name, value)| name.capacity() + value.capacity())
            .sum::<usize>();
    if held > SPARE_BYTES {
        return;
    }
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < SPARE_REQUESTS {
            spare.push(request);
        }
    });
}

/// HTTP headers as the core takes them: names and values as text (a value
/// that is not UTF-8 is read lossily).
pub(crate) fn header_pairs(headers: &salvo::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// A request's path and query as the log writes them: the value of an
/// `access_token` parameter (the feed's and the homepage's token) is
/// `REDACTED`, by the rule the journal keeps.
struct LoggedTarget<'a>(&'a Request);

impl std::fmt::Display for LoggedTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.path)?;
        if self.0.query.is_empty() {
            return Ok(());
        }
        f.write_str("?")?;
        f.write_str(&redact_query(&self.0.query))
    }
}

/// Copies an engine response's status and headers onto salvo's, and returns its body.
fn write_head(res: &mut salvo::Response, response: mock_rest_core::Response) -> Vec<u8> {
    res.status_code(
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    res.headers_mut().reserve(response.headers.len());
    for (name, value) in response.headers {
        // The value's own bytes, checked, not copied.
        match HeaderValue::try_from(value) {
            Ok(value) => {
                res.headers_mut()
                    .append(HeaderName::from_static(name), value);
            }
            Err(_) => tracing::warn!(
                header = name,
                "dropped a header value that HTTP cannot carry"
            ),
        }
    }
    response.body
}

/// Copies an engine response onto salvo's.
fn write(res: &mut salvo::Response, mut response: mock_rest_core::Response) {
    let body = std::mem::take(&mut response.body);
    write_head(res, response);
    res.body(ResBody::Once(body.into()));
}

/// Renders the snapshot under the engine's lock (so it covers exactly the
/// journal so far) and hands it to the flusher, off the async threads.
pub fn compact_in_background(engine: SharedEngine, durable: Arc<Durable>) {
    tokio::task::spawn_blocking(move || {
        let engine = lock(&engine);
        if durable.wants_compaction() {
            let _ = durable.compact(engine.snapshot(), &engine.rule_changes());
        }
    });
}

/// Compacts now and waits until every acknowledged write is durable (in the
/// new snapshot, or in the journal if the compaction failed).
pub async fn compact_now(engine: &SharedEngine, durable: &Durable) -> bool {
    let ticket = {
        let mut engine = lock(engine);
        // After a failed write, the snapshot must not hold it.
        durable.recover(&mut engine);
        durable.compact(engine.snapshot(), &engine.rule_changes())
    };
    ticket.wait().await
}

/// Locks the engine. A panic elsewhere cannot leave the store half-written
/// (the engine applies each change whole), so a poisoned lock is still usable.
pub(crate) fn lock(engine: &SharedEngine) -> std::sync::MutexGuard<'_, Engine> {
    engine.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn millis_read_as_a_float_to_one_decimal_did() {
        for (nanos, text) in [
            (0, "0.0ms"),
            (49_999, "0.0ms"),
            (50_000, "0.1ms"),
            (1_234_567, "1.2ms"),
            (12_960_000, "13.0ms"),
            (2_000_000_000, "2000.0ms"),
        ] {
            assert_eq!(Millis(Duration::from_nanos(nanos)).to_string(), text);
        }
    }

    fn salvo_request(
        method: &str,
        target: &str,
        headers: &[(&'static str, &str)],
    ) -> salvo::Request {
        let mut req = salvo::Request::new();
        *req.method_mut() = method.parse().unwrap();
        *req.uri_mut() = target.parse().unwrap();
        for (name, value) in headers {
            req.headers_mut()
                .append(*name, HeaderValue::from_str(value).unwrap());
        }
        req
    }

    #[test]
    fn a_reused_request_holds_only_the_new_request() {
        SPARE.with(|spare| spare.borrow_mut().clear());
        let first = salvo_request(
            "POST",
            "/api/people?x=1",
            &[("a", "1"), ("b", "2"), ("b", "3"), ("c", "4")],
        );
        let mut request = head(&first);
        assert_eq!(request.path, "/api/people");
        assert_eq!(request.query, "x=1");
        assert_eq!(request.headers.len(), 4);
        request.body = b"an earlier body".to_vec();
        request.body_too_large = true;
        recycle(request);
        assert_eq!(SPARE.with(|spare| spare.borrow().len()), 1);
        let second = salvo_request("GET", "/api/p", &[("d", "5")]);
        let fresh = Request::new(Method::Get, "/api/p").with_header("d", "5");
        let reused = head(&second);
        assert_eq!(SPARE.with(|spare| spare.borrow().len()), 0, "it was reused");
        assert_eq!(reused, fresh);
        // More headers than the kept request had, then a large one is not kept.
        recycle(reused);
        let third = salvo_request("DELETE", "/x", &[("e", "6"), ("f", "7")]);
        let mut reused = head(&third);
        assert_eq!(
            reused,
            Request::new(Method::Delete, "/x")
                .with_header("e", "6")
                .with_header("f", "7")
        );
        reused.body = vec![0; SPARE_BYTES + 1];
        recycle(reused);
        assert_eq!(SPARE.with(|spare| spare.borrow().len()), 0);
    }

    #[test]
    fn os_ids_are_fresh_across_draws() {
        let mut ids = OsIds::default();
        let mut other = OsIds::default();
        let mut seen = HashSet::new();
        // Three draws of the first source, and one of another: no id twice.
        for _ in 0..3 * IDS_PER_DRAW {
            assert!(seen.insert(ids.random_bytes()));
        }
        assert!(seen.insert(other.random_bytes()));
        assert_eq!(ids.used, IDS_PER_DRAW * 16);
        assert!(ids.bytes.iter().all(|&b| b == 0), "spent bytes are wiped");
    }
}
