//! An operation's `security`: is a credential of one of its alternatives
//! present? Its value is not checked (a mock has no accounts), only that it
//! is there, in the scheme's place and form.

use super::model::{In, Scheme};
use super::params::cookies;
use super::validate::{RequestParts, Violation};

/// A violation (code `401`, with the challenges for `WWW-Authenticate`) when
/// no alternative of `requirements` is met; `None` when one is, or when the
/// operation asks for nothing.
pub(crate) fn check(
    requirements: &[Vec<(String, Scheme)>],
    req: &RequestParts,
) -> Option<Violation> {
    if requirements.is_empty()
        || requirements
            .iter()
            .any(|all| all.iter().all(|(_, s)| met(s, req)))
    {
        return None;
    }
    let mut challenges: Vec<String> = Vec::new();
    let mut missing: Vec<&str> = Vec::new();
    for all in requirements {
        for (name, scheme) in all.iter().filter(|(_, s)| !met(s, req)) {
            let challenge = challenge(scheme);
            if !challenges.contains(&challenge) {
                challenges.push(challenge);
            }
            if !missing.contains(&name.as_str()) {
                missing.push(name);
            }
        }
    }
    Some(Violation {
        location: vec!["header".into(), "authorization".into()],
        code: "401".into(),
        message: format!(
            "Invalid security scheme used: the request carries no credential of {}",
            missing.join(" or ")
        ),
        challenges,
    })
}

fn authorization<'a>(req: &'a RequestParts) -> Option<(&'a str, &'a str)> {
    let value = req.header("authorization")?.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    Some((scheme, rest.trim()))
}

fn met(scheme: &Scheme, req: &RequestParts) -> bool {
    let with = |name: &str| {
        authorization(req)
            .is_some_and(|(s, token)| s.eq_ignore_ascii_case(name) && !token.is_empty())
    };
    match scheme {
        Scheme::ApiKey { name, location } => match location {
            In::Header => req.header(name).is_some_and(|v| !v.is_empty()),
            In::Query => req.query.iter().any(|(k, v)| k == name && !v.is_empty()),
            In::Cookie => cookies(req).any(|(k, v)| k == name && !v.is_empty()),
            In::Path => false,
        },
        Scheme::Basic => with("basic"),
        Scheme::Bearer | Scheme::OAuth2 | Scheme::OpenIdConnect => with("bearer"),
        Scheme::Http(name) => with(name),
        Scheme::MutualTls => true,
    }
}

/// The `WWW-Authenticate` challenge that asks for a scheme's credential. An
/// API key has no registered challenge; it is named in one of its own so the
/// client learns where the key goes.
fn challenge(scheme: &Scheme) -> String {
    match scheme {
        Scheme::ApiKey { name, location } => {
            format!(
                "ApiKey realm=\"mock\", in=\"{}\", name=\"{name}\"",
                location.as_str()
            )
        }
        Scheme::Basic => "Basic realm=\"mock\"".into(),
        Scheme::Bearer | Scheme::OAuth2 | Scheme::OpenIdConnect => "Bearer".into(),
        Scheme::Http(name) => {
            let mut s = name.clone();
            if let Some(first) = s.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            s
        }
        Scheme::MutualTls => "MutualTLS".into(),
    }
}
