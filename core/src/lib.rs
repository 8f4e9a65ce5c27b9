//! The engine of mock-rest-api: the whole HTTP contract as a pure function of
//! a request, the current time and the store, behind one [`Endpoint`] that
//! every host drives the same way.
//!
//! # In scope
//! - **Namespaces** ([`Endpoint`]): which one a request is for (its
//!   `X-Mock-Namespace` header; the host never reads it), each made from the
//!   [`Seed`] on first use, `MAX_NAMESPACES` of them (a new one takes the
//!   place of the one idle longest), their store bytes bounded together by
//!   `MAX_STORE_BYTES` and their journals and replay rings by
//!   [`limits::HISTORY_BYTES`], `/`, `/health` and `/__admin/namespaces`
//!   answered from their counts.
//! - **The contract of each namespace** ([`Engine`]): routing from one table
//!   (`/`, `/health`, `/openapi.json`, `/api/...`, `/__admin/...`, with `HEAD`,
//!   `OPTIONS`, `405` + `Allow`, trailing slashes and JSON `404`s); input
//!   checked (names, URI and body size, JSON syntax with line and column,
//!   depth, shape, store limits), every failure a 4xx (or `507`) with
//!   `{"message"}` from one error type ([`ApiError`]); the store (creation
//!   order, items echoed byte for byte, ids under `ID_FIELD`, singular
//!   resources); JSON Merge Patch, both json-server query dialects with their
//!   indexes, relations, ETags and conditional requests.
//! - **An OpenAPI document** ([`Seed::openapi`], read by [`spec`]): loaded
//!   once by the endpoint and shared by every namespace, whose engine then
//!   serves the document's paths in place of `/api`: each request routed,
//!   validated and answered as Prism answers, the document's collections kept
//!   in the namespace's store (seeded from `SEED` and `OPENAPI_SEED_ITEMS`),
//!   and with `PROXY_TARGET` each upstream answer checked against it.
//! - **The mock controls**: delays and forced statuses, the request journal,
//!   snapshots and reset, bearer-token access, rules set at run time (matched
//!   in time bounded by their size), the proxy and its recording, CORS.
//! - **The change feed**: which event each change becomes, the ring a client
//!   replays from, and its delivery: which streams want an event, the bytes
//!   waiting for each (bounded; past it `event: overflow`), each event
//!   rendered once and shared ([`Endpoint::read_stream`]).
//! - **The settings** ([`SETTINGS`]): one table with every setting's name,
//!   default, check and help, which every host reads through
//!   ([`Config::from_settings`]).
//! - **Every answer a host gives itself** ([`Endpoint::error_response`],
//!   [`error_response_without_engine`]) and the rules for reading a body
//!   ([`BodyCollector`]), so that no host writes an error or a CORS header.
//!
//! # Out of scope
//! Sockets, files, clocks, randomness, threads, timers and async. The host
//! reads the request, passes the time (`now`), supplies random bytes for ids
//! through an [`IdSource`], and carries out the [`Effect`]s the endpoint asks
//! for: storing changes, waking streams and writing their bytes, sending a
//! request to `PROXY_TARGET`, waiting, answering. This crate builds for
//! `wasm32-unknown-unknown` and has no host dependencies.
//!
//! # The host loop
//! Every host runs the same straight line: its request in,
//! [`Endpoint::handle`], then each [`Effect`] in order, then the answer out.
//! ```
//! use mock_rest_core::{
//!     Change, Config, Effect, Endpoint, Method, Request, Seed, SeededIds, Upstream,
//! };
//! use std::time::Duration;
//!
//! let now = Duration::from_secs(1_700_000_000);
//! let (config, _warnings) = Config::default()
//!     .from_settings([("APP_NAME", "shop")])
//!     .expect("settings are checked at start; a bad one stops it");
//! let mut endpoint = Endpoint::new(config, Seed::default(), Box::new(SeededIds::new(1)), now)
//!     .expect("an empty seed is a good one");
//! // The host's storage: here a list of changes; natively a journal file,
//! // at the edge SQL rows, in the browser IndexedDB.
//! let mut stored: Vec<Change> = Vec::new();
//!
//! // 1. map the host's request in, 2. handle it
//! let request = Request::new(Method::Post, "/api/persons")
//!     .with_body(r#"{"first_name":"Darth","age":41.50}"#);
//! let mut output = endpoint.handle(&request, now);
//! // 3. carry out its effects, in order
//! let answer = loop {
//!     let Some(effect) = output.next() else { panic!("every output ends in an answer") };
//!     match effect {
//!         // A namespace made or dropped: make or remove its storage.
//!         Effect::Open { .. } | Effect::Forget { .. } => {}
//!         // Store the changes before answering (if that fails, answer
//!         // `endpoint.storage_failed(&request)` instead).
//!         Effect::Persist { changes, .. } => stored.extend(changes),
//!         // Then the events, for the open streams: wake those it returns.
//!         Effect::Publish(publication) => drop(endpoint.publish(publication)),
//!         Effect::Wake(_streams) => {}
//!         // PROXY_TARGET: send it, and hand back what came.
//!         Effect::Forward(ticket, _forward) => {
//!             let failed = Upstream::Unreachable { reason: "no network here".into() };
//!             output = endpoint.handle_upstream(ticket, failed, now);
//!         }
//!         // The mock's latency: a timer, never blocking other requests.
//!         Effect::Wait(delay) => assert_eq!(delay, Duration::ZERO),
//!         Effect::Drop(_) => panic!("no rule drops this connection"),
//!         Effect::Respond(response) | Effect::Stream(_, response) => break response,
//!     }
//! };
//! // 4. write it out
//! assert_eq!(answer.status, 200);
//! let body = String::from_utf8(answer.body).unwrap();
//! assert!(body.starts_with(r#"{"first_name":"Darth","age":41.50,"_id":""#));
//! assert!(matches!(&stored[..], [Change::CreateType { .. }, Change::Create { .. }]));
//!
//! // After a restart, the stored changes rebuild the same store.
//! let mut restarted =
//!     Endpoint::new(Config::default(), Seed::default(), Box::new(SeededIds::new(2)), now).unwrap();
//! restarted.open("default", now).unwrap();
//! for change in &stored {
//!     restarted.apply("default", change);
//! }
//! assert_eq!(restarted.snapshot_of("default"), endpoint.snapshot_of("default"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(unreachable_pub)]

mod config;
mod endpoint;
mod engine;
mod error;
mod host;
mod http;
mod json;
mod mock;
mod namespace;
mod pages;
pub mod spec;
mod store;

pub use config::{closest_name, AuthScope, Config, Kind, Setting, JSON_SERVER_PRESET, SETTINGS};
pub use endpoint::output::{Effect, Output, Publication, Ticket};
pub use endpoint::streams::{StreamId, StreamRead};
pub use endpoint::{Endpoint, Seed, SeedError, SeedPart};
pub use engine::{json_server_hint, Engine};
pub use error::{ApiError, Framing};
pub use host::error_response_without_engine;
pub use http::collect::{BodyCollector, Feed};
pub use http::request::{Method, Request};
pub use http::response::{Change, Response};
pub use mock::proxy::{Forward, Upstream};
pub use namespace::{namespace_name, request_namespace, DEFAULT_NAMESPACE, NAMESPACE_HEADER};
pub use pages::Storage;
pub use store::ids::{IdSource, SeededIds};

/// What a host needs to keep an event stream alive.
pub mod feed {
    pub use crate::mock::feed::{KEEP_ALIVE, KEEP_ALIVE_SECS};
}

/// What the API accepts, for a host whose own files must take it back, and
/// what the endpoint bounds.
pub mod limits {
    pub use crate::endpoint::HISTORY_BYTES;
    pub use crate::http::collect::DRAIN_BYTES;
    pub use crate::json::body::{nests_within, MAX_DEPTH};
}

/// The token in a URL: what a host's request log writes in its place.
pub mod token {
    pub use crate::http::access::{redact_query, REDACTED};
}
