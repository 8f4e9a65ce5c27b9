//! The JavaScript face of the engine: one class, each method a call of the
//! engine (plus the settings table, [`settings`]), errors turned into
//! JavaScript `Error`s in one place ([`fail`]).
//!
//! Shapes the worker sees (plain objects):
//! - a change: `{kind: "createType", resource}`, `{kind: "create", resource, id, item}`,
//!   `{kind: "replace", resource, id, item}`, `{kind: "delete", resource, id}`,
//!   `{kind: "dropType", resource}`, `{kind: "clearAll"}`, `{kind: "putSingle", resource, item}`,
//!   `{kind: "putRule", id, rule}`,
//!   `{kind: "deleteRule", id}` or `{kind: "clearRules"}` (the core's `Change`);
//! - a response: `{status, headers: [[name, value], ...], body: Uint8Array}`;
//! - an outcome: a response plus `changes` (an array of changes, to be stored
//!   before the answer), `delay` (milliseconds to wait before it) and, when a
//!   rule asks to drop the connection, `fault: "reset"` (the worker answers
//!   `Response.error()` instead of the response).

use js_sys::{Array, Object, Reflect, Uint8Array};
use mock_rest_core::{
    error_response_without_engine, request_namespace, ApiError, BodyCollector, Change, Config,
    Engine, Fault, IdSource, Kind, Method, Request, Response, SETTINGS,
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
    warnings: Vec<String>,
}

#[wasm_bindgen]
impl MockEngine {
    /// An engine with these settings (`{appName: "shop", delayMs: 200, ...}`,
    /// values as strings, numbers or arrays of strings) and, if given, a seed:
    /// fixtures in the snapshot format (`{"type": [items]}`), the store to start
    /// from and the one `POST /__admin/reset` restores; and, if given, rules
    /// (a JSON array, as `GET /__admin/rules` lists them), the rules to start
    /// with and the ones reset restores. Throws on a setting it does not know
    /// or cannot take, and on a seed or rules that are not valid.
    /// `publicly_reachable`: the host listens where others can reach it (the
    /// Node server on a non-loopback address), so the homepage warns when no
    /// token guards the data; absent in the browser, where only the page
    /// reaches the engine.
    #[wasm_bindgen(constructor)]
    pub fn new(
        settings: &Object,
        seed: Option<String>,
        rules: Option<String>,
        publicly_reachable: Option<bool>,
    ) -> Result<MockEngine, JsError> {
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
        let base = Config {
            publicly_reachable: publicly_reachable.unwrap_or(false),
            ..Config::default()
        };
        let (config, warnings) = base.from_settings(pairs).map_err(fail)?;
        let mut engine = Engine::new(config, Box::new(CryptoIds), unix_now());
        if let Some(seed) = seed {
            engine
                .load_fixtures(seed.as_bytes())
                .map_err(|err| fail(format!("The seed is not valid: {}", err.message())))?;
        }
        if let Some(rules) = rules {
            engine
                .load_rules(rules.as_bytes())
                .map_err(|err| fail(format!("The rules are not valid: {}", err.message())))?;
        }
        Ok(Self { engine, warnings })
    }

    /// The largest request body the settings allow, in bytes: a host that
    /// reads bodies itself keeps at most one byte more, and [`MockEngine::handle`]
    /// answers `413` past it by the core's rule.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        self.engine.config().max_body_bytes as f64
    }

    /// What the settings say that has no effect (such as `authScope` without
    /// `apiToken`), for the worker to log.
    #[wasm_bindgen(getter)]
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// The changes that rebuild the current store from nothing (a `clearAll`,
    /// then every item), for storing a namespace's seed.
    #[wasm_bindgen(js_name = storeChanges)]
    pub fn store_changes(&self) -> Array {
        self.engine
            .rebuild_changes()
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
            "createType" => Change::CreateType {
                resource: field("resource")?,
            },
            "create" => Change::Create {
                resource: field("resource")?,
                id: field("id")?,
                item: field("item")?,
            },
            "replace" => Change::Replace {
                resource: field("resource")?,
                id: field("id")?,
                item: field("item")?,
            },
            "delete" => Change::Delete {
                resource: field("resource")?,
                id: field("id")?,
            },
            "dropType" => Change::DropType {
                resource: field("resource")?,
            },
            "clearAll" => Change::ClearAll,
            "putSingle" => Change::PutSingle {
                resource: field("resource")?,
                item: field("item")?,
            },
            "putRule" => Change::PutRule {
                id: field("id")?,
                rule: field("rule")?,
            },
            "deleteRule" => Change::DeleteRule { id: field("id")? },
            "clearRules" => Change::ClearRules,
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
        let (response, changes, delay, fault) = match read {
            Ok(()) => {
                let outcome = self.engine.handle(&request, unix_now());
                (
                    outcome.response,
                    outcome.changes,
                    outcome.delay,
                    outcome.fault,
                )
            }
            // Refused before the engine: nothing changes.
            Err(error) => (
                self.engine.error_response(&error, &request),
                Vec::new(),
                Duration::ZERO,
                None,
            ),
        };
        let answer = response_object(&response);
        set(&answer, "delay", delay.as_millis() as f64);
        let changes: Array = changes.iter().map(change_object).collect();
        set(&answer, "changes", changes);
        if fault == Some(Fault::Reset) {
            set(&answer, "fault", "reset");
        }
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

/// The engine's settings, from the core's one table, for a host that reads
/// them by flag and environment (the Node server): an array of
/// `{name, flag, jsName, default, help, secret}`.
#[wasm_bindgen]
pub fn settings() -> Array {
    SETTINGS
        .iter()
        .map(|setting| {
            let object = Object::new();
            set(&object, "name", setting.name);
            set(&object, "flag", setting.flag());
            set(&object, "jsName", setting.js_name());
            set(&object, "default", setting.default);
            set(&object, "help", setting.help);
            set(&object, "secret", setting.kind == Kind::Secret);
            JsValue::from(object)
        })
        .collect()
}

/// What a host with many namespaces (the Node host) asks before it picks one.
#[wasm_bindgen]
impl MockEngine {
    /// The namespace a request is for, by its `X-Mock-Namespace` header (the
    /// core's rule): `{name}`, or `{response}` refusing the header (`400`).
    #[wasm_bindgen(js_name = namespaceOf)]
    pub fn namespace_of(&self, method: &str, target: &str, headers: Vec<String>) -> Object {
        let request = request(method, target, headers);
        let answer = Object::new();
        match request_namespace(&request) {
            Ok(name) => set(&answer, "name", name),
            Err(err) => set(&answer, "response", self.refusal(&err, &request)),
        }
        answer
    }

    /// The answer to a request for a new namespace when the host holds
    /// `limit` already (`507`).
    #[wasm_bindgen(js_name = tooManyNamespaces)]
    pub fn too_many_namespaces(
        &self,
        method: &str,
        target: &str,
        headers: Vec<String>,
        limit: u32,
    ) -> Object {
        let request = request(method, target, headers);
        let err = ApiError::TooManyNamespaces {
            limit: limit as usize,
        };
        self.refusal(&err, &request)
    }

    /// The store as snapshot JSON text (`{"type": [items]}`).
    pub fn snapshot(&self) -> String {
        String::from_utf8_lossy(&self.engine.snapshot()).into_owned()
    }

    fn refusal(&self, err: &ApiError, request: &Request) -> Object {
        response_object(&self.engine.error_response(err, request))
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
    let (kind, resource, id, item, rule) = match change {
        Change::CreateType { resource } => ("createType", Some(resource), None, None, None),
        Change::Create { resource, id, item } => {
            ("create", Some(resource), Some(id), Some(item), None)
        }
        Change::Replace { resource, id, item } => {
            ("replace", Some(resource), Some(id), Some(item), None)
        }
        Change::Delete { resource, id } => ("delete", Some(resource), Some(id), None, None),
        Change::DropType { resource } => ("dropType", Some(resource), None, None, None),
        Change::ClearAll => ("clearAll", None, None, None, None),
        Change::PutSingle { resource, item } => {
            ("putSingle", Some(resource), None, Some(item), None)
        }
        Change::PutRule { id, rule } => ("putRule", None, Some(id), None, Some(rule)),
        Change::DeleteRule { id } => ("deleteRule", None, Some(id), None, None),
        Change::ClearRules => ("clearRules", None, None, None, None),
    };
    set(&object, "kind", kind);
    let fields = [
        ("resource", resource),
        ("id", id),
        ("item", item),
        ("rule", rule),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            set(&object, key, value.as_str());
        }
    }
    object.into()
}
