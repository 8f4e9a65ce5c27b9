//! A field index: the items of a collection by the values one path reaches, with each slot's key.

use super::*;
use crate::json::number::Decimal;
use crate::json::text;
use crate::store::chunked::Chunked;
use crate::store::query::{Filter, Op};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::ops::Bound;

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

/// The items of a collection by the values one path reaches (see the module
/// docs).
#[derive(Debug)]
pub(crate) struct FieldIndex {
    path: Vec<String>,
    /// Which build of the collection's indexes this is (see
    /// [`FieldIndexes::field`]): a [`PairCounts`] names the two it counts.
    pub(super) serial: u64,
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
    pub(super) forward: Chunked<u32>,
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
    pub(super) yes: Vec<u64>,
    maybe: Vec<u64>,
    /// The ids set in either, for gathering their slots.
    pub(super) ids: Vec<u32>,
    /// Whether `maybe` is empty.
    exact: bool,
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
    pub(super) fn key_of(&self, slot: u32) -> u32 {
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
