//! mock-rest-api in the browser: the engine, compiled to wasm, for a service
//! worker (`web/mock-sw.js`) that answers the page's `fetch()` calls.
//!
//! # In scope
//! - `MockEngine`, a small `#[wasm_bindgen]` class (wasm32 only) that forwards
//!   each call to an [`Engine`] and converts errors to JavaScript once: build
//!   it from settings and a seed, replay stored items into it, and handle a
//!   request (method, path and query, headers, body bytes), getting back the
//!   status, headers, body, the store changes and the delay.
//! - The settings: the core's table ([`mock_rest_core::SETTINGS`]), by their
//!   native names or the JavaScript names `startMock` takes (`delayMs` for
//!   `DELAY_MS`); the engine checks them, so nothing here repeats the list.
//! - [`store_changes`]: a store as the changes that rebuild it, which the
//!   worker writes to IndexedDB when a namespace starts from its seed.
//!
//! # Out of scope
//! Everything but the engine: which requests are mocked, IndexedDB, timers and
//! the page's registration are JavaScript (`web/`), since the engine is the
//! same pure function on every host. Ids come from `crypto.getRandomValues`
//! (through `uuid`), the clock from `Date.now()`.
//!
//! On the host (x86_64) the crate is [`settings`] and [`store_changes`], so the
//! workspace's tests and lints cover them; `scripts/browser.sh build` builds
//! the wasm with `wasm-bindgen --target no-modules` into `web/dist/`.
//!
//! [`Engine`]: mock_rest_core::Engine

#![warn(missing_docs)]

#[cfg(target_family = "wasm")]
mod bindings;

use mock_rest_core::{Change, Engine, ID_KEY};

/// The changes that rebuild the engine's store from nothing: a `ClearAll`,
/// then every item as a `Put`, types and items in creation order.
pub fn store_changes(engine: &Engine) -> Vec<Change> {
    let mut changes = vec![Change::ClearAll];
    for (resource, collection) in engine.store().types() {
        for item in collection.iter() {
            changes.push(Change::Put {
                resource: resource.to_owned(),
                id: item_id(item.json).unwrap_or_default(),
                item: item.json.to_owned(),
            });
        }
    }
    changes
}

/// The `_id` of a stored item. The engine keeps it as the item's last member,
/// a string, so it is the last `"_id":"` in the text: inside a string literal
/// those quotes would be escaped.
fn item_id(json: &str) -> Option<String> {
    let key = format!("\"{ID_KEY}\":\"");
    let start = json.rfind(&key)? + key.len() - 1;
    let literal = json.get(start..json.len().checked_sub(1)?)?;
    serde_json::from_str(literal).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_rest_core::{Config, Method, Request, SeededIds};
    use std::time::Duration;

    #[test]
    fn ids_come_from_the_last_member() {
        assert_eq!(item_id(r#"{"_id":"a"}"#).as_deref(), Some("a"));
        assert_eq!(
            item_id(r#"{"note":"x\"_id\":\"no","_id":"q\"u\\o\u00e9"}"#).as_deref(),
            Some("q\"u\\o\u{e9}")
        );
        assert_eq!(item_id("{}"), None);
    }

    #[test]
    fn a_store_replays_into_the_same_store() {
        let now = Duration::from_secs(1_700_000_000);
        let mut engine = Engine::new(Config::default(), Box::new(SeededIds::new(7)), now);
        engine
            .load_fixtures(br#"{"b":[{"_id":"x\"1","n":1.10}],"a":[{"n":2},{"n":3}]}"#)
            .unwrap();
        let post = Request::new(Method::Post, "/api/b").with_body(r#"{"n":4}"#);
        assert_eq!(engine.handle(&post, now).response.status, 200);

        let changes = store_changes(&engine);
        assert_eq!(changes.len(), 5);
        assert_eq!(changes[0], Change::ClearAll);
        let mut copy = Engine::new(Config::default(), Box::new(SeededIds::new(8)), now);
        for change in &changes {
            copy.apply(change);
        }
        assert_eq!(copy.snapshot(), engine.snapshot());
        let get = Request::new(Method::Get, "/api/b/x%221");
        assert_eq!(copy.handle(&get, now).response.status, 200);
    }
}
