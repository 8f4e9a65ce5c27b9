//! The one handler: a salvo request in, the endpoint's answer out.

use crate::hosted::{self, Ending};
use crate::log;
use crate::proxy::header_pairs;
use crate::proxy::Proxy;
use crate::state::{lock, Shared};
use http_body_util::BodyExt;
use mock_rest_core::{ApiError, BodyCollector, Feed, Method, Request};
use salvo::http::body::ReqBody;
use salvo::http::header::{HeaderName, HeaderValue};
use salvo::http::{ResBody, StatusCode};
use salvo::prelude::*;
use std::borrow::Cow;
use std::cell::RefCell;
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
                tracing::info!("{} {} dropped (a rule's fault)", request.method, req.uri());
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
        // The feed may carry the token in its query: it is not logged.
        let target: &dyn std::fmt::Display = if stream_route(&request) {
            &req.uri().path()
        } else {
            req.uri()
        };
        if tracing::enabled!(target: log::REQUEST_TARGET, tracing::Level::INFO) {
            let elapsed = Millis(started.elapsed());
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

/// Whether the request is for the change feed, whose query may hold the token.
fn stream_route(request: &Request) -> bool {
    request.path.trim_end_matches('/') == "/__admin/events"
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
}
