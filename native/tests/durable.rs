//! Durable mode under crashes: `kill -9` mid-load, mid-compaction, and a
//! journal with a torn or corrupt tail. Every acknowledged write must survive.

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Target, WireRequest};
use mock_rest_api::durable::{encode, header, journal_path};
use mock_rest_core::Change;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mock-rest-api"))
}

/// A fresh folder under the system temp folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("mock-rest-durable-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn data(&self) -> PathBuf {
        self.0.join("db.json")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start(data: &Path, extra: &[&str]) -> NativeServer {
    let mut args = vec!["--data", data.to_str().unwrap()];
    args.extend_from_slice(extra);
    NativeServer::start(binary(), &args).unwrap()
}

fn request(method: &str, target: &str, body: &str) -> WireRequest {
    WireRequest::new(method, target, body)
}

/// Every item of a type, by id, as the server has it.
fn items(server: &NativeServer, resource: &str) -> HashMap<String, String> {
    let list = HttpTarget::new(server.base())
        .send(&request("GET", &format!("/api/{resource}"), ""))
        .unwrap();
    assert_eq!(list.status, 200);
    let items: Vec<Value> = serde_json::from_slice(&list.body).unwrap();
    items
        .into_iter()
        .map(|item| (item["_id"].as_str().unwrap().to_owned(), item.to_string()))
        .collect()
}

/// What the writers were told succeeded.
#[derive(Default)]
struct Acknowledged {
    /// id -> the item as echoed.
    created: HashMap<String, String>,
    deleted: HashSet<String>,
    /// Items whose DELETE was cut off by the kill: it may or may not have happened.
    uncertain: HashSet<String>,
}

/// Runs writers against the server until `stop`; each POSTs items, and
/// deletes every third one it created. Returns what was acknowledged.
fn write_until_stopped(
    base: &str,
    writers: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Acknowledged>> {
    (0..writers)
        .map(|writer| {
            let base = base.to_owned();
            let stop = Arc::clone(stop);
            std::thread::spawn(move || {
                let mut client = HttpTarget::new(&base);
                let mut acked = Acknowledged::default();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let body =
                        format!(r#"{{"writer":{writer},"n":{n},"big":1e400,"text":"é\u0000"}}"#);
                    let Ok(response) = client.send(&request("POST", "/api/crash", &body)) else {
                        break;
                    };
                    if response.status != 200 {
                        break;
                    }
                    let echoed = String::from_utf8(response.body).unwrap();
                    let item: Value = serde_json::from_str(&echoed).unwrap();
                    let id = item["_id"].as_str().unwrap().to_owned();
                    acked.created.insert(id.clone(), item.to_string());
                    if n % 3 == 0 {
                        match client.send(&request("DELETE", &format!("/api/crash/{id}"), "")) {
                            Ok(response) if response.status == 200 => {
                                acked.deleted.insert(id);
                            }
                            _ => {
                                acked.uncertain.insert(id);
                                break;
                            }
                        }
                    }
                }
                acked
            })
        })
        .collect()
}

fn crash_rounds(name: &str, extra: &[&str]) {
    let scratch = Scratch::new(name);
    let mut expected = Acknowledged::default();
    for round in 0..5 {
        let server = start(&scratch.data(), extra);
        // Everything acknowledged before the last crash is still there, intact.
        let present = items(&server, "crash");
        for (id, item) in &expected.created {
            if expected.uncertain.contains(id) {
                continue;
            }
            if expected.deleted.contains(id) {
                assert!(
                    !present.contains_key(id),
                    "round {round}: deleted {id} came back"
                );
            } else {
                assert_eq!(
                    present.get(id),
                    Some(item),
                    "round {round}: lost or changed {id}"
                );
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers = write_until_stopped(server.base(), 6, &stop);
        std::thread::sleep(Duration::from_millis(300 + 150 * round));
        drop(server); // kill -9, by PID
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            let acked = writer.join().unwrap();
            expected.created.extend(acked.created);
            expected.deleted.extend(acked.deleted);
            expected.uncertain.extend(acked.uncertain);
        }
        assert!(
            !expected.created.is_empty(),
            "round {round}: no write was acknowledged"
        );
    }
    let server = start(&scratch.data(), extra);
    let present = items(&server, "crash");
    let live: HashSet<&String> = expected
        .created
        .keys()
        .filter(|id| !expected.deleted.contains(*id) && !expected.uncertain.contains(*id))
        .collect();
    assert!(live.iter().all(|id| present.contains_key(*id)));
    // Beyond those, only what was in flight at a kill: at most one request per writer per round.
    let extra_items = present.len() - live.len();
    assert!(extra_items <= 6 * 5, "{extra_items} items nobody wrote");
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_write() {
    crash_rounds("load", &[]);
}

#[test]
fn kill_9_during_constant_compaction_loses_nothing() {
    // A tiny threshold makes nearly every write start a compaction, so the kills land in them.
    crash_rounds("compaction", &["--compact-after-bytes", "512"]);
}

#[test]
fn fsync_batch_survives_a_process_crash_too() {
    // batch acknowledges once the record is written to the OS, which outlives the process.
    crash_rounds("batch", &["--fsync", "batch"]);
}

#[test]
fn a_torn_or_corrupt_tail_is_cut_off_and_never_applied() {
    let scratch = Scratch::new("torn");
    let put = |id: &str, n: u32| Change::Create {
        resource: "t".to_owned(),
        id: id.to_owned(),
        item: format!(r#"{{"n":{n},"_id":"{id}"}}"#),
    };
    let mut journal = header(None).into_bytes();
    journal.extend(encode(&[put("a", 1)]));
    journal.extend(encode(&[put("b", 2), put("c", 3)]));
    let good = journal.len();
    let torn = encode(&[put("d", 4)]);
    journal.extend(&torn[..torn.len() / 2]);
    std::fs::write(journal_path(&scratch.data()), &journal).unwrap();

    let server = start(&scratch.data(), &[]);
    let present = items(&server, "t");
    let ids: HashSet<&str> = present.keys().map(String::as_str).collect();
    assert_eq!(ids, HashSet::from(["a", "b", "c"]));
    drop(server);
    assert_eq!(
        std::fs::read(journal_path(&scratch.data())).unwrap().len(),
        good,
        "cut back to the last whole record"
    );

    // A record whose checksum does not match ends the replay there.
    let mut journal = header(None).into_bytes();
    journal.extend(encode(&[put("a", 1)]));
    let mut bad = encode(&[put("x", 9)]);
    bad[12] ^= 1;
    journal.extend(bad);
    journal.extend(encode(&[put("y", 10)]));
    std::fs::write(journal_path(&scratch.data()), &journal).unwrap();
    let server = start(&scratch.data(), &[]);
    let present = items(&server, "t");
    assert_eq!(present.keys().collect::<Vec<_>>(), ["a"]);
}

#[test]
fn a_compaction_killed_between_its_renames_loses_and_repeats_nothing() {
    let scratch = Scratch::new("renames");
    // The state before: snapshot S0 and a journal that continues it.
    let s0 = br#"{"t":[{"n":0,"_id":"zero"}]}"#;
    std::fs::write(scratch.data(), s0).unwrap();
    let mut journal = header(Some(s0)).into_bytes();
    journal.extend(encode(&[Change::Delete {
        resource: "t".to_owned(),
        id: "zero".to_owned(),
    }]));
    journal.extend(encode(&[Change::Replace {
        resource: "t".to_owned(),
        id: "one".to_owned(),
        item: r#"{"n":1,"_id":"one"}"#.to_owned(),
    }]));
    // Rules are not in a snapshot: the old journal's rules still count.
    journal.extend(encode(&[Change::PutRule {
        id: "r".to_owned(),
        rule: r#"{"id":"r","match":{"path":"/x"},"respond":{"status":503},"priority":0}"#
            .to_owned(),
    }]));
    std::fs::write(journal_path(&scratch.data()), &journal).unwrap();
    // A crash after the snapshot's rename: S1 holds the journal's effect, the old journal is still there.
    let s1 = br#"{"t":[{"n":1,"_id":"one"}]}"#;
    std::fs::write(scratch.data(), s1).unwrap();
    // And a crash before a rename leaves a temporary file, which is never read.
    std::fs::write(scratch.0.join("db.json.tmp"), b"{\"garbage").unwrap();

    let server = start(&scratch.data(), &[]);
    let present = items(&server, "t");
    assert_eq!(present.keys().collect::<Vec<_>>(), ["one"]);
    assert!(!scratch.0.join("db.json.tmp").exists());
    let mut client = HttpTarget::new(server.base());
    assert_eq!(client.send(&request("GET", "/x", "")).unwrap().status, 503);
    drop(server);
    // And the new journal carries them on.
    let server = start(&scratch.data(), &[]);
    let mut client = HttpTarget::new(server.base());
    assert_eq!(client.send(&request("GET", "/x", "")).unwrap().status, 503);
}

#[test]
fn sigterm_compacts_and_a_restart_sees_everything() {
    let scratch = Scratch::new("sigterm");
    let server = start(&scratch.data(), &[]);
    let mut client = HttpTarget::new(server.base());
    let created = client
        .send(&request("POST", "/api/keep", r#"{"n":1.10}"#))
        .unwrap();
    let echoed = String::from_utf8(created.body).unwrap();
    let status = server
        .signal_and_wait("TERM", Duration::from_secs(20))
        .unwrap();
    assert!(status.success(), "{status}");
    let snapshot = std::fs::read_to_string(scratch.data()).unwrap();
    assert_eq!(snapshot, format!(r#"{{"keep":[{echoed}]}}"#));
    let journal = std::fs::read(journal_path(&scratch.data())).unwrap();
    assert_eq!(
        journal,
        header(Some(snapshot.as_bytes())).into_bytes(),
        "an empty journal after compaction"
    );

    let server = start(&scratch.data(), &[]);
    let again = HttpTarget::new(server.base())
        .send(&request("GET", "/api/keep", ""))
        .unwrap();
    assert_eq!(
        String::from_utf8(again.body).unwrap(),
        format!("[{echoed}]")
    );
}

#[test]
fn fixture_items_without_ids_keep_the_ids_they_got_across_a_crash() {
    let scratch = Scratch::new("fixture-ids");
    std::fs::write(
        scratch.data(),
        "{\n  \"p\": [ {\"n\": 1}, {\"n\": 2} ]\n}\n",
    )
    .unwrap();
    let server = start(&scratch.data(), &[]);
    let first: HashMap<String, String> = items(&server, "p");
    let id = first
        .iter()
        .find(|(_, item)| item.contains("\"n\":1"))
        .map(|(id, _)| id.clone())
        .unwrap();
    let patched = HttpTarget::new(server.base())
        .send(&request(
            "PATCH",
            &format!("/api/p/{id}"),
            r#"{"seen":true}"#,
        ))
        .unwrap();
    assert_eq!(patched.status, 200);
    drop(server); // kill -9
    let server = start(&scratch.data(), &[]);
    let after = items(&server, "p");
    assert_eq!(after.len(), 2, "no item doubled: {after:?}");
    assert!(after[&id].contains("\"seen\":true"), "{after:?}");
    assert_eq!(
        after.keys().collect::<HashSet<_>>(),
        first.keys().collect::<HashSet<_>>()
    );
}
