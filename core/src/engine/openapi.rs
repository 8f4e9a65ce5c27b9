//! The OpenAPI mode in the engine: a user's document, loaded once by the
//! endpoint and shared by every namespace ([`OpenApi`]), answers at its own
//! paths. Each request is routed, validated and answered as the
//! [`spec`](crate::spec) module says, and the document's collections are
//! kept in the namespace's store, so rules, delays, forced statuses,
//! snapshots, the journal and the change feed work on them as on any other
//! type.

use super::lists::page_links;
use super::Engine;
use crate::config::Config;
use crate::error::ApiError;
use crate::http::incoming::Incoming;
use crate::http::request::{Method, Request};
use crate::http::response::{Change, Response};
use crate::json::{body, text};
use crate::mock::proxy::Upstream;
use crate::spec::{
    Answer, Choice, IdKind, Kind, Lookup, OpId, Prefer, Refusal, RequestParts, Resource, Spec,
    SpecError, Stored,
};
use crate::store::ids::{new_id, plain_key, IdKeys, IdValue};
use crate::store::query::ListQuery;
use crate::store::select::{select, select_among, Selection};
use crate::store::snapshot::Snapshot;
use crate::store::Store;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};
use std::sync::Arc;

/// What a path segment keeps unencoded in a `Location`: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A loaded document and what every namespace starts from with it.
pub(crate) struct OpenApi {
    spec: Spec,
    /// What the document's bytes hash to, and how many there are: a seed
    /// with the same document reuses this one, without its bytes being kept.
    source: (u64, usize),
    /// The items each collection starts with (the document's example lists,
    /// or `OPENAPI_SEED_ITEMS` generated ones from `SEED`).
    seeded: Store,
}

impl std::fmt::Debug for OpenApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenApi")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl OpenApi {
    /// Reads a document and makes the items its collections start with.
    pub(crate) fn load(bytes: &[u8], config: &Config) -> Result<Self, SpecError> {
        let spec = Spec::load(bytes)?;
        let kept = |r: &&Resource| plain_key(&r.id_property);
        let keys = IdKeys::with_types(
            &config.id_field,
            spec.resources()
                .iter()
                .filter(kept)
                .map(|r| (r.name.clone(), r.id_property.clone())),
        );
        let mut seeded = Store::with_keys(keys.clone());
        for (index, resource) in spec.resources().iter().enumerate() {
            if !kept(&resource) {
                continue;
            }
            let items = spec.seed_items(index, config.openapi_seed_items, config.seed);
            if items.is_empty() {
                continue;
            }
            let mut wrapped = Map::new();
            wrapped.insert(resource.name.clone(), Value::Array(items));
            let text = Value::Object(wrapped).to_string();
            // Every seeded item has its id already; the ids below are never used.
            let mut n = 0u64;
            let mut unused = || {
                n += 1;
                n.to_string()
            };
            // Items the store cannot take (an id it refuses, say) leave
            // their collection empty rather than the document unusable.
            if let Ok(snapshot) = Snapshot::parse(text.as_bytes(), &keys, &mut unused) {
                for (name, id, item) in snapshot.items {
                    seeded.put(&name, &id, item);
                }
            }
        }
        Ok(Self {
            spec,
            source: digest(bytes),
            seeded,
        })
    }

    /// The loaded document.
    pub(crate) fn spec(&self) -> &Spec {
        &self.spec
    }

    /// `/openapi.json`'s body: the document as compact JSON (YAML turned
    /// into JSON).
    pub(crate) fn document(&self) -> Vec<u8> {
        self.spec.document().as_bytes().to_vec()
    }

    /// Whether this was loaded from `bytes`.
    pub(crate) fn is_from(&self, bytes: &[u8]) -> bool {
        self.source == digest(bytes)
    }
}

/// A document's bytes as a hash (the standard library's, with fixed keys:
/// the same for the same bytes within a process) and their length.
fn digest(bytes: &[u8]) -> (u64, usize) {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    bytes.hash(&mut hasher);
    (hasher.finish(), bytes.len())
}

/// An `Allow` header for a path's methods: each in the document's order,
/// `HEAD` after `GET` (which answers it), then `OPTIONS` (the preflight).
pub(crate) fn allow_header(methods: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::with_capacity(methods.len() + 2);
    for method in methods {
        if !out.contains(method) {
            out.push(method);
        }
        if *method == "GET" && !methods.contains(&"HEAD") && !out.contains(&"HEAD") {
            out.push("HEAD");
        }
    }
    if !out.contains(&"OPTIONS") {
        out.push("OPTIONS");
    }
    out.join(", ")
}

/// An answer of the spec module as the engine's response (header names in
/// lower case, as every answer of the engine has them).
fn response_of(answer: Answer) -> Response {
    Response {
        status: answer.status,
        headers: answer
            .headers
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase().into(), value))
            .collect(),
        body: answer.body,
    }
}

/// JSON text with every character past ASCII written as `\uXXXX` (the text
/// means the same; only strings hold such characters).
fn ascii_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// What a stateful operation works on.
struct Target<'a> {
    op: OpId,
    resource: &'a Resource,
    /// The path's parameters, read in their styles and typed.
    params: Vec<(String, Value)>,
    choice: &'a Choice,
}

impl Target<'_> {
    /// The store type.
    fn name(&self) -> &str {
        &self.resource.name
    }

    /// A path parameter's value.
    fn value(&self, name: &str) -> Option<&Value> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A path parameter's value in its string form (an integer's digits),
    /// as ids are named.
    fn text(&self, name: &str) -> Option<String> {
        match self.value(name)? {
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    }

    /// The id the item path names, if any.
    fn id(&self) -> Option<String> {
        self.text(self.resource.id_param.as_deref()?)
    }

    /// The parents' ids as the item keeps them (`{"userId": 7}`), from the
    /// path, typed as the operation's schemas say.
    fn parents(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for (name, property) in &self.resource.parents {
            if let Some(value) = self.value(name) {
                out.insert(property.clone(), value.clone());
            }
        }
        out
    }

    /// Whether a stored item belongs to the parents the path names.
    fn owns(&self, item: &str) -> bool {
        self.resource.parents.iter().all(|(name, property)| {
            let wanted = self.text(name);
            let held = text::member(item, property).and_then(text::key_text);
            matches!((wanted, held), (Some(w), Some(h)) if w == h)
        })
    }

    /// The item path of a new item, with the path's parameters and its id
    /// put in.
    fn location(&self, id: &str) -> Option<String> {
        let template = self.resource.item.as_deref()?;
        let id_param = self.resource.id_param.as_deref()?;
        let mut out = String::with_capacity(template.len() + id.len());
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}')? + open;
            out.push_str(&rest[..open]);
            let name = &rest[open + 1..close];
            let value = if name == id_param {
                id.to_owned()
            } else {
                self.text(name)?
            };
            out.extend(utf8_percent_encode(&value, SEGMENT));
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        Some(out)
    }
}

impl Engine {
    /// Makes `api` this engine's document: its store starts from (and
    /// resets to) the document's seeded items.
    pub(crate) fn use_openapi(&mut self, api: Arc<OpenApi>) {
        self.store = api.seeded.clone();
        self.initial = self.store.clone();
        self.openapi = Some(api);
    }

    /// Adds the document's seeded types that fixtures did not bring.
    pub(super) fn add_seeded_types(&mut self) {
        let Some(api) = self.openapi.clone() else {
            return;
        };
        for (resource, collection) in api.seeded.types() {
            if self.store.collection(resource).is_none() && self.store.single(resource).is_none() {
                for item in collection.iter() {
                    self.store.put(resource, &item.id(), item.json.to_owned());
                }
            }
        }
    }

    /// Whether a path is one of the document's: with a document, every path
    /// but the mock's own.
    pub(super) fn is_spec_path(&self, path: &str) -> bool {
        self.openapi.is_some() && !super::rules::mocks_own(path)
    }

    /// `/openapi.json` with a document: the document.
    pub(super) fn loaded_document(&self) -> Option<Vec<u8>> {
        self.openapi.as_ref().map(|api| api.document())
    }

    /// The loaded document, for the homepage's list of operations.
    pub(super) fn loaded_spec(&self) -> Option<&Spec> {
        self.openapi.as_ref().map(|api| api.spec())
    }

    /// The `Allow` of one of the document's paths, for a preflight; `404`
    /// for a path it lacks.
    pub(super) fn spec_allow(&self, path: &str) -> Result<String, ApiError> {
        self.openapi
            .as_ref()
            .and_then(|api| api.spec.allow(path))
            .map(|methods| allow_header(&methods))
            .ok_or_else(|| ApiError::UnknownPath {
                path: path.to_owned(),
            })
    }

    /// The answer at one of the document's paths: `404` for a path it
    /// lacks, `405` for a method; the operation's answer to a request that
    /// breaks it; else the chosen response, from the store for the
    /// operations that keep items, from the document for the others (and
    /// for `Prefer` asking for an example, generated data or a status that
    /// is not a success).
    pub(super) fn spec_answer(
        &mut self,
        request: &Incoming<'_>,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let Some(api) = self.openapi.clone() else {
            return Err(ApiError::UnknownPath {
                path: request.path.clone(),
            });
        };
        let spec = &api.spec;
        let (op, params) = match spec.find(request.method.as_str(), &request.path) {
            Lookup::Found { op, params } => (op, params),
            Lookup::NoPath => {
                return Err(ApiError::UnknownPath {
                    path: request.path.clone(),
                })
            }
            Lookup::NoMethod { allow } => {
                return Err(ApiError::MethodNotAllowed {
                    method: request.method.to_string(),
                    allow: allow_header(&allow).into(),
                })
            }
        };
        let parts = RequestParts {
            method: request.method.as_str(),
            path_params: &params,
            query: request.query_pairs(),
            headers: &request.headers,
            body: &request.body,
        };
        let violations = spec.validate_request(op, &parts);
        if !violations.is_empty() {
            return Ok(response_of(spec.violation_response(op, &violations)));
        }
        let prefer = match request.header("prefer").map(Prefer::parse).transpose() {
            Ok(prefer) => prefer.unwrap_or_default(),
            Err(why) => return Ok(response_of(Refusal::BadPrefer(why).answer())),
        };
        let choice = match spec.choose(op, &prefer, request.header("accept")) {
            Ok(choice) => choice,
            Err(refusal) => return Ok(response_of(refusal.answer())),
        };
        let seed = self.config.seed;
        let plan = spec.resource_op(op);
        let resource = plan
            .resource
            .and_then(|i| spec.resources().get(i))
            .filter(|r| plain_key(&r.id_property));
        let documented =
            prefer.example.is_some() || prefer.dynamic || !(200..300).contains(&choice.status);
        let (Some(resource), false) = (resource, documented) else {
            return Ok(response_of(spec.answer(
                &choice,
                spec.body(&choice, seed),
                seed,
            )));
        };
        let target = Target {
            op,
            resource,
            params: spec.path_values(op, &params),
            choice: &choice,
        };
        match plan.kind {
            Kind::Create => self.spec_create(spec, &target, &parts, changes),
            Kind::List => self.spec_list(spec, &target, request),
            Kind::Read => match self.spec_item(&target) {
                Some(item) => Ok(self.spec_item_answer(spec, &target, &item)),
                None => Ok(self.spec_missing(spec, &target, request)),
            },
            Kind::Replace | Kind::Patch => {
                let merge = plan.kind == Kind::Patch;
                self.spec_rewrite(spec, &target, &parts, request, merge, changes)
            }
            Kind::Delete => self.spec_delete(spec, &target, request, changes),
            Kind::Other => Ok(response_of(spec.answer(
                &choice,
                spec.body(&choice, seed),
                seed,
            ))),
        }
    }

    /// Contract drift: how the target's answer to a request breaks the
    /// operation of the document that the request names, as the JSON text
    /// of an array of violations (non-ASCII characters escaped, so that it
    /// is a header's value); `None` when it keeps to it, or when no
    /// document or operation applies.
    pub(super) fn drift(&self, request: &Request, upstream: &Upstream) -> Option<String> {
        let api = self.openapi.as_ref()?;
        let Upstream::Answered {
            status,
            headers,
            body,
        } = upstream
        else {
            return None;
        };
        let Lookup::Found { op, .. } = api.spec.find(request.method.as_str(), &request.path) else {
            return None;
        };
        let content_type = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .map(|(_, value)| value.as_str());
        // A HEAD's answer has no body to check.
        let body: &[u8] = if request.method == Method::Head {
            &[]
        } else {
            body
        };
        let violations = api.spec.validate_response(op, *status, content_type, body);
        if violations.is_empty() {
            return None;
        }
        let list = Value::Array(violations.iter().map(|v| v.to_json()).collect());
        Some(ascii_json(&list.to_string()))
    }

    /// The stored item the path names, if it belongs to the path's parents.
    fn spec_item(&self, target: &Target) -> Option<String> {
        let item = self.store.get(target.name(), &target.id()?)?;
        target.owns(item.json).then(|| item.json.to_owned())
    }

    /// A stored item answered in the shape of the chosen response.
    fn spec_item_answer(&self, spec: &Spec, target: &Target, item: &str) -> Response {
        let seed = self.config.seed;
        let choice = target.choice;
        if choice.media_type.is_some() && spec.answers_items_as_stored(target.op, choice.status) {
            return response_of(spec.answer_bytes(choice, Some(item.as_bytes().to_vec()), seed));
        }
        let body = match (&choice.media_type, body::parse_value(item)) {
            (Some(_), Some(value)) => {
                Some(spec.fill(target.op, choice.status, Stored::Item(&value), seed))
            }
            _ => None,
        };
        response_of(spec.answer(choice, body, seed))
    }

    /// The answer for an item that is not stored: the operation's own `404`
    /// when it declares one, else this mock's.
    fn spec_missing(&self, spec: &Spec, target: &Target, request: &Request) -> Response {
        let seed = self.config.seed;
        let not_found = Prefer {
            code: Some(404),
            ..Prefer::default()
        };
        match spec.choose(target.op, &not_found, request.header("accept")) {
            Ok(choice) => response_of(spec.answer(&choice, spec.body(&choice, seed), seed)),
            Err(_) => ApiError::NotFound {
                id: target.id().unwrap_or_default(),
            }
            .to_response(),
        }
    }

    /// The body of a create or a replace as an object's compact JSON: `{}`
    /// for none, a form's fields as the schema types them, else JSON.
    fn spec_object(spec: &Spec, op: OpId, parts: &RequestParts) -> Result<String, ApiError> {
        if parts.body.iter().all(u8::is_ascii_whitespace) {
            return Ok("{}".to_owned());
        }
        let form = parts.header("content-type").is_some_and(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        if form {
            if let Some(value @ Value::Object(_)) = spec.request_body(op, parts) {
                return Ok(value.to_string());
            }
        }
        let json = body::parse(parts.body)?;
        body::require_object(&json)?;
        Ok(json.text)
    }

    /// `POST` on a collection: the body stored with a new id in the id
    /// property and the parents' ids from the path, answered in the shape
    /// of the chosen response with `Location` naming its item path.
    fn spec_create(
        &mut self,
        spec: &Spec,
        target: &Target,
        parts: &RequestParts,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let object = Self::spec_object(spec, target.op, parts)?;
        let parents = target.parents();
        let object = if parents.is_empty() {
            object
        } else {
            text::merge_patch(&object, &Value::Object(parents).to_string())
        };
        let name = target.name().to_owned();
        let id = self.spec_new_id(spec, target);
        let item = text::item_text(&object, &target.resource.id_property, &id.json);
        let form = id.string_form().into_owned();
        self.check_room(&name, 1)?;
        self.check_bytes(0, item.len())?;
        self.insert(&name, &form, item, changes);
        let stored = self.find(&name, &form)?.json.to_owned();
        let mut response = self.spec_item_answer(spec, target, &stored);
        if let Some(location) = target.location(&form) {
            response.headers.push(("location".into(), location));
        }
        Ok(response)
    }

    /// A new id for the type: the next integer when its ids are integers, a
    /// UUID for a string, or a value of the id schema's `format`. A type
    /// that already holds ids of the other kind keeps that kind.
    fn spec_new_id(&mut self, spec: &Spec, target: &Target) -> IdValue {
        use crate::store::ids::IdKind as Held;
        let name = target.name();
        let (held, largest) = match self.store.collection_mut(name) {
            Some(collection) => (collection.id_kind(), collection.largest_integer_id()),
            None => (None, None),
        };
        let integer = match (held, &target.resource.id_kind) {
            (Some(held), _) => held == Held::Integer,
            (None, kind) => *kind == IdKind::Integer,
        };
        if integer {
            if let Some(next) = largest.map_or(Some(1), |n| n.checked_add(1)) {
                return IdValue::integer(next);
            }
        }
        if let IdKind::String {
            format: Some(format),
        } = &target.resource.id_kind
        {
            let count = self.store.collection(name).map_or(0, |c| c.len()) as u64;
            for n in count..count + 16 {
                let Value::String(id) = spec.id_of_format(target.op, format, n) else {
                    break;
                };
                let usable = crate::http::route::check_name(&id, "id", "").is_ok();
                if usable && self.store.get(name, &id).is_none() {
                    return IdValue::text(&id);
                }
            }
        }
        IdValue::text(&new_id(self.ids.as_mut()))
    }

    /// `GET` on a collection: its stored items (of the path's parents),
    /// with this mock's filters, sort and paging, in the shape of the chosen
    /// response (an array, or an envelope with the count).
    fn spec_list(
        &self,
        spec: &Spec,
        target: &Target,
        request: &Incoming<'_>,
    ) -> Result<Response, ApiError> {
        let declared: Vec<&str> = spec.query_names(target.op).collect();
        // The operation's own parameters are the document's; the rest are
        // this mock's filters and paging. The name compared is the raw
        // text percent-decoded only (a `+` stays a `+`), not the decoded key.
        let ours: Vec<(String, String)> = request
            .raw_pairs()
            .filter(|(raw, _)| {
                let key = raw.split('=').next().unwrap_or_default();
                let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
                let base = key.split('[').next().unwrap_or_default();
                !declared.contains(&base)
            })
            .map(|(_, pair)| pair.clone())
            .collect();
        let query = ListQuery::parse_with(&ours, &self.filterable(target.name()), &self.patterns)?;
        let collection = self.store.collection(target.name());
        let Selection {
            total,
            items,
            pages,
        } = if target.resource.parents.is_empty() {
            select(collection, &query)
        } else {
            let owned = collection
                .map(|c| c.iter().filter(|item| target.owns(item.json)).collect())
                .unwrap_or_default();
            select_among(owned, &query)
        };
        let values: Vec<Value> = items
            .iter()
            .filter_map(|item| body::parse_value(item.json))
            .collect();
        let seed = self.config.seed;
        let choice = target.choice;
        let stored = Stored::List {
            items: &values,
            total,
        };
        let body = choice
            .media_type
            .as_ref()
            .map(|_| spec.fill(target.op, choice.status, stored, seed));
        let mut response = response_of(spec.answer(choice, body, seed));
        response
            .headers
            .push(("x-total-count".into(), total.to_string()));
        if let Some(pages) = pages {
            response
                .headers
                .push(("link".into(), page_links(request, &pages, "_limit")));
        }
        Ok(response)
    }

    /// `PUT` (`merge: false`) or `PATCH` (`merge: true`) of a stored item:
    /// its id and its parents' ids are kept.
    #[allow(clippy::too_many_arguments)]
    fn spec_rewrite(
        &mut self,
        spec: &Spec,
        target: &Target,
        parts: &RequestParts,
        request: &Request,
        merge: bool,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let Some(current) = self.spec_item(target) else {
            return Ok(self.spec_missing(spec, target, request));
        };
        let object = Self::spec_object(spec, target.op, parts)?;
        let object = if merge {
            text::merge_patch(&current, &object)
        } else {
            object
        };
        let key = &target.resource.id_property;
        let parents = target.parents();
        let object = if parents.is_empty() {
            object
        } else {
            text::merge_patch(&object, &Value::Object(parents).to_string())
        };
        let id_json = text::member(&current, key).unwrap_or("null").to_owned();
        let item = text::item_text(&object, key, &id_json);
        self.check_bytes(current.len(), item.len())?;
        let id = target.id().unwrap_or_default();
        let name = target.name().to_owned();
        self.record(
            Change::Replace {
                resource: name.clone(),
                id: id.clone(),
                item,
            },
            changes,
        );
        let stored = self.find(&name, &id)?.json.to_owned();
        Ok(self.spec_item_answer(spec, target, &stored))
    }

    /// `DELETE` of a stored item, answered with the chosen response (the
    /// deleted item in its shape when the response has content).
    fn spec_delete(
        &mut self,
        spec: &Spec,
        target: &Target,
        request: &Request,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let Some(current) = self.spec_item(target) else {
            return Ok(self.spec_missing(spec, target, request));
        };
        let name = target.name().to_owned();
        self.record(
            Change::Delete {
                resource: name.clone(),
                id: target.id().unwrap_or_default(),
            },
            changes,
        );
        if self.store.collection(&name).is_none() {
            changes.push(Change::DropType { resource: name });
        }
        Ok(self.spec_item_answer(spec, target, &current))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{Endpoint, Seed, SeedPart};
    use crate::http::request::Method;
    use crate::store::ids::SeededIds;
    use std::time::Duration;

    const T0: Duration = Duration::from_secs(1_700_000_000);
    const V30: &[u8] = include_bytes!("../../../tests/openapi-docs/petstore-3.0.yaml");

    fn engine(settings: &[(&str, &str)]) -> Engine {
        let (config, _) = Config::default()
            .from_settings(settings.iter().copied())
            .unwrap();
        let api = OpenApi::load(V30, &config).unwrap();
        let mut engine = Engine::new(config, Box::new(SeededIds::new(3)), T0);
        engine.use_openapi(Arc::new(api));
        engine
    }

    fn answered(status: u16, body: &str) -> Upstream {
        Upstream::Answered {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn an_upstream_answer_that_breaks_the_document_is_reported_and_passed_on() {
        let mut engine = engine(&[("PROXY_TARGET", "http://up.test")]);
        let request = Request::new(Method::Get, "/pets/1");
        let mut round = |upstream: Upstream| {
            let outcome = engine.handle(&request, T0);
            let forward = outcome.forward.expect("a document's path is forwarded");
            engine.proxied(&request, forward, upstream, T0).response
        };
        let drifted = round(answered(200, r#"{"id":"seven","名":1}"#));
        assert_eq!(
            drifted.body,
            r#"{"id":"seven","名":1}"#.as_bytes(),
            "passed on as it came"
        );
        let header = drifted.header("mock-violations").expect("reported");
        assert!(header.is_ascii(), "{header}");
        let listed: Value = serde_json::from_str(header).unwrap();
        assert_eq!(
            listed,
            serde_json::json!([
                {"location": ["body"], "severity": "Error", "code": "required",
                 "message": "Response body must have required property 'name'"},
                {"location": ["body", "id"], "severity": "Error", "code": "type",
                 "message": "Response body property id must be integer"}
            ])
        );
        let kept = round(answered(200, r#"{"id":7,"name":"Rex"}"#));
        assert_eq!(kept.header("mock-violations"), None);
        let undeclared = round(answered(418, "{}"));
        assert!(undeclared
            .header("mock-violations")
            .is_some_and(|v| v.contains("Response status 418 is not declared")));
        let journal = engine.handle(&Request::new(Method::Get, "/__admin/requests"), T0);
        let entries: Value = serde_json::from_slice(&journal.response.body).unwrap();
        assert_eq!(entries[0]["violations"], listed);
        assert_eq!(entries[1].get("violations"), None);
        assert_eq!(entries[2]["violations"][0]["code"], "status");
    }

    #[test]
    fn a_document_that_cannot_be_used_stops_the_endpoint_naming_the_place() {
        let seed = Seed {
            openapi: Some(b"openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: '#/nowhere'}\n".to_vec()),
            ..Seed::default()
        };
        let Err(err) = Endpoint::new(Config::default(), seed, Box::new(SeededIds::new(1)), T0)
        else {
            panic!("refused");
        };
        assert_eq!(err.part, SeedPart::OpenApi);
        assert_eq!(err.error.status(), 400);
        let message = err.to_string();
        assert!(
            message
                .starts_with("The OpenAPI document cannot be used: #/paths/~1a/get/responses/200"),
            "{message}"
        );
    }

    #[test]
    fn every_namespace_and_every_endpoint_start_from_the_same_items() {
        let seed = Seed {
            openapi: Some(V30.to_vec()),
            ..Seed::default()
        };
        let snapshots: Vec<Vec<u8>> = (0..2)
            .map(|n| {
                let mut endpoint = Endpoint::new(
                    Config::default(),
                    seed.clone(),
                    Box::new(SeededIds::new(n)),
                    T0,
                )
                .unwrap();
                endpoint.open("default", T0).unwrap();
                endpoint.open("other", T0).unwrap();
                let first = endpoint.snapshot_of("default").unwrap();
                assert_eq!(Some(&first), endpoint.snapshot_of("other").as_ref());
                first
            })
            .collect();
        assert_eq!(snapshots[0], snapshots[1]);
        let pets: Value = serde_json::from_slice(&snapshots[0]).unwrap();
        let ids: Vec<&Value> = pets["pets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["id"])
            .collect();
        assert_eq!(
            ids,
            (1..=10)
                .map(Value::from)
                .collect::<Vec<_>>()
                .iter()
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_document_outlives_a_fixtures_reload_and_a_reseed_with_it() {
        let seed = Seed {
            openapi: Some(V30.to_vec()),
            ..Seed::default()
        };
        let mut endpoint = Endpoint::new(
            Config::default(),
            seed.clone(),
            Box::new(SeededIds::new(1)),
            T0,
        )
        .unwrap();
        let status = |endpoint: &mut Endpoint| {
            let request = Request::new(Method::Get, "/pets/1");
            endpoint.handle(&request, T0).response().map(|r| r.status)
        };
        assert_eq!(status(&mut endpoint), Some(200));
        endpoint
            .reload_fixtures(br#"{"notes":[]}"#.to_vec())
            .unwrap();
        assert_eq!(status(&mut endpoint), Some(200));
        endpoint.reseed(seed).unwrap();
        assert_eq!(status(&mut endpoint), Some(200));
        endpoint.reseed(Seed::default()).unwrap();
        assert_eq!(status(&mut endpoint), Some(404));
    }

    #[test]
    fn non_ascii_text_is_escaped_for_a_header() {
        assert_eq!(
            ascii_json(r#"["é","𝄞",1]"#),
            r#"["\u00e9","\ud834\udd1e",1]"#
        );
    }
}
