//! Answering a list query from a collection: narrow the items through the
//! field and word indexes where they apply ([`crate::store::index`]; when they
//! answer every filter and `q` and nothing is sorted, count and page from
//! them alone), otherwise filter, search and sort in one pass over the items
//! (or the indexes' candidates), then copy only the page.

use crate::json::number::Decimal;
use crate::json::text;
use crate::store::index::{
    FieldIndex, Matched, Matches, SlotSet, Verdict, WordIndex, BLOCK, MAX_INDEXED_FILTERS,
};
use crate::store::query::{Filter, ListQuery, Op, Paging, SortKey};
use crate::store::{Collection, Item};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

/// The answer to a list query.
#[derive(Debug)]
pub(crate) struct Selection<'a> {
    /// How many items matched, before paging (`X-Total-Count`).
    pub total: usize,
    /// The items to send.
    pub items: Vec<Item<'a>>,
    /// For `_page`: the first, previous, next and last page numbers.
    pub pages: Option<PageLinks>,
}

/// Page numbers for the `Link` header and the 1.0 envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageLinks {
    /// The page answered (for the envelope, brought into `1..=last`).
    pub page: usize,
    /// Items per page.
    pub limit: usize,
    /// The page before, if any.
    pub prev: Option<usize>,
    /// The page after, if any.
    pub next: Option<usize>,
    /// The last page (1 when there are no items).
    pub last: usize,
}

/// Runs a query over a collection (`None`: a type with no items).
///
/// Items are read as their stored text: a filter looks only at the fields its
/// path reaches, so nothing is parsed whole. Filters and `q` that indexes
/// answer go through them (see [`crate::store::index`]).
pub(crate) fn select<'a>(collection: Option<&'a Collection>, query: &ListQuery) -> Selection<'a> {
    let Some(collection) = collection else {
        return finish(Vec::new(), 0, query.paging);
    };
    if !query.alternatives.is_empty() {
        // `or`: every item is read (the indexes answer only ANDed filters).
        return run(collection.iter(), query);
    }
    if query.is_plain() {
        // Creation order, unfiltered: jump straight to the slice.
        let total = collection.len();
        let (start, len) = window(query.paging, total);
        let items = collection.iter_from(start).take(len).collect();
        return finish(items, total, query.paging);
    }
    match indexed(collection, query, collection.len() / 2, BLOCK) {
        Some(Indexed::Exact { total, page }) => {
            finish(collection.at_slots(page).collect(), total, query.paging)
        }
        Some(Indexed::Candidates(slots)) => run(collection.at_slots(slots), query),
        None => run(collection.iter(), query),
    }
}

/// What the indexes make of a query.
#[derive(Debug)]
enum Indexed {
    /// Exactly: how many items pass, and the page's slots, ascending.
    Exact { total: usize, page: Vec<u32> },
    /// The slots of the items that may pass, ascending (a superset): each is
    /// read and checked.
    Candidates(Vec<u32>),
}

/// One filter (or `q`) answered by an index.
enum Test {
    Field(Arc<FieldIndex>, Matched),
    /// `q`: its items, as the word index keeps them.
    Words(Arc<Matches>),
}

impl Test {
    fn estimate(&self) -> usize {
        match self {
            Self::Field(index, matched) => index.estimate(matched),
            Self::Words(matches) => matches.len(),
        }
    }

    fn exact(&self) -> bool {
        match self {
            Self::Field(_, matched) => matched.exact(),
            Self::Words(_) => true,
        }
    }

    fn test(&self, slot: u32) -> Verdict {
        match self {
            Self::Field(index, matched) => index.test(slot, matched),
            Self::Words(matches) => match matches.contains(slot) {
                true => Verdict::Yes,
                false => Verdict::No,
            },
        }
    }
}

/// Through the indexes (see [`crate::store::index`]): the filters and `q` that
/// indexes answer (building at most one index), the narrowest of them
/// giving the candidates and the others tested on each candidate from the
/// indexes alone. `None` when no index applies, or when the candidates are
/// more than half the collection and their texts would be read anyway (a
/// filter or `q` no index answers, or a sort): a pass over every item then
/// costs less. (`most` is that half; the tests lift it.)
///
/// Two filters answered exactly by field indexes, whose narrower has at least
/// `pairs_from` candidates, are counted from the indexes' pair counts (see
/// [`crate::store::index::PairCounts`]) and paged by walking the narrower's slots
/// until the page is full: the work then grows with the page, not with the
/// candidates. (The tests lower `pairs_from`.)
fn indexed(
    collection: &Collection,
    query: &ListQuery,
    most: usize,
    pairs_from: usize,
) -> Option<Indexed> {
    let indexes = collection.field_indexes();
    let slot_count = collection.slot_count();
    let mut tests: Vec<Test> = Vec::new();
    let mut read = !query.sort.is_empty();
    let mut built = false;
    for filter in &query.filters {
        if !FieldIndex::answers(filter) || tests.len() >= MAX_INDEXED_FILTERS {
            read = true;
            continue;
        }
        let index = match indexes.built(&filter.path) {
            Some(index) => index,
            // One index built per query: its first list costs one pass more, not several.
            None if built => {
                read = true;
                continue;
            }
            None => {
                built = true;
                indexes.field(&filter.path, || {
                    FieldIndex::build(
                        &filter.path,
                        collection.slotted().map(|(slot, item)| (slot, item.json)),
                    )
                })
            }
        };
        let matched = index.matching(filter);
        tests.push(Test::Field(index, matched));
    }
    if let Some(q) = &query.search {
        if WordIndex::answers(q) && (!built || indexes.words_built()) {
            let words = indexes.words(|| {
                WordIndex::build(collection.slotted().map(|(slot, item)| (slot, item.json)))
            });
            tests.push(Test::Words(words.search(q, slot_count)));
        } else {
            read = true;
        }
    }
    let (driver, _) = tests
        .iter()
        .enumerate()
        .map(|(n, test)| (n, test.estimate()))
        .min_by_key(|&(_, estimate)| estimate)?;
    let driver = tests.swap_remove(driver);
    if read && driver.estimate() > most {
        return None;
    }
    let exact = !read && driver.exact() && tests.iter().all(Test::exact);
    let pass = |tests: &[Test], slot: u32| tests.iter().all(|t| t.test(slot) != Verdict::No);
    if exact {
        if let (Test::Field(index, matched), [Test::Field(other, other_matched)]) =
            (&driver, &tests[..])
        {
            let pairs = (driver.estimate() >= pairs_from)
                .then(|| indexes.pair(index, other))
                .flatten();
            if let Some(pairs) = pairs {
                let total = pairs.total((index, matched), (other, other_matched));
                let (start, len) = window(query.paging, total);
                let page = index
                    .walk(matched)
                    .filter(|&slot| other.test(slot, other_matched) == Verdict::Yes)
                    .skip(start)
                    .take(len)
                    .collect();
                return Some(Indexed::Exact { total, page });
            }
        }
        // Every test is exact: count and page from the indexes alone (without
        // copying the driver's list when it is one key's and alone).
        let set = match driver {
            Test::Field(index, matched) => match index.single(&matched) {
                // One key: no copy of its list to count or page it.
                Some(list) if tests.is_empty() => {
                    let total = list.len();
                    let (start, len) = window(query.paging, total);
                    let page = list.iter().skip(start).take(len).collect();
                    return Some(Indexed::Exact { total, page });
                }
                Some(list) => SlotSet::Sorted(list.to_vec()),
                None => index.slots(&matched, slot_count),
            },
            Test::Words(matches) if tests.is_empty() => {
                let total = matches.len();
                let (start, len) = window(query.paging, total);
                let page = matches.page(start, len);
                return Some(Indexed::Exact { total, page });
            }
            Test::Words(matches) => SlotSet::Sorted(matches.page(0, matches.len())),
        };
        if tests.is_empty() {
            let total = set.len();
            let (start, len) = window(query.paging, total);
            let page = set.page(start, len);
            return Some(Indexed::Exact { total, page });
        }
        let mut slots = set.into_vec();
        for test in &tests {
            match test {
                Test::Field(index, matched) => index.retain_passing(&mut slots, matched),
                Test::Words(words) => slots.retain(|&slot| words.contains(slot)),
            }
        }
        let total = slots.len();
        let (start, len) = window(query.paging, total);
        let page = slots[start..start + len].to_vec();
        return Some(Indexed::Exact { total, page });
    }
    let (candidates, again) = match driver {
        Test::Words(matches) => (SlotSet::Sorted(matches.page(0, matches.len())), None),
        Test::Field(index, matched) => {
            let slots = index.slots(&matched, slot_count);
            // A driver that only narrows tests its candidates again.
            let again = (!matched.exact()).then_some(Test::Field(index, matched));
            (slots, again)
        }
    };
    tests.extend(again);
    let mut kept = candidates.into_vec();
    if !tests.is_empty() {
        kept.retain(|&slot| pass(&tests, slot));
    }
    Some(Indexed::Candidates(kept))
}

/// Filters, searches, sorts and pages items given in creation order.
fn run<'a>(items: impl Iterator<Item = Item<'a>>, query: &ListQuery) -> Selection<'a> {
    let mut matched: Vec<(Item<'a>, Vec<SortValue<'a>>)> = Vec::new();
    for item in items {
        let passes = query.filters.iter().all(|filter| passes(item.json, filter))
            && (query.alternatives.is_empty()
                || query
                    .alternatives
                    .iter()
                    .any(|group| group.iter().all(|filter| passes(item.json, filter))))
            && query
                .search
                .as_deref()
                .is_none_or(|q| search_item(item.json, q));
        if passes {
            let keys = query
                .sort
                .iter()
                .map(|key| SortValue::of(item.json, key))
                .collect();
            matched.push((item, keys));
        }
    }
    if !query.sort.is_empty() {
        matched.sort_by(|(_, a), (_, b)| compare_keys(a, b, &query.sort));
    }
    let total = matched.len();
    let (start, len) = window(query.paging, total);
    let items = matched
        .into_iter()
        .skip(start)
        .take(len)
        .map(|(item, _)| item)
        .collect();
    finish(items, total, query.paging)
}

/// Runs a query over some items of a collection, in creation order: the
/// children of a nested route, found through a foreign-key index.
pub(crate) fn select_among<'a>(candidates: Vec<Item<'a>>, query: &ListQuery) -> Selection<'a> {
    run(candidates.into_iter(), query)
}

/// The start and length of the slice that `paging` selects out of `total`.
fn window(paging: Paging, total: usize) -> (usize, usize) {
    match paging {
        Paging::All => (0, total),
        Paging::Page { page, limit } => {
            let start = (page - 1).saturating_mul(limit).min(total);
            (start, limit.min(total - start))
        }
        Paging::Slice { start, end } => {
            let start = start.min(total);
            let end = end.unwrap_or(total).clamp(start, total);
            (start, end - start)
        }
        Paging::Envelope { page, per_page } => {
            let page = page.min(last_page(total, per_page));
            window(
                Paging::Page {
                    page,
                    limit: per_page,
                },
                total,
            )
        }
    }
}

/// The number of the last page (1 when there are no items).
fn last_page(total: usize, per_page: usize) -> usize {
    total.div_ceil(per_page).max(1)
}

fn finish(items: Vec<Item<'_>>, total: usize, paging: Paging) -> Selection<'_> {
    let pages = match paging {
        Paging::Page { page, limit }
        | Paging::Envelope {
            page,
            per_page: limit,
        } => {
            let last = last_page(total, limit);
            let page = match paging {
                Paging::Envelope { .. } => page.min(last),
                _ => page,
            };
            Some(PageLinks {
                page,
                limit,
                prev: (page > 1).then(|| page - 1),
                next: (page < last).then(|| page + 1),
                last,
            })
        }
        _ => None,
    };
    Selection {
        total,
        items,
        pages,
    }
}

/// A JSON value as its text, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Leaf<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    Text(Cow<'a, str>),
    /// An array or object, as its text.
    Compound(&'a str),
}

impl<'a> Leaf<'a> {
    fn of(raw: &'a str) -> Self {
        match raw.as_bytes().first() {
            Some(b'n') => Self::Null,
            Some(b't') => Self::Bool(true),
            Some(b'f') => Self::Bool(false),
            Some(b'"') => Self::Text(text::decode_string(raw)),
            Some(b'{' | b'[') => Self::Compound(raw),
            _ => Self::Number(raw),
        }
    }
}

use text::{member, reach};

fn passes(item: &str, filter: &Filter) -> bool {
    let mut reached = Vec::new();
    reach(item, &filter.path, &mut reached);
    if reached.is_empty() {
        return false;
    }
    let leaves: Vec<Leaf<'_>> = reached.into_iter().map(Leaf::of).collect();
    if filter.op == Op::Like {
        return filter.patterns.iter().any(|pattern| {
            leaves
                .iter()
                .any(|field| like_text(field).is_some_and(|text| pattern.0.is_match(text)))
        });
    }
    // A repeated key ORs its values, but `_ne`'s: `id_ne=1&id_ne=2` is neither
    // (json-server ANDs them), which OR would make true of every item.
    if filter.op == Op::Ne {
        return filter
            .values
            .iter()
            .all(|wanted| !leaves.iter().any(|field| equals(field, wanted)));
    }
    filter.values.iter().any(|wanted| {
        leaves
            .iter()
            .any(|field| compares(field, filter.op, wanted))
    })
}

fn compares(field: &Leaf<'_>, op: Op, wanted: &str) -> bool {
    let ordered = |accept: fn(Ordering) -> bool| order(field, wanted).is_some_and(accept);
    match op {
        Op::Eq => equals(field, wanted),
        Op::Ne => !equals(field, wanted),
        Op::Gt => ordered(Ordering::is_gt),
        Op::Gte => ordered(Ordering::is_ge),
        Op::Lt => ordered(Ordering::is_lt),
        Op::Lte => ordered(Ordering::is_le),
        // `passes` matches patterns before it gets here.
        Op::Like => false,
        Op::Contains => string_field(field).is_some_and(|s| s.contains(wanted)),
        Op::StartsWith => string_field(field).is_some_and(|s| s.starts_with(wanted)),
        Op::EndsWith => string_field(field).is_some_and(|s| s.ends_with(wanted)),
    }
}

/// Equality by the field's type: numbers exactly, booleans, null, strings.
fn equals(field: &Leaf<'_>, wanted: &str) -> bool {
    match field {
        Leaf::Null => wanted == "null",
        Leaf::Bool(b) => wanted == if *b { "true" } else { "false" },
        Leaf::Number(_) => order(field, wanted) == Some(Ordering::Equal),
        Leaf::Text(s) => s == wanted,
        Leaf::Compound(_) => false,
    }
}

/// How the field compares with the query's text, if they are comparable.
fn order(field: &Leaf<'_>, wanted: &str) -> Option<Ordering> {
    match field {
        Leaf::Number(n) => Some(Decimal::parse(n)?.cmp(&Decimal::parse(wanted)?)),
        Leaf::Text(s) => Some(s.as_ref().cmp(wanted)),
        Leaf::Bool(b) => match wanted {
            "true" => Some(b.cmp(&true)),
            "false" => Some(b.cmp(&false)),
            _ => None,
        },
        _ => None,
    }
}

/// A string field, lower-cased, for `contains`, `startsWith` and
/// `endsWith` (whose values the query has lower-cased); other types never match.
fn string_field(field: &Leaf<'_>) -> Option<String> {
    match field {
        Leaf::Text(s) => Some(s.to_lowercase()),
        _ => None,
    }
}

fn like_text<'a>(field: &'a Leaf<'_>) -> Option<&'a str> {
    match field {
        Leaf::Text(s) => Some(s),
        Leaf::Number(n) => Some(n),
        Leaf::Bool(true) => Some("true"),
        Leaf::Bool(false) => Some("false"),
        _ => None,
    }
}

/// `q`: whether any string value of the item, however deep, contains the
/// text (lower-cased). The item's own id (its last member, whatever
/// `ID_FIELD` names it) is not searched: ids are random hex, so a short `q`
/// would find most items through them.
fn search_item(item: &str, lowered: &str) -> bool {
    // A cheap look first: an item in ASCII without escapes holds the text in
    // a value only if its JSON text holds it, in any case.
    if lowered.is_ascii()
        && item.is_ascii()
        && !item.contains('\\')
        && !contains_ignoring_ascii_case(item.as_bytes(), lowered.as_bytes())
    {
        return false;
    }
    let members = text::members(item);
    let own = members.len().saturating_sub(1);
    members[..own]
        .iter()
        .any(|m| contains_text(m.value, lowered))
}

/// Whether `hay` holds `needle` (lower-case ASCII), comparing ASCII letters
/// in any case.
fn contains_ignoring_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    hay.windows(needle.len()).any(|window| {
        window[0].to_ascii_lowercase() == first && window.eq_ignore_ascii_case(needle)
    })
}

/// Whether any string value, however deep, contains the text (lower-cased).
fn contains_text(value: &str, lowered: &str) -> bool {
    match value.as_bytes().first() {
        Some(b'"') => text::decode_string(value).to_lowercase().contains(lowered),
        Some(b'[') => text::array_elements(value)
            .into_iter()
            .any(|v| contains_text(v, lowered)),
        Some(b'{') => text::members(value)
            .into_iter()
            .any(|m| contains_text(m.value, lowered)),
        _ => false,
    }
}

/// Sort values at most this long are decoded once, before sorting; longer
/// ones are kept as slices of the stored text and decoded on each comparison,
/// so a sort never copies more than this per key and item.
const DECODED_BYTES: usize = 64;

/// A field's value as a sort key, borrowed from the item's stored text. Types
/// sort numbers, then strings, then booleans, then arrays and objects (by
/// their JSON text); a missing or null field sorts last in either direction.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SortValue<'a> {
    /// A short number, parsed.
    Number(Decimal),
    /// A long number's text, parsed when compared.
    LongNumber(&'a str),
    /// A string: its text when it has no escapes, decoded when short.
    Text(Cow<'a, str>),
    /// A long string literal with escapes, decoded when compared.
    EscapedText(&'a str),
    Bool(bool),
    Json(&'a str),
    Missing,
}

impl<'a> SortValue<'a> {
    fn of(item: &'a str, key: &SortKey) -> Self {
        let mut value = item;
        for segment in &key.path {
            let next = match value.as_bytes().first() {
                Some(b'{') => member(value, segment),
                Some(b'[') => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| text::array_elements(value).get(i).copied()),
                _ => None,
            };
            match next {
                Some(next) => value = next,
                None => return Self::Missing,
            }
        }
        match value.as_bytes().first() {
            Some(b'n') | None => Self::Missing,
            Some(b't') => Self::Bool(true),
            Some(b'f') => Self::Bool(false),
            Some(b'{' | b'[') => Self::Json(value),
            Some(b'"') => match text::decode_string(value) {
                Cow::Owned(_) if value.len() > DECODED_BYTES => Self::EscapedText(value),
                decoded => Self::Text(decoded),
            },
            Some(_) if value.len() > DECODED_BYTES => match Decimal::parse(value) {
                Some(_) => Self::LongNumber(value),
                None => Self::Missing,
            },
            Some(_) => Decimal::parse(value).map_or(Self::Missing, Self::Number),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Self::Number(_) | Self::LongNumber(_) => 0,
            Self::Text(_) | Self::EscapedText(_) => 1,
            Self::Bool(_) => 2,
            Self::Json(_) => 3,
            Self::Missing => 4,
        }
    }

    /// The number, for comparing (parsed now if it is long).
    fn number(&self) -> Option<Cow<'_, Decimal>> {
        match self {
            Self::Number(n) => Some(Cow::Borrowed(n)),
            Self::LongNumber(text) => Decimal::parse(text).map(Cow::Owned),
            _ => None,
        }
    }

    /// The string, for comparing (decoded now if it is long and escaped).
    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Self::Text(s) => Some(Cow::Borrowed(s.as_ref())),
            Self::EscapedText(literal) => Some(text::decode_string(literal)),
            _ => None,
        }
    }
}

fn compare_keys(a: &[SortValue<'_>], b: &[SortValue<'_>], keys: &[SortKey]) -> Ordering {
    for ((a, b), key) in a.iter().zip(b).zip(keys) {
        let ordering = match (a, b) {
            (SortValue::Missing, SortValue::Missing) => Ordering::Equal,
            (SortValue::Missing, _) => Ordering::Greater,
            (_, SortValue::Missing) => Ordering::Less,
            _ => {
                let natural = match (a, b) {
                    _ if a.rank() != b.rank() => a.rank().cmp(&b.rank()),
                    (SortValue::Bool(x), SortValue::Bool(y)) => x.cmp(y),
                    (SortValue::Json(x), SortValue::Json(y)) => x.cmp(y),
                    _ => match (a.number(), b.number()) {
                        (Some(x), Some(y)) => x.cmp(&y),
                        _ => a.text().cmp(&b.text()),
                    },
                };
                if key.descending {
                    natural.reverse()
                } else {
                    natural
                }
            }
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// The `n` of each item of a sorted query, in order.
    fn sorted(items: &[&str], query: &str) -> Vec<String> {
        let mut store = Store::new();
        for (n, item) in items.iter().enumerate() {
            let id = n.to_string();
            store.put("t", &id, text::item_text(item, "_id", &format!("\"{id}\"")));
        }
        let query = ListQuery::parse(query).unwrap();
        select(store.collection("t"), &query)
            .items
            .iter()
            .map(|item| {
                let value = crate::json::body::parse_value(item.json).unwrap();
                value["n"].to_string()
            })
            .collect()
    }

    #[test]
    fn long_and_short_values_sort_alike() {
        let long = |prefix: &str| format!("{prefix}{}", "0".repeat(100));
        // Numbers: short ones parsed up front, long ones on comparison, compared exactly.
        let items = [
            format!(r#"{{"n":1,"v":{}}}"#, long("2")),
            r#"{"n":2,"v":5}"#.to_owned(),
            format!(r#"{{"n":3,"v":{}}}"#, long("1")),
            r#"{"n":4,"v":-1}"#.to_owned(),
            r#"{"n":5,"v":"text"}"#.to_owned(),
        ];
        let items: Vec<&str> = items.iter().map(String::as_str).collect();
        assert_eq!(sorted(&items, "_sort=v"), ["4", "2", "3", "1", "5"]);
        assert_eq!(sorted(&items, "_sort=-v"), ["5", "1", "3", "2", "4"]);

        // Strings: long escaped ones are decoded on comparison.
        let a = format!(r#"{{"n":1,"v":"\u0062{}"}}"#, "x".repeat(100));
        let b = format!(r#"{{"n":2,"v":"a{}"}}"#, "x".repeat(100));
        let c = format!(r#"{{"n":3,"v":"\u0061{}"}}"#, "y".repeat(100));
        let d = r#"{"n":4,"v":"\u0061"}"#.to_owned();
        let items = [a.as_str(), b.as_str(), c.as_str(), d.as_str()];
        assert_eq!(sorted(&items, "_sort=v"), ["4", "2", "3", "1"]);
    }

    /// A value for the index model: numbers written several ways, strings
    /// that look like other types, escapes, words for `q`, booleans, null,
    /// arrays, objects.
    fn value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            (-3i64..4).prop_map(|n| n.to_string()),
            (-3i64..4).prop_map(|n| format!("{n}.0")),
            prop::sample::select(vec![
                r#""a""#,
                r#""b""#,
                r#""B""#,
                r#""1""#,
                r#""true""#,
                r#""null""#,
                r#""""#,
                r#""\u0061""#,
                r#""Vader7""#,
                r#""darth VADER70""#,
                r#""x-vader-7 ÉCLAIR""#,
                r#""v\u0061der7""#,
                r#"["vader7",{"w":"Darth"}]"#,
                "true",
                "false",
                "null",
                "1e0",
                "10",
                "[1,\"a\"]",
                "[\"a\",\"B\"]",
                "[1,2.5,\"Vader7\"]",
                "[true,null,\"x vader7\"]",
                "[]",
                "[[2]]",
                r#"{"x":1}"#,
                "2.5",
            ])
            .prop_map(str::to_owned),
        ]
    }

    #[derive(Debug, Clone)]
    enum Step {
        /// Creates or replaces item `id` with `a` and `b` (`None`: no such member).
        Put(u8, Option<String>, Option<String>),
        Remove(u8),
        /// Creates 40 items and deletes them: enough holes for a sweep.
        Churn,
        /// A list query, answered through the indexes and by a pass over every item.
        Query(String),
    }

    /// Filter operators that field indexes answer exactly (`_like` where the
    /// keys' texts agree).
    const EXACT_OPS: [&str; 9] = [
        "",
        "_gt",
        "_gte",
        "_lt",
        "_lte",
        ":in",
        "_like",
        ":contains",
        ":endsWith",
    ];

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        let filter = (
            prop::sample::select(vec!["a", "b", "c", "a.w"]),
            prop::sample::select([&EXACT_OPS[..], &[":eq", ":lt", "_ne", ":startsWith"]].concat()),
            prop::collection::vec(
                prop::sample::select(vec![
                    "1", "1.0", "a", "B", "true", "false", "null", "0", "-1", "", "2.5", "%5B%5D",
                    "Vader7", "^vader7$", "^1$", "0$", "^tr", "ader", "1%5C.0", "%C3%89cl",
                ]),
                1..3,
            ),
        )
            .prop_map(|(field, op, values)| {
                if op == ":in" {
                    format!("{field}{op}={}", values.join(","))
                } else {
                    values
                        .iter()
                        .map(|v| format!("{field}{op}={v}"))
                        .collect::<Vec<_>>()
                        .join("&")
                }
            });
        let search = prop::sample::select(vec![
            "",
            "&q=vader7",
            "&q=VADER",
            "&q=7",
            "&q=ader7",
            "&q=r-7",
            "&q=%C3%A9clair",
            "&q=darth",
            "&q=",
            "&q=1",
        ]);
        let tail = prop::sample::select(vec![
            "",
            "&_limit=2",
            "&_sort=a&_page=2&_limit=1",
            "&_page=2&_per_page=1",
            "&_start=1&_end=3",
        ]);
        prop_oneof![
            3 => (0u8..12, proptest::option::of(value()), proptest::option::of(value()))
                .prop_map(|(id, a, b)| Step::Put(id, a, b)),
            1 => (0u8..12).prop_map(Step::Remove),
            1 => Just(Step::Churn),
            4 => (prop::collection::vec(filter, 0..3), search, tail)
                .prop_map(|(filters, search, tail)| Step::Query(format!("{}{search}{tail}", filters.join("&")))),
        ]
    }

    fn put(store: &mut Store, id: &str, a: Option<String>, b: Option<String>) {
        let members: Vec<String> = [("a", a), ("b", b)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!(r#""{k}":{v}"#)))
            .collect();
        let object = format!("{{{}}}", members.join(","));
        let quoted = serde_json::Value::from(id).to_string();
        store.put("t", id, text::item_text(&object, "_id", &quoted));
    }

    /// A list's answer, to compare: total, items' texts, page links.
    type Answer = (usize, Vec<String>, Option<PageLinks>);

    fn answer(selection: Selection<'_>) -> Answer {
        let texts = selection.items.iter().map(|i| i.json.to_owned()).collect();
        (selection.total, texts, selection.pages)
    }

    /// A query through the indexes whatever their size, as a large
    /// collection would take it (pair counts from the first candidate), and
    /// by one pass over every item.
    fn through_and_scanned(collection: &Collection, query: &ListQuery) -> (Answer, Answer) {
        let scanned = answer(run(collection.iter(), query));
        let through = match indexed(collection, query, usize::MAX, 0) {
            Some(Indexed::Exact { total, page }) => answer(finish(
                collection.at_slots(page).collect(),
                total,
                query.paging,
            )),
            Some(Indexed::Candidates(slots)) => answer(run(collection.at_slots(slots), query)),
            None => scanned.clone(),
        };
        (through, scanned)
    }

    /// Carries out a write step (`churn` for [`Step::Churn`]); gives back a
    /// query step's query.
    fn apply(store: &mut Store, step: Step, churn: impl FnOnce(&mut Store)) -> Option<String> {
        match step {
            Step::Put(id, a, b) => put(store, &id.to_string(), a, b),
            Step::Remove(id) => {
                store.remove("t", &id.to_string());
            }
            Step::Churn => churn(store),
            Step::Query(raw) => return Some(raw),
        }
        None
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

        /// Every list through the indexes (filters, `_like`, `q`) equals the
        /// one-pass answer (items, order and total), across random creates,
        /// replaces, deletes and sweeps that the indexes follow.
        #[test]
        fn lists_through_indexes_equal_one_pass(steps in proptest::collection::vec(step(), 1..50)) {
            let mut store = Store::new();
            for step in steps {
                let churn = |store: &mut Store| {
                    for n in 0..40 {
                        put(store, &format!("c{n}"), Some(format!("{}", n % 3)), Some(r#""Vader7""#.to_owned()));
                    }
                    for n in 0..40 {
                        store.remove("t", &format!("c{n}"));
                    }
                };
                let Some(raw) = apply(&mut store, step, churn) else { continue };
                // Some values are no valid pattern (`[]`): a 400, not a list.
                let Ok(query) = ListQuery::parse(&raw) else { continue };
                let Some(collection) = store.collection("t") else { continue };
                let (through, scanned) = through_and_scanned(collection, &query);
                proptest::prop_assert_eq!(&through, &scanned, "{}", raw);
                proptest::prop_assert_eq!(answer(select(Some(collection), &query)), scanned, "{}", raw);
            }
        }
    }

    /// A query of two filters, one on `a` and one on `b`, each of a kind an
    /// index answers exactly (the pair counts' case), with a page.
    fn pair_query() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let filter = |field: &'static str| {
            (
                prop::sample::select(&EXACT_OPS[..]),
                prop::sample::select(vec![
                    "1", "1.0", "a", "B", "true", "null", "0", "-1", "2.5", "Vader7", "^v", "1,a",
                    "^(a|1)$",
                ]),
            )
                .prop_map(move |(op, value)| format!("{field}{op}={value}"))
        };
        let tail = prop::sample::select(vec![
            "",
            "&_limit=2",
            "&_page=2&_limit=1",
            "&_start=1&_end=3",
        ]);
        (filter("a"), filter("b"), tail).prop_map(|(a, b, tail)| format!("{a}&{b}{tail}"))
    }

    /// One of a few values, arrays among them.
    fn few() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop::sample::select(vec![
            "0",
            "1",
            "1.0",
            r#""a""#,
            "[0,1]",
            r#"["a",1]"#,
            "null",
        ])
        .prop_map(str::to_owned)
    }

    fn pair_step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            // Few values, so that pairs repeat and counts go up and down.
            3 => (0u8..16, proptest::option::of(few()), proptest::option::of(few()))
                .prop_map(|(id, a, b)| Step::Put(id, a, b)),
            1 => (0u8..16, proptest::option::of(value()), proptest::option::of(value()))
                .prop_map(|(id, a, b)| Step::Put(id, a, b)),
            2 => (0u8..16).prop_map(Step::Remove),
            1 => Just(Step::Churn),
            3 => pair_query().prop_map(Step::Query),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Two-filter lists counted by pair counts (both indexes built
        /// first) equal the one-pass answer, across random writes, items of
        /// several values (arrays) included.
        #[test]
        fn lists_through_pair_counts_equal_one_pass(
            steps in proptest::collection::vec(pair_step(), 1..60)
        ) {
            let mut store = Store::new();
            for step in steps {
                // Repeated pairs, a third of them arrays; half stay.
                let churn = |store: &mut Store| {
                    for n in 0..40 {
                        let a = if n % 3 == 0 { format!("[{},{}]", n % 2, n % 5) } else { format!("{}", n % 2) };
                        put(store, &format!("c{n}"), Some(a), Some(format!("{}", n % 4)));
                    }
                    for n in (0..40).step_by(2) {
                        store.remove("t", &format!("c{n}"));
                    }
                };
                let Some(raw) = apply(&mut store, step, churn) else { continue };
                let Ok(query) = ListQuery::parse(&raw) else { continue };
                let Some(collection) = store.collection("t") else { continue };
                // Both indexes built, so that the pair counts answer.
                for warm in ["a=0", "b=0"] {
                    select(Some(collection), &ListQuery::parse(warm).unwrap());
                }
                let (through, scanned) = through_and_scanned(collection, &query);
                proptest::prop_assert_eq!(&through, &scanned, "{}", raw);
            }
        }
    }

    #[test]
    fn items_with_several_values_are_tested_through_the_index_across_writes() {
        let mut store = Store::new();
        for n in 0..40 {
            let b = if n % 2 == 0 { r#"["x","y"]"# } else { r#""x""# };
            put(
                &mut store,
                &n.to_string(),
                Some((n % 3).to_string()),
                Some(b.to_owned()),
            );
        }
        let check = |store: &Store, raw: &str| {
            let query = ListQuery::parse(raw).unwrap();
            let collection = store.collection("t").unwrap();
            let answer = |s: Selection<'_>| {
                (
                    s.total,
                    s.items
                        .iter()
                        .map(|i| i.json.to_owned())
                        .collect::<Vec<_>>(),
                )
            };
            let expected = answer(run(collection.iter(), &query));
            assert_eq!(answer(select(Some(collection), &query)), expected, "{raw}");
            expected.0
        };
        // Builds both indexes; `a=1` is the narrower, `b` is tested per candidate.
        check(&store, "b=y");
        assert_eq!(check(&store, "a=1&b=y"), 6);
        // Replaces and deletes free the lists of several values; new items reuse them.
        put(
            &mut store,
            "4",
            Some("1".to_owned()),
            Some(r#"["z","w"]"#.to_owned()),
        );
        store.remove("t", "10");
        put(
            &mut store,
            "40",
            Some("1".to_owned()),
            Some(r#"["q","y"]"#.to_owned()),
        );
        put(
            &mut store,
            "41",
            Some("1".to_owned()),
            Some(r#"["y","r"]"#.to_owned()),
        );
        assert_eq!(check(&store, "a=1&b=y"), 6);
        assert_eq!(check(&store, "a=1&b=z"), 1);
        assert_eq!(check(&store, "a=1&b=q&_limit=1"), 1);
    }

    #[test]
    fn q_finds_values_in_any_case_and_through_escapes_only() {
        let mut store = Store::new();
        for (id, body) in [
            ("1", r#"{"n":"VADER"}"#),
            ("2", r#"{"n":"V\u0061der"}"#),
            ("3", r#"{"Vader":1}"#),
            ("4", r#"{"n":["x",{"m":"darth vader"}]}"#),
            ("5", r#"{"n":"Väder vader"}"#),
            ("6", r#"{"n":"vade"}"#),
        ] {
            store.put(
                "t",
                id,
                text::item_text(body, "_id", &serde_json::Value::from(id).to_string()),
            );
        }
        let found = |q: &str| -> Vec<String> {
            let query = ListQuery::parse(&format!("q={q}")).unwrap();
            select(store.collection("t"), &query)
                .items
                .iter()
                .map(|item| item.id().into_owned())
                .collect()
        };
        assert_eq!(found("vader"), ["1", "2", "4", "5"]);
        assert_eq!(found("VaDeR"), ["1", "2", "4", "5"]);
        assert_eq!(found("v%C3%A4der"), ["5"]);
        assert_eq!(found("vadervader"), Vec::<String>::new());
    }

    #[test]
    fn q_does_not_search_the_id_but_does_search_nested_ids() {
        let mut store = Store::new();
        store.put("t", "abc", text::item_text(r#"{"n":1}"#, "_id", r#""abc""#));
        store.put(
            "t",
            "xyz",
            text::item_text(r#"{"n":2,"o":{"_id":"abc"}}"#, "_id", r#""xyz""#),
        );
        let query = ListQuery::parse("q=abc").unwrap();
        let found: Vec<&str> = select(store.collection("t"), &query)
            .items
            .iter()
            .map(|item| item.json)
            .collect();
        assert_eq!(found, [r#"{"n":2,"o":{"_id":"abc"},"_id":"xyz"}"#]);
    }
}
