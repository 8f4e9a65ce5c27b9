//! The native host of mock-rest-api: the engine of `mock-rest-core` behind a
//! salvo + tokio HTTP server, as the single binary `mock-rest-api`.
//!
//! # What this crate does
//! - Reads [`Settings`] from flags and the environment: the host's own
//!   (`PORT`, `HOST`, `RUN_LOCAL`, `DATA_FILE`, `FSYNC`, `COMPACT_AFTER_BYTES`,
//!   `MAX_CONNECTIONS`, `BODY_TIMEOUT_SECS`, `RULES`) and the engine's, whose names,
//!   defaults, checks and help come from the core's table
//!   (`mock_rest_core::SETTINGS`). A bad value stops the start with a message
//!   naming it; a setting with no effect is a warning in the log.
//! - Binds, serves HTTP/1.1 and HTTP/2 (cleartext), logs one line per request
//!   with `tracing` (through a queue to a thread of its own, see [`log`]), and on SIGTERM or SIGINT stops accepting and lets
//!   in-flight requests finish.
//! - Moves bytes: each request becomes a `mock_rest_core::Request`, the
//!   engine's response is written back as it is, with the clock and random ids
//!   supplied here, after the delay the engine asks for (a tokio timer, so
//!   other requests go on meanwhile).
//! - Acts on a rule's fault: `"reset"` closes the connection without an
//!   answer (HTTP/2: resets the stream). With `--rules FILE`, starts with
//!   the rules of that file.
//!
//! - With `--data FILE`, keeps the store durable: a snapshot file plus an
//!   fsync'd, checksummed journal with group commit and compaction (see
//!   [`durable`]). A write the disk refuses answers `503` and is rolled back;
//!   a damaged journal stops the start unless `--repair` (`REPAIR`) is given.
//! - Enforces the host's own limits: connections (`MAX_CONNECTIONS`), the
//!   time a request body may take to arrive (`BODY_TIMEOUT_SECS`, then `408`),
//!   and the timeouts that free a connection held without use
//!   (`IDLE_TIMEOUT_SECS`, `HEADER_TIMEOUT_SECS`, `WRITE_TIMEOUT_SECS`).
//! - Reads request bodies by the core's rules (`BodyCollector`): a body that
//!   did not arrive whole gets `400`, an unknown transfer coding `501`, and
//!   neither reaches the engine. Every error the host answers itself is built
//!   by the core (`Engine::error_response`).
//!
//! # What it does not do
//! Decide anything about the API: routes, status codes, messages and headers
//! all come from `mock-rest-core`, so every host answers the same.
//!
//! # Example
//! ```
//! use mock_rest_api::{App, Settings};
//! use salvo::prelude::*;
//! use salvo::test::{ResponseExt, TestClient};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let settings = Settings::parse_from(["mock-rest-api"]);
//! let service = Service::new(App::open(&settings).unwrap().router());
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
pub mod durable;
pub mod healthcheck;
pub mod log;
mod settings;

pub use api::{unix_now, Api, OsIds, SharedEngine};
pub use durable::{Durable, FsyncMode};
pub use settings::Settings;

use api::lock;
use mock_rest_core::Engine;
use salvo::conn::{Acceptor, TcpListener};
use salvo::fuse::FuseConfig;
use salvo::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a graceful shutdown waits for in-flight requests: longer than the
/// longest mock delay, so a delayed request still gets its answer.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(35);

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// A setting cannot be taken, or settings cannot work together (the
    /// message names them).
    Settings(String),
    /// The data file or its journal could not be read, or is not a valid snapshot.
    Data(String),
    /// Binding or serving failed.
    Server(salvo::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Settings(message) | Self::Data(message) => f.write_str(message),
            Self::Server(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for StartError {}

/// The engine and, in durable mode, its files: what every connection shares.
#[derive(Clone)]
pub struct App {
    /// The engine.
    pub engine: SharedEngine,
    /// The snapshot and journal, with `--data`.
    pub durable: Option<Arc<Durable>>,
    body_timeout: Duration,
}

impl App {
    /// The engine the settings describe; with `--data`, loaded from the
    /// snapshot and its journal (whole, or not at all) and made durable.
    pub fn open(settings: &Settings) -> Result<Self, StartError> {
        let (config, warnings) = settings.engine_config().map_err(StartError::Settings)?;
        for warning in settings.warnings.iter().chain(&warnings) {
            tracing::warn!("{warning}");
        }
        let mut engine = Engine::new(config, Box::new(OsIds), unix_now());
        if let Some(path) = &settings.rules_file {
            let named = |reason: String| {
                StartError::Settings(format!("RULES={} (--rules): {reason}", path.display()))
            };
            let bytes = std::fs::read(path).map_err(|err| named(err.to_string()))?;
            let count = engine
                .load_rules(&bytes)
                .map_err(|err| named(err.message()))?;
            tracing::info!("{count} rules loaded from {}", path.display());
        }
        let durable = match &settings.data_file {
            Some(path) => Some(Arc::new(
                Durable::open(
                    path,
                    &mut engine,
                    settings.fsync,
                    settings.compact_after_bytes,
                    settings.repair,
                )
                .map_err(StartError::Data)?,
            )),
            None => None,
        };
        Ok(Self {
            engine: Arc::new(Mutex::new(engine)),
            durable,
            body_timeout: Duration::from_secs(settings.body_timeout_secs),
        })
    }

    /// The route tree: every path and method goes to the one [`Api`] handler,
    /// because the engine does the routing.
    pub fn router(&self) -> Router {
        Router::with_path("{**path}").goal(Api::new(
            Arc::clone(&self.engine),
            self.durable.clone(),
            self.body_timeout,
        ))
    }

    /// In durable mode: compacts (so the journal is empty) and stops the
    /// journal thread. Returns whether everything was saved.
    pub async fn close(&self) -> bool {
        let Some(durable) = &self.durable else {
            return true;
        };
        let saved = api::compact_now(&self.engine, durable).await;
        durable.close();
        saved
    }
}

/// Loads the data, binds the configured address, serves until SIGTERM or
/// SIGINT, lets in-flight requests finish, then compacts.
pub async fn serve(settings: Settings) -> Result<(), StartError> {
    check_timeouts(&settings)?;
    let app = App::open(&settings)?;
    let acceptor = TcpListener::new(settings.bind_addr())
        .try_bind()
        .await
        .map_err(StartError::Server)?;
    for addr in acceptor
        .holdings()
        .iter()
        .filter_map(|h| h.local_addr.clone().into_std())
    {
        let engine = lock(&app.engine);
        let config = engine.config();
        tracing::info!(
            "{} {} listening on http://{addr}",
            config.app_name,
            config.app_version
        );
    }
    let server = Server::new(acceptor)
        .max_connections(settings.max_connections)
        .fuse_config(connection_timeouts(&settings));
    let handle = server.handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        handle.stop_graceful(SHUTDOWN_GRACE);
    });
    server
        .try_serve(app.router())
        .await
        .map_err(|err| StartError::Server(err.into()))?;
    if app.close().await {
        tracing::info!("stopped");
        Ok(())
    } else {
        Err(StartError::Data(
            "the store could not be saved at shutdown".to_owned(),
        ))
    }
}

/// The timeouts that free a connection slot a client holds without using it:
/// `IDLE_TIMEOUT_SECS` (nothing read or written, HTTP/1.1 and HTTP/2),
/// `HEADER_TIMEOUT_SECS` (an HTTP/1.1 request head that does not arrive) and
/// `WRITE_TIMEOUT_SECS` (a client that does not read its answers).
fn connection_timeouts(settings: &Settings) -> FuseConfig {
    FuseConfig::default()
        .with_connection_idle_timeout(Duration::from_secs(settings.idle_timeout_secs))
        .with_http1_header_timeout(Duration::from_secs(settings.header_timeout_secs))
        .with_write_stall_timeout(Duration::from_secs(settings.write_timeout_secs))
}

/// Refuses an idle timeout that would cut every answer delayed by `DELAY_MS`.
fn check_timeouts(settings: &Settings) -> Result<(), StartError> {
    let (config, _) = settings.engine_config().map_err(StartError::Settings)?;
    let delay_ms = config.default_delay.as_millis();
    if u128::from(settings.idle_timeout_secs) * 1000 <= delay_ms {
        return Err(StartError::Settings(format!(
            "IDLE_TIMEOUT_SECS ({} s) must be longer than DELAY_MS ({delay_ms} ms): a connection silent that long is closed before its answer",
            settings.idle_timeout_secs
        )));
    }
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
