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

use crate::json::number::Decimal;
use crate::json::text;
use crate::store::chunked::Chunked;
use crate::store::query::{Filter, Op};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::ops::Bound;
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

/// Slots in ascending order, without repeats: none, one (kept inline, as
/// most keys of a field whose values differ hold one item), or in blocks of
/// at most 2 × [`BLOCK`] (none empty), so that a slot is put in or taken out
/// by moving one block's part.
#[derive(Debug, Default, Clone)]
pub(crate) enum Posting {
    /// No slot.
    #[default]
    Empty,
    /// One slot.
    One(u32),
    /// Blocks of slots, and how many in all.
    Blocks(Vec<Vec<u32>>, usize),
}

impl Posting {
    /// How many slots.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::One(_) => 1,
            Self::Blocks(_, len) => *len,
        }
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The block of `blocks` that holds `slot` or would (the first whose last
    /// slot is at least `slot`), if any.
    fn block_of(blocks: &[Vec<u32>], slot: u32) -> Option<usize> {
        let at = blocks.partition_point(|block| block.last().is_some_and(|&last| last < slot));
        (at < blocks.len()).then_some(at)
    }

    /// Adds a slot (a no-op if it is there).
    pub(crate) fn insert(&mut self, slot: u32) {
        let (blocks, len) = match self {
            Self::Empty => {
                *self = Self::One(slot);
                return;
            }
            Self::One(one) if *one == slot => return,
            Self::One(one) => {
                let pair = if *one < slot {
                    vec![*one, slot]
                } else {
                    vec![slot, *one]
                };
                *self = Self::Blocks(vec![pair], 2);
                return;
            }
            Self::Blocks(blocks, len) => (blocks, len),
        };
        let Some(at) = Self::block_of(blocks, slot) else {
            // Past the last slot: the usual case, a new item.
            match blocks.last_mut() {
                Some(last) if last.len() < BLOCK => last.push(slot),
                _ => {
                    let mut block = Vec::with_capacity(BLOCK);
                    block.push(slot);
                    blocks.push(block);
                }
            }
            *len += 1;
            return;
        };
        let block = &mut blocks[at];
        let Err(place) = block.binary_search(&slot) else {
            return;
        };
        block.insert(place, slot);
        *len += 1;
        if block.len() > 2 * BLOCK {
            let upper = block.split_off(BLOCK);
            blocks.insert(at + 1, upper);
        }
    }

    /// Takes a slot out; returns whether it was there.
    pub(crate) fn remove(&mut self, slot: u32) -> bool {
        let (blocks, len) = match self {
            Self::Empty => return false,
            Self::One(one) => {
                if *one != slot {
                    return false;
                }
                *self = Self::Empty;
                return true;
            }
            Self::Blocks(blocks, len) => (blocks, len),
        };
        let Some(at) = Self::block_of(blocks, slot) else {
            return false;
        };
        let block = &mut blocks[at];
        let Ok(place) = block.binary_search(&slot) else {
            return false;
        };
        block.remove(place);
        if block.is_empty() {
            blocks.remove(at);
        }
        *len -= 1;
        if *len == 0 {
            *self = Self::Empty;
        }
        true
    }

    /// The slots of a sorted list without repeats.
    fn from_sorted(slots: Vec<u32>) -> Self {
        match slots[..] {
            [] => Self::Empty,
            [one] => Self::One(one),
            _ => {
                let len = slots.len();
                let blocks = slots.chunks(BLOCK).map(<[u32]>::to_vec).collect();
                Self::Blocks(blocks, len)
            }
        }
    }

    /// Whether `slot` is one of them.
    fn contains(&self, slot: u32) -> bool {
        match self {
            Self::Empty => false,
            Self::One(one) => *one == slot,
            Self::Blocks(blocks, _) => Self::block_of(blocks, slot)
                .is_some_and(|at| blocks[at].binary_search(&slot).is_ok()),
        }
    }

    /// The slots, ascending, as slices.
    fn slices(&self) -> impl Iterator<Item = &[u32]> + Clone + '_ {
        let (one, blocks): (&[u32], &[Vec<u32>]) = match self {
            Self::Empty => (&[], &[]),
            Self::One(one) => (std::slice::from_ref(one), &[]),
            Self::Blocks(blocks, _) => (&[], blocks),
        };
        std::iter::once(one).chain(blocks.iter().map(Vec::as_slice))
    }

    /// The slots, ascending, copied out.
    pub(crate) fn to_vec(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.len());
        for slice in self.slices() {
            out.extend_from_slice(slice);
        }
        out
    }

    /// The slots, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + Clone + '_ {
        self.slices().flatten().copied()
    }
}

/// Slots, ascending and without repeats: a sorted list, or for many of them
/// a bitmap over every slot of the collection with their count (which costs
/// no sort, and no list as long as they are when only counted and paged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SlotSet {
    /// A sorted list.
    Sorted(Vec<u32>),
    /// A bitmap, bit `s % 64` of word `s / 64` for slot `s`, and how many are set.
    Bits(Vec<u64>, usize),
}

impl SlotSet {
    /// How many slots.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Sorted(slots) => slots.len(),
            Self::Bits(_, count) => *count,
        }
    }

    /// The slots from the `start`-th (0-based), at most `len` of them.
    pub(crate) fn page(&self, start: usize, len: usize) -> Vec<u32> {
        match self {
            Self::Sorted(slots) => slots.iter().skip(start).take(len).copied().collect(),
            Self::Bits(bits, count) => page_of_bits(bits.iter(), *count, start, len),
        }
    }

    /// Every slot, as a sorted list.
    pub(crate) fn into_vec(self) -> Vec<u32> {
        match self {
            Self::Sorted(slots) => slots,
            Self::Bits(_, count) => self.page(0, count),
        }
    }
}

/// The set slots of a bitmap (`words`, of which `count` bits are set) from
/// the `start`-th (0-based), at most `len` of them.
fn page_of_bits<'a>(
    words: impl Iterator<Item = &'a u64>,
    count: usize,
    start: usize,
    len: usize,
) -> Vec<u32> {
    let mut skip = start;
    let len = len.min(count.saturating_sub(start));
    let mut out = Vec::with_capacity(len);
    for (n, &word) in words.enumerate() {
        if out.len() == len {
            break;
        }
        let ones = word.count_ones() as usize;
        if skip >= ones {
            skip -= ones;
            continue;
        }
        let mut word = word;
        while word != 0 && out.len() < len {
            let at = word.trailing_zeros();
            word &= word - 1;
            if skip > 0 {
                skip -= 1;
            } else {
                out.push((n * 64) as u32 + at);
            }
        }
    }
    out
}

/// The slots of all `lists`; `slots` bounds them (the collection's slot count).
fn union<'a>(lists: impl Iterator<Item = &'a Posting> + Clone, slots: usize) -> SlotSet {
    let total: usize = lists.clone().map(Posting::len).sum();
    let mut lists = lists.filter(|list| !list.is_empty());
    let (Some(first), second) = (lists.next(), lists.next()) else {
        return SlotSet::Sorted(Vec::new());
    };
    let Some(second) = second else {
        return SlotSet::Sorted(first.to_vec());
    };
    if total < slots / 32 {
        let mut out: Vec<u32> = first.iter().chain(second.iter()).collect();
        for list in lists {
            out.extend(list.iter());
        }
        out.sort_unstable();
        out.dedup();
        return SlotSet::Sorted(out);
    }
    // Many slots: a bitmap over them costs no sort.
    let mut bits = vec![0u64; slots.div_ceil(64)];
    for list in [first, second].into_iter().chain(lists) {
        for slice in list.slices() {
            for &slot in slice {
                set_bit(&mut bits, slot);
            }
        }
    }
    let count = bits.iter().map(|word| word.count_ones() as usize).sum();
    SlotSet::Bits(bits, count)
}

/// The items of a collection by the values one path reaches (see the module
/// docs).
#[derive(Debug)]
pub(crate) struct FieldIndex {
    path: Vec<String>,
    /// Which build of the collection's indexes this is (see
    /// [`FieldIndexes::field`]): a [`PairCounts`] names the two it counts.
    serial: u64,
    /// Key ids by key.
    ids: BTreeMap<Key, u32>,
    /// The slots of each key, by key id; empty for a free id.
    entries: Chunked<Posting>,
    /// For each number key: the texts seen for it (only grows; `None` past
    /// [`MAX_RAWS`]), so that a pattern can tell whether it matches every
    /// item under the key.
    raws: BTreeMap<u32, Option<Vec<Box<str>>>>,
    free: Vec<u32>,
    /// For each slot: its item's key id, [`NO_KEY`], or [`MANY_KEYS`] with
    /// the place of its keys in `many`.
    forward: Chunked<u32>,
    /// The key ids of the slots that reach several; empty in a free place.
    many: Chunked<Box<[u32]>>,
    many_free: Vec<u32>,
}

/// How a slot fares against a filter answered by an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It passes.
    Yes,
    /// It does not.
    No,
    /// Its text must be read to tell.
    Maybe,
}

/// The keys of an index a filter matches: exactly (`yes`), or only perhaps,
/// their items to be checked (`maybe`); as bitmaps over key ids.
#[derive(Debug)]
pub(crate) struct Matched {
    yes: Vec<u64>,
    maybe: Vec<u64>,
    /// The ids set in either, for gathering their slots.
    ids: Vec<u32>,
    /// Whether `maybe` is empty.
    exact: bool,
}

fn bit(bits: &[u64], id: u32) -> bool {
    bits.get(id as usize / 64)
        .is_some_and(|word| word & (1 << (id % 64)) != 0)
}

fn set_bit(bits: &mut [u64], id: u32) {
    if let Some(word) = bits.get_mut(id as usize / 64) {
        *word |= 1 << (id % 64);
    }
}

impl Matched {
    /// Whether every slot of its keys passes.
    pub(crate) fn exact(&self) -> bool {
        self.exact
    }
}

impl FieldIndex {
    /// Builds the index of `path` over every item with its slot, in slot order.
    pub(crate) fn build<'a>(path: &[String], items: impl Iterator<Item = (u32, &'a str)>) -> Self {
        let mut index = Self {
            path: path.to_vec(),
            serial: 0,
            ids: BTreeMap::new(),
            entries: Chunked::default(),
            raws: BTreeMap::new(),
            free: Vec::new(),
            forward: Chunked::default(),
            many: Chunked::default(),
            many_free: Vec::new(),
        };
        // Items mostly repeat a few texts: look each text's key id up once.
        let mut seen: HashMap<&'a str, u32> = HashMap::new();
        let mut reached = Vec::new();
        let mut ids = Vec::new();
        for (slot, json) in items {
            reached.clear();
            ids.clear();
            crate::json::text::reach(json, &index.path, &mut reached);
            for &raw in &reached {
                let id = match seen.get(raw) {
                    Some(&id) => id,
                    None => {
                        let Some(id) = index.key_id(raw) else {
                            continue;
                        };
                        if seen.len() < 1 << 16 {
                            seen.insert(raw, id);
                        }
                        id
                    }
                };
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            index.place(slot, &ids);
        }
        index
    }

    /// The id of a value's key, made if new; `None` for a value with no key.
    fn key_id(&mut self, raw: &str) -> Option<u32> {
        let key = Key::of(raw)?;
        let id = match self.ids.get(&key) {
            Some(&id) => id,
            None => {
                let id = match self.free.pop() {
                    Some(id) => id,
                    None => {
                        self.entries.push(Posting::Empty);
                        u32::try_from(self.entries.len() - 1).unwrap_or(NO_KEY)
                    }
                };
                if matches!(key, Key::Number(_)) {
                    self.raws.insert(id, Some(Vec::new()));
                }
                self.ids.insert(key, id);
                id
            }
        };
        if let Some(Some(raws)) = self.raws.get_mut(&id) {
            if !raws.iter().any(|seen| **seen == *raw) {
                if raws.len() < MAX_RAWS {
                    raws.push(raw.into());
                } else {
                    self.raws.insert(id, None);
                }
            }
        }
        Some(id)
    }

    /// Puts a slot under keys (distinct) and records them as its keys.
    fn place(&mut self, slot: u32, ids: &[u32]) {
        for &id in ids {
            if let Some(list) = self.entries.get_mut(id as usize) {
                list.insert(slot);
            }
        }
        let value = match ids {
            [] => NO_KEY,
            [id] => *id,
            _ => {
                let at = match self.many_free.pop() {
                    Some(at) => {
                        self.many[at as usize] = ids.into();
                        at
                    }
                    None => {
                        self.many.push(ids.into());
                        u32::try_from(self.many.len() - 1).unwrap_or(0)
                    }
                };
                MANY_KEYS | at
            }
        };
        let at = slot as usize;
        while self.forward.len() <= at {
            self.forward.push(NO_KEY);
        }
        self.forward[at] = value;
    }

    /// What the slot-to-key map holds for `slot`.
    fn key_of(&self, slot: u32) -> u32 {
        self.forward.get(slot as usize).copied().unwrap_or(NO_KEY)
    }

    /// A new item, or the new text of a replaced one, in `slot`.
    pub(crate) fn insert(&mut self, slot: u32, json: &str) {
        let mut reached = Vec::new();
        crate::json::text::reach(json, &self.path, &mut reached);
        let mut ids = Vec::new();
        for raw in reached {
            if let Some(id) = self.key_id(raw) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        self.place(slot, &ids);
    }

    /// Takes the item in `slot`, whose text is `json`, out (deleted, or
    /// about to be replaced). Its keys are read again from its text, so that
    /// a key is kept once, in the map.
    pub(crate) fn remove(&mut self, slot: u32, json: &str) {
        if let Some(value) = self.forward.get_mut(slot as usize) {
            let value = std::mem::replace(value, NO_KEY);
            if value != NO_KEY && value & MANY_KEYS != 0 {
                let at = value & !MANY_KEYS;
                if let Some(ids) = self.many.get_mut(at as usize) {
                    *ids = Box::default();
                    self.many_free.push(at);
                }
            }
        }
        let mut reached = Vec::new();
        crate::json::text::reach(json, &self.path, &mut reached);
        for raw in reached {
            let Some(key) = Key::of(raw) else { continue };
            let Some(&id) = self.ids.get(&key) else {
                continue;
            };
            let Some(list) = self.entries.get_mut(id as usize) else {
                continue;
            };
            list.remove(slot);
            if list.is_empty() {
                self.raws.remove(&id);
                self.ids.remove(&key);
                self.free.push(id);
            }
        }
    }

    /// The key ranges a comparison with the query's text `wanted` can match,
    /// one per kind of value it is comparable with (as `select.rs` compares:
    /// strings always, numbers if `wanted` is one, booleans if it is `true`
    /// or `false`, `null` for equality only).
    fn ranges(op: Op, wanted: &str) -> Vec<(Bound<Key>, Bound<Key>)> {
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
        if op == Op::Eq && wanted == "null" {
            kinds.push((Key::Null, Bound::Unbounded, Bound::Unbounded));
        }
        // Each range starts no later than it ends, and never at an excluded
        // key it also ends at, so `BTreeMap::range` takes it.
        kinds
            .into_iter()
            .filter_map(|(at, low, high)| match op {
                Op::Eq => Some((Bound::Included(at.clone()), Bound::Included(at))),
                Op::Gt => Some((Bound::Excluded(at), high)),
                Op::Gte => Some((Bound::Included(at), high)),
                Op::Lt => Some((low, Bound::Excluded(at))),
                Op::Lte => Some((low, Bound::Included(at))),
                _ => None,
            })
            .collect()
    }

    /// Whether a filter can be answered by an index.
    pub(crate) fn answers(filter: &Filter) -> bool {
        matches!(
            filter.op,
            Op::Eq
                | Op::Gt
                | Op::Gte
                | Op::Lt
                | Op::Lte
                | Op::Like
                | Op::Contains
                | Op::StartsWith
                | Op::EndsWith
        )
    }

    /// The keys `filter` (one that [`FieldIndex::answers`]) matches.
    pub(crate) fn matching(&self, filter: &Filter) -> Matched {
        let words = self.entries.len().div_ceil(64);
        let mut matched = Matched {
            yes: vec![0; words],
            maybe: vec![0; words],
            ids: Vec::new(),
            exact: true,
        };
        if filter.op == Op::Like {
            for (key, &id) in &self.ids {
                let is_match = |text: &str| filter.patterns.iter().any(|p| p.0.is_match(text));
                let verdict = match key {
                    Key::Text(text) => is_match(text),
                    Key::Bool(b) => is_match(if *b { "true" } else { "false" }),
                    Key::Null => false,
                    Key::Number(_) => match self.raws.get(&id) {
                        Some(Some(raws)) if raws.iter().all(|raw| is_match(raw)) => true,
                        Some(Some(raws)) if !raws.iter().any(|raw| is_match(raw)) => false,
                        _ => {
                            set_bit(&mut matched.maybe, id);
                            matched.ids.push(id);
                            matched.exact = false;
                            continue;
                        }
                    },
                };
                if verdict {
                    set_bit(&mut matched.yes, id);
                    matched.ids.push(id);
                }
            }
            return matched;
        }
        if matches!(filter.op, Op::Contains | Op::StartsWith | Op::EndsWith) {
            // Strings only, compared lower-cased with the lower-cased values,
            // once per distinct string.
            let strings = (
                Bound::Included(Key::Text(String::new())),
                Bound::Excluded(Key::Bool(false)),
            );
            for (key, &id) in self.ids.range(strings) {
                let Key::Text(text) = key else { continue };
                let text = text.to_lowercase();
                let is_match = filter.values.iter().any(|wanted| match filter.op {
                    Op::Contains => text.contains(wanted.as_str()),
                    Op::StartsWith => text.starts_with(wanted.as_str()),
                    _ => text.ends_with(wanted.as_str()),
                });
                if is_match {
                    set_bit(&mut matched.yes, id);
                    matched.ids.push(id);
                }
            }
            return matched;
        }
        for wanted in &filter.values {
            for range in Self::ranges(filter.op, wanted) {
                for (_, &id) in self.ids.range(range) {
                    if !bit(&matched.yes, id) {
                        set_bit(&mut matched.yes, id);
                        matched.ids.push(id);
                    }
                }
            }
        }
        matched
    }

    fn entry(&self, id: u32) -> Option<&Posting> {
        self.entries.get(id as usize)
    }

    /// How many slots (with repeats across keys) the matched keys hold.
    pub(crate) fn estimate(&self, matched: &Matched) -> usize {
        matched
            .ids
            .iter()
            .filter_map(|&id| self.entry(id))
            .map(Posting::len)
            .sum()
    }

    /// The slots of the matched keys, ascending, without repeats; `slots` is
    /// the collection's slot count.
    pub(crate) fn slots(&self, matched: &Matched, slots: usize) -> SlotSet {
        let lists = matched.ids.iter().filter_map(|&id| self.entry(id));
        union(lists, slots)
    }

    /// The slots of the one matched key, when there is one.
    pub(crate) fn single(&self, matched: &Matched) -> Option<&Posting> {
        match matched.ids[..] {
            [id] => self.entry(id),
            _ => None,
        }
    }

    /// The slots of the matched keys, ascending, without repeats, read from
    /// their lists as they go (a merge of them when there are several).
    pub(crate) fn walk<'a>(&'a self, matched: &Matched) -> Box<dyn Iterator<Item = u32> + 'a> {
        let mut lists: Vec<&'a Posting> = matched
            .ids
            .iter()
            .filter_map(|&id| self.entry(id))
            .filter(|list| !list.is_empty())
            .collect();
        if lists.len() <= 1 {
            return Box::new(lists.pop().into_iter().flat_map(Posting::iter));
        }
        let mut heads: Vec<_> = lists.into_iter().map(Posting::iter).collect();
        let mut next: BinaryHeap<Reverse<(u32, usize)>> = heads
            .iter_mut()
            .enumerate()
            .filter_map(|(n, head)| Some(Reverse((head.next()?, n))))
            .collect();
        let mut last = None;
        Box::new(std::iter::from_fn(move || loop {
            let Reverse((slot, n)) = next.pop()?;
            if let Some(following) = heads[n].next() {
                next.push(Reverse((following, n)));
            }
            // An item of several matched keys is in each of their lists.
            if last != Some(slot) {
                last = Some(slot);
                return Some(slot);
            }
        }))
    }

    /// Keeps the slots whose items pass for certain (for a [`Matched`] that
    /// is exact: the others do not pass), from the slots' keys alone: the
    /// tight loop of a filtered list's count.
    pub(crate) fn retain_passing(&self, slots: &mut Vec<u32>, matched: &Matched) {
        slots.retain(
            |&slot| match self.forward.get(slot as usize).copied().unwrap_or(NO_KEY) {
                NO_KEY => false,
                value if value & MANY_KEYS != 0 => self.test(slot, matched) == Verdict::Yes,
                id => bit(&matched.yes, id),
            },
        );
    }

    /// How the item in `slot` fares against the matched keys, from the
    /// slot's keys alone.
    pub(crate) fn test(&self, slot: u32, matched: &Matched) -> Verdict {
        let one = |id: u32| {
            if bit(&matched.yes, id) {
                Verdict::Yes
            } else if bit(&matched.maybe, id) {
                Verdict::Maybe
            } else {
                Verdict::No
            }
        };
        match self.forward.get(slot as usize).copied().unwrap_or(NO_KEY) {
            NO_KEY => Verdict::No,
            value if value & MANY_KEYS != 0 => {
                let mut verdict = Verdict::No;
                let ids = self.many.get((value & !MANY_KEYS) as usize);
                for &id in ids.map(|ids| &ids[..]).unwrap_or_default() {
                    match one(id) {
                        Verdict::Yes => return Verdict::Yes,
                        Verdict::Maybe => verdict = Verdict::Maybe,
                        Verdict::No => {}
                    }
                }
                verdict
            }
            id => one(id),
        }
    }
}

/// The most distinct key pairs a [`PairCounts`] keeps: past it, the two
/// fields vary together too freely for counting by pairs to pay, and the
/// counts are dropped (not built again until the indexes are).
pub(crate) const MAX_PAIRS: usize = 1 << 16;

/// For two field indexes of a collection, how many items reach each pair of
/// their keys (one key in each), so that a query filtering both fields is
/// counted from the pairs its filters match, not by testing every candidate.
/// Items that reach several keys in either field are listed apart and tested
/// one by one; items that reach no key in either are in neither (they match
/// no filter an index answers). Kept up to date by every write, as the two
/// indexes are, from the slot-to-key maps of the two.
#[derive(Debug)]
pub(crate) struct PairCounts {
    /// The serials of the two indexes, in the order of the keys' halves.
    serials: (u64, u64),
    /// The count of each key pair, by `first << 32 | second`; none is zero.
    counts: HashMap<u64, u32>,
    /// The slots whose items reach several keys in either field.
    mixed: Posting,
}

impl PairCounts {
    /// Counts the pairs of `first` and `second` over every slot; `None`
    /// past [`MAX_PAIRS`].
    pub(crate) fn build(first: &FieldIndex, second: &FieldIndex) -> Option<Self> {
        let mut pairs = Self {
            serials: (first.serial, second.serial),
            counts: HashMap::new(),
            mixed: Posting::Empty,
        };
        let slots = first.forward.len().max(second.forward.len());
        for slot in 0..u32::try_from(slots).ok()? {
            pairs.add(slot, first.key_of(slot), second.key_of(slot));
            if pairs.counts.len() > MAX_PAIRS {
                return None;
            }
        }
        Some(pairs)
    }

    /// Counts the slot, whose keys (as the slot-to-key maps hold them) are
    /// `first` and `second`.
    fn add(&mut self, slot: u32, first: u32, second: u32) {
        if first == NO_KEY || second == NO_KEY {
            return;
        }
        if (first | second) & MANY_KEYS != 0 {
            self.mixed.insert(slot);
            return;
        }
        *self.counts.entry(pair(first, second)).or_insert(0) += 1;
    }

    /// Takes back what [`PairCounts::add`] counted for the slot.
    fn take(&mut self, slot: u32, first: u32, second: u32) {
        if first == NO_KEY || second == NO_KEY {
            return;
        }
        if (first | second) & MANY_KEYS != 0 {
            self.mixed.remove(slot);
            return;
        }
        let key = pair(first, second);
        if let Some(count) = self.counts.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                self.counts.remove(&key);
            }
        }
    }

    /// How many items pass both filters, each answered exactly by its index
    /// ([`Matched::exact`]): `a` and `b` are the two indexes counted here,
    /// in either order, with the keys their filters match.
    pub(crate) fn total(&self, a: (&FieldIndex, &Matched), b: (&FieldIndex, &Matched)) -> usize {
        let (first, second) = if self.serials.0 == a.0.serial {
            (a, b)
        } else {
            (b, a)
        };
        let (first_ids, second_ids) = (&first.1.ids, &second.1.ids);
        let mut total = 0;
        if first_ids.len().saturating_mul(second_ids.len()) <= self.counts.len() {
            for &x in first_ids {
                for &y in second_ids {
                    total += self.counts.get(&pair(x, y)).copied().unwrap_or(0) as usize;
                }
            }
        } else {
            for (&key, &count) in &self.counts {
                let (x, y) = ((key >> 32) as u32, key as u32);
                if bit(&first.1.yes, x) && bit(&second.1.yes, y) {
                    total += count as usize;
                }
            }
        }
        for slot in self.mixed.iter() {
            if first.0.test(slot, first.1) == Verdict::Yes
                && second.0.test(slot, second.1) == Verdict::Yes
            {
                total += 1;
            }
        }
        total
    }
}

fn pair(first: u32, second: u32) -> u64 {
    u64::from(first) << 32 | u64::from(second)
}

/// Calls `each` with every word of an item's string values (see the module
/// docs), repeats included.
fn words(item: &str, each: &mut impl FnMut(&str)) {
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
        words(
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
