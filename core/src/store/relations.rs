//! Relations, as json-server 0.17 has them: a type's foreign key is its
//! singular form plus `Id` (`posts` -> `postId`, `people` -> `personId`).
//! `_embed=comments` adds to each item the comments whose `postId` names its
//! id; `_expand=post` adds to each item the post its `postId` names. Both are
//! one level deep: what is embedded or expanded is the stored item, never
//! itself embedded, so a type that embeds itself cannot loop.
//!
//! An id is named by a foreign key's value when the value is a string equal
//! to the id, or a number written as the id (`"postId":1` names `"1"`); see
//! [`key_text`]. Ids are read as the store gives them ([`Item::id`]).
//! Children are found through the collection's foreign-key index
//! ([`Collection::children_by`](crate::store::Collection::children_by)),
//! built once per change of the children's type and looked at once per
//! answer, so embedding a page reads only the page's children. The answer
//! is written from the stored texts as they are (an item's text keeps all
//! its members unless one has the name of a relation, which is then
//! replaced), with nothing parsed to values and nothing copied twice.

use crate::error::ApiError;
use crate::json::text::{self, key_text, member};
use crate::store::query::Relations;
use crate::store::{Children, Item, Store};
use serde_json::Value;

/// Plurals that the suffix rules get wrong, and words that are the same in
/// both numbers, by their lower-case form.
const IRREGULAR: &[(&str, &str)] = &[
    ("people", "person"),
    ("men", "man"),
    ("women", "woman"),
    ("children", "child"),
    ("mice", "mouse"),
    ("geese", "goose"),
    ("feet", "foot"),
    ("teeth", "tooth"),
    ("oxen", "ox"),
    ("movies", "movie"),
    ("cookies", "cookie"),
    ("caches", "cache"),
    ("series", "series"),
    ("species", "species"),
    ("news", "news"),
];

/// A type name's singular form, by the first rule that fits (the rules look
/// at the name's ending, in any case, and keep the rest as it is):
///
/// 1. a word in [`IRREGULAR`] (`people` -> `person`), its first letter's case kept;
/// 2. `-ies` after at least two letters -> `-y` (`categories` -> `category`;
///    `pies` -> `pie` by rule 6);
/// 3. `-sses`, `-shes`, `-ches`, `-xes`, `-zzes` drop `-es` (`classes`,
///    `dishes`, `matches`, `boxes`, `buzzes`);
/// 4. `-uses` after a letter other than `a`, `o` or `u` drops `-es`
///    (`statuses`, `buses`; `houses` -> `house` by rule 6);
/// 5. `-ss`, `-us`, `-is` are already singular (`class`, `status`, `analysis`);
/// 6. `-s` is dropped (`posts`, `responses`);
/// 7. anything else is already singular (`post`, `data`, `person`).
pub(crate) fn singular(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    if let Some((_, single)) = IRREGULAR.iter().find(|(plural, _)| *plural == lower) {
        let mut out = (*single).to_owned();
        if word.starts_with(|c: char| c.is_ascii_uppercase()) {
            out[..1].make_ascii_uppercase();
        }
        return out;
    }
    // The endings are ASCII, so cutting them off leaves whole characters.
    let cut = |n: usize, add: &str| format!("{}{add}", &word[..word.len() - n]);
    let upper = word.ends_with(|c: char| c.is_ascii_uppercase());
    if lower.len() > 4 && lower.ends_with("ies") {
        return cut(3, if upper { "Y" } else { "y" });
    }
    if ["sses", "shes", "ches", "xes", "zzes"]
        .iter()
        .any(|end| lower.ends_with(end))
    {
        return cut(2, "");
    }
    if lower.len() > 4
        && lower.ends_with("uses")
        && !matches!(lower.as_bytes()[lower.len() - 5], b'a' | b'o' | b'u')
    {
        return cut(2, "");
    }
    if ["ss", "us", "is"].iter().any(|end| lower.ends_with(end)) {
        return word.to_owned();
    }
    if lower.len() > 1 && lower.ends_with('s') {
        return cut(1, "");
    }
    word.to_owned()
}

/// The foreign key that names an item of this type: its singular plus `Id`.
pub(crate) fn foreign_key(resource: &str) -> String {
    format!("{}Id", singular(resource))
}

/// The type `_expand=name` reads parents from: the type whose singular is
/// `name` and whose name is not (`posts` for `post`), else the type named
/// `name` itself.
fn parent_type<'s>(store: &'s Store, name: &str) -> Option<&'s str> {
    let mut exact = None;
    for (resource, _) in store.types() {
        if resource == name {
            exact = Some(resource);
        } else if singular(resource) == name {
            return Some(resource);
        }
    }
    exact
}

/// Writes the items as answered, separated by commas: with nothing asked,
/// their stored text; otherwise each with its embedded children and
/// expanded parents added after its own members (a member of the same name
/// is replaced). Children are found by their type's foreign-key index,
/// parents by id. The texts are copied as they are stored, never parsed.
///
/// An answer with relations can repeat an item many times (one parent
/// expanded into each of its children), so its size is bounded by `budget`
/// bytes (the store's own byte budget, `MAX_STORE_BYTES`): past it, the
/// answer is a `400` that says to page, and nothing is written.
pub(crate) fn render(
    store: &Store,
    resource: &str,
    items: &[Item<'_>],
    relations: &Relations,
    budget: usize,
    out: &mut String,
) -> Result<(), ApiError> {
    if relations.is_empty() {
        out.reserve(items.iter().map(|item| item.json.len() + 1).sum());
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(item.json);
        }
        return Ok(());
    }
    let mut size: usize = items.iter().map(|item| item.json.len()).sum();
    let mut grow = |bytes: usize| {
        size = size.saturating_add(bytes);
        if size > budget {
            Err(ApiError::BadQuery {
                reason: format!(
                    "With `_embed` and `_expand`, the answer would take more than {budget} bytes \
                     (MAX_STORE_BYTES); ask for fewer items with `_page` or `_limit`."
                ),
            })
        } else {
            Ok(())
        }
    };
    let quoted = |name: &String| Value::String(name.clone()).to_string();
    // The children's key indexes, looked at once for the whole page.
    let key = foreign_key(resource);
    let embeds: Vec<(&str, String, Option<Children<'_>>)> = relations
        .embed
        .iter()
        .map(|child| {
            let children = store.collection(child).map(|c| c.children_by(&key));
            (child.as_str(), quoted(child), children)
        })
        .collect();
    // First the sizes, so that nothing is written past the budget.
    for (child, _, children) in &embeds {
        for item in items {
            let listed: usize = children
                .iter()
                .flat_map(|c| c.of(&item.id()))
                .map(|child| child.json.len() + 1)
                .sum();
            grow(listed + child.len() + 6)?;
        }
    }
    // parents[n * expand.len() + e]: what items[n] expands of relations.expand[e].
    let mut parents: Vec<Option<&str>> = Vec::with_capacity(items.len() * relations.expand.len());
    let expands: Vec<(&str, String, String, Option<&str>)> = relations
        .expand
        .iter()
        .map(|parent| {
            let key = format!("{parent}Id");
            (
                parent.as_str(),
                quoted(parent),
                key,
                parent_type(store, parent),
            )
        })
        .collect();
    for item in items {
        for (parent, _, key, parent_type) in &expands {
            let found = parent_type.and_then(|parent_type| {
                member(item.json, key)
                    .and_then(key_text)
                    .and_then(|id| store.get(parent_type, &id))
            });
            if let Some(found) = found {
                grow(found.json.len() + parent.len() + 4)?;
            }
            parents.push(found.map(|found| found.json));
        }
    }
    out.reserve(size.saturating_add(items.len()));
    let mut keys: Vec<&str> = Vec::new();
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let expanded = parents
            .get(n * expands.len()..(n + 1) * expands.len())
            .unwrap_or_default();
        keys.clear();
        keys.extend(embeds.iter().map(|(child, _, _)| *child));
        keys.extend(
            expands
                .iter()
                .zip(expanded)
                .filter(|(_, found)| found.is_some())
                .map(|((parent, ..), _)| *parent),
        );
        if keys.is_empty() {
            out.push_str(item.json);
            continue;
        }
        write_object(out, item.json, &keys, |out| {
            let id = item.id();
            for (_, quoted, children) in &embeds {
                out.push_str(quoted);
                out.push_str(":[");
                for (k, child) in children.iter().flat_map(|c| c.of(&id)).enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    out.push_str(child.json);
                }
                out.push_str("],");
            }
            for ((_, quoted, ..), found) in expands.iter().zip(expanded) {
                if let Some(found) = found {
                    out.push_str(quoted);
                    out.push(':');
                    out.push_str(found);
                    out.push(',');
                }
            }
        });
    }
    Ok(())
}

/// A compact object with members added last, replacing any of the same key.
#[cfg(test)]
fn with_members(object: &str, added: &[(&str, String)]) -> String {
    let keys: Vec<&str> = added.iter().map(|(key, _)| *key).collect();
    let mut out = String::new();
    write_object(&mut out, object, &keys, |out| {
        for (key, value) in added {
            out.push_str(&Value::String((*key).to_owned()).to_string());
            out.push(':');
            out.push_str(value);
            out.push(',');
        }
    });
    out
}

/// Writes a compact object with members added last, replacing any of the
/// same key: `keys` names them, and `add` writes them, each followed by a
/// comma.
fn write_object(out: &mut String, object: &str, keys: &[&str], add: impl FnOnce(&mut String)) {
    if keys.iter().all(|key| !may_have_member(object, key)) {
        // Nothing to replace: the object's text as it is, without its `}`.
        let open = object.strip_suffix('}').unwrap_or(object);
        out.push_str(open);
        if open.len() > 1 {
            out.push(',');
        }
    } else {
        out.push('{');
        for member in text::members(object) {
            if !keys.iter().any(|key| member.key == *key) {
                out.push_str(member.key_text);
                out.push(':');
                out.push_str(member.value);
                out.push(',');
            }
        }
    }
    add(out);
    if out.ends_with(',') {
        out.pop();
    }
    out.push('}');
}

/// Whether a compact object may have a member named `key`: its key's
/// text holds `key` as it is unless it has an escape, so without `key`'s
/// bytes and without a `\` in the text it has none.
fn may_have_member(object: &str, key: &str) -> bool {
    key.is_empty() || object.contains('\\') || object.contains(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_rules_with_irregular_plurals() {
        for (plural, single) in [
            ("people", "person"),
            ("People", "Person"),
            ("children", "child"),
            ("men", "man"),
            ("movies", "movie"),
            ("categories", "category"),
            ("companies", "company"),
            ("blogEntries", "blogEntry"),
            ("pies", "pie"),
            ("classes", "class"),
            ("addresses", "address"),
            ("boxes", "box"),
            ("matches", "match"),
            ("dishes", "dish"),
            ("buzzes", "buzz"),
            ("statuses", "status"),
            ("buses", "bus"),
            ("houses", "house"),
            ("causes", "cause"),
            ("responses", "response"),
            ("posts", "post"),
            ("comments", "comment"),
            ("blog_posts", "blog_post"),
            ("USERS", "USER"),
            ("post", "post"),
            ("person", "person"),
            ("status", "status"),
            ("class", "class"),
            ("analysis", "analysis"),
            ("data", "data"),
            ("series", "series"),
            ("news", "news"),
            ("s", "s"),
            ("cafés", "café"),
        ] {
            assert_eq!(singular(plural), single, "{plural}");
        }
        assert_eq!(foreign_key("people"), "personId");
        assert_eq!(foreign_key("categories"), "categoryId");
        assert_eq!(foreign_key("posts"), "postId");
    }

    #[test]
    fn members_are_added_last_and_replace_their_namesakes() {
        assert_eq!(
            with_members(
                r#"{"a":1,"c":[0],"_id":"x"}"#,
                &[("c", "[]".to_owned()), ("d\"", "{}".to_owned())]
            ),
            r#"{"a":1,"_id":"x","c":[],"d\"":{}}"#
        );
        assert_eq!(with_members("{}", &[("c", "[]".to_owned())]), r#"{"c":[]}"#);
    }

    #[test]
    fn the_text_is_kept_whole_only_when_no_member_is_replaced() {
        let pets = || [("pets", "[1]".to_owned())];
        // No member named so: the text as it is, the new member last.
        assert_eq!(
            with_members(r#"{"a":"pets","_id":"x"}"#, &pets()),
            r#"{"a":"pets","_id":"x","pets":[1]}"#
        );
        assert_eq!(
            with_members(r#"{"a":1,"_id":"x"}"#, &pets()),
            r#"{"a":1,"_id":"x","pets":[1]}"#
        );
        // A namesake, written plainly or with an escape, is replaced.
        assert_eq!(
            with_members(r#"{"pets":0,"_id":"x"}"#, &pets()),
            r#"{"_id":"x","pets":[1]}"#
        );
        assert_eq!(
            with_members(r#"{"p\u0065ts":0,"_id":"x"}"#, &pets()),
            r#"{"_id":"x","pets":[1]}"#
        );
        assert!(!may_have_member(r#"{"a":1}"#, "pets"));
        assert!(may_have_member(r#"{"a\"":1}"#, "pets"));
        assert!(may_have_member(r#"{"a":1}"#, ""));
    }
}
