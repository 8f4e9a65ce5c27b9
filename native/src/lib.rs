//! The native host of mock-rest-api: the engine of `mock-rest-core` behind a
//! salvo + tokio HTTP server, as the single binary `mock-rest-api`.
//!
//! # What this crate does
//! - Reads [`Settings`] from flags and the environment: the host's own
//!   (`PORT`, `HOST`, `RUN_LOCAL`, `FIXTURES`, `WATCH`, `DATA_FILE`, `FSYNC`,
//!   `COMPACT_AFTER_BYTES`, `MAX_CONNECTIONS`, `BODY_TIMEOUT_SECS`, `RULES`)
//!   and the engine's, whose names, defaults, checks and help come from the
//!   core's table (`mock_rest_core::SETTINGS`, `MAX_NAMESPACES` among them).
//!   A bad value stops the start with a message naming it; a setting with no
//!   effect is a warning in the log. A file the settings name (fixtures,
//!   rules, the data file) is read only up to twice `MAX_STORE_BYTES`; a
//!   larger one stops the start (or, on `--watch`, is not loaded), naming the
//!   file and the bound.
//! - Binds, serves HTTP/1.1 and HTTP/2 (cleartext), logs one line per request
//!   in `tracing_subscriber`'s format under `RUST_LOG`'s filter (through a
//!   queue to a thread of its own; the binary writes request lines into it
//!   directly, see [`log`]), and on SIGTERM or SIGINT stops accepting and lets
//!   in-flight requests finish.
//! - Runs the core's loop: each request becomes a `mock_rest_core::Request`,
//!   goes through the `Endpoint` (behind one lock, held only while the
//!   endpoint runs), and its effects are carried out in order: a namespace's
//!   files made or removed, changes appended to its journal, events queued
//!   and their streams woken, the request sent to `PROXY_TARGET` (hyper's
//!   client, `http://` and `https://` through rustls) and the answer handed
//!   back, the delay waited on a tokio timer (other requests go on), then the
//!   answer written as it is, or the connection dropped for a rule's `reset`
//!   fault (HTTP/2: the stream reset). The clock and random ids are supplied
//!   here.
//! - Writes the change feed's streams: each `/__admin/events` stream is a
//!   streaming response that sends what the endpoint queued for it when it is
//!   woken, and a keep-alive every 15 s.
//! - With `--data FILE`, keeps every namespace durable: a snapshot file plus an
//!   fsync'd, checksummed journal with group commit and compaction (see
//!   [`durable`]). A write the disk refuses answers `503` and is rolled back;
//!   a damaged journal stops the start unless `--repair` (`REPAIR`) is given.
//! - Enforces the host's own limits: connections (`MAX_CONNECTIONS`), the
//!   time a request body may take to arrive (`BODY_TIMEOUT_SECS`, then `408`),
//!   and the timeouts that free a connection held without use
//!   (`IDLE_TIMEOUT_SECS`, `HEADER_TIMEOUT_SECS`, `WRITE_TIMEOUT_SECS`).
//! - Reads request bodies by the core's rules (`BodyCollector`): a body that
//!   did not arrive whole gets `400`, an unknown transfer coding `501`, and
//!   neither reaches the endpoint. Every error the host answers itself is
//!   built by the core (`Endpoint::error_response`).
//! - Keeps what it does only to be fast in one module, each piece with the
//!   figure that justifies it (`src/fast/`).
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
mod fast;
mod feed;
mod files;
pub mod healthcheck;
mod hosted;
mod proxy;
mod settings;
mod state;
mod storage;
mod supply;
mod write_back;

pub use api::Api;
pub use durable::{Durable, FsyncMode};
pub use fast::log;
pub use settings::Settings;
pub use supply::{unix_now, OsIds};

use files::FileError;
use mock_rest_core::{Config, Effect, Endpoint, Seed, SeedPart, DEFAULT_NAMESPACE};
use salvo::conn::{Acceptor, TcpListener};
use salvo::fuse::FuseConfig;
use salvo::prelude::*;
use state::{lock, Hosted, Shared};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use storage::{DataFiles, Stores};

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

/// The endpoint and its files: what every connection shares.
#[derive(Clone)]
pub struct App {
    shared: Shared,
    body_timeout: Duration,
}

/// Reads a file the settings name, within `config`'s bound
/// ([`Config::max_file_bytes`](mock_rest_core::Config::max_file_bytes)); a
/// missing, unreadable or larger one stops the start, naming the setting,
/// the file and the reason.
fn read_named(path: &Path, setting: &str, config: &Config) -> Result<Vec<u8>, StartError> {
    files::read_bounded(path, config.max_file_bytes()).map_err(|err| {
        StartError::Settings(format!(
            "{setting}: {} {}",
            path.display(),
            file_error(&err, config)
        ))
    })
}

/// Why a file of the settings was not read, in the words after its name.
fn file_error(err: &FileError, config: &Config) -> String {
    match err {
        FileError::Io(err) => format!("cannot be read: {err}"),
        FileError::TooLarge => format!("is {}", config.file_too_large()),
    }
}

/// Reads the OpenAPI document, at most `MAX_DOCUMENT_BYTES` of it: a larger
/// file (or one that never ends) stops the start before it is read whole.
fn read_document(path: &Path, setting: &str) -> Result<Vec<u8>, StartError> {
    let limit = mock_rest_core::spec::MAX_DOCUMENT_BYTES;
    files::read_bounded(path, limit).map_err(|err| {
        let why = match err {
            FileError::Io(err) => format!("cannot be read: {err}"),
            FileError::TooLarge => {
                format!("is larger than {limit} bytes, the most an OpenAPI document may be")
            }
        };
        StartError::Settings(format!("{setting}: {} {why}", path.display()))
    })
}

impl App {
    /// The endpoint the settings describe: `default` from the fixtures, or
    /// with `--data` loaded from the data file and its journal (whole, or not
    /// at all) and made durable, with every namespace stored beside it.
    pub fn open(settings: &Settings) -> Result<Self, StartError> {
        let (config, warnings) = settings.engine_config().map_err(StartError::Settings)?;
        for warning in settings.warnings.iter().chain(&warnings) {
            tracing::warn!("{warning}");
        }
        let started = unix_now();
        let rules_setting = settings
            .rules_file
            .as_ref()
            .map(|path| (path, format!("RULES={} (--rules)", path.display())));
        let fixtures_setting = settings
            .fixtures
            .as_ref()
            .map(|path| (path, format!("FIXTURES={} (--fixtures)", path.display())));
        let openapi_setting = settings
            .openapi
            .as_ref()
            .map(|path| (path, format!("OPENAPI={} (--openapi)", path.display())));
        let openapi = match &openapi_setting {
            Some((path, setting)) => Some(read_document(path, setting)?),
            None => None,
        };
        let rules = match &rules_setting {
            Some((path, setting)) => Some(read_named(path, setting, &config)?),
            None => None,
        };
        let fixtures = match &fixtures_setting {
            Some((path, setting)) => Some(read_named(path, setting, &config)?),
            None => None,
        };
        let seeded = fixtures.is_some();
        let seed = Seed {
            fixtures,
            rules,
            openapi,
        };
        let mut endpoint = Endpoint::new(config, seed.clone(), Box::<OsIds>::default(), started)
            .map_err(|err| {
                let setting = match err.part {
                    SeedPart::Rules => rules_setting.as_ref().map(|(_, s)| s.as_str()),
                    SeedPart::Fixtures => fixtures_setting.as_ref().map(|(_, s)| s.as_str()),
                    SeedPart::OpenApi => openapi_setting.as_ref().map(|(_, s)| s.as_str()),
                };
                StartError::Settings(format!("{}: {err}", setting.unwrap_or("the seed")))
            })?;
        let json_server = endpoint.config().json_server;
        let write_back = match (&settings.fixtures, json_server) {
            (Some(path), true) => {
                tracing::info!(
                    "JSON_SERVER: {}: every change of the data is written back into it, as json-server does",
                    path.display()
                );
                Some(Arc::new(write_back::WriteBack::new(path.clone())))
            }
            _ => None,
        };
        if let (Some(fixtures), false) = (&seed.fixtures, json_server) {
            if let Some(hint) = mock_rest_core::json_server_hint(fixtures) {
                tracing::info!("{hint}");
            }
        }
        for (path, what) in [
            (&settings.rules_file, "rules"),
            (&settings.fixtures, "fixtures"),
        ] {
            if what == "fixtures" && write_back.is_some() {
                continue;
            }
            if let Some(path) = path {
                // The Node host's line, word for word.
                tracing::info!(
                    "{what}: {}, read only: it will not be written",
                    path.display()
                );
            }
        }
        if let Some(path) = &settings.openapi {
            tracing::info!(
                "openapi: {}, its paths are served (validated, with state); read only",
                path.display()
            );
        }
        let data = settings.data_file.as_ref().map(|file| DataFiles {
            file: file.clone(),
            fsync: settings.fsync,
            compact_after: settings.compact_after_bytes,
            repair: settings.repair,
        });
        if let Some(data) = &data {
            tracing::info!(
                "data: {}, durable: it will be written (with {} and, for other namespaces, {})",
                data.file.display(),
                durable::journal_path(&data.file).display(),
                data.folder().display()
            );
        }
        let durable = data.is_some();
        let mut stores = Stores::new(data, seeded);
        open_stored(&mut endpoint, &mut stores, DEFAULT_NAMESPACE, started)?;
        if !seeded {
            // No fixtures: what the data file held at start is the seed.
            if let Some(engine) = endpoint.engine_mut(DEFAULT_NAMESPACE) {
                engine.mark_initial();
                if durable {
                    let held = Seed {
                        fixtures: Some(engine.snapshot()),
                        ..seed.clone()
                    };
                    endpoint
                        .set_seed(held)
                        .map_err(|err| StartError::Data(err.to_string()))?;
                }
            }
        }
        let names = stores.stored_names().map_err(StartError::Data)?;
        for name in &names {
            open_stored(&mut endpoint, &mut stores, name, started)?;
        }
        if !names.is_empty() {
            tracing::info!("loaded {} namespaces", names.len() + 1);
        }
        let mut hosted = Hosted::new(endpoint, stores);
        hosted.write_back = write_back;
        Ok(Self {
            shared: Arc::new(Mutex::new(hosted)),
            body_timeout: Duration::from_secs(settings.body_timeout_secs),
        })
    }

    /// The route tree: every path and method goes to the one [`Api`] handler,
    /// because the endpoint does the routing.
    pub fn router(&self) -> Router {
        Router::with_path("{**path}").goal(Api::new(Arc::clone(&self.shared), self.body_timeout))
    }

    /// In durable mode: compacts every namespace (so the journals are empty)
    /// and stops their journal threads. Returns whether everything was saved.
    pub async fn close(&self) -> bool {
        let durables: Vec<(String, Arc<Durable>)> = lock(&self.shared)
            .stores
            .all()
            .map(|(name, durable)| (name.clone(), Arc::clone(durable)))
            .collect();
        let mut saved = true;
        for (name, durable) in durables {
            saved &= hosted::compact_now(&self.shared, &name, &durable).await;
            durable.close();
        }
        saved
    }

    /// The settings every namespace runs with.
    fn app_name_version(&self) -> (String, String) {
        let hosted = lock(&self.shared);
        let config = hosted.endpoint.config();
        (config.app_name.clone(), config.app_version.clone())
    }
}

/// Makes a namespace at start and loads its files (or writes its seed as its
/// first snapshot), whole or the start stops.
fn open_stored(
    endpoint: &mut Endpoint,
    stores: &mut Stores,
    name: &str,
    now: Duration,
) -> Result<(), StartError> {
    let output = endpoint.open(name, now).map_err(|err| {
        StartError::Data(format!(
            "namespace {name} cannot be loaded: {}",
            err.message()
        ))
    })?;
    for effect in output {
        if let Effect::Open { namespace, .. } = effect {
            if let Some(engine) = endpoint.engine_mut(&namespace) {
                stores
                    .open(&namespace, engine, true)
                    .map_err(StartError::Data)?;
            }
            endpoint.loaded(&namespace);
        }
    }
    Ok(())
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
    let (name, version) = app.app_name_version();
    for addr in acceptor
        .holdings()
        .iter()
        .filter_map(|h| h.local_addr.clone().into_std())
    {
        tracing::info!("{name} {version} listening on http://{addr}");
    }
    if let (true, Some(path)) = (settings.watch, &settings.fixtures) {
        // The file as it is now is what a change is seen against, taken before
        // the log says it is watched: a change after that line is never missed.
        let baseline = Baseline::now(&app.shared, path);
        tokio::spawn(watch(Arc::clone(&app.shared), path.clone(), baseline));
        tracing::info!("--watch: watching {} for changes", path.display());
    }
    tokio::spawn(fast::timers::keep_timers_due());
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

/// How often `--watch` looks at the fixtures file.
const WATCH_EVERY: Duration = Duration::from_millis(200);

/// What `--watch` compares to see a change: the file's modification time,
/// length and (on Unix) inode, so that a file an editor replaces is seen as
/// well as one rewritten in place.
fn file_stamp(path: &Path) -> Option<(std::time::SystemTime, u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.modified().ok()?, meta.len(), inode))
}

/// What `--watch` compares the fixtures file with: its stamp and bytes.
struct Baseline {
    stamp: Option<(std::time::SystemTime, u64, u64)>,
    bytes: Vec<u8>,
}

impl Baseline {
    /// The file as it is now (no bytes if it cannot be read within the bound).
    fn now(shared: &Shared, path: &Path) -> Self {
        let limit = lock(shared).endpoint.config().max_file_bytes();
        Self {
            stamp: file_stamp(path),
            bytes: files::read_bounded(path, limit).unwrap_or_default(),
        }
    }
}

/// `--watch`: polls the fixtures file and, when its bytes change from
/// `baseline`, loads it whole (resetting every namespace to it) or, if it is
/// not valid, logs why and keeps the running stores. Polling needs no watcher
/// of the OS, and sees a file replaced by rename as well as one rewritten.
async fn watch(shared: Shared, path: PathBuf, baseline: Baseline) {
    let config = lock(&shared).endpoint.config().clone();
    let limit = config.max_file_bytes();
    let Baseline {
        mut stamp,
        bytes: mut last,
    } = baseline;
    let mut every = tokio::time::interval(WATCH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let now = file_stamp(&path);
        if now == stamp {
            continue;
        }
        stamp = now;
        let bytes = match files::read_bounded(&path, limit) {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::warn!(
                    "--watch: {} {}; the running store is kept",
                    path.display(),
                    file_error(&err, &config)
                );
                continue;
            }
        };
        if bytes == last {
            continue;
        }
        let writes_back = lock(&shared).write_back.is_some();
        if writes_back && hosted::database_file(&shared).is_some_and(|held| held == bytes) {
            // The preset's own write of the data as it is: nothing to load.
            last = bytes;
            continue;
        }
        match hosted::reload(&shared, bytes.clone()).await {
            Ok(()) => {
                last = bytes;
                tracing::info!(
                    "--watch: loaded {}; every namespace starts again from it",
                    path.display()
                );
            }
            Err(err) => tracing::warn!(
                "--watch: {} is not loaded: {err}; the running store is kept",
                path.display()
            ),
        }
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
