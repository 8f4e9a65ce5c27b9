//! The one error type of the API, and the one place it becomes a status and a message.

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// Every way a request can fail. Each variant maps to one status code and one
/// JSON `{"message"}` in [`ApiError::status`] and [`ApiError::message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// No item of that type has that id (`404`).
    NotFound {
        /// The id that was asked for, percent-decoded.
        id: String,
    },
    /// No route has that path (`404`).
    UnknownPath {
        /// The path as requested.
        path: String,
    },
    /// The request target is not a path (`400`): `*` (the asterisk form) or
    /// anything else that does not start with `/`. Never routed, matched by a
    /// rule or proxied, so a target such as `*` cannot change where a request goes.
    NotOriginForm {
        /// The target as requested.
        target: String,
    },
    /// The route exists but does not take the method (`405`, with `Allow`).
    MethodNotAllowed {
        /// The method that was used.
        method: String,
        /// The methods the route takes, as the `Allow` header lists them.
        allow: Cow<'static, str>,
    },
    /// The resource name or id in the path is not acceptable (`400`).
    BadPathSegment {
        /// Why, in words.
        reason: String,
    },
    /// The request needs a body and has none (`400`).
    EmptyBody,
    /// The body is not valid JSON (`400`).
    InvalidJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser found wrong.
        detail: String,
    },
    /// The body nests arrays and objects deeper than the limit (`400`).
    TooDeep {
        /// The deepest nesting accepted.
        limit: usize,
    },
    /// The body is valid JSON of the wrong shape (`400`).
    WrongShape {
        /// What was expected instead.
        expected: &'static str,
    },
    /// A list query parameter is malformed (`400`).
    BadQuery {
        /// Why, in words.
        reason: String,
    },
    /// `If-Match` names a version of the item that is not the current one (`412`).
    PreconditionFailed {
        /// The item's id.
        id: String,
    },
    /// A mock control (`X-Mock-Delay`, `_delay`, `X-Mock-Status`, `_status`,
    /// or an admin query) has a value it cannot take (`400`).
    BadControl {
        /// Why, in words.
        reason: String,
    },
    /// A snapshot or fixture is not `{"type": [objects]}` (`400`).
    BadSnapshot {
        /// Why, in words.
        reason: String,
    },
    /// The OpenAPI document cannot be used (`400`): where (a JSON pointer)
    /// and why, as `#/paths/~1pets/get: ...`.
    BadDocument {
        /// The pointer and the reason, as [`SpecError`](crate::spec::SpecError) shows them.
        reason: String,
    },
    /// A created item's id is not one its type can take: not a string or an
    /// integer, of the other kind than the type's ids, or taken (`400`).
    BadId {
        /// Why, in words.
        reason: String,
    },
    /// The route needs `Authorization: Bearer <API_TOKEN>` (`401`, with `WWW-Authenticate`).
    Unauthorized,
    /// `READ_ONLY=1` refuses a write to the data (`403`).
    ReadOnly {
        /// The method refused.
        method: String,
    },
    /// The store holds as many items as it may (`507`).
    StoreFull {
        /// The item limit.
        limit: usize,
    },
    /// The write would take the store's item text past `MAX_STORE_BYTES` (`507`).
    StoreBytesFull {
        /// The limit in bytes.
        limit: usize,
    },
    /// The store holds as many resource types as it may (`507`).
    TooManyTypes {
        /// The type limit.
        limit: usize,
    },
    /// The request target (path and query) is longer than the limit (`414`).
    UriTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The host gave up waiting for the request (`408`).
    RequestTimeout,
    /// The request's headers are larger than the host's parser takes (`431`).
    HeadersTooLarge,
    /// The host's parser could not read the request at all (`400`): why.
    Malformed {
        /// The parser's words.
        reason: String,
    },
    /// The host could not make a change durable (`503`); the change may be
    /// visible until the server restarts, but it was not acknowledged.
    StorageFailed,
    /// A rule cannot be taken (`400`): the field and why.
    BadRule {
        /// The field, such as `match.path` or `[2].respond.status` (the third rule of a file).
        field: String,
        /// Why, in words.
        reason: String,
    },
    /// `PUT /__admin/scenarios/{name}` for a scenario no rule names.
    ScenarioNotFound {
        /// The scenario's name.
        name: String,
    },
    /// `PUT /__admin/scenarios/{name}` with a body or a state that cannot be used.
    BadScenarioState {
        /// Why, in words.
        reason: String,
    },
    /// A request matcher (`POST /__admin/requests/count` or `/find`) that
    /// cannot be used.
    BadMatcher {
        /// The field, such as `path` or `query`.
        field: String,
        /// Why, in words.
        reason: String,
    },
    /// No rule has that id (`404`).
    RuleNotFound {
        /// The id that was asked for.
        id: String,
    },
    /// No namespace has that name (`404`).
    NamespaceNotFound {
        /// The name that was asked for.
        name: String,
    },
    /// The engine holds as many rules as it may (`507`).
    TooManyRules {
        /// `MAX_RULES`.
        limit: usize,
    },
    /// A rule's answer, filled in for this request, would be larger than the
    /// body limit (`413`).
    RuleAnswerTooLarge {
        /// The rule's id.
        id: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is larger than the limit (`413`).
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// `X-Mock-Namespace` is not a namespace name (`400`).
    BadNamespace {
        /// Why, in words.
        reason: String,
    },
    /// The host holds as many namespaces as it may (`507`).
    TooManyNamespaces {
        /// The namespace limit.
        limit: usize,
    },
    /// The body did not arrive whole: the connection closed before the
    /// declared `Content-Length`, or the chunked framing was broken or had no
    /// last chunk (`400`). Nothing is changed.
    IncompleteBody {
        /// The framing the body was sent with.
        framing: Framing,
    },
    /// The body was sent with a transfer coding the server cannot decode,
    /// such as `Transfer-Encoding: gzip, chunked` (`501`). Nothing is changed.
    UnsupportedTransferCoding {
        /// The coding, as the request named it.
        coding: String,
    },
    /// The host itself failed before or around the engine: settings that do
    /// not work, a store that cannot be opened, an internal error (`500`).
    HostFailed {
        /// What failed, in words.
        reason: String,
    },
    /// The host holds as many open `/__admin/events` streams as it may (`503`).
    TooManySubscribers {
        /// `MAX_SUBSCRIBERS`.
        limit: usize,
    },
    /// The host could not reach what serves the request (`503`).
    Unavailable {
        /// What could not be reached, in words.
        reason: String,
    },
}

/// How a request body is delimited on the wire, for [`ApiError::IncompleteBody`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`: this many bytes were declared and fewer arrived.
    Length {
        /// The declared length.
        declared: usize,
        /// The bytes that arrived before the body ended.
        received: usize,
    },
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Any other (an HTTP/2 stream that was reset, say).
    Stream,
}

impl ApiError {
    /// The HTTP status code for this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound { .. }
            | Self::UnknownPath { .. }
            | Self::RuleNotFound { .. }
            | Self::ScenarioNotFound { .. }
            | Self::NamespaceNotFound { .. } => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::BadPathSegment { .. }
            | Self::NotOriginForm { .. }
            | Self::EmptyBody
            | Self::InvalidJson { .. }
            | Self::TooDeep { .. }
            | Self::WrongShape { .. }
            | Self::BadQuery { .. }
            | Self::BadControl { .. }
            | Self::BadSnapshot { .. }
            | Self::BadDocument { .. }
            | Self::BadId { .. }
            | Self::BadRule { .. }
            | Self::BadMatcher { .. }
            | Self::BadScenarioState { .. }
            | Self::BadNamespace { .. }
            | Self::Malformed { .. }
            | Self::IncompleteBody { .. } => 400,
            Self::Unauthorized => 401,
            Self::ReadOnly { .. } => 403,
            Self::PreconditionFailed { .. } => 412,
            Self::BodyTooLarge { .. } | Self::RuleAnswerTooLarge { .. } => 413,
            Self::StoreFull { .. }
            | Self::StoreBytesFull { .. }
            | Self::TooManyTypes { .. }
            | Self::TooManyRules { .. }
            | Self::TooManyNamespaces { .. } => 507,
            Self::UriTooLong { .. } => 414,
            Self::RequestTimeout => 408,
            Self::HeadersTooLarge => 431,
            Self::StorageFailed | Self::Unavailable { .. } | Self::TooManySubscribers { .. } => 503,
            Self::UnsupportedTransferCoding { .. } => 501,
            Self::HostFailed { .. } => 500,
        }
    }

    /// The whole response for this error: status, JSON `{"message"}`, and the
    /// headers the error needs (`Allow`, `WWW-Authenticate`). CORS headers are
    /// added by the engine; a host that answers
    /// an error itself (a timeout, say) uses
    /// [`Endpoint::error_response`](crate::Endpoint::error_response), or
    /// [`error_response_without_engine`](crate::error_response_without_engine)
    /// when it has no engine.
    pub fn to_response(&self) -> crate::Response {
        let mut headers = vec![("content-type".into(), "application/json".to_owned())];
        match self {
            Self::MethodNotAllowed { allow, .. } => {
                headers.push(("allow".into(), allow.clone().into_owned()))
            }
            Self::Unauthorized => headers.push(("www-authenticate".into(), "Bearer".to_owned())),
            _ => {}
        }
        crate::Response {
            status: self.status(),
            headers,
            body: message_body(&self.message()),
        }
    }

    /// The text of the JSON `{"message"}` for this error.
    pub fn message(&self) -> String {
        match self {
            Self::NotFound { id } => format!("Resource {id} does not exist."),
            Self::UnknownPath { path } => {
                format!("No route matches {path}. The endpoints are listed at /.")
            }
            Self::NotOriginForm { target } => format!(
                "The request target `{target}` is not a path: send a path that starts with `/`, such as /api/persons."
            ),
            Self::MethodNotAllowed { method, allow } => {
                format!("Method {method} is not allowed here. Allowed: {allow}.")
            }
            Self::BadPathSegment { reason }
            | Self::BadQuery { reason }
            | Self::BadControl { reason }
            | Self::BadSnapshot { reason }
            | Self::BadId { reason }
            | Self::BadNamespace { reason }
            | Self::HostFailed { reason }
            | Self::Unavailable { reason } => reason.clone(),
            Self::Unauthorized => {
                "This route needs the header `Authorization: Bearer <API_TOKEN>`.".to_owned()
            }
            Self::ReadOnly { method } => format!(
                "This mock is read-only (READ_ONLY, json-server's --ro): {method} is refused; \
                 only GET, HEAD and OPTIONS reach the data."
            ),
            Self::BadDocument { reason } => {
                format!("The OpenAPI document cannot be used: {reason}")
            }
            Self::PreconditionFailed { id } => {
                format!("Resource {id} has changed: If-Match does not match its current ETag.")
            }
            Self::EmptyBody => "The request body is empty; send a JSON object.".to_owned(),
            Self::InvalidJson {
                line,
                column,
                detail,
            } => format!("Invalid JSON at line {line}, column {column}: {detail}."),
            Self::TooDeep { limit } => {
                format!("The JSON body nests deeper than {limit} levels.")
            }
            Self::WrongShape { expected } => format!("The JSON body must be {expected}."),
            Self::StoreFull { limit } => format!(
                "The store is full: it holds at most {limit} items. Delete some, or raise MAX_ITEMS."
            ),
            Self::StoreBytesFull { limit } => format!(
                "The store is full: its items may take at most {limit} bytes. Delete some, or raise MAX_STORE_BYTES."
            ),
            Self::TooManyTypes { limit } => format!(
                "The store holds at most {limit} resource types. Delete one, or raise MAX_TYPES."
            ),
            Self::UriTooLong { limit } => {
                format!("The request's path and query are longer than the limit of {limit} bytes.")
            }
            Self::RequestTimeout => "The request took too long to arrive.".to_owned(),
            Self::HeadersTooLarge => "The request headers are too large.".to_owned(),
            Self::Malformed { reason } => format!("The request could not be parsed ({reason})."),
            Self::StorageFailed => {
                "The change could not be written to disk; it is not saved. Try again later.".to_owned()
            }
            Self::BodyTooLarge { limit } => {
                format!("The request body is larger than the limit of {limit} bytes.")
            }
            Self::BadRule { field, reason } => format!("Rule field `{field}`: {reason}."),
            Self::BadMatcher { field, reason } => {
                format!("Request matcher field `{field}`: {reason}.")
            }
            Self::ScenarioNotFound { name } => {
                format!("No rule names the scenario `{name}`; GET /__admin/scenarios lists them.")
            }
            Self::BadScenarioState { reason } => format!("{reason}."),
            Self::RuleNotFound { id } => format!("Rule {id} does not exist."),
            Self::NamespaceNotFound { name } => format!("Namespace {name} does not exist."),
            Self::TooManyRules { limit } => format!(
                "There are {limit} rules, the most there may be. Delete some, or raise MAX_RULES."
            ),
            Self::RuleAnswerTooLarge { id, limit } => format!(
                "The answer of rule {id}, filled in for this request, would be larger than the limit of {limit} bytes."
            ),
            Self::TooManySubscribers { limit } => format!(
                "{limit} event streams are open, the most there may be (MAX_SUBSCRIBERS). Close one, or try again later."
            ),
            Self::TooManyNamespaces { limit } => format!(
                "This host holds at most {limit} namespaces. Use an existing X-Mock-Namespace, or raise MAX_NAMESPACES."
            ),
            Self::IncompleteBody { framing } => match framing {
                Framing::Length { declared, received } => format!(
                    "The request body ended after {received} of the {declared} bytes its Content-Length declares; nothing was changed."
                ),
                Framing::Chunked => "The chunked request body is malformed or ended before its last chunk; nothing was changed.".to_owned(),
                Framing::Stream => "The request body did not arrive whole; nothing was changed.".to_owned(),
            },
            Self::UnsupportedTransferCoding { coding } => format!(
                "Transfer-Encoding {coding} is not supported: send the body as it is, with Content-Length or chunked."
            ),
        }
    }
}

/// Writes `{"message": ...}`.
pub(crate) fn message_body(message: &str) -> Vec<u8> {
    let mut members = Map::new();
    members.insert("message".to_owned(), Value::String(message.to_owned()));
    Value::Object(members).to_string().into_bytes()
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status(), self.message())
    }
}

impl std::error::Error for ApiError {}
