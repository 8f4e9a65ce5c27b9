//! What is the native host's own about `--openapi`: the file is read (at
//! most `MAX_DOCUMENT_BYTES` of it), and a file that cannot be read or a
//! document that cannot be used stops the start with a message naming the
//! file, the JSON pointer and why. What the document's paths answer is
//! covered by the conformance cases.

// A test that cannot set up should panic with the reason.
#![allow(clippy::unwrap_used)]

use conformance::{HttpTarget, NativeServer, Scratch, Target, WireRequest};
use std::path::Path;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mock-rest-api"))
}

fn start_fails(args: &[&str], env: &[(&str, &str)]) -> String {
    NativeServer::refused(binary(), args, env).unwrap()
}

const PETS: &str = "openapi: 3.0.3
info: {title: pets, version: '1'}
paths:
  /pets:
    get:
      responses:
        '200':
          description: pets
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Pet'}}
components:
  schemas:
    Pet:
      type: object
      properties:
        id: {type: integer}
        name: {type: string}
";

#[test]
fn a_document_that_cannot_be_used_stops_the_start_naming_the_file_the_pointer_and_why() {
    let scratch = Scratch::new("openapi", "bad").unwrap();
    let dangling = scratch
        .file(
            "dangling.yaml",
            &PETS.replace("#/components/schemas/Pet", "#/components/schemas/Pett"),
        )
        .unwrap();
    let log = start_fails(&["--openapi", &dangling], &[]);
    assert!(
        log.contains(&format!(
            "OPENAPI={dangling} (--openapi): The OpenAPI document cannot be used: #/paths/~1pets/get/responses/200/content/application~1json/schema/items/$ref: "
        )) && log.contains("#/components/schemas/Pett"),
        "{log}"
    );
    let broken = scratch
        .file("broken.json", "{\"openapi\": \"3.1.0\",\n  \"paths\": [}")
        .unwrap();
    let log = start_fails(&[], &[("OPENAPI", broken.as_str())]);
    assert!(
        log.contains(&format!(
            "OPENAPI={broken} (--openapi): The OpenAPI document cannot be used: #: "
        )) && log.contains("line 2"),
        "{log}"
    );
    let unknown = scratch
        .file("v4.yaml", &PETS.replace("3.0.3", "4.0.0"))
        .unwrap();
    let log = start_fails(&["--openapi", &unknown], &[]);
    assert!(
        log.contains(&format!("OPENAPI={unknown} (--openapi)")),
        "{log}"
    );
    let missing = scratch.join("nope.yaml");
    let missing = missing.to_str().unwrap();
    let log = start_fails(&["--openapi", missing], &[]);
    assert!(
        log.contains(&format!(
            "OPENAPI={missing} (--openapi): {missing} cannot be read"
        )),
        "{log}"
    );
}

#[test]
fn a_document_over_the_limit_is_refused_before_it_is_read_whole() {
    let scratch = Scratch::new("openapi", "large").unwrap();
    let path = scratch.join("large.json");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(mock_rest_core::spec::MAX_DOCUMENT_BYTES as u64 + 1)
        .unwrap();
    let path = path.to_str().unwrap();
    let log = start_fails(&["--openapi", path], &[]);
    assert!(
        log.contains(&format!(
            "OPENAPI={path} (--openapi): {path} is larger than {} bytes",
            mock_rest_core::spec::MAX_DOCUMENT_BYTES
        )),
        "{log}"
    );
}

#[test]
fn the_start_log_names_the_document_and_its_paths_answer() {
    let scratch = Scratch::new("openapi", "good").unwrap();
    let pets = scratch.file("pets.yaml", PETS).unwrap();
    let server =
        NativeServer::start(binary(), &["--openapi", &pets, "--openapi-seed-items", "1"]).unwrap();
    assert!(
        server
            .log_lines()
            .iter()
            .any(|line| line.contains(&format!("openapi: {pets}, its paths are served"))),
        "{:?}",
        server.log_lines()
    );
    let response = HttpTarget::new(server.base())
        .send(&WireRequest::new("GET", "/pets", ""))
        .unwrap();
    assert_eq!(response.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body[0]["id"], 1);
}
