//! `mock-rest-api --healthcheck`: the binary asks a running server for its
//! `/health`, so that a container image needs no other program for its
//! `HEALTHCHECK`.

use crate::Settings;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// How long the check waits for an answer, start to end.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Asks the server the settings describe for `/health`: `Ok` when it answers
/// `200` with `"status":"pass"`, otherwise why not.
pub fn check(settings: &Settings) -> Result<(), String> {
    let bound = settings.bind_addr();
    // A server bound to every interface answers on loopback too.
    let ip = if bound.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        bound.ip()
    };
    let url = format!("http://{}/health", SocketAddr::new(ip, bound.port()));
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(TIMEOUT))
        .build()
        .new_agent();
    let mut response = agent
        .get(&url)
        .call()
        .map_err(|err| format!("{url}: {err}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(1024 * 1024)
        .read_to_string()
        .map_err(|err| format!("{url}: {err}"))?;
    let health: serde_json::Value =
        serde_json::from_str(&body).map_err(|err| format!("{url}: not JSON ({err})"))?;
    match (status, health.get("status").and_then(|s| s.as_str())) {
        (200, Some("pass")) => Ok(()),
        (status, state) => Err(format!(
            "{url}: {status}, status {}",
            state.unwrap_or("missing")
        )),
    }
}
