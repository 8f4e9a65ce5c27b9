//! The JavaScript face of the engine: one class, each method a call of the
//! engine, errors turned into JavaScript `Error`s in one place ([`fail`]).
//!
//! Shapes the worker sees (plain objects):
//! - a change: `{kind: "put", resource, id, item}`, `{kind: "delete", resource, id}`,
//!   `{kind: "clear", resource}` or `{kind: "clearAll"}`;
//! - a response: `{status, headers: [[name, value], ...], body: Uint8Array}`;
//! - an outcome: a response plus `changes` (an array of changes, to be stored
//!   before the answer) and `delay` (milliseconds to wait before it).

use crate::settings;
use js_sys::{Array, Object, Reflect, Uint8Array};
use mock_rest_core::{
    error_response_without_engine, ApiError, BodyCollector, Change, Engine, IdSource, Method,
    Request, Response,
};
use std::time::Duration;
use wasm_bindgen::prelude::*;

/// Ids from `crypto.getRandomValues`, through `uuid`.
struct CryptoIds;

impl IdSource for CryptoIds {
    fn random_bytes(&mut self) -> [u8; 16] {
        uuid::Uuid::new_v4().into_bytes()
    }
}

/// The time since the Unix epoch from `Date.now()`.
fn unix_now() -> Duration {
    Duration::from_millis(js_sys::Date::now() as u64)
}

/// The one conversion of this crate's errors into JavaScript.
fn fail(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

/// One namespace's engine, driven by the service worker.
#[wasm_bindgen]
pub struct MockEngine {
    engine: Engine,
}

#[wasm_bindgen]
impl MockEngine {
    /// An engine with these settings (`{appName: "shop", delayMs: 200, ...}`,
    /// values as strings, numbers or arrays of strings) and, if given, a seed:
    /// fixtures in the snapshot format (`{"type": [items]}`), the store to start
    /// from and the one `POST /__admin/reset` restores. Throws on a setting it
    /// does not know or cannot take, and on a seed that is not valid.
    #[wasm_bindgen(constructor)]
    pub fn new(settings: &Object, seed: Option<String>) -> Result<MockEngine, JsError> {
        let pairs = Object::entries(settings)
            .iter()
            .map(|entry| {
                let entry = Array::from(&entry);
                let name = entry.get(0).as_string().unwrap_or_default();
                let value = setting_text(&entry.get(1))
                    .ok_or_else(|| format!("{name}: a string, a number or an array of strings"))?;
                Ok((name, value))
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(fail)?;
        let config = settings::config(&pairs).map_err(fail)?;
        let mut engine = Engine::new(config, Box::new(CryptoIds), unix_now());
        if let Some(seed) = seed {
            engine
                .load_fixtures(seed.as_bytes())
                .map_err(|err| fail(format!("The seed is not valid: {}", err.message())))?;
        }
        Ok(Self { engine })
    }

    /// The changes that rebuild the current store from nothing (a `clearAll`,
    /// then every item), for storing a namespace's seed.
    #[wasm_bindgen(js_name = storeChanges)]
    pub fn store_changes(&self) -> Array {
        crate::store_changes(&self.engine)
            .iter()
            .map(change_object)
            .collect()
    }

    /// Replays a stored change, as when the worker loads a namespace.
    pub fn apply(&mut self, change: &JsValue) -> Result<(), JsError> {
        let field = |name: &str| {
            Reflect::get(change, &JsValue::from_str(name))
                .ok()
                .and_then(|value| value.as_string())
                .ok_or_else(|| fail(format!("a stored change has no `{name}` text")))
        };
        let change = match field("kind")?.as_str() {
            "put" => Change::Put {
                resource: field("resource")?,
                id: field("id")?,
                item: field("item")?,
            },
            "delete" => Change::Delete {
                resource: field("resource")?,
                id: field("id")?,
            },
            "clear" => Change::Clear {
                resource: field("resource")?,
            },
            "clearAll" => Change::ClearAll,
            other => return Err(fail(format!("a stored change of unknown kind `{other}`"))),
        };
        self.engine.apply(&change);
        Ok(())
    }

    /// Handles one request: `target` is the path and query as on the wire,
    /// `headers` alternate names and values, `body` is the whole body. The
    /// body is read by the core's rules (the limit, then `413`). Returns the
    /// outcome.
    pub fn handle(
        &mut self,
        method: &str,
        target: &str,
        headers: Vec<String>,
        body: &[u8],
    ) -> Object {
        let mut request = request(method, target, headers);
        let limit = self.engine.config().max_body_bytes;
        let read = BodyCollector::for_request(&request, limit).and_then(|mut collector| {
            collector.feed(body);
            collector.finish(&mut request)
        });
        let (response, changes, delay) = match read {
            Ok(()) => {
                let outcome = self.engine.handle(&request, unix_now());
                (outcome.response, outcome.changes, outcome.delay)
            }
            // Refused before the engine: nothing changes.
            Err(error) => (
                self.engine.error_response(&error, &request),
                Vec::new(),
                Duration::ZERO,
            ),
        };
        let answer = response_object(&response);
        set(&answer, "delay", delay.as_millis() as f64);
        let changes: Array = changes.iter().map(change_object).collect();
        set(&answer, "changes", changes);
        answer
    }

    /// The answer to a request whose changes could not be stored (`503`), with
    /// the headers every answer carries.
    #[wasm_bindgen(js_name = storageFailed)]
    pub fn storage_failed(&self, method: &str, target: &str, headers: Vec<String>) -> Object {
        let request = request(method, target, headers);
        response_object(
            &self
                .engine
                .error_response(&ApiError::StorageFailed, &request),
        )
    }
}

/// The answer (`500`, `{"message"}`) when the worker itself fails, with no
/// engine to ask (a namespace that could not start, say): readable from any
/// origin, as the namespace's `corsOrigins` are not known.
#[wasm_bindgen(js_name = hostFailed)]
pub fn host_failed(message: &str, method: &str, target: &str, headers: Vec<String>) -> Object {
    let request = request(method, target, headers);
    let error = ApiError::HostFailed {
        reason: message.to_owned(),
    };
    response_object(&error_response_without_engine(&error, &request))
}

/// A setting's value as text: a string as it is, a whole number in decimal,
/// an array of strings joined with commas.
fn setting_text(value: &JsValue) -> Option<String> {
    if let Some(text) = value.as_string() {
        return Some(text);
    }
    if let Some(number) = value.as_f64() {
        return Some(if number.fract() == 0.0 && number.abs() < 9e15 {
            format!("{}", number as i64)
        } else {
            number.to_string()
        });
    }
    if Array::is_array(value) {
        let parts: Option<Vec<String>> = Array::from(value).iter().map(|v| v.as_string()).collect();
        return parts.map(|parts| parts.join(","));
    }
    if value.is_null() || value.is_undefined() {
        return Some(String::new());
    }
    None
}

fn request(method: &str, target: &str, headers: Vec<String>) -> Request {
    let mut request = Request::new(Method::parse(method), target);
    let mut headers = headers.into_iter();
    while let (Some(name), Some(value)) = (headers.next(), headers.next()) {
        request.headers.push((name, value));
    }
    request
}

fn set(object: &Object, key: &str, value: impl Into<JsValue>) {
    // Setting a property of a plain object made here cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), &value.into());
}

fn response_object(response: &Response) -> Object {
    let answer = Object::new();
    set(&answer, "status", response.status);
    let headers: Array = response
        .headers
        .iter()
        .map(|(name, value)| Array::of2(&JsValue::from_str(name), &JsValue::from_str(value)))
        .collect();
    set(&answer, "headers", headers);
    set(&answer, "body", Uint8Array::from(response.body.as_slice()));
    answer
}

fn change_object(change: &Change) -> JsValue {
    let object = Object::new();
    let (kind, resource, id, item) = match change {
        Change::Put { resource, id, item } => ("put", Some(resource), Some(id), Some(item)),
        Change::Delete { resource, id } => ("delete", Some(resource), Some(id), None),
        Change::Clear { resource } => ("clear", Some(resource), None, None),
        Change::ClearAll => ("clearAll", None, None, None),
    };
    set(&object, "kind", kind);
    for (key, value) in [("resource", resource), ("id", id), ("item", item)] {
        if let Some(value) = value {
            set(&object, key, value.as_str());
        }
    }
    object.into()
}
