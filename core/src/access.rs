//! Bearer-token access: which requests `API_TOKEN` guards, and the check.

use crate::config::{AuthScope, Config};
use crate::request::{Method, Request};
use crate::route::Route;
use subtle::ConstantTimeEq;

/// Whether the request may use the route, given `API_TOKEN` and `AUTH_SCOPE`.
pub fn authorized(config: &Config, route: &Route, request: &Request) -> bool {
    authorized_for(config, route.is_public(), route.is_admin(), request)
}

/// Whether the request may use a path that is public or admin, or neither
/// (as a path that only a rule answers is).
pub fn authorized_for(config: &Config, public: bool, admin: bool, request: &Request) -> bool {
    let Some(token) = &config.api_token else {
        return true;
    };
    let reading = matches!(request.method, Method::Get | Method::Head);
    if public || (config.auth_scope == AuthScope::Writes && reading && !admin) {
        return true;
    }
    let presented = request.header("authorization").and_then(|value| {
        let (scheme, credentials) = value.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| credentials.trim())
    });
    presented.is_some_and(|presented| bool::from(presented.as_bytes().ct_eq(token.as_bytes())))
}
