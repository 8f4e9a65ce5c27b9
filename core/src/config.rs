//! The engine's settings: one table ([`SETTINGS`]) with every setting's name,
//! default, limit, parsing and help text, which every host reads through.
//!
//! The native server turns the table into flags and environment variables,
//! the Worker reads its vars and secrets by the same names, and the browser's
//! `startMock` takes them by these names or their JavaScript forms
//! (`delayMs` for `DELAY_MS`). [`Config::from_settings`] checks one value at a
//! time and then the settings together, so a value a host would silently
//! misread stops the start on every host alike.

use crate::mock::controls::MAX_DELAY;
use std::time::Duration;

/// The default `JOURNAL_SIZE`: how many requests the journal keeps.
pub(crate) const DEFAULT_JOURNAL_SIZE: usize = 1000;
/// The default `MAX_BODY_BYTES`: 1 MiB.
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// The default `MAX_ITEMS`.
pub(crate) const DEFAULT_MAX_ITEMS: usize = 1_000_000;
/// The default `MAX_TYPES`.
pub(crate) const DEFAULT_MAX_TYPES: usize = 10_000;
/// The default `MAX_STORE_BYTES`: 1 GiB.
pub(crate) const DEFAULT_MAX_STORE_BYTES: usize = 1024 * 1024 * 1024;
/// The default `MAX_RULES`.
pub(crate) const DEFAULT_MAX_RULES: usize = 1000;
/// The default `MAX_URI_BYTES`.
pub(crate) const DEFAULT_MAX_URI_BYTES: usize = 8 * 1024;
/// The default `MAX_SUBSCRIBERS`: open `/__admin/events` streams per host.
pub(crate) const DEFAULT_MAX_SUBSCRIBERS: usize = 256;
/// The default `MAX_NAMESPACES`: namespaces a host holds at once.
pub(crate) const DEFAULT_MAX_NAMESPACES: usize = 1000;
/// The default `NAMESPACE_IDLE_SECS`: how long a namespace must go unused
/// before a new one may take its place.
pub(crate) const DEFAULT_NAMESPACE_IDLE: Duration = Duration::from_secs(300);
/// How many recent events the change feed keeps for clients that reconnect
/// (`Last-Event-ID`); an older position gets `event: gap`.
pub(crate) const FEED_RING_SIZE: usize = 1000;
/// The most bytes of event text the feed keeps for replay (the oldest events
/// go first past it), so large items cannot make the ring large.
pub(crate) const FEED_RING_BYTES: usize = 4 * 1024 * 1024;
/// How many bytes may wait unsent for a subscriber before it gets
/// `event: overflow` and is closed.
pub(crate) const FEED_BUFFER_BYTES: usize = 1024 * 1024;
/// The default `OPENAPI_SEED_ITEMS`.
pub(crate) const DEFAULT_OPENAPI_SEED_ITEMS: usize = 10;
/// The most `OPENAPI_SEED_ITEMS`: every namespace starts with that many
/// items of each collection of the document.
const MAX_OPENAPI_SEED_ITEMS: u64 = 1000;

/// The default `PROXY_TIMEOUT_MS`: 10 seconds.
pub(crate) const DEFAULT_PROXY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the engine is told at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APP_NAME`: shown by `/health` and the homepage.
    pub app_name: String,
    /// `APP_VERSION`: shown by `/health` and the homepage.
    pub app_version: String,
    /// `MAX_BODY_BYTES`: the largest request body accepted; larger ones get `413`.
    pub max_body_bytes: usize,
    /// `CORS_ORIGINS`: the origins allowed to read responses. Empty means any
    /// (`Access-Control-Allow-Origin: *`); otherwise a listed `Origin` is echoed
    /// and responses vary on `Origin`. `*` in the list allows any origin by echo.
    pub cors_origins: Vec<String>,
    /// `DELAY_MS`: a delay for every response that does not ask for its own.
    pub default_delay: Duration,
    /// `JOURNAL_SIZE`: how many requests the journal keeps.
    pub journal_size: usize,
    /// `API_TOKEN`: when set, every route but `/` and `/health` needs
    /// `Authorization: Bearer <token>`.
    pub api_token: Option<String>,
    /// `AUTH_SCOPE`: which requests the token guards.
    pub auth_scope: AuthScope,
    /// Whether the host listens where others can reach it; with no token, the
    /// homepage then warns that anyone can change the data. Set by the host,
    /// not a setting.
    pub publicly_reachable: bool,
    /// `MAX_ITEMS`: the most items the store holds; a write past it is `507`.
    pub max_items: usize,
    /// `MAX_TYPES`: the most resource types the store holds; a new type past it is `507`.
    pub max_types: usize,
    /// `MAX_STORE_BYTES`: the most bytes of item text (`_id` included) the
    /// store holds; a write past it is `507`.
    pub max_store_bytes: usize,
    /// `MAX_URI_BYTES`: the longest path and query; longer is `414`.
    pub max_uri_bytes: usize,
    /// `MAX_RULES`: the most rules the engine holds, and apart from them the
    /// most recorded ones; one more is `507`.
    pub max_rules: usize,
    /// `MAX_SUBSCRIBERS`: the most open `/__admin/events` streams a host
    /// keeps (at the edge: per namespace); one more is `503`. The host counts
    /// them; the engine only carries the number.
    pub max_subscribers: usize,
    /// `MAX_NAMESPACES`: the most namespaces held at once (at least 1). A new
    /// one past it takes the place of the one unused longest, if that has
    /// been idle for `NAMESPACE_IDLE_SECS`; otherwise it is `507`.
    pub max_namespaces: usize,
    /// `NAMESPACE_IDLE_SECS`: how long a namespace must go unused before a
    /// new one may take its place past `MAX_NAMESPACES`.
    pub namespace_idle: Duration,
    /// `PROXY_TARGET`: where a request that no rule answers goes instead of
    /// the store (an absolute `http(s)` URL, without a trailing slash).
    pub proxy_target: Option<String>,
    /// `PROXY_TIMEOUT_MS`: how long the target may take to answer.
    pub proxy_timeout: Duration,
    /// `RECORD=1`: every proxied answer becomes a rule, and a collection's
    /// `GET` puts its items into the store.
    pub record: bool,
    /// `ID_FIELD`: the key under which items carry their id (a plain key:
    /// letters, digits, `_`, `-`, `$`).
    pub id_field: String,
    /// `CREATE_STATUS`: the status of a create, `200` (the original's) or `201`.
    pub create_status: u16,
    /// `TIMESTAMPS`: whether items get `_created_on` and `_last_updated`.
    pub timestamps: bool,
    /// `API_PREFIX`: where the resources live, `/api` or another path (`/`
    /// serves `/posts`).
    pub api_prefix: String,
    /// `SEED`: what the data generated from an OpenAPI document is drawn
    /// from; the same seed gives the same data on every run and host.
    pub seed: u64,
    /// `OPENAPI_SEED_ITEMS`: how many items each collection of an OpenAPI
    /// document starts with when the document has no example list.
    pub openapi_seed_items: usize,
    /// `JSON_SERVER=1`: json-server 0.17's behaviour where this mock's
    /// differs (see [`Config::from_settings`] for the settings it implies and
    /// `engine::json_server` for the rest).
    pub json_server: bool,
    /// `READ_ONLY=1`: writes to the data are `403` (json-server's `--ro`).
    pub read_only: bool,
}

/// Which requests `API_TOKEN` guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthScope {
    /// Every route but `/` and `/health` (`AUTH_SCOPE=all`, the default).
    #[default]
    All,
    /// Only writes and `/__admin`; reads of `/api` and `/openapi.json` are open (`AUTH_SCOPE=writes`).
    Writes,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            app_name: "mock-rest-api".to_owned(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            cors_origins: Vec::new(),
            default_delay: Duration::ZERO,
            journal_size: DEFAULT_JOURNAL_SIZE,
            api_token: None,
            auth_scope: AuthScope::All,
            publicly_reachable: false,
            max_items: DEFAULT_MAX_ITEMS,
            max_rules: DEFAULT_MAX_RULES,
            max_types: DEFAULT_MAX_TYPES,
            max_store_bytes: DEFAULT_MAX_STORE_BYTES,
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
            max_subscribers: DEFAULT_MAX_SUBSCRIBERS,
            max_namespaces: DEFAULT_MAX_NAMESPACES,
            namespace_idle: DEFAULT_NAMESPACE_IDLE,
            proxy_target: None,
            proxy_timeout: DEFAULT_PROXY_TIMEOUT,
            record: false,
            id_field: crate::store::ids::ID_KEY.to_owned(),
            create_status: 200,
            timestamps: false,
            api_prefix: crate::http::route::DEFAULT_API_PREFIX.to_owned(),
            seed: 0,
            openapi_seed_items: DEFAULT_OPENAPI_SEED_ITEMS,
            json_server: false,
            read_only: false,
        }
    }
}

/// How a setting's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any text.
    Text,
    /// Any text that must not be shown (logs, `--help`).
    Secret,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A whole number from 0 to the maximum.
    Number {
        /// The largest value taken.
        max: u64,
    },
    /// A whole number from 1 to the maximum.
    Count {
        /// The largest value taken.
        max: u64,
    },
    /// A comma-separated list of browser origins (`scheme://host[:port]`) or `*`.
    Origins,
    /// An absolute `http://` or `https://` URL.
    Url,
    /// A plain JSON key: 1 to 64 letters, digits, `_`, `-` or `$`.
    Key,
    /// Where the resources live: `/` or `/` and plain segments, none of the
    /// server's own paths.
    Prefix,
}

/// One setting of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The name, as an environment variable (`MAX_ITEMS`). The native flag is
    /// [`Setting::flag`], the browser's option [`Setting::js_name`].
    pub name: &'static str,
    /// How its text is read.
    pub kind: Kind,
    /// The default, as text (empty: not set).
    pub default: &'static str,
    /// What it does, in one line, for `--help` and the docs.
    pub help: &'static str,
}

const MAX_DELAY_MS: u64 = MAX_DELAY.as_millis() as u64;

/// What `JSON_SERVER=1` sets, unless the setting is given: json-server's
/// `id`, its paths at `/` and its `201` for a create.
pub const JSON_SERVER_PRESET: [(&str, &str); 3] = [
    ("ID_FIELD", "id"),
    ("API_PREFIX", "/"),
    ("CREATE_STATUS", "201"),
];

/// The settings whose JavaScript name is not the camel case of their name.
const JS_NAMES: [(&str, &str); 1] = [("SEED", "openapiSeed")];

/// Every setting of the engine. Hosts add their own (the native server's
/// `PORT`, `DATA_FILE`, ...), which the engine never sees.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "APP_NAME",
        kind: Kind::Text,
        default: "mock-rest-api",
        help: "The name shown by /health and the homepage.",
    },
    Setting {
        name: "APP_VERSION",
        kind: Kind::Text,
        default: env!("CARGO_PKG_VERSION"),
        help: "The version shown by /health and the homepage.",
    },
    Setting {
        name: "API_TOKEN",
        kind: Kind::Secret,
        default: "",
        help: "A token every route but / and /health then needs, as `Authorization: Bearer <token>`.",
    },
    Setting {
        name: "API_PREFIX",
        kind: Kind::Prefix,
        default: "/api",
        help: "Where the resources live: /api, another path such as /v1, or / to serve /posts as json-server does (/, /health, /openapi.json and /__admin keep their meaning).",
    },
    Setting {
        name: "AUTH_SCOPE",
        kind: Kind::Choice(&["all", "writes"]),
        default: "all",
        help: "What API_TOKEN guards: `all` routes but / and /health, or only `writes` and /__admin (reads stay open).",
    },
    Setting {
        name: "CREATE_STATUS",
        kind: Kind::Choice(&["200", "201"]),
        default: "200",
        help: "The status of a create (POST): 200, as the original mock, or 201, as json-server. Every create also answers with Location.",
    },
    Setting {
        name: "CORS_ORIGINS",
        kind: Kind::Origins,
        default: "",
        help: "Origins allowed to read responses, comma-separated (such as `http://localhost:3000`). Unset: any origin (`*`).",
    },
    Setting {
        name: "DELAY_MS",
        kind: Kind::Number { max: MAX_DELAY_MS },
        default: "0",
        help: "Milliseconds every response waits, unless the request asks for its own delay with X-Mock-Delay or _delay.",
    },
    Setting {
        name: "ID_FIELD",
        kind: Kind::Key,
        default: "_id",
        help: "The key under which items carry their id (such as `id`, as json-server): letters, digits, `_`, `-` or `$`. Ids are strings or integers.",
    },
    Setting {
        name: "JSON_SERVER",
        kind: Kind::Choice(&["0", "1"]),
        default: "0",
        help: "1: the json-server preset: ID_FIELD=id, API_PREFIX=/ and CREATE_STATUS=201 unless given, and json-server 0.17's answers where this mock's differ ({} for a 404 and a DELETE, children deleted with their parent, integer ids for new types, unknown _ parameters ignored, GET /db).",
    },
    Setting {
        name: "JOURNAL_SIZE",
        kind: Kind::Number { max: u32::MAX as u64 },
        default: "1000",
        help: "How many recent requests /__admin/requests keeps.",
    },
    Setting {
        name: "MAX_BODY_BYTES",
        kind: Kind::Number { max: u32::MAX as u64 },
        default: "1048576",
        help: "The largest request body accepted, in bytes; a larger one gets 413.",
    },
    Setting {
        name: "MAX_ITEMS",
        kind: Kind::Number { max: u32::MAX as u64 },
        default: "1000000",
        help: "The most items the store holds; a write past it gets 507.",
    },
    Setting {
        name: "MAX_NAMESPACES",
        kind: Kind::Count { max: u32::MAX as u64 },
        default: "1000",
        help: "The most namespaces (X-Mock-Namespace) held at once, at least 1; a new one past it replaces the one unused longest if that has been idle NAMESPACE_IDLE_SECS, else gets 507.",
    },
    Setting {
        name: "MAX_STORE_BYTES",
        kind: Kind::Number { max: 1 << 40 },
        default: "1073741824",
        help: "The most bytes of item text (as GET returns items, _id included) held by every namespace together; a write past it gets 507.",
    },
    Setting {
        name: "MAX_RULES",
        kind: Kind::Number { max: u32::MAX as u64 },
        default: "1000",
        help: "The most rules (/__admin/rules) the mock holds, and apart from them the most recorded ones; one more gets 507.",
    },
    Setting {
        name: "MAX_SUBSCRIBERS",
        kind: Kind::Number { max: u32::MAX as u64 },
        default: "256",
        help: "The most open /__admin/events streams (per server; at the edge, per namespace); one more gets 503.",
    },
    Setting {
        name: "MAX_TYPES",
        kind: Kind::Number { max: u32::MAX as u64 },
        default: "10000",
        help: "The most resource types the store holds; a new type past it gets 507.",
    },
    Setting {
        name: "MAX_URI_BYTES",
        kind: Kind::Number { max: u32::MAX as u64 },
        default: "8192",
        help: "The longest path and query, in bytes; a longer one gets 414.",
    },
    Setting {
        name: "NAMESPACE_IDLE_SECS",
        kind: Kind::Number { max: u32::MAX as u64 },
        default: "300",
        help: "How long a namespace must go unused before a new one may take its place past MAX_NAMESPACES, in seconds.",
    },
    Setting {
        name: "OPENAPI_SEED_ITEMS",
        kind: Kind::Number {
            max: MAX_OPENAPI_SEED_ITEMS,
        },
        default: "10",
        help: "With OPENAPI: how many generated items each collection of the document starts with when the document has no example list.",
    },
    Setting {
        name: "PROXY_TARGET",
        kind: Kind::Url,
        default: "",
        help: "An http(s) URL to send every request that no rule answers to, instead of the store (/, /health, /openapi.json and /__admin stay local).",
    },
    Setting {
        name: "PROXY_TIMEOUT_MS",
        kind: Kind::Number { max: 600_000 },
        default: "10000",
        help: "How long PROXY_TARGET may take to answer, in milliseconds; then 504.",
    },
    Setting {
        name: "READ_ONLY",
        kind: Kind::Choice(&["0", "1"]),
        default: "0",
        help: "1: writes to the data (POST, PUT, PATCH, DELETE outside /__admin) are 403, as json-server's --read-only (--ro); the admin routes still work.",
    },
    Setting {
        name: "RECORD",
        kind: Kind::Choice(&["0", "1"]),
        default: "0",
        help: "1: every proxied answer becomes a rule, and a GET of a collection puts its items into the store.",
    },
    Setting {
        name: "SEED",
        kind: Kind::Number { max: u64::MAX },
        default: "0",
        help: "With OPENAPI: what generated data is drawn from; the same seed gives the same data on every run and host.",
    },
    Setting {
        name: "TIMESTAMPS",
        kind: Kind::Choice(&["0", "1"]),
        default: "0",
        help: "1: every create adds `_created_on` and `_last_updated` (RFC 3339, UTC), and every change sets `_last_updated`.",
    },
];

impl Setting {
    /// The setting with this name, given as in [`SETTINGS`] (`DELAY_MS`) or in
    /// its JavaScript form (`delayMs`).
    pub fn named(name: &str) -> Option<&'static Setting> {
        SETTINGS
            .iter()
            .find(|setting| setting.name == name || setting.js_name() == name)
    }

    /// The native server's flag, without the dashes: `max-items`.
    pub fn flag(&self) -> String {
        self.name.to_ascii_lowercase().replace('_', "-")
    }

    /// The name in JavaScript options: `maxItems`. `SEED` is `openapiSeed`,
    /// since `seed` is what `createMock` and `startMock` call the fixtures.
    pub fn js_name(&self) -> String {
        if let Some((_, js)) = JS_NAMES.iter().find(|(name, _)| *name == self.name) {
            return (*js).to_owned();
        }
        let mut out = String::with_capacity(self.name.len());
        let mut upper = false;
        for c in self.name.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.push(c.to_ascii_uppercase());
                upper = false;
            } else {
                out.push(c.to_ascii_lowercase());
            }
        }
        out
    }

    /// Checks one value (already trimmed, not empty) and says why it is refused.
    pub fn check(&self, value: &str) -> Result<(), String> {
        match self.kind {
            Kind::Text | Kind::Secret => Ok(()),
            Kind::Choice(words) => {
                if words.contains(&value) {
                    Ok(())
                } else {
                    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
                    Err(format!("one of {}", quoted.join(", ")))
                }
            }
            Kind::Number { max } | Kind::Count { max } => match value.parse::<u64>() {
                // `parse` takes a leading `+`; a setting is digits only.
                Ok(number) if value.bytes().all(|b| b.is_ascii_digit()) => {
                    if number > max {
                        Err(format!("at most {max}"))
                    } else if number == 0 && matches!(self.kind, Kind::Count { .. }) {
                        Err("at least 1".to_owned())
                    } else {
                        Ok(())
                    }
                }
                _ => Err("not a whole number".to_owned()),
            },
            Kind::Origins => origins(value).map(drop),
            Kind::Url => target_url(value).map(drop),
            Kind::Prefix => crate::http::route::check_api_prefix(value),
            Kind::Key => {
                if crate::store::ids::plain_key(value) {
                    Ok(())
                } else {
                    Err(
                        "a plain key: 1 to 64 letters, digits, `_`, `-` or `$` (no dots or spaces)"
                            .to_owned(),
                    )
                }
            }
        }
    }
}

/// The origins of a `CORS_ORIGINS` value. An entry that no browser could send
/// as `Origin` (no scheme, a path, a trailing slash) is refused, since it
/// would never match.
fn origins(value: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if entry != "*" && !is_origin(entry) {
            return Err(format!(
                "`{entry}` is not an origin: write it as a browser sends it, scheme://host[:port] \
                 (such as http://localhost:3000), or `*`"
            ));
        }
        out.push(entry.to_owned());
    }
    Ok(out)
}

/// A `PROXY_TARGET`: an absolute `http(s)` URL with a host, and no query
/// or fragment (the request's own path and query are put after it). The
/// trailing slash is dropped.
fn target_url(value: &str) -> Result<String, String> {
    let refuse = |why: &str| {
        Err(format!(
            "{why}: write an absolute http:// or https:// URL, such as https://sandbox.example.com or http://127.0.0.1:8080/v1"
        ))
    };
    let Some((scheme, rest)) = value.split_once("://") else {
        return refuse("not an absolute URL");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return refuse("the scheme is not http or https");
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if !is_origin(&format!("http://{authority}")) || authority.contains('@') {
        return refuse("no valid host[:port]");
    }
    if rest.contains(['?', '#']) || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("a query, fragment or space cannot be part of it");
    }
    Ok(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        rest.trim_end_matches('/')
    ))
}

/// Whether `text` is `scheme://host[:port]` with nothing after it.
fn is_origin(text: &str) -> bool {
    let Some((scheme, authority)) = text.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    // An IPv6 host is bracketed; the port, if any, follows the last colon.
    let (host, port) = match authority.rfind(':') {
        Some(at) if !authority[at..].contains(']') => {
            (&authority[..at], Some(&authority[at + 1..]))
        }
        _ => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b));
    let port_ok = port.is_none_or(|port| {
        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
    });
    scheme_ok && host_ok && port_ok
}

impl Config {
    /// The most bytes a host reads of a file the settings name (fixtures,
    /// rules, a data file), on start and on `--watch`: twice
    /// `MAX_STORE_BYTES`. A file is read whole before it is parsed, so this
    /// bounds the memory one takes (`/dev/zero` stops at it); twice leaves
    /// room for a pretty-printed file's whitespace and a snapshot's brackets,
    /// so every store the API holds fits the file it exports.
    pub fn max_file_bytes(&self) -> usize {
        self.max_store_bytes.saturating_mul(2)
    }

    /// Why a file of the settings is not read: it is larger than
    /// [`Config::max_file_bytes`] (the words after the file's name, the same
    /// on every host).
    pub fn file_too_large(&self) -> String {
        format!(
            "larger than {} bytes (twice MAX_STORE_BYTES), so it was not read; raise MAX_STORE_BYTES to read it",
            self.max_file_bytes()
        )
    }

    /// Sets one setting from its text, by its name (see [`Setting::named`]).
    /// The value is trimmed; an empty one leaves the setting as it is (but
    /// for a [`Kind::Key`], which is refused empty). The
    /// error says why a value was refused (`not a whole number`, `at most
    /// 30000`, ...) or that the name is not a setting; the caller puts the
    /// setting's name in front.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let setting = Setting::named(name).ok_or_else(|| {
            let names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
            format!("not a setting; the settings are {}", names.join(", "))
        })?;
        let value = value.trim();
        if value.is_empty() && setting.kind == Kind::Key {
            // An empty id field would name no key at all.
            return Err("empty; it must name a key, such as `_id` or `id`".to_owned());
        }
        if value.is_empty() {
            return Ok(());
        }
        setting.check(value)?;
        // `check` has accepted the value, so the parses below succeed.
        let number = || value.parse::<u64>().unwrap_or_default();
        let size = || usize::try_from(number()).unwrap_or(usize::MAX);
        match setting.name {
            "APP_NAME" => self.app_name = value.to_owned(),
            "APP_VERSION" => self.app_version = value.to_owned(),
            "API_TOKEN" => self.api_token = Some(value.to_owned()),
            "AUTH_SCOPE" if value == "writes" => self.auth_scope = AuthScope::Writes,
            "AUTH_SCOPE" => self.auth_scope = AuthScope::All,
            "CORS_ORIGINS" => self.cors_origins = origins(value)?,
            "DELAY_MS" => self.default_delay = Duration::from_millis(number()),
            "JOURNAL_SIZE" => self.journal_size = size(),
            "MAX_BODY_BYTES" => self.max_body_bytes = size(),
            "MAX_ITEMS" => self.max_items = size(),
            "MAX_STORE_BYTES" => self.max_store_bytes = size(),
            "MAX_RULES" => self.max_rules = size(),
            "MAX_SUBSCRIBERS" => self.max_subscribers = size(),
            "MAX_NAMESPACES" => self.max_namespaces = size(),
            "NAMESPACE_IDLE_SECS" => self.namespace_idle = Duration::from_secs(number()),
            "MAX_TYPES" => self.max_types = size(),
            "MAX_URI_BYTES" => self.max_uri_bytes = size(),
            "PROXY_TARGET" => self.proxy_target = Some(target_url(value)?),
            "PROXY_TIMEOUT_MS" => self.proxy_timeout = Duration::from_millis(number()),
            "RECORD" => self.record = value == "1",
            "ID_FIELD" => self.id_field = value.to_owned(),
            "API_PREFIX" => self.api_prefix = value.to_owned(),
            "CREATE_STATUS" => self.create_status = if value == "201" { 201 } else { 200 },
            "TIMESTAMPS" => self.timestamps = value == "1",
            "SEED" => self.seed = number(),
            "OPENAPI_SEED_ITEMS" => self.openapi_seed_items = size(),
            "JSON_SERVER" => self.json_server = value == "1",
            "READ_ONLY" => self.read_only = value == "1",
            other => return Err(format!("{other} has no field in Config")),
        }
        Ok(())
    }

    /// The configuration from `(name, value)` pairs, names as [`Setting::named`]
    /// takes them, starting from `self`. Every refused value is an error that
    /// starts with the name as given (`MAX_ITEMS=ten: not a whole number`).
    /// Returns the warnings about settings that have no effect, for the host to
    /// log.
    pub fn from_settings<N, V>(
        mut self,
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Result<(Self, Vec<String>), String>
    where
        N: AsRef<str>,
        V: AsRef<str>,
    {
        let mut given = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            self.set(name, value)
                .map_err(|reason| format!("{name}={}: {reason}", shown(name, value)))?;
            if let (Some(setting), false) = (Setting::named(name), value.trim().is_empty()) {
                given.push(setting.name);
            }
        }
        if self.json_server {
            // The preset's settings, unless given: json-server's ids, paths and status.
            for (name, value) in JSON_SERVER_PRESET {
                if !given.contains(&name) {
                    self.set(name, value)?;
                }
            }
        }
        let mut warnings = Vec::new();
        if given.contains(&"AUTH_SCOPE") && self.api_token.is_none() {
            warnings
                .push("AUTH_SCOPE has no effect without API_TOKEN: every route is open".to_owned());
        }
        Ok((self, warnings))
    }
}

/// A value as an error message may show it: a secret is never shown.
fn shown<'a>(name: &str, value: &'a str) -> &'a str {
    match Setting::named(name) {
        Some(setting) if setting.kind == Kind::Secret => "…",
        _ => value.trim(),
    }
}

/// The candidate spelt closest to `name` (Levenshtein distance, any case),
/// when it is close enough to be a slip: at most 2 edits, or a third of
/// `name`'s length. For hosts that name the option a user probably meant.
pub fn closest_name<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let (best, distance) = candidates
        .into_iter()
        .map(|candidate| {
            (
                candidate,
                strsim::levenshtein(&lower, &candidate.to_lowercase()),
            )
        })
        .min_by_key(|(_, distance)| *distance)?;
    (distance <= 2.max(name.chars().count() / 3)).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closest_name_is_a_slip_or_none() {
        let names = ["seed", "rules", "delayMs", "apiToken"];
        assert_eq!(closest_name("seeds", names), Some("seed"));
        assert_eq!(closest_name("delay", names), Some("delayMs"));
        assert_eq!(closest_name("APITOKEN", names), Some("apiToken"));
        assert_eq!(closest_name("frobnicate", names), None);
    }

    #[test]
    fn the_table_defaults_are_the_config_defaults() {
        let pairs = SETTINGS.iter().map(|s| (s.name, s.default));
        let (config, warnings) = Config::default().from_settings(pairs).unwrap();
        assert_eq!(config, Config::default());
        // AUTH_SCOPE's default is given, with no token: the one warning.
        assert_eq!(warnings.len(), 1);
        let mut changed = Config::default();
        for setting in SETTINGS {
            let value = match setting.kind {
                Kind::Number { max } | Kind::Count { max } => max.min(7).to_string(),
                Kind::Choice(words) => words[words.len() - 1].to_owned(),
                Kind::Origins => "http://a.test".to_owned(),
                Kind::Url => "http://a.test".to_owned(),
                Kind::Key => "id".to_owned(),
                Kind::Prefix => "/".to_owned(),
                Kind::Text | Kind::Secret => "x".to_owned(),
            };
            changed.set(setting.name, &value).unwrap();
        }
        // Every setting reaches a field: none is left at its default.
        let default = Config::default();
        assert_ne!(changed.app_name, default.app_name);
        assert_ne!(changed.app_version, default.app_version);
        assert_ne!(changed.api_token, default.api_token);
        assert_ne!(changed.auth_scope, default.auth_scope);
        assert_ne!(changed.cors_origins, default.cors_origins);
        assert_ne!(changed.max_namespaces, default.max_namespaces);
        assert_ne!(changed.namespace_idle, default.namespace_idle);
        assert_ne!(changed.default_delay, default.default_delay);
        assert_ne!(changed.journal_size, default.journal_size);
        assert_ne!(changed.max_body_bytes, default.max_body_bytes);
        assert_ne!(changed.max_items, default.max_items);
        assert_ne!(changed.max_rules, default.max_rules);
        assert_ne!(changed.max_subscribers, default.max_subscribers);
        assert_ne!(changed.max_types, default.max_types);
        assert_ne!(changed.max_store_bytes, default.max_store_bytes);
        assert_ne!(changed.max_uri_bytes, default.max_uri_bytes);
        assert_ne!(changed.proxy_target, default.proxy_target);
        assert_ne!(changed.proxy_timeout, default.proxy_timeout);
        assert_ne!(changed.record, default.record);
        assert_ne!(changed.id_field, default.id_field);
        assert_ne!(changed.create_status, default.create_status);
        assert_ne!(changed.timestamps, default.timestamps);
        assert_ne!(changed.api_prefix, default.api_prefix);
        assert_ne!(changed.seed, default.seed);
        assert_ne!(changed.openapi_seed_items, default.openapi_seed_items);
        assert_ne!(changed.json_server, default.json_server);
        assert_ne!(changed.read_only, default.read_only);
    }

    #[test]
    fn the_json_server_preset_sets_what_is_not_given() {
        let (config, _) = Config::default()
            .from_settings([("JSON_SERVER", "1")])
            .unwrap();
        assert!(config.json_server);
        assert_eq!(config.id_field, "id");
        assert_eq!(config.api_prefix, "/");
        assert_eq!(config.create_status, 201);
        let (config, _) = Config::default()
            .from_settings([
                ("jsonServer", "1"),
                ("API_PREFIX", "/api"),
                ("ID_FIELD", "uid"),
            ])
            .unwrap();
        assert_eq!(config.api_prefix, "/api");
        assert_eq!(config.id_field, "uid");
        assert_eq!(config.create_status, 201);
        let (config, _) = Config::default()
            .from_settings([("JSON_SERVER", "0")])
            .unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn a_proxy_target_is_an_absolute_http_url() {
        for (given, kept) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("HTTPS://api.example.com/v1/", "https://api.example.com/v1"),
            ("http://[::1]:9/", "http://[::1]:9"),
        ] {
            let (config, _) = Config::default()
                .from_settings([("PROXY_TARGET", given)])
                .unwrap();
            assert_eq!(config.proxy_target.as_deref(), Some(kept));
        }
        for bad in [
            "localhost:8080",
            "ftp://a.test",
            "http://",
            "http:///x",
            "http://a.test?x=1",
            "http://user@a.test",
            "/api",
        ] {
            let err = Config::default()
                .from_settings([("PROXY_TARGET", bad)])
                .unwrap_err();
            assert!(err.starts_with(&format!("PROXY_TARGET={bad}: ")), "{err}");
        }
    }

    #[test]
    fn settings_are_read_by_name_or_js_name_and_trimmed() {
        let (config, warnings) = Config::default()
            .from_settings([
                ("APP_NAME", "n"),
                ("apiToken", "  t  "),
                ("AUTH_SCOPE", "writes"),
                ("corsOrigins", "http://a.test, ,https://b.test:8443"),
                ("DELAY_MS", "30000"),
                ("maxUriBytes", "64"),
                ("APP_VERSION", " "),
            ])
            .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.app_name, "n");
        assert_eq!(config.api_token.as_deref(), Some("t"));
        assert_eq!(config.auth_scope, AuthScope::Writes);
        assert_eq!(
            config.cors_origins,
            ["http://a.test", "https://b.test:8443"]
        );
        assert_eq!(config.default_delay, Duration::from_secs(30));
        assert_eq!(config.max_uri_bytes, 64);
        assert_eq!(config.app_version, Config::default().app_version);
    }

    #[test]
    fn refused_values_name_the_setting_and_the_reason() {
        let refused = |name: &str, value: &str| {
            Config::default()
                .from_settings([(name, value)])
                .unwrap_err()
        };
        assert_eq!(
            refused("DELAY_MS", "30001"),
            "DELAY_MS=30001: at most 30000"
        );
        assert_eq!(
            refused("journalSize", "-1"),
            "journalSize=-1: not a whole number"
        );
        assert_eq!(
            refused("MAX_ITEMS", "+5"),
            "MAX_ITEMS=+5: not a whole number"
        );
        assert_eq!(
            refused("AUTH_SCOPE", "reads"),
            "AUTH_SCOPE=reads: one of `all`, `writes`"
        );
        assert!(refused("CORS_ORIGINS", "localhost:3000")
            .starts_with("CORS_ORIGINS=localhost:3000: `localhost:3000` is not an origin"));
        assert!(refused("CORS_ORIGINS", "http://a.test/").contains("is not an origin"));
        assert!(refused("API_PREFIX", "/health")
            .starts_with("API_PREFIX=/health: collides with the server's own /health"));
        assert!(refused("API_PREFIX", "api").starts_with("API_PREFIX=api: not a path"));
        assert!(refused("ID_FIELD", " ").starts_with("ID_FIELD=: empty"));
        for key in ["a.b", "a b", "é", "x\"y"] {
            assert!(refused("ID_FIELD", key).contains("a plain key"), "{key}");
        }
        assert!(refused("DELAY", "1").starts_with("DELAY=1: not a setting; the settings are"));
    }

    #[test]
    fn origins_are_what_browsers_send() {
        for good in [
            "http://localhost:3000",
            "https://app.example.com",
            "http://127.0.0.1:5173",
            "http://[::1]:8080",
            "app-scheme://host",
        ] {
            assert!(is_origin(good), "{good}");
        }
        for bad in [
            "localhost:3000",
            "http://",
            "http://a.test/",
            "http://a.test/path",
            "http://a.test:port",
            "http://a.test:99999",
            "//a.test",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }

    #[test]
    fn a_setting_with_no_effect_is_a_warning() {
        let (_, warnings) = Config::default()
            .from_settings([("AUTH_SCOPE", "writes")])
            .unwrap();
        assert_eq!(
            warnings,
            ["AUTH_SCOPE has no effect without API_TOKEN: every route is open"]
        );
        let (_, warnings) = Config::default()
            .from_settings([("AUTH_SCOPE", "writes"), ("API_TOKEN", "t")])
            .unwrap();
        assert!(warnings.is_empty());
    }

    #[test]
    fn names_have_their_flag_and_js_forms() {
        let setting = Setting::named("MAX_URI_BYTES").unwrap();
        assert_eq!(setting.flag(), "max-uri-bytes");
        assert_eq!(setting.js_name(), "maxUriBytes");
        assert_eq!(Setting::named("maxUriBytes"), Some(setting));
        assert_eq!(Setting::named("max-uri-bytes"), None);
        // `seed` is the fixtures of createMock and startMock.
        let seed = Setting::named("SEED").unwrap();
        assert_eq!(
            (seed.flag().as_str(), seed.js_name().as_str()),
            ("seed", "openapiSeed")
        );
        assert_eq!(Setting::named("openapiSeed"), Some(seed));
        assert_eq!(Setting::named("seed"), None);
    }
}
