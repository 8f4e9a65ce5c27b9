//! The list query language, json-server 0.17's dialect: filters, `q`, `_sort`
//! and `_order`, `_page`/`_limit` and `_start`/`_end`/`_limit`.

use crate::body::MAX_DEPTH;
use crate::error::ApiError;
use crate::number::whole_number;

/// The most sort keys `_sort` may name (repeats included): sorting reads
/// every key of every matched item, so the work grows with their number.
pub const MAX_SORT_KEYS: usize = 16;
/// The most distinct filter keys (`name`, `age_gte`, ...) in one query.
pub const MAX_FILTERS: usize = 64;
/// The most values one filter key may be given (`name=a&name=b` is two).
pub const MAX_FILTER_VALUES: usize = 64;
/// The most dot-separated segments in a field path: a body nests at most
/// [`MAX_DEPTH`] levels, so a longer path can reach nothing.
pub const MAX_PATH_SEGMENTS: usize = MAX_DEPTH;
/// The longest `q`, in bytes.
pub const MAX_SEARCH_BYTES: usize = 1024;

/// Query keys that are not filters. `_delay` and `_status` belong to the mock
/// controls; `_` and `callback` are what jQuery and JSONP add, ignored as
/// json-server ignores them.
const RESERVED: &[&str] = &[
    "_sort", "_order", "_page", "_limit", "_start", "_end", "q", "_delay", "_status", "_",
    "callback",
];

/// Relations json-server can embed; this mock has none.
const UNSUPPORTED: &[&str] = &["_embed", "_expand"];

/// Filter operators, by key suffix. Longer suffixes first so `_gte` is not read as `_gt`.
const OPERATORS: &[(&str, Op)] = &[
    ("_gte", Op::Gte),
    ("_lte", Op::Lte),
    ("_like", Op::Like),
    ("_ne", Op::Ne),
    ("_gt", Op::Gt),
    ("_lt", Op::Lt),
];

/// How a filter compares a field with its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `field=value`
    Eq,
    /// `field_ne=value`
    Ne,
    /// `field_gt=value`
    Gt,
    /// `field_gte=value`
    Gte,
    /// `field_lt=value`
    Lt,
    /// `field_lte=value`
    Lte,
    /// `field_like=text`: case-insensitive substring.
    Like,
}

/// One query key: a field path, an operator and the values it was given
/// (repeating a key ORs its values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The field's path, split at dots.
    pub path: Vec<String>,
    /// The comparison.
    pub op: Op,
    /// The values; an item passes if it matches any.
    pub values: Vec<String>,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// The field's path, split at dots.
    pub path: Vec<String>,
    /// Largest first.
    pub descending: bool,
}

/// Which part of the result to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
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
}

/// The default `_limit` of a page.
pub const DEFAULT_PAGE_LIMIT: usize = 10;

/// A parsed list query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// All must pass.
    pub filters: Vec<Filter>,
    /// `q`, lower-cased.
    pub search: Option<String>,
    /// Sort keys, most significant first.
    pub sort: Vec<SortKey>,
    /// The slice to answer.
    pub paging: Paging,
}

impl ListQuery {
    /// Whether the answer is the collection in creation order, only sliced.
    pub fn is_plain(&self) -> bool {
        self.filters.is_empty() && self.search.is_none() && self.sort.is_empty()
    }

    /// Reads a raw query string.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let last = |key: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };

        let mut filters: Vec<(String, Filter)> = Vec::new();
        for (key, value) in &pairs {
            if RESERVED.contains(&key.as_str()) {
                continue;
            }
            if UNSUPPORTED.contains(&key.as_str()) {
                return Err(bad(format!(
                    "`{key}` is not supported: this mock has no relations."
                )));
            }
            if let Some((_, filter)) = filters.iter_mut().find(|(k, _)| k == key) {
                if filter.values.len() == MAX_FILTER_VALUES {
                    return Err(bad(format!(
                        "`{key}` is given more than {MAX_FILTER_VALUES} values; at most \
                         {MAX_FILTER_VALUES} values per filter."
                    )));
                }
                filter.values.push(value.clone());
                continue;
            }
            if filters.len() == MAX_FILTERS {
                return Err(bad(format!(
                    "The query has more than {MAX_FILTERS} filters; at most {MAX_FILTERS} \
                     different filter keys per query."
                )));
            }
            let (field, op) = OPERATORS
                .iter()
                .find_map(|(suffix, op)| key.strip_suffix(suffix).map(|field| (field, *op)))
                .unwrap_or((key.as_str(), Op::Eq));
            filters.push((
                key.clone(),
                Filter {
                    path: field_path(field, key)?,
                    op,
                    values: vec![value.clone()],
                },
            ));
        }

        let search = match last("q") {
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
        let page = number("_page", 1)?;
        let limit = number("_limit", 0)?;
        let start = number("_start", 0)?;
        let end = number("_end", 0)?;
        let paging = match (page, start, end, limit) {
            (Some(page), ..) => Paging::Page {
                page,
                limit: match limit {
                    Some(0) => {
                        return Err(bad("`_limit` must be at least 1 with `_page`.".to_owned()))
                    }
                    Some(limit) => limit,
                    None => DEFAULT_PAGE_LIMIT,
                },
            },
            (None, None, None, None) => Paging::All,
            (None, start, end, limit) => {
                let start = start.unwrap_or(0);
                Paging::Slice {
                    start,
                    end: end.or_else(|| limit.map(|limit| start.saturating_add(limit))),
                }
            }
        };
        Ok(Self {
            filters: filters.into_iter().map(|(_, f)| f).collect(),
            search,
            sort,
            paging,
        })
    }
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
/// decide an order the first has left equal.
fn sort_keys(sort: &str, order: Option<&str>) -> Result<Vec<SortKey>, ApiError> {
    let count = sort.split(',').count();
    if count > MAX_SORT_KEYS {
        return Err(bad(format!(
            "`_sort` names {count} fields; at most {MAX_SORT_KEYS}."
        )));
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
                Some(o) if o == "asc" => minus,
                Some(o) if o == "desc" => !minus,
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
    fn sort_orders_and_minus() {
        let keys = parse("_sort=a,-b,c&_order=desc,asc").sort;
        let dirs: Vec<bool> = keys.iter().map(|k| k.descending).collect();
        assert_eq!(dirs, [true, true, false]);
        assert!(ListQuery::parse("_sort=a&_order=up").is_err());
        assert!(ListQuery::parse("_sort=").is_err());
        assert!(ListQuery::parse("_sort=a..b").is_err());
    }

    #[test]
    fn repeated_sort_fields_keep_their_first_mention() {
        let keys = parse("_sort=a,b,a,-b,b.c&_order=desc,asc,asc,asc,desc").sort;
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
