//! Settings, from the command line or the environment (the original mock's names).

use crate::durable::FsyncMode;
use clap::{Parser, ValueEnum};
use mock_rest_core::{
    AuthScope, Config, DEFAULT_JOURNAL_SIZE, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_TYPES, DEFAULT_MAX_URI_BYTES,
};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// How the server runs. Every flag can also be set by the environment variable it names.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "mock-rest-api",
    version,
    about = "A mock REST API: POST any JSON to /api/{resource}, then read, replace and delete it."
)]
pub struct Settings {
    /// The port to listen on. Elastic Beanstalk's proxy expects 5000. 0 picks a free port.
    #[arg(long, env = "PORT", default_value_t = 5000)]
    pub port: u16,

    /// The address to bind (an IP address or `localhost`); wins over --run-local.
    #[arg(long, env = "HOST", value_parser = parse_host)]
    pub host: Option<IpAddr>,

    /// Bind 127.0.0.1 only, instead of every interface. Any value but
    /// false/0/no/off (or empty) turns it on, as in the original mock.
    #[arg(long, env = "RUN_LOCAL", value_parser = clap::builder::FalseyValueParser::new())]
    pub run_local: bool,

    /// The name shown by /health and the homepage.
    #[arg(long, env = "APP_NAME", default_value = "mock-rest-api")]
    pub app_name: String,

    /// The version shown by /health and the homepage.
    #[arg(long, env = "APP_VERSION", default_value = env!("CARGO_PKG_VERSION"))]
    pub app_version: String,

    /// The largest request body accepted, in bytes; a larger one gets 413.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// The most items the store holds; a write past it gets 507.
    #[arg(long, env = "MAX_ITEMS", default_value_t = DEFAULT_MAX_ITEMS)]
    pub max_items: usize,

    /// The most resource types the store holds; a new type past it gets 507.
    #[arg(long, env = "MAX_TYPES", default_value_t = DEFAULT_MAX_TYPES)]
    pub max_types: usize,

    /// The longest path and query, in bytes; a longer one gets 414.
    #[arg(long, env = "MAX_URI_BYTES", default_value_t = DEFAULT_MAX_URI_BYTES)]
    pub max_uri_bytes: usize,

    /// Origins allowed to read responses, comma-separated (such as
    /// `http://localhost:3000`). Unset: any origin (`*`).
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Durable mode: the store lives in this JSON file (`{"type": [items]}`,
    /// also the fixtures format) plus a journal beside it (`FILE.journal`).
    /// Loaded at start, restored by `POST /__admin/reset`, rewritten by compaction.
    #[arg(long = "data", env = "DATA_FILE", value_name = "FILE")]
    pub data_file: Option<PathBuf>,

    /// With --data: when a write is acknowledged. `always`: after its journal
    /// record is fsynced; `batch`: after it is written, fsynced within 100 ms;
    /// `off`: at once, fsynced only by compaction.
    #[arg(long, env = "FSYNC", value_enum, default_value_t = FsyncMode::Always)]
    pub fsync: FsyncMode,

    /// With --data: the journal is compacted into the snapshot once it is
    /// larger than this many bytes and larger than the snapshot.
    #[arg(long, env = "COMPACT_AFTER_BYTES", default_value_t = 1024 * 1024)]
    pub compact_after_bytes: u64,

    /// The most connections served at once; more wait to be accepted.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Seconds a request body may take to arrive before the answer is 408.
    #[arg(long, env = "BODY_TIMEOUT_SECS", default_value_t = 30)]
    pub body_timeout_secs: u64,

    // Connection timeouts (host only; docs/limits.md): each frees a slot that
    // a client holds without using it.
    /// Seconds a connection may go without reading or writing a byte (an idle
    /// HTTP/2 connection, a stalled body, a mock delay) before it is closed;
    /// longer than DELAY_MS, and than the per-request delays clients ask for.
    #[arg(long, env = "IDLE_TIMEOUT_SECS", default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout_secs: u64,
    /// Seconds an HTTP/1.1 request head may take to arrive before the
    /// connection is closed (counted from the first byte of the connection or
    /// of the request after the previous answer).
    #[arg(long, env = "HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub header_timeout_secs: u64,
    /// Seconds a write to a client that does not read may stay stalled before
    /// the connection is closed.
    #[arg(long, env = "WRITE_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub write_timeout_secs: u64,

    /// Milliseconds every response waits, unless the request asks for its own
    /// delay with X-Mock-Delay or _delay (at most 30000).
    #[arg(long, env = "DELAY_MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=30_000))]
    pub delay_ms: u64,

    /// How many recent requests `/__admin/requests` keeps.
    #[arg(long, env = "JOURNAL_SIZE", default_value_t = DEFAULT_JOURNAL_SIZE)]
    pub journal_size: usize,

    /// A token every route but / and /health then needs, as
    /// `Authorization: Bearer <token>`.
    #[arg(long, env = "API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// What the token guards: `all` routes but / and /health, or only `writes`
    /// and /__admin (reads stay open).
    #[arg(long, env = "AUTH_SCOPE", value_enum, default_value_t = Scope::All)]
    pub auth_scope: Scope,
}

/// The values of `AUTH_SCOPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scope {
    /// Every route but / and /health.
    All,
    /// Writes and /__admin only.
    Writes,
}

fn parse_host(text: &str) -> Result<IpAddr, String> {
    if text.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    text.parse()
        .map_err(|_| format!("`{text}` is not an IP address (or `localhost`)"))
}

impl Settings {
    /// The socket address to listen on.
    pub fn bind_addr(&self) -> SocketAddr {
        let ip = match (self.host, self.run_local) {
            (Some(ip), _) => ip,
            (None, true) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            (None, false) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        SocketAddr::new(ip, self.port)
    }

    /// The engine's part of the settings.
    pub fn engine_config(&self) -> Config {
        Config {
            app_name: self.app_name.clone(),
            app_version: self.app_version.clone(),
            max_body_bytes: self.max_body_bytes,
            cors_origins: self
                .cors_origins
                .iter()
                .map(|origin| origin.trim().to_owned())
                .filter(|origin| !origin.is_empty())
                .collect(),
            default_delay: Duration::from_millis(self.delay_ms),
            journal_size: self.journal_size,
            api_token: self.api_token.clone().filter(|token| !token.is_empty()),
            auth_scope: match self.auth_scope {
                Scope::All => AuthScope::All,
                Scope::Writes => AuthScope::Writes,
            },
            publicly_reachable: !self.bind_addr().ip().is_loopback(),
            max_items: self.max_items,
            max_types: self.max_types,
            max_uri_bytes: self.max_uri_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Settings {
        Settings::try_parse_from(std::iter::once("mock-rest-api").chain(args.iter().copied()))
            .unwrap()
    }

    #[test]
    fn binds_every_interface_on_5000_by_default() {
        let settings = parse(&[]);
        assert_eq!(settings.bind_addr(), "0.0.0.0:5000".parse().unwrap());
        assert_eq!(settings.max_body_bytes, 1024 * 1024);
    }

    #[test]
    fn run_local_and_host_choose_the_address() {
        assert_eq!(
            parse(&["--run-local", "--port", "8080"]).bind_addr(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            parse(&["--run-local", "--host", "::1"]).bind_addr(),
            "[::1]:5000".parse().unwrap()
        );
        assert_eq!(
            parse(&["--host", "localhost"]).bind_addr(),
            "127.0.0.1:5000".parse().unwrap()
        );
        assert!(Settings::try_parse_from(["x", "--host", "example.com"]).is_err());
    }

    #[test]
    fn controls_and_access_settings() {
        let config = parse(&[
            "--delay-ms",
            "250",
            "--api-token",
            "s3cret",
            "--auth-scope",
            "writes",
        ])
        .engine_config();
        assert_eq!(config.default_delay, Duration::from_millis(250));
        assert_eq!(config.api_token.as_deref(), Some("s3cret"));
        assert_eq!(config.auth_scope, AuthScope::Writes);
        assert!(
            config.publicly_reachable,
            "0.0.0.0 is reachable from elsewhere"
        );
        assert!(!parse(&["--run-local"]).engine_config().publicly_reachable);
        assert!(Settings::try_parse_from(["x", "--delay-ms", "30001"]).is_err());
        assert!(Settings::try_parse_from(["x", "--auth-scope", "reads"]).is_err());
    }
}
