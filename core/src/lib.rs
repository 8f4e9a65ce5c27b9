//! The engine of mock-rest-api: the whole HTTP contract as a pure function of
//! a request, the current time and the store.
//!
//! # In scope
//! - Routing from one table ([`ROUTES`]): `/`, `/health`, `/openapi.json`,
//!   `/api/{resource}`, `/api/{resource}/{id}` and `/__admin/*`, with `HEAD`,
//!   `OPTIONS`, `405` + `Allow`, trailing slashes and JSON `404`s. The OpenAPI
//!   3.1 document is generated from the same table.
//! - Validating input: resource names, URI and body size, JSON syntax (with
//!   line and column), nesting depth and shape, store limits. Every failure is
//!   a 4xx (or `507`) with `{"message"}`, from one error type ([`ApiError`]).
//! - The store: creation order, O(1) get, replace and delete by id, pages found
//!   in O(log n), and items echoed byte for byte as they were stored (numbers
//!   keep their text, keys their order, strings their escapes).
//! - PATCH as JSON Merge Patch, json-server's list queries (filters, `q`,
//!   `_sort`, paging with `X-Total-Count` and `Link`), ETags and conditional
//!   requests.
//! - The mock controls: delays (as a [`Duration`](std::time::Duration) in the
//!   [`Outcome`]; the host waits), forced statuses, the request journal,
//!   snapshots, reset to fixtures, and bearer-token access.
//! - CORS headers on every response, `*` or an allow-list.
//! - Reporting every store change as a [`Change`], so a host can persist it and
//!   rebuild the same store later with [`Engine::apply`].
//! - The rules for reading a request body ([`BodyCollector`]: the limit, the
//!   drain past it, bodies that did not arrive whole, transfer codings), which
//!   a host drives chunk by chunk, and every answer a host gives itself
//!   ([`Engine::error_response`], [`error_response_without_engine`]), so that
//!   no host writes an error body or a CORS header of its own.
//!
//! # Out of scope
//! Sockets, files, clocks, randomness, threads, timers and async. The host
//! reads the request, passes the time (`now`), supplies random bytes for ids
//! through an [`IdSource`], waits the outcome's delay, writes the response and
//! persists the changes. This crate builds for `wasm32-unknown-unknown` and
//! has no host dependencies.
//!
//! # Example
//! ```
//! use mock_rest_core::{Config, Engine, Method, Request, SeededIds};
//! use std::time::Duration;
//!
//! let now = Duration::from_secs(1_700_000_000);
//! let mut engine = Engine::new(Config::default(), Box::new(SeededIds::new(1)), now);
//!
//! let post = Request::new(Method::Post, "/api/persons")
//!     .with_body(r#"{"first_name":"Darth","age":41.50}"#);
//! let created = engine.handle(&post, now);
//! assert_eq!(created.response.status, 200);
//! assert_eq!(created.changes.len(), 1);
//! let body = String::from_utf8(created.response.body).unwrap();
//! assert!(body.starts_with(r#"{"first_name":"Darth","age":41.50,"_id":""#));
//!
//! let missing = engine.handle(&Request::new(Method::Get, "/api/persons/nope"), now);
//! assert_eq!(missing.response.status, 404);
//! assert_eq!(missing.response.body, br#"{"message":"Resource nope does not exist."}"#);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod collect;
mod controls;
mod engine;
mod error;
mod host;
mod journal;
mod number;
mod openapi;
mod pages;
mod query;
mod request;
mod response;
mod route;
mod select;
mod snapshot;
mod store;
mod text;

pub use body::{ID_KEY, MAX_DEPTH};
pub use collect::{BodyCollector, Feed, DRAIN_BYTES};
pub use controls::MAX_DELAY;
pub use engine::{
    AuthScope, Config, Engine, IdSource, SeededIds, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_TYPES, DEFAULT_MAX_URI_BYTES, SETTING_NAMES,
};
pub use error::{ApiError, Framing};
pub use host::error_response_without_engine;
pub use journal::DEFAULT_JOURNAL_SIZE;
pub use query::{ListQuery, DEFAULT_PAGE_LIMIT};
pub use request::{Method, Request};
pub use response::{Change, Outcome, Response};
pub use route::{Condition, Operation, Payload, Route, RouteSpec, MAX_SEGMENT_BYTES, ROUTES};
pub use store::{Collection, Item, Store};
