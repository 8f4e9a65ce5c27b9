//! The Worker's settings: its vars and secrets, read into the engine's
//! [`Config`], the seed of every new namespace (the vars [`FIXTURES`] and
//! [`RULES`]), and the namespace a request belongs to. Plain functions of
//! strings, so they are tested on the host.

use mock_rest_core::{namespace_name, ApiError, Config, Engine, SETTINGS};

/// The var holding the fixtures (a snapshot's JSON text, `{"type": [items],
/// "single": {...}}`) every new namespace starts from and `POST
/// /__admin/reset` returns to: the native server's fixtures file, as text.
pub const FIXTURES: &str = "FIXTURES";

/// The var holding the rules (a JSON array) every new namespace starts with
/// and `POST /__admin/reset` restores: the native server's rules file, as text.
pub const RULES: &str = "RULES";

/// The header that picks a request's namespace (its own store, in its own
/// Durable Object).
pub const NAMESPACE_HEADER: &str = "x-mock-namespace";

/// The namespace of a request without [`NAMESPACE_HEADER`].
pub const DEFAULT_NAMESPACE: &str = "default";

/// The largest `MAX_BODY_BYTES` the edge takes. A Durable Object has 128 MB of
/// memory for the body, its parse and the store, so the limit stays well below.
pub const PLATFORM_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The namespace named by the header's value, by the core's rule (as every
/// host reads it): trimmed, [`DEFAULT_NAMESPACE`] when missing or blank, and
/// `400` for a name that is not 1 to 64 bytes of `[A-Za-z0-9._-]`.
pub fn namespace(header: Option<&str>) -> Result<&str, ApiError> {
    namespace_name(header)
}

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

/// Loads the seed into a new engine: the rules of [`RULES`], then the
/// fixtures of [`FIXTURES`], each the store or rules the engine starts with
/// and returns to on `POST /__admin/reset` (the core's
/// [`Engine::load_rules`] and [`Engine::load_fixtures`]). `setting` returns a
/// var's value, or `None` when it is not set; a blank value counts as not
/// set. A value the engine refuses is an error naming the var, with the
/// engine's reason (invalid JSON names line and column). Returns the number
/// of items and of rules.
pub fn seed(
    engine: &mut Engine,
    setting: impl Fn(&str) -> Option<String>,
) -> Result<(usize, usize), String> {
    let given = |name: &str| setting(name).filter(|value| !value.trim().is_empty());
    let invalid = |name: &str, error: ApiError| format!("{name}: {}", error.message());
    let rules = match given(RULES) {
        Some(text) => engine
            .load_rules(text.as_bytes())
            .map_err(|error| invalid(RULES, error))?,
        None => 0,
    };
    let items = match given(FIXTURES) {
        Some(text) => engine
            .load_fixtures(text.as_bytes())
            .map_err(|error| invalid(FIXTURES, error))?,
        None => 0,
    };
    Ok((items, rules))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_rest_core::{AuthScope, Method, Request, SeededIds};
    use std::cell::RefCell;
    use std::time::Duration;

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

    #[test]
    fn a_blank_namespace_is_the_default() {
        assert_eq!(namespace(None), Ok(DEFAULT_NAMESPACE));
        assert_eq!(namespace(Some("  ")), Ok(DEFAULT_NAMESPACE));
        assert_eq!(namespace(Some(" team-a ")), Ok("team-a"));
    }

    #[test]
    fn a_bad_namespace_is_400() {
        for bad in ["a/b", "a b", "é", &"x".repeat(65)] {
            assert_eq!(
                namespace(Some(bad)).map_err(|e| e.status()),
                Err(400),
                "{bad}"
            );
        }
    }

    fn seeded(pairs: &[(&str, &str)]) -> (Engine, Result<(usize, usize), String>) {
        let (config, _) = config(|_| None).unwrap();
        let mut engine = Engine::new(config, Box::new(SeededIds::new(7)), Duration::ZERO);
        let loaded = seed(&mut engine, |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        });
        (engine, loaded)
    }

    fn send(engine: &mut Engine, method: Method, target: &str, body: &str) -> (u16, String) {
        let mut request = Request::new(method, target);
        request.body = body.as_bytes().to_vec();
        let outcome = engine.handle(&request, Duration::from_secs(1));
        (
            outcome.response.status,
            String::from_utf8_lossy(&outcome.response.body).into_owned(),
        )
    }

    const PEOPLE: &str = r#"{"people":[{"name":"Ada","_id":"p1"}],"me":{"a":1}}"#;
    const TEAPOT: &str = r#"[{"match":{"path":"/api/tea"},"respond":{"status":418}}]"#;

    #[test]
    fn the_seed_is_the_store_and_rules_reset_returns_to() {
        let (mut engine, loaded) = seeded(&[(FIXTURES, PEOPLE), (RULES, TEAPOT)]);
        assert_eq!(loaded, Ok((1, 1)));
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
            let (mut engine, loaded) = seeded(pairs);
            assert_eq!(loaded, Ok((0, 0)));
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
            let (_, loaded) = seeded(&[(name, value), ("OTHER", "1")]);
            let err = loaded.unwrap_err();
            assert!(err.starts_with(&format!("{name}: ")), "{err}");
        }
        // Invalid JSON names line and column.
        let (_, loaded) = seeded(&[(FIXTURES, "{\n  \"people\": [}")]);
        assert!(loaded.unwrap_err().contains("line 2"));
    }
}
