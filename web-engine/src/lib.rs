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
//! - The store's changes as plain objects, one IndexedDB operation each,
//!   including the changes that rebuild a store from its seed
//!   (`Engine::rebuild_changes`).
//! - For the Node host of the npm package (`npm/`): the settings table
//!   (`settings()`, from which its flags and environment variables are
//!   made), the core's namespace rule with its `400` and `507` answers, the
//!   store as snapshot text, and `handleWire`, a request in one buffer and its
//!   answer in another, both kept in the wasm memory between calls (one
//!   crossing each way and nothing allocated to cross, for speed; the host
//!   stores no changes).
//!
//! # Out of scope
//! Everything but the engine: which requests are mocked, IndexedDB, timers and
//! the page's registration are JavaScript (`web/`), since the engine is the
//! same pure function on every host. Ids come from `crypto.getRandomValues`
//! (sixteen ids' bytes a call), the clock from `Date.now()`.
//!
//! On the host (x86_64) the crate is empty: everything it does is a
//! conversion at the wasm boundary, tested in headless Chromium by
//! `scripts/browser.sh`, which builds the wasm with `wasm-bindgen --target
//! no-modules` into `web/dist/`, and in Node by `scripts/node.sh`, which
//! binds the same wasm with `--target nodejs` into `npm/dist/node/`.
//!
//! [`Engine`]: mock_rest_core::Engine

#![warn(missing_docs)]

#[cfg(target_family = "wasm")]
mod bindings;
pub mod wire;
