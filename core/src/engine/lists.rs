//! List routes: a collection (or the children of an item, at
//! `/api/{parent}/{id}/{children}`) filtered, searched, sorted and paged,
//! with relations embedded or expanded, `X-Total-Count` and `Link`; paged
//! with `_per_page`, inside json-server 1.0's envelope.

use super::reply::{respond, JSON};
use super::Engine;
use crate::error::ApiError;
use crate::http::incoming::Incoming;
use crate::http::request::Request;
use crate::http::response::Response;
use crate::store::query::{ListQuery, Paging};
use crate::store::relations::{foreign_key, render};
use crate::store::select::{select, select_among, PageLinks, Selection};
use std::fmt::Write;

impl Engine {
    pub(super) fn list(
        &self,
        resource: &str,
        request: &Incoming<'_>,
    ) -> Result<Response, ApiError> {
        let pairs = request.query_pairs();
        let mut query = ListQuery::parse_with(pairs, &self.filterable(resource), &self.patterns)?;
        self.json_server_filters(resource, &mut query);
        let selection = select(self.store.collection(resource), &query);
        self.list_answer(resource, request, &query, selection)
    }

    /// `GET /api/{parent}/{id}/{children}`: the children whose foreign key
    /// names the parent, with every list query; `404` if the parent is missing.
    pub(super) fn list_children(
        &self,
        parent: &str,
        id: &str,
        children: &str,
        request: &Incoming<'_>,
    ) -> Result<Response, ApiError> {
        let parent_id = self.find(parent, id)?.id();
        let pairs = request.query_pairs();
        let mut query = ListQuery::parse_with(pairs, &self.filterable(children), &self.patterns)?;
        self.json_server_filters(children, &mut query);
        let candidates = self
            .store
            .collection(children)
            .map(|c| c.children_of(&foreign_key(parent), &parent_id))
            .unwrap_or_default();
        let selection = select_among(candidates, &query);
        self.list_answer(children, request, &query, selection)
    }

    /// The list response: the page with its relations, as an array or the
    /// 1.0 envelope, with `X-Total-Count` and `Link`.
    fn list_answer(
        &self,
        resource: &str,
        request: &Incoming<'_>,
        query: &ListQuery,
        selection: Selection<'_>,
    ) -> Result<Response, ApiError> {
        let Selection {
            total,
            items,
            pages,
        } = selection;
        let budget = self.config.max_store_bytes;
        let mut out = String::new();
        let envelope = matches!(query.paging, Paging::Envelope { .. });
        if let (true, Some(pages)) = (envelope, pages) {
            let number = |n: Option<usize>| n.map_or("null".to_owned(), |n| n.to_string());
            let _ = write!(
                out,
                "{{\"first\":1,\"prev\":{},\"next\":{},\"last\":{},\"pages\":{},\"items\":{total},\"data\":",
                number(pages.prev),
                number(pages.next),
                pages.last,
                pages.last
            );
        }
        out.push('[');
        render(
            &self.store,
            resource,
            &items,
            &query.relations,
            budget,
            &mut out,
        )?;
        out.push(']');
        if envelope {
            out.push('}');
        }
        let mut response = respond(200, JSON, out.into_bytes());
        response
            .headers
            .push(("x-total-count".into(), total.to_string()));
        if let Some(pages) = pages {
            let size_key = if envelope { "_per_page" } else { "_limit" };
            response
                .headers
                .push(("link".into(), page_links(request, &pages, size_key)));
        }
        Ok(response)
    }

    /// The fields that start with `_` and may still be filtered: the type's
    /// id field, and with `TIMESTAMPS` the two stamps.
    pub(super) fn filterable(&self, resource: &str) -> Vec<&str> {
        let mut fields = vec![self.store.keys().of(resource)];
        if self.config.timestamps {
            fields.extend(["_created_on", "_last_updated"]);
        }
        fields
    }
}

/// The `Link` header of a page: `first`, `prev`, `next` and `last`, each the
/// request's URL with its `_page` and `size_key` (`_limit` or `_per_page`).
pub(super) fn page_links(request: &Incoming<'_>, pages: &PageLinks, size_key: &str) -> String {
    let base = page_url_base(request);
    let mut links = String::with_capacity(4 * (base.len() + 40));
    let mut link = |page: usize, rel: &str| {
        if !links.is_empty() {
            links.push_str(", ");
        }
        let _ = write!(
            links,
            "<{base}_page={page}&{size_key}={}>; rel=\"{rel}\"",
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
    links
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
/// without `_page`, `_limit` and `_per_page` (each other parameter as it
/// came), ending in `?` or `&`.
fn page_url_base(request: &Incoming<'_>) -> String {
    let mut url = request_origin(request);
    url.push_str(&request.path);
    url.push('?');
    for (raw, (key, _)) in request.raw_pairs() {
        if key != "_page" && key != "_limit" && key != "_per_page" {
            url.push_str(raw);
            url.push('&');
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::Method;

    #[test]
    fn page_links_keep_other_parameters() {
        let base = |target: &str| {
            let request = Request::new(Method::Get, target);
            page_url_base(&Incoming::new(&request))
        };
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
