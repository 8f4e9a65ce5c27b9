//! The in-memory store: resource types, each a collection of JSON items.
//!
//! A collection keeps creation order in a slot vector and finds items through a
//! hash index, so get, replace and delete by id are O(1). A delete leaves a hole
//! that listing skips; holes are swept out once they outnumber the items, which
//! keeps deletes amortised O(1). A Fenwick tree over the slots counts live
//! items, so the k-th item (the start of a page) is found in O(log n). Items
//! are kept as the compact JSON text they are echoed with, so a read copies
//! bytes and re-encodes nothing. The slots, the index and the tree grow in
//! small steps ([`crate::store::chunked`]), so no write pauses to copy or rehash a
//! whole collection; filters and `q` have indexes of their own
//! ([`crate::store::index`]), which every write keeps up to date.
//!
//! Memory per item is its text plus about 45 bytes: the id is not stored
//! twice but read from the end of the text (every item ends with its `_id`),
//! and the index holds slot numbers, each with 32 bits of its id's hash (so
//! growing the index reads no item). Relations add, per type and per
//! foreign key asked for, an index of the items by the id their key names,
//! built when first needed and dropped by the next write.

pub(crate) mod chunked;
pub(crate) mod ids;
pub(crate) mod index;
pub(crate) mod query;
pub(crate) mod relations;
pub(crate) mod select;
pub(crate) mod snapshot;

use crate::json::text;
use crate::store::chunked::{Chunked, ShardedTable};
use crate::store::ids::{IdKeys, IdKind, ID_KEY};
use crate::store::index::FieldIndexes;
use indexmap::IndexMap;
use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

/// One stored item: its text, which ends with its id member
/// (`"_id":"…"}`, or `"id":12}` under `ID_FIELD=id`), where its id's JSON
/// text starts, and its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    json: Box<str>,
    tag: u64,
    id_at: u32,
}

impl Entry {
    /// Stores an item's text, making sure it ends with `"key":<id>}`, where
    /// `<id>` is the id as a string or, if the text holds it so, as an integer.
    fn new(key: &str, id: &str, json: String, tag: u64) -> Self {
        let ends_with = |value: &str| {
            json.strip_suffix('}')
                .and_then(|rest| rest.strip_suffix(value))
                .and_then(|rest| rest.strip_suffix("\":"))
                .and_then(|rest| rest.strip_suffix(key))
                .is_some_and(|rest| rest.ends_with('"'))
        };
        // `"<id>"`, checked in place when the id has nothing to escape (a
        // new item's id always ends the text so): no quoted copy to build.
        let plain = !id.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20);
        let ends_quoted = |json: &str| {
            json.strip_suffix("\"}")
                .and_then(|rest| rest.strip_suffix(id))
                .and_then(|rest| rest.strip_suffix('"'))
                .and_then(|rest| rest.strip_suffix("\":"))
                .and_then(|rest| rest.strip_suffix(key))
                .is_some_and(|rest| rest.ends_with('"'))
        };
        if plain && ends_quoted(&json) {
            let id_at = u32::try_from(json.len() - 3 - id.len()).unwrap_or(u32::MAX);
            return Self {
                json: json.into_boxed_str(),
                tag,
                id_at,
            };
        }
        let quoted = text::quote(id);
        let (json, id_len) = if ends_with(&quoted) {
            (json, quoted.len())
        } else if ids::integer_id(id).is_some() && ends_with(id) {
            (json, id.len())
        } else {
            // The id is elsewhere in the text (or missing): put it last,
            // as an integer if the text holds it as one.
            let value = match text::member(&json, key) {
                Some(raw) if ids::integer_id(raw).is_some() && raw == id => id.to_owned(),
                _ => quoted,
            };
            let len = value.len();
            (text::item_text(&json, key, &value), len)
        };
        let id_at = u32::try_from(json.len() - 1 - id_len).unwrap_or(u32::MAX);
        Self {
            json: json.into_boxed_str(),
            tag,
            id_at,
        }
    }

    /// The item's id, read from the end of its text.
    fn id(&self) -> Cow<'_, str> {
        id_at(&self.json, self.id_at)
    }

    /// Whether the item's id is an integer.
    fn integer_id(&self) -> Option<i64> {
        let raw = self.json.get(self.id_at as usize..self.json.len() - 1)?;
        ids::integer_id(raw)
    }
}

/// The id (its string form) of a stored item's text whose id's JSON text
/// starts at `at`: the one place that reads ids back from items.
fn id_at(json: &str, at: u32) -> Cow<'_, str> {
    let end = json.len().saturating_sub(1);
    ids::string_form(json.get(at as usize..end).unwrap_or_default())
}

/// An item as the store hands it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Item<'a> {
    /// The item's JSON text, its id included.
    pub json: &'a str,
    /// A hash of the text, for its `ETag`.
    pub tag: u64,
    id_at: u32,
}

impl<'a> Item<'a> {
    /// The item's id, in its string form (an integer id's digits).
    pub(crate) fn id(&self) -> Cow<'a, str> {
        id_at(self.json, self.id_at)
    }

    /// The item's id as its text holds it: `"abc"` or `12`.
    pub(crate) fn id_json(&self) -> &'a str {
        self.json
            .get(self.id_at as usize..self.json.len().saturating_sub(1))
            .unwrap_or_default()
    }
}

impl Item<'_> {
    /// The strong `ETag` header value, quotes included.
    pub(crate) fn etag(&self) -> String {
        // `"{:016x}"`, written without the formatting machinery: every read and write builds one.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(18);
        out.push('"');
        for shift in (0..16).rev() {
            out.push(char::from(HEX[(self.tag >> (shift * 4)) as usize & 0xf]));
        }
        out.push('"');
        out
    }
}

/// Counts of live slots, for finding the k-th live item in O(log n).
#[derive(Debug, Clone, Default)]
struct Fenwick {
    /// 1-based; `tree[0]` is unused. In chunks, so growing copies nothing.
    tree: Chunked<u32>,
}

impl Fenwick {
    fn prefix(&self, mut end: usize) -> u32 {
        let mut sum = 0;
        while end > 0 {
            sum += self.tree[end];
            end &= end - 1;
        }
        sum
    }

    /// Appends a live slot.
    fn push(&mut self) {
        if self.tree.is_empty() {
            self.tree.push(0);
        }
        let at = self.tree.len();
        let low = at & at.wrapping_neg();
        let covered = self.prefix(at - 1) - self.prefix(at - low);
        self.tree.push(covered + 1);
    }

    /// Marks a slot dead.
    fn remove(&mut self, slot: usize) {
        let mut at = slot + 1;
        while at < self.tree.len() {
            self.tree[at] -= 1;
            at += at & at.wrapping_neg();
        }
    }

    /// Rebuilds for `len` live slots.
    fn reset(&mut self, len: usize) {
        self.tree.clear();
        self.tree.push(0);
        for at in 1..=len {
            self.tree.push((at & at.wrapping_neg()) as u32);
        }
    }

    /// The slot of the k-th (0-based) live item, if there are that many.
    fn find(&self, k: usize) -> Option<usize> {
        let mut remaining = u32::try_from(k).ok()? + 1;
        let len = self.tree.len().saturating_sub(1);
        let mut at = 0;
        let mut step = len.checked_next_power_of_two().unwrap_or(0);
        while step > 0 {
            let next = at + step;
            if next <= len && self.tree[next] < remaining {
                remaining -= self.tree[next];
                at = next;
            }
            step /= 2;
        }
        (at < len).then_some(at)
    }
}

/// For one foreign key (`postId`): the slots of the items whose key names
/// an id, by that id's text, each list in creation order.
type KeyIndex = HashMap<String, Vec<u32>>;

/// The most foreign keys a collection keeps an index of; past it, they are
/// all dropped and built again as asked.
const MAX_KEY_INDEXES: usize = 8;

/// Foreign-key indexes of a collection, built on the first read that needs
/// one (`_embed`, a nested list) and dropped by any write to the collection,
/// so that relations read the items once per change, not once per request.
/// Behind a lock because reads share the collection; a copy starts empty.
#[derive(Debug, Default)]
struct KeyIndexes(Mutex<HashMap<String, Arc<KeyIndex>>>);

impl Clone for KeyIndexes {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl KeyIndexes {
    fn clear(&mut self) {
        self.0
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }
}

/// A collection's items by the id one foreign key of theirs names, from
/// [`Collection::children_by`].
#[derive(Debug)]
pub(crate) struct Children<'a> {
    collection: &'a Collection,
    index: Arc<KeyIndex>,
}

impl<'a> Children<'a> {
    /// The items whose key names `id`, in creation order.
    pub(crate) fn of<'s>(&'s self, id: &str) -> impl Iterator<Item = Item<'a>> + 's {
        let slots = &self.collection.slots;
        self.index
            .get(id)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(move |&slot| slots.get(slot as usize)?.as_ref().map(Entry::item))
    }
}

/// The items of one resource type, in creation order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Collection {
    /// In chunks, so a new item never moves the others (see [`crate::store::chunked`]).
    slots: Chunked<Option<Entry>>,
    /// Slot numbers, hashed by the id of the entry in the slot; in shards, so
    /// growing rehashes a small part of it.
    index: ShardedTable,
    hasher: RandomState,
    live: Fenwick,
    holes: usize,
    /// The length of every item's text, summed.
    bytes: usize,
    keys: KeyIndexes,
    /// The kind of the ids, set by the first item.
    kind: Option<IdKind>,
    /// The largest integer id, when known: `None` after the largest is
    /// removed, until [`Collection::largest_integer_id`] looks again.
    largest: Option<i64>,
    /// Secondary indexes for filters and `q`, kept up to date by writes and
    /// dropped by a sweep (see [`crate::store::index`]).
    fields: FieldIndexes,
}

impl Collection {
    /// The items whose member `key` names `id` (a string equal to it, or a
    /// number written as it; see [`text::key_text`]), in creation order.
    /// The first call for a key after a write reads every item once.
    pub(crate) fn children_of(&self, key: &str, id: &str) -> Vec<Item<'_>> {
        self.children_by(key).of(id).collect()
    }

    /// The items by the id their member `key` names, for looking up the
    /// children of many parents with one look at the cached index (see
    /// [`Collection::children_of`]).
    pub(crate) fn children_by(&self, key: &str) -> Children<'_> {
        let index = {
            let mut indexes = self
                .keys
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(index) = indexes.get(key) {
                Arc::clone(index)
            } else {
                if indexes.len() >= MAX_KEY_INDEXES {
                    indexes.clear();
                }
                let index = Arc::new(self.key_index(key));
                indexes.insert(key.to_owned(), Arc::clone(&index));
                index
            }
        };
        Children {
            collection: self,
            index,
        }
    }

    fn key_index(&self, key: &str) -> KeyIndex {
        let mut index = KeyIndex::new();
        for (slot, entry) in self.slots.iter().enumerate() {
            let Some(entry) = entry else { continue };
            let Some(id) = text::member(&entry.json, key).and_then(text::key_text) else {
                continue;
            };
            let slot = u32::try_from(slot).unwrap_or(u32::MAX);
            index.entry(id.into_owned()).or_default().push(slot);
        }
        index
    }

    /// The collection's field indexes (see [`crate::store::index`]).
    pub(crate) fn field_indexes(&self) -> &FieldIndexes {
        &self.fields
    }

    /// Every item with its slot, in creation order.
    pub(crate) fn slotted(&self) -> impl Iterator<Item = (u32, Item<'_>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(slot, entry)| Some((u32::try_from(slot).ok()?, entry.as_ref()?.item())))
    }

    /// The items in these slots (given ascending), in creation order.
    pub(crate) fn at_slots(&self, slots: Vec<u32>) -> impl Iterator<Item = Item<'_>> {
        slots
            .into_iter()
            .filter_map(|slot| self.slots.get(slot as usize)?.as_ref().map(Entry::item))
    }

    /// How many slots there are, holes included: every slot number is below it.
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// How many items there are.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The kind of the type's ids (all are of one kind), if it has items.
    pub(crate) fn id_kind(&self) -> Option<IdKind> {
        self.kind.filter(|_| !self.is_empty())
    }

    /// The largest integer id of the type, if it has integer ids. Reads
    /// every item once after the largest was removed.
    pub(crate) fn largest_integer_id(&mut self) -> Option<i64> {
        if self.id_kind() != Some(IdKind::Integer) {
            return None;
        }
        if self.largest.is_none() {
            self.largest = self
                .slots
                .iter()
                .flatten()
                .filter_map(Entry::integer_id)
                .max();
        }
        self.largest
    }

    fn slot_of(&self, id: &str) -> Option<usize> {
        self.slot_in(self.hasher.hash_one(id), id)
    }

    /// [`Collection::slot_of`], for an id whose hash is known.
    fn slot_in(&self, hash: u64, id: &str) -> Option<usize> {
        let slots = &self.slots;
        self.index
            .find(hash, |&slot| {
                slots
                    .get(slot as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|entry| entry.id() == id)
            })
            .map(|&slot| slot as usize)
    }

    /// One item by id.
    pub(crate) fn get(&self, id: &str) -> Option<Item<'_>> {
        let slot = self.slot_of(id)?;
        self.slots.get(slot)?.as_ref().map(Entry::item)
    }

    /// The items, in creation order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Item<'_>> {
        self.slots.iter().flatten().map(Entry::item)
    }

    /// The items from the `skip`-th on, in creation order, found in O(log n).
    pub(crate) fn iter_from(&self, skip: usize) -> impl Iterator<Item = Item<'_>> {
        let start = self.live.find(skip).unwrap_or(self.slots.len());
        self.slots.iter_from(start).flatten().map(Entry::item)
    }

    /// Stores an item: a new id goes last, a known id is replaced in its place.
    /// Returns whether the id was new.
    fn put(&mut self, key: &str, id: &str, json: String) -> bool {
        self.keys.clear();
        let mut entry = Entry::new(key, id, json, 0);
        entry.tag = tag_of(&entry.json);
        let integer = entry.integer_id();
        if self.is_empty() {
            self.kind = Some(if integer.is_some() {
                IdKind::Integer
            } else {
                IdKind::Text
            });
            self.largest = integer;
        } else if let (Some(n), Some(largest)) = (integer, self.largest) {
            self.largest = Some(largest.max(n));
        }
        self.bytes += entry.json.len();
        let hash = self.hasher.hash_one(id);
        if let Some(slot) = self.slot_in(hash, id) {
            if let Some(existing) = self.slots.get_mut(slot) {
                let old = existing.replace(entry);
                self.bytes -= old.as_ref().map_or(0, |old| old.json.len());
                let slot = u32::try_from(slot).unwrap_or(u32::MAX);
                let new = existing.as_ref().map(|new| &*new.json);
                self.fields
                    .write(slot, old.as_ref().map(|old| &*old.json), new);
            }
            return false;
        }
        let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        self.fields.write(slot, None, Some(&entry.json));
        self.index.insert_unique(hash, slot);
        self.slots.push(Some(entry));
        self.live.push();
        true
    }

    /// Removes an item and returns its JSON text and tag.
    fn remove(&mut self, id: &str) -> Option<(Box<str>, u64)> {
        let slot = self.slot_of(id)?;
        self.keys.clear();
        let hash = self.hasher.hash_one(id);
        self.index.remove(hash, |&s| s as usize == slot);
        let entry = self.slots.get_mut(slot)?.take()?;
        let at = u32::try_from(slot).unwrap_or(u32::MAX);
        self.fields.write(at, Some(&entry.json), None);
        if entry.integer_id().is_some() && entry.integer_id() == self.largest {
            self.largest = None;
        }
        self.bytes -= entry.json.len();
        self.live.remove(slot);
        self.holes += 1;
        if self.holes > 32 && self.holes > self.index.len() {
            self.sweep();
        }
        Some((entry.json, entry.tag))
    }

    /// Drops the holes and rebuilds the index.
    fn sweep(&mut self) {
        self.keys.clear();
        self.fields.clear();
        self.slots.retain(Option::is_some);
        self.index.clear();
        for (slot, entry) in self.slots.iter().enumerate() {
            if let Some(entry) = entry {
                let slot = u32::try_from(slot).unwrap_or(u32::MAX);
                self.index
                    .insert_unique(self.hasher.hash_one(entry.id().as_ref()), slot);
            }
        }
        self.live.reset(self.slots.len());
        self.holes = 0;
    }
}

impl Entry {
    fn item(&self) -> Item<'_> {
        Item {
            json: &self.json,
            tag: self.tag,
            id_at: self.id_at,
        }
    }
}

/// The tag of an item's text: a hash of the text alone (its `_id` included),
/// so that it changes when the item does and stays the same across restarts,
/// evictions and hosts. `DefaultHasher::new()` is SipHash with fixed keys: the
/// same for every process built by the same compiler.
fn tag_of(json: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    json.hash(&mut hasher);
    hasher.finish()
}

/// A singular resource's object and its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Single {
    json: Box<str>,
    tag: u64,
}

/// All resource types, in the order they were first written.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    /// The id field of each type (`ID_FIELD`, or a spec type's id property).
    keys: IdKeys,
    types: IndexMap<String, Collection>,
    /// The singular resources (a top-level object in a snapshot): each
    /// one object with no id, by name, in the order they came.
    singles: IndexMap<String, Single>,
    total: usize,
    /// The length of every item's text, summed over all types.
    bytes: usize,
}

impl Default for Store {
    fn default() -> Self {
        Self::keyed(ID_KEY)
    }
}

impl Store {
    /// An empty store whose items carry their id as `_id`.
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// An empty store whose items carry their id under `key` (a plain key).
    pub(crate) fn keyed(key: &str) -> Self {
        Self::with_keys(IdKeys::new(key))
    }

    /// An empty store whose items carry their id under their type's key.
    pub(crate) fn with_keys(keys: IdKeys) -> Self {
        Self {
            keys,
            types: IndexMap::new(),
            singles: IndexMap::new(),
            total: 0,
            bytes: 0,
        }
    }

    /// The id field of each type.
    pub(crate) fn keys(&self) -> &IdKeys {
        &self.keys
    }

    /// An empty store with the same id field.
    pub(crate) fn emptied(&self) -> Self {
        Self::with_keys(self.keys.clone())
    }

    /// A singular resource.
    pub(crate) fn single(&self, name: &str) -> Option<Item<'_>> {
        self.singles.get(name).map(|single| Item {
            json: &single.json,
            tag: single.tag,
            id_at: u32::try_from(single.json.len()).unwrap_or(u32::MAX),
        })
    }

    /// Sets a singular resource's object (compact JSON), creating it after
    /// the others if it is new.
    pub(crate) fn put_single(&mut self, name: &str, json: String) {
        let single = Single {
            tag: tag_of(&json),
            json: json.into_boxed_str(),
        };
        self.bytes += single.json.len();
        if let Some(old) = self.singles.insert(name.to_owned(), single) {
            self.bytes -= old.json.len();
        }
    }

    /// Every singular resource with its object, in the order they came.
    pub(crate) fn singles(&self) -> impl Iterator<Item = (&str, &str)> {
        self.singles
            .iter()
            .map(|(name, single)| (name.as_str(), &*single.json))
    }

    /// The collection of a type, to read its ids' kind and largest id.
    pub(crate) fn collection_mut(&mut self, resource: &str) -> Option<&mut Collection> {
        self.types.get_mut(resource)
    }

    /// The collection of a type, if it has any items.
    pub(crate) fn collection(&self, resource: &str) -> Option<&Collection> {
        self.types.get(resource)
    }

    /// One item.
    pub(crate) fn get(&self, resource: &str, id: &str) -> Option<Item<'_>> {
        self.types.get(resource)?.get(id)
    }

    /// Creates or replaces an item (see [`Collection`] for where it goes).
    pub(crate) fn put(&mut self, resource: &str, id: &str, json: String) {
        let collection = match self.types.get_mut(resource) {
            Some(collection) => collection,
            None => self.types.entry(resource.to_owned()).or_default(),
        };
        let before = collection.bytes;
        if collection.put(self.keys.of(resource), id, json) {
            self.total += 1;
        }
        self.bytes = self.bytes - before + collection.bytes;
    }

    /// Removes an item, returning its text and tag; a type left with no items
    /// is forgotten, as in the original mock.
    pub(crate) fn remove(&mut self, resource: &str, id: &str) -> Option<(Box<str>, u64)> {
        let collection = self.types.get_mut(resource)?;
        let removed = collection.remove(id)?;
        self.total -= 1;
        self.bytes -= removed.0.len();
        if collection.is_empty() {
            self.types.shift_remove(resource);
        }
        Some(removed)
    }

    /// Removes every item of a type; returns how many there were.
    pub(crate) fn clear(&mut self, resource: &str) -> usize {
        let (removed, bytes) = self
            .types
            .shift_remove(resource)
            .map_or((0, 0), |c| (c.len(), c.bytes));
        self.total -= removed;
        self.bytes -= bytes;
        removed
    }

    /// Every type with its items, in the order the types were created.
    pub(crate) fn types(&self) -> impl Iterator<Item = (&str, &Collection)> {
        self.types.iter().map(|(name, c)| (name.as_str(), c))
    }

    /// Every type with its item count, in the order the types were created.
    pub(crate) fn counts(&self) -> impl Iterator<Item = (&str, usize)> {
        self.types.iter().map(|(name, c)| (name.as_str(), c.len()))
    }

    /// The number of items of all types.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// The length of every item's stored text (`_id` included) and every
    /// singular resource's, summed:
    /// what `MAX_STORE_BYTES` bounds. Kept as items are written, so O(1).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored item's text for an id and a value.
    fn item(id: &str, n: &str) -> String {
        let quoted = serde_json::Value::String(id.to_owned()).to_string();
        text::item_text(&format!(r#"{{"n":"{n}"}}"#), "_id", &quoted)
    }

    /// The byte count, the slow way.
    fn stored_bytes(store: &Store) -> usize {
        store
            .types()
            .flat_map(|(_, c)| c.iter())
            .map(|item| item.json.len())
            .sum()
    }

    fn values(store: &Store, resource: &str) -> Vec<String> {
        store
            .collection(resource)
            .map(|c| {
                c.iter()
                    .map(|item| {
                        crate::json::body::parse_value(item.json).unwrap()["n"]
                            .as_str()
                            .unwrap()
                            .to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn foreign_key_indexes_follow_every_write() {
        let mut store = Store::new();
        let child = |id: &str, key: &str| {
            text::item_text(
                &format!(r#"{{"postId":{key}}}"#),
                "_id",
                &format!("\"{id}\""),
            )
        };
        store.put("c", "a", child("a", "1"));
        store.put("c", "b", child("b", r#""1""#));
        store.put("c", "x", child("x", r#""2""#));
        store.put("c", "n", child("n", "null"));
        let ids = |store: &Store, id: &str| -> Vec<String> {
            store
                .collection("c")
                .map(|c| c.children_of("postId", id))
                .unwrap_or_default()
                .iter()
                .map(|item| item.id().into_owned())
                .collect()
        };
        assert_eq!(ids(&store, "1"), ["a", "b"]);
        assert_eq!(ids(&store, "2"), ["x"]);
        assert!(ids(&store, "null").is_empty());
        // A replace, a new item and a delete are seen at once.
        store.put("c", "x", child("x", "1"));
        assert_eq!(ids(&store, "1"), ["a", "b", "x"]);
        store.put("c", "y", child("y", "1"));
        store.remove("c", "a");
        assert_eq!(ids(&store, "1"), ["b", "x", "y"]);
        assert!(ids(&store, "2").is_empty());
        // Holes swept out move slots: the index is rebuilt.
        for n in 0..40 {
            store.put("c", &format!("t{n}"), child(&format!("t{n}"), "3"));
        }
        for n in 0..40 {
            store.remove("c", &format!("t{n}"));
        }
        assert_eq!(ids(&store, "1"), ["b", "x", "y"]);
        let copy = store.clone();
        assert_eq!(ids(&copy, "1"), ["b", "x", "y"]);
    }

    #[test]
    fn keeps_creation_order_through_replace_and_delete() {
        let mut store = Store::new();
        for id in ["a", "b", "c"] {
            store.put("t", id, item(id, &id.to_uppercase()));
        }
        store.put("t", "b", item("b", "B2"));
        assert_eq!(
            store.remove("t", "a").map(|(json, _)| json).as_deref(),
            Some(item("a", "A").as_str())
        );
        store.put("t", "d", item("d", "D"));
        assert_eq!(values(&store, "t"), ["B2", "C", "D"]);
        assert_eq!(store.total(), 3);
        assert_eq!(store.bytes(), stored_bytes(&store));
        assert_eq!(
            store.get("t", "c").map(|i| i.json.to_owned()),
            Some(item("c", "C"))
        );
        assert_eq!(store.get("t", "a"), None);
    }

    #[test]
    fn ids_that_need_escaping_are_found() {
        let mut store = Store::new();
        for id in ["q\"uote", "back\\slash", "tab\tin", "é😀", "plain"] {
            store.put("t", id, item(id, id));
        }
        for id in ["q\"uote", "back\\slash", "tab\tin", "é😀", "plain"] {
            let found = store.get("t", id).map(|i| i.json.to_owned());
            assert_eq!(found, Some(item(id, id)), "{id}");
        }
        assert!(store.remove("t", "q\"uote").is_some());
        assert!(store.get("t", "q\"uote").is_none());
        assert_eq!(store.total(), 4);
    }

    #[test]
    fn an_item_without_its_id_last_is_stored_with_it_last() {
        let mut store = Store::new();
        store.put("t", "x", r#"{"_id":"x","a":1}"#.to_owned());
        assert_eq!(store.get("t", "x").unwrap().json, r#"{"a":1,"_id":"x"}"#);
    }

    #[test]
    fn the_tag_follows_the_text_and_survives_a_new_store() {
        let mut store = Store::new();
        store.put("t", "a", item("a", "1"));
        store.put("t", "b", item("b", "1"));
        let first = store.get("t", "a").unwrap().tag;
        assert_ne!(first, store.get("t", "b").unwrap().tag, "ids differ");
        store.put("t", "a", item("a", "2"));
        assert_ne!(first, store.get("t", "a").unwrap().tag, "new text, new tag");
        store.put("t", "a", item("a", "1"));
        assert_eq!(
            first,
            store.get("t", "a").unwrap().tag,
            "same text, same tag"
        );
        let mut restarted = Store::new();
        restarted.put("t", "a", item("a", "1"));
        assert_eq!(first, restarted.get("t", "a").unwrap().tag);
        let item = store.get("t", "a").unwrap();
        assert_eq!(item.etag(), format!("\"{:016x}\"", item.tag));
        let small = Item { tag: 0xab, ..item };
        assert_eq!(small.etag(), "\"00000000000000ab\"");
        assert_eq!(store.get("t", "a").unwrap().id(), "a");
    }

    #[test]
    fn sweeping_holes_keeps_every_item_reachable() {
        let mut store = Store::new();
        for n in 0..200 {
            store.put("t", &n.to_string(), item(&n.to_string(), &n.to_string()));
        }
        for n in (0..200).filter(|n| n % 4 != 0) {
            assert!(store.remove("t", &n.to_string()).is_some());
        }
        let expected: Vec<String> = (0..200).step_by(4).map(|n| n.to_string()).collect();
        assert_eq!(values(&store, "t"), expected);
        for n in (0..200).step_by(4) {
            let id = n.to_string();
            assert_eq!(
                store.get("t", &id).map(|i| i.json.to_owned()),
                Some(item(&id, &id))
            );
        }
        for n in (0..200).filter(|n| n % 4 != 0) {
            assert!(store.get("t", &n.to_string()).is_none());
        }
        assert_eq!(store.total(), 50);
        assert_eq!(store.bytes(), stored_bytes(&store));
    }

    #[test]
    fn iter_from_finds_the_kth_item_past_holes() {
        let mut store = Store::new();
        for n in 0..100 {
            store.put("t", &n.to_string(), item(&n.to_string(), &n.to_string()));
        }
        // Few enough deletes that no sweep runs: the holes stay.
        for n in [0, 1, 5, 50, 51, 52, 98] {
            store.remove("t", &n.to_string());
        }
        let collection = store.collection("t").unwrap();
        let all: Vec<&str> = collection.iter().map(|i| i.json).collect();
        for skip in 0..=all.len() + 2 {
            let from: Vec<&str> = collection.iter_from(skip).map(|i| i.json).collect();
            assert_eq!(from, all.get(skip..).unwrap_or_default(), "skip {skip}");
        }
    }

    #[test]
    fn fenwick_matches_a_plain_count() {
        let mut tree = Fenwick::default();
        let mut live = Vec::new();
        for n in 0..300usize {
            tree.push();
            live.push(true);
            if n % 3 == 1 {
                tree.remove(n - 1);
                live[n - 1] = false;
            }
        }
        let slots: Vec<usize> = (0..live.len()).filter(|&s| live[s]).collect();
        for (k, &slot) in slots.iter().enumerate() {
            assert_eq!(tree.find(k), Some(slot));
        }
        assert_eq!(tree.find(slots.len()), None);
    }

    #[test]
    fn clear_and_emptied_types_are_forgotten() {
        let mut store = Store::new();
        store.put("a", "1", item("1", "x"));
        store.put("b", "1", item("1", "x"));
        store.put("b", "2", item("2", "x"));
        store.remove("a", "1");
        assert_eq!(store.counts().collect::<Vec<_>>(), [("b", 2)]);
        assert_eq!(store.bytes(), stored_bytes(&store));
        assert_eq!(store.clear("b"), 2);
        assert_eq!(store.clear("b"), 0);
        assert_eq!(store.total(), 0);
        assert_eq!(store.bytes(), 0);
        assert_eq!(store.counts().count(), 0);
    }
}
