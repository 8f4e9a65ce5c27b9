//! The native server's side of `PROXY_TARGET`: sends what the engine asks
//! to forward ([`mock_rest_core::Forward`]) with hyper's client on tokio
//! (HTTP/1.1; `https://` through rustls with Mozilla's roots, compiled in),
//! and reports what came of it ([`Upstream`]). The engine decides which
//! requests go, with which headers, and what the answer becomes.
//!
//! Bounded: the answer's body is read up to `MAX_BODY_BYTES` and no
//! further (a larger `Content-Length` is refused before any of it is read),
//! the whole exchange within `PROXY_TIMEOUT_MS`. Redirects are passed back,
//! never followed.

use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mock_rest_core::{Forward, Upstream};
use salvo::http::header::{HeaderName, HeaderValue, CONTENT_LENGTH};
use salvo::hyper::body::Bytes;
use salvo::hyper::{Method, Request, Uri};

/// A pooled HTTP/1.1 client for the target.
#[derive(Clone)]
pub struct Proxy {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Default for Proxy {
    fn default() -> Self {
        Self::new()
    }
}

impl Proxy {
    /// A client; connections to the target are kept and reused.
    pub fn new() -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        // The TLS layer takes `https://`; the TCP layer must let it through.
        http.enforce_http(false);
        let connector = HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Sends the request and reads the answer, within the timeout.
    pub async fn send(&self, forward: &Forward) -> Upstream {
        tokio::time::timeout(forward.timeout, self.exchange(forward))
            .await
            .unwrap_or(Upstream::TimedOut)
    }

    async fn exchange(&self, forward: &Forward) -> Upstream {
        let unreachable = |reason: String| Upstream::Unreachable { reason };
        let uri: Uri = match forward.url.parse() {
            Ok(uri) => uri,
            Err(err) => return unreachable(format!("`{}` is not a URL ({err})", forward.url)),
        };
        let method = match Method::from_bytes(forward.method.as_bytes()) {
            Ok(method) => method,
            Err(err) => return unreachable(format!("the method cannot be sent ({err})")),
        };
        let mut request = Request::new(Full::new(Bytes::from(forward.body.clone())));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        for (name, value) in &forward.headers {
            // The request came in as HTTP, so its headers go out as they came.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                request.headers_mut().append(name, value);
            }
        }
        let response = match self.client.request(request).await {
            Ok(response) => response,
            Err(err) => return unreachable(causes(&err)),
        };
        let status = response.status().as_u16();
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > forward.max_body_bytes as u64) {
            return Upstream::TooLarge;
        }
        let headers = header_pairs(response.headers());
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        if bytes.len() + data.len() > forward.max_body_bytes {
                            // Dropping the body closes the connection: nothing more is read.
                            return Upstream::TooLarge;
                        }
                        bytes.extend_from_slice(&data);
                    }
                }
                Err(err) => return unreachable(format!("the answer broke off ({})", causes(&err))),
            }
        }
        Upstream::Answered {
            status,
            headers,
            body: bytes,
        }
    }
}

/// An error and its causes, as one line: `client error (Connect): tcp
/// connect error: Connection refused (os error 111)`.
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
