//! Real documents from the registry (installed by `npm ci` from the root
//! package-lock.json): GitHub's REST description (@octokit/openapi) and the
//! Petstores and others of @readme/oas-examples, loaded and asked a few
//! questions. A missing file fails, naming the command that installs it.

use mock_rest_core::spec::{Lookup, Prefer, RequestParts, Spec, Version};
use std::path::PathBuf;

fn document(relative: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../node_modules")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. The real OpenAPI documents come from the root package-lock.json: run `bash scripts/test.sh setup` (npm ci).",
            path.display()
        )
    })
}

fn load(relative: &str) -> Spec {
    Spec::load(&document(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn op(
    spec: &Spec,
    method: &str,
    path: &str,
) -> (mock_rest_core::spec::OpId, Vec<(String, String)>) {
    match spec.find(method, path) {
        Lookup::Found { op, params } => (op, params),
        other => panic!("{method} {path}: {other:?}"),
    }
}

#[test]
fn githubs_rest_description_loads_and_answers() {
    let spec = load("@octokit/openapi/generated/api.github.com.json");
    assert_eq!(spec.version(), Version::OpenApi30);
    assert!(
        spec.operations().count() > 900,
        "{} operations",
        spec.operations().count()
    );
    let (get_repo, params) = op(&spec, "GET", "/repos/octocat/hello-world");
    assert_eq!(spec.operation_id(get_repo), Some("repos/get"));
    assert_eq!(params[0], ("owner".to_owned(), "octocat".to_owned()));
    let request = RequestParts {
        path_params: &params,
        ..RequestParts::default()
    };
    assert_eq!(spec.validate_request(get_repo, &request), []);
    let choice = spec
        .choose(get_repo, &Prefer::default(), None)
        .expect("a 200");
    let example = spec.body(&choice, 0).expect("an example");
    assert!(example["full_name"].is_string(), "{example}");
    // GitHub's own example of a repository lacks properties its schema
    // requires: the drift check says so.
    let drift = spec.validate_response(
        get_repo,
        200,
        Some("application/json"),
        example.to_string().as_bytes(),
    );
    assert!(
        drift
            .iter()
            .any(|v| v.message == "Response body must have required property 'language'"),
        "{drift:?}"
    );
    let dynamic = Prefer::parse("dynamic=true").expect("a Prefer header");
    let choice = spec.choose(get_repo, &dynamic, None).expect("a 200");
    let generated = spec.body(&choice, 0).expect("generated");
    assert_eq!(
        spec.validate_response(
            get_repo,
            200,
            Some("application/json"),
            generated.to_string().as_bytes()
        ),
        []
    );

    let (create_issue, params) = op(&spec, "POST", "/repos/octocat/hello-world/issues");
    let request = RequestParts {
        method: "POST",
        path_params: &params,
        body: br#"{"labels": 5}"#,
        ..RequestParts::default()
    };
    let violations = spec.validate_request(create_issue, &request);
    let codes: Vec<&str> = violations.iter().map(|v| v.code.as_str()).collect();
    assert!(
        codes.contains(&"required") && codes.contains(&"type"),
        "{violations:?}"
    );
    assert_eq!(
        spec.violation_response(create_issue, &violations).status,
        422
    );

    let (list_issues, params) = op(&spec, "GET", "/repos/octocat/hello-world/issues");
    let request = RequestParts {
        path_params: &params,
        query: &[
            ("per_page".to_owned(), "many".to_owned()),
            ("state".to_owned(), "weird".to_owned()),
        ],
        ..RequestParts::default()
    };
    let violations = spec.validate_request(list_issues, &request);
    let places: Vec<String> = violations.iter().map(|v| v.location.join(".")).collect();
    assert_eq!(places, ["query.state", "query.per_page"], "{violations:?}");
    assert_eq!(
        spec.find("GET", "/no/such/thing/here/at/all"),
        Lookup::NoPath
    );
    assert!(!spec.resources().is_empty());
}

#[test]
fn the_readme_examples_load_in_every_version_and_form() {
    let mut documents = Vec::new();
    for (dir, version) in [
        ("3.0/json", Version::OpenApi30),
        ("3.1/json", Version::OpenApi31),
        ("2.0/json", Version::Swagger2),
        ("3.0/yaml", Version::OpenApi30),
        ("3.1/yaml", Version::OpenApi31),
        ("2.0/yaml", Version::Swagger2),
    ] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../node_modules/@readme/oas-examples")
            .join(dir);
        let entries = std::fs::read_dir(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}. Run `bash scripts/test.sh setup` (npm ci).",
                path.display()
            )
        });
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json") || n.ends_with(".yaml"))
            .collect();
        names.sort();
        documents.extend(
            names
                .into_iter()
                .map(|n| (format!("@readme/oas-examples/{dir}/{n}"), version)),
        );
    }
    assert!(documents.len() > 60, "{} documents", documents.len());
    for (relative, version) in &documents {
        let relative = relative.as_str();
        let version = *version;
        let spec = load(relative);
        assert_eq!(spec.version(), version, "{relative}");
        for op in spec.operations() {
            // Every operation gets an answer or a reason, never a panic.
            match spec.choose(op, &Prefer::default(), None) {
                Ok(choice) => {
                    let body = spec.body(&choice, 1);
                    let answer = spec.answer(&choice, body, 1);
                    assert!((100..600).contains(&answer.status));
                }
                Err(refusal) => assert!(refusal.answer().status >= 400),
            }
        }
    }
    let spec = load("@readme/oas-examples/3.0/json/petstore.json");
    let (find_by_status, params) = op(&spec, "GET", "/pet/findByStatus");
    let bearer = [("Authorization".to_owned(), "Bearer t".to_owned())];
    let request = RequestParts {
        path_params: &params,
        query: &[("status".to_owned(), "lost".to_owned())],
        headers: &bearer,
        ..RequestParts::default()
    };
    let violations = spec.validate_request(find_by_status, &request);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].location, ["query", "status", "0"]);
    let pets = spec
        .resources()
        .iter()
        .find(|r| r.name == "pet")
        .expect("a pet resource");
    assert_eq!(pets.item.as_deref(), Some("/pet/{petId}"));
    let spec = load("@readme/oas-examples/2.0/json/petstore.json");
    let (add, params) = op(&spec, "POST", "/pet");
    let request = RequestParts {
        method: "POST",
        path_params: &params,
        headers: &[("Authorization".to_owned(), "Bearer t".to_owned())],
        body: br#"{"name": "doggie", "photoUrls": []}"#,
        ..RequestParts::default()
    };
    assert_eq!(spec.validate_request(add, &request), []);
}
