//! Cross-origin headers: what every response carries, and the answer to a
//! preflight (`OPTIONS`).

use crate::config::Config;
use crate::http::request::{Method, Request};
use crate::http::response::Response;
use crate::http::route::Route;

/// Headers a browser may send on a cross-origin request, for preflights that do not ask.
const ALLOWED_REQUEST_HEADERS: &str =
"Content-Type, Authorization, If-Match, If-None-Match, X-Mock-Delay, X-Mock-Status, X-Mock-Namespace";

/// Response headers a cross-origin script may read.
const EXPOSED_HEADERS: &str = "X-Total-Count, Link, ETag";

/// Adds `Access-Control-Allow-Origin` (and `Vary: Origin` with an allow-list)
/// and `Access-Control-Expose-Headers`.
pub(crate) fn add_headers(config: &Config, response: &mut Response, request: &Request) {
    let allowed = &config.cors_origins;
    if allowed.is_empty() {
        response
            .headers
            .push(("access-control-allow-origin".into(), "*".to_owned()));
    } else {
        if let Some(origin) = request.header("origin") {
            if allowed.iter().any(|o| o == origin || o == "*") {
                response
                    .headers
                    .push(("access-control-allow-origin".into(), origin.to_owned()));
            }
        }
        response.headers.push(("vary".into(), "Origin".to_owned()));
    }
    response.headers.push((
        "access-control-expose-headers".into(),
        EXPOSED_HEADERS.to_owned(),
    ));
}

/// Every method the API knows, which a preflight allows on every path: a
/// method the path does not take then reaches the mock, whose `405` (with
/// `Allow` and a JSON `message`) the script can read, instead of failing as
/// a CORS error that says nothing.
const PREFLIGHT_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// A `204` answer to `OPTIONS`, which is also a CORS preflight. `Allow` lists
/// the path's own methods; `Access-Control-Allow-Methods` every method.
pub(crate) fn preflight(route: &Route, request: &Request) -> Response {
    preflight_allowing(route.allow(), request)
}

/// A preflight's answer whose `Allow` is `allow`: for a path the mock does
/// not route itself, as one it proxies.
pub(crate) fn preflight_allowing(allow: &str, request: &Request) -> Response {
    let headers = request
        .header("access-control-request-headers")
        .unwrap_or(ALLOWED_REQUEST_HEADERS);
    Response {
        status: 204,
        headers: vec![
            ("allow".into(), allow.to_owned()),
            (
                "access-control-allow-methods".into(),
                PREFLIGHT_METHODS.to_owned(),
            ),
            ("access-control-allow-headers".into(), headers.to_owned()),
            ("access-control-max-age".into(), "86400".to_owned()),
        ],
        body: Vec::new(),
    }
}

/// Adds what every answer carries: the CORS headers for the request's
/// `Origin`, and for `HEAD` no body but its length.
pub(crate) fn finish(config: &Config, response: &mut Response, request: &Request) {
    add_headers(config, response, request);
    if request.method == Method::Head {
        let length = response.body.len();
        response.body.clear();
        response
            .headers
            .push(("content-length".into(), length.to_string()));
    }
}
