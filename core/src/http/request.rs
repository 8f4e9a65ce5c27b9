//! The plain request a host hands to the engine.

use std::fmt;

/// An HTTP method. Methods the API does not know are kept by name so that
/// the answer can be a `405` that names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
    /// Any other method, upper-cased as received.
    Other(String),
}

impl Method {
    /// Reads a method name as it appears on the request line (case-sensitive, as HTTP is).
    pub fn parse(name: &str) -> Self {
        match name {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The method's name on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP request, as plain data.
///
/// `path` is the raw, still percent-encoded path; `query` is what follows `?`
/// (without it). Header names are compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request method.
    pub method: Method,
    /// The raw path, percent-encoded as it came on the wire, starting with `/`.
    pub path: String,
    /// The raw query string, without the leading `?`; empty when there is none.
    pub query: String,
    /// Header names and values, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body bytes; at most the body limit plus one byte is needed.
    pub body: Vec<u8>,
    /// Set by a host that stopped reading a body because it was over the limit
    /// (for example from `Content-Length`); the engine then answers `413`.
    pub body_too_large: bool,
}

impl Request {
    /// A request for a method and a target such as `/api/persons?x=1`.
    pub fn new(method: Method, target: &str) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Self {
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            body_too_large: false,
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
