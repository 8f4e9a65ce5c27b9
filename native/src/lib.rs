//! The native host of mock-rest-api: the engine of `mock-rest-core` behind a
//! salvo + tokio HTTP server, as the single binary `mock-rest-api`.
//!
//! # What this crate does
//! - Reads [`Settings`] from flags and the environment (`PORT`, `HOST`,
//!   `RUN_LOCAL`, `APP_NAME`, `APP_VERSION`, `MAX_BODY_BYTES`).
//! - Binds, serves HTTP/1.1 and HTTP/2 (cleartext), logs one line per request
//!   with `tracing`, and on SIGTERM or SIGINT stops accepting and lets
//!   in-flight requests finish.
//! - Moves bytes: each request becomes a `mock_rest_core::Request`, the
//!   engine's response is written back as it is, with the clock and random ids
//!   supplied here.
//!
//! # What it does not do
//! Decide anything about the API: routes, status codes, messages and headers
//! all come from `mock-rest-core`, so every host answers the same. It keeps the
//! store in memory only.
//!
//! # Example
//! ```
//! use mock_rest_api::{router, Settings};
//! use clap::Parser;
//! use salvo::prelude::*;
//! use salvo::test::{ResponseExt, TestClient};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let settings = Settings::parse_from(["mock-rest-api"]);
//! let service = Service::new(router(&settings));
//! let mut res = TestClient::post("http://127.0.0.1/api/persons")
//!     .raw_json(r#"{"name":"Ada"}"#)
//!     .send(&service)
//!     .await;
//! assert_eq!(res.status_code, Some(StatusCode::OK));
//! assert!(res.take_string().await.unwrap().starts_with(r#"{"name":"Ada","_id":""#));
//! # });
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod settings;

pub use api::{unix_now, Api, OsIds, SharedEngine};
pub use settings::Settings;

use mock_rest_core::Engine;
use salvo::conn::{Acceptor, TcpListener};
use salvo::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a graceful shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The route tree: every path and method goes to the one [`Api`] handler,
/// because the engine does the routing.
pub fn router(settings: &Settings) -> Router {
    let engine = Engine::new(settings.engine_config(), Box::new(OsIds), unix_now());
    Router::with_path("{**path}").goal(Api::new(Arc::new(Mutex::new(engine))))
}

/// Binds the configured address, serves until SIGTERM or SIGINT, then drains.
pub async fn serve(settings: Settings) -> Result<(), salvo::Error> {
    let acceptor = TcpListener::new(settings.bind_addr()).try_bind().await?;
    for addr in acceptor
        .holdings()
        .iter()
        .filter_map(|h| h.local_addr.clone().into_std())
    {
        tracing::info!(
            "{} {} listening on http://{addr}",
            settings.app_name,
            settings.app_version
        );
    }
    let server = Server::new(acceptor);
    let handle = server.handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        handle.stop_graceful(SHUTDOWN_GRACE);
    });
    server.try_serve(router(&settings)).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {},
                    _ = terminate.recv() => {},
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
