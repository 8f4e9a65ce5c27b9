//! Item ids: the key they live under, where new ones come from, and how they
//! are written.

/// The key under which every item carries its id.
pub const ID_KEY: &str = "_id";

/// Where new `_id`s come from: 16 random bytes a call, which the engine turns
/// into a UUID v4. Hosts pass a real random source; tests pass [`SeededIds`].
pub trait IdSource: Send {
    /// Sixteen fresh random bytes.
    fn random_bytes(&mut self) -> [u8; 16];
}

/// A deterministic [`IdSource`] (SplitMix64 from a seed), for tests and replays.
#[derive(Debug, Clone)]
pub struct SeededIds {
    state: u64,
}

impl SeededIds {
    /// A source that gives the same ids for the same seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl IdSource for SeededIds {
    fn random_bytes(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes
    }
}

/// The length of a new id's JSON string, quotes included (a hyphenated UUID
/// has no character to escape).
pub(crate) const NEW_ID_QUOTED_BYTES: usize = uuid::fmt::Hyphenated::LENGTH + 2;

/// A fresh lowercase hyphenated UUID v4.
pub(crate) fn new_id(ids: &mut dyn IdSource) -> String {
    uuid::Builder::from_random_bytes(ids.random_bytes())
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// A seed that depends only on `bytes`, for ids that must be the same every
/// time the same content is loaded. `DefaultHasher::new()` is SipHash with
/// fixed keys: the same in every process built by the same compiler.
pub(crate) fn content_seed(bytes: &[u8]) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}
