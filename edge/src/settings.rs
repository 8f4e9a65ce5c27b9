//! The Worker's settings: its vars and secrets, read into the engine's
//! [`Config`], and the seed of every new namespace (the vars [`FIXTURES`],
//! [`RULES`] and [`OPENAPI`]). Plain functions of strings, so they are tested
//! on the host.

use mock_rest_core::{Config, Endpoint, IdSource, Seed, SeedPart, SETTINGS};
use std::time::Duration;

/// The var holding the fixtures (a snapshot's JSON text, `{"type": [items],
/// "single": {...}}`) every new namespace starts from and `POST
/// /__admin/reset` returns to: the native server's fixtures file, as text.
pub const FIXTURES: &str = "FIXTURES";

/// The var holding the rules (a JSON array) every new namespace starts with
/// and `POST /__admin/reset` restores: the native server's rules file, as text.
pub const RULES: &str = "RULES";

/// The var holding an OpenAPI document (JSON or YAML text) whose paths every
/// namespace answers: the native server's `--openapi` file, as text.
pub const OPENAPI: &str = "OPENAPI";

/// The largest `MAX_BODY_BYTES` the edge takes. A Durable Object has 128 MB of
/// memory for the body, its parse and the store, so the limit stays well below.
pub const PLATFORM_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The engine's configuration from the Worker's settings, with the same names
/// and meanings as the native server's environment (the core's
/// [`SETTINGS`] table). `setting` returns a setting's value, or `None` when it
/// is not set; an empty value counts as not set. Returns the warnings about
/// settings that have no effect, for the log. The edge is always reachable
/// from anywhere, so the homepage warns when no `API_TOKEN` guards it.
pub fn config(setting: impl Fn(&str) -> Option<String>) -> Result<(Config, Vec<String>), String> {
    let public = Config {
        publicly_reachable: true,
        ..Config::default()
    };
    let given = SETTINGS
        .iter()
        .filter_map(|known| setting(known.name).map(|value| (known.name, value)));
    let (config, warnings) = public.from_settings(given)?;
    if config.max_body_bytes > PLATFORM_MAX_BODY_BYTES {
        return Err(format!(
            "MAX_BODY_BYTES={}: at most {PLATFORM_MAX_BODY_BYTES} on the edge",
            config.max_body_bytes
        ));
    }
    Ok((config, warnings))
}

/// The seed of every new namespace: the vars [`FIXTURES`], [`RULES`] and
/// [`OPENAPI`] (a blank value counts as not set).
pub fn seed(setting: impl Fn(&str) -> Option<String>) -> Seed {
    let given = |name: &str| setting(name).filter(|value| !value.trim().is_empty());
    Seed {
        fixtures: given(FIXTURES).map(String::into_bytes),
        rules: given(RULES).map(String::into_bytes),
        openapi: given(OPENAPI).map(String::into_bytes),
    }
}

/// An endpoint with these settings and seed, each namespace starting from
/// the seed and returning to it on `POST /__admin/reset`. A seed the core
/// refuses is an error naming its var, with the core's reason (invalid JSON
/// names line and column).
pub fn endpoint(
    config: Config,
    seed: Seed,
    ids: Box<dyn IdSource>,
    now: Duration,
) -> Result<Endpoint, String> {
    Endpoint::new(config, seed, ids, now).map_err(|err| {
        let var = match err.part {
            SeedPart::Fixtures => FIXTURES,
            SeedPart::Rules => RULES,
            SeedPart::OpenApi => OPENAPI,
        };
        format!("{var}: {err}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_rest_core::{AuthScope, Method, Request, SeededIds};
    use std::cell::RefCell;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, String> {
        config(|name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .map(|(config, _)| config)
    }

    #[test]
    fn defaults_are_the_cores_and_the_edge_is_public() {
        let config = from(&[]).unwrap();
        assert!(config.publicly_reachable);
        assert_eq!(
            Config {
                publicly_reachable: false,
                ..config
            },
            Config::default()
        );
    }

    #[test]
    fn every_setting_of_the_core_is_looked_up_by_its_name() {
        let asked = RefCell::new(Vec::new());
        let _ = config(|name| {
            asked.borrow_mut().push(name.to_owned());
            None
        });
        let names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
        assert_eq!(*asked.borrow(), names);
        let config = from(&[
            ("APP_NAME", "conformance"),
            ("API_TOKEN", " s3cret "),
            ("AUTH_SCOPE", "writes"),
            ("MAX_URI_BYTES", "64"),
        ])
        .unwrap();
        assert_eq!(config.app_name, "conformance");
        assert_eq!(config.api_token.as_deref(), Some("s3cret"));
        assert_eq!(config.auth_scope, AuthScope::Writes);
        assert_eq!(config.max_uri_bytes, 64);
    }

    #[test]
    fn refuses_values_out_of_range_with_the_settings_name() {
        for (name, value) in [
            ("DELAY_MS", "30001"),
            ("AUTH_SCOPE", "reads"),
            ("MAX_BODY_BYTES", "33554433"),
            ("CORS_ORIGINS", "localhost:3000"),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert!(err.starts_with(&format!("{name}={value}")), "{err}");
        }
        assert!(from(&[("MAX_BODY_BYTES", "33554432")]).is_ok());
    }

    #[test]
    fn a_setting_with_no_effect_is_a_warning() {
        let warned = config(|name| (name == "AUTH_SCOPE").then(|| "writes".to_owned()))
            .unwrap()
            .1;
        assert_eq!(warned.len(), 1, "{warned:?}");
    }

    fn seeded(pairs: &[(&str, &str)]) -> Result<Endpoint, String> {
        let (config, _) = config(|_| None).unwrap();
        let seed = seed(|name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        });
        endpoint(config, seed, Box::new(SeededIds::new(7)), Duration::ZERO)
    }

    fn send(endpoint: &mut Endpoint, method: Method, target: &str, body: &str) -> (u16, String) {
        let mut request = Request::new(method, target);
        request.body = body.as_bytes().to_vec();
        let output = endpoint.handle(&request, Duration::from_secs(1));
        let response = output.response().unwrap();
        (
            response.status,
            String::from_utf8_lossy(&response.body).into_owned(),
        )
    }

    const PEOPLE: &str = r#"{"people":[{"name":"Ada","_id":"p1"}],"me":{"a":1}}"#;
    const TEAPOT: &str = r#"[{"match":{"path":"/api/tea"},"respond":{"status":418}}]"#;

    #[test]
    fn the_seed_is_the_store_and_rules_reset_returns_to() {
        let mut engine = seeded(&[(FIXTURES, PEOPLE), (RULES, TEAPOT)]).unwrap();
        assert_eq!(send(&mut engine, Method::Get, "/api/tea", "").0, 418);
        assert_eq!(send(&mut engine, Method::Get, "/api/people/p1", "").0, 200);
        send(&mut engine, Method::Delete, "/api/people/p1", "");
        send(&mut engine, Method::Delete, "/__admin/rules", "");
        send(
            &mut engine,
            Method::Post,
            "/api/people",
            r#"{"name":"Bob"}"#,
        );
        assert_eq!(send(&mut engine, Method::Get, "/api/tea", "").0, 200);
        assert_eq!(send(&mut engine, Method::Post, "/__admin/reset", "").0, 200);
        let (status, snapshot) = send(&mut engine, Method::Get, "/__admin/snapshot", "");
        assert_eq!((status, snapshot.as_str()), (200, PEOPLE));
        assert_eq!(send(&mut engine, Method::Get, "/api/tea", "").0, 418);
    }

    #[test]
    fn no_seed_or_a_blank_one_is_an_empty_store() {
        for pairs in [&[][..], &[(FIXTURES, " "), (RULES, "")][..]] {
            let mut engine = seeded(pairs).unwrap();
            assert_eq!(
                send(&mut engine, Method::Get, "/__admin/snapshot", ""),
                (200, "{}".to_owned())
            );
        }
    }

    #[test]
    fn an_invalid_seed_is_an_error_naming_its_var() {
        for (name, value) in [
            (FIXTURES, r#"{"people": [}"#),
            (FIXTURES, "[1, 2]"),
            (RULES, r#"{"match": {}}"#),
            (
                RULES,
                r#"[{"match": {"method": 7}, "respond": {"status": 200}}]"#,
            ),
        ] {
            let Err(err) = seeded(&[(name, value), ("OTHER", "1")]) else {
                panic!("{name}={value} is refused")
            };
            assert!(err.starts_with(&format!("{name}: ")), "{err}");
        }
        // Invalid JSON names line and column.
        let Err(err) = seeded(&[(FIXTURES, "{\n  \"people\": [}")]) else {
            panic!("invalid JSON is refused")
        };
        assert!(err.contains("line 2"), "{err}");
    }
}
