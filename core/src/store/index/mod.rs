//! Secondary indexes of a collection, kept up to date by every write: field
//! indexes for filters, `_like` and the string operators, and a word index
//! for `q`.
//!
//! **Field indexes.** For one field path, the slots of the items by the
//! values the path reaches ([`FieldIndex`]). One is built on the first list
//! query that filters the field with an equality (`field=v`, `field:eq`,
//! `field:in`), a range (`_gt`, `_gte`, `_lt`, `_lte` and their `:` forms),
//! `_like` or a string operator (`:contains`, `:startsWith`, `:endsWith`),
//! by reading every item once (one index built per query at most:
//! a filter whose index is not built yet is checked on the candidates' texts;
//! at most [`MAX_INDEXED_FILTERS`] filters of a query go through indexes).
//! From then on every write to the collection keeps it up to date: a new item
//! appends its slot, a replace or a delete takes the slot out of the keys of
//! the old text and a replace puts it under the new text's. Each such step
//! moves at most one block of [`BLOCK`] slots, and an index's tables grow in
//! chunks or are ordered maps (nothing is rehashed or copied whole), so no
//! write pauses in proportion to the collection. A sweep of the holes renumbers the slots and
//! drops the indexes (built again on first use): it already reads the whole
//! collection, once per as many deletes as there are items. A collection keeps
//! at most [`MAX_FIELD_INDEXES`]; past it they are all dropped and built again
//! as asked.
//!
//! Keys follow the filters' comparisons (see `select.rs`): numbers by exact
//! value (`30` is `30.0`), strings by their decoded text, booleans, `null`;
//! arrays give their elements; objects and arrays reached as values match no
//! equality, range or pattern and are left out. Equality and range filters
//! are answered exactly by the keys; so are `_like` patterns on strings and
//! booleans and the string operators on strings (compared lower-cased), run
//! once per distinct key rather than once per item. A number's
//! key does not keep the text a pattern sees (`1` and `1.0` share it): the
//! index keeps the texts seen for it (up to four), and when they do not all
//! agree on the pattern, the items under that key are read and checked.
//!
//! Besides its keys, an index keeps, for every slot, the key its item reaches
//! (or a mark for none, or for several), so a query with several filters
//! tests each candidate of the narrowest one against the others without
//! reading its text. When every filter and `q` is answered exactly and the
//! list is not sorted, the selection counts and pages without reading any
//! item but the page's.
//!
//! **Pair counts.** A query with two filters that field indexes answer
//! exactly, with many candidates, is counted from the two indexes' pair
//! counts ([`PairCounts`]): how many items reach each pair of their keys,
//! made from the two slot-to-key maps on the first such query and kept up to
//! date by writes. Its total is a sum over the pairs the filters match, and
//! its page is found by walking the narrower filter's slots until it is full.
//! Pairs that vary too freely (more than [`MAX_PAIRS`]) are not counted.
//!
//! **The word index.** For `q`: the slots of the items by the words of their
//! string values ([`WordIndex`]): maximal runs of alphanumeric characters of
//! the lower-cased, decoded strings, the item's own id excluded (as `q`
//! excludes it). Built on the first `q` that it can answer, kept up to date
//! by writes as field indexes are. A `q` whose lower-cased text is all
//! alphanumeric can only match inside one word, so its items are exactly
//! those of the words that contain it: the vocabulary is scanned, not the
//! items. Any other `q` reads every item. The items of the last
//! [`KEPT_SEARCHES`] different `q`s are kept ([`Matches`]) and kept up to
//! date by writes like the rest of the index (a new text sets
//! a kept `q`'s bit when one of its words contains it, a removed item
//! clears it), so a `q` asked again is counted and paged without a union
//! of its words' lists.
//!
//! **Memory.** A field index costs 4 bytes per item for the slot-to-key map
//! plus 4 bytes per (item, distinct value) in the postings, and per distinct
//! value its key and about 100 bytes; the word index 4 bytes per (item,
//! distinct word) and per distinct word the word and about 100 bytes, and
//! for each kept `q` 4 bytes per match or a bit per slot. For the
//! bench's people (a million, 100 last names, 50 ages, two words each) the
//! two field indexes and the word index take about 24 MB; a field whose
//! every value differs (an e-mail) costs about 150 bytes per item. Pair
//! counts take about 50 bytes per distinct pair (at most [`MAX_PAIRS`]) and 4
//! bytes per item that reaches several keys in either field.

mod field;
mod pairs;
mod slots;
mod words;

pub(crate) use field::{FieldIndex, Matched, Verdict};
pub(crate) use pairs::{PairCounts, MAX_PAIRS};
use slots::{bit, page_of_bits, set_bit, union};
pub(crate) use slots::{Posting, SlotSet};
pub(crate) use words::{Matches, WordIndex};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The most field indexes one collection keeps.
pub(crate) const MAX_FIELD_INDEXES: usize = 8;
/// The most filters of one query answered through field indexes; the others
/// are checked on the candidates' texts.
pub(crate) const MAX_INDEXED_FILTERS: usize = 4;
/// Slots per block of a posting list: the most a write moves in one.
pub(crate) const BLOCK: usize = 1024;
/// The most `q`s whose matches the word index keeps up to date.
pub(crate) const KEPT_SEARCHES: usize = 8;
/// The most number texts an index keeps per number key, for `_like`.
const MAX_RAWS: usize = 4;

/// In the slot-to-key map: a slot whose item reaches no key (or no item).
const NO_KEY: u32 = u32::MAX;
/// In the slot-to-key map, the bit that marks a slot whose item reaches
/// several keys: the other bits say where its keys are listed.
const MANY_KEYS: u32 = 1 << 31;

/// A collection's indexes: the field indexes by path and the word index,
/// built on a read (reads share the collection, hence the locks) and kept up
/// to date by writes. A copy starts with none.
#[derive(Debug, Default)]
pub(crate) struct FieldIndexes {
    fields: Mutex<HashMap<Vec<String>, Arc<FieldIndex>>>,
    /// Pair counts by the serials of their two indexes; `None` where they
    /// were declined (past [`MAX_PAIRS`]).
    pairs: Mutex<Vec<PairEntry>>,
    words: Mutex<Option<Arc<WordIndex>>>,
    /// The last serial given to a field index built.
    serial: AtomicU64,
}

type PairEntry = ((u64, u64), Option<Arc<PairCounts>>);

impl Clone for FieldIndexes {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl FieldIndexes {
    /// Drops every index (the slots were renumbered).
    pub(crate) fn clear(&mut self) {
        self.fields
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.pairs
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        *self.words.get_mut().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Applies a write to every index: the item `old` leaves `slot` (a
    /// replace or a delete), and `new` comes into it (a create or a replace).
    /// An index shared with a read still running (none is, as writes take the
    /// collection whole) is dropped instead.
    pub(crate) fn write(&mut self, slot: u32, old: Option<&str>, new: Option<&str>) {
        let fields = self
            .fields
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        let pairs = self.pairs.get_mut().unwrap_or_else(PoisonError::into_inner);
        // The slot's old keys leave the pair counts, its new keys come in.
        follow_pairs(pairs, fields, slot, PairCounts::take);
        fields.retain(|_, index| {
            let Some(index) = Arc::get_mut(index) else {
                return false;
            };
            if let Some(old) = old {
                index.remove(slot, old);
            }
            if let Some(new) = new {
                index.insert(slot, new);
            }
            true
        });
        follow_pairs(pairs, fields, slot, PairCounts::add);
        let words = self.words.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = words {
            match Arc::get_mut(shared) {
                Some(index) => {
                    if let Some(old) = old {
                        index.remove(slot, old);
                    }
                    if let Some(new) = new {
                        index.insert(slot, new);
                    }
                }
                None => *words = None,
            }
        }
    }

    /// The index of `path`, if it is built.
    pub(crate) fn built(&self, path: &[String]) -> Option<Arc<FieldIndex>> {
        let indexes = self.fields.lock().unwrap_or_else(PoisonError::into_inner);
        indexes.get(path).map(Arc::clone)
    }

    /// Whether the word index is built.
    pub(crate) fn words_built(&self) -> bool {
        self.words
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// The index of `path`, built by `build` if there is none.
    pub(crate) fn field(
        &self,
        path: &[String],
        build: impl FnOnce() -> FieldIndex,
    ) -> Arc<FieldIndex> {
        let mut indexes = self.fields.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = indexes.get(path) {
            return Arc::clone(index);
        }
        if indexes.len() >= MAX_FIELD_INDEXES {
            indexes.clear();
            self.pairs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
        let mut index = build();
        index.serial = self.serial.fetch_add(1, Ordering::Relaxed) + 1;
        let index = Arc::new(index);
        indexes.insert(path.to_vec(), Arc::clone(&index));
        index
    }

    /// The pair counts of two built indexes ([`FieldIndexes::field`]),
    /// counted on first use; `None` where they are declined (past
    /// [`MAX_PAIRS`]).
    pub(crate) fn pair(&self, a: &FieldIndex, b: &FieldIndex) -> Option<Arc<PairCounts>> {
        let mut pairs = self.pairs.lock().unwrap_or_else(PoisonError::into_inner);
        let named = |serials: &(u64, u64)| {
            *serials == (a.serial, b.serial) || *serials == (b.serial, a.serial)
        };
        if let Some((_, counts)) = pairs.iter().find(|(serials, _)| named(serials)) {
            return counts.clone();
        }
        let counts = PairCounts::build(a, b).map(Arc::new);
        pairs.push(((a.serial, b.serial), counts.clone()));
        counts
    }

    /// The word index, built by `build` if there is none.
    pub(crate) fn words(&self, build: impl FnOnce() -> WordIndex) -> Arc<WordIndex> {
        let mut words = self.words.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(words.get_or_insert_with(|| Arc::new(build())))
    }
}

/// Applies `step` ([`PairCounts::take`] or [`PairCounts::add`]) for `slot`
/// to every pair counts, with the slot's keys in their two indexes as they
/// are now. Counts whose index is gone (dropped or built again) go, and so do
/// counts shared with a read still running (none is: writes take the
/// collection whole); counts grown past [`MAX_PAIRS`] are declined.
fn follow_pairs(
    pairs: &mut Vec<PairEntry>,
    fields: &HashMap<Vec<String>, Arc<FieldIndex>>,
    slot: u32,
    step: fn(&mut PairCounts, u32, u32, u32),
) {
    if pairs.is_empty() {
        return;
    }
    let of = |serial: u64| fields.values().find(|index| index.serial == serial);
    pairs.retain_mut(|((first, second), counts)| {
        let (Some(first), Some(second)) = (of(*first), of(*second)) else {
            return false;
        };
        let Some(shared) = counts else {
            return true;
        };
        let Some(pairs) = Arc::get_mut(shared) else {
            return false;
        };
        step(pairs, slot, first.key_of(slot), second.key_of(slot));
        if pairs.counts.len() > MAX_PAIRS {
            *counts = None;
        }
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postings_stay_sorted_through_inserts_and_removes_in_the_middle() {
        let mut list = Posting::default();
        let mut model = std::collections::BTreeSet::new();
        for slot in (0..10_000u32).step_by(3) {
            list.insert(slot);
            model.insert(slot);
        }
        // Middle inserts split blocks; removes empty some.
        for slot in (1..10_000u32).step_by(3) {
            list.insert(slot);
            model.insert(slot);
        }
        for slot in (0..10_000u32).filter(|s| s % 7 != 0) {
            assert_eq!(list.remove(slot), model.remove(&slot));
        }
        assert!(!list.remove(2));
        list.insert(0);
        model.insert(0);
        assert_eq!(list.len(), model.len());
        assert!(list.iter().eq(model.iter().copied()));
        let Posting::Blocks(blocks, _) = &list else {
            panic!("many slots are kept in blocks");
        };
        assert!(blocks.iter().all(|b| !b.is_empty() && b.len() <= 2 * BLOCK));
        // One slot is kept inline; none is empty again.
        let mut list = Posting::default();
        list.insert(5);
        list.insert(5);
        assert!(matches!(list, Posting::One(5)));
        list.insert(3);
        assert_eq!(list.to_vec(), [3, 5]);
        assert!(list.remove(3) && list.remove(5) && !list.remove(5));
        assert!(list.is_empty() && list.iter().next().is_none());
    }

    #[test]
    fn words_are_runs_of_alphanumerics_of_values_not_keys_nor_the_id() {
        let mut seen = Vec::new();
        words::words(
            r#"{"Name":"Darth VADER-7 darth","n":["x1 É",{"k":"\u0041b"}],"m":12,"_id":"zzz"}"#,
            &mut |word| seen.push(word.to_owned()),
        );
        assert_eq!(seen, ["darth", "vader", "7", "darth", "x1", "é", "ab"]);
    }

    #[test]
    fn kept_searches_follow_writes_past_their_first_size() {
        let item = |n: u32| format!(r#"{{"w":"ab{} x{n}","_id":"{n}"}}"#, n % 2);
        let mut index = WordIndex::build(
            (0..10)
                .map(|n| (n, item(n)))
                .collect::<Vec<_>>()
                .iter()
                .map(|(n, t)| (*n, t.as_str())),
        );
        // Two words hold `ab`: a bitmap over the ten slots; one word: a list.
        assert!(matches!(*index.search("ab", 10), Matches::Many(..)));
        assert!(matches!(*index.search("ab1", 10), Matches::Few(_)));
        for n in 10..300 {
            index.insert(n, &item(n));
        }
        for n in (0..300).step_by(3) {
            index.remove(n, &item(n));
        }
        let kept: Vec<u32> = (0..300).filter(|n| n % 3 != 0).collect();
        let odd: Vec<u32> = kept.iter().copied().filter(|n| n % 2 == 1).collect();
        for (q, expected) in [("ab", &kept), ("ab1", &odd)] {
            let matches = index.search(q, 300);
            assert_eq!(matches.len(), expected.len(), "{q}");
            assert_eq!(matches.page(0, usize::MAX), *expected, "{q}");
            assert_eq!(matches.page(50, 3), expected[50..53], "{q}");
            assert!(matches.contains(299) && !matches.contains(297) && !matches.contains(1000));
        }
    }

    #[test]
    fn unions_are_sorted_whichever_way_they_are_made() {
        let mut a = Posting::default();
        let mut b = Posting::default();
        for slot in 0..1000 {
            if slot % 2 == 0 {
                a.insert(slot);
            }
            if slot % 3 == 0 {
                b.insert(slot);
            }
        }
        let expected: Vec<u32> = (0..1000).filter(|s| s % 2 == 0 || s % 3 == 0).collect();
        let sorted = union([&a, &b].into_iter(), 1_000_000);
        let bits = union([&a, &b].into_iter(), 1000);
        assert!(matches!(sorted, SlotSet::Sorted(_)) && matches!(bits, SlotSet::Bits(..)));
        for set in [sorted, bits] {
            assert_eq!(set.len(), expected.len());
            assert_eq!(set.page(0, usize::MAX), expected);
            assert_eq!(set.page(100, 7), expected[100..107]);
            assert_eq!(
                set.page(expected.len() - 2, 5),
                expected[expected.len() - 2..]
            );
            assert!(set.page(expected.len(), 5).is_empty());
            assert_eq!(set.into_vec(), expected);
        }
    }
}
