//! Durable mode: the store kept in a snapshot file plus an append-only journal
//! beside it, so that an acknowledged write survives a crash.
//!
//! # Files
//! - `FILE`: a snapshot, `{"type": [items]}`, the same format as fixtures,
//!   laid out for people ([`pretty`]: one item per line). Each namespace has
//!   a pair of files of its own (see `storage.rs`) and a `Durable`
//!   of its own.
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
//! group of records as `--fsync` says: `always` until fsynced, `batch` until
//! written to the OS (fsynced within 100 ms), `off` not at all.
//!
//! # When a write fails
//! The engine applies a change before the journal holds it, so a failed write
//! (a full disk, an I/O error) leaves memory ahead of the files. Then:
//! - the group's records, and every record appended after them until the
//!   rollback (they were computed on top of them), fail: their handlers
//!   answer `503`;
//! - the journal is cut back to its last acknowledged byte;
//! - the first handler to see the failure rebuilds the store from the files
//!   ([`Durable::recover`], under the engine's lock, before it answers), which
//!   hold exactly the acknowledged writes. Readers that ran between the
//!   failure and the rebuild may have seen the failed writes;
//! - the next write tries the disk again; `/health` reports the failure
//!   (`"status":"fail"`, `503`) until a write succeeds.
//!
//! A failed compaction loses nothing: the old snapshot and its journal stay,
//! the records go on to the journal, `/health` says `warn`, and the compaction
//! is tried again a second later at the earliest.
//!
//! # Reading
//! See the `replay` module: a torn last record is trimmed, damage stops the
//! start (naming the file and the byte offset) unless `--repair` is given.
//!
//! # Compaction
//! The snapshot is rendered under the engine lock. The flusher writes the new
//! journal (the header of the new snapshot and the records that arrived
//! meanwhile) to `FILE.journal.tmp` and fsyncs it, writes the snapshot to
//! `FILE.tmp`, fsyncs it and renames it over `FILE`, then renames the journal
//! into place. A kill before the snapshot's rename leaves the old snapshot and
//! its journal; a kill after it leaves `FILE.journal.tmp` continuing the new
//! snapshot, which the next start renames into place. Both renames keep the
//! old files' permissions.

mod format;
mod replay;

pub use format::{decode, encode, encode_into, header, journal_path, pretty};

use format::temp_path;
use mock_rest_core::{Change, Engine, Storage};
use std::fs::{self, File, OpenOptions, Permissions};
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

const BATCH_FSYNC_EVERY: Duration = Duration::from_millis(100);
/// How long after a failed compaction the next one may start.
const COMPACTION_RETRY_AFTER: Duration = Duration::from_secs(1);

/// What became of a group of records (or of a compaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Pending,
    Written,
    Synced,
    Failed,
}

/// The fate of the records appended between two takes of the flusher.
type Group = Arc<watch::Sender<Fate>>;

fn new_group() -> Group {
    Arc::new(watch::channel(Fate::Pending).0)
}

/// A compaction waiting for the flusher.
struct Compaction {
    snapshot: Vec<u8>,
    /// The record that starts the new journal with the rules, when they are
    /// not those the server started with (the snapshot holds items only).
    rules: Vec<u8>,
    /// How many bytes of the buffer hold records from before the snapshot.
    split: usize,
    group: Group,
}

/// What the flusher has to do.
struct Pending {
    buf: Vec<u8>,
    /// The buffer the flusher wrote last, emptied, to be `buf` again: records
    /// are appended to a buffer that has grown already.
    spare: Vec<u8>,
    /// The flusher waits for work: an append must wake it. While it writes,
    /// it takes what arrived when it is done, without a wake-up.
    waiting: bool,
    group: Group,
    compaction: Option<Compaction>,
    stop: bool,
    /// A write failed, so memory may hold changes the files lack; nothing more
    /// is written until [`Durable::recover`] has rebuilt the store.
    poisoned: bool,
}

/// The journal file, as the flusher writes it.
struct Files {
    file: File,
    snapshot_path: PathBuf,
    journal_path: PathBuf,
    /// The journal's acknowledged bytes (header included).
    good: u64,
    /// The file may hold bytes past `good`, from a failed write.
    dirty: bool,
    /// A compaction renamed the snapshot but not the new journal, which is
    /// still `FILE.journal.tmp`; `file` is the old journal.
    relink: bool,
}

impl Files {
    /// Makes the file fit to append to: finishes a compaction's last rename,
    /// and cuts off what a failed write left.
    fn ready(&mut self) -> io::Result<()> {
        if self.relink {
            fs::rename(temp_path(&self.journal_path), &self.journal_path)?;
            sync_dir(&self.journal_path)?;
            self.file = OpenOptions::new().append(true).open(&self.journal_path)?;
            self.good = self.file.metadata()?.len();
            self.relink = false;
            self.dirty = false;
        }
        if self.dirty {
            self.file.set_len(self.good)?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Appends records; fsyncs if `sync`. On success they are part of the
    /// acknowledged journal; on failure they are cut off again (now or before
    /// the next write).
    fn append(&mut self, bytes: &[u8], sync: bool) -> io::Result<()> {
        self.ready()?;
        if !bytes.is_empty() {
            self.dirty = true;
            let written = self.file.write_all(bytes);
            let written = written.and_then(|()| if sync { self.file.sync_data() } else { Ok(()) });
            if let Err(err) = written {
                let _ = self.ready();
                return Err(err);
            }
            self.good += bytes.len() as u64;
            self.dirty = false;
        } else if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    files: Mutex<Files>,
    journal_bytes: AtomicU64,
    snapshot_bytes: AtomicU64,
    compacting: AtomicBool,
    compactions: AtomicU64,
    /// When a compaction failed last, to wait before the next.
    compaction_failed_at: Mutex<Option<Instant>>,
    /// The last journal write error and compaction error, for `/health`.
    health: Mutex<(Option<String>, Option<String>)>,
    health_changed: AtomicBool,
}

impl Shared {
    fn set_journal_error(&self, error: Option<String>) {
        let mut health = lock(&self.health);
        if health.0 != error {
            health.0 = error;
            self.health_changed.store(true, Ordering::Release);
        }
    }

    fn set_compaction_error(&self, error: Option<String>) {
        let mut health = lock(&self.health);
        if health.1 != error {
            health.1 = error;
            self.health_changed.store(true, Ordering::Release);
        }
    }

    fn poison(&self) {
        lock(&self.pending).poisoned = true;
    }
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
    fate: watch::Receiver<Fate>,
    mode: FsyncMode,
}

impl Ticket {
    fn failed(mode: FsyncMode) -> Self {
        Self {
            fate: watch::channel(Fate::Failed).1,
            mode,
        }
    }

    /// Waits until the record is as durable as the mode promises; `false` if
    /// the journal could not be written. After `false`, call
    /// [`Durable::recover`] before answering.
    pub async fn wait(mut self) -> bool {
        let mode = self.mode;
        let reached = self
            .fate
            .wait_for(|fate| match fate {
                Fate::Failed | Fate::Synced => true,
                Fate::Written => mode != FsyncMode::Always,
                Fate::Pending => mode == FsyncMode::Off,
            })
            .await;
        reached.is_ok_and(|fate| *fate != Fate::Failed)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes `bytes` to a new file at `path` and fsyncs it, with `permissions`
/// if given.
fn write_synced(path: &Path, bytes: &[u8], permissions: Option<Permissions>) -> io::Result<()> {
    // A file left by an earlier attempt may be read-only.
    let _ = fs::remove_file(path);
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    if let Some(permissions) = permissions {
        file.set_permissions(permissions)?;
    }
    file.sync_all()
}

/// Writes `bytes` to `path` through a temporary file, fsync and rename,
/// keeping the permissions `path` had.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path(path);
    let permissions = fs::metadata(path).ok().map(|meta| meta.permissions());
    let result = write_synced(&temp, bytes, permissions)
        .and_then(|()| fs::rename(&temp, path))
        .and_then(|()| sync_dir(path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Fsyncs the folder that holds `path`, so a new or renamed entry lasts.
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

impl Durable {
    /// Loads the snapshot at `path` and replays its journal into `engine`
    /// (keeping what `POST /__admin/reset` restores: the caller decides it),
    /// then starts the flusher. `compact_after` is the least journal size (in
    /// bytes) at which a compaction runs; it also runs once the journal is
    /// larger than the snapshot. `repair` keeps the intact records of a
    /// damaged journal and sets the damaged bytes aside; without it, damage
    /// stops the start.
    pub fn open(
        path: &Path,
        engine: &mut Engine,
        mode: FsyncMode,
        compact_after: u64,
        repair: bool,
    ) -> Result<Self, String> {
        let loaded = replay::load(path, engine, repair)?;
        let journal = journal_path(path);
        let file = OpenOptions::new()
            .append(true)
            .open(&journal)
            .map_err(|e| format!("cannot open {}: {e}", journal.display()))?;
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending {
                buf: Vec::new(),
                spare: Vec::new(),
                waiting: false,
                group: new_group(),
                compaction: None,
                stop: false,
                poisoned: false,
            }),
            wake: Condvar::new(),
            files: Mutex::new(Files {
                file,
                snapshot_path: path.to_owned(),
                journal_path: journal,
                good: loaded.journal_bytes,
                dirty: false,
                relink: false,
            }),
            journal_bytes: AtomicU64::new(loaded.journal_bytes),
            snapshot_bytes: AtomicU64::new(loaded.snapshot_bytes),
            compacting: AtomicBool::new(false),
            compactions: AtomicU64::new(0),
            compaction_failed_at: Mutex::new(None),
            health: Mutex::new((None, None)),
            health_changed: AtomicBool::new(false),
        });
        let flusher = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("journal-flusher".to_owned())
                .spawn(move || flush_loop(&shared, mode))
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
        let mut pending = lock(&self.shared.pending);
        if pending.poisoned {
            // Made on top of a write that failed: it fails too.
            return Ticket::failed(self.mode);
        }
        // Encoded in place: the flusher holds this lock only to take the buffer.
        encode_into(changes, &mut pending.buf);
        let fate = pending.group.subscribe();
        let wake = pending.waiting;
        drop(pending);
        if wake {
            self.shared.wake.notify_one();
        }
        Ticket {
            fate,
            mode: self.mode,
        }
    }

    /// After a write failed: rebuilds the store from the files, which hold
    /// exactly the acknowledged writes, so that memory keeps no change that
    /// was answered `503`. Call it holding the engine's lock. Does nothing
    /// unless a write failed since the last rebuild.
    pub fn recover(&self, engine: &mut Engine) {
        let mut pending = lock(&self.shared.pending);
        if !pending.poisoned {
            return;
        }
        // Appended since the failure, on top of it: they fail too.
        pending.buf.clear();
        let group = std::mem::replace(&mut pending.group, new_group());
        let compaction = pending.compaction.take();
        drop(pending);
        group.send_replace(Fate::Failed);
        if let Some(compaction) = compaction {
            compaction.group.send_replace(Fate::Failed);
            self.shared.compacting.store(false, Ordering::Relaxed);
        }
        let rebuilt = {
            let mut files = lock(&self.shared.files);
            match files.ready() {
                Ok(()) => replay::rebuild(
                    engine,
                    &files.snapshot_path,
                    &files.journal_path,
                    files.good,
                ),
                Err(err) => Err(format!(
                    "cannot cut {}: {err}",
                    files.journal_path.display()
                )),
            }
        };
        match rebuilt {
            Ok(()) => {
                lock(&self.shared.pending).poisoned = false;
                tracing::warn!(
                    "rolled the store back to what the files hold: the writes answered 503 are undone"
                );
            }
            Err(err) => {
                tracing::error!("could not roll the store back yet: {err}");
                self.shared.set_journal_error(Some(err));
            }
        }
    }

    /// What `/health` should say about storage, if that changed since the last call.
    pub fn storage_changed(&self) -> Option<Option<Storage>> {
        if !self.shared.health_changed.swap(false, Ordering::AcqRel) {
            return None;
        }
        let health = lock(&self.shared.health);
        Some(match &*health {
            (Some(error), _) => Some(Storage::Failing(error.clone())),
            (None, Some(error)) => Some(Storage::Degraded(error.clone())),
            (None, None) => None,
        })
    }

    /// Whether the journal has outgrown the snapshot and no compaction is
    /// running (or failed within the last second).
    pub fn wants_compaction(&self) -> bool {
        let journal = self.shared.journal_bytes.load(Ordering::Relaxed);
        let snapshot = self.shared.snapshot_bytes.load(Ordering::Relaxed);
        journal > self.compact_after.max(snapshot)
            && !self.shared.compacting.load(Ordering::Relaxed)
            && lock(&self.shared.compaction_failed_at)
                .is_none_or(|at| at.elapsed() >= COMPACTION_RETRY_AFTER)
    }

    /// Starts a compaction to `snapshot`, which the caller rendered while
    /// holding the engine's lock (so it covers exactly the records appended so
    /// far). Returns a ticket that completes when the records before it are
    /// durable: in the new snapshot, or in the journal if the compaction failed.
    pub fn compact(&self, snapshot: Vec<u8>, rules: &[Change]) -> Ticket {
        let mut pending = lock(&self.shared.pending);
        if pending.poisoned {
            return Ticket::failed(FsyncMode::Always);
        }
        self.shared.compacting.store(true, Ordering::Relaxed);
        let group = new_group();
        let fate = group.subscribe();
        let split = pending.buf.len();
        pending.compaction = Some(Compaction {
            snapshot,
            rules: if rules.is_empty() {
                Vec::new()
            } else {
                encode(rules)
            },
            split,
            group,
        });
        drop(pending);
        self.shared.wake.notify_one();
        Ticket {
            fate,
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

/// What the flusher took from [`Pending`] in one go.
struct Take {
    buf: Vec<u8>,
    group: Group,
    compaction: Option<Compaction>,
    stop: bool,
    poisoned: bool,
}

/// The most bytes a written buffer may hold to be kept for the next records.
const SPARE_BYTES: usize = 1024 * 1024;

/// Takes what the flusher has to do, waiting for it; `written` is the buffer
/// of the last take, done with, which the next records go to.
fn take(shared: &Shared, unsynced: bool, mode: FsyncMode, written: Vec<u8>) -> Take {
    let mut pending = lock(&shared.pending);
    if written.capacity() <= SPARE_BYTES && pending.spare.capacity() < written.capacity() {
        pending.spare = written;
        pending.spare.clear();
    }
    while pending.buf.is_empty() && pending.compaction.is_none() && !pending.stop {
        let timeout = if unsynced && mode == FsyncMode::Batch {
            BATCH_FSYNC_EVERY
        } else {
            Duration::from_secs(3600)
        };
        pending.waiting = true;
        let (guard, result) = shared
            .wake
            .wait_timeout(pending, timeout)
            .unwrap_or_else(PoisonError::into_inner);
        pending = guard;
        pending.waiting = false;
        if result.timed_out() && unsynced {
            break;
        }
    }
    let group = if pending.buf.is_empty() {
        // Nobody waits on an empty group; keep it for the next records.
        Arc::clone(&pending.group)
    } else {
        std::mem::replace(&mut pending.group, new_group())
    };
    let spare = std::mem::take(&mut pending.spare);
    Take {
        buf: std::mem::replace(&mut pending.buf, spare),
        group,
        compaction: pending.compaction.take(),
        stop: pending.stop,
        poisoned: pending.poisoned,
    }
}

fn flush_loop(shared: &Shared, mode: FsyncMode) {
    let mut last_sync = Instant::now();
    let mut unsynced = false;
    let mut written = Vec::new();
    loop {
        let work = take(shared, unsynced, mode, std::mem::take(&mut written));
        if work.poisoned {
            // Everything taken was made on top of the failed write.
            if !work.buf.is_empty() {
                work.group.send_replace(Fate::Failed);
            }
            if let Some(compaction) = work.compaction {
                compaction.group.send_replace(Fate::Failed);
                shared.compacting.store(false, Ordering::Relaxed);
            }
            if work.stop {
                return;
            }
            continue;
        }
        let fate = match work.compaction {
            None => {
                let sync = mode == FsyncMode::Always
                    || (mode == FsyncMode::Batch && last_sync.elapsed() >= BATCH_FSYNC_EVERY)
                    || (work.stop && mode != FsyncMode::Off);
                write_group(shared, &work.buf, sync, unsynced)
            }
            Some(compaction) => compact(shared, compaction, &work.buf, mode),
        };
        match fate {
            Fate::Synced => {
                unsynced = false;
                last_sync = Instant::now();
            }
            Fate::Written => unsynced = unsynced || !work.buf.is_empty(),
            Fate::Failed => {}
            Fate::Pending => {}
        }
        if !work.buf.is_empty() {
            work.group.send_replace(fate);
        }
        if work.stop && lock(&shared.pending).buf.is_empty() {
            if unsynced {
                let _ = lock(&shared.files).file.sync_data();
            }
            return;
        }
        written = work.buf;
    }
}

/// Writes (and, if `sync`, fsyncs) one group of records. A failure poisons
/// the store until [`Durable::recover`]. With no records, only fsyncs what
/// earlier groups wrote (if `sync` and `unsynced`): those were acknowledged
/// already, so a failure there is reported but undoes nothing.
fn write_group(shared: &Shared, buf: &[u8], sync: bool, unsynced: bool) -> Fate {
    if buf.is_empty() && !(sync && unsynced) {
        return Fate::Written;
    }
    let mut files = lock(&shared.files);
    match files.append(buf, sync) {
        Ok(()) => {
            shared.journal_bytes.store(files.good, Ordering::Relaxed);
            drop(files);
            shared.set_journal_error(None);
            if sync {
                Fate::Synced
            } else {
                Fate::Written
            }
        }
        Err(err) => {
            let journal = files.journal_path.display().to_string();
            drop(files);
            let error = format!("the journal {journal} cannot be written: {err}");
            shared.set_journal_error(Some(error.clone()));
            if buf.is_empty() {
                tracing::error!("{error}");
                return Fate::Written;
            }
            tracing::error!("{error}; the writes it held answer 503 and are undone");
            shared.poison();
            Fate::Failed
        }
    }
}

/// Runs a compaction: the records from before it go to the journal first,
/// then the snapshot and a new journal holding the records from after it
/// replace the files. Returns the fate of the records in `buf`; the
/// compaction's own ticket completes once the records before it are safe.
fn compact(shared: &Shared, compaction: Compaction, buf: &[u8], mode: FsyncMode) -> Fate {
    let (before, after) = buf.split_at(compaction.split.min(buf.len()));
    let before_fate = write_group(shared, before, true, true);
    if before_fate == Fate::Failed {
        compaction.group.send_replace(Fate::Failed);
        shared.compacting.store(false, Ordering::Relaxed);
        return Fate::Failed;
    }
    // Laid out for people to read; the header below names these bytes.
    let snapshot = pretty(&compaction.snapshot);
    let mut files = lock(&shared.files);
    let result = compact_files(&mut files, &snapshot, &compaction.rules, after);
    shared.compacting.store(false, Ordering::Relaxed);
    match result {
        Ok(()) => {
            shared.journal_bytes.store(files.good, Ordering::Relaxed);
            shared
                .snapshot_bytes
                .store(snapshot.len() as u64, Ordering::Relaxed);
            let snapshot_path = files.snapshot_path.display().to_string();
            drop(files);
            shared.compactions.fetch_add(1, Ordering::Relaxed);
            *lock(&shared.compaction_failed_at) = None;
            shared.set_compaction_error(None);
            tracing::info!(
                "compacted the journal into {snapshot_path} ({} bytes)",
                snapshot.len()
            );
            compaction.group.send_replace(Fate::Synced);
            Fate::Synced
        }
        Err(err) if files.relink => {
            // The new snapshot and journal are in place on disk (the journal
            // still as FILE.journal.tmp, which a start renames); the next
            // write retries the rename, and fails until it succeeds.
            let error = format!(
                "cannot rename {} into place: {err}",
                temp_path(&files.journal_path).display()
            );
            drop(files);
            tracing::error!("{error}");
            shared
                .snapshot_bytes
                .store(snapshot.len() as u64, Ordering::Relaxed);
            shared.set_journal_error(Some(error));
            compaction.group.send_replace(Fate::Synced);
            Fate::Synced
        }
        Err(err) => {
            let snapshot_path = files.snapshot_path.display().to_string();
            drop(files);
            let error = format!(
                "compacting into {snapshot_path} failed (writes are still saved in the journal): {err}"
            );
            tracing::warn!("{error}");
            *lock(&shared.compaction_failed_at) = Some(Instant::now());
            shared.set_compaction_error(Some(error));
            // The records before it are safe in the journal; those after go there too.
            compaction.group.send_replace(Fate::Synced);
            write_group(shared, after, mode == FsyncMode::Always, false)
        }
    }
}

/// Replaces the snapshot and the journal (the record of the rules, then the
/// `carried` records that arrived during the compaction), as the module docs
/// describe.
fn compact_files(
    files: &mut Files,
    snapshot: &[u8],
    rules: &[u8],
    carried: &[u8],
) -> io::Result<()> {
    files.ready()?;
    let mut contents = header(Some(snapshot)).into_bytes();
    contents.extend_from_slice(rules);
    contents.extend_from_slice(carried);
    let journal_temp = temp_path(&files.journal_path);
    let permissions = fs::metadata(&files.journal_path)
        .ok()
        .map(|meta| meta.permissions());
    if let Err(err) = write_synced(&journal_temp, &contents, permissions)
        .and_then(|()| write_atomically(&files.snapshot_path, snapshot))
    {
        let _ = fs::remove_file(&journal_temp);
        return Err(err);
    }
    // The new snapshot is in place and FILE.journal.tmp continues it: a start
    // from here on is right. Only the rename of the journal remains.
    files.relink = true;
    files.ready()
}
