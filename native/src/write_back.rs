//! The json-server preset's file (`JSON_SERVER=1`): every change of the
//! default namespace is written back into the fixtures file, as json-server
//! writes its `db.json`, before the request that made it is answered.
//!
//! The text is the engine's ([`mock_rest_core::Engine::database_file`]:
//! indented by two spaces, the types whose items were all deleted as `[]`),
//! written atomically (a temporary file, fsync, rename). Writers take turns
//! and each renders the store as it is when its turn comes, so the file
//! always ends with the latest state, whatever order requests finish in.
//! Other namespaces are not written: the file is the default namespace's.

use crate::durable::write_atomically;
use std::path::PathBuf;

/// The file changes are written back into.
pub struct WriteBack {
    path: PathBuf,
    turn: tokio::sync::Mutex<()>,
}

impl WriteBack {
    /// Writes back into `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// Writes what `render` gives (the default namespace's data, rendered
    /// when this writer's turn comes; `None`: nothing to write) into the
    /// file. A write that fails is logged; the change stays in memory, as
    /// json-server keeps it.
    pub async fn save(&self, render: impl FnOnce() -> Option<Vec<u8>>) {
        let _turn = self.turn.lock().await;
        let Some(text) = render() else { return };
        let path = self.path.clone();
        let written = tokio::task::spawn_blocking(move || write_atomically(&path, &text)).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(
                "JSON_SERVER: could not write {} back: {err}; the change is kept in memory",
                self.path.display()
            ),
            Err(err) => tracing::error!(
                "JSON_SERVER: the write of {} back stopped: {err}",
                self.path.display()
            ),
        }
    }
}
