//! The in-memory store: resource types, each a collection of JSON items.
//!
//! A collection keeps creation order in a slot vector and finds items through a
//! hash index, so get, replace and delete by id are O(1). A delete leaves a hole
//! that listing skips; holes are swept out once they outnumber the items, which
//! keeps deletes amortised O(1). Items are kept as the compact JSON text they
//! are echoed with, so a read copies bytes and re-encodes nothing.

use indexmap::IndexMap;
use std::collections::HashMap;

/// One stored item: its id and its JSON text (which includes the id).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    id: Box<str>,
    json: Box<str>,
}

/// The items of one resource type, in creation order.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    slots: Vec<Option<Entry>>,
    index: HashMap<Box<str>, usize>,
    holes: usize,
}

impl Collection {
    /// How many items there are.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The JSON text of an item.
    pub fn get(&self, id: &str) -> Option<&str> {
        let slot = *self.index.get(id)?;
        self.slots.get(slot)?.as_ref().map(|entry| &*entry.json)
    }

    /// The items' JSON texts, in creation order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().flatten().map(|entry| &*entry.json)
    }

    /// Stores an item: a new id goes last, a known id is replaced in its place.
    /// Returns whether the id was new.
    fn put(&mut self, id: &str, json: String) -> bool {
        if let Some(entry) = self
            .index
            .get(id)
            .and_then(|&slot| self.slots.get_mut(slot))
            .and_then(Option::as_mut)
        {
            entry.json = json.into_boxed_str();
            return false;
        }
        self.index.insert(id.into(), self.slots.len());
        self.slots.push(Some(Entry {
            id: id.into(),
            json: json.into_boxed_str(),
        }));
        true
    }

    /// Removes an item and returns its JSON text.
    fn remove(&mut self, id: &str) -> Option<Box<str>> {
        let slot = self.index.remove(id)?;
        let entry = self.slots.get_mut(slot)?.take()?;
        self.holes += 1;
        if self.holes > 32 && self.holes > self.index.len() {
            self.sweep();
        }
        Some(entry.json)
    }

    /// Drops the holes and renumbers the index.
    fn sweep(&mut self) {
        self.slots.retain(Option::is_some);
        for (slot, entry) in self.slots.iter().enumerate() {
            if let Some(entry) = entry {
                self.index.insert(entry.id.clone(), slot);
            }
        }
        self.holes = 0;
    }
}

/// All resource types, in the order they were first written.
#[derive(Debug, Clone, Default)]
pub struct Store {
    types: IndexMap<String, Collection>,
    total: usize,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The collection of a type, if it has any items.
    pub fn collection(&self, resource: &str) -> Option<&Collection> {
        self.types.get(resource)
    }

    /// The JSON text of one item.
    pub fn get(&self, resource: &str, id: &str) -> Option<&str> {
        self.types.get(resource)?.get(id)
    }

    /// Creates or replaces an item (see [`Collection`] for where it goes).
    pub fn put(&mut self, resource: &str, id: &str, json: String) {
        let collection = match self.types.get_mut(resource) {
            Some(collection) => collection,
            None => self.types.entry(resource.to_owned()).or_default(),
        };
        if collection.put(id, json) {
            self.total += 1;
        }
    }

    /// Removes an item; a type left with no items is forgotten, as in the original mock.
    pub fn remove(&mut self, resource: &str, id: &str) -> Option<Box<str>> {
        let collection = self.types.get_mut(resource)?;
        let removed = collection.remove(id)?;
        self.total -= 1;
        if collection.is_empty() {
            self.types.shift_remove(resource);
        }
        Some(removed)
    }

    /// Every type with its item count, in the order the types were created.
    pub fn counts(&self) -> impl Iterator<Item = (&str, usize)> {
        self.types.iter().map(|(name, c)| (name.as_str(), c.len()))
    }

    /// The number of items of all types.
    pub fn total(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(store: &Store, resource: &str) -> Vec<String> {
        store
            .collection(resource)
            .map(|c| c.iter().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    #[test]
    fn keeps_creation_order_through_replace_and_delete() {
        let mut store = Store::new();
        for id in ["a", "b", "c"] {
            store.put("t", id, id.to_uppercase());
        }
        store.put("t", "b", "B2".to_owned());
        assert_eq!(store.remove("t", "a").as_deref(), Some("A"));
        store.put("t", "d", "D".to_owned());
        assert_eq!(ids(&store, "t"), ["B2", "C", "D"]);
        assert_eq!(store.total(), 3);
        assert_eq!(store.get("t", "c"), Some("C"));
        assert_eq!(store.get("t", "a"), None);
    }

    #[test]
    fn sweeping_holes_keeps_every_item_reachable() {
        let mut store = Store::new();
        for n in 0..200 {
            store.put("t", &n.to_string(), n.to_string());
        }
        for n in (0..200).filter(|n| n % 4 != 0) {
            assert!(store.remove("t", &n.to_string()).is_some());
        }
        let expected: Vec<String> = (0..200).step_by(4).map(|n| n.to_string()).collect();
        assert_eq!(ids(&store, "t"), expected);
        for n in (0..200).step_by(4) {
            assert_eq!(store.get("t", &n.to_string()), Some(n.to_string().as_str()));
        }
        assert_eq!(store.total(), 50);
    }

    #[test]
    fn an_emptied_type_is_forgotten() {
        let mut store = Store::new();
        store.put("a", "1", "{}".to_owned());
        store.put("b", "1", "{}".to_owned());
        store.remove("a", "1");
        assert_eq!(store.counts().collect::<Vec<_>>(), [("b", 1)]);
        assert!(store.collection("a").is_none());
        assert_eq!(store.remove("a", "1"), None);
    }
}
