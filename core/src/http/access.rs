//! Bearer-token access: which requests `API_TOKEN` guards, and the check.

use crate::config::{AuthScope, Config};
use crate::http::request::{Method, Request};
use crate::http::route::Route;
use subtle::ConstantTimeEq;

/// Whether the request may use the route, given `API_TOKEN` and `AUTH_SCOPE`.
/// The change feed also takes the token as `?access_token=`, since a
/// browser's `EventSource` cannot send headers; no other route does, so the
/// token stays out of URLs (and logs) everywhere else.
pub(crate) fn authorized(config: &Config, route: &Route, request: &Request) -> bool {
    authorized_for(config, route.is_public(), route.is_admin(), request)
        || (*route == Route::Events && query_token_matches(config, request))
}

/// Whether the query's `access_token` is `API_TOKEN`.
fn query_token_matches(config: &Config, request: &Request) -> bool {
    let Some(token) = &config.api_token else {
        return true;
    };
    form_urlencoded::parse(request.query.as_bytes())
        .filter(|(key, _)| key == "access_token")
        .any(|(_, value)| bool::from(value.as_bytes().ct_eq(token.as_bytes())))
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
    let presented = request.header("authorization").and_then(bearer_credentials);
    presented.is_some_and(|presented| bool::from(presented.as_bytes().ct_eq(token.as_bytes())))
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
