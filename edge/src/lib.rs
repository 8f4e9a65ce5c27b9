//! mock-rest-api on Cloudflare's edge: the engine as a Worker and a Durable
//! Object, built for `wasm32-unknown-unknown` with workers-rs.
//!
//! # In scope
//! - The Worker's fetch handler, which sends every request, untouched, to the
//!   Durable Object of its namespace, by the core's rule
//!   (`request_namespace`: a bad name is `400` there). Each namespace is a
//!   store of its own and knows only itself, so its `/health` lists no other
//!   namespace, and `MAX_NAMESPACES` does not bound them.
//! - The Durable Object (`MockStore`, a class the wasm module exports): it
//!   runs an [`Endpoint`] holding its one namespace, loads the store and the
//!   rules from its SQLite storage on the first request after it starts (or,
//!   when nothing was ever stored, stores the seed), carries out the
//!   endpoint's effects in order (each request's changes written there, one
//!   row per item, in one transaction, before the events go out and before
//!   it answers), and waits the delay on a timer.
//! - The settings ([`settings`]): the native server's names (`APP_NAME`,
//!   `API_TOKEN`, `DELAY_MS`, ...) read from the Worker's vars and secrets,
//!   and the seed of every new namespace, the vars `FIXTURES` and `RULES`
//!   ([`settings::seed`]): stored on the namespace's first start, and what
//!   `POST /__admin/reset` returns to.
//! - `PROXY_TARGET`: what the engine asks to forward is sent with the
//!   runtime's `fetch` (`proxy`), and the answer handed back to the engine.
//! - A rule's `reset` fault: a Worker cannot close a connection unanswered,
//!   so the object answers the engine's `502` with half of its body
//!   (`reset`).
//!
//! # Out of scope
//! What the API means: every answer is the engine's, including the ones the
//! Worker gives itself (a body that did not arrive whole, a storage failure,
//! settings that do not work), which the core builds
//! (`Engine::error_response`, `error_response_without_engine`); the body is
//! read by the core's rules (`BodyCollector`).
//! Files (`DATA_FILE`, fixtures and rules files: the seed is vars), and a
//! request journal that outlives the object (it is per object and in memory). Bindings are declared in `wrangler.toml`; the
//! code only names the Durable Object's, `MOCK_STORE`.
//!
//! On the host (x86_64) the crate is only [`settings`], so the workspace's
//! tests and lints cover it; `worker-build` builds the rest (see
//! `wrangler.toml`, `scripts/edge.sh` and `docs/edge.md`).
//!
//! [`Endpoint`]: mock_rest_core::Endpoint

#![warn(missing_docs)]

pub mod settings;

#[cfg(target_family = "wasm")]
mod feed;
#[cfg(target_family = "wasm")]
mod object;
#[cfg(target_family = "wasm")]
mod proxy;
#[cfg(any(target_family = "wasm", test))]
mod reset;
#[cfg(target_family = "wasm")]
mod storage;

/// The Durable Object binding in `wrangler.toml`.
#[cfg(target_family = "wasm")]
const STORE_BINDING: &str = "MOCK_STORE";

/// The Worker: every request goes to its namespace's object, untouched.
#[cfg(target_family = "wasm")]
#[worker::event(fetch)]
async fn fetch(
    req: worker::Request,
    env: worker::Env,
    _ctx: worker::Context,
) -> worker::Result<worker::Response> {
    let request = object::head(&req);
    // The core's namespace rule: a bad name is 400 before any object is reached.
    let name = match mock_rest_core::request_namespace(&request) {
        Ok(name) => name.to_owned(),
        Err(error) => return object::refused(&error, &request),
    };
    match forward(req, &env, &name).await {
        Ok(response) => Ok(response),
        Err(err) => object::unavailable(
            format!("The namespace's Durable Object could not be reached: {err}."),
            &request,
        ),
    }
}

#[cfg(target_family = "wasm")]
async fn forward(
    req: worker::Request,
    env: &worker::Env,
    name: &str,
) -> worker::Result<worker::Response> {
    let stub = env
        .durable_object(STORE_BINDING)?
        .id_from_name(name)?
        .get_stub()?;
    stub.fetch_with_request(req).await
}
