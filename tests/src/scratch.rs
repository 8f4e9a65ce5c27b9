//! A folder of a test's own under the system's temporary folder, removed when
//! dropped: for host tests that write data, rules or journal files.

use std::path::{Path, PathBuf};

/// A fresh, empty folder, removed (with what it holds) when dropped.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// `mock-rest-{what}-{pid}-{name}` under the temporary folder, emptied first.
    pub fn new(what: &str, name: &str) -> std::io::Result<Self> {
        let dir =
            std::env::temp_dir().join(format!("mock-rest-{what}-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path in the folder.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The data file of durable mode: `db.json` in the folder.
    pub fn data(&self) -> PathBuf {
        self.join("db.json")
    }

    /// Writes `text` to a file of the folder and returns its path as text.
    pub fn file(&self, name: &str, text: &str) -> std::io::Result<String> {
        let path = self.join(name);
        std::fs::write(&path, text)?;
        Ok(path.to_string_lossy().into_owned())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
