//! The list query language: json-server 0.17's dialect (filters with `_ne`,
//! `_gt`, `_like`... suffixes, `q`, `_sort` with `_order`, `_page`/`_limit`,
//! `_start`/`_end`) and 1.0's beside it (`field:op=value`, `_sort=a,-b`,
//! `_page`/`_per_page` with its envelope), the relations a list or an item
//! takes (`_embed`, `_expand`), and the check that refuses a `_` parameter no
//! route knows.

use crate::error::ApiError;
use crate::http::request::Method;
use crate::http::route::{check_name, Route};
use crate::json::body::MAX_DEPTH;
use crate::json::number::whole_number;
use regex::{Regex, RegexBuilder};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The most sort keys `_sort` may name (repeats included): sorting reads
/// every key of every matched item, so the work grows with their number.
pub(crate) const MAX_SORT_KEYS: usize = 16;
/// The most distinct filter keys (`name`, `age_gte`, ...) in one query.
pub(crate) const MAX_FILTERS: usize = 64;
/// The most values one filter key may be given (`name=a&name=b` is two, and
/// so is `name:in=a,b`).
pub(crate) const MAX_FILTER_VALUES: usize = 64;
/// The most dot-separated segments in a field path: a body nests at most
/// [`MAX_DEPTH`] levels, so a longer path can reach nothing.
pub(crate) const MAX_PATH_SEGMENTS: usize = MAX_DEPTH;
/// The longest `q`, in bytes.
pub(crate) const MAX_SEARCH_BYTES: usize = 1024;
/// The most relations (`_embed` and `_expand` names together, repeats
/// dropped) one request may ask for: each is a pass over a type.
pub(crate) const MAX_RELATIONS: usize = 16;
/// The longest `_like` pattern, in bytes.
pub(crate) const MAX_PATTERN_BYTES: usize = 1024;
/// The most different `_like` patterns in one query.
pub(crate) const MAX_PATTERNS: usize = 16;
/// The most memory one compiled `_like` pattern (and its matching cache)
/// may take, in bytes.
pub(crate) const PATTERN_SIZE_LIMIT: usize = 256 * 1024;
/// The most compiled `_like` patterns [`Patterns`] keeps.
pub(crate) const KEPT_PATTERNS: usize = 32;

/// The mock controls and jQuery's cache buster (`_`): every `/api` route takes
/// them, and the list query ignores them.
pub(crate) const CONTROL_PARAMS: &[&str] = &["_delay", "_status", "_"];
/// The `_` parameters of a list (besides the controls).
pub(crate) const LIST_PARAMS: &[&str] = &[
    "_sort",
    "_order",
    "_page",
    "_limit",
    "_per_page",
    "_start",
    "_end",
    "_embed",
    "_expand",
    "_where",
];
/// The `_` parameters of an item's `DELETE` (besides the controls).
pub(crate) const ITEM_DELETE_PARAMS: &[&str] = &["_dependent"];
/// The `_` parameters of a single item's `GET` (besides the controls).
pub(crate) const ITEM_PARAMS: &[&str] = &["_embed", "_expand"];
/// Plain keys that are not filters: `q`, and JSONP's `callback` (ignored, as
/// json-server ignores it).
const NOT_FILTERS: &[&str] = &["q", "callback"];

/// json-server's operators by key suffix: 0.17's (`_gte`, `_lte`, `_ne`,
/// `_like`) and those 1.0 reads the same way (`_gt`, `_lt`, `_eq`, `_in`,
/// `_contains`; 1.0 reads only lower-case suffixes, so `startsWith` and
/// `endsWith` are colon operators only). Longer suffixes first so `_gte` is
/// not read as `_gt`. `_in` is `eq` with a comma list of values.
const SUFFIX_OPERATORS: &[(&str, Op)] = &[
    ("_contains", Op::Contains),
    ("_gte", Op::Gte),
    ("_lte", Op::Lte),
    ("_like", Op::Like),
    ("_ne", Op::Ne),
    ("_gt", Op::Gt),
    ("_lt", Op::Lt),
    ("_eq", Op::Eq),
    ("_in", Op::Eq),
];

/// The most fields and operators a `_where` object may hold together.
const MAX_WHERE_TERMS: usize = MAX_FILTERS * MAX_FILTER_VALUES;

/// json-server 1.0's `_where=<JSON>`: an object of fields, each a value (equal
/// to it), an object of operators (`{"gte": 10, "lt": 20}`, `{"in": [1, 2]}`,
/// the operators of `field:op=`) or an object of nested fields
/// (`{"meta": {"category": {"eq": "news"}}}`), read as the query pairs
/// `field:op=value` would be (a list's values as repeats of one key, which
/// ORs them). It replaces the query's other filters, as in 1.0. `or` holds
/// alternatives, each an object of fields: an item passes one of them (and
/// every other field); an `or` inside an alternative is refused.
fn where_pairs(text: &str) -> Result<WherePairs, ApiError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|err| {
        bad(format!(
            "`_where` is not JSON: {err}. Write an object such as {{\"title\":{{\"eq\":\"foo\"}}}}."
        ))
    })?;
    let serde_json::Value::Object(fields) = value else {
        return Err(bad(
            "`_where` must be a JSON object of fields, such as {\"views\":{\"gte\":10}}."
                .to_owned(),
        ));
    };
    let mut alternatives = Vec::new();
    let mut fields = fields;
    if let Some(or) = fields.remove("or") {
        let serde_json::Value::Array(list) = or else {
            return Err(bad(
                "`_where`: `or` must be a list of objects of fields.".to_owned()
            ));
        };
        if list.is_empty() || list.len() > MAX_FILTERS {
            return Err(bad(format!(
                "`_where`: `or` must list 1 to {MAX_FILTERS} objects of fields."
            )));
        }
        for alternative in list {
            let serde_json::Value::Object(alternative) = alternative else {
                return Err(bad(
                    "`_where`: each alternative of `or` must be an object of fields.".to_owned(),
                ));
            };
            if alternative.contains_key("or") {
                return Err(bad(
                    "`_where`: an `or` inside an alternative of `or` is not supported.".to_owned(),
                ));
            }
            let mut pairs = Vec::new();
            where_fields(&alternative, "", 0, &mut pairs)?;
            alternatives.push(pairs);
        }
    }
    let mut out = Vec::new();
    where_fields(&fields, "", 0, &mut out)?;
    Ok((out, alternatives))
}

/// A `_where`'s pairs: those every item must pass, and `or`'s alternatives.
type WherePairs = (Vec<(String, String)>, Vec<Vec<(String, String)>>);

fn where_fields(
    fields: &serde_json::Map<String, serde_json::Value>,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, String)>,
) -> Result<(), ApiError> {
    if depth >= MAX_PATH_SEGMENTS {
        return Err(bad(format!(
            "`_where` nests fields more than {MAX_PATH_SEGMENTS} deep."
        )));
    }
    for (name, value) in fields {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            serde_json::Value::Object(inner) => {
                let is_op = |key: &String| COLON_OPERATORS.iter().any(|(op, _)| op == key);
                if let (true, Some(unknown)) = (
                    inner.keys().any(is_op),
                    inner.keys().find(|key| !is_op(key)),
                ) {
                    let ops: Vec<&str> = COLON_OPERATORS.iter().map(|(op, _)| *op).collect();
                    return Err(bad(format!(
                        "`_where`: `{path}` has an unknown operator `{unknown}`; the operators are {}.",
                        ops.join(", ")
                    )));
                }
                if !inner.is_empty() && inner.keys().all(is_op) {
                    for (op, operand) in inner {
                        let (key, values) = if op == "in" {
                            let list = match operand {
                                serde_json::Value::Array(list) => list.iter().collect(),
                                single => vec![single],
                            };
                            (format!("{path}:eq"), list)
                        } else {
                            (format!("{path}:{op}"), vec![operand])
                        };
                        for value in values {
                            out.push((key.clone(), where_text(&key, value)?));
                        }
                    }
                } else {
                    where_fields(inner, &path, depth + 1, out)?;
                }
            }
            value => out.push((format!("{path}:eq"), where_text(&path, value)?)),
        }
        if out.len() > MAX_WHERE_TERMS {
            return Err(bad(format!(
                "`_where` holds more than {MAX_WHERE_TERMS} terms."
            )));
        }
    }
    Ok(())
}

/// A `_where` operand as a query value: a string as it is, any other scalar
/// as its JSON text (compared by the field's type, as every filter value).
fn where_text(key: &str, value: &serde_json::Value) -> Result<String, ApiError> {
    match value {
        serde_json::Value::String(text) => Ok(text.clone()),
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => Err(bad(format!(
            "`_where`: `{key}` compares with a list or an object; give a string, number, boolean or null."
        ))),
        scalar => Ok(scalar.to_string()),
    }
}

/// json-server 1.0's operators, after a colon (`age:gte=18`). `in` is `eq`
/// with a comma list of values.
const COLON_OPERATORS: &[(&str, Op)] = &[
    ("eq", Op::Eq),
    ("ne", Op::Ne),
    ("lt", Op::Lt),
    ("lte", Op::Lte),
    ("gt", Op::Gt),
    ("gte", Op::Gte),
    ("in", Op::Eq),
    ("contains", Op::Contains),
    ("startsWith", Op::StartsWith),
    ("endsWith", Op::EndsWith),
];

/// How a filter compares a field with its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `field=value`, `field:eq=value`, `field:in=a,b`
    Eq,
    /// `field_ne=value`, `field:ne=value`
    Ne,
    /// `field_gt=value`, `field:gt=value`
    Gt,
    /// `field_gte=value`, `field:gte=value`
    Gte,
    /// `field_lt=value`, `field:lt=value`
    Lt,
    /// `field_lte=value`, `field:lte=value`
    Lte,
    /// `field_like=pattern`: a case-insensitive regular expression.
    Like,
    /// `field:contains=text`: a string field containing the text, any case.
    Contains,
    /// `field:startsWith=text`: a string field starting with the text, any case.
    StartsWith,
    /// `field:endsWith=text`: a string field ending with the text, any case.
    EndsWith,
}

/// A compiled `_like` pattern, compared by its source.
#[derive(Debug, Clone)]
pub(crate) struct Pattern(pub Arc<Regex>);

/// `_like` patterns compiled by earlier queries, by source: compiling one
/// takes tens of microseconds, more than running it over an index's keys,
/// and a client mostly repeats its queries. At most [`KEPT_PATTERNS`] are
/// kept (all dropped when full); a pattern that does not compile is not.
/// Keeping them changes no answer.
#[derive(Debug, Default)]
pub(crate) struct Patterns(Mutex<HashMap<Box<str>, Arc<Regex>>>);

impl Patterns {
    /// The pattern `source` of query key `key`, compiled now or before.
    fn get(&self, key: &str, source: &str) -> Result<Pattern, ApiError> {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(regex) = kept.get(source) {
            return Ok(Pattern(Arc::clone(regex)));
        }
        let regex = Arc::new(compile(key, source)?);
        if kept.len() >= KEPT_PATTERNS {
            kept.clear();
        }
        kept.insert(source.into(), Arc::clone(&regex));
        Ok(Pattern(regex))
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

/// One query key: a field path, an operator and the values it was given
/// (repeating a key ORs its values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    /// The field's path, split at dots.
    pub path: Vec<String>,
    /// The comparison.
    pub op: Op,
    /// The values; an item passes if it matches any. Lower-cased for
    /// `contains`, `startsWith` and `endsWith`.
    pub values: Vec<String>,
    /// For [`Op::Like`]: each value compiled, in the same order.
    pub patterns: Vec<Pattern>,
    /// Whether the key is the field alone (`title=x`, no operator): the
    /// filter the json-server preset drops when no item has the field.
    pub plain: bool,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SortKey {
    /// The field's path, split at dots.
    pub path: Vec<String>,
    /// Largest first.
    pub descending: bool,
}

/// Which part of the result to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paging {
    /// Everything.
    All,
    /// `_page` (from 1) of `limit` items.
    Page {
        /// The page number, from 1.
        page: usize,
        /// Items per page.
        limit: usize,
    },
    /// Items `start..end`.
    Slice {
        /// The first index.
        start: usize,
        /// One past the last index, if bounded.
        end: Option<usize>,
    },
    /// json-server 1.0's `_page` with `_per_page`: the page (brought into
    /// `1..=pages`, as 1.0 does) inside the envelope
    /// `{"first","prev","next","last","pages","items","data"}`.
    Envelope {
        /// The page asked for, from 1.
        page: usize,
        /// Items per page.
        per_page: usize,
    },
}

/// The default `_limit` of a page.
pub(crate) const DEFAULT_PAGE_LIMIT: usize = 10;

/// The relations a request asks for: `_embed` (children whose foreign key is
/// this item's id) and `_expand` (the parent this item's foreign key names).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Relations {
    /// Child types to embed, in the order asked.
    pub embed: Vec<String>,
    /// Parents to expand, by singular name (`post` for `postId`).
    pub expand: Vec<String>,
}

impl Relations {
    /// Whether nothing is asked.
    pub(crate) fn is_empty(&self) -> bool {
        self.embed.is_empty() && self.expand.is_empty()
    }

    /// Reads `_embed` and `_expand` (each may repeat and hold a comma list).
    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let mut relations = Self::default();
        for (key, value) in pairs {
            let embed = match key.as_str() {
                "_embed" => true,
                "_expand" => false,
                _ => continue,
            };
            for name in value.split(',') {
                check_name(name, "name", &format!("in `{key}`"))
                    .map_err(|err| bad(err.message()))?;
                let list = if embed {
                    &mut relations.embed
                } else {
                    &mut relations.expand
                };
                if !list.iter().any(|seen| seen == name) {
                    list.push(name.to_owned());
                }
                if relations.embed.len() + relations.expand.len() > MAX_RELATIONS {
                    return Err(bad(format!(
                        "`_embed` and `_expand` name more than {MAX_RELATIONS} relations; at most \
                         {MAX_RELATIONS}."
                    )));
                }
            }
        }
        Ok(relations)
    }

    /// Reads the query (its decoded pairs) of a single item's `GET`: the
    /// relations, the controls, and nothing else that starts with `_`.
    pub(crate) fn parse_item(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        check_keys(pairs, ITEM_PARAMS, None)?;
        Self::from_pairs(pairs)
    }
}

/// A parsed list query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListQuery {
    /// All must pass.
    pub filters: Vec<Filter>,
    /// `_where`'s `or`: when any, an item must also pass every filter of at
    /// least one of them.
    pub alternatives: Vec<Vec<Filter>>,
    /// `q`, lower-cased.
    pub search: Option<String>,
    /// Sort keys, most significant first.
    pub sort: Vec<SortKey>,
    /// The slice to answer.
    pub paging: Paging,
    /// What to embed and expand in each item answered.
    pub relations: Relations,
}

/// `400` for the first key that starts with `_` and is neither one of
/// `known`, a control, nor (where `filters` is given: a list) a filter on one
/// of the `filters` fields (the id field, and the timestamps when they are
/// on). The message names the key and lists what the route takes.
fn check_keys(
    pairs: &[(String, String)],
    known: &[&str],
    filters: Option<&[&str]>,
) -> Result<(), ApiError> {
    for (key, _) in pairs {
        if !key.starts_with('_')
            || known.contains(&key.as_str())
            || CONTROL_PARAMS.contains(&key.as_str())
        {
            continue;
        }
        if let Some(fields) = filters {
            let field = split_key(key)
                .ok()
                .and_then(|(field, _)| field.split('.').next());
            if field.is_some_and(|field| fields.contains(&field)) {
                continue;
            }
        }
        let listed: Vec<String> = known
            .iter()
            .chain(CONTROL_PARAMS)
            .map(|name| format!("`{name}`"))
            .collect();
        let (last, rest) = listed.split_last().map_or(("", &[][..]), |(l, r)| (l, r));
        let takes = if rest.is_empty() {
            last.to_owned()
        } else {
            format!("{} and {last}", rest.join(", "))
        };
        let others = match filters {
            Some(fields) => {
                let underscored: Vec<String> = fields
                    .iter()
                    .filter(|field| field.starts_with('_'))
                    .map(|field| format!("`{field}`"))
                    .collect();
                let which = match underscored.split_last() {
                    None => "none of the fields that start with `_` can be filtered".to_owned(),
                    Some((only, [])) => {
                        format!("of the fields that start with `_`, only {only} can be filtered")
                    }
                    Some((last, rest)) => format!(
                        "of the fields that start with `_`, only {} and {last} can be filtered",
                        rest.join(", ")
                    ),
                };
                format!(
                    " Other keys are filters (`field=value`, `field_gte=value`, \
                     `field:gte=value`); {which}."
                )
            }
            None => String::new(),
        };
        return Err(bad(format!(
            "Unknown query parameter `{key}`. This route takes {takes}.{others}"
        )));
    }
    Ok(())
}

/// `400` unless every `_` parameter of the query is a mock control: the
/// check for routes that take no query of their own (writes).
pub(crate) fn check_controls_only(pairs: &[(String, String)]) -> Result<(), ApiError> {
    check_keys(pairs, &[], None)
}

/// The `_` parameters of the `/api` routes that read no query of their own
/// (creates, replaces, patches and deletes) must be mock controls; lists and
/// item reads check theirs as they parse them. Other routes keep their own
/// rules.
pub(crate) fn check_route_query(
    route: &Route,
    method: &Method,
    pairs: &[(String, String)],
) -> Result<(), ApiError> {
    let reads = matches!(method, Method::Get | Method::Head);
    match route {
        // json-server 1.0's `_dependent`: the child types a DELETE takes with it.
        Route::Item { .. } if *method == Method::Delete => {
            check_keys(pairs, ITEM_DELETE_PARAMS, None)
        }
        Route::Collection { .. } | Route::Item { .. } | Route::Children { .. } if !reads => {
            check_controls_only(pairs)
        }
        // A singular resource reads no query of its own either.
        Route::Single { .. } => check_controls_only(pairs),
        _ => Ok(()),
    }
}

/// A filter key's field and operator: `age:gte` (1.0), `age_gte` (0.17) or
/// `age` (equality). A colon with an unknown operator after it is refused,
/// so a misspelt operator is never a silent filter on a field named
/// `age:gtx`.
fn split_key(key: &str) -> Result<(&str, Op), ApiError> {
    if let Some((field, name)) = key.rsplit_once(':') {
        return COLON_OPERATORS
            .iter()
            .find(|(op, _)| *op == name)
            .map(|(_, op)| (field, *op))
            .ok_or_else(|| {
                let ops: Vec<&str> = COLON_OPERATORS.iter().map(|(op, _)| *op).collect();
                bad(format!(
                    "`{key}` has an unknown operator `{name}`; after a colon, the operators are \
                     {}.",
                    ops.join(", ")
                ))
            });
    }
    Ok(SUFFIX_OPERATORS
        .iter()
        .find_map(|(suffix, op)| key.strip_suffix(suffix).map(|field| (field, *op)))
        .unwrap_or((key, Op::Eq)))
}

/// The child types `_dependent` names on an item's `DELETE` (comma lists,
/// repeats kept once), each a valid type name.
pub(crate) fn dependent_types(pairs: &[(String, String)]) -> Result<Vec<String>, ApiError> {
    let mut types: Vec<String> = Vec::new();
    for (_, value) in pairs.iter().filter(|(key, _)| key == "_dependent") {
        for name in value.split(',') {
            check_name(name, "name", "in `_dependent`").map_err(|err| bad(err.message()))?;
            if !types.iter().any(|seen| seen == name) {
                types.push(name.to_owned());
            }
            if types.len() > MAX_RELATIONS {
                return Err(bad(format!(
                    "`_dependent` names more than {MAX_RELATIONS} types; at most {MAX_RELATIONS}."
                )));
            }
        }
    }
    Ok(types)
}

/// Compiles a `_like` pattern: case-insensitive, linear-time (the `regex`
/// crate has no backtracking), bounded in size.
fn compile(key: &str, pattern: &str) -> Result<Regex, ApiError> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(bad(format!(
            "`{key}` is a pattern of {} bytes; at most {MAX_PATTERN_BYTES} bytes.",
            pattern.len()
        )));
    }
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|err| {
            let detail = match err {
                regex::Error::CompiledTooBig(_) => {
                    format!("it compiles to more than {PATTERN_SIZE_LIMIT} bytes; make it simpler")
                }
                err => err.to_string(),
            };
            bad(format!(
                "`{key}` is not a valid regular expression: {detail}"
            ))
        })
}

impl ListQuery {
    /// Whether the answer is the collection in creation order, only sliced.
    pub(crate) fn is_plain(&self) -> bool {
        self.filters.is_empty()
            && self.alternatives.is_empty()
            && self.search.is_none()
            && self.sort.is_empty()
    }

    /// Reads a raw query string, where the id field is `_id` and the only
    /// field starting with `_` that can be filtered.
    #[cfg(test)]
    pub(crate) fn parse(raw: &str) -> Result<Self, ApiError> {
        let pairs = crate::http::incoming::decode(raw);
        Self::parse_with(&pairs, &[crate::store::ids::ID_KEY], &Patterns::default())
    }

    /// Reads a query's decoded pairs, where of the fields that start with
    /// `_`, those in `filterable` (the id field, the timestamps) can be
    /// filtered; `_like` patterns come compiled from `kept` when it has them.
    pub(crate) fn parse_with(
        pairs: &[(String, String)],
        filterable: &[&str],
        kept: &Patterns,
    ) -> Result<Self, ApiError> {
        check_keys(pairs, LIST_PARAMS, Some(filterable))?;
        let from_where;
        let mut where_or = Vec::new();
        let filter_pairs = match pairs.iter().rev().find(|(key, _)| key == "_where") {
            Some((_, text)) => {
                let (anded, ored) = where_pairs(text)?;
                from_where = anded;
                where_or = ored;
                &from_where
            }
            None => pairs,
        };
        let last = |key: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };

        // Compiled once per request: a pattern repeated under other keys is shared.
        let mut compiled: Vec<Pattern> = Vec::new();
        let filters = filters_of(filter_pairs, kept, &mut compiled)?;
        let mut alternatives = Vec::new();
        for alternative in &where_or {
            alternatives.push(filters_of(alternative, kept, &mut compiled)?);
        }

        // The first `q`, as json-server 0.17 takes it.
        let first_q = pairs
            .iter()
            .find(|(k, _)| k == "q")
            .map(|(_, v)| v.as_str());
        let search = match first_q {
            Some(q) if q.len() > MAX_SEARCH_BYTES => {
                return Err(bad(format!(
                    "`q` is {} bytes long; at most {MAX_SEARCH_BYTES} bytes.",
                    q.len()
                )))
            }
            q => q.map(str::to_lowercase),
        };
        let sort = match last("_sort") {
            None => Vec::new(),
            Some(sort) => sort_keys(sort, last("_order"))?,
        };
        let number = |key: &str, min: usize| -> Result<Option<usize>, ApiError> {
            match last(key) {
                None => Ok(None),
                Some(text) => match whole_number(text).map(usize::try_from) {
                    Some(Ok(n)) if n >= min => Ok(Some(n)),
                    Some(Err(_)) => Ok(Some(usize::MAX)),
                    _ => Err(bad(format!(
                        "`{key}` must be a whole number of at least {min}; got `{text}`."
                    ))),
                },
            }
        };
        // json-server 1.0 takes `_page=0` and `_per_page=0` as 1 in its
        // envelope; 0.17's `_page` (with `_limit`) starts at 1.
        let enveloped = last("_per_page").is_some();
        let page = number("_page", usize::from(!enveloped))?;
        let per_page = number("_per_page", 0)?.map(|per_page| per_page.max(1));
        let limit = number("_limit", 0)?;
        let start = number("_start", 0)?;
        let end = number("_end", 0)?;
        if per_page.is_some() {
            let other = [("_limit", limit), ("_start", start), ("_end", end)]
                .into_iter()
                .find_map(|(name, value)| value.map(|_| name));
            if let Some(other) = other {
                return Err(bad(format!(
                    "`_per_page` (json-server 1.0) and `{other}` (0.17) cannot be combined: \
                     page with `_page` and `_per_page`, or with `_page` and `_limit`, or slice \
                     with `_start`, `_end` and `_limit`."
                )));
            }
        }
        let paging = match (page, per_page, start, end, limit) {
            (page, Some(per_page), ..) => Paging::Envelope {
                page: page.unwrap_or(1).max(1),
                per_page,
            },
            (Some(page), None, _, _, limit) => Paging::Page {
                page,
                limit: match limit {
                    Some(0) => {
                        return Err(bad("`_limit` must be at least 1 with `_page`.".to_owned()))
                    }
                    Some(limit) => limit,
                    None => DEFAULT_PAGE_LIMIT,
                },
            },
            (None, None, None, None, None) => Paging::All,
            (None, None, start, end, limit) => {
                let start = start.unwrap_or(0);
                Paging::Slice {
                    start,
                    end: end.or_else(|| limit.map(|limit| start.saturating_add(limit))),
                }
            }
        };
        Ok(Self {
            filters,
            alternatives,
            search,
            sort,
            paging,
            relations: Relations::from_pairs(pairs)?,
        })
    }
}

/// The filters of a query's pairs: each key once (a repeated key's values
/// ORed, `_ne`'s ANDed), `_like` patterns compiled once per request (from
/// `kept` when it has them, shared through `compiled`).
fn filters_of(
    pairs: &[(String, String)],
    kept: &Patterns,
    compiled: &mut Vec<Pattern>,
) -> Result<Vec<Filter>, ApiError> {
    let mut filters: Vec<(String, Filter)> = Vec::new();
    for (key, value) in pairs {
        // `check_keys` has let through only known `_` keys and id filters.
        let key_str = key.as_str();
        if LIST_PARAMS.contains(&key_str)
            || CONTROL_PARAMS.contains(&key_str)
            || NOT_FILTERS.contains(&key_str)
        {
            continue;
        }
        let (field, op) = split_key(key)?;
        let values: Vec<String> = if key.ends_with(":in") || key.ends_with("_in") {
            value.split(',').map(str::to_owned).collect()
        } else {
            vec![value.clone()]
        };
        let values: Vec<String> = match op {
            Op::Contains | Op::StartsWith | Op::EndsWith => {
                values.iter().map(|v| v.to_lowercase()).collect()
            }
            _ => values,
        };
        let mut patterns = Vec::new();
        if op == Op::Like {
            for value in &values {
                let pattern = match compiled.iter().find(|p| p.0.as_str() == value) {
                    Some(pattern) => pattern.clone(),
                    None => {
                        if compiled.len() == MAX_PATTERNS {
                            return Err(bad(format!(
                                "The query has more than {MAX_PATTERNS} different `_like` \
                                 patterns; at most {MAX_PATTERNS}."
                            )));
                        }
                        let pattern = kept.get(key, value)?;
                        compiled.push(pattern.clone());
                        pattern
                    }
                };
                patterns.push(pattern);
            }
        }
        let too_many = || {
            bad(format!(
                "`{key}` is given more than {MAX_FILTER_VALUES} values; at most \
                 {MAX_FILTER_VALUES} values per filter."
            ))
        };
        if let Some((_, filter)) = filters.iter_mut().find(|(k, _)| k == key) {
            if filter.values.len() + values.len() > MAX_FILTER_VALUES {
                return Err(too_many());
            }
            filter.values.extend(values);
            filter.patterns.extend(patterns);
            continue;
        }
        if values.len() > MAX_FILTER_VALUES {
            return Err(too_many());
        }
        if filters.len() == MAX_FILTERS {
            return Err(bad(format!(
                "The query has more than {MAX_FILTERS} filters; at most {MAX_FILTERS} \
                 different filter keys per query."
            )));
        }
        filters.push((
            key.clone(),
            Filter {
                path: field_path(field, key)?,
                op,
                plain: field == key,
                values,
                patterns,
            },
        ));
    }
    Ok(filters.into_iter().map(|(_, f)| f).collect())
}

fn bad(reason: String) -> ApiError {
    ApiError::BadQuery { reason }
}

fn field_path(field: &str, key: &str) -> Result<Vec<String>, ApiError> {
    if field.is_empty() || field.split('.').any(str::is_empty) {
        return Err(bad(format!("`{key}` does not name a field.")));
    }
    let segments = field.split('.').count();
    if segments > MAX_PATH_SEGMENTS {
        return Err(bad(format!(
            "`{key}` names a field path of {segments} segments; at most {MAX_PATH_SEGMENTS}."
        )));
    }
    Ok(field.split('.').map(str::to_owned).collect())
}

/// The sort keys, most significant first. A field named again is dropped:
/// the first mention (and its direction) wins, since a later one can never
/// decide an order the first has left equal. `-field` (1.0) and `_order`
/// (0.17) each say a direction; together they would contradict each other,
/// so they are refused.
fn sort_keys(sort: &str, order: Option<&str>) -> Result<Vec<SortKey>, ApiError> {
    let count = sort.split(',').count();
    if count > MAX_SORT_KEYS {
        return Err(bad(format!(
            "`_sort` names {count} fields; at most {MAX_SORT_KEYS}."
        )));
    }
    if order.is_some() {
        if let Some(minus) = sort.split(',').find(|f| f.trim().starts_with('-')) {
            return Err(bad(format!(
                "`_sort` sorts `{}` descending with a minus (json-server 1.0) and `_order` \
                 (0.17) gives directions too; use one or the other.",
                minus.trim()
            )));
        }
    }
    let orders: Vec<&str> = order.map(|o| o.split(',').collect()).unwrap_or_default();
    let keys = sort
        .split(',')
        .enumerate()
        .map(|(n, field)| {
            let field = field.trim();
            let (field, minus) = match field.strip_prefix('-') {
                Some(rest) => (rest, true),
                None => (field, false),
            };
            let descending = match orders.get(n).map(|o| o.trim().to_ascii_lowercase()) {
                None => minus,
                Some(o) if o == "asc" => false,
                Some(o) if o == "desc" => true,
                Some(o) => return Err(bad(format!("`_order` takes `asc` or `desc`; got `{o}`."))),
            };
            Ok(SortKey {
                path: field_path(field, "_sort")?,
                descending,
            })
        })
        .collect::<Result<Vec<SortKey>, ApiError>>()?;
    let mut unique: Vec<SortKey> = Vec::with_capacity(keys.len());
    for key in keys {
        if !unique.iter().any(|seen| seen.path == key.path) {
            unique.push(key);
        }
    }
    Ok(unique)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::incoming::decode;

    fn parse(raw: &str) -> ListQuery {
        ListQuery::parse(raw).unwrap()
    }

    #[test]
    fn filters_group_repeats_and_read_suffixes() {
        let query = parse("name=a&age_gte=3&name=b&a.b_like=x%20y&price_gt=1&_delay=5");
        let summary: Vec<(Vec<String>, Op, Vec<String>)> = query
            .filters
            .into_iter()
            .map(|f| (f.path, f.op, f.values))
            .collect();
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            summary,
            [
                (s(&["name"]), Op::Eq, s(&["a", "b"])),
                (s(&["age"]), Op::Gte, s(&["3"])),
                (s(&["a", "b"]), Op::Like, s(&["x y"])),
                (s(&["price"]), Op::Gt, s(&["1"])),
            ]
        );
    }

    #[test]
    fn the_1_0_operators_read_after_a_colon() {
        let query = parse(
            "age:gte=3&name:in=a,b&name:in=c&a.b:startsWith=X&n:eq=1&_id:ne=x&t_x:contains=Ab",
        );
        let summary: Vec<(String, Op, Vec<String>)> = query
            .filters
            .into_iter()
            .map(|f| (f.path.join("."), f.op, f.values))
            .collect();
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            summary,
            [
                ("age".to_owned(), Op::Gte, s(&["3"])),
                ("name".to_owned(), Op::Eq, s(&["a", "b", "c"])),
                ("a.b".to_owned(), Op::StartsWith, s(&["x"])),
                ("n".to_owned(), Op::Eq, s(&["1"])),
                ("_id".to_owned(), Op::Ne, s(&["x"])),
                ("t_x".to_owned(), Op::Contains, s(&["ab"])),
            ]
        );
        let err = ListQuery::parse("age:gtx=1").unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message().contains("unknown operator `gtx`"), "{err}");
        let many = vec!["1"; MAX_FILTER_VALUES + 1].join(",");
        assert!(ListQuery::parse(&format!("id:in={}", &many[2..])).is_ok());
        let err = ListQuery::parse(&format!("id:in={many}")).unwrap_err();
        assert!(err.message().contains("at most 64 values"), "{err}");
    }

    #[test]
    fn unknown_underscore_keys_are_refused_by_name() {
        for (raw, named) in [
            ("_fields=a", "`_fields`"),
            ("_select=a", "`_select`"),
            ("_like=a", "`_like`"),
            ("_idx=a", "`_idx`"),
            ("name=a&_Sort=name", "`_Sort`"),
        ] {
            let err = ListQuery::parse(raw).unwrap_err();
            assert_eq!(err.status(), 400, "{raw}");
            let message = err.message();
            assert!(
                message.contains(&format!("Unknown query parameter {named}")),
                "{message}"
            );
            assert!(
                message.contains("`_per_page`") && message.contains("`_embed`"),
                "{message}"
            );
        }
        for ok in [
            "_=1",
            "_delay=0",
            "_status=200",
            "_id=x",
            "_id_like=x",
            "_id:in=a,b",
            "callback=f",
        ] {
            assert!(ListQuery::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(parse("_id=x").filters.len(), 1);
        assert!(parse("_=1&callback=f&_delay=1").filters.is_empty());
        let err = Relations::parse_item(&decode("_sort=a")).unwrap_err();
        assert!(
            err.message()
                .contains("`_embed`, `_expand`, `_delay`, `_status` and `_`"),
            "{err}"
        );
        assert!(check_controls_only(&decode("_delay=1&_status=201&_=5&x=1")).is_ok());
        assert!(check_controls_only(&decode("_embed=a")).is_err());
    }

    #[test]
    fn like_patterns_are_compiled_once_across_queries_and_errors_each_time() {
        let kept = Patterns::default();
        let first = ListQuery::parse_with(&decode("a_like=^x"), &[], &kept).unwrap();
        let again = ListQuery::parse_with(&decode("b_like=^x&c_like=y"), &[], &kept).unwrap();
        assert!(Arc::ptr_eq(
            &first.filters[0].patterns[0].0,
            &again.filters[0].patterns[0].0
        ));
        // The error names the key of the query that gave it, every time.
        for key in ["a_like", "b_like"] {
            let err = ListQuery::parse_with(&decode(&format!("{key}=(")), &[], &kept).unwrap_err();
            assert!(err.message().contains(&format!("`{key}`")), "{err}");
        }
        // Bounded: past the bound the kept ones are dropped, the answers stay.
        for n in 0..KEPT_PATTERNS * 2 {
            let query =
                ListQuery::parse_with(&decode(&format!("a_like=^{n}$")), &[], &kept).unwrap();
            assert!(query.filters[0].patterns[0].0.is_match(&n.to_string()));
        }
        assert!(kept.0.lock().unwrap().len() <= KEPT_PATTERNS);
    }

    #[test]
    fn like_is_a_bounded_case_insensitive_regex() {
        let query = parse("name_like=^a&name_like=^a&title_like=^a&x_like=b");
        assert!(query.filters[0].patterns[0].0.is_match("Ada"));
        assert_eq!(query.filters[0].patterns.len(), 2);
        for (raw, says) in [
            (
                "name_like=(",
                "`name_like` is not a valid regular expression",
            ),
            ("name_like=a{100}{100}{100}", "compiles to more than"),
        ] {
            let err = ListQuery::parse(raw).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(err.message().contains(says), "{err}");
        }
        let long = "a".repeat(MAX_PATTERN_BYTES + 1);
        let err = ListQuery::parse(&format!("n_like={long}")).unwrap_err();
        assert!(err.message().contains("at most 1024 bytes"), "{err}");
        let many: Vec<String> = (0..=MAX_PATTERNS).map(|n| format!("f_like=p{n}")).collect();
        assert!(ListQuery::parse(&many[..MAX_PATTERNS].join("&")).is_ok());
        let err = ListQuery::parse(&many.join("&")).unwrap_err();
        assert!(err.message().contains("`_like` patterns"), "{err}");
    }

    #[test]
    fn relations_repeat_split_and_are_bounded() {
        let relations = parse("_embed=comments&_embed=likes,comments&_expand=user").relations;
        assert_eq!(relations.embed, ["comments", "likes"]);
        assert_eq!(relations.expand, ["user"]);
        let names: Vec<String> = (0..=MAX_RELATIONS).map(|n| format!("t{n}")).collect();
        assert!(ListQuery::parse(&format!("_embed={}", names[..MAX_RELATIONS].join(","))).is_ok());
        let err = ListQuery::parse(&format!("_embed={}", names.join(","))).unwrap_err();
        assert!(err.message().contains("at most 16"), "{err}");
        assert_eq!(
            ListQuery::parse("_embed=").map_err(|e| e.status()),
            Err(400)
        );
        assert_eq!(
            ListQuery::parse("_expand=a,,b").map_err(|e| e.status()),
            Err(400)
        );
    }

    #[test]
    fn sort_orders_and_minus() {
        let keys = parse("_sort=a,b,c&_order=desc,asc").sort;
        let dirs: Vec<bool> = keys.iter().map(|k| k.descending).collect();
        assert_eq!(dirs, [true, false, false]);
        let keys = parse("_sort=a,-b,c").sort;
        let dirs: Vec<bool> = keys.iter().map(|k| k.descending).collect();
        assert_eq!(dirs, [false, true, false]);
        let err = ListQuery::parse("_sort=a,-b&_order=asc").unwrap_err();
        assert!(err.message().contains("`-b`"), "{err}");
        assert!(ListQuery::parse("_sort=a&_order=up").is_err());
        assert!(ListQuery::parse("_sort=").is_err());
        assert!(ListQuery::parse("_sort=a..b").is_err());
    }

    #[test]
    fn repeated_sort_fields_keep_their_first_mention() {
        let keys = parse("_sort=a,b,a,b,b.c&_order=desc,asc,asc,desc,desc").sort;
        let summary: Vec<(String, bool)> = keys
            .iter()
            .map(|k| (k.path.join("."), k.descending))
            .collect();
        assert_eq!(
            summary,
            [
                ("a".to_owned(), true),
                ("b".to_owned(), false),
                ("b.c".to_owned(), true)
            ]
        );
    }

    #[test]
    fn every_bound_is_a_400_that_names_it() {
        let fields = |n: usize| vec!["s"; n].join(",");
        assert_eq!(
            parse(&format!("_sort={}", fields(MAX_SORT_KEYS)))
                .sort
                .len(),
            1
        );
        let refused = |raw: &str| match ListQuery::parse(raw) {
            Err(err) => (err.status(), err.message()),
            Ok(query) => panic!("{raw} was accepted: {query:?}"),
        };
        let (status, message) = refused(&format!("_sort={}", fields(MAX_SORT_KEYS + 1)));
        assert_eq!(status, 400);
        assert_eq!(message, "`_sort` names 17 fields; at most 16.");

        let filters: Vec<String> = (0..=MAX_FILTERS).map(|n| format!("f{n}=1")).collect();
        assert!(ListQuery::parse(&filters[..MAX_FILTERS].join("&")).is_ok());
        let (status, message) = refused(&filters.join("&"));
        assert_eq!(status, 400);
        assert!(
            message.contains("at most 64 different filter keys"),
            "{message}"
        );

        let values: Vec<&str> = vec!["f=1"; MAX_FILTER_VALUES + 1];
        assert!(ListQuery::parse(&values[..MAX_FILTER_VALUES].join("&")).is_ok());
        let (_, message) = refused(&values.join("&"));
        assert!(
            message.contains("at most 64 values per filter"),
            "{message}"
        );

        let deep = vec!["a"; MAX_PATH_SEGMENTS + 1].join(".");
        assert!(ListQuery::parse(&format!("{}=1", &deep[2..])).is_ok());
        let (_, message) = refused(&format!("{deep}=1"));
        assert!(message.contains("at most 128"), "{message}");
        let (_, message) = refused(&format!("_sort={deep}"));
        assert!(
            message.starts_with("`_sort` names a field path of 129"),
            "{message}"
        );

        let long = "x".repeat(MAX_SEARCH_BYTES);
        assert!(ListQuery::parse(&format!("q={long}")).is_ok());
        let (_, message) = refused(&format!("q={long}y"));
        assert_eq!(message, "`q` is 1025 bytes long; at most 1024 bytes.");
    }

    #[test]
    fn paging_forms() {
        assert_eq!(parse("").paging, Paging::All);
        assert_eq!(parse("_page=2").paging, Paging::Page { page: 2, limit: 10 });
        assert_eq!(
            parse("_page=2&_limit=5&_start=1").paging,
            Paging::Page { page: 2, limit: 5 }
        );
        assert_eq!(
            parse("_start=5&_end=8").paging,
            Paging::Slice {
                start: 5,
                end: Some(8)
            }
        );
        assert_eq!(
            parse("_start=5&_limit=2").paging,
            Paging::Slice {
                start: 5,
                end: Some(7)
            }
        );
        assert_eq!(
            parse("_limit=3").paging,
            Paging::Slice {
                start: 0,
                end: Some(3)
            }
        );
        assert_eq!(
            parse("_page=3&_per_page=5").paging,
            Paging::Envelope {
                page: 3,
                per_page: 5
            }
        );
        assert_eq!(
            parse("_per_page=5").paging,
            Paging::Envelope {
                page: 1,
                per_page: 5
            }
        );
        for conflict in [
            "_per_page=5&_limit=2",
            "_page=1&_per_page=5&_start=1",
            "_per_page=2&_end=3",
        ] {
            let err = ListQuery::parse(conflict).unwrap_err();
            assert!(err.message().contains("cannot be combined"), "{err}");
        }
        // json-server 1.0's envelope takes 0 as 1; 0.17's pages start at 1.
        for (raw, page, per_page) in [("_per_page=0", 1, 1), ("_page=0&_per_page=3", 1, 3)] {
            assert_eq!(
                ListQuery::parse(raw).map(|q| q.paging),
                Ok(Paging::Envelope { page, per_page }),
                "{raw}"
            );
        }
        for bad in [
            "_page=0",
            "_page=-1",
            "_page=x",
            "_limit=1.5",
            "_start=-2",
            "_page=1&_limit=0",
            "_page=+1",
            "_limit=%205",
            "_start=1e2",
        ] {
            assert_eq!(
                ListQuery::parse(bad).map_err(|e| e.status()),
                Err(400),
                "{bad}"
            );
        }
    }
}
