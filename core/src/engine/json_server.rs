//! The json-server preset (`JSON_SERVER=1`): json-server 0.17's answers
//! where this mock's own differ, so that a client written against
//! json-server runs unchanged.
//!
//! What it changes, and where:
//! - before the routes but `/__admin`'s ([`Engine::json_server_request`]): an
//!   empty body of a write is read as `{}`, a form body (`application/x-www-form-urlencoded`)
//!   as an object of its fields (strings), and `_` parameters that the route
//!   does not take are dropped instead of refused;
//! - in lists ([`Engine::json_server_filters`]): a plain filter on a field
//!   no item of the type has is ignored;
//! - in the routes ([`Engine::json_server_route`]): `GET /db` is the whole
//!   database; a type the store never held is `404` (one whose items were all
//!   deleted is still `[]`); a method a resource's path does not take is `404`,
//!   as json-server has no route for it; `POST` on a singular resource replaces
//!   it (`201`, with `Location`); `DELETE` of a collection is `404`;
//! - a `DELETE` of an item answers `{}` and deletes its children
//!   (`Engine::delete_children`, every child type): the items of other types
//!   whose foreign key (`postId` for `posts`) names it;
//! - every answer ([`Engine::json_server_finish`]): a `404` outside
//!   `/__admin` is `{}`; CORS echoes the `Origin` with credentials and exposes
//!   only what json-server exposes (`X-Total-Count`, `Link`, `Location`); the
//!   cache headers json-server sends (`Cache-Control: no-cache`, `Pragma:
//!   no-cache`, `Expires: -1`); with `?callback=name`, a `GET`'s JSON is
//!   JSONP (`text/javascript`), as json-server's `res.jsonp` answers.
//!
//! The settings the preset implies (`ID_FIELD=id`, `API_PREFIX=/`,
//! `CREATE_STATUS=201`) are set by [`crate::Config::from_settings`]; new and
//! emptied types counting ids up from 1 is [`super::items`]'s; writing the
//! file back is the hosts'.

use super::reply::{respond, JSON};
use super::Engine;
use crate::error::ApiError;
use crate::http::request::{Method, Request};
use crate::http::response::{Change, Response};
use crate::http::route::Route;
use crate::json::text::reach;
use crate::store::query::{ListQuery, CONTROL_PARAMS, ITEM_PARAMS, LIST_PARAMS};
use crate::store::snapshot;
use std::time::Duration;

/// The body json-server answers for a `404` and a `DELETE`.
const EMPTY: &[u8] = b"{}";

impl Engine {
    /// The request as json-server reads it, when that differs from the one
    /// sent (see the module's docs); `None` when it is the same.
    pub(super) fn json_server_request(&self, request: &Request) -> Option<Request> {
        // The mock's own routes keep their rules (`_since` on the journal, a
        // snapshot's body): json-server has no such routes.
        if request.path.starts_with("/__admin") {
            return None;
        }
        let writes = matches!(request.method, Method::Post | Method::Put | Method::Patch);
        let form = writes
            && request.header("content-type").is_some_and(|value| {
                value
                    .split(';')
                    .next()
                    .is_some_and(|kind| kind.trim().eq_ignore_ascii_case(FORM))
            });
        let empty = writes && request.body.iter().all(u8::is_ascii_whitespace);
        let mut fields = vec![self.config.id_field.as_str()];
        if self.config.timestamps {
            fields.extend(["_created_on", "_last_updated"]);
        }
        let query = kept_query(&request.query, writes, &fields);
        if !form && !empty && query.is_none() {
            return None;
        }
        let mut adapted = request.clone();
        if let Some(query) = query {
            adapted.query = query;
        }
        if empty {
            adapted.body = EMPTY.to_vec();
        } else if form {
            let fields: serde_json::Map<String, serde_json::Value> =
                form_urlencoded::parse(&request.body)
                    .map(|(key, value)| (key.into_owned(), value.into_owned().into()))
                    .collect();
            adapted.body = serde_json::Value::Object(fields).to_string().into_bytes();
        }
        if form {
            adapted
                .headers
                .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
            adapted
                .headers
                .push(("content-type".to_owned(), "application/json".to_owned()));
        }
        Some(adapted)
    }

    /// json-server's answer for a route where it differs before the store is
    /// asked (see the module's docs); `None`: the route answers as usual.
    pub(super) fn json_server_route(
        &mut self,
        route: &Route,
        request: &Request,
        now: Duration,
        changes: &mut Vec<Change>,
    ) -> Option<Result<Response, ApiError>> {
        let reads = matches!(request.method, Method::Get | Method::Head);
        match route {
            Route::Collection { resource } if resource == "db" && reads => {
                Some(Ok(respond(200, JSON, self.json_server_snapshot())))
            }
            Route::Collection { resource } if reads && !self.holds_type(resource) => {
                Some(Err(ApiError::NotFound {
                    id: resource.clone(),
                }))
            }
            Route::Collection { resource } if request.method == Method::Delete => {
                Some(Err(ApiError::NotFound {
                    id: resource.clone(),
                }))
            }
            Route::Single { resource } if request.method == Method::Post => {
                let replaced = self.rewrite_single(resource, request, false, now, changes);
                let location = self.collection_location(resource);
                Some(replaced.map(|mut response| {
                    response.status = 201;
                    response.headers.push(("location".into(), location));
                    response
                }))
            }
            Route::Collection { .. }
            | Route::Item { .. }
            | Route::Single { .. }
            | Route::Children { .. }
                if !route.takes(&request.method) =>
            {
                Some(Err(ApiError::NotFound {
                    id: request.path.clone(),
                }))
            }
            _ => None,
        }
    }

    /// Under the preset, drops the plain filters (`field=value`) on a field
    /// that no item of the type has, as json-server 0.17 ignores them
    /// (`?foo=1` lists every item instead of none).
    pub(super) fn json_server_filters(&self, resource: &str, query: &mut ListQuery) {
        if !self.config.json_server || !query.filters.iter().any(|filter| filter.plain) {
            return;
        }
        let Some(collection) = self.store.collection(resource) else {
            return;
        };
        query.filters.retain(|filter| {
            !filter.plain
                || collection.iter().any(|item| {
                    let mut reached = Vec::new();
                    reach(item.json, &filter.path, &mut reached);
                    !reached.is_empty()
                })
        });
    }

    /// Whether `resource` is a type the store holds, or held since it
    /// started or was reset (its items all deleted since).
    fn holds_type(&self, resource: &str) -> bool {
        self.store.collection(resource).is_some()
            || self.store.single(resource).is_some()
            || self.known_types.contains(resource)
    }

    /// Remembers the store's types as the ones it holds: after a new
    /// snapshot alone (`keep: false`), or beside those remembered before
    /// (a start, a reset: a type made since stays, as `[]`).
    pub(super) fn remember_types(&mut self, keep: bool) {
        if !self.config.json_server {
            return;
        }
        if !keep {
            self.known_types.clear();
        }
        let names = self.store.counts().map(|(name, _)| name.to_owned());
        self.known_types.extend(names);
    }

    /// Remembers the types a snapshot or fixtures list, the empty ones (`[]`)
    /// too, which the store does not hold.
    pub(super) fn remember_listed_types(&mut self, snapshot: &[u8]) {
        if !self.config.json_server {
            return;
        }
        if let Ok(serde_json::Value::Object(types)) = serde_json::from_slice(snapshot) {
            let listed = types.into_iter().filter(|(_, value)| value.is_array());
            self.known_types.extend(listed.map(|(name, _)| name));
        }
    }

    /// Remembers a type a create made.
    pub(super) fn remember_type(&mut self, resource: &str) {
        if self.config.json_server && !self.known_types.contains(resource) {
            self.known_types.insert(resource.to_owned());
        }
    }

    /// The whole database as json-server holds it: the snapshot, with the
    /// types whose items were all deleted as `[]`.
    pub(crate) fn json_server_snapshot(&self) -> Vec<u8> {
        let mut text = snapshot::render(&self.store);
        let emptied: Vec<&String> = self
            .known_types
            .iter()
            .filter(|name| {
                self.store.collection(name).is_none() && self.store.single(name).is_none()
            })
            .collect();
        if emptied.is_empty() {
            return text;
        }
        // The snapshot is an object: `{}` or `{...}`. The emptied types go last.
        text.pop();
        for name in emptied {
            if text.len() > 1 {
                text.push(b',');
            }
            let key = serde_json::Value::String(name.clone()).to_string();
            text.extend_from_slice(key.as_bytes());
            text.extend_from_slice(b":[]");
        }
        text.push(b'}');
        text
    }

    /// What json-server's answers carry that this mock's do not, and its
    /// `{}` for a `404` (see the module's docs). Called after the CORS
    /// headers are added.
    pub(super) fn json_server_finish(
        &self,
        response: &mut Response,
        request: &Request,
        admin: bool,
    ) {
        if response.status == 404 && !admin {
            response.body = EMPTY.to_vec();
            response
                .headers
                .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
            response
                .headers
                .push(("content-type".into(), JSON.to_owned()));
        }
        let has = |response: &Response, wanted: &str| response.header(wanted).is_some();
        let mut exposed = Vec::new();
        if has(response, "x-total-count") {
            exposed.push("X-Total-Count");
            if has(response, "link") {
                exposed.push("Link");
            }
        }
        if has(response, "location") {
            exposed.push("Location");
        }
        response.headers.retain(|(name, _)| {
            !name.eq_ignore_ascii_case("access-control-allow-origin")
                && !name.eq_ignore_ascii_case("access-control-expose-headers")
        });
        if let Some(origin) = request.header("origin") {
            response
                .headers
                .push(("access-control-allow-origin".into(), origin.to_owned()));
        }
        response
            .headers
            .push(("access-control-allow-credentials".into(), "true".to_owned()));
        if !has(response, "vary") {
            response.headers.push(("vary".into(), "Origin".to_owned()));
        }
        if !exposed.is_empty() {
            response
                .headers
                .push(("access-control-expose-headers".into(), exposed.join(", ")));
        }
        if !admin && request.method == Method::Get {
            jsonp(response, &request.query);
        }
        if !has(response, "cache-control") {
            response
                .headers
                .push(("cache-control".into(), "no-cache".to_owned()));
        }
        response
            .headers
            .push(("pragma".into(), "no-cache".to_owned()));
        response.headers.push(("expires".into(), "-1".to_owned()));
    }
}

/// The start log's line for fixtures that look like json-server's `db.json`
/// while `JSON_SERVER=1` is off ([`json_server_hint`]): every host logs
/// these words.
const JSON_SERVER_HINT: &str = "every item of the fixtures has an `id`, as json-server's db.json: \
     --json-server (JSON_SERVER=1) serves it as json-server does (at /posts, by id, written back)";

/// The line a host logs at start when `fixtures` look like json-server's
/// `db.json` (see [`looks_like_json_server`]) and `JSON_SERVER=1` is off.
pub fn json_server_hint(fixtures: &[u8]) -> Option<&'static str> {
    looks_like_json_server(fixtures).then_some(JSON_SERVER_HINT)
}

/// Whether fixtures look like json-server's `db.json`: an object with at
/// least one list, every item of every list an object with an `id`.
fn looks_like_json_server(fixtures: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(types)) = serde_json::from_slice(fixtures) else {
        return false;
    };
    let mut lists = types
        .values()
        .filter_map(serde_json::Value::as_array)
        .peekable();
    lists.peek().is_some()
        && lists.all(|items| {
            items
                .iter()
                .all(|item| item.as_object().is_some_and(|item| item.contains_key("id")))
        })
}

/// JSONP, as json-server answers every request through Express's
/// `res.jsonp`: with `?callback=name`, a JSON answer becomes
/// `/**/ typeof name === 'function' && name(JSON);` as `text/javascript`.
/// The name keeps only letters, digits, `_`, `$`, `.`, `[` and `]`, as
/// Express keeps them, so no other script can be written into it.
fn jsonp(response: &mut Response, query: &str) {
    if !query.contains("callback") {
        return;
    }
    let Some(given) = form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "callback")
        .map(|(_, value)| value.into_owned())
    else {
        return;
    };
    let name: String = given
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | '.' | '[' | ']'))
        .collect();
    let json = response
        .headers
        .iter()
        .any(|(key, value)| key.eq_ignore_ascii_case("content-type") && value.starts_with(JSON));
    if given.is_empty() || !json {
        return;
    }
    // U+2028 and U+2029 end a line in JavaScript (not in JSON): escaped, as Express does.
    let body = String::from_utf8_lossy(&response.body)
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    response.body = format!("/**/ typeof {name} === 'function' && {name}({body});").into_bytes();
    response.headers.retain(|(key, _)| {
        !key.eq_ignore_ascii_case("content-type") && !key.eq_ignore_ascii_case("etag")
    });
    response.headers.push((
        "content-type".into(),
        "text/javascript; charset=utf-8".to_owned(),
    ));
    response
        .headers
        .push(("x-content-type-options".into(), "nosniff".to_owned()));
}

/// A form body's media type.
const FORM: &str = "application/x-www-form-urlencoded";

/// The query without the `_` parameters json-server ignores: on a write,
/// every one but the mock's controls; on a read, those no list or item read
/// takes. `None` when nothing is dropped.
/// On a read, a filter on a field that starts with `_` and can be filtered
/// (`fields`: the id field, the timestamps) is kept too.
fn kept_query(query: &str, writes: bool, fields: &[&str]) -> Option<String> {
    if !query.contains('_') && !query.to_ascii_uppercase().contains("%5F") {
        return None;
    }
    let filters_field = |key: &str| {
        fields.iter().any(|field| {
            key.strip_prefix(field)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['_', ':', '.']))
        })
    };
    let takes = |key: &str| {
        CONTROL_PARAMS.contains(&key)
            || (!writes
                && (LIST_PARAMS.contains(&key) || ITEM_PARAMS.contains(&key) || filters_field(key)))
    };
    let mut dropped = false;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|piece| {
            let key = piece.split('=').next().unwrap_or_default();
            let key: String = form_urlencoded::parse(key.as_bytes())
                .next()
                .map(|(key, _)| key.into_owned())
                .unwrap_or_default();
            let keep = !key.starts_with('_') || takes(&key);
            dropped |= !keep;
            keep
        })
        .collect();
    dropped.then(|| kept.join("&"))
}

#[cfg(test)]
mod tests {
    use super::{json_server_hint, kept_query, looks_like_json_server};

    #[test]
    fn a_db_json_is_told_by_its_ids() {
        assert!(looks_like_json_server(
            br#"{"posts":[{"id":1}],"profile":{"a":1}}"#
        ));
        assert!(!looks_like_json_server(
            br#"{"posts":[{"id":1},{"_id":"x"}]}"#
        ));
        assert!(!looks_like_json_server(br#"{"profile":{"id":1}}"#));
        assert!(!looks_like_json_server(b"[1]"));
        assert!(json_server_hint(br#"{"posts":[{"id":1}]}"#)
            .is_some_and(|hint| hint.contains("--json-server")));
        assert_eq!(json_server_hint(br#"{"posts":[{"_id":"a"}]}"#), None);
    }

    const ID: &[&str] = &["id"];

    #[test]
    fn unknown_underscore_parameters_are_dropped() {
        assert_eq!(kept_query("title=a", false, ID), None);
        assert_eq!(
            kept_query("_sort=title&_foo=1&q=x", false, ID).as_deref(),
            Some("_sort=title&q=x")
        );
        assert_eq!(
            kept_query("_sort=title&_delay=5", true, ID).as_deref(),
            Some("_delay=5")
        );
        assert_eq!(
            kept_query("%5Ffoo=1&a_b=2", false, ID).as_deref(),
            Some("a_b=2")
        );
        assert_eq!(kept_query("_page=1&_limit=2", false, ID), None);
        // A filterable field that starts with `_` is a filter, not an unknown parameter.
        let fields = &["_id", "_created_on"];
        assert_eq!(
            kept_query(
                "_id=a&_id_ne=b&_id:in=c&_created_on_gte=d&_idx=e",
                false,
                fields
            )
            .as_deref(),
            Some("_id=a&_id_ne=b&_id:in=c&_created_on_gte=d")
        );
    }
}
