//! `mock-rest-api`: the server binary. See the crate docs of `mock_rest_api`.

use mock_rest_api::{healthcheck, log, serve, Settings};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let settings = Settings::parse();
    if settings.healthcheck {
        return match healthcheck::check(&settings) {
            Ok(()) => ExitCode::SUCCESS,
            Err(reason) => {
                eprintln!("mock-rest-api: unhealthy: {reason}");
                ExitCode::FAILURE
            }
        };
    }
    // Lines go through a queue to a thread of their own (see `mock_rest_api::log`); the
    // guard, dropped when `main` returns, writes out what is queued.
    let (writer, _log) = match log::non_blocking(std::io::stderr()) {
        Ok(started) => started,
        Err(err) => {
            eprintln!("mock-rest-api could not start its log thread: {err}");
            return ExitCode::FAILURE;
        }
    };
    let filter = match log_filter(std::env::var("RUST_LOG").ok()) {
        Ok(filter) => filter,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    if !ansi {
        // The request lines are then written as this subscriber would write them.
        log::write_request_lines(&writer);
    }
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_timer(log::Timestamps)
        .with_ansi(ansi)
        .with_env_filter(filter)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!("mock-rest-api could not start its runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("mock-rest-api could not serve: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The log filter: `RUST_LOG` when it is set (a filter that does not parse
/// stops the start, naming it), else `info`.
fn log_filter(setting: Option<String>) -> Result<EnvFilter, String> {
    match setting {
        Some(value) if !value.trim().is_empty() => EnvFilter::try_new(&value).map_err(|err| {
            format!("RUST_LOG={value} is not a log filter: {err}. Try `info` or `warn`.")
        }),
        _ => Ok(EnvFilter::new("info")),
    }
}
