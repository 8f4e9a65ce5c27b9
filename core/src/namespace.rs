//! Namespaces: the rule for the name a request gives in `X-Mock-Namespace`,
//! which every host applies before it picks the namespace's engine.
//!
//! A host holds one engine per namespace (its own items, types and journal)
//! and picks it by this header; no header, or a blank one, is
//! [`DEFAULT_NAMESPACE`]. A name is 1 to [`MAX_NAMESPACE_BYTES`] bytes of
//! `[A-Za-z0-9._-]`; anything else is `400` ([`ApiError::BadNamespace`]),
//! and so is the header given more than once: a request names one namespace,
//! and no host picks one of several for it. A host passes every value of
//! the header it has (as separate values, or joined with commas as `fetch`
//! joins them; a name holds no comma). A host bounds how many namespaces it holds (`MAX_NAMESPACES`, default
//! [`DEFAULT_MAX_NAMESPACES`]); a new one past the bound is `507`
//! ([`ApiError::TooManyNamespaces`]).

use crate::{ApiError, Request};
use std::collections::BTreeMap;

/// The header that names a request's namespace. Hosts that make requests of
/// their own in a namespace (the npm package's `mock.calls`, `mock.use`) read
/// the name from here rather than spelling it.
pub const NAMESPACE_HEADER: &str = "x-mock-namespace";
/// The namespace of a request without the header (or with a blank one).
pub const DEFAULT_NAMESPACE: &str = "default";
/// The longest namespace name, in bytes.
pub(crate) const MAX_NAMESPACE_BYTES: usize = 64;

/// The namespace a header value names: blank or absent is
/// [`DEFAULT_NAMESPACE`], surrounding spaces are trimmed, and a name that
/// breaks the rule is a `400` saying why. A value with a comma is the
/// header given more than once, joined as `fetch` joins a header's values:
/// `400` too.
pub fn namespace_name(header: Option<&str>) -> Result<&str, ApiError> {
    if header.is_some_and(|value| value.contains(',')) {
        return Err(given_twice());
    }
    let name = header.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Ok(DEFAULT_NAMESPACE);
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"._-".contains(&b);
    if name.len() > MAX_NAMESPACE_BYTES || !name.bytes().all(allowed) {
        return Err(ApiError::BadNamespace {
            reason: format!(
                "X-Mock-Namespace must be 1 to {MAX_NAMESPACE_BYTES} characters of A-Z, a-z, 0-9, `.`, `_` and `-`."
            ),
        });
    }
    Ok(name)
}

/// The namespace of a request: its `X-Mock-Namespace` header, read by
/// [`namespace_name`]; `400` when the request has more than one.
pub fn request_namespace(request: &Request) -> Result<&str, ApiError> {
    let mut headers = request
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(NAMESPACE_HEADER))
        .map(|(_, value)| value.as_str());
    let header = headers.next();
    if headers.next().is_some() {
        return Err(given_twice());
    }
    namespace_name(header)
}

/// What the endpoint knows of each namespace it holds, kept beside the
/// engines so that the one running can list them all (`/health`, the
/// homepage, `/__admin/namespaces`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Listing {
    entries: BTreeMap<String, Sizes>,
    history: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sizes {
    items: usize,
    bytes: usize,
    history: usize,
}

impl Listing {
    /// Sets a namespace's item count, item bytes and history bytes; returns
    /// the item bytes it had.
    pub(crate) fn set(&mut self, name: &str, items: usize, bytes: usize, history: usize) -> usize {
        let sizes = Sizes {
            items,
            bytes,
            history,
        };
        let old = match self.entries.get_mut(name) {
            Some(entry) => std::mem::replace(entry, sizes),
            None => {
                self.entries.insert(name.to_owned(), sizes);
                Sizes::default()
            }
        };
        self.history = self.history.saturating_sub(old.history) + history;
        old.bytes
    }

    /// Forgets a namespace.
    pub(crate) fn remove(&mut self, name: &str) {
        if let Some(old) = self.entries.remove(name) {
            self.history = self.history.saturating_sub(old.history);
        }
    }

    /// The item bytes of a namespace (0 if unknown).
    pub(crate) fn bytes_of(&self, name: &str) -> usize {
        self.entries.get(name).map_or(0, |sizes| sizes.bytes)
    }

    /// The history bytes (journals and replay rings) of every namespace.
    pub(crate) fn history_total(&self) -> usize {
        self.history
    }

    /// Every namespace's name and item count, by name.
    pub(crate) fn counts(&self) -> impl Iterator<Item = (&str, usize)> {
        self.entries
            .iter()
            .map(|(name, sizes)| (name.as_str(), sizes.items))
    }

    /// How many namespaces are listed.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// A namespace's item count, if it is listed.
    pub(crate) fn count_of(&self, name: &str) -> Option<usize> {
        self.entries.get(name).map(|sizes| sizes.items)
    }
}

fn given_twice() -> ApiError {
    ApiError::BadNamespace {
        reason: "X-Mock-Namespace is given more than once; a request names one namespace, so send it once."
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Method;

    #[test]
    fn blank_or_absent_is_default() {
        assert_eq!(namespace_name(None), Ok("default"));
        assert_eq!(namespace_name(Some("")), Ok("default"));
        assert_eq!(namespace_name(Some("  ")), Ok("default"));
        assert_eq!(namespace_name(Some(" shop ")), Ok("shop"));
    }

    #[test]
    fn names_are_1_to_64_bytes_of_the_allowed_characters() {
        let longest = "a".repeat(64);
        for good in ["a", "Shop-1.test_x", longest.as_str()] {
            assert_eq!(namespace_name(Some(good)), Ok(good));
        }
        let too_long = "a".repeat(65);
        for bad in [too_long.as_str(), "a b", "a/b", "é", "a:b", "%41"] {
            let err = namespace_name(Some(bad)).unwrap_err();
            assert_eq!(err.status(), 400, "{bad}");
            assert!(err.message().contains("X-Mock-Namespace"), "{bad}");
        }
    }

    #[test]
    fn the_request_header_is_found_in_any_case() {
        let mut request = Request::new(Method::Get, "/api/x");
        assert_eq!(request_namespace(&request), Ok("default"));
        request
            .headers
            .push(("X-Mock-NAMESPACE".to_owned(), "team.a".to_owned()));
        assert_eq!(request_namespace(&request), Ok("team.a"));
    }

    #[test]
    fn a_header_given_more_than_once_is_400() {
        let request = |values: &[&str]| {
            values
                .iter()
                .fold(Request::new(Method::Get, "/api/x"), |request, value| {
                    request.with_header("X-Mock-Namespace", value)
                })
        };
        for values in [
            &["a", "b"][..],
            &["a", "a"],
            &["a", ""],
            &["", ""],
            &["a, b"],
            &["a,"],
        ] {
            let err = request_namespace(&request(values)).unwrap_err();
            assert_eq!(err.status(), 400, "{values:?}");
            assert!(err.message().contains("more than once"), "{values:?}");
        }
        let err = namespace_name(Some("a, b")).unwrap_err();
        assert!(
            err.message().contains("more than once"),
            "as fetch joins them"
        );
        assert_eq!(request_namespace(&request(&["a"])), Ok("a"));
    }

    #[test]
    fn too_many_namespaces_is_507_naming_the_setting() {
        let err = ApiError::TooManyNamespaces { limit: 3 };
        assert_eq!(err.status(), 507);
        assert!(err.message().contains("MAX_NAMESPACES"));
        assert!(err.message().contains('3'));
    }
}
