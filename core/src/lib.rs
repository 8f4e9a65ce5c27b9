//! The engine of mock-rest-api: the whole HTTP contract as a pure function of
//! a request, the current time and the store.
//!
//! # In scope
//! - Routing from one table ([`ROUTES`]): `/`, `/health`, `/openapi.json`,
//!   `/api/{resource}`, `/api/{resource}/{id}`, the nested
//!   `/api/{parent}/{id}/{children}` and `/__admin/*`, with `HEAD`,
//!   `OPTIONS`, `405` + `Allow`, trailing slashes and JSON `404`s. The OpenAPI
//!   3.1 document is generated from the same table.
//! - Validating input: resource names, URI and body size, JSON syntax (with
//!   line and column), nesting depth and shape, store limits (items, types and
//!   bytes of item text) and the bounds of a list query ([`MAX_SORT_KEYS`] and
//!   its neighbours). Every failure is a 4xx (or `507`) with `{"message"}`,
//!   from one error type ([`ApiError`]).
//! - The store: creation order, O(1) get, replace and delete by id, pages found
//!   in O(log n), and items echoed byte for byte as they were stored (numbers
//!   keep their text, keys their order, strings their escapes). Ids live under
//!   the key `ID_FIELD` names (`_id` by default) and are strings or integers,
//!   one kind per type; a type with integer ids gives a new item the next
//!   integer. A top-level object of a snapshot is a singular resource, read
//!   and changed at `/api/{name}`. Resources live under `API_PREFIX`.
//! - PATCH as JSON Merge Patch, json-server's list queries in both dialects
//!   (0.17's filters, `_like` as a linear-time regular expression, `q`,
//!   `_sort`/`_order`, paging with `X-Total-Count` and `Link`; 1.0's
//!   `field:op=value`, `_sort=-field` and `_per_page` with its envelope), an
//!   unknown `_` parameter refused by name, json-server 0.17's relations
//!   (`_embed`, `_expand`, nested lists and creates, foreign keys from a
//!   type's singular), ETags and conditional requests.
//! - The mock controls: delays (as a [`Duration`](std::time::Duration) in the
//!   [`Outcome`]; the host waits), forced statuses, the request journal (paged
//!   forward with `_since`, refused requests kept apart without bodies),
//!   snapshots, reset to fixtures, and bearer-token access.
//! - Rules set at run time (`/__admin/rules`, [`Engine::load_rules`]): a
//!   request that matches one (method, path pattern, query, headers, JSON
//!   body subset) gets the rule's answer with templates filled in, its delay,
//!   or its fault ([`Outcome::fault`] for a dropped connection), or goes
//!   through to the store with the rule's delay and headers.
//! - Proxy and record (`PROXY_TARGET`, `RECORD`): which requests go to the
//!   target and with which headers ([`Outcome::forward`], [`Forward`]), and
//!   what the target's answer, or its failure ([`Upstream`]), becomes
//!   ([`Engine::proxied`]): the answer without hop-by-hop headers, `502`,
//!   `504`, a recorded rule and store items. The host only sends the request.
//! - CORS headers on every response, `*` or an allow-list.
//! - The settings ([`SETTINGS`]): one table with every setting's name,
//!   default, limit, check and help, which every host reads through
//!   ([`Config::from_settings`]), so a value is taken or refused alike
//!   everywhere.
//! - The namespace rule ([`namespace_name`]): the `X-Mock-Namespace` name a
//!   host with many stores picks one by, and its `400` and `507` answers.
//! - Reporting every store change as a [`Change`] that says everything a
//!   persistence layer needs (a new type, a new item after the others, a
//!   replaced item in its place, a forgotten type, a singular resource's new
//!   object, a rule added or used or removed), so a host maps each change to
//!   one storage operation and
//!   rebuilds the same store and rules later with [`Engine::apply`].
//! - The change feed (`/__admin/events`): which event each change becomes,
//!   its sequence number, the ring a reconnecting client replays from (or
//!   `event: gap`), and every event's bytes as Server-Sent Events
//!   ([`Outcome::events`], [`Outcome::subscribe`]); the host only keeps the
//!   streams open and pushes the bytes.
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
//! persists the changes; with `PROXY_TARGET` it also sends the request the
//! outcome asks it to forward. This crate builds for `wasm32-unknown-unknown` and
//! has no host dependencies.
//!
//! # The host loop
//! Every host runs the same straight line: its request in, [`Engine::handle`],
//! the changes persisted before the answer, the delay waited, the response
//! out. A host that cannot persist answers [`ApiError::StorageFailed`]
//! instead, built by the engine so it carries the same headers as any answer.
//! ```
//! use mock_rest_core::{ApiError, Change, Config, Engine, Method, Request, SeededIds};
//! use std::time::Duration;
//!
//! // The host's storage: here a list of changes, natively a journal file,
//! // at the edge SQL rows, in the browser IndexedDB.
//! let mut stored: Vec<Change> = Vec::new();
//! let now = Duration::from_secs(1_700_000_000);
//! let (config, warnings) = Config::default()
//!     .from_settings([("APP_NAME", "shop"), ("MAX_ITEMS", "1000")])
//!     .expect("settings are checked at start; a bad one stops it");
//! assert!(warnings.is_empty());
//! let mut engine = Engine::new(config, Box::new(SeededIds::new(1)), now);
//!
//! // 1. map the host's request in
//! let request = Request::new(Method::Post, "/api/persons")
//!     .with_body(r#"{"first_name":"Darth","age":41.50}"#);
//! // 2. handle it
//! let outcome = engine.handle(&request, now);
//! // 3. persist each change as one storage operation, before answering
//! let persisted = true;
//! stored.extend(outcome.changes.iter().cloned());
//! let response = if persisted {
//!     outcome.response
//! } else {
//!     let mut failed = ApiError::StorageFailed.to_response();
//!     engine.finish(&mut failed, &request);
//!     failed
//! };
//! // 4. wait the delay (a timer, never blocking other requests), 5. write it out
//! assert_eq!(outcome.delay, Duration::ZERO);
//! assert_eq!(response.status, 200);
//! let body = String::from_utf8(response.body).unwrap();
//! assert!(body.starts_with(r#"{"first_name":"Darth","age":41.50,"_id":""#));
//! assert!(matches!(&stored[..], [Change::CreateType { .. }, Change::Create { .. }]));
//!
//! // After a restart, the stored changes rebuild the same store.
//! let mut restarted = Engine::new(Config::default(), Box::new(SeededIds::new(2)), now);
//! for change in &stored {
//!     restarted.apply(change);
//! }
//! assert_eq!(restarted.snapshot(), engine.snapshot());
//!
//! let missing = engine.handle(&Request::new(Method::Get, "/api/persons/nope"), now);
//! assert_eq!(missing.response.status, 404);
//! assert_eq!(missing.response.body, br#"{"message":"Resource nope does not exist."}"#);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod access;
mod body;
mod chunked;
mod collect;
mod config;
mod controls;
mod cors;
mod engine;
mod error;
mod feed;
mod host;
mod ids;
mod index;
mod journal;
mod namespace;
mod number;
mod openapi;
mod pages;
mod proxy;
mod query;
mod relations;
mod request;
mod response;
mod route;
mod rules;
mod select;
mod snapshot;
mod store;
mod text;

pub use access::{redact_query, REDACTED};
pub use body::{nests_within, MAX_DEPTH};
pub use collect::{BodyCollector, Feed, DRAIN_BYTES};
pub use config::{
    AuthScope, Config, Kind, Setting, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ITEMS, DEFAULT_MAX_RULES,
    DEFAULT_MAX_STORE_BYTES, DEFAULT_MAX_SUBSCRIBERS, DEFAULT_MAX_TYPES, DEFAULT_MAX_URI_BYTES,
    DEFAULT_PROXY_TIMEOUT, FEED_BUFFER_BYTES, FEED_BUFFER_EVENTS, FEED_RING_BYTES, FEED_RING_SIZE,
    SETTINGS,
};
pub use controls::MAX_DELAY;
pub use engine::Engine;
pub use error::{ApiError, Framing};
pub use feed::{Event, EventKind, Subscription, KEEP_ALIVE, KEEP_ALIVE_SECS, OVERFLOW};
pub use host::error_response_without_engine;
pub use ids::{plain_key, IdSource, SeededIds, ID_KEY};
pub use journal::DEFAULT_JOURNAL_SIZE;
pub use namespace::{
    namespace_name, request_namespace, DEFAULT_MAX_NAMESPACES, DEFAULT_NAMESPACE,
    MAX_NAMESPACE_BYTES, NAMESPACE_HEADER,
};
pub use pages::Storage;
pub use proxy::{is_hop_by_hop, Forward, Upstream, HOP_BY_HOP, RECORDED_PREFIX};
pub use query::{
    ListQuery, DEFAULT_PAGE_LIMIT, MAX_FILTERS, MAX_FILTER_VALUES, MAX_PATH_SEGMENTS, MAX_PATTERNS,
    MAX_PATTERN_BYTES, MAX_RELATIONS, MAX_SEARCH_BYTES, MAX_SORT_KEYS, PATTERN_SIZE_LIMIT,
};
pub use request::{Method, Request};
pub use response::{Change, Outcome, Response};
pub use route::{
    check_api_prefix, Condition, Operation, Payload, Route, RouteSpec, DEFAULT_API_PREFIX,
    MAX_SEGMENT_BYTES, ROUTES,
};
pub use rules::Fault;
