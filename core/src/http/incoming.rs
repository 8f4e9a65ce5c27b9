//! The request as the engine reads it: the host's [`Request`] with its query
//! decoded once, the first time a reader asks, so that the controls, the
//! token, the rules, the list and item queries, the feed, the journal's pages
//! and the OpenAPI validation all read the same pairs.

use crate::http::request::Request;
use std::cell::OnceCell;
use std::ops::Deref;

/// A request and its decoded query. It reads as the [`Request`] it wraps
/// (the raw `query` text included, which the journal and the proxy keep as
/// it came); [`Incoming::query_pairs`] is the query decoded.
#[derive(Debug)]
pub(crate) struct Incoming<'a> {
    request: &'a Request,
    pairs: OnceCell<Vec<(String, String)>>,
}

impl<'a> Incoming<'a> {
    /// The request, its query not decoded yet.
    pub(crate) fn new(request: &'a Request) -> Self {
        Self {
            request,
            pairs: OnceCell::new(),
        }
    }

    /// The query's pairs, percent- and `+`-decoded, in order, repeats kept;
    /// decoded on the first call and shared by every later one.
    pub(crate) fn query_pairs(&self) -> &[(String, String)] {
        self.pairs.get_or_init(|| decode(&self.request.query))
    }

    /// Each pair beside the raw text it was decoded from (`a%20b=1`), for
    /// what copies the query as it came, such as a page link. The decoder
    /// reads the query as exactly these pieces: its `&`-separated parts but
    /// the empty ones, one pair each.
    pub(crate) fn raw_pairs(&self) -> impl Iterator<Item = (&str, &(String, String))> {
        let pieces = self
            .request
            .query
            .split('&')
            .filter(|piece| !piece.is_empty());
        pieces.zip(self.query_pairs())
    }
}

impl Deref for Incoming<'_> {
    type Target = Request;

    fn deref(&self) -> &Request {
        self.request
    }
}

/// A query string as its pairs, percent- and `+`-decoded.
pub(crate) fn decode(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::Method;

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_query_is_decoded_once_in_order_with_repeats() {
        let request = Request::new(Method::Get, "/api/p?a=1&a=2&b=%20x+y");
        let incoming = Incoming::new(&request);
        let first = incoming.query_pairs();
        assert_eq!(first, owned(&[("a", "1"), ("a", "2"), ("b", " x y")]));
        // Every later reader gets the same decoded pairs, not a new decoding.
        assert!(std::ptr::eq(first, incoming.query_pairs()));
        assert_eq!(incoming.query, "a=1&a=2&b=%20x+y");
        assert_eq!(incoming.path, "/api/p");
    }

    #[test]
    fn raw_pairs_line_up_with_the_decoded_ones() {
        for query in [
            "",
            "&",
            "a",
            "a=",
            "=b",
            "&&a=1&&b=%41&",
            "x=1=2&%zz&+=+",
            "é=%C3%A9",
        ] {
            let request = Request::new(Method::Get, &format!("/p?{query}"));
            let incoming = Incoming::new(&request);
            let raw: Vec<&str> = incoming.raw_pairs().map(|(raw, _)| raw).collect();
            let paired: Vec<(String, String)> =
                incoming.raw_pairs().map(|(_, pair)| pair.clone()).collect();
            assert_eq!(paired, incoming.query_pairs(), "{query:?}");
            // Each piece decodes alone to the pair it stands beside.
            let one_by_one: Vec<(String, String)> =
                raw.iter().flat_map(|piece| decode(piece)).collect();
            assert_eq!(one_by_one, paired, "{query:?}");
        }
    }
}
