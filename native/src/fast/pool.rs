//! Requests kept for reuse: each thread keeps the requests it finished and
//! fills them again, so a request that fits in what an earlier one left
//! allocates nothing for its path, headers or body.

use crate::proxy::header_pairs;
use mock_rest_core::{Method, Request};
use std::cell::RefCell;

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
pub(crate) fn head(req: &salvo::Request) -> Request {
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
pub(crate) fn recycle(request: Request) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use salvo::http::header::HeaderValue;

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
