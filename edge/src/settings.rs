//! The Worker's settings: its vars and secrets, read into the engine's
//! [`Config`], and the namespace a request belongs to. Plain functions of
//! strings, so they are tested on the host.

use mock_rest_core::{Config, SETTING_NAMES};

/// The header that picks a request's namespace (its own store, in its own
/// Durable Object).
pub const NAMESPACE_HEADER: &str = "x-mock-namespace";

/// The namespace of a request without [`NAMESPACE_HEADER`].
pub const DEFAULT_NAMESPACE: &str = "default";

/// The largest `MAX_BODY_BYTES` the edge takes. A Durable Object has 128 MB of
/// memory for the body, its parse and the store, so the limit stays well below.
pub const PLATFORM_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The namespace named by the header's value: trimmed, and
/// [`DEFAULT_NAMESPACE`] when missing or blank.
pub fn namespace(header: Option<&str>) -> &str {
    match header.map(str::trim) {
        Some(name) if !name.is_empty() => name,
        _ => DEFAULT_NAMESPACE,
    }
}

/// The engine's configuration from the Worker's settings, with the same names
/// and meanings as the native server's environment. `setting` returns a
/// setting's value, or `None` when it is not set; an empty value counts as not
/// set. The edge is always reachable from anywhere, so the homepage warns
/// when no `API_TOKEN` guards it.
pub fn config(setting: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
    let mut config = Config {
        publicly_reachable: true,
        ..Config::default()
    };
    for name in SETTING_NAMES {
        if let Some(value) = setting(name) {
            config
                .set(name, &value)
                .map_err(|reason| format!("{name}={value}: {reason}"))?;
        }
    }
    if config.max_body_bytes > PLATFORM_MAX_BODY_BYTES {
        return Err(format!(
            "MAX_BODY_BYTES={}: at most {PLATFORM_MAX_BODY_BYTES} on the edge",
            config.max_body_bytes
        ));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_rest_core::AuthScope;
    use std::time::Duration;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, String> {
        config(|name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_are_the_cores_and_the_edge_is_public() {
        let config = from(&[]).unwrap();
        assert_eq!(
            config,
            Config {
                publicly_reachable: true,
                ..Config::default()
            }
        );
    }

    #[test]
    fn reads_every_setting_by_its_native_name() {
        // The parsing is the core's (`Config::set`, tested there); this checks
        // that every name reaches it from the Worker's vars and secrets.
        let config = from(&[
            ("APP_NAME", "conformance"),
            ("API_TOKEN", "s3cret"),
            ("AUTH_SCOPE", "writes"),
            ("MAX_URI_BYTES", "64"),
        ])
        .unwrap();
        let mut expected = from(&[]).unwrap();
        for (name, value) in [
            ("APP_NAME", "conformance"),
            ("API_TOKEN", "s3cret"),
            ("AUTH_SCOPE", "writes"),
            ("MAX_URI_BYTES", "64"),
        ] {
            expected.set(name, value).unwrap();
        }
        assert_eq!(config, expected);
        assert_eq!(config.auth_scope, AuthScope::Writes);
        let asked: std::cell::RefCell<Vec<String>> = Default::default();
        let _ = config_from_lookup(&asked);
        assert_eq!(*asked.borrow(), SETTING_NAMES);
    }

    fn config_from_lookup(asked: &std::cell::RefCell<Vec<String>>) -> Result<Config, String> {
        config(|name| {
            asked.borrow_mut().push(name.to_owned());
            None
        })
    }

    #[test]
    fn empty_values_are_unset() {
        let config = from(&[("API_TOKEN", ""), ("APP_NAME", " "), ("DELAY_MS", "")]).unwrap();
        assert_eq!(config.api_token, None);
        assert_eq!(config.app_name, Config::default().app_name);
        assert_eq!(config.default_delay, Duration::ZERO);
    }

    #[test]
    fn refuses_values_out_of_range_with_the_settings_name() {
        for (name, value) in [
            ("DELAY_MS", "30001"),
            ("DELAY_MS", "soon"),
            ("AUTH_SCOPE", "reads"),
            ("MAX_BODY_BYTES", "33554433"),
            ("JOURNAL_SIZE", "-1"),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert!(err.starts_with(&format!("{name}={value}")), "{err}");
        }
        assert!(from(&[("MAX_BODY_BYTES", "33554432")]).is_ok());
    }

    #[test]
    fn a_blank_namespace_is_the_default() {
        assert_eq!(namespace(None), DEFAULT_NAMESPACE);
        assert_eq!(namespace(Some("  ")), DEFAULT_NAMESPACE);
        assert_eq!(namespace(Some(" team-a ")), "team-a");
    }
}
