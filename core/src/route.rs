//! The route table: which paths exist, which methods each takes, and what each
//! operation reads and answers. The engine dispatches on it, `Allow` headers
//! come from it, and `/openapi.json` is generated from it, so the three agree.

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
    /// `/openapi.json`: this API described in OpenAPI 3.1.
    OpenApi,
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

/// What a request or response body holds, for the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// No body.
    Nothing,
    /// The HTML homepage.
    Html,
    /// The `/health` document.
    Health,
    /// The OpenAPI document.
    OpenApi,
    /// One item (a JSON object).
    Item,
    /// One item, or an array of items.
    ItemOrItems,
    /// A JSON Merge Patch object.
    MergePatch,
    /// An array of items.
    ItemList,
    /// `{"deleted": N}`.
    Deleted,
}

/// Which conditional request header an operation honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// None.
    Unconditional,
    /// `If-None-Match`, answered with `304`.
    IfNoneMatch,
    /// `If-Match`, refused with `412`.
    IfMatch,
}

/// One method on one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The method (`HEAD` and `OPTIONS` are implied on every route).
    pub method: Method,
    /// A stable name, used as the OpenAPI `operationId`.
    pub id: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// What the request body holds.
    pub request: Payload,
    /// What a successful (`200`) response holds.
    pub response: Payload,
    /// Whether it takes the list query (filters, `q`, `_sort`, paging).
    pub list_query: bool,
    /// The conditional header it honours.
    pub condition: Condition,
    /// The error statuses it can answer with, besides `405` and `413`.
    pub errors: &'static [u16],
}

/// A path template and its operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// The path, with `{resource}` and `{id}` for parameters.
    pub template: &'static str,
    /// The operations, in `Allow` order (before the implied `HEAD` and `OPTIONS`).
    pub operations: &'static [Operation],
    /// The `Allow` header: the operations' methods with `HEAD` after `GET`, then `OPTIONS`.
    pub allow: &'static str,
}

const fn op(
    method: Method,
    id: &'static str,
    summary: &'static str,
    request: Payload,
    response: Payload,
) -> Operation {
    Operation {
        method,
        id,
        summary,
        request,
        response,
        list_query: false,
        condition: Condition::Unconditional,
        errors: &[],
    }
}

impl Operation {
    const fn errors(mut self, errors: &'static [u16]) -> Self {
        self.errors = errors;
        self
    }

    const fn condition(mut self, condition: Condition) -> Self {
        self.condition = condition;
        self
    }

    const fn list_query(mut self) -> Self {
        self.list_query = true;
        self
    }
}

/// Every route of the API.
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        template: "/",
        operations: &[op(
            Method::Get,
            "homepage",
            "HTML homepage: name, version, uptime, counts and endpoints",
            Payload::Nothing,
            Payload::Html,
        )],
        allow: "GET, HEAD, OPTIONS",
    },
    RouteSpec {
        template: "/health",
        operations: &[op(
            Method::Get,
            "health",
            "Name, version, uptime and item counts",
            Payload::Nothing,
            Payload::Health,
        )],
        allow: "GET, HEAD, OPTIONS",
    },
    RouteSpec {
        template: "/openapi.json",
        operations: &[op(
            Method::Get,
            "openapi",
            "This API described in OpenAPI 3.1",
            Payload::Nothing,
            Payload::OpenApi,
        )],
        allow: "GET, HEAD, OPTIONS",
    },
    RouteSpec {
        template: "/api/{resource}",
        operations: &[
            op(
                Method::Get,
                "listItems",
                "Items of a type in creation order, filtered, searched, sorted and paged",
                Payload::Nothing,
                Payload::ItemList,
            )
            .list_query()
            .errors(&[400]),
            op(
                Method::Post,
                "createItems",
                "Create an item, or every item of an array (all or nothing); each gets a new _id",
                Payload::ItemOrItems,
                Payload::ItemOrItems,
            )
            .errors(&[400]),
            op(
                Method::Delete,
                "deleteItems",
                "Delete every item of a type",
                Payload::Nothing,
                Payload::Deleted,
            )
            .errors(&[400]),
        ],
        allow: "GET, HEAD, POST, DELETE, OPTIONS",
    },
    RouteSpec {
        template: "/api/{resource}/{id}",
        operations: &[
            op(
                Method::Get,
                "getItem",
                "One item",
                Payload::Nothing,
                Payload::Item,
            )
            .condition(Condition::IfNoneMatch)
            .errors(&[400, 404]),
            op(
                Method::Put,
                "replaceItem",
                "Replace an item whole; its _id is kept",
                Payload::Item,
                Payload::Item,
            )
            .condition(Condition::IfMatch)
            .errors(&[400, 404, 412]),
            op(
                Method::Patch,
                "patchItem",
                "Change an item with a JSON Merge Patch (RFC 7386); its _id is kept",
                Payload::MergePatch,
                Payload::Item,
            )
            .condition(Condition::IfMatch)
            .errors(&[400, 404, 412]),
            op(
                Method::Delete,
                "deleteItem",
                "Delete an item and echo it",
                Payload::Nothing,
                Payload::Item,
            )
            .condition(Condition::IfMatch)
            .errors(&[400, 404, 412]),
        ],
        allow: "GET, HEAD, PUT, PATCH, DELETE, OPTIONS",
    },
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
            ["openapi.json"] => Ok(Self::OpenApi),
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

    /// The route's entry in [`ROUTES`].
    pub fn spec(&self) -> &'static RouteSpec {
        let index = match self {
            Self::Home => 0,
            Self::Health => 1,
            Self::OpenApi => 2,
            Self::Collection { .. } => 3,
            Self::Item { .. } => 4,
        };
        &ROUTES[index]
    }

    /// Whether the route takes a method: its operations, `HEAD` where it has
    /// `GET`, and `OPTIONS`.
    pub fn takes(&self, method: &Method) -> bool {
        let operations = self.spec().operations;
        match method {
            Method::Options => true,
            Method::Head => operations.iter().any(|op| op.method == Method::Get),
            method => operations.iter().any(|op| &op.method == method),
        }
    }

    /// The `Allow` header value for this route.
    pub fn allow(&self) -> &'static str {
        self.spec().allow
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
    fn allow_headers_list_the_table() {
        for spec in ROUTES {
            let mut methods = Vec::new();
            for op in spec.operations {
                methods.push(op.method.as_str());
                if op.method == Method::Get {
                    methods.push("HEAD");
                }
            }
            methods.push("OPTIONS");
            assert_eq!(spec.allow, methods.join(", "), "{}", spec.template);
        }
    }

    #[test]
    fn every_template_parses_to_its_own_spec() {
        for spec in ROUTES {
            let path = spec
                .template
                .replace("{resource}", "r")
                .replace("{id}", "i");
            assert_eq!(Route::parse(&path).unwrap().spec(), spec);
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
