//! Reading a request body, the same way on every host: a sans-IO collector
//! that a host feeds the body's chunks as they arrive.
//!
//! The rules it keeps:
//! - A body is kept up to the body limit. Past it, the rest is still read and
//!   thrown away up to [`DRAIN_BYTES`] more, so that an ordinary client that
//!   sends it all gets to read the `413` rather than a reset connection; past
//!   that (or when `Content-Length` already says so), reading stops.
//! - A body that did not arrive whole (the connection closed before the
//!   declared length, or broken chunked framing) changes nothing: the host
//!   answers [`ApiError::IncompleteBody`] instead of handing the engine a part.
//! - A transfer coding other than `chunked` (such as `gzip, chunked`) cannot be
//!   decoded, so the request is refused with
//!   [`ApiError::UnsupportedTransferCoding`] before its body is read.
//!
//! ```
//! use mock_rest_core::{BodyCollector, Feed, Method, Request};
//!
//! let mut request = Request::new(Method::Post, "/api/persons")
//!     .with_header("Content-Length", "7");
//! let mut body = BodyCollector::for_request(&request, 1024).unwrap();
//! assert_eq!(body.feed(b"{\"a\":"), Feed::More);
//! assert_eq!(body.feed(b"1}"), Feed::More);
//! body.finish(&mut request).unwrap();
//! assert_eq!(request.body, b"{\"a\":1}");
//! ```

use crate::{ApiError, Framing, Request};

/// How far past the body limit a request body is still read (and thrown away)
/// before reading stops: 32 MiB.
pub(crate) const DRAIN_BYTES: usize = 32 * 1024 * 1024;

/// Whether the host should go on reading the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// Read the next chunk (or the end of the body).
    More,
    /// Stop reading: the body is too large to be worth draining. Call
    /// [`BodyCollector::finish`]; the answer is `413`.
    Stop,
}

/// One request body on its way in, read by the same rules on every host: kept
/// up to the body limit, drained past it up to `DRAIN_BYTES` (32 MiB), refused when
/// it did not arrive whole or has a transfer coding other than `chunked`.
#[derive(Debug)]
pub struct BodyCollector {
    limit: usize,
    drain_until: usize,
    declared: Option<usize>,
    chunked: bool,
    kept: Vec<u8>,
    seen: usize,
    stopped: bool,
}

impl BodyCollector {
    /// A collector for a body of `declared` bytes (its `Content-Length`, if
    /// any) of which at most `limit` are kept.
    pub fn new(declared: Option<usize>, limit: usize) -> Self {
        Self::into_buffer(declared, limit, Vec::new())
    }

    /// As [`BodyCollector::new`], keeping the body in `buffer` (emptied
    /// first): a host that reuses its buffers from request to request saves
    /// an allocation.
    fn into_buffer(declared: Option<usize>, limit: usize, mut kept: Vec<u8>) -> Self {
        let drain_until = limit.saturating_add(DRAIN_BYTES);
        kept.clear();
        kept.reserve(declared.unwrap_or(0).min(limit));
        Self {
            limit,
            drain_until,
            declared,
            chunked: false,
            kept,
            seen: 0,
            stopped: declared.is_some_and(|length| length > drain_until),
        }
    }

    /// A collector for the body of `request`, framed as its `Content-Length`
    /// and `Transfer-Encoding` headers say. A transfer coding other than
    /// `chunked` is refused ([`ApiError::UnsupportedTransferCoding`], `501`).
    pub fn for_request(request: &Request, limit: usize) -> Result<Self, ApiError> {
        Self::for_request_into(request, limit, Vec::new())
    }

    /// As [`BodyCollector::for_request`], keeping the body in `buffer`
    /// (emptied first, its capacity reused), which [`BodyCollector::finish`]
    /// then puts in the request.
    pub fn for_request_into(
        request: &Request,
        limit: usize,
        buffer: Vec<u8>,
    ) -> Result<Self, ApiError> {
        let mut chunked = false;
        for (name, value) in &request.headers {
            if !name.eq_ignore_ascii_case("transfer-encoding") {
                continue;
            }
            for coding in value.split(',').map(str::trim) {
                if coding.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                } else if !coding.is_empty() {
                    return Err(ApiError::UnsupportedTransferCoding {
                        coding: coding.to_owned(),
                    });
                }
            }
        }
        let declared = if chunked {
            None
        } else {
            request
                .header("content-length")
                .and_then(|length| length.trim().parse::<usize>().ok())
        };
        let mut collector = Self::into_buffer(declared, limit, buffer);
        collector.chunked = chunked;
        Ok(collector)
    }

    /// Whether more of the body is wanted; `false` once reading should stop
    /// (a declared length past the limit and the drain).
    pub fn wants_more(&self) -> bool {
        !self.stopped
    }

    /// Takes the next chunk of the body.
    pub fn feed(&mut self, chunk: &[u8]) -> Feed {
        if self.stopped {
            return Feed::Stop;
        }
        self.seen = self.seen.saturating_add(chunk.len());
        if self.seen <= self.limit {
            self.kept.extend_from_slice(chunk);
        } else {
            // Over the limit: nothing is kept, the rest is only counted.
            self.kept = Vec::new();
            if self.seen > self.drain_until {
                self.stopped = true;
                return Feed::Stop;
            }
        }
        Feed::More
    }

    /// The body has ended (or reading stopped on [`Feed::Stop`]): puts it in
    /// `request`, or marks the request too large for the engine's `413`. A
    /// body shorter than its declared `Content-Length` did not arrive whole
    /// ([`ApiError::IncompleteBody`]); the request is then left as it was.
    pub fn finish(self, request: &mut Request) -> Result<(), ApiError> {
        if self.stopped || self.seen > self.limit {
            request.body = Vec::new();
            request.body_too_large = true;
            return Ok(());
        }
        if self.declared.is_some_and(|declared| self.seen < declared) {
            return Err(self.abort());
        }
        request.body = self.kept;
        request.body_too_large = false;
        Ok(())
    }

    /// The error for a body that did not arrive whole (the host's reader
    /// failed: the connection closed, or the framing was broken), naming its
    /// framing. The request must then change nothing.
    pub fn abort(&self) -> ApiError {
        let framing = match self.declared {
            _ if self.chunked => Framing::Chunked,
            Some(declared) => Framing::Length {
                declared,
                received: self.seen,
            },
            None => Framing::Stream,
        };
        ApiError::IncompleteBody { framing }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Method;

    fn post(headers: &[(&str, &str)]) -> Request {
        headers.iter().fold(
            Request::new(Method::Post, "/api/p"),
            |request, (name, value)| request.with_header(name, value),
        )
    }

    #[test]
    fn a_reused_buffer_holds_only_the_new_body() {
        let mut request = post(&[("Content-Length", "3")]);
        let mut stale = Vec::with_capacity(64);
        stale.extend_from_slice(b"an earlier body");
        let mut body = BodyCollector::for_request_into(&request, 10, stale).unwrap();
        assert_eq!(body.feed(b"abc"), Feed::More);
        body.finish(&mut request).unwrap();
        assert_eq!(request.body, b"abc");
        assert!(
            request.body.capacity() >= 64,
            "the buffer's capacity is reused"
        );
        // Past the limit, nothing of it is kept either.
        let mut body = BodyCollector::for_request_into(&post(&[]), 2, b"xy".to_vec()).unwrap();
        body.feed(b"abc");
        body.finish(&mut request).unwrap();
        assert!(request.body.is_empty() && request.body_too_large);
    }

    #[test]
    fn a_body_within_the_limit_is_kept_whole() {
        let mut request = post(&[]);
        let mut body = BodyCollector::for_request(&request, 10).unwrap();
        assert_eq!(body.feed(b"12345"), Feed::More);
        assert_eq!(body.feed(b"67890"), Feed::More);
        body.finish(&mut request).unwrap();
        assert_eq!(request.body, b"1234567890");
        assert!(!request.body_too_large);
    }

    #[test]
    fn a_body_over_the_limit_is_drained_then_stopped() {
        let mut request = post(&[]);
        let mut body = BodyCollector::new(None, 4);
        assert_eq!(body.feed(b"12345"), Feed::More, "drained, not kept");
        let big = vec![b'x'; DRAIN_BYTES];
        assert_eq!(body.feed(&big), Feed::Stop);
        assert!(!body.wants_more());
        body.finish(&mut request).unwrap();
        assert!(request.body_too_large);
        assert!(request.body.is_empty());
    }

    #[test]
    fn a_declared_length_past_the_drain_is_not_read_at_all() {
        let length = (10 + DRAIN_BYTES + 1).to_string();
        let mut request = post(&[("Content-Length", &length)]);
        let body = BodyCollector::for_request(&request, 10).unwrap();
        assert!(!body.wants_more());
        body.finish(&mut request).unwrap();
        assert!(request.body_too_large);
    }

    #[test]
    fn a_body_shorter_than_its_content_length_is_incomplete() {
        let mut request = post(&[("content-length", "100")]);
        let mut body = BodyCollector::for_request(&request, 1000).unwrap();
        body.feed(b"{\"a\":1}");
        let err = body.finish(&mut request).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(
            err.message(),
            "The request body ended after 7 of the 100 bytes its Content-Length declares; nothing was changed."
        );
        assert!(request.body.is_empty(), "the request is left as it was");
    }

    #[test]
    fn an_aborted_body_names_its_framing() {
        let chunked = BodyCollector::for_request(&post(&[("Transfer-Encoding", "chunked")]), 9)
            .unwrap()
            .abort();
        assert_eq!(
            chunked,
            ApiError::IncompleteBody {
                framing: Framing::Chunked
            }
        );
        assert!(chunked.message().contains("chunked"));
        let mut sized = BodyCollector::new(Some(5), 9);
        sized.feed(b"ab");
        assert_eq!(
            sized.abort(),
            ApiError::IncompleteBody {
                framing: Framing::Length {
                    declared: 5,
                    received: 2
                }
            }
        );
        assert_eq!(
            BodyCollector::new(None, 9).abort().message(),
            "The request body did not arrive whole; nothing was changed."
        );
    }

    #[test]
    fn only_the_chunked_transfer_coding_is_taken() {
        for accepted in ["chunked", "Chunked", " chunked "] {
            assert!(
                BodyCollector::for_request(&post(&[("Transfer-Encoding", accepted)]), 9).is_ok(),
                "{accepted}"
            );
        }
        for (refused, coding) in [
            ("gzip, chunked", "gzip"),
            ("chunked, gzip", "gzip"),
            ("identity", "identity"),
        ] {
            let err = BodyCollector::for_request(&post(&[("transfer-encoding", refused)]), 9)
                .unwrap_err();
            assert_eq!(
                err,
                ApiError::UnsupportedTransferCoding {
                    coding: coding.to_owned()
                }
            );
            assert_eq!(err.status(), 501);
        }
        // Split over two header lines, as HTTP allows.
        let split = post(&[
            ("Transfer-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked"),
        ]);
        assert!(BodyCollector::for_request(&split, 9).is_err());
    }
}
