//! A rule's `reset` fault, which the front Worker carries out for the
//! Durable Object.
//!
//! A Worker cannot close a connection without answering, so the fault is an
//! answer cut short: the status line and headers (the engine's `502`), half of
//! the body, then a body stream that fails. The Durable Object must not fail
//! its own stream: the error would cross into the Worker as an uncaught
//! exception, after which `wrangler dev`'s runtime stopped answering for a
//! while. So the object answers the whole `502` with the header [`MARKER`],
//! and the Worker, seeing it, cuts its own answer to the client short.
//!
//! No client sees the marker or can set it: the object never lets a header of
//! that name through from an engine's answer (a rule's headers included), and
//! the Worker drops it from the answer it cuts.

use worker::{console_warn, Headers, ResponseBuilder};

/// The header, between the object and the Worker only, that marks the
/// object's answer as a reset fault's.
pub const MARKER: &str = "x-mock-rest-internal-reset";

/// Whether a header (by name, any case) is the marker.
pub fn is_marker(name: &str) -> bool {
    name.eq_ignore_ascii_case(MARKER)
}

/// Marks the object's whole answer to a reset fault.
pub fn mark(mut response: worker::Response) -> worker::Result<worker::Response> {
    response.headers_mut().set(MARKER, "1")?;
    Ok(response)
}

/// Whether the object's answer is a reset fault's.
pub fn is_marked(response: &worker::Response) -> bool {
    response.headers().has(MARKER).unwrap_or(false)
}

/// The Worker's answer to the client for the object's marked one: its status
/// and headers (without the marker and `Content-Length`, which a cut body
/// cannot match), half of its body, then a failed stream.
pub async fn cut_short(mut marked: worker::Response) -> worker::Result<worker::Response> {
    let body = marked.bytes().await?;
    let headers = Headers::new();
    for (name, value) in marked.headers().entries() {
        if is_marker(&name) || name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        if headers.append(&name, &value).is_err() {
            console_warn!("dropped a {name} header value that HTTP cannot carry");
        }
    }
    let half = body[..body.len() / 2].to_vec();
    let failing = futures_util::stream::iter([
        Ok::<Vec<u8>, worker::Error>(half),
        Err(worker::Error::from("a rule drops the connection")),
    ]);
    ResponseBuilder::new()
        .with_status(marked.status_code())
        .with_headers(headers)
        .from_stream(failing)
}
