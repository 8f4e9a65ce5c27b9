//! Sets of slots: posting lists kept in blocks, and the matches of a query as a list or as bits.

use super::*;

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
    pub(super) fn from_sorted(slots: Vec<u32>) -> Self {
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
    pub(super) fn contains(&self, slot: u32) -> bool {
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
pub(super) fn page_of_bits<'a>(
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
pub(super) fn union<'a>(lists: impl Iterator<Item = &'a Posting> + Clone, slots: usize) -> SlotSet {
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

pub(super) fn bit(bits: &[u64], id: u32) -> bool {
    bits.get(id as usize / 64)
        .is_some_and(|word| word & (1 << (id % 64)) != 0)
}

pub(super) fn set_bit(bits: &mut [u64], id: u32) {
    if let Some(word) = bits.get_mut(id as usize / 64) {
        *word |= 1 << (id % 64);
    }
}
