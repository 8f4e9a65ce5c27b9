//! Namespaces: one engine per `X-Mock-Namespace` (the core's name rule), each
//! with its own lock and, with `--data`, its own snapshot and journal.
//!
//! # The seed
//! Every new namespace starts from the seed, and `POST /__admin/reset`
//! returns to it: the fixtures (`--fixtures`), or else, with `--data`, what
//! the data file held when the server started (after its journal), or else
//! an empty store; plus the rules of `--rules`. `--watch` replaces the seed
//! and resets every namespace to it.
//!
//! # Files (with `--data FILE`)
//! - `default` lives in `FILE` and `FILE.journal`, as before namespaces.
//! - Namespace `NAME` lives in `FILE.namespaces/NAME.json` and
//!   `FILE.namespaces/NAME.json.journal`, written as `default`'s are (see
//!   [`crate::durable`]). The folder is made with the first such namespace; a
//!   new namespace's snapshot (its seed) is written before it answers.
//! - At start, every namespace found in the folder is loaded (and, with
//!   `--repair`, repaired), each whole or the start stops.
//!
//! # The change feed
//! Each namespace has a feed of its own; `MAX_SUBSCRIBERS` counts the open
//! streams of all of them together.
//!
//! # Locking
//! The map of namespaces is behind a read-write lock taken only to find (or
//! add) a namespace; each engine has a mutex of its own, so requests to
//! different namespaces never wait on each other.

use crate::api::{lock, OsIds, SharedEngine};
use crate::durable::{journal_path, pretty, sync_dir, write_atomically, Durable, FsyncMode};
use crate::feed::FeedHub;
use mock_rest_core::{request_namespace, ApiError, Config, Engine, Request, DEFAULT_NAMESPACE};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// One namespace: its engine and, in durable mode, its files.
pub struct Space {
    /// The engine, locked while it runs.
    pub engine: SharedEngine,
    /// The snapshot and journal, with `--data`.
    pub durable: Option<Arc<Durable>>,
    /// The change feed's delivery to this namespace's open streams.
    pub feed: FeedHub,
}

/// What every new namespace starts from.
#[derive(Clone, Default)]
struct Seed {
    fixtures: Option<Vec<u8>>,
    rules: Option<Vec<u8>>,
}

/// Durable mode's settings.
#[derive(Debug, Clone)]
pub struct DataFiles {
    /// `--data FILE`: the default namespace's snapshot.
    pub file: PathBuf,
    /// `--fsync`.
    pub fsync: FsyncMode,
    /// `--compact-after-bytes`.
    pub compact_after: u64,
    /// `--repair`.
    pub repair: bool,
}

impl DataFiles {
    /// The folder of the namespaces other than `default`: `FILE.namespaces`.
    pub fn folder(&self) -> PathBuf {
        let mut name = self.file.as_os_str().to_owned();
        name.push(".namespaces");
        PathBuf::from(name)
    }

    /// A namespace's snapshot file.
    pub fn snapshot_of(&self, name: &str) -> PathBuf {
        if name == DEFAULT_NAMESPACE {
            self.file.clone()
        } else {
            self.folder().join(format!("{name}.json"))
        }
    }
}

/// What makes a namespace: the engines' settings and the files' place.
struct Maker {
    config: Config,
    started: Duration,
    data: Option<DataFiles>,
    /// Holds the count of open feed streams every namespace's feed shares.
    feeds: FeedHub,
}

/// Every namespace of the server.
pub struct Namespaces {
    maker: Maker,
    default: Arc<Space>,
    seed: RwLock<Seed>,
    spaces: RwLock<BTreeMap<String, Arc<Space>>>,
    max: usize,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl Namespaces {
    /// The namespaces the settings describe: `default`, and with `data` every
    /// namespace its folder holds, each loaded whole. `fixtures` and `rules`
    /// must be valid (the caller checked them, to name their files).
    pub fn open(
        config: Config,
        started: Duration,
        fixtures: Option<Vec<u8>>,
        rules: Option<Vec<u8>>,
        max: usize,
        data: Option<DataFiles>,
    ) -> Result<Self, String> {
        let maker = Maker {
            config,
            started,
            data,
            feeds: FeedHub::new(),
        };
        let mut seed = Seed { fixtures, rules };
        let default = Arc::new(maker.open_space(DEFAULT_NAMESPACE, &seed, true)?);
        if seed.fixtures.is_none() {
            let mut engine = lock(&default.engine);
            // No fixtures: what the data file held at start is the seed.
            engine.mark_initial();
            if maker.data.is_some() {
                seed.fixtures = Some(engine.snapshot());
            }
        }
        let mut spaces = BTreeMap::new();
        spaces.insert(DEFAULT_NAMESPACE.to_owned(), Arc::clone(&default));
        for name in maker.stored_names()? {
            let space = maker.open_space(&name, &seed, true)?;
            spaces.insert(name, Arc::new(space));
        }
        let namespaces = Self {
            maker,
            default,
            seed: RwLock::new(seed),
            spaces: RwLock::new(spaces),
            max,
        };
        let count = read(&namespaces.spaces).len();
        if count > 1 {
            tracing::info!("loaded {count} namespaces");
        }
        if count > max {
            tracing::warn!(
                "the data files hold {count} namespaces, more than MAX_NAMESPACES ({max}): no new one can be made"
            );
        }
        Ok(namespaces)
    }

    /// The namespace a request names, made from the seed if it is new: `400`
    /// for a bad name, `507` past `MAX_NAMESPACES`, `503` when its files
    /// cannot be made.
    pub fn pick(&self, request: &Request) -> Result<Arc<Space>, ApiError> {
        let name = request_namespace(request)?;
        if let Some(space) = read(&self.spaces).get(name) {
            return Ok(Arc::clone(space));
        }
        let mut spaces = write(&self.spaces);
        if let Some(space) = spaces.get(name) {
            return Ok(Arc::clone(space));
        }
        if spaces.len() >= self.max {
            return Err(ApiError::TooManyNamespaces { limit: self.max });
        }
        // Read under the map's lock, so that a reload of the seed (which
        // takes the map after it) resets this namespace too.
        let seed = read(&self.seed).clone();
        let space = self.maker.open_space(name, &seed, false).map_err(|err| {
            tracing::error!("namespace {name} could not be made: {err}");
            ApiError::Unavailable {
                reason: format!("The namespace {name} could not be made: {err}."),
            }
        })?;
        let space = Arc::new(space);
        spaces.insert(name.to_owned(), Arc::clone(&space));
        Ok(space)
    }

    /// The `default` namespace, which always exists.
    pub fn default_space(&self) -> &Arc<Space> {
        &self.default
    }

    /// The answer to a request refused before any namespace takes it, with
    /// the headers every answer carries.
    pub fn refuse(&self, error: &ApiError, request: &Request) -> mock_rest_core::Response {
        lock(&self.default.engine).error_response(error, request)
    }

    /// Every namespace, by name.
    pub fn all(&self) -> Vec<(String, Arc<Space>)> {
        read(&self.spaces)
            .iter()
            .map(|(name, space)| (name.clone(), Arc::clone(space)))
            .collect()
    }

    /// Every namespace's name and item count, for `/health` and `/`.
    pub fn counts(&self) -> Vec<(String, usize)> {
        self.all()
            .into_iter()
            .map(|(name, space)| {
                let count = lock(&space.engine).item_count();
                (name, count)
            })
            .collect()
    }

    /// The largest request body the settings allow, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.maker.config.max_body_bytes
    }

    /// The configuration every engine runs with.
    pub fn config(&self) -> &Config {
        &self.maker.config
    }

    /// `--watch`: makes `fixtures` the seed and resets every namespace to it
    /// (durably, in durable mode); each namespace's open streams get a
    /// `reset` event. Fixtures that are not valid change nothing and say why.
    pub async fn reload(&self, fixtures: Vec<u8>) -> Result<(), String> {
        let seed = Seed {
            fixtures: Some(fixtures),
            ..read(&self.seed).clone()
        };
        // Checked whole before anything changes.
        self.maker.engine(&seed)?;
        let fixtures = seed.fixtures.clone().unwrap_or_default();
        *write(&self.seed) = seed;
        for (name, space) in self.all() {
            let ticket = {
                let mut engine = lock(&space.engine);
                match engine.reload_fixtures(&fixtures) {
                    // Under the lock, as every event: the streams get the engine's order.
                    Ok(events) => space.feed.publish(events),
                    Err(err) => {
                        tracing::error!(
                            "--watch: namespace {name} kept its store: {}",
                            err.message()
                        );
                        continue;
                    }
                }
                space
                    .durable
                    .as_ref()
                    .map(|durable| durable.append(&engine.rebuild_changes()))
            };
            if let (Some(ticket), Some(durable)) = (ticket, &space.durable) {
                if !ticket.wait().await {
                    tracing::error!(
                        "--watch: namespace {name}: the reset could not be saved; it keeps what its files hold"
                    );
                    durable.recover(&mut lock(&space.engine));
                }
            }
        }
        Ok(())
    }
}

impl Maker {
    /// The names of the namespaces the data folder holds, other than `default`.
    fn stored_names(&self) -> Result<Vec<String>, String> {
        let Some(data) = &self.data else {
            return Ok(Vec::new());
        };
        let folder = data.folder();
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(format!("cannot read {}: {err}", folder.display())),
        };
        let mut names = std::collections::BTreeSet::new();
        for entry in entries {
            let entry = entry.map_err(|err| format!("cannot read {}: {err}", folder.display()))?;
            let file = entry.file_name();
            let Some(file) = file.to_str() else { continue };
            let name = file
                .strip_suffix(".json.journal")
                .or_else(|| file.strip_suffix(".json"));
            if let Some(name) = name {
                if name != DEFAULT_NAMESPACE
                    && mock_rest_core::namespace_name(Some(name)) == Ok(name)
                {
                    names.insert(name.to_owned());
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    /// An engine holding the seed (its rules, then its store, which reset restores).
    fn engine(&self, seed: &Seed) -> Result<Engine, String> {
        let mut engine = Engine::new(self.config.clone(), Box::<OsIds>::default(), self.started);
        if let Some(rules) = &seed.rules {
            engine.load_rules(rules).map_err(|err| err.message())?;
        }
        if let Some(fixtures) = &seed.fixtures {
            engine
                .load_fixtures(fixtures)
                .map_err(|err| err.message())?;
        }
        Ok(engine)
    }

    /// A namespace from the seed and, in durable mode, its files: loaded if
    /// they exist, else made from the seed. `at_start`: log as a start does.
    fn open_space(&self, name: &str, seed: &Seed, at_start: bool) -> Result<Space, String> {
        let mut engine = self.engine(seed)?;
        let durable = match &self.data {
            None => None,
            Some(data) => {
                let path = data.snapshot_of(name);
                if !path.exists() && !journal_path(&path).exists() {
                    create_snapshot(&path, &engine, name != DEFAULT_NAMESPACE)?;
                    if at_start && name == DEFAULT_NAMESPACE {
                        tracing::info!(
                            "data: {} did not exist: created it{}",
                            path.display(),
                            if seed.fixtures.is_some() {
                                " from the fixtures"
                            } else {
                                ", empty"
                            }
                        );
                    }
                }
                Some(Arc::new(Durable::open(
                    &path,
                    &mut engine,
                    data.fsync,
                    data.compact_after,
                    data.repair,
                )?))
            }
        };
        Ok(Space {
            engine: Arc::new(Mutex::new(engine)),
            durable,
            feed: self.feeds.sharing_count(),
        })
    }
}

/// Writes a new namespace's first snapshot (its seed), making its folder if
/// `in_folder`.
fn create_snapshot(path: &Path, engine: &Engine, in_folder: bool) -> Result<(), String> {
    if in_folder {
        if let Some(folder) = path.parent() {
            if !folder.exists() {
                std::fs::create_dir_all(folder)
                    .and_then(|()| sync_dir(folder))
                    .map_err(|err| format!("cannot make {}: {err}", folder.display()))?;
                tracing::info!("data: made {} for the namespaces", folder.display());
            }
        }
    }
    write_atomically(path, &pretty(&engine.snapshot()))
        .map_err(|err| format!("cannot write {}: {err}", path.display()))
}
