//! The module's behaviour on the hand-written documents of each version in
//! `tests/openapi-docs/`.

use super::*;
use proptest::prelude::*;
use serde_json::json;

const V30: &[u8] = include_bytes!("../../../tests/openapi-docs/petstore-3.0.yaml");
const V31: &[u8] = include_bytes!("../../../tests/openapi-docs/petstore-3.1.json");
const V20: &[u8] = include_bytes!("../../../tests/openapi-docs/petstore-2.0.yaml");

fn load(bytes: &[u8]) -> Spec {
    Spec::load(bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn found(spec: &Spec, method: &str, path: &str) -> (OpId, Vec<(String, String)>) {
    match spec.find(method, path) {
        Lookup::Found { op, params } => (op, params),
        other => panic!("{method} {path}: {other:?}"),
    }
}

/// The violations of a request given as method, target, headers and body.
fn check(
    spec: &Spec,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (OpId, Vec<Violation>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = super::params::form_pairs(query);
    let (op, params) = found(spec, method, path);
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    let parts = RequestParts {
        method,
        path_params: &params,
        query: &query,
        headers: &headers,
        body: body.as_bytes(),
    };
    (op, spec.validate_request(op, &parts))
}

fn codes(violations: &[Violation]) -> Vec<(String, String)> {
    violations
        .iter()
        .map(|v| (v.location.join("."), v.code.clone()))
        .collect()
}

fn json_of(answer: &Answer) -> Value {
    serde_json::from_slice(&answer.body).unwrap()
}

#[test]
fn every_version_loads() {
    assert_eq!(load(V30).version(), Version::OpenApi30);
    assert_eq!(load(V31).version(), Version::OpenApi31);
    assert_eq!(load(V20).version(), Version::Swagger2);
    assert_eq!(load(V30).operations().count(), 11);
}

#[test]
fn paths_route_as_the_document_writes_them() {
    let spec = load(V30);
    assert_eq!(spec.find("GET", "/nope"), Lookup::NoPath);
    assert_eq!(spec.find("GET", "/pets/1/toys/2/x"), Lookup::NoPath);
    assert_eq!(
        spec.find("POST", "/pets/12"),
        Lookup::NoMethod {
            allow: vec!["GET", "PUT", "PATCH", "DELETE"]
        }
    );
    let (op, params) = found(&spec, "GET", "/pets/mine");
    assert_eq!(spec.operation_id(op), Some("myPets"));
    assert!(params.is_empty());
    let (op, params) = found(&spec, "GET", "/pets/a%20b/");
    assert_eq!(spec.operation_id(op), Some("showPet"));
    assert_eq!(params, [("petId".to_owned(), "a b".to_owned())]);
    let (op, _) = found(&spec, "HEAD", "/pets/3");
    assert_eq!(spec.method(op), "GET");
    let (op, params) = found(&spec, "GET", "/pets/3/toys/abc");
    assert_eq!(spec.path(op), "/pets/{petId}/toys/{toyId}");
    assert_eq!(params.len(), 2);
}

#[test]
fn parameters_are_read_in_their_styles_and_types() {
    let spec = load(V30);
    let ok = "/pets?limit=10&tags=a,b&filter[weight]=2.5&filter[status]=sold";
    let headers = [
        ("x-request-id", "0b7e7e3a-6f3b-4c1e-9d43-2f0a3c8e1b11"),
        ("Cookie", "a=1; session=42"),
    ];
    assert_eq!(check(&spec, "GET", ok, &headers, "").1, []);
    let (_, v) = check(
        &spec,
        "GET",
        "/pets?limit=0&filter[weight]=heavy",
        &[("X-Request-Id", "nope"), ("cookie", "session=x")],
        "",
    );
    assert_eq!(
        codes(&v),
        [
            ("query.limit".to_owned(), "minimum".to_owned()),
            ("query.filter.weight".into(), "type".into()),
            ("header.X-Request-Id".into(), "format".into()),
            ("cookie.session".into(), "type".into()),
        ]
    );
    assert_eq!(v[0].message, "Request query parameter limit must be >= 1");
    let (_, v) = check(&spec, "GET", "/pets/0", &[], "");
    assert_eq!(codes(&v), [("path.petId".to_owned(), "minimum".to_owned())]);
}

#[test]
fn bodies_are_checked_against_their_schema_in_the_documents_dialect() {
    let spec = load(V30);
    let key = [("X-API-Key", "k")];
    // `id` is required but readOnly: not the client's to send. `tag` is nullable.
    let (_, v) = check(
        &spec,
        "POST",
        "/pets",
        &key,
        r#"{"name":"Rex","tag":null,"weight":1}"#,
    );
    assert_eq!(v, []);
    let (_, v) = check(
        &spec,
        "POST",
        "/pets",
        &key,
        r#"{"name":5,"weight":0,"email":"no","chip":"abc","status":"lost"}"#,
    );
    assert_eq!(
        codes(&v),
        [
            ("body.name".to_owned(), "type".to_owned()),
            ("body.weight".into(), "exclusiveMinimum".into()),
            ("body.email".into(), "format".into()),
            ("body.chip".into(), "pattern".into()),
            ("body.status".into(), "enum".into()),
        ]
    );
    assert_eq!(v[0].message, "Request body property name must be string");
    assert_eq!(
        v[4].message,
        "Request body property status must be equal to one of the allowed values: available, pending, sold"
    );
    let (_, v) = check(&spec, "POST", "/pets", &key, r#"{"tag":"x"}"#);
    assert_eq!(
        v[0].message,
        "Request body must have required property 'name'"
    );
    let (_, v) = check(&spec, "POST", "/pets", &key, "");
    assert_eq!(v[0].message, "Body parameter is required");
    let (_, v) = check(&spec, "POST", "/pets", &key, "{");
    assert_eq!(codes(&v), [("body".to_owned(), "parse".to_owned())]);
    let (_, v) = check(
        &spec,
        "POST",
        "/pets",
        &[("X-API-Key", "k"), ("Content-Type", "text/plain")],
        "{}",
    );
    assert_eq!(
        codes(&v),
        [("header.content-type".to_owned(), "415".to_owned())]
    );
    // A form body: strings read as the properties' types.
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    assert_eq!(
        check(
            &spec,
            "POST",
            "/login",
            &form,
            "user=a&password=b&remember=true"
        )
        .1,
        []
    );
    let (_, v) = check(&spec, "POST", "/login", &form, "user=a&remember=maybe");
    assert_eq!(
        codes(&v),
        [
            ("body".to_owned(), "required".to_owned()),
            ("body.remember".into(), "type".into())
        ]
    );
}

#[test]
fn a_missing_credential_is_a_401_with_its_challenges() {
    let spec = load(V30);
    let (op, v) = check(&spec, "POST", "/pets", &[], r#"{"name":"Rex"}"#);
    assert_eq!(
        codes(&v),
        [("header.authorization".to_owned(), "401".to_owned())]
    );
    let answer = spec.violation_response(op, &v);
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.header("WWW-Authenticate"),
        Some(r#"ApiKey realm="mock", in="header", name="X-API-Key", Bearer"#)
    );
    assert_eq!(
        answer.header("Content-Type"),
        Some("application/problem+json")
    );
    // Either alternative will do; the credential's value is not checked.
    assert_eq!(
        check(
            &spec,
            "POST",
            "/pets",
            &[("Authorization", "Bearer x")],
            r#"{"name":"Rex"}"#
        )
        .1,
        []
    );
    assert_eq!(
        check(
            &spec,
            "POST",
            "/pets",
            &[("Authorization", "Basic x")],
            r#"{"name":"R"}"#
        )
        .1
        .len(),
        1
    );
    // 3.1: the document's security, lifted by an operation's empty list.
    let spec = load(V31);
    assert_eq!(check(&spec, "GET", "/pets", &[], "").1, []);
    assert_eq!(
        check(
            &spec,
            "DELETE",
            "/pets/8d2f2a59-9a4e-4f43-a0b4-6a5f7d9b1c2e",
            &[],
            ""
        )
        .1
        .len(),
        1
    );
    assert_eq!(
        check(
            &spec,
            "DELETE",
            "/pets/8d2f2a59-9a4e-4f43-a0b4-6a5f7d9b1c2e",
            &[("Cookie", "sid=1")],
            ""
        )
        .1,
        []
    );
}

#[test]
fn violations_answer_the_operations_own_response_or_a_generated_422() {
    let spec = load(V30);
    let (op, v) = check(
        &spec,
        "POST",
        "/pets",
        &[("X-API-Key", "k")],
        r#"{"name":5}"#,
    );
    let answer = spec.violation_response(op, &v);
    assert_eq!(
        (answer.status, json_of(&answer)),
        (400, json!({"message": "bad pet"}))
    );

    let (op, v) = check(&spec, "GET", "/pets?limit=101", &[], "");
    let answer = spec.violation_response(op, &v);
    assert_eq!(answer.status, 422);
    assert_eq!(
        answer.header("Content-Type"),
        Some("application/problem+json")
    );
    let body = json_of(&answer);
    assert_eq!(body["status"], 422);
    assert_eq!(body["title"], "Invalid request");
    assert!(body["type"]
        .as_str()
        .unwrap()
        .ends_with("#UNPROCESSABLE_ENTITY"));
    assert_eq!(
        body["validation"],
        json!([{"location": ["query", "limit"], "severity": "Error", "code": "maximum",
                "message": "Request query parameter limit must be <= 100"}])
    );

    let (op, v) = check(
        &spec,
        "POST",
        "/pets",
        &[("X-API-Key", "k"), ("Content-Type", "text/csv")],
        "a",
    );
    let answer = spec.violation_response(op, &v);
    // The operation declares no 415 nor 422, but a 400: Prism answers that.
    assert_eq!(answer.status, 400);

    // 3.1: a declared 422 with a schema and no example: generated from it.
    let spec = load(V31);
    let (op, v) = check(
        &spec,
        "POST",
        "/pets",
        &[("Cookie", "sid=1")],
        r#"{"name":"a","extra":1}"#,
    );
    assert_eq!(
        v[0].message,
        "Request body must NOT have additional properties; found 'extra'"
    );
    let answer = spec.violation_response(op, &v);
    assert_eq!(answer.status, 422);
    assert!(json_of(&answer)["errors"].is_array());
    // ... and a `default` response stands in for a 422 when there is none.
    let (op, v) = check(&spec, "GET", "/pets/.not-a-uuid", &[], "");
    assert_eq!(codes(&v), [("path.id".to_owned(), "format".to_owned())]);
    assert_eq!(spec.violation_response(op, &v).status, 422);
    assert_eq!(
        found(&spec, "GET", "/pets/.8d2f2a59-9a4e-4f43-a0b4-6a5f7d9b1c2e").1[0].1,
        ".8d2f2a59-9a4e-4f43-a0b4-6a5f7d9b1c2e"
    );
    assert_eq!(
        check(
            &spec,
            "GET",
            "/pets/.8d2f2a59-9a4e-4f43-a0b4-6a5f7d9b1c2e",
            &[],
            ""
        )
        .1,
        []
    );
    assert_eq!(check(&spec, "GET", "/pets?ids=1|2|3", &[], "").1, []);
    assert_eq!(
        codes(&check(&spec, "GET", "/pets?ids=1|x", &[], "").1),
        [("query.ids.1".to_owned(), "type".to_owned())]
    );
}

#[test]
fn the_answer_is_chosen_as_prism_chooses_it() {
    let spec = load(V30);
    let (show, _) = found(&spec, "GET", "/pets/1");
    let none = Prefer::default();
    let choice = spec.choose(show, &none, None).unwrap();
    assert_eq!(
        (choice.status, choice.media_type.as_deref()),
        (200, Some("application/json"))
    );
    assert_eq!(
        spec.body(&choice, 0),
        Some(json!({"id": 2, "name": "Fluffy", "status": "sold"}))
    );
    let dog = Prefer::parse("example=dog").unwrap();
    let choice = spec.choose(show, &dog, None).unwrap();
    assert_eq!(spec.body(&choice, 0).unwrap()["name"], "Spot");
    let choice = spec
        .choose(show, &Prefer::parse("code=404").unwrap(), None)
        .unwrap();
    assert_eq!(
        (choice.status, spec.body(&choice, 0)),
        (404, Some(json!({"message": "no such pet"})))
    );
    assert_eq!(
        spec.choose(show, &Prefer::parse("code=418").unwrap(), None),
        Err(Refusal::NoStatus(418))
    );
    assert_eq!(
        spec.choose(show, &Prefer::parse("example=cow").unwrap(), None),
        Err(Refusal::NoExample("cow".into()))
    );
    let dynamic = spec
        .choose(show, &Prefer::parse("dynamic=true").unwrap(), None)
        .unwrap();
    let generated = spec.body(&dynamic, 1).unwrap();
    assert_ne!(generated["name"], "Fluffy");
    assert!(spec
        .check(
            "/paths/~1pets~1{petId}/get/responses/200/content/application~1json/schema",
            &generated,
            &[],
            "",
            validate::Side::Response
        )
        .is_empty());

    let (list, _) = found(&spec, "GET", "/pets");
    let xml = spec
        .choose(list, &none, Some("text/html;q=0.9, application/xml"))
        .unwrap();
    assert_eq!(xml.media_type.as_deref(), Some("application/xml"));
    let refusal = spec.choose(list, &none, Some("text/html")).unwrap_err();
    assert_eq!(refusal.answer().status, 406);
    assert_eq!(
        spec.choose(list, &none, Some("*/*"))
            .unwrap()
            .media_type
            .as_deref(),
        Some("application/json")
    );
    let answer = spec.answer(&xml, spec.body(&xml, 3), 3);
    let limit: i64 = answer.header("X-Rate-Limit").unwrap().parse().unwrap();
    assert!((1..=5000).contains(&limit));

    let (delete, _) = found(&spec, "DELETE", "/pets/1");
    let choice = spec
        .choose(delete, &none, Some("application/json"))
        .unwrap();
    assert_eq!((choice.status, choice.media_type.clone()), (204, None));
    let answer = spec.answer(&choice, spec.body(&choice, 0), 0);
    assert_eq!(
        (answer.body.len(), answer.header("Deprecation")),
        (0, Some("true"))
    );

    let spec = load(V20);
    let (create, _) = found(&spec, "POST", "/pets");
    let choice = spec.choose(create, &none, None).unwrap();
    assert_eq!(
        (choice.status, spec.body(&choice, 0)),
        (201, Some(json!({"id": 7, "name": "Rex"})))
    );
}

#[test]
fn generated_data_is_the_same_for_the_same_seed_and_realistic() {
    let spec = load(V30);
    let (list, _) = found(&spec, "GET", "/pets");
    let choice = spec.choose(list, &Prefer::default(), None).unwrap();
    let a = spec.body(&choice, 42).unwrap();
    assert_eq!(spec.body(&choice, 42).unwrap(), a);
    assert_ne!(spec.body(&choice, 43).unwrap(), a);
    let pet = &a["data"][0];
    assert!(pet["email"].as_str().unwrap().contains('@'), "{pet}");
    assert!(regex::Regex::new("^[A-Z]{3}-[0-9]{4}$")
        .unwrap()
        .is_match(pet["chip"].as_str().unwrap()));
    assert!(["available", "pending", "sold"].contains(&pet["status"].as_str().unwrap()));
    assert!(pet["weight"].as_f64().unwrap() > 0.0);
    assert_eq!(pet["born"].as_str().unwrap().len(), 10);
    // Recursive schemas end: Pet -> owner -> pets -> Pet ...
    assert!(a.to_string().len() < 200_000);
}

#[test]
fn the_state_plan_pairs_collections_with_their_items() {
    let spec = load(V30);
    let names: Vec<&str> = spec.resources().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["pets", "toys"]);
    let pets = &spec.resources()[0];
    assert_eq!(pets.item.as_deref(), Some("/pets/{petId}"));
    assert_eq!(
        (pets.id_property.as_str(), &pets.id_kind),
        ("id", &IdKind::Integer)
    );
    assert_eq!(
        pets.list,
        ListShape::Envelope {
            items: "data".into(),
            total: Some("total".into())
        }
    );
    let toys = &spec.resources()[1];
    assert_eq!(toys.parents, [("petId".to_owned(), "petId".to_owned())]);
    assert_eq!(toys.id_kind, IdKind::String { format: None });
    let kind = |m: &str, p: &str| spec.resource_op(found(&spec, m, p).0).kind;
    assert_eq!(
        [
            kind("GET", "/pets"),
            kind("POST", "/pets"),
            kind("GET", "/pets/1"),
            kind("PUT", "/pets/1"),
            kind("PATCH", "/pets/1"),
            kind("DELETE", "/pets/1"),
            kind("GET", "/pets/mine"),
            kind("POST", "/login"),
            kind("POST", "/pets/1/toys"),
        ],
        [
            Kind::List,
            Kind::Create,
            Kind::Read,
            Kind::Replace,
            Kind::Patch,
            Kind::Delete,
            Kind::Other,
            Kind::Other,
            Kind::Create
        ]
    );

    let spec = load(V20);
    let pets = &spec.resources()[0];
    assert_eq!(
        pets.list,
        ListShape::Envelope {
            items: "items".into(),
            total: Some("count".into())
        }
    );
    assert_eq!(
        spec.resource_op(found(&spec, "POST", "/pets/1").0).kind,
        Kind::Other
    );
    let spec = load(V31);
    assert_eq!(spec.resources()[0].list, ListShape::Array);
    assert_eq!(spec.resources()[0].id_kind, IdKind::String { format: None });
}

#[test]
fn stored_items_are_shaped_by_the_response_schema() {
    let spec = load(V30);
    let items = [json!({"id": 1, "name": "a"}), json!({"id": 2, "name": "b"})];
    let (list, _) = found(&spec, "GET", "/pets");
    let page = spec.fill(
        list,
        200,
        Stored::List {
            items: &items,
            total: 5,
        },
        0,
    );
    assert_eq!(page["data"], json!(items));
    assert_eq!(page["total"], 5);
    assert!(page["page"].as_i64().unwrap() >= 1);
    let (patch, _) = found(&spec, "PATCH", "/pets/1");
    assert_eq!(
        spec.fill(patch, 200, Stored::Item(&items[0]), 0),
        json!({"data": items[0]})
    );
    let (show, _) = found(&spec, "GET", "/pets/1");
    assert_eq!(spec.fill(show, 200, Stored::Item(&items[1]), 0), items[1]);
    // The item answer is read from the store's text only where no wrapper can apply.
    assert!(spec.answers_items_as_stored(show, 200));
    assert!(!spec.answers_items_as_stored(patch, 200));
    let (mine, _) = found(&spec, "GET", "/pets/mine");
    assert_eq!(
        spec.fill(
            mine,
            200,
            Stored::List {
                items: &items,
                total: 2
            },
            0
        ),
        json!(items)
    );
}

#[test]
fn upstream_answers_are_checked_for_drift() {
    let spec = load(V30);
    let (show, _) = found(&spec, "GET", "/pets/1");
    assert_eq!(
        spec.validate_response(
            show,
            200,
            Some("application/json"),
            br#"{"id":1,"name":"a"}"#
        ),
        []
    );
    let v = spec.validate_response(
        show,
        200,
        Some("application/json; charset=utf-8"),
        br#"{"id":"1"}"#,
    );
    assert_eq!(
        codes(&v),
        [
            ("body".to_owned(), "required".to_owned()),
            ("body.id".into(), "type".into())
        ]
    );
    assert_eq!(
        v[0].message,
        "Response body must have required property 'name'"
    );
    assert_eq!(
        codes(&spec.validate_response(show, 500, None, b"")),
        [("status".to_owned(), "status".to_owned())]
    );
    assert_eq!(
        codes(&spec.validate_response(show, 200, Some("text/html"), b"<p>")).len(),
        1
    );
}

#[test]
fn swagger_2_parameters_bodies_and_forms() {
    let spec = load(V20);
    assert_eq!(
        check(
            &spec,
            "GET",
            "/pets?limit=5&status=sold&status=available",
            &[],
            ""
        )
        .1,
        []
    );
    assert_eq!(
        codes(&check(&spec, "GET", "/pets?limit=99&status=lost", &[], "").1),
        [
            ("query.limit".to_owned(), "maximum".to_owned()),
            ("query.status.0".into(), "enum".into())
        ]
    );
    let (_, v) = check(
        &spec,
        "POST",
        "/pets?api_key=k",
        &[],
        r#"{"name":"a","tag":null,"price":0}"#,
    );
    assert_eq!(
        codes(&v),
        [("body.price".to_owned(), "exclusiveMinimum".to_owned())]
    );
    assert_eq!(
        codes(&check(&spec, "POST", "/pets", &[], r#"{"name":"a"}"#).1)[0].1,
        "401"
    );
    let form = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", "Basic eDp5"),
    ];
    assert_eq!(
        check(&spec, "POST", "/pets/1", &form, "name=Rex&age=3").1,
        []
    );
    assert_eq!(
        codes(&check(&spec, "POST", "/pets/1", &form, "age=-1").1),
        [
            ("body".to_owned(), "required".to_owned()),
            ("body.age".into(), "minimum".into())
        ]
    );
}

fn refused(doc: &str) -> SpecError {
    Spec::load(doc.as_bytes()).expect_err("the document must be refused")
}

#[test]
fn a_document_that_cannot_be_used_is_refused_with_its_pointer() {
    let e = refused("{\"openapi\": \"3.0.0\", \"paths\": {,}}");
    assert!(e.reason.starts_with("invalid JSON at line 1 column"), "{e}");
    let e = refused("openapi: 3.0.0\npaths:\n  /a: [\n");
    assert!(e.reason.starts_with("invalid YAML at line"), "{e}");
    let e = refused("openapi: 4.0.0\npaths: {}\n");
    assert_eq!(
        (
            e.pointer.as_str(),
            e.to_string().contains("4.0.0 is not read")
        ),
        ("/openapi", true)
    );
    let e = refused("swagger: '1.2'\n");
    assert_eq!(e.pointer, "/swagger");
    assert_eq!(refused("info: {}\n").pointer, "");
    let nowhere = "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: x\n          content:\n            application/json:\n              schema:\n                $ref: '#/components/schemas/Nope'\n";
    let e = refused(nowhere);
    assert_eq!(
        e.pointer,
        "/paths/~1a/get/responses/200/content/application~1json/schema/$ref"
    );
    assert!(
        e.reason
            .contains("\"#/components/schemas/Nope\" points to nothing"),
        "{e}"
    );
    let external = nowhere.replace("'#/components/schemas/Nope'", "'other.yaml#/Pet'");
    let e = refused(&external);
    assert_eq!(
        e.pointer,
        "/paths/~1a/get/responses/200/content/application~1json/schema/$ref"
    );
    assert!(e.reason.contains("points outside this document"), "{e}");
    let e = refused("openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters:\n        - $ref: '#/components/parameters/P'\n      responses: {}\n");
    assert_eq!(e.pointer, "/paths/~1a/get/parameters/0/$ref");
    let e = refused("openapi: 3.0.0\npaths:\n  /a/{id:\n    get:\n      responses: {}\n");
    assert_eq!(e.pointer, "/paths/~1a~1{id");
    let e = refused("openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters:\n        - {name: x, in: path, schema: {type: string}}\n      responses: {}\n");
    assert!(e.reason.contains("not in the path"), "{e}");
    let e = refused("openapi: 3.1.0\npaths:\n  /a:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: {type: 12}\n      responses: {}\n");
    assert_eq!(
        e.pointer,
        "/paths/~1a/post/requestBody/content/application~1json/schema"
    );
    assert!(e.reason.contains("not a valid JSON Schema"), "{e}");
}

#[test]
fn circular_references_load_and_validate() {
    let doc = r##"{"openapi": "3.0.0", "paths": {"/n": {"post": {
        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}},
        "responses": {"200": {"description": "x", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}}},
        "components": {"schemas": {"Node": {"type": "object", "required": ["children"], "properties": {
            "value": {"type": "integer"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}}}}"##;
    let spec = load(doc.as_bytes());
    let (op, v) = check(
        &spec,
        "POST",
        "/n",
        &[],
        r#"{"children":[{"children":[{"value":"x","children":[]}]}]}"#,
    );
    assert_eq!(
        codes(&v),
        [(
            "body.children.0.children.0.value".to_owned(),
            "type".to_owned()
        )]
    );
    let choice = spec.choose(op, &Prefer::default(), None).unwrap();
    let node = spec.body(&choice, 3).unwrap();
    let pointer = "/paths/~1n/post/responses/200/content/application~1json/schema";
    assert_eq!(
        spec.check(pointer, &node, &[], "", validate::Side::Response),
        []
    );
    assert!(node["children"].is_array());
}

/// Every response schema of the hand-written documents.
fn response_schemas(spec: &Spec) -> Vec<(OpId, u16, String)> {
    let mut out = Vec::new();
    for op in spec.operations() {
        for r in &spec.op(op).responses {
            let status = match r.key {
                model::StatusKey::Code(c) => c,
                _ => continue,
            };
            for m in &r.content {
                if let Some(s) = &m.schema {
                    out.push((op, status, s.clone()));
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn generated_data_validates_against_its_own_schema(seed in any::<u64>()) {
        for doc in [V30, V31, V20] {
            let spec = load(doc);
            for (op, status, pointer) in response_schemas(&spec) {
                let schema = spec.schemas.at(&pointer).unwrap();
                let value = spec.generate(schema, seed, op, status);
                let v = spec.check(&pointer, &value, &[], "Generated", validate::Side::Response);
                prop_assert!(v.is_empty(), "{pointer} seed {seed}: {value} breaks {v:?}");
            }
        }
    }
}
