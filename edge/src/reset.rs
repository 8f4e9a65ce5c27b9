//! A rule's `reset` fault at the edge.
//!
//! A Worker cannot close a connection without answering, so the fault is an
//! answer cut short: the engine's `502`, with half of its body, ended there.
//! The client gets a `502` whose JSON does not parse.
//!
//! The body ends normally. A body stream that fails on purpose (the earlier
//! design) crossed `wrangler dev`'s own proxy Worker as an uncaught exception,
//! and now and then that proxy stopped answering the next request for longer
//! than a client waits.

/// The engine's `502` for a reset fault, with its body cut in half.
pub fn cut_short(mut response: mock_rest_core::Response) -> mock_rest_core::Response {
    let half = response.body.len() / 2;
    response.body.truncate(half);
    response
}

#[cfg(test)]
mod tests {
    use super::cut_short;

    #[test]
    fn the_status_and_headers_stay_and_the_body_is_cut_in_half() {
        let whole = mock_rest_core::Response {
            status: 502,
            headers: vec![("content-type".into(), "application/json".to_owned())],
            body: br#"{"message":"Rule 7 drops the connection"}"#.to_vec(),
        };
        let cut = cut_short(whole.clone());
        assert_eq!((cut.status, &cut.headers), (whole.status, &whole.headers));
        assert_eq!(cut.body, whole.body[..whole.body.len() / 2]);
    }
}
