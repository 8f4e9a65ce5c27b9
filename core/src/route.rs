//! Which route a path names, and which methods each route takes.

use crate::error::ApiError;
use crate::request::Method;
use percent_encoding::percent_decode_str;

/// The longest resource name or id, in bytes after percent-decoding.
pub const MAX_SEGMENT_BYTES: usize = 128;

/// A route of the API, with its path parameters decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`: the HTML homepage.
    Home,
    /// `/health`: name, version, uptime and counts.
    Health,
    /// `/api/{resource}`: one type's collection.
    Collection {
        /// The resource type.
        resource: String,
    },
    /// `/api/{resource}/{id}`: one item.
    Item {
        /// The resource type.
        resource: String,
        /// The item's `_id`.
        id: String,
    },
}

/// Methods of the pages, in `Allow` order.
const PAGE_METHODS: &[Method] = &[Method::Get, Method::Head, Method::Options];
/// Methods of a collection.
const COLLECTION_METHODS: &[Method] = &[Method::Get, Method::Head, Method::Post, Method::Options];
/// Methods of an item.
const ITEM_METHODS: &[Method] = &[
    Method::Get,
    Method::Head,
    Method::Put,
    Method::Delete,
    Method::Options,
];

impl Route {
    /// Finds the route of a raw (percent-encoded) path. One trailing slash is ignored.
    pub fn parse(path: &str) -> Result<Self, ApiError> {
        let trimmed = match path.strip_suffix('/') {
            Some(rest) if !rest.is_empty() => rest,
            _ => path,
        };
        let unknown = || ApiError::UnknownPath {
            path: path.to_owned(),
        };
        let Some(rest) = trimmed.strip_prefix('/') else {
            return Err(unknown());
        };
        let segments: Vec<&str> = rest.split('/').collect();
        match segments.as_slice() {
            [""] => Ok(Self::Home),
            ["health"] => Ok(Self::Health),
            ["api", resource] => Ok(Self::Collection {
                resource: decode_segment(resource, "resource name")?,
            }),
            ["api", resource, id] => Ok(Self::Item {
                resource: decode_segment(resource, "resource name")?,
                id: decode_segment(id, "id")?,
            }),
            _ => Err(unknown()),
        }
    }

    /// The methods this route takes, in the order the `Allow` header lists them.
    pub fn methods(&self) -> &'static [Method] {
        match self {
            Self::Home | Self::Health => PAGE_METHODS,
            Self::Collection { .. } => COLLECTION_METHODS,
            Self::Item { .. } => ITEM_METHODS,
        }
    }

    /// The `Allow` header value for this route.
    pub fn allow(&self) -> &'static str {
        match self {
            Self::Home | Self::Health => "GET, HEAD, OPTIONS",
            Self::Collection { .. } => "GET, HEAD, POST, OPTIONS",
            Self::Item { .. } => "GET, HEAD, PUT, DELETE, OPTIONS",
        }
    }
}

/// Percent-decodes one path segment and checks it is 1 to 128 bytes of UTF-8
/// with no control characters.
fn decode_segment(raw: &str, what: &str) -> Result<String, ApiError> {
    let bad = |reason: String| ApiError::BadPathSegment { reason };
    let bytes: Vec<u8> = percent_decode_str(raw).collect();
    if bytes.is_empty() {
        return Err(bad(format!("The {what} in the path is empty.")));
    }
    if bytes.len() > MAX_SEGMENT_BYTES {
        return Err(bad(format!(
            "The {what} in the path is {} bytes long; the limit is {MAX_SEGMENT_BYTES}.",
            bytes.len()
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| bad(format!("The {what} in the path is not valid UTF-8.")))?;
    if text.chars().any(char::is_control) {
        return Err(bad(format!(
            "The {what} in the path contains a control character."
        )));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(name: &str) -> Route {
        Route::Collection {
            resource: name.to_owned(),
        }
    }

    #[test]
    fn pages_and_trailing_slashes() {
        assert_eq!(Route::parse("/"), Ok(Route::Home));
        assert_eq!(Route::parse("/health"), Ok(Route::Health));
        assert_eq!(Route::parse("/health/"), Ok(Route::Health));
        assert_eq!(Route::parse("/api/persons/"), Ok(collection("persons")));
    }

    #[test]
    fn segments_are_percent_decoded_and_case_kept() {
        assert_eq!(Route::parse("/api/Caf%C3%A9"), Ok(collection("Café")));
        assert_eq!(
            Route::parse("/api/a%2Fb/x%20y"),
            Ok(Route::Item {
                resource: "a/b".to_owned(),
                id: "x y".to_owned()
            })
        );
    }

    #[test]
    fn bad_segments_are_400() {
        for path in ["/api/a%00b", "/api/%FF", "/api//x", "/api/a%7Fb"] {
            let err = Route::parse(path).expect_err(path);
            assert_eq!(err.status(), 400, "{path}");
        }
        let long = format!("/api/{}", "x".repeat(129));
        assert_eq!(Route::parse(&long).map_err(|e| e.status()), Err(400));
        let max = format!("/api/{}", "x".repeat(128));
        assert!(Route::parse(&max).is_ok());
    }

    #[test]
    fn unknown_paths_are_404() {
        for path in ["/api", "/api/", "/apix/a", "/api/a/b/c", "/nothing", ""] {
            let err = Route::parse(path).expect_err(path);
            assert_eq!(err.status(), 404, "{path}");
        }
    }
}
