//! The Worker's side of `PROXY_TARGET`: sends what the engine asks to
//! forward ([`Forward`]) with the runtime's `fetch`, and reports what came of
//! it ([`Upstream`]). The engine decides which requests go, with which
//! headers, and what the answer becomes.
//!
//! Bounded: the answer's body is read up to `MAX_BODY_BYTES` and no
//! further, the whole exchange within `PROXY_TIMEOUT_MS`. Redirects are
//! passed back, never followed.

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use mock_rest_core::{Forward, Upstream};
use worker::{Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

/// Sends the request and reads the answer, within the timeout.
pub async fn send(forward: &Forward) -> Upstream {
    let exchange = Box::pin(exchange(forward));
    let timer = Delay::from(forward.timeout);
    match select(exchange, timer).await {
        Either::Left((upstream, _)) => upstream,
        Either::Right(_) => Upstream::TimedOut,
    }
}

async fn exchange(forward: &Forward) -> Upstream {
    let unreachable = |reason: String| Upstream::Unreachable { reason };
    let headers = Headers::new();
    for (name, value) in &forward.headers {
        // A header the runtime refuses to send is left out.
        let _ = headers.append(name, value);
    }
    // `fetch` would otherwise ask for gzip and undo it, leaving a
    // Content-Encoding that no longer holds.
    let _ = headers.set("accept-encoding", "identity");
    let mut init = RequestInit::new();
    init.with_method(Method::from(forward.method.clone()))
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    let bodiless = forward.method == "GET" || forward.method == "HEAD";
    if !bodiless && !forward.body.is_empty() {
        let body = worker::js_sys::Uint8Array::from(forward.body.as_slice());
        init.with_body(Some(body.into()));
    }
    let request = match Request::new_with_init(&forward.url, &init) {
        Ok(request) => request,
        Err(err) => return unreachable(err.to_string()),
    };
    let mut response = match Fetch::Request(request).send().await {
        Ok(response) => response,
        Err(err) => return unreachable(err.to_string()),
    };
    let status = response.status_code();
    let declared = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|length| length.parse::<u64>().ok());
    if declared.is_some_and(|length| length > forward.max_body_bytes as u64) {
        return Upstream::TooLarge;
    }
    let headers: Vec<(String, String)> = response.headers().entries().collect();
    let mut body = Vec::new();
    if let Ok(mut chunks) = response.stream() {
        while let Some(chunk) = chunks.next().await {
            match chunk {
                Ok(chunk) => {
                    if body.len() + chunk.len() > forward.max_body_bytes {
                        // Dropping the stream cancels it: nothing more is read.
                        return Upstream::TooLarge;
                    }
                    body.extend_from_slice(&chunk);
                }
                Err(err) => return unreachable(format!("the answer broke off ({err})")),
            }
        }
    }
    Upstream::Answered {
        status,
        headers,
        body,
    }
}
