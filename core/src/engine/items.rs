//! Item routes: create, read, replace, patch and delete, with their checks
//! (store limits, `If-Match`, `If-None-Match`).

use super::reply::{respond, JSON};
use super::Engine;
use crate::error::ApiError;
use crate::http::incoming::Incoming;
use crate::http::request::Request;
use crate::http::response::{Change, Response};
use crate::json::body;
use crate::json::text;
use crate::store::ids::{integer_id, new_id, IdKind, IdValue, ID_KEY};
use crate::store::query::Relations;
use crate::store::relations::{foreign_key, render};
use crate::store::{Item, Store};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::borrow::Cow;
use std::collections::HashSet;
use std::time::{Duration, UNIX_EPOCH};

/// What a path segment keeps unencoded in a `Location`: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A time as a JSON string in RFC 3339 (UTC, milliseconds), for `TIMESTAMPS`.
fn stamp(now: Duration) -> String {
    format!("\"{}\"", humantime::format_rfc3339_millis(UNIX_EPOCH + now))
}

/// Appends one path segment, percent-encoded.
fn push_segment(out: &mut String, text: &str) {
    let unreserved =
        |b: u8| matches!(b, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~');
    if text.bytes().all(unreserved) {
        out.push_str(text);
    } else {
        out.extend(utf8_percent_encode(text, SEGMENT));
    }
}

impl Engine {
    pub(super) fn get(
        &self,
        resource: &str,
        id: &str,
        request: &Incoming<'_>,
    ) -> Result<Response, ApiError> {
        let relations = Relations::parse_item(request.query_pairs())?;
        let item = self.find(resource, id)?;
        if !relations.is_empty() {
            // Embedded and expanded items are not this item's text: no ETag
            // names this answer, so it is never a 304 either.
            let budget = self.config.max_store_bytes;
            let mut text = String::new();
            render(
                &self.store,
                resource,
                &[item],
                &relations,
                budget,
                &mut text,
            )?;
            return Ok(respond(200, JSON, text.into_bytes()));
        }
        Ok(read_response(item, request))
    }

    pub(super) fn create(
        &mut self,
        resource: &str,
        body: &[u8],
        now: Duration,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        const SHAPE: ApiError = ApiError::WrongShape {
            expected: "a JSON object or an array of objects",
        };
        let json = body::parse(body)?;
        let single = json.is_object();
        let elements = if single {
            vec![json.text.as_str()]
        } else {
            json.array().ok_or(SHAPE)?
        };
        // All or nothing: every element is checked, and given its id and
        // text, before any is created.
        if !elements.iter().all(|element| element.starts_with('{')) {
            return Err(SHAPE);
        }
        self.check_room(resource, elements.len())?;
        let items = self.new_items(resource, &elements, now)?;
        let adding = items
            .iter()
            .map(|(_, item)| item.len())
            .fold(0, usize::saturating_add);
        self.check_bytes(0, adding)?;
        self.remember_type(resource);
        let status = self.config.create_status;
        if single {
            let Some((id, item)) = items.into_iter().next() else {
                return Err(SHAPE);
            };
            self.insert(resource, &id, item, changes);
            let mut response = item_response(self.find(resource, &id)?);
            response.status = status;
            response
                .headers
                .push(("location".into(), self.item_location(resource, &id)));
            return Ok(response);
        }
        let mut out = b"[".to_vec();
        for (n, (id, item)) in items.into_iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            self.insert(resource, &id, item, changes);
            out.extend_from_slice(self.find(resource, &id)?.json.as_bytes());
        }
        out.push(b']');
        let mut response = respond(status, JSON, out);
        // A batch has no one new item: Location names the collection they joined.
        response
            .headers
            .push(("location".into(), self.collection_location(resource)));
        Ok(response)
    }

    /// The ids (string forms) and texts that new items of `resource` get
    /// from these objects. Under the default `_id`, an id in the body is
    /// ignored, as in the original mock; under another `ID_FIELD` it is
    /// kept, as json-server keeps it, and must be a string or an integer of
    /// the type's kind that no item has. An object without one gets the next
    /// integer after the type's largest when its ids are integers, else a
    /// UUID.
    fn new_items(
        &mut self,
        resource: &str,
        objects: &[&str],
        now: Duration,
    ) -> Result<Vec<(String, String)>, ApiError> {
        let key = self.store.keys().of(resource).to_owned();
        let keeps_given = key != ID_KEY;
        let (mut kind, mut largest) = match self.store.collection_mut(resource) {
            Some(collection) => (collection.id_kind(), collection.largest_integer_id()),
            None => (None, None),
        };
        let stamps = self.config.timestamps.then(|| {
            let now = stamp(now);
            format!("{{\"_created_on\":{now},\"_last_updated\":{now}}}")
        });
        let mut taken = HashSet::new();
        let mut out = Vec::with_capacity(objects.len());
        for object in objects {
            let given = if keeps_given {
                text::member(object, &key)
            } else {
                None
            };
            let id = match given {
                Some(raw) => {
                    let id = IdValue::parse(&key, raw).map_err(|reason| ApiError::BadId {
                        reason: format!("In the new `{resource}` item, {reason}."),
                    })?;
                    match kind {
                        Some(kind) if kind != id.kind => {
                            return Err(ApiError::BadId {
                                reason: format!(
                                "The `{resource}` ids are {}; the new item's `{key}` {raw} is {}.",
                                kind.name(),
                                id.kind.name()
                            ),
                            })
                        }
                        _ => kind = Some(id.kind),
                    }
                    let form = id.string_form();
                    if self.store.get(resource, &form).is_some() || taken.contains(form.as_ref()) {
                        return Err(ApiError::BadId {
                            reason: format!(
                                "The `{resource}` item with the `{key}` {raw} exists already."
                            ),
                        });
                    }
                    if let Some(n) = integer_id(raw) {
                        largest = Some(largest.map_or(n, |l| l.max(n)));
                    }
                    id
                }
                // json-server counts a new or emptied type's ids up from 1.
                None if kind == Some(IdKind::Integer)
                    || (kind.is_none() && self.config.json_server) =>
                {
                    let next = match largest {
                        None => 1,
                        Some(n) => n.checked_add(1).ok_or_else(|| ApiError::BadId {
                            reason: format!(
                                "The `{resource}` ids have reached {n}, the largest integer id; \
                                 give the new item its `{key}`."
                            ),
                        })?,
                    };
                    largest = Some(next);
                    IdValue::integer(next)
                }
                None => {
                    kind = Some(IdKind::Text);
                    IdValue::text(&new_id(self.ids.as_mut()))
                }
            };
            let form = id.string_form().into_owned();
            // Only a batch can repeat an id of its own.
            if objects.len() > 1 {
                taken.insert(form.clone());
            }
            let object = match &stamps {
                Some(stamps) => Cow::Owned(text::merge_patch(object, stamps)),
                None => Cow::Borrowed(*object),
            };
            out.push((form, text::item_text(&object, &key, &id.json)));
        }
        Ok(out)
    }

    /// `POST /api/{parent}/{id}/{children}`: creates children (an object or
    /// an array of objects, as on the collection) with the parent's foreign
    /// key set to its id, as the parent stores it; `404` if the parent is
    /// missing.
    pub(super) fn create_child(
        &mut self,
        parent: &str,
        id: &str,
        children: &str,
        body: &[u8],
        now: Duration,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        // The id's JSON value as stored: a string, or an integer. json-server
        // 0.17 (the preset) stores the path's text, a string, instead.
        let stored = self.find(parent, id)?.id_json().to_owned();
        let id_value = if self.config.json_server {
            serde_json::Value::String(id.to_owned()).to_string()
        } else {
            stored
        };
        let json = body::parse(body)?;
        let patch = format!(
            "{{{}:{id_value}}}",
            serde_json::Value::String(foreign_key(parent))
        );
        let keyed = if json.is_object() {
            text::merge_patch(&json.text, &patch)
        } else {
            let elements = json.array().ok_or(ApiError::WrongShape {
                expected: "a JSON object or an array of objects",
            })?;
            let keyed: Vec<String> = elements
                .iter()
                .map(|element| {
                    if element.starts_with('{') {
                        text::merge_patch(element, &patch)
                    } else {
                        (*element).to_owned()
                    }
                })
                .collect();
            format!("[{}]", keyed.join(","))
        };
        self.create(children, keyed.as_bytes(), now, changes)
    }

    /// `507` unless `adding` more items of the type fit the store's limits.
    pub(super) fn check_room(&self, resource: &str, adding: usize) -> Result<(), ApiError> {
        let limit = self.config.max_items;
        if self.store.total().saturating_add(adding) > limit {
            return Err(ApiError::StoreFull { limit });
        }
        let limit = self.config.max_types;
        // A singular resource takes a type's place in MAX_TYPES.
        if adding > 0
            && self.store.collection(resource).is_none()
            && self.store.counts().count() + self.store.singles().count() >= limit
        {
            return Err(ApiError::TooManyTypes { limit });
        }
        Ok(())
    }

    /// `507` unless the store's item text still fits `MAX_STORE_BYTES` once
    /// items of `removing` bytes are replaced by items of `adding` bytes.
    pub(super) fn check_bytes(&self, removing: usize, adding: usize) -> Result<(), ApiError> {
        let limit = self.config.max_store_bytes;
        let after = self.store.bytes().saturating_sub(removing) + self.others_bytes;
        if after.saturating_add(adding) > limit {
            return Err(ApiError::StoreBytesFull { limit });
        }
        Ok(())
    }

    /// `507` unless a whole new store fits the limits.
    pub(super) fn check_store_fits(&self, store: &Store) -> Result<(), ApiError> {
        if store.bytes().saturating_add(self.others_bytes) > self.config.max_store_bytes {
            return Err(ApiError::StoreBytesFull {
                limit: self.config.max_store_bytes,
            });
        }
        if store.total() > self.config.max_items {
            return Err(ApiError::StoreFull {
                limit: self.config.max_items,
            });
        }
        // A singular resource takes a type's place in MAX_TYPES.
        if store.counts().count() + store.singles().count() > self.config.max_types {
            return Err(ApiError::TooManyTypes {
                limit: self.config.max_types,
            });
        }
        Ok(())
    }

    /// Stores a new item (its id and text from [`Engine::new_items`]).
    pub(super) fn insert(
        &mut self,
        resource: &str,
        id: &str,
        item: String,
        changes: &mut Vec<Change>,
    ) {
        if self.store.collection(resource).is_none() {
            self.record(
                Change::CreateType {
                    resource: resource.to_owned(),
                },
                changes,
            );
        }
        self.record(
            Change::Create {
                resource: resource.to_owned(),
                id: id.to_owned(),
                item,
            },
            changes,
        );
    }

    /// `GET /api/{singular}`: the object, with its `ETag`.
    pub(super) fn get_single(&self, name: &str, request: &Request) -> Result<Response, ApiError> {
        Ok(read_response(self.find_single(name)?, request))
    }

    /// PUT (`merge: false`) or PATCH (`merge: true`) of a singular resource.
    pub(super) fn rewrite_single(
        &mut self,
        name: &str,
        request: &Request,
        merge: bool,
        now: Duration,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let json = body::parse(&request.body)?;
        body::require_object(&json)?;
        let current = self.find_single(name)?;
        if let Some(wanted) = request.header("if-match") {
            if !etag_listed(wanted, &current.etag(), false) {
                return Err(ApiError::PreconditionFailed {
                    id: name.to_owned(),
                });
            }
        }
        let current = current.json.to_owned();
        let object = self.rewritten(&current, json.text, merge, now);
        self.check_bytes(current.len(), object.len())?;
        self.record(
            Change::PutSingle {
                resource: name.to_owned(),
                item: object,
            },
            changes,
        );
        Ok(item_response(self.find_single(name)?))
    }

    /// The singular resource, or `404` (a name that is not one is a
    /// collection's, so this is for a resource gone since the route was read).
    fn find_single(&self, name: &str) -> Result<Item<'_>, ApiError> {
        self.store.single(name).ok_or_else(|| ApiError::NotFound {
            id: name.to_owned(),
        })
    }

    /// An object's new text after PUT (`merge: false`, the body whole) or
    /// PATCH (`merge: true`, the body merged in), with the stamps of
    /// `TIMESTAMPS`: `_created_on` kept from the current text (when it has
    /// one), `_last_updated` set to now.
    fn rewritten(&self, current: &str, body: String, merge: bool, now: Duration) -> String {
        if !self.config.timestamps {
            return if merge {
                text::merge_patch(current, &body)
            } else {
                body
            };
        }
        // The stamps are the server's: a body does not move or drop them.
        let body = text::without_members(&body, &["_created_on", "_last_updated"]);
        let object = if merge {
            text::merge_patch(current, &body)
        } else {
            body
        };
        let stamps = match text::member(current, "_created_on") {
            Some(created) => format!(
                "{{\"_created_on\":{created},\"_last_updated\":{}}}",
                stamp(now)
            ),
            None => format!("{{\"_last_updated\":{}}}", stamp(now)),
        };
        text::merge_patch(&object, &stamps)
    }

    /// PUT (`merge: false`) or PATCH (`merge: true`) of an item.
    pub(super) fn rewrite(
        &mut self,
        resource: &str,
        id: &str,
        request: &Request,
        merge: bool,
        now: Duration,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let json = body::parse(&request.body)?;
        body::require_object(&json)?;
        let current = self.check_if_match(resource, id, request)?;
        let object = self.rewritten(&current, json.text, merge, now);
        // The id keeps the kind it is stored with.
        let key = self.store.keys().of(resource);
        let id_json = text::member(&current, key)
            .map(str::to_owned)
            .unwrap_or_else(|| IdValue::text(id).json);
        let item = text::item_text(&object, key, &id_json);
        self.check_bytes(current.len(), item.len())?;
        self.write(resource, id, item, changes)
    }

    pub(super) fn delete(
        &mut self,
        resource: &str,
        id: &str,
        request: &Request,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        self.check_if_match(resource, id, request)?;
        let response = item_response(self.find(resource, id)?);
        let resource = resource.to_owned();
        self.record(
            Change::Delete {
                resource: resource.clone(),
                id: id.to_owned(),
            },
            changes,
        );
        if self.store.collection(&resource).is_none() {
            // The store forgets a type with its last item; the change says so.
            changes.push(Change::DropType { resource });
        }
        Ok(response)
    }

    /// Deletes the children of a deleted item: the items of the types in
    /// `only` (json-server 1.0's `_dependent`), or with `None` of every
    /// other type (json-server 0.17, the preset), whose foreign key
    /// (`postId` for `posts`) names it.
    pub(super) fn delete_children(
        &mut self,
        resource: &str,
        id: &str,
        only: Option<&[String]>,
        changes: &mut Vec<Change>,
    ) {
        let key = foreign_key(resource);
        let doomed: Vec<(String, String)> = self
            .store
            .types()
            .filter(|(name, _)| *name != resource)
            .filter(|(name, _)| only.is_none_or(|only| only.iter().any(|wanted| wanted == name)))
            .flat_map(|(name, collection)| {
                collection
                    .children_of(&key, id)
                    .into_iter()
                    .map(|item| (name.to_owned(), item.id().into_owned()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (child_type, child) in doomed {
            self.record(
                Change::Delete {
                    resource: child_type.clone(),
                    id: child,
                },
                changes,
            );
            if self.store.collection(&child_type).is_none() {
                changes.push(Change::DropType {
                    resource: child_type,
                });
            }
        }
    }

    pub(super) fn clear(&mut self, resource: &str, changes: &mut Vec<Change>) -> Response {
        let deleted = self.store.clear(resource);
        if deleted > 0 {
            changes.push(Change::DropType {
                resource: resource.to_owned(),
            });
        }
        respond(200, JSON, format!("{{\"deleted\":{deleted}}}").into_bytes())
    }

    /// The item, or `404`.
    pub(super) fn find(&self, resource: &str, id: &str) -> Result<Item<'_>, ApiError> {
        self.store
            .get(resource, id)
            .ok_or_else(|| ApiError::NotFound { id: id.to_owned() })
    }

    /// `404` if the item is missing, `412` if `If-Match` names another version;
    /// otherwise the item's current text.
    pub(super) fn check_if_match(
        &self,
        resource: &str,
        id: &str,
        request: &Request,
    ) -> Result<String, ApiError> {
        let item = self.find(resource, id)?;
        if let Some(wanted) = request.header("if-match") {
            if !etag_listed(wanted, &item.etag(), false) {
                return Err(ApiError::PreconditionFailed { id: id.to_owned() });
            }
        }
        Ok(item.json.to_owned())
    }

    /// Stores an item's new text and answers with it.
    pub(super) fn write(
        &mut self,
        resource: &str,
        id: &str,
        item: String,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        self.record(
            Change::Replace {
                resource: resource.to_owned(),
                id: id.to_owned(),
                item,
            },
            changes,
        );
        Ok(item_response(self.find(resource, id)?))
    }
}

impl Engine {
    /// The path of a collection: `{API_PREFIX}/{type}`.
    pub(super) fn collection_location(&self, resource: &str) -> String {
        self.location(resource, None)
    }

    /// The path of an item: `{API_PREFIX}/{type}/{id}`.
    pub(super) fn item_location(&self, resource: &str, id: &str) -> String {
        self.location(resource, Some(id))
    }

    fn location(&self, resource: &str, id: Option<&str>) -> String {
        let prefix = self.config.api_prefix.trim_end_matches('/');
        let id_len = id.map_or(0, |id| id.len() + 1);
        let mut out = String::with_capacity(prefix.len() + resource.len() + id_len + 1);
        out.push_str(prefix);
        out.push('/');
        push_segment(&mut out, resource);
        if let Some(id) = id {
            out.push('/');
            push_segment(&mut out, id);
        }
        out
    }
}

/// Whether a conditional header's list names the tag (`*` names any).
/// `If-None-Match` compares weakly (a `W/` prefix is ignored), `If-Match` strongly.
fn etag_listed(header: &str, etag: &str, weak: bool) -> bool {
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*"
            || candidate == etag
            || (weak && candidate.strip_prefix("W/") == Some(etag))
    })
}

/// A read of a stored object (an item or a singular resource): `304` with its
/// `ETag` when `If-None-Match` names it, else the object.
fn read_response(item: Item<'_>, request: &Request) -> Response {
    let etag = item.etag();
    if request
        .header("if-none-match")
        .is_some_and(|wanted| etag_listed(wanted, &etag, true))
    {
        return Response {
            status: 304,
            headers: vec![("etag".into(), etag)],
            body: Vec::new(),
        };
    }
    tagged_response(item, etag)
}

fn item_response(item: Item<'_>) -> Response {
    tagged_response(item, item.etag())
}

/// `200` with the item and its `ETag` (`etag`, already made from its tag).
fn tagged_response(item: Item<'_>, etag: String) -> Response {
    let mut response = respond(200, JSON, item.json.as_bytes().to_vec());
    response.headers.push(("etag".into(), etag));
    response
}
