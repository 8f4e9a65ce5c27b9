//! Replays every conformance case against the Node server of the npm package
//! (`npx mock-rest-api`, `npm/`), one fresh process (on a free port of
//! 127.0.0.1) per case, as `native` does for the binary.
//!
//! The command is `$MOCK_REST_NODE_BIN`: the `mock-rest-api` that `npm install`
//! of the packed tarball put in `node_modules/.bin/` (scripts/node.sh sets it).
//! A case's `DATA_FILE` reaches the Node server in its environment, which it reads
//! once as the seed (durable data is the native server's).

use conformance::{replay_each, run_case, HttpTarget, NativeServer};
use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    let Some(command) = std::env::var_os("MOCK_REST_NODE_BIN").map(PathBuf::from) else {
        eprintln!(
            "MOCK_REST_NODE_BIN is not set: point it at the installed package's \
             node_modules/.bin/mock-rest-api (bash scripts/node.sh test does)"
        );
        return std::process::ExitCode::FAILURE;
    };
    replay_each(move |case| {
        let server = NativeServer::start_with_env(&command, &[], &case.env)?;
        run_case(case, &mut HttpTarget::new(server.base()))
    })
}
