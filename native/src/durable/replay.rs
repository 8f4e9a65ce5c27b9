//! Reading the files back: at start, and after a failed write (to rebuild the
//! store from what was acknowledged).
//!
//! At start, as Redis does with its append-only file:
//! - an incomplete last line that is no record (a write cut short by a crash)
//!   is trimmed, with a warning;
//! - a last record that lacks only its newline is kept, and the newline added;
//! - anything else that is not an intact record (damage, not a torn write) stops
//!   the start with the file and the byte offset, and changes no file; `--repair`
//!   keeps every intact record and moves the damaged bytes to
//!   `FILE.journal.corrupt-<offset>`;
//! - a journal whose header names another snapshot is dropped when it holds no
//!   record (the snapshot was edited while the server was stopped), and is
//!   damage otherwise.

use super::format::{corrupt_path, decode, header, journal_path, pretty, temp_path};
use super::{sync_dir, write_atomically, write_synced};
use crate::files::{read_bounded, FileError};
use mock_rest_core::{Change, Config, Engine};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::ops::Range;
use std::path::Path;

/// What the lines after a journal's header hold.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// The intact records, as byte ranges (newline included, if any).
    pub intact: Vec<Range<usize>>,
    /// Runs of whole lines that are not intact records.
    pub damaged: Vec<Range<usize>>,
    /// Intact records after the first damaged run.
    pub intact_after_damage: usize,
    /// An incomplete last line that is no record: where it starts.
    pub torn: Option<usize>,
    /// The last record is intact but lacks its newline.
    pub missing_newline: bool,
}

/// Reads the records of `bytes` from `from` on, handing each intact one to `apply`.
pub(super) fn scan(bytes: &[u8], from: usize, apply: &mut dyn FnMut(Vec<Change>)) -> Scan {
    let mut scan = Scan::default();
    let mut at = from;
    while at < bytes.len() {
        let (end, complete) = match bytes[at..].iter().position(|&b| b == b'\n') {
            Some(n) => (at + n + 1, true),
            None => (bytes.len(), false),
        };
        let line = &bytes[at..if complete { end - 1 } else { end }];
        match std::str::from_utf8(line).ok().and_then(decode) {
            Some(changes) => {
                apply(changes);
                if !scan.damaged.is_empty() {
                    scan.intact_after_damage += 1;
                }
                scan.intact.push(at..end);
                scan.missing_newline = !complete;
            }
            None if complete => match scan.damaged.last_mut() {
                Some(last) if last.end == at => last.end = end,
                _ => scan.damaged.push(at..end),
            },
            None => scan.torn = Some(at),
        }
        at = end;
    }
    scan
}

/// The end of a journal's header line (its newline included).
fn header_end(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| n + 1)
}

/// The bytes of a snapshot file, `None` when there is none, within the
/// bound on files the settings name (twice `MAX_STORE_BYTES`).
fn read_snapshot(path: &Path, config: &Config) -> Result<Option<Vec<u8>>, String> {
    match read_bounded(path, config.max_file_bytes()) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(FileError::Io(err)) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(FileError::Io(err)) => Err(format!("cannot read {}: {err}", path.display())),
        Err(FileError::TooLarge) => {
            Err(format!("{} is {}", path.display(), config.file_too_large()))
        }
    }
}

/// What [`load`] found.
pub(super) struct Loaded {
    /// The snapshot's size in bytes.
    pub snapshot_bytes: u64,
    /// The journal's size in bytes: every byte of it holds a record.
    pub journal_bytes: u64,
}

/// Loads the snapshot at `path` into `engine` and replays its journal,
/// settling a torn tail, a compaction stopped midway, and (with `repair`)
/// damage. Fails, changing no file, on damage without `repair`.
pub(super) fn load(path: &Path, engine: &mut Engine, repair: bool) -> Result<Loaded, String> {
    let journal = journal_path(path);
    let shown = journal.display();
    // Left by a compaction stopped before the snapshot's rename: never read.
    let _ = fs::remove_file(temp_path(path));

    let mut snapshot = read_snapshot(path, engine.config())?;
    // No snapshot file: the journal continues an empty store.
    let empty = b"{}".to_vec();
    if let Some(bytes) = snapshot.as_ref().or(Some(&empty)) {
        let count = engine
            .restore(bytes)
            .map_err(|err| format!("{}: {}", path.display(), err.message()))?;
        tracing::info!("loaded {count} items from {}", path.display());
    }
    let expected = header(snapshot.as_deref());

    // A compaction writes the new journal to FILE.journal.tmp before it renames
    // the new snapshot into place. If that journal continues the snapshot on
    // disk, the compaction stopped between its renames: finish it.
    let temp_journal = temp_path(&journal);
    match fs::read(&temp_journal) {
        Ok(bytes) if snapshot.is_some() && bytes.starts_with(expected.as_bytes()) => {
            fs::rename(&temp_journal, &journal)
                .and_then(|()| sync_dir(&journal))
                .map_err(|e| format!("cannot rename {} to {shown}: {e}", temp_journal.display()))?;
            tracing::info!("{shown}: finished a compaction that was stopped between its renames");
        }
        Ok(_) => {
            let _ = fs::remove_file(&temp_journal);
        }
        Err(_) => {}
    }

    let mut journal_bytes = None;
    let mut replayed = 0;
    match fs::read(&journal) {
        Ok(bytes) => {
            let start = header_end(&bytes);
            let header_ok = bytes[..start] == *expected.as_bytes();
            let mut apply = |changes: Vec<Change>| {
                for change in &changes {
                    engine.apply(change);
                }
            };
            let found = if header_ok {
                scan(&bytes, start, &mut apply)
            } else {
                scan(&bytes, start, &mut |_| {})
            };
            if !header_ok && found.intact.is_empty() && found.damaged.is_empty() {
                tracing::info!(
                    "{shown} continues another snapshot than {} and holds no record; \
                     starting a new journal",
                    path.display()
                );
            } else if !header_ok && !repair {
                return Err(format!(
                    "{shown}: its header (byte 0) does not name {} as it is now, so its {} records \
                     cannot be applied: either {} was changed after the journal was written, or \
                     the header is damaged. Nothing was changed and the server did not start. \
                     Restore {}, or start once with --repair (REPAIR=1) to apply the records to \
                     {} as it is and move the old header to {}.",
                    path.display(),
                    found.intact.len(),
                    path.display(),
                    path.display(),
                    path.display(),
                    corrupt_path(&journal, 0).display()
                ));
            } else if !found.damaged.is_empty() && !repair {
                let first = &found.damaged[0];
                let more: Vec<String> = found.damaged[1..]
                    .iter()
                    .map(|run| run.start.to_string())
                    .collect();
                return Err(format!(
                    "{shown}: the {} bytes at byte {} are not an intact record (a checksum or \
                     syntax mismatch), and {} intact records follow{}. This is damage, not a torn \
                     write, so nothing was changed and the server did not start. Restore the file \
                     from a backup, or start once with --repair (REPAIR=1) to keep every intact \
                     record and move the damaged bytes to {}.",
                    first.len(),
                    first.start,
                    found.intact_after_damage,
                    if more.is_empty() {
                        String::new()
                    } else {
                        format!(" (more damage at bytes {})", more.join(", "))
                    },
                    corrupt_path(&journal, first.start).display()
                ));
            } else if !header_ok || !found.damaged.is_empty() {
                if !header_ok {
                    scan(&bytes, start, &mut apply);
                }
                let mut set_aside = found.damaged.clone();
                if !header_ok {
                    set_aside.insert(0, 0..start);
                }
                if let Some(torn) = found.torn {
                    set_aside.push(torn..bytes.len());
                }
                let kept = repair_journal(&journal, &bytes, &expected, &found, &set_aside)?;
                journal_bytes = Some(kept);
            } else if let Some(torn) = found.torn {
                tracing::warn!(
                    "{shown}: trimmed {} bytes of an incomplete last record at byte {torn} \
                     (a write cut short by a crash; with --fsync always or batch it was never \
                     acknowledged)",
                    bytes.len() - torn
                );
                let file = OpenOptions::new()
                    .write(true)
                    .open(&journal)
                    .map_err(|e| format!("cannot open {shown}: {e}"))?;
                file.set_len(torn as u64)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| format!("cannot trim {shown}: {e}"))?;
                journal_bytes = Some(torn as u64);
            } else if found.missing_newline {
                tracing::info!("{shown}: the last record lacked its newline; added it");
                OpenOptions::new()
                    .append(true)
                    .open(&journal)
                    .and_then(|mut file| {
                        file.write_all(b"\n")?;
                        file.sync_all()
                    })
                    .map_err(|e| format!("cannot write {shown}: {e}"))?;
                journal_bytes = Some(bytes.len() as u64 + 1);
            } else {
                journal_bytes = Some(bytes.len() as u64);
            }
            replayed = if journal_bytes.is_some() {
                found.intact.len()
            } else {
                0
            };
            if journal_bytes.is_some() {
                tracing::info!("replayed {replayed} journal records from {shown}");
            }
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(format!("cannot read {shown}: {err}")),
    }

    // A data file may lack ids (drawn from its bytes at every load) or be laid
    // out by hand. Before the first write refers to those ids, the file is
    // rewritten as the store holds it (laid out as compaction writes it), so a
    // replay finds the same ids.
    if let Some(bytes) = &snapshot {
        let rendered = pretty(&engine.snapshot());
        if replayed == 0 && rendered != *bytes {
            write_atomically(path, &rendered)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            tracing::info!(
                "rewrote {} as the store holds it (ids drawn for items without one, one item per line)",
                path.display()
            );
            snapshot = Some(rendered);
            journal_bytes = None;
        }
    }
    let journal_bytes = match journal_bytes {
        Some(bytes) => bytes,
        None => {
            let fresh = header(snapshot.as_deref());
            write_atomically(&journal, fresh.as_bytes())
                .map_err(|e| format!("cannot write {shown}: {e}"))?;
            fresh.len() as u64
        }
    };
    Ok(Loaded {
        snapshot_bytes: snapshot.map_or(0, |s| s.len() as u64),
        journal_bytes,
    })
}

/// `--repair`: moves each run of `set_aside` bytes to a file of its own, then
/// rewrites the journal as the header and the intact records. Returns its size.
fn repair_journal(
    journal: &Path,
    bytes: &[u8],
    header: &str,
    found: &Scan,
    set_aside: &[Range<usize>],
) -> Result<u64, String> {
    for run in set_aside {
        let aside = corrupt_path(journal, run.start);
        write_synced(&aside, &bytes[run.clone()], None)
            .map_err(|e| format!("cannot write {}: {e}", aside.display()))?;
        tracing::warn!(
            "{}: --repair moved the {} damaged bytes at byte {} to {}",
            journal.display(),
            run.len(),
            run.start,
            aside.display()
        );
    }
    let mut kept = header.as_bytes().to_vec();
    for record in &found.intact {
        kept.extend_from_slice(&bytes[record.clone()]);
        if kept.last() != Some(&b'\n') {
            kept.push(b'\n');
        }
    }
    write_atomically(journal, &kept)
        .map_err(|e| format!("cannot write {}: {e}", journal.display()))?;
    tracing::warn!(
        "{}: --repair kept {} intact records",
        journal.display(),
        found.intact.len()
    );
    Ok(kept.len() as u64)
}

/// Rebuilds the engine's store from the snapshot and the first `journal_len`
/// bytes of the journal: exactly what was acknowledged.
pub(super) fn rebuild(
    engine: &mut Engine,
    snapshot_path: &Path,
    journal: &Path,
    journal_len: u64,
) -> Result<(), String> {
    let snapshot = read_snapshot(snapshot_path, engine.config())?.unwrap_or_else(|| b"{}".to_vec());
    let bytes = fs::read(journal).map_err(|e| format!("cannot read {}: {e}", journal.display()))?;
    let upto = usize::try_from(journal_len).map_or(bytes.len(), |n| n.min(bytes.len()));
    let bytes = &bytes[..upto];
    engine
        .restore(&snapshot)
        .map_err(|e| format!("{}: {}", snapshot_path.display(), e.message()))?;
    let found = scan(bytes, header_end(bytes), &mut |changes| {
        for change in &changes {
            engine.apply(change);
        }
    });
    if !found.damaged.is_empty() || found.torn.is_some() {
        tracing::warn!(
            "{}: bytes the server wrote itself are no longer intact",
            journal.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::format::encode;

    fn record(n: u32) -> Vec<u8> {
        encode(&[Change::Create {
            resource: "t".to_owned(),
            id: format!("r{n}"),
            item: format!(r#"{{"n":{n},"_id":"r{n}"}}"#),
        }])
    }

    #[test]
    fn scan_tells_torn_from_damaged() {
        let mut bytes = b"header\n".to_vec();
        let mut starts = Vec::new();
        for n in 1..=5 {
            starts.push(bytes.len());
            bytes.extend(record(n));
        }
        // Records 2 and 3 damaged: one run; then 4 and 5 intact, then a torn tail.
        bytes[starts[1] + 12] ^= 1;
        bytes[starts[2] + 12] ^= 1;
        let torn_at = bytes.len();
        bytes.extend(&record(6)[..10]);
        let mut applied = 0;
        let found = scan(&bytes, header_end(&bytes), &mut |_| applied += 1);
        assert_eq!(applied, 3);
        assert_eq!(
            found.damaged,
            vec![Range {
                start: starts[1],
                end: starts[3]
            }]
        );
        assert_eq!(found.intact_after_damage, 2);
        assert_eq!(found.torn, Some(torn_at));
        assert!(!found.missing_newline);

        // A whole last record without its newline is intact.
        let mut bytes = b"header\n".to_vec();
        bytes.extend(record(1));
        bytes.pop();
        let found = scan(&bytes, header_end(&bytes), &mut |_| {});
        assert_eq!(found.intact.len(), 1);
        assert!(found.missing_newline);
        assert_eq!((found.torn, found.damaged.len()), (None, 0));
    }
}
