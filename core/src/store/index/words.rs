//! The word index: the items of a collection by the words of their strings, for `q`, and the
//! kept matches of the most recent `q`s.

use super::*;
use crate::json::text;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Calls `each` with every word of an item's string values (see the module
/// docs), repeats included.
pub(super) fn words(item: &str, each: &mut impl FnMut(&str)) {
    fn visit(value: &str, each: &mut impl FnMut(&str)) {
        match value.as_bytes().first() {
            Some(b'"') => {
                let decoded = text::decode_string(value);
                let lowered;
                let text = if decoded.chars().any(char::is_uppercase) || !decoded.is_ascii() {
                    lowered = decoded.to_lowercase();
                    lowered.as_str()
                } else {
                    &decoded
                };
                for word in text.split(|c: char| !c.is_alphanumeric()) {
                    if !word.is_empty() {
                        each(word);
                    }
                }
            }
            Some(b'[') => {
                for element in text::array_elements(value) {
                    visit(element, each);
                }
            }
            Some(b'{') => {
                for member in text::members(value) {
                    visit(member.value, each);
                }
            }
            _ => {}
        }
    }
    let members = text::members(item);
    // The last member is the item's own id, which `q` does not search.
    let own = members.len().saturating_sub(1);
    for member in &members[..own] {
        visit(member.value, each);
    }
}

/// The items of a collection by the words of their strings, for `q` (see the
/// module docs).
#[derive(Debug, Default)]
pub(crate) struct WordIndex {
    /// Ordered, so that a growing vocabulary never rehashes at once.
    words: BTreeMap<Box<str>, Posting>,
    /// The matches of the most recent `q`s (at most [`KEPT_SEARCHES`], the
    /// most recently asked last), by lower-cased `q`, kept up to date by
    /// writes.
    searched: Mutex<Vec<(Box<str>, Arc<Matches>)>>,
}

/// The items a `q` matches, as the word index keeps them for a recent `q`:
/// few, in a list that a write changes one block of; or many (as
/// [`union`] decides), a bit per slot and how many are set, the bitmap
/// growing as a `Vec` does (at a million slots, 125 KB copied when it
/// doubles).
#[derive(Debug)]
pub(crate) enum Matches {
    /// Few.
    Few(Posting),
    /// Many.
    Many(Vec<u64>, usize),
}

impl Matches {
    fn of(set: SlotSet) -> Self {
        match set {
            SlotSet::Sorted(slots) => Self::Few(Posting::from_sorted(slots)),
            SlotSet::Bits(bits, count) => Self::Many(bits, count),
        }
    }

    /// How many items.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Few(list) => list.len(),
            Self::Many(_, count) => *count,
        }
    }

    /// Whether the item in `slot` is one of them.
    pub(crate) fn contains(&self, slot: u32) -> bool {
        match self {
            Self::Few(list) => list.contains(slot),
            Self::Many(bits, _) => bit(bits, slot),
        }
    }

    /// The slots from the `start`-th (0-based), at most `len` of them.
    pub(crate) fn page(&self, start: usize, len: usize) -> Vec<u32> {
        match self {
            Self::Few(list) => list.iter().skip(start).take(len).collect(),
            Self::Many(bits, count) => page_of_bits(bits.iter(), *count, start, len),
        }
    }

    fn set(&mut self, slot: u32) {
        match self {
            Self::Few(list) => list.insert(slot),
            Self::Many(bits, count) => {
                let at = slot as usize / 64;
                if bits.len() <= at {
                    bits.resize(at + 1, 0);
                }
                if !bit(bits, slot) {
                    set_bit(bits, slot);
                    *count += 1;
                }
            }
        }
    }

    fn unset(&mut self, slot: u32) {
        match self {
            Self::Few(list) => {
                list.remove(slot);
            }
            Self::Many(bits, count) => {
                if bit(bits, slot) {
                    if let Some(word) = bits.get_mut(slot as usize / 64) {
                        *word &= !(1 << (slot % 64));
                    }
                    *count -= 1;
                }
            }
        }
    }
}

impl WordIndex {
    /// Builds the index over every item with its slot.
    pub(crate) fn build<'a>(items: impl Iterator<Item = (u32, &'a str)>) -> Self {
        let mut index = Self::default();
        for (slot, json) in items {
            index.insert(slot, json);
        }
        index
    }

    /// A new item, or the new text of a replaced one, in `slot`.
    pub(crate) fn insert(&mut self, slot: u32, json: &str) {
        let searched = self
            .searched
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        // Which kept `q`s the item matches, a bit each.
        let mut matched = 0u32;
        words(json, &mut |word| {
            for (n, (q, _)) in searched.iter().enumerate() {
                if word.contains(&**q) {
                    matched |= 1 << n;
                }
            }
            match self.words.get_mut(word) {
                // A word the item repeats finds its slot there already.
                Some(list) => list.insert(slot),
                None => {
                    self.words.insert(word.into(), Posting::One(slot));
                }
            }
        });
        let mut n = 0;
        searched.retain_mut(|(_, matches)| {
            let is_match = matched & (1 << n) != 0;
            n += 1;
            follow_matches(matches, |matches| {
                if is_match {
                    matches.set(slot);
                }
            })
        });
    }

    /// The item with this text in `slot` is taken out.
    pub(crate) fn remove(&mut self, slot: u32, json: &str) {
        self.searched
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .retain_mut(|(_, matches)| follow_matches(matches, |matches| matches.unset(slot)));
        words(json, &mut |word| {
            if let Some(list) = self.words.get_mut(word) {
                list.remove(slot);
                if list.is_empty() {
                    self.words.remove(word);
                }
            }
        });
    }

    /// Whether the index answers `q` (lower-cased) exactly: it is not empty
    /// and all alphanumeric.
    pub(crate) fn answers(lowered: &str) -> bool {
        !lowered.is_empty() && lowered.chars().all(char::is_alphanumeric)
    }

    /// The items whose strings contain `lowered` (one that
    /// [`WordIndex::answers`]); `slots` is the collection's slot count. Kept
    /// for the next [`KEPT_SEARCHES`] different `q`s, and up to date.
    pub(crate) fn search(&self, lowered: &str, slots: usize) -> Arc<Matches> {
        let mut searched = self.searched.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = searched.iter().position(|(q, _)| **q == *lowered) {
            let kept = searched.remove(at);
            let matches = Arc::clone(&kept.1);
            searched.push(kept);
            return matches;
        }
        let lists = self
            .words
            .iter()
            .filter(|(word, _)| word.contains(lowered))
            .map(|(_, list)| list);
        let matches = Arc::new(Matches::of(union(lists, slots)));
        if searched.len() >= KEPT_SEARCHES {
            searched.remove(0);
        }
        searched.push((lowered.into(), Arc::clone(&matches)));
        matches
    }
}

/// Applies a write to a kept `q`'s matches; `false` (drop them) when they
/// are shared with a read still running (none is: writes take the
/// collection whole).
fn follow_matches(matches: &mut Arc<Matches>, write: impl FnOnce(&mut Matches)) -> bool {
    match Arc::get_mut(matches) {
        Some(matches) => {
            write(matches);
            true
        }
        None => false,
    }
}
