//! Replays every conformance case against the container image (the
//! `Dockerfile`), one fresh container per case, as `native` does with one
//! process per case: `docker run` on the host's network with the case's
//! settings as `-e NAME=VALUE` and its `DATA_FILE` and `RULES` in a mounted
//! folder, removed with `docker rm -f` by its id afterwards
//! ([`conformance::ContainerServer`]).
//!
//! The image is `$MOCK_REST_IMAGE`, or `mock-rest-api:latest`; it is never
//! pulled, so it must already be in the engine that `DOCKER_HOST` names
//! (`bash scripts/docker.sh` builds it and runs this in its own engine).

use conformance::{replay_each, run_case, ContainerServer, HttpTarget};
use std::process::{Command, Stdio};

fn main() -> std::process::ExitCode {
    let image =
        std::env::var("MOCK_REST_IMAGE").unwrap_or_else(|_| "mock-rest-api:latest".to_owned());
    let inspected = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", &image])
        .stdin(Stdio::null())
        .output();
    match inspected {
        Ok(output) if output.status.success() => {}
        Ok(output) => {
            eprintln!(
                "the image {image} is not in the Docker engine (bash scripts/docker.sh builds it): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            return std::process::ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("could not run docker: {err}");
            return std::process::ExitCode::FAILURE;
        }
    }
    replay_each(move |case| {
        let server = ContainerServer::start(&image, &case.env)?;
        run_case(case, &mut HttpTarget::new(server.base()))
    })
}
