//! Durable mode: the store kept in a snapshot file plus an append-only journal
//! beside it, so that an acknowledged write survives a crash.
//!
//! # Files
//! - `FILE`: a snapshot, `{"type": [items]}`, the same format as fixtures.
//! - `FILE.journal`: a header line naming the snapshot it continues
//!   (`mock-rest-journal 1 <length> <crc32>`, or `none`), then one line per
//!   request that changed the store or the rules: `<crc32 of the JSON> <JSON
//!   array of changes>`. The snapshot holds items only (it is the fixtures
//!   format), so a compacted journal starts with a record of the rules.
//!
//! # Writing
//! Each outcome's changes are appended to an in-memory buffer while the
//! engine's lock is held, so the journal has the engine's order. One flusher
//! thread writes the buffer and fsyncs it; every writer that arrived during an
//! fsync is covered by the next one (group commit). A handler waits for its
//! record as `--fsync` says: `always` until fsynced, `batch` until written to
//! the OS (fsynced within 100 ms), `off` not at all.
//!
//! # Reading
//! At start the snapshot is loaded and the journal replayed. A record whose
//! checksum or syntax is wrong (a torn write) ends the replay: it and anything
//! after it are cut off and reported. A journal whose header names another
//! snapshot was already compacted into it, and is dropped.
//!
//! # Compaction
//! The snapshot is rendered under the engine lock, then the flusher writes it
//! to `FILE.tmp`, fsyncs and renames it over `FILE`, and only then starts a
//! new journal (also through a temporary file and a rename) that holds the
//! records that arrived meanwhile. A kill at any point leaves either the old
//! snapshot with its whole journal or the new snapshot (and a journal that is
//! dropped or already new); records that arrived meanwhile are acknowledged
//! only once the new journal is durable. A journal that is dropped because it
//! continues an older snapshot still gives its rule changes: the snapshot
//! holds none, and that journal holds the rules as they were when it was
//! compacted.

use mock_rest_core::{Change, Engine};
use serde_json::value::RawValue;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FsyncMode {
    /// After the journal record is fsynced.
    Always,
    /// After it is written to the OS; fsync follows within 100 ms.
    Batch,
    /// At once; written in the background, never fsynced until compaction.
    Off,
}

const HEADER_MAGIC: &str = "mock-rest-journal 1";
const BATCH_FSYNC_EVERY: Duration = Duration::from_millis(100);

/// How far the flusher has got, by record sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Progress {
    written: u64,
    synced: u64,
    failed: bool,
}

/// What the flusher has to do.
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    /// The sequence number of the last record appended.
    appended: u64,
    /// A snapshot to compact to, the record of the rules that starts the new
    /// journal, and how many bytes of `buf` belong before it.
    compaction: Option<(Vec<u8>, Vec<u8>, usize, u64)>,
    stop: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    progress: watch::Sender<Progress>,
    journal_bytes: AtomicU64,
    snapshot_bytes: AtomicU64,
    compacting: AtomicBool,
    compactions: AtomicU64,
}

/// The snapshot file, its journal and the flusher thread.
pub struct Durable {
    shared: Arc<Shared>,
    mode: FsyncMode,
    compact_after: u64,
    flusher: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// A handler's claim on its record: wait on it before answering.
pub struct Ticket {
    seq: u64,
    receiver: watch::Receiver<Progress>,
    mode: FsyncMode,
}

impl Ticket {
    /// Waits until the record is as durable as the mode promises; `false` if
    /// the journal could not be written.
    pub async fn wait(mut self) -> bool {
        let seq = self.seq;
        let mode = self.mode;
        let reached = self
            .receiver
            .wait_for(|p| {
                p.failed
                    || match mode {
                        FsyncMode::Always => p.synced >= seq,
                        FsyncMode::Batch => p.written >= seq,
                        FsyncMode::Off => true,
                    }
            })
            .await;
        reached.is_ok_and(|p| !p.failed)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The journal beside a snapshot file: `FILE.journal`.
pub fn journal_path(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// The journal header for a snapshot's bytes (`None`: no snapshot file).
pub fn header(snapshot: Option<&[u8]>) -> String {
    match snapshot {
        Some(bytes) => format!(
            "{HEADER_MAGIC} {} {:08x}\n",
            bytes.len(),
            crc32fast::hash(bytes)
        ),
        None => format!("{HEADER_MAGIC} none\n"),
    }
}

/// Encodes one outcome's changes as a journal line: one JSON array per change,
/// `["create", resource, id, item]` and so on, by the change's name.
pub fn encode(changes: &[Change]) -> Vec<u8> {
    let quote = |text: &str| serde_json::Value::String(text.to_owned()).to_string();
    let parts: Vec<String> = changes
        .iter()
        .map(|change| match change {
            Change::CreateType { resource } => format!("[\"create_type\",{}]", quote(resource)),
            Change::Create { resource, id, item } => {
                format!("[\"create\",{},{},{item}]", quote(resource), quote(id))
            }
            Change::Replace { resource, id, item } => {
                format!("[\"replace\",{},{},{item}]", quote(resource), quote(id))
            }
            Change::Delete { resource, id } => {
                format!("[\"delete\",{},{}]", quote(resource), quote(id))
            }
            Change::DropType { resource } => format!("[\"drop_type\",{}]", quote(resource)),
            Change::ClearAll => "[\"clear_all\"]".to_owned(),
            Change::PutRule { id, rule } => format!("[\"put_rule\",{},{rule}]", quote(id)),
            Change::DeleteRule { id } => format!("[\"delete_rule\",{}]", quote(id)),
            Change::ClearRules => "[\"clear_rules\"]".to_owned(),
        })
        .collect();
    let json = format!("[{}]", parts.join(","));
    format!("{:08x} {json}\n", crc32fast::hash(json.as_bytes())).into_bytes()
}

/// Decodes one journal line (without its newline), if it is whole and intact.
/// Journals of earlier versions said `put` (create or replace: [`Engine::apply`]
/// treats both alike) and `clear` (a dropped type); they are read too.
pub fn decode(line: &str) -> Option<Vec<Change>> {
    let (crc, json) = line.split_once(' ')?;
    if u32::from_str_radix(crc, 16).ok()? != crc32fast::hash(json.as_bytes()) {
        return None;
    }
    let entries: Vec<Vec<&RawValue>> = serde_json::from_str(json).ok()?;
    let text = |raw: &RawValue| serde_json::from_str::<String>(raw.get()).ok();
    entries
        .into_iter()
        .map(|entry| {
            let (op, args) = entry.split_first()?;
            let op = text(op)?;
            match (op.as_str(), args) {
                ("create_type", [resource]) => Some(Change::CreateType {
                    resource: text(resource)?,
                }),
                ("create", [resource, id, item]) => Some(Change::Create {
                    resource: text(resource)?,
                    id: text(id)?,
                    item: item.get().to_owned(),
                }),
                ("replace" | "put", [resource, id, item]) => Some(Change::Replace {
                    resource: text(resource)?,
                    id: text(id)?,
                    item: item.get().to_owned(),
                }),
                ("delete", [resource, id]) => Some(Change::Delete {
                    resource: text(resource)?,
                    id: text(id)?,
                }),
                ("drop_type" | "clear", [resource]) => Some(Change::DropType {
                    resource: text(resource)?,
                }),
                ("clear_all", []) => Some(Change::ClearAll),
                ("put_rule", [id, rule]) => Some(Change::PutRule {
                    id: text(id)?,
                    rule: rule.get().to_owned(),
                }),
                ("delete_rule", [id]) => Some(Change::DeleteRule { id: text(id)? }),
                ("clear_rules", []) => Some(Change::ClearRules),
                _ => None,
            }
        })
        .collect()
}

/// Writes `bytes` to `path` through a temporary file, fsync and rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path(path);
    let mut file = File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temp, path)?;
    sync_dir(path)
}

fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

impl Durable {
    /// Loads the snapshot at `path` and replays its journal into `engine`,
    /// then starts the flusher. `compact_after` is the least journal size (in
    /// bytes) at which a compaction runs; it also runs once the journal is
    /// larger than the snapshot.
    pub fn open(
        path: &Path,
        engine: &mut Engine,
        mode: FsyncMode,
        compact_after: u64,
    ) -> Result<Self, String> {
        let journal = journal_path(path);
        // Left by a compaction that was killed before its rename: never read.
        let _ = fs::remove_file(temp_path(path));
        let _ = fs::remove_file(temp_path(&journal));

        let mut snapshot = match fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
        };
        if let Some(bytes) = &snapshot {
            let count = engine
                .load_fixtures(bytes)
                .map_err(|err| format!("{}: {}", path.display(), err.message()))?;
            tracing::info!("loaded {count} items from {}", path.display());
        }
        // A fixtures file may lack `_id`s (new ones are drawn at every load) or be
        // laid out by hand. Before the first write refers to those ids, the file
        // is rewritten as the store holds it, so a replay finds the same ids.
        if let Some(bytes) = &snapshot {
            let rendered = engine.snapshot();
            let journal_has_records = fs::read(&journal)
                .map(|j| {
                    j.starts_with(header(Some(bytes)).as_bytes())
                        && j.len() > header(Some(bytes)).len()
                })
                .unwrap_or(false);
            if rendered != *bytes && !journal_has_records {
                write_atomically(path, &rendered)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                tracing::info!(
                    "rewrote {} as the store holds it (ids drawn for items without one)",
                    path.display()
                );
                snapshot = Some(rendered);
            }
        }
        let expected_header = header(snapshot.as_deref());

        let mut keep_journal = false;
        let mut journal_bytes = 0u64;
        match fs::read(&journal) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                if text.starts_with(&expected_header) {
                    keep_journal = true;
                    let mut good = expected_header.len();
                    let mut replayed = 0usize;
                    let mut rest = &text[good..];
                    while !rest.is_empty() {
                        let Some(end) = rest.find('\n') else { break };
                        let Some(changes) = decode(&rest[..end]) else {
                            break;
                        };
                        for change in &changes {
                            engine.apply(change);
                        }
                        replayed += 1;
                        good += end + 1;
                        rest = &rest[end + 1..];
                    }
                    if good < bytes.len() {
                        tracing::warn!(
                            "{}: cut off {} bytes of a torn or corrupt record at byte {good}; \
                             it was never acknowledged",
                            journal.display(),
                            bytes.len() - good
                        );
                        let file = OpenOptions::new()
                            .write(true)
                            .open(&journal)
                            .map_err(|e| format!("cannot open {}: {e}", journal.display()))?;
                        file.set_len(good as u64)
                            .and_then(|()| file.sync_all())
                            .map_err(|e| format!("cannot cut {}: {e}", journal.display()))?;
                    }
                    journal_bytes = good as u64;
                    tracing::info!(
                        "replayed {replayed} journal records from {}",
                        journal.display()
                    );
                } else {
                    // Its items are in the snapshot already; its rules are not.
                    let text = String::from_utf8_lossy(&bytes);
                    let rules = text
                        .lines()
                        .skip(1)
                        .map_while(decode)
                        .flatten()
                        .filter(|change| {
                            matches!(
                                change,
                                Change::PutRule { .. }
                                    | Change::DeleteRule { .. }
                                    | Change::ClearRules
                            )
                        });
                    for change in rules {
                        engine.apply(&change);
                    }
                    tracing::info!(
                        "{} continues an older snapshot (compacted already); starting a new journal",
                        journal.display()
                    );
                }
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(format!("cannot read {}: {err}", journal.display())),
        }
        if !keep_journal {
            // Rules other than those the server started with start the new
            // journal, so that they outlive it too.
            let mut contents = expected_header.clone().into_bytes();
            let rules = engine.rule_changes();
            if !rules.is_empty() {
                contents.extend_from_slice(&encode(&rules));
            }
            write_atomically(&journal, &contents)
                .map_err(|e| format!("cannot write {}: {e}", journal.display()))?;
            journal_bytes = expected_header.len() as u64;
        }
        engine.mark_initial();

        let file = OpenOptions::new()
            .append(true)
            .open(&journal)
            .map_err(|e| format!("cannot open {}: {e}", journal.display()))?;
        let (progress, _) = watch::channel(Progress::default());
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            progress,
            journal_bytes: AtomicU64::new(journal_bytes),
            snapshot_bytes: AtomicU64::new(snapshot.as_ref().map_or(0, |s| s.len() as u64)),
            compacting: AtomicBool::new(false),
            compactions: AtomicU64::new(0),
        });
        let flusher = {
            let shared = Arc::clone(&shared);
            let snapshot_path = path.to_owned();
            std::thread::Builder::new()
                .name("journal-flusher".to_owned())
                .spawn(move || flush_loop(&shared, file, &snapshot_path, &journal, mode))
                .map_err(|e| format!("cannot start the journal thread: {e}"))?
        };
        Ok(Self {
            shared,
            mode,
            compact_after,
            flusher: Mutex::new(Some(flusher)),
        })
    }

    /// Appends an outcome's changes. Call it while holding the engine's lock,
    /// so records keep the engine's order; wait on the ticket after releasing it.
    pub fn append(&self, changes: &[Change]) -> Ticket {
        let record = encode(changes);
        let mut pending = lock(&self.shared.pending);
        pending.buf.extend_from_slice(&record);
        pending.appended += 1;
        let seq = pending.appended;
        drop(pending);
        self.shared.wake.notify_one();
        Ticket {
            seq,
            receiver: self.shared.progress.subscribe(),
            mode: self.mode,
        }
    }

    /// Whether the journal has outgrown the snapshot and no compaction is running.
    pub fn wants_compaction(&self) -> bool {
        let journal = self.shared.journal_bytes.load(Ordering::Relaxed);
        let snapshot = self.shared.snapshot_bytes.load(Ordering::Relaxed);
        journal > self.compact_after.max(snapshot)
            && !self.shared.compacting.load(Ordering::Relaxed)
    }

    /// Starts a compaction to `snapshot` and `rules` (the engine's
    /// [`Engine::rule_changes`], which start the new journal), which the caller
    /// took while holding the engine's lock (so they cover exactly the records
    /// appended so far). Returns a ticket that completes when the compaction
    /// is durable.
    pub fn compact(&self, snapshot: Vec<u8>, rules: &[Change]) -> Ticket {
        let rules = if rules.is_empty() {
            Vec::new()
        } else {
            encode(rules)
        };
        self.shared.compacting.store(true, Ordering::Relaxed);
        let mut pending = lock(&self.shared.pending);
        let before = pending.buf.len();
        // The compaction counts as a record of its own, after those it covers.
        pending.appended += 1;
        let seq = pending.appended;
        pending.compaction = Some((snapshot, rules, before, seq));
        drop(pending);
        self.shared.wake.notify_one();
        Ticket {
            seq,
            receiver: self.shared.progress.subscribe(),
            mode: FsyncMode::Always,
        }
    }

    /// How many compactions have finished.
    pub fn compactions(&self) -> u64 {
        self.shared.compactions.load(Ordering::Relaxed)
    }

    /// Writes and fsyncs what is pending, then stops the flusher thread.
    pub fn close(&self) {
        lock(&self.shared.pending).stop = true;
        self.shared.wake.notify_one();
        if let Some(handle) = lock(&self.flusher).take() {
            let _ = handle.join();
        }
    }
}

fn flush_loop(
    shared: &Shared,
    mut file: File,
    snapshot_path: &Path,
    journal: &Path,
    mode: FsyncMode,
) {
    let mut last_sync = Instant::now();
    let mut unsynced = 0u64;
    let mut failed = false;
    loop {
        let (buf, appended, compaction, stop) = {
            let mut pending = lock(&shared.pending);
            while pending.buf.is_empty() && pending.compaction.is_none() && !pending.stop {
                let timeout = if unsynced > 0 && mode == FsyncMode::Batch {
                    BATCH_FSYNC_EVERY
                } else {
                    Duration::from_secs(3600)
                };
                let (guard, result) = shared
                    .wake
                    .wait_timeout(pending, timeout)
                    .unwrap_or_else(PoisonError::into_inner);
                pending = guard;
                if result.timed_out() && unsynced > 0 {
                    break;
                }
            }
            (
                std::mem::take(&mut pending.buf),
                pending.appended,
                pending.compaction.take(),
                pending.stop,
            )
        };
        if failed {
            shared.progress.send_modify(|p| p.failed = true);
            if stop {
                return;
            }
            continue;
        }
        let result = match compaction {
            None => write_records(
                &mut file,
                &buf,
                mode,
                &mut last_sync,
                &mut unsynced,
                appended,
                shared,
            ),
            Some((snapshot, rules, split, seq)) => {
                let (before, after) = buf.split_at(split.min(buf.len()));
                write_records(
                    &mut file,
                    before,
                    FsyncMode::Always,
                    &mut last_sync,
                    &mut unsynced,
                    seq - 1,
                    shared,
                )
                .and_then(|()| compact_files(snapshot_path, journal, &snapshot, &rules, after))
                .map(|new_file| {
                    file = new_file;
                    unsynced = 0;
                    // The rules' record is not counted: it is part of the
                    // compacted state, and counting it could compact again at once.
                    shared.journal_bytes.store(
                        (header(Some(&snapshot)).len() + after.len()) as u64,
                        Ordering::Relaxed,
                    );
                    shared
                        .snapshot_bytes
                        .store(snapshot.len() as u64, Ordering::Relaxed);
                    shared.compacting.store(false, Ordering::Relaxed);
                    shared.compactions.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        "compacted the journal into {} ({} bytes)",
                        snapshot_path.display(),
                        snapshot.len()
                    );
                    shared.progress.send_modify(|p| {
                        p.written = appended;
                        p.synced = appended;
                    });
                })
            }
        };
        if let Err(err) = result {
            tracing::error!("the journal could not be written: {err}; writes now fail with 503");
            failed = true;
            shared.progress.send_modify(|p| p.failed = true);
        }
        if stop && lock(&shared.pending).buf.is_empty() {
            if unsynced > 0 && !failed {
                let _ = file.sync_data();
            }
            return;
        }
    }
}

fn write_records(
    file: &mut File,
    buf: &[u8],
    mode: FsyncMode,
    last_sync: &mut Instant,
    unsynced: &mut u64,
    upto: u64,
    shared: &Shared,
) -> io::Result<()> {
    if !buf.is_empty() {
        file.write_all(buf)?;
        shared
            .journal_bytes
            .fetch_add(buf.len() as u64, Ordering::Relaxed);
        *unsynced += 1;
    }
    shared
        .progress
        .send_modify(|p| p.written = p.written.max(upto));
    let due = match mode {
        FsyncMode::Always => true,
        FsyncMode::Batch => last_sync.elapsed() >= BATCH_FSYNC_EVERY,
        FsyncMode::Off => false,
    };
    if *unsynced > 0 && due {
        file.sync_data()?;
        *unsynced = 0;
        *last_sync = Instant::now();
    }
    if *unsynced == 0 {
        shared
            .progress
            .send_modify(|p| p.synced = p.synced.max(p.written));
    }
    Ok(())
}

/// Replaces the snapshot, then the journal (the `rules` record, then the
/// `carried` records that arrived during the compaction); returns the new
/// journal opened for appending.
fn compact_files(
    snapshot_path: &Path,
    journal: &Path,
    snapshot: &[u8],
    rules: &[u8],
    carried: &[u8],
) -> io::Result<File> {
    write_atomically(snapshot_path, snapshot)?;
    let mut contents = header(Some(snapshot)).into_bytes();
    contents.extend_from_slice(rules);
    contents.extend_from_slice(carried);
    write_atomically(journal, &contents)?;
    OpenOptions::new().append(true).open(journal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_exactly() {
        let changes = vec![
            Change::ClearRules,
            Change::PutRule {
                id: "r\"1".to_owned(),
                rule: r#"{"id":"r\"1","match":{},"respond":{"status":503,"json":{"n":1.10}},"times":2,"priority":0}"#.to_owned(),
            },
            Change::DeleteRule {
                id: "r\"1".to_owned(),
            },
            Change::ClearAll,
            Change::CreateType {
                resource: "p\"q".to_owned(),
            },
            Change::Create {
                resource: "p\"q".to_owned(),
                id: "a\nb".to_owned(),
                item: r#"{"n":1e400,"s":"\u00e9","_id":"a\nb"}"#.to_owned(),
            },
            Change::Replace {
                resource: "p\"q".to_owned(),
                id: "a\nb".to_owned(),
                item: r#"{"n":2,"_id":"a\nb"}"#.to_owned(),
            },
            Change::Delete {
                resource: "p".to_owned(),
                id: "x".to_owned(),
            },
            Change::DropType {
                resource: "t".to_owned(),
            },
        ];
        let line = encode(&changes);
        assert_eq!(
            line.iter().filter(|&&b| b == b'\n').count(),
            1,
            "one line per record"
        );
        let text = String::from_utf8(line).unwrap();
        assert_eq!(decode(text.trim_end_matches('\n')), Some(changes));
    }

    #[test]
    fn records_of_earlier_versions_are_read() {
        let json = r#"[["put","p","a",{"_id":"a"}],["clear","q"]]"#;
        let line = format!("{:08x} {json}", crc32fast::hash(json.as_bytes()));
        assert_eq!(
            decode(&line),
            Some(vec![
                Change::Replace {
                    resource: "p".to_owned(),
                    id: "a".to_owned(),
                    item: r#"{"_id":"a"}"#.to_owned(),
                },
                Change::DropType {
                    resource: "q".to_owned(),
                },
            ])
        );
    }

    #[test]
    fn damaged_records_are_refused() {
        let text = String::from_utf8(encode(&[Change::ClearAll])).unwrap();
        let line = text.trim_end_matches('\n');
        assert!(decode(&line[..line.len() - 1]).is_none(), "torn");
        assert!(
            decode(&line.replace("clear_all", "clear_alX")).is_none(),
            "corrupt"
        );
        assert!(decode("zzzz [[\"clear_all\"]]").is_none());
        assert!(decode("").is_none());
    }
}
