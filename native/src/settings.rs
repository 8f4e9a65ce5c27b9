//! Settings, from the command line or the environment (the original mock's
//! names): the host's own (`PORT`, `HOST`, `RUN_LOCAL`, `DATA_FILE`, ...)
//! declared here, and the engine's, taken from the core's table so that every
//! host reads them alike.

use crate::durable::FsyncMode;
use clap::parser::ValueSource;
use clap::{Arg, Command, CommandFactory, FromArgMatches, Parser};
use mock_rest_core::{Config, Kind, SETTINGS};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// How the server runs. Every flag can also be set by the environment variable it names.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "mock-rest-api",
    version,
    about = "A mock REST API: POST any JSON to /api/{resource}, then read, replace and delete it."
)]
pub struct Settings {
    /// The port to listen on. Elastic Beanstalk's proxy expects 5000. 0 picks a free port.
    #[arg(long, short = 'p', env = "PORT", default_value_t = 5000)]
    pub port: u16,

    /// The address to bind (an IP address or `localhost`); wins over --run-local.
    /// Unset: every interface, or 127.0.0.1 with --json-server.
    #[arg(long, short = 'H', env = "HOST", value_parser = parse_host)]
    pub host: Option<IpAddr>,

    /// Bind 127.0.0.1 only, instead of every interface. Any value but
    /// false/0/no/off (or empty) turns it on, as in the original mock.
    #[arg(long, env = "RUN_LOCAL", value_parser = clap::builder::FalseyValueParser::new())]
    pub run_local: bool,

    /// Fixtures: the same as --fixtures FILE.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// A read-only seed (`{"type": [items]}`): every namespace starts from it
    /// and `POST /__admin/reset` returns to it. Never written. A file that
    /// cannot be read, or is not valid, stops the start.
    #[arg(long = "fixtures", env = "FIXTURES", value_name = "FILE")]
    pub fixtures: Option<PathBuf>,

    /// Load the fixtures again when the file changes (whole or not at all; a
    /// bad file is logged and the running stores are kept), resetting every
    /// namespace to them.
    #[arg(long, short = 'w', env = "WATCH", value_parser = clap::builder::FalseyValueParser::new())]
    pub watch: bool,

    /// Durable mode: the store lives in this JSON file (`{"type": [items]}`,
    /// also the fixtures format) plus a journal beside it (`FILE.journal`);
    /// other namespaces live in `FILE.namespaces/`. A missing file is created
    /// (from the fixtures, if given). Rewritten by compaction.
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

    /// With --data: start even if the journal is damaged, keeping every intact
    /// record and moving the damaged bytes to `FILE.journal.corrupt-<offset>`.
    /// Without it, a damaged journal stops the start and no file is changed.
    #[arg(long, env = "REPAIR", value_parser = clap::builder::FalseyValueParser::new())]
    pub repair: bool,
    /// Rules to start with: a JSON array of rules, as `GET /__admin/rules`
    /// lists them. `POST /__admin/reset` restores them. A file that cannot be
    /// read, or a bad rule in it, stops the start.
    #[arg(long = "rules", env = "RULES", value_name = "FILE")]
    pub rules_file: Option<PathBuf>,

    /// An OpenAPI document (JSON or YAML; OpenAPI 3.0, 3.1 or Swagger 2.0)
    /// whose paths the mock then answers: validated, with state, and with
    /// data generated from SEED. A file that cannot be read, or a document
    /// that cannot be used, stops the start naming the place and why.
    #[arg(long = "openapi", env = "OPENAPI", value_name = "FILE")]
    pub openapi: Option<PathBuf>,

    /// The most connections served at once; more wait to be accepted.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Seconds a request body may take to arrive before the answer is 408.
    #[arg(long, env = "BODY_TIMEOUT_SECS", default_value_t = 30)]
    pub body_timeout_secs: u64,

    /// Instead of serving: ask the server that these settings describe (on
    /// 127.0.0.1 and PORT, or HOST) for `/health`, and exit 0 if it answers
    /// `200` with `"status":"pass"`, else 1. For a container's HEALTHCHECK,
    /// which then needs nothing but this binary.
    #[arg(long)]
    pub healthcheck: bool,

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

    /// The engine's settings as given by flag or environment, by their names
    /// in the core's table (`mock_rest_core::SETTINGS`), which also gives
    /// their flags, help, defaults and checks.
    #[arg(skip)]
    pub engine: Vec<(&'static str, String)>,

    /// What was set but has no effect, for the start log.
    #[arg(skip)]
    pub warnings: Vec<String>,
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
        // json-server listens on loopback; so does its preset.
        let json_server = self
            .engine
            .iter()
            .any(|(name, value)| *name == "JSON_SERVER" && value == "1");
        let ip = match (self.host, self.run_local || json_server) {
            (Some(ip), _) => ip,
            (None, true) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            (None, false) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        SocketAddr::new(ip, self.port)
    }

    /// The command line: the host's own flags, then one flag per engine
    /// setting from the core's table, each also read from its environment
    /// variable and checked by the core as it is parsed.
    pub fn command() -> Command {
        let mut command = <Self as CommandFactory>::command();
        for setting in SETTINGS {
            let help = match setting.default {
                "" => setting.help.to_owned(),
                default => format!("{} [default: {default}]", setting.help),
            };
            let check = move |value: &str| -> Result<String, String> {
                let value = value.trim();
                if !value.is_empty() {
                    setting.check(value)?;
                }
                Ok(value.to_owned())
            };
            let mut arg = Arg::new(setting.name)
                .long(setting.flag())
                .env(setting.name)
                .value_name(setting.name)
                .help(help)
                .hide_env_values(setting.kind == Kind::Secret)
                .value_parser(check);
            // json-server's own flags, so its command line works as it is.
            arg = match setting.name {
                // `--json-server` alone turns the preset on (`--json-server=0` off).
                "JSON_SERVER" => arg
                    .num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("1"),
                // `--read-only` / json-server's `--ro` alone turn it on.
                "READ_ONLY" => arg
                    .num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("1")
                    .visible_alias("ro"),
                "DELAY_MS" => arg.short('d').visible_alias("delay"),
                "ID_FIELD" => arg.short('i').visible_alias("id"),
                _ => arg,
            };
            command = command.arg(arg);
        }
        command
    }

    /// Reads the settings from these arguments and the environment.
    pub fn try_parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Self::command().try_get_matches_from(args)?;
        let mut settings = Self::from_arg_matches(&matches)?;
        if let Some(file) = settings.file.take() {
            if matches.value_source("fixtures") == Some(ValueSource::CommandLine) {
                return Err(Self::command().error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!(
                        "FILE (`{}`) means --fixtures FILE; give one or the other",
                        file.display()
                    ),
                ));
            }
            settings.fixtures = Some(file);
        }
        if settings.watch && settings.fixtures.is_none() {
            return Err(Self::command().error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "WATCH (--watch) needs a fixtures file (--fixtures FILE, or FILE)",
            ));
        }
        settings.engine = SETTINGS
            .iter()
            .filter_map(|setting| {
                let value = matches.get_one::<String>(setting.name)?;
                Some((setting.name, value.clone()))
            })
            .collect();
        if settings.data_file.is_none() {
            for flag in ["fsync", "compact_after_bytes"] {
                if let Some(ValueSource::CommandLine | ValueSource::EnvVariable) =
                    matches.value_source(flag)
                {
                    let name = flag.to_ascii_uppercase();
                    settings
                        .warnings
                        .push(format!("{name} has no effect without DATA_FILE (--data)"));
                }
            }
        }
        Ok(settings)
    }

    /// Reads the settings from these arguments and the environment; on an
    /// error, prints it (naming the setting) and exits.
    pub fn parse_from<I, T>(args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Self::try_parse_from(args).unwrap_or_else(|err| err.exit())
    }

    /// Reads the settings from the process's arguments and environment.
    pub fn parse() -> Self {
        Self::parse_from(std::env::args_os())
    }

    /// The engine's part of the settings, with the warnings about engine
    /// settings that have no effect.
    pub fn engine_config(&self) -> Result<(Config, Vec<String>), String> {
        let reachable = Config {
            publicly_reachable: !self.bind_addr().ip().is_loopback(),
            ..Config::default()
        };
        reachable.from_settings(self.engine.iter().map(|(name, value)| (*name, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_rest_core::AuthScope;
    use std::path::Path;
    use std::time::Duration;

    fn parse(args: &[&str]) -> Settings {
        Settings::try_parse_from(std::iter::once("mock-rest-api").chain(args.iter().copied()))
            .unwrap()
    }

    fn refused(args: &[&str]) -> String {
        Settings::try_parse_from(std::iter::once("mock-rest-api").chain(args.iter().copied()))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn binds_every_interface_on_5000_by_default() {
        let settings = parse(&[]);
        assert_eq!(settings.bind_addr(), "0.0.0.0:5000".parse().unwrap());
        let (config, warnings) = settings.engine_config().unwrap();
        assert_eq!(
            config,
            Config {
                publicly_reachable: true,
                ..Config::default()
            }
        );
        assert!(warnings.is_empty() && settings.warnings.is_empty());
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
        assert!(refused(&["--host", "example.com"]).contains("not an IP address"));
    }

    #[test]
    fn engine_settings_come_from_the_cores_table_trimmed() {
        let (config, _) = parse(&[
            "--delay-ms",
            "250",
            "--api-token",
            "  s3cret ",
            "--auth-scope",
            "writes",
            "--cors-origins",
            "http://localhost:3000, https://app.test",
        ])
        .engine_config()
        .unwrap();
        assert_eq!(config.default_delay, Duration::from_millis(250));
        assert_eq!(config.api_token.as_deref(), Some("s3cret"));
        assert_eq!(config.auth_scope, AuthScope::Writes);
        assert_eq!(
            config.cors_origins,
            ["http://localhost:3000", "https://app.test"]
        );
        assert!(
            config.publicly_reachable,
            "0.0.0.0 is reachable from elsewhere"
        );
        let (config, _) = parse(&["--run-local"]).engine_config().unwrap();
        assert!(!config.publicly_reachable);
    }

    #[test]
    fn a_bad_value_stops_the_start_naming_the_setting() {
        let error = refused(&["--delay-ms", "30001"]);
        assert!(
            error.contains("--delay-ms") && error.contains("at most 30000"),
            "{error}"
        );
        let error = refused(&["--auth-scope", "reads"]);
        assert!(error.contains("one of `all`, `writes`"), "{error}");
        let error = refused(&["--cors-origins", "localhost:3000"]);
        assert!(error.contains("is not an origin"), "{error}");
        let error = refused(&["--max-items", "+5"]);
        assert!(error.contains("not a whole number"), "{error}");
    }

    #[test]
    fn settings_with_no_effect_are_warnings() {
        let settings = parse(&["--auth-scope", "writes", "--fsync", "off"]);
        assert_eq!(
            settings.warnings,
            ["FSYNC has no effect without DATA_FILE (--data)"]
        );
        let (_, warnings) = settings.engine_config().unwrap();
        assert_eq!(
            warnings,
            ["AUTH_SCOPE has no effect without API_TOKEN: every route is open"]
        );
        assert!(parse(&["--data", "x.json", "--fsync", "off"])
            .warnings
            .is_empty());
    }

    #[test]
    fn json_servers_flags_are_aliases() {
        let settings = parse(&[
            "--json-server",
            "-p",
            "3001",
            "-d",
            "500",
            "-i",
            "uid",
            "-w",
            "db.json",
        ]);
        assert_eq!(settings.port, 3001);
        assert!(settings.watch);
        assert_eq!(settings.fixtures.as_deref(), Some(Path::new("db.json")));
        let (config, _) = settings.engine_config().unwrap();
        assert!(config.json_server);
        assert_eq!(config.default_delay, Duration::from_millis(500));
        assert_eq!(config.id_field, "uid");
        assert_eq!(config.api_prefix, "/");
        // json-server listens on loopback, and so does the preset unless told otherwise.
        assert!(settings.bind_addr().ip().is_loopback());
        let settings = parse(&[
            "--json-server",
            "-H",
            "0.0.0.0",
            "--delay",
            "5",
            "--id",
            "id",
        ]);
        assert!(!settings.bind_addr().ip().is_loopback());
        assert_eq!(
            settings.engine_config().unwrap().0.default_delay,
            Duration::from_millis(5)
        );
        let settings = parse(&["--ro", "db.json"]);
        assert!(settings.engine_config().unwrap().0.read_only);
        assert_eq!(settings.fixtures.as_deref(), Some(Path::new("db.json")));
        let settings = parse(&["--json-server=0"]);
        assert!(!settings.engine_config().unwrap().0.json_server);
        assert!(!settings.bind_addr().ip().is_loopback());
    }

    #[test]
    fn a_positional_file_means_fixtures() {
        let settings = parse(&["db.json", "--watch"]);
        assert_eq!(settings.fixtures, Some(PathBuf::from("db.json")));
        assert!(settings.watch && settings.file.is_none());
        assert!(refused(&["a.json", "--fixtures", "b.json"]).contains("give one or the other"));
        assert!(refused(&["--watch"]).contains("WATCH (--watch) needs a fixtures file"));
        assert!(refused(&["--max-namespaces", "0"]).contains("at least 1"));
        let engine = parse(&["--max-namespaces", "2"]).engine_config().unwrap().0;
        assert_eq!(engine.max_namespaces, 2);
    }

    #[test]
    fn help_lists_every_engine_setting_with_its_default() {
        let help = Settings::command().render_long_help().to_string();
        for setting in SETTINGS {
            assert!(help.contains(&format!("--{}", setting.flag())), "{help}");
            assert!(help.contains(&format!("[env: {}", setting.name)), "{help}");
        }
        assert!(help.contains("[default: 1048576]"), "{help}");
    }
}
