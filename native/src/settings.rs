//! Settings, from the command line or the environment (the original mock's names).

use clap::Parser;
use mock_rest_core::{Config, DEFAULT_MAX_BODY_BYTES};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

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

    /// Origins allowed to read responses, comma-separated (such as
    /// `http://localhost:3000`). Unset: any origin (`*`).
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
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
}
