//! Near misses: what the `404` of a path that no route, rule or document path
//! answers lists, so that a client sees what it probably meant, as WireMock's
//! users see why a request matched no stub.
//!
//! Two kinds, at most [`MOST`] of each:
//! - routes: the path with the API prefix put in front (`/posts` for
//!   `/api/posts`, json-server's paths, when the store has `posts`), or with
//!   one literal segment spelt close to a route's or a document path's
//!   (`/pet/1` for `/pets/{petId}`), each with the path to try;
//! - rules: those that miss the fewest of their fields, with the fields each
//!   missed (as `POST /__admin/requests/find` lists them).

use super::Engine;
use crate::error::ApiError;
use crate::http::incoming::Incoming;
use crate::http::request::Request;
use crate::http::response::Response;
use crate::http::route::{under_prefix, Route, ROUTES};
use serde_json::{json, Value};

/// How many near misses of each kind a `404` lists.
const MOST: usize = 3;

/// How close a misspelt segment must be to a route's: the normalized
/// Levenshtein similarity (1 is the same text).
const CLOSE: f64 = 0.6;

impl Engine {
    /// The `404` of a path nothing answers: the error's message, and
    /// `"nearMisses"` when there are any.
    pub(super) fn unknown_path(&self, request: &Request, error: &ApiError) -> Response {
        let mut response = error.to_response();
        let mut near = self.routes_near(&request.path);
        let incoming = Incoming::new(request);
        near.extend(
            self.rules
                .near_misses(&incoming, MOST)
                .into_iter()
                .map(|(id, missed)| json!({"rule": id, "differences": missed})),
        );
        if !near.is_empty() {
            let body = json!({"message": error.message(), "nearMisses": near});
            response.body = body.to_string().into_bytes();
        }
        response
    }

    /// The paths close to `path` that a route or the document's paths
    /// answer, each as `{"route", "try", "differences": ["path"]}`.
    fn routes_near(&self, path: &str) -> Vec<Value> {
        let prefix = &self.config.api_prefix;
        let spec = self.loaded_spec();
        let mut near = Vec::new();
        let mut suggest = |route: String, tried: String| {
            if near.len() < MOST && !near.iter().any(|(_, t)| *t == tried) {
                near.push((route, tried));
            }
        };
        // The API prefix left out (json-server serves `/posts`), for a type
        // the store has: only the store's routes have the prefix, and with a
        // document they give way to its paths.
        if spec.is_none() && prefix != "/" && !path.starts_with(prefix.as_str()) {
            let tried = format!("{}{path}", prefix.trim_end_matches('/'));
            if let Ok(route) = Route::parse_under(&tried, prefix) {
                if route.resource().is_some_and(|name| self.holds(name)) {
                    suggest(under_prefix(route.spec().template, prefix), tried);
                }
            }
        }
        let served = |template: &&str| spec.is_none() || !template.starts_with("/api/");
        let routes = ROUTES
            .iter()
            .map(|route| route.template)
            .filter(served)
            .map(|template| under_prefix(template, prefix));
        let documented = spec
            .into_iter()
            .flat_map(|spec| spec.operations().map(|op| spec.path(op).to_owned()));
        for template in routes.chain(documented) {
            if let Some(tried) = one_segment_off(path, &template) {
                suggest(template, tried);
            }
        }
        near.into_iter()
            .map(|(route, tried)| json!({"route": route, "try": tried, "differences": ["path"]}))
            .collect()
    }
}

impl Engine {
    /// Whether the store has a type or a singular resource of this name.
    fn holds(&self, name: &str) -> bool {
        self.store.collection(name).is_some() || self.store.single(name).is_some()
    }
}

/// `path` with its one misspelt segment spelt as `template`'s, when the two
/// have as many segments and exactly one literal segment of the template
/// differs from the path's, closely ([`CLOSE`]).
fn one_segment_off(path: &str, template: &str) -> Option<String> {
    let given: Vec<&str> = path.split('/').collect();
    let wanted: Vec<&str> = template.split('/').collect();
    if given.len() != wanted.len() {
        return None;
    }
    let mut off = None;
    for (at, (&g, &w)) in given.iter().zip(&wanted).enumerate() {
        if w.contains('{') || g == w {
            continue;
        }
        if off.is_some() || g.is_empty() || strsim::normalized_levenshtein(g, w) < CLOSE {
            return None;
        }
        off = Some(at);
    }
    let at = off?;
    let mut tried = given;
    tried[at] = wanted[at];
    Some(tried.join("/"))
}

#[cfg(test)]
mod tests {
    use super::one_segment_off;

    #[test]
    fn one_close_literal_segment_off_is_spelt_as_the_template() {
        assert_eq!(
            one_segment_off("/pet/7", "/pets/{petId}").as_deref(),
            Some("/pets/7")
        );
        assert_eq!(
            one_segment_off("/__admin/request", "/__admin/requests").as_deref(),
            Some("/__admin/requests")
        );
        assert_eq!(
            one_segment_off("/apii/orders", "/api/{resource}").as_deref(),
            Some("/api/orders")
        );
    }

    #[test]
    fn far_or_several_or_no_differences_are_not_near() {
        // Not close: `orders` is no spelling of `api`.
        assert_eq!(one_segment_off("/orders/1", "/api/{resource}"), None);
        // Two segments off.
        assert_eq!(one_segment_off("/pet/7/tag", "/pets/{petId}/tags"), None);
        // Another length.
        assert_eq!(one_segment_off("/pets", "/pets/{petId}"), None);
        // The same path is no miss.
        assert_eq!(one_segment_off("/pets/7", "/pets/{petId}"), None);
    }
}
