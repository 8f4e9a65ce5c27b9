//! The one handler: a salvo request in, the engine's outcome out.

use mock_rest_core::{Engine, IdSource, Method, Request};
use salvo::http::header::{HeaderName, HeaderValue};
use salvo::http::{ParseError, ResBody, StatusCode};
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
    max_body_bytes: usize,
}

impl Api {
    /// A handler over a shared engine.
    pub fn new(engine: SharedEngine) -> Self {
        let max_body_bytes = lock(&engine).config().max_body_bytes;
        Self {
            engine,
            max_body_bytes,
        }
    }
}

#[handler]
impl Api {
    async fn handle(&self, req: &mut salvo::Request, res: &mut salvo::Response) {
        let started = Instant::now();
        let request = self.read(req).await;
        let outcome = lock(&self.engine).handle(&request, unix_now());
        let response = outcome.response;
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
        tracing::info!(
            "{} {} {} {:.1}ms",
            request.method,
            req.uri(),
            response.status,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
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
        match req.payload_with_max_size(self.max_body_bytes).await {
            Ok(bytes) => request.body = bytes.to_vec(),
            Err(ParseError::PayloadTooLarge) => request.body_too_large = true,
            // The client went away mid-body; nobody will read the answer.
            Err(err) => tracing::debug!("could not read a request body: {err}"),
        }
        request
    }
}

/// Locks the engine. A panic elsewhere cannot leave the store half-written
/// (the engine applies each change whole), so a poisoned lock is still usable.
fn lock(engine: &SharedEngine) -> std::sync::MutexGuard<'_, Engine> {
    engine.lock().unwrap_or_else(PoisonError::into_inner)
}
