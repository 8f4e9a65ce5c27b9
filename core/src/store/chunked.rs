//! Containers that grow without a pause proportional to their size: the
//! store's slot vector, its id index and its Fenwick tree are built on them,
//! so that the write that grows a collection of a million items copies no
//! more than a small, fixed part of it.
//!
//! - [`Chunked`] is a vector in chunks of [`CHUNK`] elements: pushing never
//!   moves what is stored (the first chunk grows as a `Vec` does, up to
//!   [`CHUNK`]; later ones are allocated whole), so growing costs one chunk's
//!   allocation and the outer vector of chunk pointers.
//! - [`ShardedTable`] is a hash table split into [`SHARDS`] tables by bits of
//!   the hash that the tables themselves do not use: one table's resize
//!   rehashes about 1/[`SHARDS`] of the entries, from 32 bits of each
//!   entry's hash kept beside it (nothing outside the table is read).

use hashbrown::HashTable;
use std::ops::{Index, IndexMut};

/// Elements per chunk of a [`Chunked`] vector.
pub(crate) const CHUNK: usize = 4096;

/// A vector in fixed-size chunks (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    /// The number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The element at `at`, if there is one.
    pub(crate) fn get(&self, at: usize) -> Option<&T> {
        self.chunks.get(at / CHUNK)?.get(at % CHUNK)
    }

    /// The element at `at`, to change, if there is one.
    pub(crate) fn get_mut(&mut self, at: usize) -> Option<&mut T> {
        self.chunks.get_mut(at / CHUNK)?.get_mut(at % CHUNK)
    }

    /// Appends an element; moves none of the others.
    pub(crate) fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(value),
            _ => {
                // The first chunk starts small, so a small collection stays small.
                let mut chunk = Vec::with_capacity(if self.chunks.is_empty() { 0 } else { CHUNK });
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// Removes every element.
    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    /// The elements in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// The elements from `start` on, in order (none if `start` is past the end).
    pub(crate) fn iter_from(&self, start: usize) -> impl Iterator<Item = &T> {
        let first = start / CHUNK;
        let skip = start % CHUNK;
        self.chunks
            .get(first..)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .flat_map(move |(n, chunk)| {
                let from = if n == 0 { skip.min(chunk.len()) } else { 0 };
                chunk[from..].iter()
            })
    }

    /// Keeps only the elements `keep` accepts, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let old = std::mem::take(self);
        for value in old.chunks.into_iter().flatten() {
            if keep(&value) {
                self.push(value);
            }
        }
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;

    fn index(&self, at: usize) -> &T {
        &self.chunks[at / CHUNK][at % CHUNK]
    }
}

impl<T> IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, at: usize) -> &mut T {
        &mut self.chunks[at / CHUNK][at % CHUNK]
    }
}

/// The number of tables a [`ShardedTable`] is split into.
pub(crate) const SHARDS: usize = 64;

/// The hash a [`ShardedTable`] files a value under: made from the top 32
/// bits of the caller's hash, which the table keeps beside the value, so a
/// table that grows rehashes its values without the caller. The
/// multiplication by an odd constant spreads them over all 64 bits: the low
/// ones (hashbrown's bucket), the top 7 (its tag) and those of [`shard`].
fn file_under(kept: u32) -> u64 {
    u64::from(kept).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The 32 bits of a caller's hash the table keeps.
fn kept_bits(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// The table of a filed hash: bits 40 to 45, which hashbrown uses neither
/// for the bucket (the low bits, for tables under 2^40 buckets) nor for its
/// tag (the top 7 bits).
fn shard(filed: u64) -> usize {
    (filed >> 40) as usize % SHARDS
}

/// A hash table of `u32` values in [`SHARDS`] tables (see the module docs).
/// The tables are made on the first insert, so an empty one costs nothing.
/// Each value is kept with 32 bits of its hash: 8 bytes an entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShardedTable {
    shards: Vec<HashTable<(u32, u32)>>,
    len: usize,
}

impl ShardedTable {
    /// The number of values.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value with this hash that `eq` accepts.
    pub(crate) fn find(&self, hash: u64, mut eq: impl FnMut(&u32) -> bool) -> Option<&u32> {
        let kept = kept_bits(hash);
        let filed = file_under(kept);
        self.shards
            .get(shard(filed))?
            .find(filed, |(value, k)| *k == kept && eq(value))
            .map(|(value, _)| value)
    }

    /// Inserts a value known not to be there.
    pub(crate) fn insert_unique(&mut self, hash: u64, value: u32) {
        if self.shards.is_empty() {
            self.shards = (0..SHARDS).map(|_| HashTable::new()).collect();
        }
        let kept = kept_bits(hash);
        let filed = file_under(kept);
        if let Some(table) = self.shards.get_mut(shard(filed)) {
            table.insert_unique(filed, (value, kept), |&(_, k)| file_under(k));
            self.len += 1;
        }
    }

    /// Removes the value with this hash that `eq` accepts; whether there was one.
    pub(crate) fn remove(&mut self, hash: u64, mut eq: impl FnMut(&u32) -> bool) -> bool {
        let kept = kept_bits(hash);
        let filed = file_under(kept);
        let Some(table) = self.shards.get_mut(shard(filed)) else {
            return false;
        };
        match table.find_entry(filed, |(value, k)| *k == kept && eq(value)) {
            Ok(found) => {
                found.remove();
                self.len -= 1;
                true
            }
            Err(_) => false,
        }
    }

    /// Removes every value.
    pub(crate) fn clear(&mut self) {
        self.shards.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_is_a_vector() {
        let mut chunked = Chunked::default();
        let mut plain = Vec::new();
        for n in 0..3 * CHUNK + 17 {
            chunked.push(n);
            plain.push(n);
        }
        assert_eq!(chunked.len(), plain.len());
        assert!(chunked.iter().eq(plain.iter()));
        for start in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK + 16,
            3 * CHUNK + 17,
            5 * CHUNK,
        ] {
            assert!(
                chunked.iter_from(start).eq(plain.iter().skip(start)),
                "{start}"
            );
        }
        assert_eq!(chunked.get(3 * CHUNK + 17), None);
        assert_eq!(chunked[CHUNK + 5], CHUNK + 5);
        chunked[7] = 0;
        plain[7] = 0;
        if let Some(value) = chunked.get_mut(CHUNK) {
            *value = 1;
        }
        plain[CHUNK] = 1;
        chunked.retain(|n| n % 3 != 0);
        plain.retain(|n| n % 3 != 0);
        assert!(chunked.iter().eq(plain.iter()));
        assert_eq!(chunked.len(), plain.len());
        chunked.clear();
        assert!(chunked.is_empty() && chunked.iter().next().is_none());
    }

    #[test]
    fn sharded_table_finds_what_it_holds() {
        let hash = |n: &u32| u64::from(*n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut table = ShardedTable::default();
        assert_eq!(table.find(hash(&1), |_| true), None);
        for n in 0..20_000u32 {
            table.insert_unique(hash(&n), n);
        }
        assert_eq!(table.len(), 20_000);
        for n in (0..20_000u32).step_by(7) {
            assert_eq!(table.find(hash(&n), |&v| v == n), Some(&n));
        }
        assert!(table.remove(hash(&7), |&v| v == 7));
        assert!(!table.remove(hash(&7), |&v| v == 7));
        assert_eq!(table.find(hash(&7), |&v| v == 7), None);
        assert_eq!(table.len(), 19_999);
        table.clear();
        assert!(table.is_empty());
    }

    #[test]
    fn sharded_table_tells_values_of_one_hash_apart_by_eq() {
        let mut table = ShardedTable::default();
        for n in 0..100u32 {
            table.insert_unique(42 << 32, n);
        }
        for n in 0..100u32 {
            assert_eq!(table.find(42 << 32, |&v| v == n), Some(&n));
            assert_eq!(table.find(43 << 32, |&v| v == n), None);
        }
        assert!(table.remove(42 << 32, |&v| v == 50));
        assert_eq!(table.find(42 << 32, |&v| v == 50), None);
        assert_eq!(table.find(42 << 32, |&v| v == 51), Some(&51));
    }
}
