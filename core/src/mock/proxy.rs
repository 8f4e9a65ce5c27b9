//! Proxy and record: what `PROXY_TARGET` and `RECORD=1` mean.
//!
//! The engine decides; a host only moves bytes. When a target is set and no
//! rule answers a request, [`Engine::handle`](crate::Engine::handle) returns
//! an [`Outcome`] whose [`Outcome::forward`] says what to send (URL, method,
//! headers without the hop-by-hop ones, body, timeout, body limit). The host
//! sends it, reads the answer within the limit, and hands the result back as
//! an [`Upstream`] to [`Engine::proxied`](crate::Engine::proxied), which
//! builds the answer (`502`, `504` and their messages included), records it
//! as a rule and as store items when `RECORD=1`, and journals it.
//!
//! `/`, `/health`, `/openapi.json` and `/__admin/*` are the mock's own and
//! never proxied; neither are `OPTIONS` preflights (the mock answers CORS
//! itself), nor requests over `MAX_URI_BYTES` or `MAX_BODY_BYTES`, nor those
//! without the mock's token when `API_TOKEN` is set.

use crate::error::message_body;
use crate::http::response::Response;
use crate::mock::rules::Template;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::time::Duration;

/// Headers that belong to one connection, never forwarded either way (RFC
/// 9110, 7.6.1), besides those `Connection` names and every `Proxy-*` one.
pub(crate) const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether a header must not cross the proxy: a hop-by-hop header, one that
/// `Connection` names (`connection` holds its values), or a `Proxy-*` one.
pub(crate) fn is_hop_by_hop(name: &str, connection: &[String]) -> bool {
    let lower = name.to_ascii_lowercase();
    HOP_BY_HOP.contains(&lower.as_str())
        || lower.starts_with("proxy-")
        || connection.contains(&lower)
}

/// The tokens of every `Connection` header, lower-cased.
fn connection_tokens<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    headers
        .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, value)| value.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| !token.is_empty())
        .collect()
}

/// A request for the host to send to the proxy target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The whole URL: the target, then the request's path (as
    /// `forwarded_path` makes it) and query as it came.
    pub url: String,
    /// The method, as it came.
    pub method: String,
    /// The headers to send, in order: the request's, without the hop-by-hop
    /// ones, `Host` (the client sets it from the URL), `Content-Length` (the
    /// client frames the body) and `Accept-Encoding` (so the answer comes
    /// back as it is, never compressed for the mock to undo), nor the mock's
    /// own `X-Mock-*` controls.
    pub headers: Vec<(String, String)>,
    /// The body, as it came.
    pub body: Vec<u8>,
    /// How long the target may take, from sending to the last byte (`PROXY_TIMEOUT_MS`).
    pub timeout: Duration,
    /// The largest answer body the host reads (`MAX_BODY_BYTES`); past it,
    /// the host stops reading and reports [`Upstream::TooLarge`].
    pub max_body_bytes: usize,
    /// `PROXY_TARGET`, as the messages name it.
    pub target: String,
    /// The rule that let the request through, its headers and the delay.
    pub(crate) rule: Option<String>,
    pub(crate) rule_headers: Vec<(String, String)>,
    pub(crate) delay: Duration,
}

/// What came of sending a [`Forward`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// The target answered: its status, headers (names as received; the
    /// engine drops the hop-by-hop ones) and body (at most the limit).
    Answered {
        /// The status code.
        status: u16,
        /// Header names and values, in order.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// No connection, or it broke before the answer was whole. `reason` is
    /// the client's words, for the message.
    Unreachable {
        /// Why, as the client says.
        reason: String,
    },
    /// No whole answer within the timeout.
    TimedOut,
    /// The answer's body is over the limit (by `Content-Length`, or as it came).
    TooLarge,
}

/// Whether the path is one of the mock's own, never proxied.
pub(crate) fn is_local(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let trimmed = path.trim_end_matches('/');
    trimmed.is_empty() || trimmed == "/health" || trimmed == "/openapi.json" || first == "__admin"
}

impl Forward {
    /// The request to send for `request`.
    pub(crate) fn new(
        target: &str,
        request: &crate::Request,
        timeout: Duration,
        max_body_bytes: usize,
    ) -> Self {
        let pairs = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()));
        let connection = connection_tokens(pairs);
        let headers = request
            .headers
            .iter()
            .filter(|(name, _)| {
                !is_hop_by_hop(name, &connection)
                    && !["host", "content-length", "accept-encoding"]
                        .iter()
                        .any(|skip| name.eq_ignore_ascii_case(skip))
                    && !name.to_ascii_lowercase().starts_with("x-mock-")
            })
            .cloned()
            .collect();
        let mut url = format!("{target}{}", forwarded_path(&request.path));
        if !request.query.is_empty() {
            url.push('?');
            url.push_str(&request.query);
        }
        Self {
            url,
            method: request.method.to_string(),
            headers,
            body: request.body.clone(),
            timeout,
            max_body_bytes,
            target: target.to_owned(),
            rule: None,
            rule_headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// What the host answers when it cannot proxy at all (a host with no
    /// HTTP client, as the browser's service worker): `502`, saying so.
    pub fn unsupported(&self) -> Response {
        failure(
            502,
            &format!(
                "This host cannot proxy; PROXY_TARGET ({}) works on the native server, the Node host and the Worker.",
                self.target
            ),
        )
    }
}

/// The path a request is forwarded with, below the target's own path: the
/// request's path as it came, but with its dot segments resolved as a URL
/// parser resolves them (`.`, `..`, and their forms with `%2e`), a `..` past
/// the first segment dropped, so that no path reaches above the target's
/// (`/api/../../x` under `http://h/v1` is `http://h/v1/x`, never
/// `http://h/x`); and with `\` and `#` percent-encoded, which a `fetch`
/// runtime would otherwise read as `/` and as the start of a fragment. A path
/// that does not start with `/` (such as `*`) gets one.
pub(crate) fn forwarded_path(path: &str) -> Cow<'_, str> {
    let plain = path.starts_with('/')
        && !path.contains(['\\', '#'])
        && !path.split('/').any(|segment| dots(segment) > 0);
    if plain {
        return Cow::Borrowed(path);
    }
    let escaped = path.replace('\\', "%5C").replace('#', "%23");
    let rest = escaped.strip_prefix('/').unwrap_or(&escaped);
    let segments: Vec<&str> = rest.split('/').collect();
    let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
    for (at, segment) in segments.iter().enumerate() {
        let last = at + 1 == segments.len();
        match dots(segment) {
            0 => kept.push(segment),
            dots => {
                if dots == 2 {
                    kept.pop();
                }
                // A dot segment at the end leaves the path ending in `/`.
                if last {
                    kept.push("");
                }
            }
        }
    }
    Cow::Owned(format!("/{}", kept.join("/")))
}

/// 1 for a `.` segment, 2 for a `..` one (either with a dot written `%2e`, in
/// any case), 0 for any other.
fn dots(segment: &str) -> usize {
    let lower = segment.to_ascii_lowercase();
    match lower.as_str() {
        "." | "%2e" => 1,
        ".." | ".%2e" | "%2e." | "%2e%2e" => 2,
        _ => 0,
    }
}

fn failure(status: u16, message: &str) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "application/json".to_owned())],
        body: message_body(message),
    }
}

/// The answer for an upstream result, before CORS: the target's answer as it
/// is (minus the headers that must not cross), or the failure's.
pub(crate) fn answer(forward: &Forward, upstream: &Upstream) -> Response {
    let target = &forward.target;
    match upstream {
        Upstream::Answered {
            status,
            headers,
            body,
        } => Response {
            status: *status,
            headers: kept_headers(headers),
            body: body.clone(),
        },
        Upstream::Unreachable { reason } => failure(
            502,
            &format!("The proxy target {target} cannot be reached: {reason}."),
        ),
        Upstream::TimedOut => failure(
            504,
            &format!(
                "The proxy target {target} did not answer within {} ms (PROXY_TIMEOUT_MS).",
                forward.timeout.as_millis()
            ),
        ),
        Upstream::TooLarge => failure(
            502,
            &format!(
                "The proxy target {target} answered with a body over {} bytes (MAX_BODY_BYTES); it was not passed on.",
                forward.max_body_bytes
            ),
        ),
    }
}

/// The target's headers that go back to the client: not the hop-by-hop
/// ones, not `Content-Length` (the host frames the body) and not CORS (the
/// mock sets its own). A name that cannot be a header is dropped.
fn kept_headers(headers: &[(String, String)]) -> Vec<(Cow<'static, str>, String)> {
    let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let connection = connection_tokens(pairs);
    headers
        .iter()
        .filter(|(name, _)| !is_hop_by_hop(name, &connection))
        .filter_map(|(name, value)| {
            let value: String = value.chars().filter(|c| !c.is_control()).collect();
            crate::mock::rules::answer_name(name)
                .ok()
                .map(|name| (name.into(), value))
        })
        .collect()
}

/// Names a recorded rule never repeats: set per answer (`date`), personal
/// (`set-cookie`), or set by the mock itself.
const NOT_RECORDED: [&str; 3] = ["date", "set-cookie", "vary"];

/// Whether a string reads the same as a template: rules would fill in a
/// `{{...}}` it holds.
fn plain(text: &str) -> bool {
    !text.contains("{{") || Template::parse(text).is_ok_and(|t| t.is_plain())
}

fn all_plain(value: &Value) -> bool {
    match value {
        Value::String(text) => plain(text),
        Value::Array(elements) => elements.iter().all(all_plain),
        Value::Object(members) => members.values().all(all_plain),
        _ => true,
    }
}

/// The rule that replays an answer: it matches the method, path and query
/// (more query parameters, a higher priority, so the most specific wins) and
/// answers the status, headers and body. `Err` says why the answer cannot
/// be a rule.
pub(crate) fn recording(
    request: &crate::Request,
    status: u16,
    response: &Response,
) -> Result<Value, String> {
    let mut matcher = Map::new();
    matcher.insert("method".into(), Value::String(request.method.to_string()));
    matcher.insert("path".into(), Value::String(request.path.clone()));
    let mut query = Map::new();
    for (name, value) in form_urlencoded::parse(request.query.as_bytes()) {
        if query.contains_key(name.as_ref()) {
            return Err(format!("the query names `{name}` twice"));
        }
        query.insert(name.into_owned(), Value::String(value.into_owned()));
    }
    let priority = query.len();
    if !query.is_empty() {
        matcher.insert("query".into(), Value::Object(query));
    }
    let mut headers = Map::new();
    for (name, value) in &response.headers {
        let name = name.as_ref();
        if NOT_RECORDED.contains(&name) || !plain(value) {
            continue;
        }
        let joined = match headers.get(name) {
            Some(Value::String(before)) => format!("{before}, {value}"),
            _ => value.clone(),
        };
        headers.insert(name.to_owned(), Value::String(joined));
    }
    let mut respond = Map::new();
    respond.insert("status".into(), Value::from(status));
    if !headers.is_empty() {
        respond.insert("headers".into(), Value::Object(headers));
    }
    let body = &response.body;
    let json =
        crate::mock::rules::parse_body(body).filter(|value| value.to_string().as_bytes() == body);
    match (json, std::str::from_utf8(body)) {
        (Some(value), _) if all_plain(&value) => {
            respond.insert("json".into(), value);
        }
        (_, Ok(text)) if plain(text) => {
            respond.insert("body".into(), Value::String(text.to_owned()));
        }
        (_, Ok(_)) => return Err("the body holds `{{`, which a rule reads as a template".into()),
        (_, Err(_)) => return Err("the body is not text".into()),
    }
    let mut rule = Map::new();
    rule.insert("match".into(), Value::Object(matcher));
    rule.insert("respond".into(), Value::Object(respond));
    rule.insert("priority".into(), Value::from(priority));
    Ok(Value::Object(rule))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::{Method, Request};

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_stay() {
        let request = Request::new(Method::Post, "/v1/a%20b?x=1&x=2")
            .with_header("Host", "mock")
            .with_header("Connection", "keep-alive, X-Trace")
            .with_header("X-Trace", "1")
            .with_header("Proxy-Authorization", "Basic x")
            .with_header("TE", "trailers")
            .with_header("Authorization", "Bearer real")
            .with_header("Accept-Encoding", "gzip")
            .with_header("X-Mock-Namespace", "n")
            .with_header("Content-Length", "2")
            .with_header("Content-Type", "application/json")
            .with_body("{}");
        let forward = Forward::new("http://t.test/base", &request, Duration::from_secs(1), 9);
        assert_eq!(forward.url, "http://t.test/base/v1/a%20b?x=1&x=2");
        let names: Vec<&str> = forward.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Authorization", "Content-Type"]);
        assert_eq!(forward.body, b"{}");
    }

    #[test]
    fn forwarded_paths_never_climb_above_the_target() {
        for (path, forwarded) in [
            ("/api/orders/7", "/api/orders/7"),
            ("/api//orders/", "/api//orders/"),
            ("/a%2Fb/c%20d", "/a%2Fb/c%20d"),
            ("/api/../../x", "/x"),
            ("/../../../etc/passwd", "/etc/passwd"),
            ("/a/./b/../c", "/a/c"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/a/b/../", "/a/"),
            ("/..", "/"),
            ("/.", "/"),
            ("/api/%2e%2E/%2E%2e/x", "/x"),
            ("/api/.%2e/x", "/x"),
            ("/api/%2e./x", "/x"),
            ("/api/%2e/x", "/api/x"),
            ("/a/...", "/a/..."),
            ("/a/..x/.x", "/a/..x/.x"),
            ("/api\\..\\..\\x", "/api%5C..%5C..%5Cx"),
            ("/a#b/c", "/a%23b/c"),
            ("/a/..#/../x", "/a/x"),
            ("*", "/*"),
        ] {
            assert_eq!(forwarded_path(path), forwarded, "{path}");
        }
        assert!(matches!(forwarded_path("/api/orders"), Cow::Borrowed(_)));
        let request = Request::new(Method::Get, "/api/../../admin?x=1");
        let forward = Forward::new("http://t.test/v1", &request, Duration::from_secs(1), 9);
        assert_eq!(forward.url, "http://t.test/v1/admin?x=1");
    }

    #[test]
    fn answers_drop_what_must_not_cross() {
        let forward = Forward::new(
            "http://t.test",
            &Request::new(Method::Get, "/a"),
            Duration::from_millis(5),
            9,
        );
        let upstream = Upstream::Answered {
            status: 503,
            headers: vec![
                ("Connection".into(), "close, X-Hop".into()),
                ("X-Hop".into(), "1".into()),
                ("Transfer-Encoding".into(), "chunked".into()),
                ("Content-Length".into(), "3".into()),
                ("Access-Control-Allow-Origin".into(), "*".into()),
                ("Retry-After".into(), "7".into()),
            ],
            body: b"bad".to_vec(),
        };
        let response = answer(&forward, &upstream);
        assert_eq!(response.status, 503);
        assert_eq!(response.headers, [("retry-after".into(), "7".to_owned())]);
        let timed_out = answer(&forward, &Upstream::TimedOut);
        assert_eq!(timed_out.status, 504);
        assert!(String::from_utf8_lossy(&timed_out.body)
            .contains("http://t.test did not answer within 5 ms"));
        assert_eq!(answer(&forward, &Upstream::TooLarge).status, 502);
    }

    #[test]
    fn local_paths_are_the_mocks_own() {
        for path in [
            "/",
            "",
            "/health",
            "/health/",
            "/openapi.json",
            "/__admin/rules",
        ] {
            assert!(is_local(path), "{path}");
        }
        for path in ["/api/p", "/v1/health", "/healthz", "/__adminx"] {
            assert!(!is_local(path), "{path}");
        }
    }

    #[test]
    fn a_recording_matches_method_path_and_query() {
        let request = Request::new(Method::Get, "/api/p?b=2&a=1");
        let response = Response {
            status: 200,
            headers: vec![
                ("content-type".into(), "application/json".to_owned()),
                ("date".into(), "now".to_owned()),
                ("x-total-count".into(), "1".to_owned()),
            ],
            body: br#"[{"n":1.50}]"#.to_vec(),
        };
        let rule = recording(&request, 200, &response).unwrap();
        assert_eq!(
            rule.to_string(),
            r#"{"match":{"method":"GET","path":"/api/p","query":{"b":"2","a":"1"}},"respond":{"status":200,"headers":{"content-type":"application/json","x-total-count":"1"},"json":[{"n":1.50}]},"priority":2}"#
        );
        let spaced = Response {
            body: b"[1, 2]".to_vec(),
            ..response.clone()
        };
        let rule = recording(&request, 200, &spaced).unwrap();
        assert_eq!(rule["respond"]["body"], "[1, 2]", "kept byte for byte");
        let templated = Response {
            body: br#"{"a":"{{now}}"}"#.to_vec(),
            ..response.clone()
        };
        assert!(recording(&request, 200, &templated).is_err());
        let unclosed = Response {
            body: br#"{"a":"{{"}"#.to_vec(),
            ..response.clone()
        };
        assert!(recording(&request, 200, &unclosed).is_ok());
        let binary = Response {
            body: vec![0xff, 0xfe],
            ..response
        };
        assert_eq!(
            recording(&request, 200, &binary).unwrap_err(),
            "the body is not text"
        );
    }
}
