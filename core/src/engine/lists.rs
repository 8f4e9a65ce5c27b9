//! List routes: a collection filtered, searched, sorted and paged, with
//! `X-Total-Count` and `Link`.

use super::{respond, Engine, JSON};
use crate::error::ApiError;
use crate::query::ListQuery;
use crate::request::Request;
use crate::response::Response;
use crate::select::{select, Selection};
use std::fmt::Write;

impl Engine {
    pub(super) fn list(&self, resource: &str, request: &Request) -> Result<Response, ApiError> {
        let query = ListQuery::parse(&request.query)?;
        let Selection {
            total,
            items,
            pages,
        } = select(self.store.collection(resource), &query);
        let size = items.iter().map(|item| item.json.len() + 1).sum::<usize>() + 2;
        let mut out = Vec::with_capacity(size);
        out.push(b'[');
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(item.json.as_bytes());
        }
        out.push(b']');
        let mut response = respond(200, JSON, out);
        response.headers.push(("x-total-count", total.to_string()));
        if let Some(pages) = pages {
            let base = page_url_base(request);
            let mut links = String::with_capacity(4 * (base.len() + 40));
            let mut link = |page: usize, rel: &str| {
                if !links.is_empty() {
                    links.push_str(", ");
                }
                let _ = write!(
                    links,
                    "<{base}_page={page}&_limit={}>; rel=\"{rel}\"",
                    pages.limit
                );
            };
            link(1, "first");
            if let Some(prev) = pages.prev {
                link(prev, "prev");
            }
            if let Some(next) = pages.next {
                link(next, "next");
            }
            link(pages.last, "last");
            response.headers.push(("link", links));
        }
        Ok(response)
    }
}

/// `scheme://host` of the request, from `Host` (and `X-Forwarded-Proto`, as a
/// proxy such as Elastic Beanstalk's or Cloudflare's sets it), so that page
/// links are absolute as json-server's are. Empty when there is no usable
/// `Host`, and the links are then relative to the server.
pub(super) fn request_origin(request: &Request) -> String {
    let host = request.header("host").filter(|host| {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
    });
    let scheme = match request.header("x-forwarded-proto") {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    host.map(|host| format!("{scheme}://{host}"))
        .unwrap_or_default()
}

/// A page link up to its `_page`: the request's origin, path and query
/// without `_page` and `_limit`, ending in `?` or `&`.
fn page_url_base(request: &Request) -> String {
    let mut url = request_origin(request);
    url.push_str(&request.path);
    url.push('?');
    for pair in request.query.split('&').filter(|pair| !pair.is_empty()) {
        let key = form_urlencoded::parse(pair.as_bytes())
            .next()
            .map(|(key, _)| key)
            .unwrap_or_default();
        if key != "_page" && key != "_limit" {
            url.push_str(pair);
            url.push('&');
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Method;

    #[test]
    fn page_links_keep_other_parameters() {
        let base = |target: &str| page_url_base(&Request::new(Method::Get, target));
        assert_eq!(
            base("/api/p?name=a%20b&_page=2&_limit=5&_sort=x"),
            "/api/p?name=a%20b&_sort=x&"
        );
        assert_eq!(base("/api/p/"), "/api/p/?");
    }

    #[test]
    fn page_links_are_absolute_when_the_host_is_known() {
        let origin = |headers: &[(&str, &str)]| {
            let mut request = Request::new(Method::Get, "/api/p");
            for (name, value) in headers {
                request = request.with_header(name, value);
            }
            request_origin(&request)
        };
        assert_eq!(
            origin(&[("Host", "localhost:5000")]),
            "http://localhost:5000"
        );
        assert_eq!(
            origin(&[("Host", "[::1]:80"), ("X-Forwarded-Proto", "https")]),
            "https://[::1]:80"
        );
        assert_eq!(origin(&[("Host", "evil>; rel=\"x\"")]), "");
        assert_eq!(origin(&[]), "");
    }
}
