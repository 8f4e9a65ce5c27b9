//! Secondary indexes: for one field path of a collection, the slots of its
//! items by the values the path reaches, ordered, so that an equality or a
//! range filter finds its candidates without reading every item.
//!
//! An index is built on the first list query that filters the field with an
//! equality (`field=v`, `field:eq`, `field:in`) or a range (`_gt`, `_gte`,
//! `_lt`, `_lte` and their `:` forms), one index per query at most (equality
//! filters first), and dropped by the next write to the collection (built
//! again by the next such query): a write costs nothing more, and a filtered
//! list that builds an index reads every item once to do it. A collection keeps at most
//! [`MAX_FIELD_INDEXES`]; past it they are all dropped and built again as asked.
//!
//! An index only narrows the candidates: the list query still runs every
//! filter on each candidate, so answers and `X-Total-Count` are exactly those
//! of a pass over every item. Keys follow the filters' comparisons (see
//! `select.rs`): numbers by exact value (`30` is `30.0`), strings by their
//! decoded text, booleans, `null`; arrays give their elements; objects and
//! arrays reached as values match no equality or range and are left out.

use crate::number::Decimal;
use crate::text;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, PoisonError};

/// The most field indexes one collection keeps.
pub const MAX_FIELD_INDEXES: usize = 8;

/// A value as an index key. Variants are ordered as they are declared, so a
/// range of one kind is a range of the map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Number(Decimal),
    Text(String),
    Bool(bool),
    Null,
}

impl Key {
    /// The key of a value's JSON text; `None` for arrays, objects and numbers
    /// that do not parse.
    fn of(raw: &str) -> Option<Self> {
        match raw.as_bytes().first()? {
            b'n' => Some(Self::Null),
            b't' => Some(Self::Bool(true)),
            b'f' => Some(Self::Bool(false)),
            b'"' => Some(Self::Text(text::decode_string(raw).into_owned())),
            b'{' | b'[' => None,
            _ => Decimal::parse(raw).map(Self::Number),
        }
    }
}

/// The items of a collection by the values one path reaches.
#[derive(Debug, Default)]
pub struct FieldIndex {
    /// For each key, the slots of the items that reach it, ascending.
    slots: BTreeMap<Key, Vec<u32>>,
}

/// A comparison an index can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `=`
    Eq,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

impl FieldIndex {
    /// Builds an index from every item's slot and the raw values its path
    /// reaches (`reach` is the list query's own).
    pub fn build<'a>(
        items: impl Iterator<Item = (u32, &'a str)>,
        mut reach: impl FnMut(&'a str, &mut Vec<&'a str>),
    ) -> Self {
        // By the value's raw text first (no copy, no decoding per item), then
        // by key: texts that are the same value (`1` and `1.0`, `"a"` and
        // `"\u0061"`) share a key.
        let mut by_text: HashMap<&'a str, Vec<u32>> = HashMap::new();
        let mut reached = Vec::new();
        for (slot, json) in items {
            reached.clear();
            reach(json, &mut reached);
            for &raw in &reached {
                let list = by_text.entry(raw).or_default();
                // An item reaching the same value twice (`[1,1]`) is listed once.
                if list.last() != Some(&slot) {
                    list.push(slot);
                }
            }
        }
        let mut slots: BTreeMap<Key, Vec<u32>> = BTreeMap::new();
        let mut merged = Vec::new();
        for (raw, list) in by_text {
            let Some(key) = Key::of(raw) else { continue };
            match slots.entry(key) {
                std::collections::btree_map::Entry::Vacant(vacant) => {
                    vacant.insert(list);
                }
                std::collections::btree_map::Entry::Occupied(mut occupied) => {
                    occupied.get_mut().extend(list);
                    merged.push(occupied.key().clone());
                }
            }
        }
        for key in merged {
            if let Some(list) = slots.get_mut(&key) {
                list.sort_unstable();
                list.dedup();
            }
        }
        Self { slots }
    }

    /// The key ranges a comparison with the query's text `wanted` can match,
    /// one per kind of value it is comparable with (as `select.rs` compares:
    /// strings always, numbers if `wanted` is one, booleans if it is `true`
    /// or `false`, `null` for equality only).
    fn ranges(probe: Probe, wanted: &str) -> Vec<(Bound<Key>, Bound<Key>)> {
        // Each kind: the key compared with, and the bounds of the kind.
        let mut kinds = vec![(
            Key::Text(wanted.to_owned()),
            Bound::Included(Key::Text(String::new())),
            Bound::Excluded(Key::Bool(false)),
        )];
        if let Some(number) = Decimal::parse(wanted) {
            kinds.push((
                Key::Number(number),
                Bound::Unbounded,
                Bound::Excluded(Key::Text(String::new())),
            ));
        }
        if wanted == "true" || wanted == "false" {
            kinds.push((
                Key::Bool(wanted == "true"),
                Bound::Included(Key::Bool(false)),
                Bound::Excluded(Key::Null),
            ));
        }
        if probe == Probe::Eq && wanted == "null" {
            kinds.push((Key::Null, Bound::Unbounded, Bound::Unbounded));
        }
        // Each range starts no later than it ends, and never at an excluded
        // key it also ends at, so `BTreeMap::range` takes it.
        kinds
            .into_iter()
            .map(|(at, low, high)| match probe {
                Probe::Eq => (Bound::Included(at.clone()), Bound::Included(at)),
                Probe::Gt => (Bound::Excluded(at), high),
                Probe::Gte => (Bound::Included(at), high),
                Probe::Lt => (low, Bound::Excluded(at)),
                Probe::Lte => (low, Bound::Included(at)),
            })
            .collect()
    }

    /// How many slots (with repeats across keys) a comparison would give: the
    /// cost of [`FieldIndex::candidates`], to choose the narrowest filter.
    pub fn estimate(&self, probe: Probe, values: &[String]) -> usize {
        values
            .iter()
            .flat_map(|wanted| Self::ranges(probe, wanted))
            .map(|range| {
                self.slots
                    .range(range)
                    .map(|(_, list)| list.len())
                    .sum::<usize>()
            })
            .sum()
    }

    /// The slots of every item that may match `probe` against any of
    /// `values`, ascending and without repeats. Every item that matches is
    /// among them.
    pub fn candidates(&self, probe: Probe, values: &[String]) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        for wanted in values {
            for range in Self::ranges(probe, wanted) {
                for (_, list) in self.slots.range(range) {
                    out.extend_from_slice(list);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// A collection's field indexes, by path: built on a read (reads share the
/// collection, hence the lock), dropped by any write. A copy starts empty.
#[derive(Debug, Default)]
pub struct FieldIndexes(Mutex<HashMap<Vec<String>, Arc<FieldIndex>>>);

impl Clone for FieldIndexes {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl FieldIndexes {
    /// Drops every index (a write changed the items or moved their slots).
    pub fn clear(&mut self) {
        self.0
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The index of `path`, if it is built.
    pub fn get(&self, path: &[String]) -> Option<Arc<FieldIndex>> {
        let indexes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        indexes.get(path).map(Arc::clone)
    }

    /// The index of `path`, built by `build` if there is none.
    pub fn get_or_build(
        &self,
        path: &[String],
        build: impl FnOnce() -> FieldIndex,
    ) -> Arc<FieldIndex> {
        let mut indexes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = indexes.get(path) {
            return Arc::clone(index);
        }
        if indexes.len() >= MAX_FIELD_INDEXES {
            indexes.clear();
        }
        let index = Arc::new(build());
        indexes.insert(path.to_vec(), Arc::clone(&index));
        index
    }
}
