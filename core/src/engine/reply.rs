//! The answers the engine builds itself: a body with its content type, and
//! the answer a request that forces a status gets.

use crate::error::message_body;
use crate::http::response::Response;
use crate::mock::controls::reason_phrase;

pub(super) const JSON: &str = "application/json";
pub(super) const HTML: &str = "text/html; charset=utf-8";

/// The answer to `X-Mock-Status` (or `_status`).
pub(super) fn forced(status: u16) -> Response {
    let message = format!(
        "Forced {status} {}: the request asked for it with X-Mock-Status or _status.",
        reason_phrase(status)
    );
    respond(status, JSON, message_body(&message))
}

pub(super) fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Response {
    // Room for what most answers add: `etag`, `location` and the CORS headers.
    let mut headers = Vec::with_capacity(6);
    headers.push(("content-type".into(), content_type.to_owned()));
    Response {
        status,
        headers,
        body,
    }
}
