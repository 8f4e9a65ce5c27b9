//! Pair counts: for two field indexes, how many items reach each pair of their keys.

use super::*;
use std::collections::HashMap;

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
    pub(super) counts: HashMap<u64, u32>,
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
    pub(super) fn add(&mut self, slot: u32, first: u32, second: u32) {
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
    pub(super) fn take(&mut self, slot: u32, first: u32, second: u32) {
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
