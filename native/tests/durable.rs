//! Durable mode under crashes: `kill -9` mid-load, mid-compaction, and a
//! journal with a torn or corrupt tail. Every acknowledged write must survive.

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Scratch, Target, WireRequest};
use mock_rest_api::durable::{encode, header, journal_path};
use mock_rest_core::Change;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mock-rest-api"))
}

fn start(data: &Path, extra: &[&str]) -> NativeServer {
    let mut args = vec!["--data", data.to_str().unwrap()];
    args.extend_from_slice(extra);
    NativeServer::start(binary(), &args).unwrap()
}

fn request(method: &str, target: &str, body: &str) -> WireRequest {
    WireRequest::new(method, target, body)
}

/// A type's list as the server answers it, byte for byte.
fn list_text(server: &NativeServer, resource: &str) -> String {
    let list = HttpTarget::new(server.base())
        .send(&request("GET", &format!("/api/{resource}"), ""))
        .unwrap();
    assert_eq!(list.status, 200);
    String::from_utf8(list.body).unwrap()
}

/// A request to a namespace (`None`: no header, the default one).
fn request_in(namespace: Option<&str>, method: &str, target: &str, body: &str) -> WireRequest {
    let mut request = request(method, target, body);
    if let Some(namespace) = namespace {
        request
            .headers
            .push(("X-Mock-Namespace".to_owned(), namespace.to_owned()));
    }
    request
}

/// The namespaces the crash tests write to: the default one (in FILE) and two
/// in FILE.namespaces/.
const CRASH_NAMESPACES: [Option<&str>; 3] = [None, Some("crash-b"), Some("crash.c")];

/// Every item of a type, by id, as the server has it.
fn items(server: &NativeServer, resource: &str) -> HashMap<String, String> {
    items_in(server, None, resource)
}

/// Every item of a type in a namespace, by id.
fn items_in(
    server: &NativeServer,
    namespace: Option<&str>,
    resource: &str,
) -> HashMap<String, String> {
    let list = HttpTarget::new(server.base())
        .send(&request_in(
            namespace,
            "GET",
            &format!("/api/{resource}"),
            "",
        ))
        .unwrap();
    assert_eq!(list.status, 200);
    let items: Vec<Value> = serde_json::from_slice(&list.body).unwrap();
    items
        .into_iter()
        .map(|item| (item["_id"].as_str().unwrap().to_owned(), item.to_string()))
        .collect()
}

/// Every item of a type in every crash namespace, by `namespace/id`.
fn crash_items(server: &NativeServer) -> HashMap<String, String> {
    CRASH_NAMESPACES
        .iter()
        .flat_map(|namespace| {
            items_in(server, *namespace, "crash")
                .into_iter()
                .map(|(id, item)| (format!("{}/{id}", namespace.unwrap_or("default")), item))
        })
        .collect()
}

/// What the writers were told succeeded, by `namespace/id`.
#[derive(Default)]
struct Acknowledged {
    /// namespace/id -> the item as echoed.
    created: HashMap<String, String>,
    deleted: HashSet<String>,
    /// Items whose DELETE was cut off by the kill: it may or may not have happened.
    uncertain: HashSet<String>,
}

/// Runs writers against the server until `stop`, spread over the crash
/// namespaces; each POSTs items, and deletes every third one it created.
/// Returns what was acknowledged.
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
                let namespace = CRASH_NAMESPACES[writer % CRASH_NAMESPACES.len()];
                let name = namespace.unwrap_or("default");
                let mut acked = Acknowledged::default();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let body =
                        format!(r#"{{"writer":{writer},"n":{n},"big":1e400,"text":"é\u0000"}}"#);
                    let post = request_in(namespace, "POST", "/api/crash", &body);
                    let Ok(response) = client.send(&post) else {
                        break;
                    };
                    if response.status != 200 {
                        break;
                    }
                    let echoed = String::from_utf8(response.body).unwrap();
                    let item: Value = serde_json::from_str(&echoed).unwrap();
                    let id = item["_id"].as_str().unwrap().to_owned();
                    let key = format!("{name}/{id}");
                    acked.created.insert(key.clone(), item.to_string());
                    if n % 3 == 0 {
                        let delete =
                            request_in(namespace, "DELETE", &format!("/api/crash/{id}"), "");
                        match client.send(&delete) {
                            Ok(response) if response.status == 200 => {
                                acked.deleted.insert(key);
                            }
                            _ => {
                                acked.uncertain.insert(key);
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
    let scratch = Scratch::new("durable", name).unwrap();
    let mut expected = Acknowledged::default();
    for round in 0..5 {
        let server = start(&scratch.data(), extra);
        // Everything acknowledged before the last crash is still there, intact.
        let present = crash_items(&server);
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
    let present = crash_items(&server);
    for namespace in CRASH_NAMESPACES.iter().flatten() {
        assert!(
            scratch
                .data()
                .with_extension("json.namespaces")
                .join(format!("{namespace}.json.journal"))
                .exists(),
            "{namespace} has a journal of its own"
        );
    }
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

fn put(id: &str, n: u32) -> Change {
    Change::Create {
        resource: "t".to_owned(),
        id: id.to_owned(),
        item: format!(r#"{{"n":{n},"_id":"{id}"}}"#),
    }
}

/// A journal for no snapshot file with records putting `r1` to `r10`, and
/// where each record starts.
fn ten_records() -> (Vec<u8>, Vec<usize>) {
    let mut journal = header(None).into_bytes();
    let mut starts = Vec::new();
    for n in 1..=10 {
        starts.push(journal.len());
        journal.extend(encode(&[put(&format!("r{n}"), n)]));
    }
    (journal, starts)
}

/// Runs the server on `data` expecting it not to start; returns its log.
fn start_fails(data: &Path, extra: &[&str]) -> String {
    let data = data.to_str().unwrap();
    let args: Vec<&str> = ["--data", data].iter().chain(extra).copied().collect();
    NativeServer::refused(binary(), &args, &[]).unwrap()
}

fn ids(server: &NativeServer) -> Vec<String> {
    let mut ids: Vec<String> = items(server, "t").into_keys().collect();
    ids.sort_by_key(|id| id[1..].parse::<u32>().unwrap_or(0));
    ids
}

fn r(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| format!("r{n}")).collect()
}

#[test]
fn a_torn_last_record_is_trimmed_and_never_applied() {
    let scratch = Scratch::new("durable", "torn").unwrap();
    let (mut journal, _) = ten_records();
    let good = journal.len();
    let torn = encode(&[put("d", 4)]);
    journal.extend(&torn[..torn.len() / 2]);
    std::fs::write(journal_path(&scratch.data()), &journal).unwrap();

    let server = start(&scratch.data(), &[]);
    assert_eq!(ids(&server), r(1..=10));
    drop(server);
    assert_eq!(
        std::fs::read(journal_path(&scratch.data())).unwrap(),
        journal[..good],
        "cut back to the last whole record"
    );
}

#[test]
fn a_last_record_without_its_newline_is_kept() {
    let scratch = Scratch::new("durable", "newline").unwrap();
    let (journal, _) = ten_records();
    std::fs::write(journal_path(&scratch.data()), &journal[..journal.len() - 1]).unwrap();
    let server = start(&scratch.data(), &[]);
    assert_eq!(ids(&server), r(1..=10));
    // The newline is back, so the next record starts on a line of its own.
    let created = HttpTarget::new(server.base())
        .send(&request("POST", "/api/t", r#"{"n":11}"#))
        .unwrap();
    assert_eq!(created.status, 200);
    drop(server);
    let server = start(&scratch.data(), &[]);
    assert_eq!(items(&server, "t").len(), 11);
}

#[test]
fn a_damaged_record_before_intact_ones_stops_the_start_until_repair() {
    let scratch = Scratch::new("durable", "damaged").unwrap();
    let (mut journal, starts) = ten_records();
    // One flipped bit in the JSON of record 3 of 10.
    journal[starts[2] + 12] ^= 1;
    let path = journal_path(&scratch.data());
    std::fs::write(&path, &journal).unwrap();

    let log = start_fails(&scratch.data(), &[]);
    assert!(log.contains(&path.display().to_string()), "{log}");
    assert!(log.contains(&format!("at byte {}", starts[2])), "{log}");
    assert!(log.contains("7 intact records follow"), "{log}");
    assert!(log.contains("--repair"), "{log}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        journal,
        "the journal is as it was"
    );
    assert!(!scratch.data().exists(), "no snapshot was written");
    let files = std::fs::read_dir(scratch.path()).unwrap().count();
    assert_eq!(files, 1, "no file was added");

    let server = start(&scratch.data(), &["--repair"]);
    let mut kept = r(1..=2);
    kept.extend(r(4..=10));
    assert_eq!(ids(&server), kept);
    drop(server);
    let aside = scratch.join(&format!("db.json.journal.corrupt-{}", starts[2]));
    assert_eq!(
        std::fs::read(aside).unwrap(),
        journal[starts[2]..starts[3]],
        "the damaged bytes are set aside"
    );
    // Repaired: the next start needs no flag.
    let server = start(&scratch.data(), &[]);
    assert_eq!(ids(&server), kept);
}

#[test]
fn damage_in_another_namespace_stops_the_start_until_repair_too() {
    let scratch = Scratch::new("durable", "damaged-namespace").unwrap();
    let (mut journal, starts) = ten_records();
    journal[starts[4] + 12] ^= 1;
    let folder = scratch.join("db.json.namespaces");
    std::fs::create_dir(&folder).unwrap();
    let path = folder.join("shop.json.journal");
    std::fs::write(&path, &journal).unwrap();

    let log = start_fails(&scratch.data(), &[]);
    assert!(log.contains(&path.display().to_string()), "{log}");
    assert!(log.contains(&format!("at byte {}", starts[4])), "{log}");
    assert_eq!(std::fs::read(&path).unwrap(), journal, "unchanged");

    let server = start(&scratch.data(), &["--repair"]);
    let mut kept = r(1..=4);
    kept.extend(r(6..=10));
    let mut ids: Vec<String> = items_in(&server, Some("shop"), "t").into_keys().collect();
    ids.sort_by_key(|id| id[1..].parse::<u32>().unwrap_or(0));
    assert_eq!(ids, kept);
    assert!(
        items(&server, "t").is_empty(),
        "the default namespace is apart"
    );
    assert!(folder
        .join(format!("shop.json.journal.corrupt-{}", starts[4]))
        .exists());
}

#[test]
fn a_damaged_last_record_is_damage_too() {
    // Whole (it has its newline), so it was written whole and may have been acknowledged.
    let scratch = Scratch::new("durable", "damaged-last").unwrap();
    let (mut journal, starts) = ten_records();
    journal[starts[9] + 12] ^= 1;
    std::fs::write(journal_path(&scratch.data()), &journal).unwrap();
    let log = start_fails(&scratch.data(), &[]);
    assert!(log.contains(&format!("at byte {}", starts[9])), "{log}");
    assert!(log.contains("0 intact records follow"), "{log}");
    let server = start(&scratch.data(), &["--repair"]);
    assert_eq!(ids(&server), r(1..=9));
}

#[test]
fn a_damaged_header_stops_the_start_until_repair() {
    let scratch = Scratch::new("durable", "header").unwrap();
    let snapshot = br#"{"t":[{"n":0,"_id":"r0"}]}"#;
    std::fs::write(scratch.data(), snapshot).unwrap();
    let mut journal = header(Some(snapshot)).into_bytes();
    let header_len = journal.len();
    for n in 1..=10 {
        journal.extend(encode(&[put(&format!("r{n}"), n)]));
    }
    // A changed digit of the snapshot's checksum in the header.
    let digit = header_len - 2;
    journal[digit] = if journal[digit] == b'0' { b'1' } else { b'0' };
    let path = journal_path(&scratch.data());
    std::fs::write(&path, &journal).unwrap();

    let log = start_fails(&scratch.data(), &[]);
    assert!(log.contains("header (byte 0)"), "{log}");
    assert!(log.contains("its 10 records"), "{log}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        journal,
        "the journal is as it was"
    );
    assert_eq!(std::fs::read(scratch.data()).unwrap(), snapshot);

    let server = start(&scratch.data(), &["--repair"]);
    assert_eq!(ids(&server), r(0..=10));
    drop(server);
    assert_eq!(
        std::fs::read(scratch.join("db.json.journal.corrupt-0")).unwrap(),
        journal[..header_len]
    );
}

#[test]
fn a_compaction_killed_between_its_renames_loses_and_repeats_nothing() {
    let scratch = Scratch::new("durable", "renames").unwrap();
    // The state before: snapshot S0 and a journal that continues it.
    let s0 = br#"{"t":[{"n":0,"_id":"zero"}]}"#;
    std::fs::write(scratch.data(), s0).unwrap();
    let mut journal = header(Some(s0)).into_bytes();
    journal.extend(encode(&[Change::Delete {
        resource: "t".to_owned(),
        id: "zero".to_owned(),
    }]));
    journal.extend(encode(&[put("one", 1)]));
    std::fs::write(journal_path(&scratch.data()), &journal).unwrap();
    // The compaction wrote the new journal (S1's header, and a record that
    // arrived meanwhile) as FILE.journal.tmp, then the new snapshot S1.
    let s1 = br#"{"t":[{"n":1,"_id":"one"}]}"#;
    let mut next = header(Some(s1)).into_bytes();
    next.extend(encode(&[put("two", 2)]));
    let temp_journal = scratch.join("db.json.journal.tmp");
    std::fs::write(&temp_journal, &next).unwrap();

    // Killed before the snapshot's rename: S1 is still FILE.tmp, never read.
    std::fs::write(scratch.join("db.json.tmp"), s1).unwrap();
    let server = start(&scratch.data(), &[]);
    assert_eq!(items(&server, "t").keys().collect::<Vec<_>>(), ["one"]);
    drop(server);
    assert!(!scratch.join("db.json.tmp").exists());
    assert!(!temp_journal.exists());

    // Killed after it: S1 is in place, the old journal and the new one are there.
    std::fs::write(scratch.data(), s1).unwrap();
    std::fs::write(journal_path(&scratch.data()), &journal).unwrap();
    std::fs::write(&temp_journal, &next).unwrap();
    let server = start(&scratch.data(), &[]);
    let mut present: Vec<String> = items(&server, "t").into_keys().collect();
    present.sort();
    assert_eq!(present, ["one", "two"]);
    drop(server);
    assert!(!temp_journal.exists());
    assert_eq!(std::fs::read(journal_path(&scratch.data())).unwrap(), next);
}

#[test]
fn sigterm_compacts_and_a_restart_sees_everything() {
    let scratch = Scratch::new("durable", "sigterm").unwrap();
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
    // Laid out for people: each type on lines of its own, one item per line.
    assert_eq!(
        snapshot,
        format!("{{\n  \"keep\": [\n    {echoed}\n  ]\n}}\n")
    );
    let journal = std::fs::read(journal_path(&scratch.data())).unwrap();
    assert_eq!(
        journal,
        header(Some(snapshot.as_bytes())).into_bytes(),
        "an empty journal after compaction"
    );

    let server = start(&scratch.data(), &[]);
    assert_eq!(list_text(&server, "keep"), format!("[{echoed}]"));
}

#[test]
fn fixture_items_without_ids_keep_the_ids_they_got_across_a_crash() {
    let scratch = Scratch::new("durable", "fixture-ids").unwrap();
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

/// An object nested as deep as a body may be (`MAX_DEPTH` levels).
fn deepest_object() -> String {
    let levels = mock_rest_core::limits::MAX_DEPTH;
    format!(
        "{}{{}}{}",
        "{\"a\":".repeat(levels - 1),
        "}".repeat(levels - 1)
    )
}

#[test]
fn the_deepest_accepted_item_survives_a_restart_from_the_journal_and_from_the_snapshot() {
    let scratch = Scratch::new("durable", "deep").unwrap();
    let server = start(&scratch.data(), &[]);
    let created = HttpTarget::new(server.base())
        .send(&request("POST", "/api/deep", &deepest_object()))
        .unwrap();
    assert_eq!(created.status, 200);
    let echoed = String::from_utf8(created.body).unwrap();
    drop(server); // kill -9: the item is only in the journal

    let server = start(&scratch.data(), &[]);
    assert_eq!(list_text(&server, "deep"), format!("[{echoed}]"));
    let status = server
        .signal_and_wait("TERM", Duration::from_secs(20))
        .unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(
        std::fs::read_to_string(scratch.data()).unwrap(),
        format!("{{\n  \"deep\": [\n    {echoed}\n  ]\n}}\n"),
        "compacted into the snapshot"
    );

    let server = start(&scratch.data(), &[]);
    assert_eq!(list_text(&server, "deep"), format!("[{echoed}]"));
}

#[test]
fn compaction_keeps_the_files_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("durable", "modes").unwrap();
    let snapshot = br#"{"t":[{"n":0,"_id":"r0"}]}"#;
    std::fs::write(scratch.data(), snapshot).unwrap();
    std::fs::write(journal_path(&scratch.data()), header(Some(snapshot))).unwrap();
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let set = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    set(&scratch.data(), 0o444);
    set(&journal_path(&scratch.data()), 0o600);

    let server = start(&scratch.data(), &["--compact-after-bytes", "512"]);
    let mut client = HttpTarget::new(server.base());
    for n in 1..=20 {
        let body = format!(r#"{{"n":{n},"pad":"{}"}}"#, "x".repeat(100));
        assert_eq!(
            client
                .send(&request("POST", "/api/t", &body))
                .unwrap()
                .status,
            200
        );
    }
    let status = server
        .signal_and_wait("TERM", Duration::from_secs(20))
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(
        std::fs::read_to_string(scratch.data())
            .unwrap()
            .contains("\"n\":20"),
        "compacted"
    );
    assert_eq!(mode(&scratch.data()), 0o444);
    assert_eq!(mode(&journal_path(&scratch.data())), 0o600);
}

#[test]
fn integer_ids_and_singular_resources_survive_a_kill_and_a_compaction() {
    let scratch = Scratch::new("durable", "json-server").unwrap();
    std::fs::write(
        scratch.data(),
        "{\n  \"posts\": [ {\"id\": 1, \"title\": \"a\"} ],\n  \"profile\": {\"name\": \"t\"}\n}\n",
    )
    .unwrap();
    let flags = ["--id-field", "id", "--api-prefix", "/"];
    let send = |server: &NativeServer, method: &str, target: &str, body: &str| {
        let answer = HttpTarget::new(server.base())
            .send(&request(method, target, body))
            .unwrap();
        (answer.status, String::from_utf8(answer.body).unwrap())
    };
    let server = start(&scratch.data(), &flags);
    assert_eq!(
        send(&server, "POST", "/posts", r#"{"title":"b"}"#),
        (200, r#"{"title":"b","id":2}"#.to_owned())
    );
    assert_eq!(
        send(&server, "POST", "/posts/2/comments", r#"{"body":"c"}"#).0,
        200
    );
    assert_eq!(
        send(&server, "PATCH", "/profile", r#"{"age":3}"#),
        (200, r#"{"name":"t","age":3}"#.to_owned())
    );
    let expected = r#"{"posts":[{"title":"a","id":1},{"title":"b","id":2}],"comments":[{"body":"c","postId":2,"id":{"$":"uuid"}}],"profile":{"name":"t","age":3}}"#;
    let snapshot = |server: &NativeServer| {
        let (status, text) = send(server, "GET", "/__admin/snapshot", "");
        assert_eq!(status, 200);
        // The comment's id is a UUID (a new type): blank it out to compare.
        let mut value: Value = serde_json::from_str(&text).unwrap();
        value["comments"][0]["id"] = serde_json::json!({"$": "uuid"});
        value.to_string()
    };
    assert_eq!(snapshot(&server), expected);
    drop(server); // kill -9: the journal holds the writes

    let server = start(&scratch.data(), &flags);
    assert_eq!(snapshot(&server), expected);
    let status = server
        .signal_and_wait("TERM", Duration::from_secs(20))
        .unwrap();
    assert!(status.success(), "{status}");
    // The compacted file holds the integer ids as numbers and the singular as an object.
    let compacted: Value =
        serde_json::from_str(&std::fs::read_to_string(scratch.data()).unwrap()).unwrap();
    assert_eq!(
        compacted["posts"][1]["id"],
        serde_json::json!(2),
        "{compacted}"
    );
    assert_eq!(
        compacted["profile"],
        serde_json::json!({"name": "t", "age": 3}),
        "{compacted}"
    );

    let server = start(&scratch.data(), &flags);
    assert_eq!(snapshot(&server), expected);
    assert_eq!(
        send(&server, "POST", "/posts", "{}"),
        (200, r#"{"id":3}"#.to_owned())
    );
    assert_eq!(send(&server, "DELETE", "/profile", "").0, 405);
}

/// A scenario's state (`setState`) is kept with the rules: after a `kill -9`
/// (read back from the journal) and after a compaction (`SIGTERM`), the rule
/// of the state the scenario reached answers, and `GET /__admin/scenarios`
/// says so.
#[test]
fn a_scenarios_state_survives_a_kill_and_a_compaction() {
    let scratch = Scratch::new("durable", "scenario").unwrap();
    let server = start(&scratch.data(), &[]);
    let send = |server: &NativeServer, method: &str, target: &str, body: &str| {
        let response = HttpTarget::new(server.base())
            .send(&request(method, target, body))
            .unwrap();
        (response.status, String::from_utf8(response.body).unwrap())
    };
    for rule in [
        r#"{"scenario":"order","whenState":"Started","setState":"paid","match":{"method":"POST","path":"/api/orders/1/pay"},"respond":{"status":200,"json":{"paid":true}}}"#,
        r#"{"scenario":"order","whenState":"paid","match":{"method":"GET","path":"/api/orders/1"},"respond":{"status":200,"json":{"status":"shipped"}}}"#,
    ] {
        assert_eq!(send(&server, "POST", "/__admin/rules", rule).0, 201);
    }
    assert_eq!(send(&server, "POST", "/api/orders/1/pay", "{}").0, 200);
    let shipped = (200, r#"{"status":"shipped"}"#.to_owned());
    let listed = (
        200,
        r#"[{"name":"order","state":"paid","states":["Started","paid"]}]"#.to_owned(),
    );
    drop(server); // kill -9
    let server = start(&scratch.data(), &[]);
    assert_eq!(send(&server, "GET", "/api/orders/1", ""), shipped);
    assert_eq!(send(&server, "GET", "/__admin/scenarios", ""), listed);
    let status = server
        .signal_and_wait("TERM", Duration::from_secs(20))
        .unwrap();
    assert!(status.success(), "{status}");
    let server = start(&scratch.data(), &[]);
    assert_eq!(send(&server, "GET", "/api/orders/1", ""), shipped);
    assert_eq!(send(&server, "GET", "/__admin/scenarios", ""), listed);
}
