//! The one handler: a salvo request in, the engine's outcome out.

use crate::durable::Durable;
use http_body_util::BodyExt;
use mock_rest_core::{ApiError, Engine, IdSource, Method, Request};
use salvo::http::body::ReqBody;
use salvo::http::header::CONTENT_LENGTH;
use salvo::http::header::{HeaderName, HeaderValue};
use salvo::http::{ResBody, StatusCode};
use salvo::prelude::*;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The engine, shared by every connection. Requests hold the lock only while
/// the engine runs (no I/O, no await), so no request waits on another's network.
pub type SharedEngine = Arc<Mutex<Engine>>;

/// Ids from the operating system's random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsIds;

impl IdSource for OsIds {
    fn random_bytes(&mut self) -> [u8; 16] {
        uuid::Uuid::new_v4().into_bytes()
    }
}

/// The time since the Unix epoch, as the engine takes it.
pub fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Forwards every request to the engine.
pub struct Api {
    engine: SharedEngine,
    durable: Option<Arc<Durable>>,
    max_body_bytes: usize,
    body_timeout: Duration,
}

impl Api {
    /// A handler over a shared engine, persisting through `durable` if given.
    /// A request body that takes longer than `body_timeout` to arrive gets `408`.
    pub fn new(
        engine: SharedEngine,
        durable: Option<Arc<Durable>>,
        body_timeout: Duration,
    ) -> Self {
        let max_body_bytes = lock(&engine).config().max_body_bytes;
        Self {
            engine,
            durable,
            max_body_bytes,
            body_timeout,
        }
    }
}

#[handler]
impl Api {
    async fn handle(&self, req: &mut salvo::Request, res: &mut salvo::Response) {
        let started = Instant::now();
        let request = match tokio::time::timeout(self.body_timeout, self.read(req)).await {
            Ok(request) => request,
            Err(_) => {
                let request = Request::new(Method::parse(req.method().as_str()), req.uri().path());
                let mut response = ApiError::RequestTimeout.to_response();
                lock(&self.engine).finish(&mut response, &request);
                write(res, response);
                return;
            }
        };
        let (outcome, ticket) = {
            let mut engine = lock(&self.engine);
            if let Some(storage) = self.durable.as_ref().and_then(|d| d.storage_changed()) {
                engine.set_storage(storage);
            }
            let outcome = engine.handle(&request, unix_now());
            // Appended under the engine's lock, so the journal has the engine's order.
            let ticket = match &self.durable {
                Some(durable) if !outcome.changes.is_empty() => {
                    Some(durable.append(&outcome.changes))
                }
                _ => None,
            };
            (outcome, ticket)
        };
        let mut response = outcome.response;
        if let (Some(ticket), Some(durable)) = (ticket, &self.durable) {
            if !ticket.wait().await {
                // Memory holds the change the files lack: undo it before answering.
                let mut engine = lock(&self.engine);
                durable.recover(&mut engine);
                response = ApiError::StorageFailed.to_response();
                engine.finish(&mut response, &request);
            }
            if durable.wants_compaction() {
                compact_in_background(Arc::clone(&self.engine), Arc::clone(durable));
            }
        }
        // The mock's latency: a timer, so the lock is free and other requests go on.
        if !outcome.delay.is_zero() {
            tokio::time::sleep(outcome.delay).await;
        }
        let status = response.status;
        write(res, response);
        tracing::info!(
            "{} {} {} {:.1}ms",
            request.method,
            req.uri(),
            status,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
}

/// Copies an engine response onto salvo's.
fn write(res: &mut salvo::Response, response: mock_rest_core::Response) {
    res.status_code(
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    for (name, value) in response.headers {
        match HeaderValue::from_str(&value) {
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
    res.body(ResBody::Once(response.body.into()));
}

/// Renders the snapshot under the engine's lock (so it covers exactly the
/// journal so far) and hands it to the flusher, off the async threads.
pub fn compact_in_background(engine: SharedEngine, durable: Arc<Durable>) {
    tokio::task::spawn_blocking(move || {
        let engine = lock(&engine);
        if durable.wants_compaction() {
            let _ = durable.compact(engine.snapshot());
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
        durable.compact(engine.snapshot())
    };
    ticket.wait().await
}

impl Api {
    /// Copies what the engine needs out of a salvo request.
    async fn read(&self, req: &mut salvo::Request) -> Request {
        let mut request = Request::new(Method::parse(req.method().as_str()), req.uri().path());
        request.query = req.uri().query().unwrap_or_default().to_owned();
        request.headers = req
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        (request.body, request.body_too_large) =
            read_body(req.take_body(), declared, self.max_body_bytes).await;
        request
    }
}

/// How far past the body limit a request body is still read (and thrown away),
/// so that an ordinary client that sends it all gets to read the `413` rather
/// than a reset connection. Past this, the connection is simply closed.
const DRAIN_BYTES: usize = 32 * 1024 * 1024;

/// Reads a body, keeping at most `limit` bytes. Returns the bytes and whether
/// the body was over the limit.
async fn read_body(mut body: ReqBody, declared: Option<usize>, limit: usize) -> (Vec<u8>, bool) {
    let drain_until = limit.saturating_add(DRAIN_BYTES);
    if declared.is_some_and(|length| length > drain_until) {
        return (Vec::new(), true);
    }
    let mut kept = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            // The client went away mid-body; nobody will read the answer.
            break;
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            kept.extend_from_slice(&data);
        } else if seen > drain_until {
            break;
        }
    }
    if seen > limit {
        kept = Vec::new();
    }
    (kept, seen > limit)
}

/// Locks the engine. A panic elsewhere cannot leave the store half-written
/// (the engine applies each change whole), so a poisoned lock is still usable.
pub(crate) fn lock(engine: &SharedEngine) -> std::sync::MutexGuard<'_, Engine> {
    engine.lock().unwrap_or_else(PoisonError::into_inner)
}
