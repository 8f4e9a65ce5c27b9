//! Durable mode on a failing disk: a real 256 KiB tmpfs that fills up, and a
//! directory made read-only under a running server. A write answered `503`
//! must leave the store as it was, the server must recover when the disk does,
//! and `/health` must say what is going on.
//!
//! Mounting needs root (CI runs as root); elsewhere each test says why it
//! skips and passes.

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Target, WireRequest};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A type with the longest name a type may have, so that each record is big
/// enough to fill the last page of the journal in a few writes.
const COLLECTION: &str = "/api/tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt";

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mock-rest-api"))
}

/// A folder with a file system mounted on it, unmounted and removed when dropped.
struct Mount {
    dir: PathBuf,
    /// Mounts stacked on `dir`, to unmount in reverse.
    layers: usize,
}

impl Mount {
    /// A tmpfs of `size` (such as `256k`) on a fresh folder, or why not.
    fn tmpfs(name: &str, size: &str) -> Result<Self, String> {
        let dir =
            std::env::temp_dir().join(format!("mock-rest-disk-{}-{name}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let mut mount = Self { dir, layers: 0 };
        mount.run(
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
            true,
        )?;
        Ok(mount)
    }

    /// Runs `mount ARGS DIR`; `layer` says whether it stacks a mount on `dir`.
    fn run(&mut self, args: &[&str], layer: bool) -> Result<(), String> {
        let status = Command::new("mount")
            .args(args)
            .arg(&self.dir)
            .status()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !status.success() {
            return Err(format!("mount {args:?} failed ({status}); it needs root"));
        }
        self.layers += usize::from(layer);
        Ok(())
    }

    /// Makes the folder read-only for new files and renames; files already
    /// open (the journal) stay writable, as after a `chmod` of the folder.
    fn make_read_only(&mut self) {
        let dir = self.dir.to_str().unwrap().to_owned();
        self.run(&["--bind", &dir], true).unwrap();
        self.run(&["-o", "remount,bind,ro"], false).unwrap();
    }

    fn make_writable(&mut self) {
        self.unmount_one();
    }

    fn unmount_one(&mut self) {
        if self.layers > 0 {
            let _ = Command::new("umount").arg(&self.dir).status();
            self.layers -= 1;
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("db.json")
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        while self.layers > 0 {
            self.unmount_one();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn mounted(name: &str, size: &str) -> Option<Mount> {
    match Mount::tmpfs(name, size) {
        Ok(mount) => Some(mount),
        Err(reason) => {
            println!("skipped: {reason}");
            None
        }
    }
}

fn send(server: &NativeServer, method: &str, target: &str, body: &str) -> (u16, String) {
    let response = HttpTarget::new(server.base())
        .send(&WireRequest::new(method, target, body))
        .unwrap();
    (response.status, String::from_utf8(response.body).unwrap())
}

fn ids(server: &NativeServer) -> BTreeSet<String> {
    let (status, body) = send(server, "GET", COLLECTION, "");
    assert_eq!(status, 200);
    let items: Vec<Value> = serde_json::from_str(&body).unwrap();
    items
        .iter()
        .map(|item| item["_id"].as_str().unwrap().to_owned())
        .collect()
}

fn health(server: &NativeServer) -> (u16, Value) {
    let (status, body) = send(server, "GET", "/health", "");
    (status, serde_json::from_str(&body).unwrap())
}

/// Fills what is left of the file system with a file, until it is full.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 4096];
    while file.write_all(&block).is_ok() {}
    while file.write_all(&block[..64]).is_ok() {}
    while file.write_all(&block[..1]).is_ok() {}
    path
}

fn full_disk(fsync: &str) {
    let Some(mount) = mounted(&format!("full-{fsync}"), "256k") else {
        return;
    };
    let data = mount.data();
    let args = ["--data", data.to_str().unwrap(), "--fsync", fsync];
    let server = NativeServer::start(binary(), &args).unwrap();
    // Half the disk, to free later.
    let reserve = mount.dir.join("reserve");
    std::fs::write(&reserve, vec![0u8; 128 * 1024]).unwrap();
    let body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(4000));

    // Writes until the disk is full: those answered 200 are kept, the 503 is not.
    let mut acked = BTreeSet::new();
    let mut refused = 0;
    for _ in 0..200 {
        let (status, text) = send(&server, "POST", COLLECTION, &body);
        match status {
            200 => {
                let item: Value = serde_json::from_str(&text).unwrap();
                acked.insert(item["_id"].as_str().unwrap().to_owned());
            }
            503 => {
                assert!(text.contains("not saved"), "{text}");
                refused += 1;
                break;
            }
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert_eq!(refused, 1, "the 256 KiB disk never filled up");
    assert!(!acked.is_empty());
    assert_eq!(
        ids(&server),
        acked,
        "the write answered 503 is not in memory"
    );
    let (status, doc) = health(&server);
    assert_eq!(status, 503, "{doc}");
    assert_eq!(doc["status"], "fail");
    assert_eq!(doc["storage"]["status"], "fail");
    assert!(
        doc["storage"]["error"]
            .as_str()
            .unwrap()
            .contains("No space left"),
        "{doc}"
    );

    // No page left: once the journal's last page is full too, a DELETE
    // answered 503 leaves the item where it was.
    let filler = fill(&mount.dir);
    let mut victim = None;
    for id in acked.clone() {
        let (status, text) = send(&server, "DELETE", &format!("{COLLECTION}/{id}"), "");
        match status {
            200 => {
                acked.remove(&id);
            }
            503 => {
                victim = Some(id);
                break;
            }
            other => panic!("unexpected {other}: {text}"),
        }
    }
    let Some(victim) = victim else {
        panic!("no DELETE failed on a full disk");
    };
    assert!(acked.contains(&victim));
    assert_eq!(ids(&server), acked, "the DELETE answered 503 is undone");
    let (status, _) = send(&server, "POST", COLLECTION, r#"{"small":1}"#);
    assert_eq!(status, 503);
    assert_eq!(ids(&server), acked);

    // Space again: the next write goes through, and /health passes.
    std::fs::remove_file(filler).unwrap();
    std::fs::remove_file(reserve).unwrap();
    let (status, text) = send(&server, "DELETE", &format!("{COLLECTION}/{victim}"), "");
    assert_eq!(status, 200, "{text}");
    acked.remove(&victim);
    let (status, text) = send(&server, "POST", COLLECTION, r#"{"small":2}"#);
    assert_eq!(status, 200, "{text}");
    let item: Value = serde_json::from_str(&text).unwrap();
    acked.insert(item["_id"].as_str().unwrap().to_owned());
    assert_eq!(ids(&server), acked);
    let (status, doc) = health(&server);
    assert_eq!(
        (status, &doc["status"]),
        (200, &Value::from("pass")),
        "{doc}"
    );
    assert!(doc.get("storage").is_none(), "{doc}");

    // The files hold exactly what was acknowledged.
    drop(server); // kill -9
    let server = NativeServer::start(binary(), &args).unwrap();
    assert_eq!(ids(&server), acked);
}

#[test]
fn a_full_disk_undoes_the_writes_answered_503_and_recovers_with_fsync_always() {
    full_disk("always");
}

#[test]
fn a_full_disk_undoes_the_writes_answered_503_and_recovers_with_fsync_batch() {
    full_disk("batch");
}

#[test]
fn a_read_only_folder_at_compaction_loses_nothing_and_recovers() {
    let Some(mut mount) = mounted("read-only", "4m") else {
        return;
    };
    let data = mount.data();
    let args = [
        "--data",
        data.to_str().unwrap(),
        "--compact-after-bytes",
        "512",
    ];
    let server = NativeServer::start(binary(), &args).unwrap();
    let mut acked = BTreeSet::new();
    let post = |server: &NativeServer, n: usize, acked: &mut BTreeSet<String>| {
        let (status, text) = send(server, "POST", COLLECTION, &format!(r#"{{"n":{n}}}"#));
        assert_eq!(status, 200, "{text}");
        let item: Value = serde_json::from_str(&text).unwrap();
        acked.insert(item["_id"].as_str().unwrap().to_owned());
    };
    for n in 0..20 {
        post(&server, n, &mut acked);
    }
    mount.make_read_only();
    // Compactions now fail; writes still go to the journal.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 20;
    let doc = loop {
        post(&server, n, &mut acked);
        n += 1;
        let (status, doc) = health(&server);
        if doc["status"] == "warn" {
            assert_eq!(status, 200);
            break doc;
        }
        assert!(
            Instant::now() < deadline,
            "no failed compaction reported: {doc}"
        );
    };
    assert!(
        doc["storage"]["error"]
            .as_str()
            .unwrap()
            .contains("Read-only"),
        "{doc}"
    );
    assert_eq!(ids(&server), acked);

    mount.make_writable();
    // A compaction is tried again a second after the last failure, on a write.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        post(&server, n, &mut acked);
        n += 1;
        let (status, doc) = health(&server);
        if doc["status"] == "pass" {
            assert_eq!(status, 200);
            break;
        }
        assert!(Instant::now() < deadline, "never recovered: {doc}");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server); // kill -9
    let server = NativeServer::start(binary(), &args).unwrap();
    assert_eq!(ids(&server), acked);

    // A shutdown whose compaction fails still exits well: the journal holds everything.
    mount.make_read_only();
    post(&server, n, &mut acked);
    let status = server
        .signal_and_wait("TERM", Duration::from_secs(20))
        .unwrap();
    assert!(status.success(), "{status}");
    mount.make_writable();
    let server = NativeServer::start(binary(), &args).unwrap();
    assert_eq!(ids(&server), acked);
}
