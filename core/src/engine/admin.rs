//! `/__admin/*`: snapshots, reset and the request journal.

use super::lists::request_origin;
use super::reply::{respond, JSON};
use super::Engine;
use crate::error::ApiError;
use crate::http::incoming::Incoming;
use crate::http::response::{Change, Response};
use crate::json::number::whole_number;
use crate::mock::rules::RequestMatcher;
use crate::namespace::{namespace_name, Listing, DEFAULT_NAMESPACE};
use crate::store::ids::new_id;
use crate::store::snapshot::{self, Snapshot};
use crate::store::Store;
use serde_json::{json, Value};

impl Engine {
    pub(super) fn put_snapshot(
        &mut self,
        body: &[u8],
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let ids = &mut self.ids;
        let snapshot = Snapshot::parse(body, self.store.keys(), &mut || new_id(ids.as_mut()))?;
        let store = snapshot.into_store();
        self.check_store_fits(&store)?;
        self.replace_store(store, changes);
        self.remember_types(false);
        self.remember_listed_types(body);
        Ok(respond(200, JSON, snapshot::render(&self.store)))
    }

    pub(super) fn reset(&mut self, changes: &mut Vec<Change>) -> Response {
        // The rules first: the changes that rebuild the store carry them.
        self.rules = self.initial_rules.clone();
        self.replace_store(self.initial.clone(), changes);
        self.remember_types(true);
        let total = self.store.total();
        respond(
            200,
            JSON,
            format!("{{\"total_resources_count\":{total}}}").into_bytes(),
        )
    }

    /// Swaps in a whole new store, reported as the changes that rebuild it.
    pub(super) fn replace_store(&mut self, store: Store, changes: &mut Vec<Change>) {
        self.store = store;
        changes.extend(self.rebuild_changes());
    }

    /// `GET /__admin/requests`: with `_since`, the oldest `_limit` entries
    /// after it and a `Link` to the next page; without, the newest `_limit`.
    /// `X-Total-Count` counts the entries before `_limit`.
    pub(super) fn requests(&self, request: &Incoming<'_>) -> Result<Response, ApiError> {
        let mut since = None;
        let mut limit = None;
        for (key, value) in request.query_pairs() {
            let number = || {
                whole_number(value).ok_or_else(|| ApiError::BadQuery {
                    reason: format!("`{key}` must be a whole number; got `{value}`."),
                })
            };
            match key.as_str() {
                "_since" => since = Some(number()?),
                "_limit" => limit = Some(usize::try_from(number()?).unwrap_or(usize::MAX)),
                _ => {}
            }
        }
        let page = self.journal.page(since, limit);
        let mut response = respond(200, JSON, page.entries.to_string().into_bytes());
        response
            .headers
            .push(("x-total-count".into(), page.total.to_string()));
        if let (Some(next), Some(limit)) = (page.next_since, limit) {
            let origin = request_origin(request);
            let path = &request.path;
            response.headers.push((
                "link".into(),
                format!("<{origin}{path}?_since={next}&_limit={limit}>; rel=\"next\""),
            ));
        }
        Ok(response)
    }
}

/// How many near misses `POST /__admin/requests/find` lists.
const NEAR_MISSES: usize = 3;

impl Engine {
    /// `POST /__admin/requests/count` (`{"count": n}`) and `/find`
    /// (`{"requests": [...], "nearMisses": [...]}`): the journal's entries
    /// that a request matcher (a rule's `match`) matches. The near misses are
    /// the entries it does not match that miss the fewest of its fields
    /// (newest first among equals), each with the fields it missed.
    pub(super) fn verify_requests(&self, body: &[u8], find: bool) -> Result<Response, ApiError> {
        let matcher = RequestMatcher::parse(body)?;
        let mut found = Vec::new();
        let mut near = Vec::new();
        for (request, entry) in self.journal.requests() {
            let differences = matcher.differences(&Incoming::new(&request));
            if differences.is_empty() {
                found.push(entry);
            } else if find {
                near.push((differences, entry));
            }
        }
        let body = if find {
            // Stable: among equals, the newest first.
            near.reverse();
            near.sort_by_key(|(differences, _)| differences.len());
            let near: Vec<Value> = near
                .into_iter()
                .take(NEAR_MISSES)
                .map(|(differences, entry)| json!({"request": entry, "differences": differences}))
                .collect();
            json!({"requests": found, "nearMisses": near})
        } else {
            json!({"count": found.len()})
        };
        Ok(respond(200, JSON, body.to_string().into_bytes()))
    }
}

/// `GET /__admin/namespaces`: every namespace held, by name, with its item count.
pub(super) fn namespaces(listing: &Listing) -> Vec<u8> {
    let list: Vec<serde_json::Value> = listing
        .counts()
        .map(|(name, count)| serde_json::json!({"name": name, "count": count}))
        .collect();
    serde_json::Value::Array(list).to_string().into_bytes()
}

/// `DELETE /__admin/namespaces/{name}`: the answer naming the namespace to
/// drop (`{"name", "count"}`), `400` for a name that breaks the rule or for
/// `default` (which always exists), `404` for one not held.
pub(super) fn drop_namespace(name: &str, listing: &Listing) -> Result<Response, ApiError> {
    if namespace_name(Some(name))? != name {
        return Err(ApiError::BadNamespace {
            reason: "A namespace's name has no spaces around it.".to_owned(),
        });
    }
    if name == DEFAULT_NAMESPACE {
        return Err(ApiError::BadNamespace {
            reason: "The default namespace cannot be dropped: POST /__admin/reset empties it."
                .to_owned(),
        });
    }
    let count = listing
        .count_of(name)
        .ok_or_else(|| ApiError::NamespaceNotFound {
            name: name.to_owned(),
        })?;
    let body = serde_json::json!({"name": name, "count": count});
    Ok(respond(200, JSON, body.to_string().into_bytes()))
}
