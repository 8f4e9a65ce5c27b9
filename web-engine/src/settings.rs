//! The settings a page passes to `startMock` (`web/mock.js`), read into the
//! engine's [`Config`]. They are the native server's settings under
//! JavaScript names (`delayMs` is `DELAY_MS`), given as text; plain functions
//! of strings, so they are tested on the host.

use mock_rest_core::Config;

/// Every setting the browser takes: its name in `startMock`'s options and the
/// native server's name for it.
pub const SETTINGS: [(&str, &str); 11] = [
    ("appName", "APP_NAME"),
    ("appVersion", "APP_VERSION"),
    ("apiToken", "API_TOKEN"),
    ("authScope", "AUTH_SCOPE"),
    ("corsOrigins", "CORS_ORIGINS"),
    ("delayMs", "DELAY_MS"),
    ("journalSize", "JOURNAL_SIZE"),
    ("maxBodyBytes", "MAX_BODY_BYTES"),
    ("maxItems", "MAX_ITEMS"),
    ("maxTypes", "MAX_TYPES"),
    ("maxUriBytes", "MAX_URI_BYTES"),
];

/// The engine's configuration from `(name, value)` pairs, with the meanings of
/// the native server's settings ([`SETTINGS`] maps the names). An empty value
/// counts as not set; an unknown name or a value out of range is an error that
/// names the setting. Only the page reaches the engine, so the homepage never
/// warns that the mock is public.
pub fn config(settings: &[(String, String)]) -> Result<Config, String> {
    let mut config = Config::default();
    for (name, value) in settings {
        let native = SETTINGS
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, native)| *native)
            .ok_or_else(|| unknown(name))?;
        config
            .set(native, value)
            .map_err(|reason| format!("{name}={}: {reason}", value.trim()))?;
    }
    Ok(config)
}

fn unknown(name: &str) -> String {
    let known: Vec<&str> = SETTINGS.iter().map(|(name, _)| *name).collect();
    format!(
        "`{name}` is not a setting of the mock; the settings are {}",
        known.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_rest_core::AuthScope;
    use std::time::Duration;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        config(&pairs)
    }

    #[test]
    fn defaults_are_the_cores() {
        assert_eq!(from(&[]).unwrap(), Config::default());
        assert!(!from(&[]).unwrap().publicly_reachable);
    }

    #[test]
    fn reads_every_setting() {
        let config = from(&[
            ("appName", "conformance"),
            ("appVersion", "1.2.3"),
            ("apiToken", "s3cret"),
            ("authScope", "writes"),
            ("corsOrigins", "http://app.test, ,http://other.test"),
            ("delayMs", "200"),
            ("journalSize", "2"),
            ("maxBodyBytes", "2048"),
            ("maxItems", "3"),
            ("maxTypes", "4"),
            ("maxUriBytes", "64"),
        ])
        .unwrap();
        assert_eq!(config.app_name, "conformance");
        assert_eq!(config.app_version, "1.2.3");
        assert_eq!(config.api_token.as_deref(), Some("s3cret"));
        assert_eq!(config.auth_scope, AuthScope::Writes);
        assert_eq!(
            config.cors_origins,
            ["http://app.test", "http://other.test"]
        );
        assert_eq!(config.default_delay, Duration::from_millis(200));
        assert_eq!(config.journal_size, 2);
        assert_eq!(config.max_body_bytes, 2048);
        assert_eq!(config.max_items, 3);
        assert_eq!(config.max_types, 4);
        assert_eq!(config.max_uri_bytes, 64);
        assert_eq!(SETTINGS.len(), 11);
    }

    #[test]
    fn empty_values_are_unset() {
        let config = from(&[("apiToken", ""), ("appName", " "), ("delayMs", "")]).unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn refuses_unknown_names_and_values_out_of_range() {
        for (name, value) in [
            ("delayMs", "30001"),
            ("delayMs", "soon"),
            ("authScope", "reads"),
            ("journalSize", "-1"),
            ("delay", "10"),
            ("DELAY_MS", "10"),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert!(err.contains(name), "{err}");
        }
        assert!(from(&[("delay", "")]).is_err());
    }
}
