//! Item routes: create, read, replace, patch and delete, with their checks
//! (store limits, `If-Match`, `If-None-Match`).

use super::{respond, Engine, JSON};
use crate::body;
use crate::error::ApiError;
use crate::ids::{new_id, ID_KEY, NEW_ID_QUOTED_BYTES};
use crate::query::Relations;
use crate::relations::{foreign_key, render};
use crate::request::Request;
use crate::response::{Change, Response};
use crate::store::{Item, Store};
use crate::text;

impl Engine {
    pub(super) fn get(
        &self,
        resource: &str,
        id: &str,
        request: &Request,
    ) -> Result<Response, ApiError> {
        let relations = Relations::parse_item(&request.query)?;
        let item = self.find(resource, id)?;
        if !relations.is_empty() {
            // Embedded and expanded items are not this item's text: no ETag
            // names this answer, so it is never a 304 either.
            let budget = self.config.max_store_bytes;
            let text = render(&self.store, resource, &[item], &relations, budget)?
                .pop()
                .unwrap_or_default();
            return Ok(respond(200, JSON, text.into_owned().into_bytes()));
        }
        let etag = item.etag();
        if request
            .header("if-none-match")
            .is_some_and(|wanted| etag_listed(wanted, &etag, true))
        {
            return Ok(Response {
                status: 304,
                headers: vec![("etag", etag)],
                body: Vec::new(),
            });
        }
        Ok(item_response(item))
    }

    pub(super) fn create(
        &mut self,
        resource: &str,
        body: &[u8],
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        const SHAPE: ApiError = ApiError::WrongShape {
            expected: "a JSON object or an array of objects",
        };
        let json = body::parse(body)?;
        if json.is_object() {
            self.check_room(resource, 1)?;
            self.check_bytes(0, text::item_text_len(&json.text, NEW_ID_QUOTED_BYTES))?;
            let id = self.insert_new(resource, &json.text, changes);
            return Ok(item_response(self.find(resource, &id)?));
        }
        let elements = json.array().ok_or(SHAPE)?;
        // All or nothing: every element is checked before any is created.
        if !elements.iter().all(|element| element.starts_with('{')) {
            return Err(SHAPE);
        }
        self.check_room(resource, elements.len())?;
        let adding = elements
            .iter()
            .map(|element| text::item_text_len(element, NEW_ID_QUOTED_BYTES))
            .fold(0, usize::saturating_add);
        self.check_bytes(0, adding)?;
        let mut out = b"[".to_vec();
        for (n, element) in elements.into_iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let id = self.insert_new(resource, element, changes);
            out.extend_from_slice(self.find(resource, &id)?.json.as_bytes());
        }
        out.push(b']');
        Ok(respond(200, JSON, out))
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
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let parent_item = self.find(parent, id)?;
        // The id's JSON value as stored (a string today; a number where ids are numbers).
        let id_value = text::members(parent_item.json)
            .into_iter()
            .rev()
            .find(|member| member.key == ID_KEY)
            .map(|member| member.value.to_owned())
            .unwrap_or_else(|| serde_json::Value::String(id.to_owned()).to_string());
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
        self.create(children, keyed.as_bytes(), changes)
    }

    /// `507` unless `adding` more items of the type fit the store's limits.
    pub(super) fn check_room(&self, resource: &str, adding: usize) -> Result<(), ApiError> {
        let limit = self.config.max_items;
        if self.store.total().saturating_add(adding) > limit {
            return Err(ApiError::StoreFull { limit });
        }
        let limit = self.config.max_types;
        if adding > 0
            && self.store.collection(resource).is_none()
            && self.store.counts().count() >= limit
        {
            return Err(ApiError::TooManyTypes { limit });
        }
        Ok(())
    }

    /// `507` unless the store's item text still fits `MAX_STORE_BYTES` once
    /// items of `removing` bytes are replaced by items of `adding` bytes.
    pub(super) fn check_bytes(&self, removing: usize, adding: usize) -> Result<(), ApiError> {
        let limit = self.config.max_store_bytes;
        let after = self.store.bytes().saturating_sub(removing);
        if after.saturating_add(adding) > limit {
            return Err(ApiError::StoreBytesFull { limit });
        }
        Ok(())
    }

    /// `507` unless a whole new store fits the limits.
    pub(super) fn check_store_fits(&self, store: &Store) -> Result<(), ApiError> {
        if store.bytes() > self.config.max_store_bytes {
            return Err(ApiError::StoreBytesFull {
                limit: self.config.max_store_bytes,
            });
        }
        if store.total() > self.config.max_items {
            return Err(ApiError::StoreFull {
                limit: self.config.max_items,
            });
        }
        if store.counts().count() > self.config.max_types {
            return Err(ApiError::TooManyTypes {
                limit: self.config.max_types,
            });
        }
        Ok(())
    }

    /// Stores a new item from a compact JSON object under a fresh id; returns the id.
    pub(super) fn insert_new(
        &mut self,
        resource: &str,
        object: &str,
        changes: &mut Vec<Change>,
    ) -> String {
        let id = new_id(self.ids.as_mut());
        let item = text::item_text(object, &id);
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
                id: id.clone(),
                item,
            },
            changes,
        );
        id
    }

    /// PUT (`merge: false`) or PATCH (`merge: true`) of an item.
    pub(super) fn rewrite(
        &mut self,
        resource: &str,
        id: &str,
        request: &Request,
        merge: bool,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let json = body::parse(&request.body)?;
        body::require_object(&json)?;
        let current = self.check_if_match(resource, id, request)?;
        let object = if merge {
            text::merge_patch(&current, &json.text)
        } else {
            json.text
        };
        let item = text::item_text(&object, id);
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

/// Whether a conditional header's list names the tag (`*` names any).
/// `If-None-Match` compares weakly (a `W/` prefix is ignored), `If-Match` strongly.
fn etag_listed(header: &str, etag: &str, weak: bool) -> bool {
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*"
            || candidate == etag
            || (weak && candidate.strip_prefix("W/") == Some(etag))
    })
}

fn item_response(item: Item<'_>) -> Response {
    let mut response = respond(200, JSON, item.json.as_bytes().to_vec());
    response.headers.push(("etag", item.etag()));
    response
}
