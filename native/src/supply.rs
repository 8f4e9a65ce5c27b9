//! What the host supplies the core: the time, and random bytes for ids.

use mock_rest_core::IdSource;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many ids' random bytes [`OsIds`] draws from the OS at once.
const IDS_PER_DRAW: usize = 256;

/// Ids from the operating system's random source, drawn for
/// [`IDS_PER_DRAW`] ids at a time: one system call per 256 new ids, not
/// one per id. Each engine has its own (a namespace that creates nothing
/// holds no bytes); bytes are never handed out twice.
#[derive(Debug, Default, Clone)]
pub struct OsIds {
    bytes: Vec<u8>,
    /// How many of `bytes` are used (all of them: draw again).
    used: usize,
}

impl IdSource for OsIds {
    fn random_bytes(&mut self) -> [u8; 16] {
        if self.used == self.bytes.len() {
            self.bytes.resize(16 * IDS_PER_DRAW, 0);
            if getrandom::fill(&mut self.bytes).is_err() {
                self.bytes.clear();
                self.used = 0;
                // As before the batches: one draw for this id (uuid's own, which
                // fails loudly if the OS has no random bytes at all).
                return uuid::Uuid::new_v4().into_bytes();
            }
            self.used = 0;
        }
        let mut out = [0; 16];
        out.copy_from_slice(&self.bytes[self.used..self.used + 16]);
        // Spent bytes are wiped, so the buffer holds only ids still to come.
        self.bytes[self.used..self.used + 16].fill(0);
        self.used += 16;
        out
    }

    fn fork(&mut self) -> Box<dyn IdSource> {
        Box::<Self>::default()
    }
}

/// The time since the Unix epoch, as the engine takes it.
pub fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn os_ids_are_fresh_across_draws() {
        let mut ids = OsIds::default();
        let mut other = OsIds::default();
        let mut seen = HashSet::new();
        // Three draws of the first source, and one of another: no id twice.
        for _ in 0..3 * IDS_PER_DRAW {
            assert!(seen.insert(ids.random_bytes()));
        }
        assert!(seen.insert(other.random_bytes()));
        assert_eq!(ids.used, IDS_PER_DRAW * 16);
        assert!(ids.bytes.iter().all(|&b| b == 0), "spent bytes are wiped");
    }
}
