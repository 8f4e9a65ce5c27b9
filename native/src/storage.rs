//! Where namespaces are kept with `--data FILE`: one snapshot and journal
//! per namespace ([`crate::durable`]), made when the endpoint opens a
//! namespace and removed when it drops one.
//!
//! # Files
//! - `default` lives in `FILE` and `FILE.journal`.
//! - Namespace `NAME` lives in `FILE.namespaces/NAME.json` and
//!   `FILE.namespaces/NAME.json.journal`, written as `default`'s are. The
//!   folder is made with the first such namespace; a new namespace's
//!   snapshot (its seed) is written before it answers.
//! - At start, every namespace found in the folder is loaded (and, with
//!   `--repair`, repaired), each whole or the start stops.

use crate::durable::{journal_path, pretty, sync_dir, write_atomically, Durable, FsyncMode};
use mock_rest_core::{namespace_name, Engine, DEFAULT_NAMESPACE};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// Every namespace's files, by name (none without `--data`).
#[derive(Default)]
pub struct Stores {
    data: Option<DataFiles>,
    /// Whether the namespaces start from fixtures (for the start log).
    seeded: bool,
    durables: HashMap<String, Arc<Durable>>,
}

impl Stores {
    /// The files the settings describe: none, or `--data`'s; `seeded`:
    /// the namespaces start from fixtures.
    pub fn new(data: Option<DataFiles>, seeded: bool) -> Self {
        Self {
            data,
            seeded,
            durables: HashMap::new(),
        }
    }

    /// A namespace's snapshot and journal, if it has them.
    pub fn get(&self, name: &str) -> Option<&Arc<Durable>> {
        self.durables.get(name)
    }

    /// Every namespace's files.
    pub fn all(&self) -> impl Iterator<Item = (&String, &Arc<Durable>)> {
        self.durables.iter()
    }

    /// Keeps a namespace just made in its files: loads them into `engine`
    /// when they exist, else writes its seed (`engine`'s store) as its
    /// snapshot first. `at_start`: log as a start does. Nothing without `--data`.
    pub fn open(&mut self, name: &str, engine: &mut Engine, at_start: bool) -> Result<(), String> {
        let Some(data) = &self.data else {
            return Ok(());
        };
        let path = data.snapshot_of(name);
        if !path.exists() && !journal_path(&path).exists() {
            create_snapshot(&path, engine, name != DEFAULT_NAMESPACE)?;
            if at_start && name == DEFAULT_NAMESPACE {
                let from = if self.seeded {
                    " from the fixtures"
                } else {
                    ", empty"
                };
                tracing::info!("data: {} did not exist: created it{from}", path.display());
            }
        }
        let durable = Durable::open(&path, engine, data.fsync, data.compact_after, data.repair)?;
        self.durables.insert(name.to_owned(), Arc::new(durable));
        Ok(())
    }

    /// Forgets a dropped namespace: stops writing its journal and removes
    /// its files.
    pub fn forget(&mut self, name: &str) {
        let (Some(durable), Some(data)) = (self.durables.remove(name), &self.data) else {
            return;
        };
        durable.close();
        let path = data.snapshot_of(name);
        for file in [journal_path(&path), path] {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => {
                    tracing::warn!("namespace {name}: cannot remove {}: {err}", file.display())
                }
            }
        }
        tracing::info!("namespace {name} dropped with its files");
    }

    /// The names of the namespaces the data folder holds, other than `default`.
    pub fn stored_names(&self) -> Result<Vec<String>, String> {
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
                if name != DEFAULT_NAMESPACE && namespace_name(Some(name)) == Ok(name) {
                    names.insert(name.to_owned());
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Whether namespaces are kept in files.
    pub fn durable(&self) -> bool {
        self.data.is_some()
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
