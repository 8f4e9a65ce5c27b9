//! The one handler: a salvo request in, the endpoint's answer out.

use crate::fast::log;
use crate::fast::pool::{head, recycle};
use crate::hosted::{self, Ending};
use crate::proxy::Proxy;
use crate::state::{lock, Shared};
use http_body_util::BodyExt;
use mock_rest_core::token::redact_query;
use mock_rest_core::{ApiError, BodyCollector, Feed, Request};
use salvo::http::body::ReqBody;
use salvo::http::header::{HeaderName, HeaderValue};
use salvo::http::{ResBody, StatusCode};
use salvo::prelude::*;
use std::borrow::Cow;
use std::time::{Duration, Instant};

/// Hands every request to the endpoint.
pub struct Api {
    shared: Shared,
    max_body_bytes: usize,
    body_timeout: Duration,
    /// The client for `PROXY_TARGET`, when one is set.
    proxy: Option<Proxy>,
}

impl Api {
    /// A handler over the endpoint. A request body that takes longer than
    /// `body_timeout` to arrive gets `408`.
    pub fn new(shared: Shared, body_timeout: Duration) -> Self {
        let (max_body_bytes, proxying) = {
            let hosted = lock(&shared);
            let config = hosted.endpoint.config();
            (config.max_body_bytes, config.proxy_target.is_some())
        };
        Self {
            shared,
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
        let ending = match self.read_body(req, &mut request, started).await {
            Ok(()) => hosted::run(&self.shared, self.proxy.as_ref(), &request).await,
            // A body that took too long, did not arrive whole or cannot be
            // decoded: the endpoint never sees the request, so nothing changes.
            Err(error) => {
                Ending::Respond(lock(&self.shared).endpoint.error_response(&error, &request))
            }
        };
        let status = match ending {
            Ending::Drop => {
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
            Ending::Stream(stream, response) => {
                let status = response.status;
                let replay = write_head(res, response);
                res.stream(stream.body(replay));
                status
            }
            Ending::Respond(response) => {
                let status = response.status;
                write(res, response);
                status
            }
        };
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
        // The engine's own names are static and used as they are; a rule's or
        // a target's are checked again by HTTP's grammar as they are copied.
        let name = match name {
            Cow::Borrowed(name) => HeaderName::from_static(name),
            Cow::Owned(name) => match HeaderName::from_bytes(name.as_bytes()) {
                Ok(name) => name,
                Err(err) => {
                    tracing::warn!("dropped a header whose name HTTP cannot carry: {err}");
                    continue;
                }
            },
        };
        // The value's own bytes, checked, not copied.
        match HeaderValue::try_from(value) {
            Ok(value) => {
                res.headers_mut().append(name, value);
            }
            Err(_) => tracing::warn!(
                header = name.as_str(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_read_as_a_float_to_one_decimal() {
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
}
