//! Bearer-token access: which requests `API_TOKEN` guards, and the check.

use crate::config::{AuthScope, Config};
use crate::http::incoming::Incoming;
use crate::http::request::{Method, Request};
use crate::http::route::Route;
use std::borrow::Cow;
use subtle::ConstantTimeEq;

/// The query parameter that may carry the token (the change feed's, and the
/// homepage's, which passes it on to the feed).
pub(crate) const TOKEN_PARAMETER: &str = "access_token";

/// What the journal and the hosts' request logs write in place of the value
/// of an `access_token` query parameter.
pub const REDACTED: &str = "REDACTED";

/// Whether the request may use the route, given `API_TOKEN` and `AUTH_SCOPE`.
/// The change feed also takes the token as `?access_token=`, since a
/// browser's `EventSource` cannot send headers; no other route does, so the
/// token stays out of URLs (and logs) everywhere else.
pub(crate) fn authorized(config: &Config, route: &Route, request: &Incoming<'_>) -> bool {
    authorized_for(config, route.is_public(), route.is_admin(), request)
        || (*route == Route::Events && query_token_matches(config, request))
}

/// Whether the query's `access_token` is `API_TOKEN`.
fn query_token_matches(config: &Config, request: &Incoming<'_>) -> bool {
    let Some(token) = &config.api_token else {
        return true;
    };
    request
        .query_pairs()
        .iter()
        .filter(|(key, _)| key == TOKEN_PARAMETER)
        .any(|(_, value)| same_token(value, token))
}

/// Whether the request carries `API_TOKEN`, in `Authorization: Bearer` or
/// as `?access_token=` (true when no token is set). The homepage shows the
/// latest requests and changes only then.
pub(crate) fn presents_token(config: &Config, request: &Incoming<'_>) -> bool {
    let Some(token) = &config.api_token else {
        return true;
    };
    query_token_matches(config, request)
        || request.headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("authorization") && is_token_credential(value, token)
        })
}

/// Whether an `Authorization` value is `Bearer <token>`, compared in constant time.
pub(crate) fn is_token_credential(value: &str, token: &str) -> bool {
    bearer_credentials(value).is_some_and(|presented| same_token(presented, token))
}

/// Constant-time equality of a presented token and `API_TOKEN`.
pub(crate) fn same_token(presented: &str, token: &str) -> bool {
    bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
}

/// The query with the value of every `access_token` parameter (its name
/// percent-decoded, as the feed reads it) replaced by `REDACTED`, and every
/// other byte as it came: what the journal keeps and the hosts' request
/// logs write, so that a token given in a URL is never shown again.
/// Borrowed when there is nothing to redact.
pub fn redact_query(query: &str) -> Cow<'_, str> {
    // Only a name holding the text, or an escape that could spell it, can be the parameter.
    if !query.contains(TOKEN_PARAMETER) && !query.contains('%') {
        return Cow::Borrowed(query);
    }
    let is_token = |pair: &str| {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        form_urlencoded::parse(name.as_bytes())
            .next()
            .is_some_and(|(key, _)| key == TOKEN_PARAMETER)
    };
    if !query
        .split('&')
        .any(|pair| pair.contains('=') && is_token(pair))
    {
        return Cow::Borrowed(query);
    }
    let mut out = String::with_capacity(query.len());
    for (n, pair) in query.split('&').enumerate() {
        if n > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, _)) if is_token(pair) => {
                out.push_str(name);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(pair),
        }
    }
    Cow::Owned(out)
}

/// Whether the request may use a path that is public or admin, or neither
/// (as a path that only a rule answers is).
pub(crate) fn authorized_for(
    config: &Config,
    public: bool,
    admin: bool,
    request: &Request,
) -> bool {
    let Some(token) = &config.api_token else {
        return true;
    };
    let reading = matches!(request.method, Method::Get | Method::Head);
    if public || (config.auth_scope == AuthScope::Writes && reading && !admin) {
        return true;
    }
    request
        .header("authorization")
        .is_some_and(|value| is_token_credential(value, token))
}

/// The credentials of `Bearer <token>`: the scheme (any case), then any run
/// of spaces and tabs, then the token68 (RFC 9110, 11.4 and 5.6.3: the
/// separator is `1*SP`, and the whitespace around a field value is `SP` or
/// `HTAB`, so a tab is taken wherever a space is).
fn bearer_credentials(value: &str) -> Option<&str> {
    const BLANK: [char; 2] = [' ', '\t'];
    let (scheme, rest) = value.trim_matches(BLANK).split_once(BLANK)?;
    let credentials = rest.trim_start_matches(BLANK);
    (scheme.eq_ignore_ascii_case("bearer") && !credentials.is_empty()).then_some(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_access_token_value_is_redacted() {
        for (query, redacted) in [
            ("", ""),
            ("a=1&b=2", "a=1&b=2"),
            ("access_token=tok-SECRET", "access_token=REDACTED"),
            (
                "_since=4&access_token=a%20b&x=access_token",
                "_since=4&access_token=REDACTED&x=access_token",
            ),
            ("access%5Ftoken=tok&a=%41", "access%5Ftoken=REDACTED&a=%41"),
            (
                "access_token=a&access_token=b",
                "access_token=REDACTED&access_token=REDACTED",
            ),
            ("access_token", "access_token"),
            ("access_token=", "access_token=REDACTED"),
            (
                "my_access_token=1&access_tokens=2",
                "my_access_token=1&access_tokens=2",
            ),
        ] {
            assert_eq!(redact_query(query), redacted, "{query:?}");
        }
        assert!(matches!(redact_query("a=%41"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_token_is_presented_by_header_or_query() {
        let config = Config {
            api_token: Some("s3cret".to_owned()),
            ..Config::default()
        };
        let home = |target: &str| Request::new(Method::Get, target);
        let presents =
            |config: &Config, request: Request| presents_token(config, &Incoming::new(&request));
        assert!(!presents(&config, home("/")));
        assert!(!presents(&config, home("/?access_token=wrong")));
        assert!(presents(&config, home("/?access_token=s3cret")));
        assert!(presents(
            &config,
            home("/").with_header("Authorization", "Bearer s3cret")
        ));
        assert!(!presents(
            &config,
            home("/").with_header("Authorization", "Bearer other")
        ));
        assert!(presents(&Config::default(), home("/")));
    }

    #[test]
    fn spaces_and_tabs_separate_the_scheme_from_the_token() {
        for value in [
            "Bearer abc",
            "bearer abc",
            "BEARER\tabc",
            "Bearer   abc",
            "Bearer \t abc",
            " Bearer abc\t",
        ] {
            assert_eq!(bearer_credentials(value), Some("abc"), "{value:?}");
        }
        for value in [
            "Bearer",
            "Bearer ",
            "Bearerabc",
            "Basic abc",
            "Bearer\u{a0}abc",
        ] {
            assert_eq!(bearer_credentials(value), None, "{value:?}");
        }
    }
}
