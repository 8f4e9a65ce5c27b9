//! `/openapi.json`: the API described in OpenAPI 3.1, generated from the route
//! table the engine dispatches on ([`ROUTES`]), so the two cannot drift apart.

use crate::config::Config;
use crate::config::DEFAULT_MAX_BODY_BYTES;
use crate::http::route::{under_prefix, Condition, Operation, Payload, RouteSpec, ROUTES};
use crate::mock::controls::MAX_DELAY;
use crate::store::ids::IdKind;
use crate::store::query::{ITEM_DELETE_PARAMS, ITEM_PARAMS, LIST_PARAMS};
use crate::store::Store;
use crate::Method;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

/// The document, as JSON bytes: the route table, with the id field named as
/// `ID_FIELD` names it (and the kind of each type's ids), and a path of its
/// own for each singular resource the store holds.
pub(crate) fn document(config: &Config, store: &Store) -> Vec<u8> {
    let creates = config.create_status;
    let mut paths = Map::new();
    for route in ROUTES {
        if route.template.contains("{singular}") {
            continue;
        }
        paths.insert(
            under_prefix(route.template, &config.api_prefix),
            path_item(route, creates),
        );
    }
    if let Some(single) = ROUTES.iter().find(|r| r.template.contains("{singular}")) {
        for (n, (name, _)) in store.singles().enumerate() {
            let path = format!(
                "{}/{}",
                config.api_prefix.trim_end_matches('/'),
                utf8_percent_encode(name, NON_ALPHANUMERIC)
            );
            let mut item = path_item(single, creates);
            // operationIds are unique in a document: each singular gets its own.
            let suffix = format!("{}{}", n + 1, pascal(&word(name)));
            if let Value::Object(methods) = &mut item {
                for operation in methods.values_mut() {
                    if let Some(Value::String(id)) = operation.get_mut("operationId") {
                        id.push_str(&suffix);
                    }
                    if let Some(Value::String(summary)) = operation.get_mut("summary") {
                        summary.push_str(&format!(": `{name}`"));
                    }
                }
            }
            paths.insert(path, item);
        }
    }
    let key = &config.id_field;
    let integer_types: Vec<&str> = store
        .types()
        .filter(|(_, c)| c.id_kind() == Some(IdKind::Integer))
        .map(|(name, _)| name)
        .collect();
    let kinds = if integer_types.is_empty() {
        "Every type's ids are strings now.".to_owned()
    } else {
        format!(
            "The types with integer ids now: {}; the others have string ids.",
            integer_types.join(", ")
        )
    };
    let id_schema = json!({
        "type": ["string", "integer"],
        "description": format!(
            "The item's id, under the key `{key}` (ID_FIELD): a string (a UUID when the server \
             assigns it) or an integer (the next after the type's largest, when the type's ids are \
             integers). All ids of one type are of one kind. {kinds}"
        ),
        "x-id-field": key,
        "x-integer-id-types": integer_types,
    });
    let mut components = components();
    components["schemas"]["Item"]["properties"] = json!({ key.as_str(): id_schema });
    components["schemas"]["Item"]["required"] = json!([key]);
    components["schemas"]["Item"]["description"] = json!(format!(
        "Any JSON object, as sent, with its id `{key}` last. Numbers keep their text, keys their order."
    ));
    components["parameters"]["id"]["description"] = json!(format!(
        "The item's `{key}`: a string id's text, or an integer id's digits (`1` finds `\"{key}\": 1` and `\"{key}\": \"1\"`)."
    ));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": config.app_name,
            "version": config.app_version,
            "description": format!("A mock REST API: POST any JSON object to /api/{{resource}}, then read, replace, \
                patch and delete it. Every item carries its id as `{key}`; every operation echoes the resource. \
                A top-level object of the fixtures or snapshot is a singular resource, read and changed at \
                /api/{{name}}. Every response carries CORS headers; every error is `{{\"message\": ...}}`."),
        },
        "paths": paths,
        "components": components,
    })
    .to_string()
    .into_bytes()
}

/// A name's letters and digits, for an `operationId`.
fn word(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).collect()
}

fn path_item(route: &RouteSpec, creates: u16) -> Value {
    let mut item = Map::new();
    let mut parameters = Vec::new();
    if route.template.contains("{resource}") {
        parameters.push(json!({"$ref": "#/components/parameters/resource"}));
    }
    if route.template.contains("{id}") {
        // The id of an item, or of a rule.
        let name = if route.template.starts_with("/__admin/rules/") {
            "ruleId"
        } else {
            "id"
        };
        parameters.push(json!({"$ref": format!("#/components/parameters/{name}")}));
    }
    if route.template.contains("{children}") {
        parameters.push(json!({"$ref": "#/components/parameters/children"}));
    }
    if route.template.contains("{name}") {
        parameters.push(json!({"$ref": "#/components/parameters/namespace"}));
    }
    if !parameters.is_empty() {
        item.insert("parameters".to_owned(), Value::Array(parameters));
    }
    for op in route.operations {
        item.insert(
            op.method.as_str().to_ascii_lowercase(),
            operation(route, op, false, creates),
        );
        if op.method == Method::Get {
            item.insert("head".to_owned(), operation(route, op, true, creates));
        }
    }
    item.insert(
        "options".to_owned(),
        json!({
            "operationId": format!("options{}", pascal(route.operations.first().map_or("route", |op| op.id))),
            "summary": "The methods this path takes, and a CORS preflight",
            "responses": {
                "204": {
                    "description": "The methods this path takes",
                    "headers": {
                        "Allow": {"$ref": "#/components/headers/Allow"},
                        "Access-Control-Allow-Methods": {
                            "description": "Every method the API knows, so that a method this path does not take reaches it and gets its 405",
                            "schema": {"type": "string", "const": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"},
                        },
                        "Access-Control-Allow-Headers": {"schema": {"type": "string"}},
                        "Access-Control-Max-Age": {"schema": {"type": "integer"}},
                    },
                },
            },
        }),
    );
    Value::Object(item)
}

fn operation(route: &RouteSpec, op: &Operation, head: bool, creates: u16) -> Value {
    let mut out = Map::new();
    let id = if head {
        format!("head{}", pascal(op.id))
    } else {
        op.id.to_owned()
    };
    out.insert("operationId".to_owned(), json!(id));
    let summary = if head {
        format!("{} (headers only)", op.summary)
    } else {
        op.summary.to_owned()
    };
    out.insert("summary".to_owned(), json!(summary));
    let mut parameters = Vec::new();
    // The list query's own tables name its parameters, so the two cannot drift.
    if op.list_query {
        let list = LIST_PARAMS
            .iter()
            .filter(|name| !ITEM_PARAMS.contains(name));
        for name in ["filters", "q"].iter().chain(list) {
            parameters.push(json!({"$ref": format!("#/components/parameters/{name}")}));
        }
    }
    if op.relations {
        for name in ITEM_PARAMS {
            parameters.push(json!({"$ref": format!("#/components/parameters/{name}")}));
        }
    }
    if op.dependent {
        for name in ITEM_DELETE_PARAMS {
            parameters.push(json!({"$ref": format!("#/components/parameters/{name}")}));
        }
    }
    if op.journal_query {
        for name in ["_since", "_limit"] {
            parameters.push(json!({"$ref": format!("#/components/parameters/{name}")}));
        }
    }
    for name in ["X-Mock-Delay", "_delay", "X-Mock-Status", "_status"] {
        parameters.push(json!({"$ref": format!("#/components/parameters/{name}")}));
    }
    match op.condition {
        Condition::IfNoneMatch => {
            parameters.push(json!({"$ref": "#/components/parameters/If-None-Match"}))
        }
        Condition::IfMatch => parameters.push(json!({"$ref": "#/components/parameters/If-Match"})),
        Condition::Unconditional => {}
    }
    if !parameters.is_empty() {
        out.insert("parameters".to_owned(), Value::Array(parameters));
    }
    if let Some(schema) = schema(op.request) {
        out.insert(
            "requestBody".to_owned(),
            json!({"required": true, "content": {"application/json": {"schema": schema}}}),
        );
    }
    let mut responses = Map::new();
    let mut ok = Map::new();
    ok.insert("description".to_owned(), json!(op.summary));
    let mut headers = Map::new();
    if op.list_query {
        headers.insert(
            "X-Total-Count".to_owned(),
            json!({"$ref": "#/components/headers/X-Total-Count"}),
        );
        headers.insert(
            "Link".to_owned(),
            json!({"$ref": "#/components/headers/Link"}),
        );
    }
    if op.response == Payload::Item || op.response == Payload::Single {
        headers.insert(
            "ETag".to_owned(),
            json!({"$ref": "#/components/headers/ETag"}),
        );
    }
    // The creates (an item or a batch): CREATE_STATUS, and Location.
    let creating = op.request == Payload::ItemOrItems;
    if creating {
        headers.insert(
            "Location".to_owned(),
            json!({"$ref": "#/components/headers/Location"}),
        );
    }
    headers.insert(
        "Access-Control-Allow-Origin".to_owned(),
        json!({"$ref": "#/components/headers/Access-Control-Allow-Origin"}),
    );
    ok.insert("headers".to_owned(), Value::Object(headers));
    if !head {
        if let Some(schema) = schema(op.response) {
            ok.insert(
                "content".to_owned(),
                json!({"application/json": {"schema": schema}}),
            );
        } else if op.response == Payload::Html {
            ok.insert(
                "content".to_owned(),
                json!({"text/html": {"schema": {"type": "string"}}}),
            );
        } else if op.response == Payload::EventStream {
            ok.insert(
                "content".to_owned(),
                json!({"text/event-stream": {"schema": {"type": "string"}}}),
            );
        }
    }
    let success = if creating { creates } else { op.success };
    responses.insert(success.to_string(), Value::Object(ok));
    if op.condition == Condition::IfNoneMatch {
        responses.insert(
            "304".to_owned(),
            json!({"$ref": "#/components/responses/NotModified"}),
        );
    }
    for status in op.errors {
        responses.insert(status.to_string(), error_ref(*status));
    }
    if !op.errors.contains(&400) {
        // Every route reads the mock controls, and a malformed one is a 400.
        responses.insert("400".to_owned(), error_ref(400));
    }
    if route.template != "/" && route.template != "/health" {
        responses.insert("401".to_owned(), error_ref(401));
        out.insert("security".to_owned(), json!([{}, {"bearer": []}]));
    }
    responses.insert("413".to_owned(), error_ref(413));
    out.insert("responses".to_owned(), Value::Object(responses));
    Value::Object(out)
}

fn error_ref(status: u16) -> Value {
    let name = match status {
        400 => "BadRequest",
        404 => "NotFound",
        401 => "Unauthorized",
        412 => "PreconditionFailed",
        507 => "InsufficientStorage",
        503 => "ServiceUnavailable",
        _ => "PayloadTooLarge",
    };
    json!({"$ref": format!("#/components/responses/{name}")})
}

fn schema(payload: Payload) -> Option<Value> {
    let reference = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    Some(match payload {
        Payload::Nothing | Payload::Html | Payload::EventStream => return None,
        Payload::Health => reference("Health"),
        Payload::OpenApi => json!({"type": "object", "description": "This document"}),
        Payload::Item => reference("Item"),
        Payload::Single => {
            json!({"type": "object", "description": "A singular resource: one JSON object, with no id"})
        }
        Payload::ItemOrItems => {
            json!({"oneOf": [reference("Item"), {"type": "array", "items": reference("Item")}]})
        }
        Payload::MergePatch => reference("MergePatch"),
        Payload::ItemList => json!({"oneOf": [
            {"type": "array", "items": reference("Item")},
            reference("Envelope"),
        ]}),
        Payload::Deleted => reference("Deleted"),
        Payload::Snapshot => reference("Snapshot"),
        Payload::ResetDone => reference("ResetDone"),
        Payload::Journal => json!({"type": "array", "items": reference("JournalEntry")}),
        Payload::Rule => reference("Rule"),
        Payload::RuleList => json!({"type": "array", "items": reference("Rule")}),
        Payload::NamespaceList => json!({"type": "array", "items": reference("Namespace")}),
        Payload::Namespace => reference("Namespace"),
        Payload::Matcher => reference("RequestMatcher"),
        Payload::ScenarioList => json!({"type": "array", "items": reference("Scenario")}),
        Payload::Scenario => reference("Scenario"),
        Payload::ScenarioState => json!({
            "type": "object",
            "properties": {"state": {"type": "string"}},
            "required": ["state"],
            "additionalProperties": false,
        }),
        Payload::Count => json!({
            "type": "object",
            "properties": {"count": {"type": "integer", "minimum": 0}},
            "required": ["count"],
        }),
        Payload::Found => json!({
            "type": "object",
            "properties": {
                "requests": {"type": "array", "items": reference("JournalEntry")},
                "nearMisses": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "request": reference("JournalEntry"),
                        "differences": {"type": "array", "items": {"type": "string"}, "description": "The matcher's fields the request missed: method, path, query.NAME, body"},
                    },
                    "required": ["request", "differences"],
                }},
            },
            "required": ["requests", "nearMisses"],
        }),
    })
}

fn pascal(id: &str) -> String {
    let mut chars = id.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn components() -> Value {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        })
    };
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    let whole = |minimum: u64| json!({"type": "integer", "minimum": minimum});
    json!({
        "schemas": {
            "Item": {
                "type": "object",
                "description": "Any JSON object, as sent, with `_id` added last. Numbers keep their text, keys their order.",
                "properties": {"_id": {"type": "string", "format": "uuid", "description": "Assigned by the server"}},
                "required": ["_id"],
                "additionalProperties": true,
            },
            "MergePatch": {
                "type": "object",
                "description": "A JSON Merge Patch (RFC 7386): members replace or, when null, remove the item's; objects merge recursively. `_id` never changes.",
                "additionalProperties": true,
            },
            "Envelope": {
                "type": "object",
                "description": "json-server 1.0's page, answered for `_per_page` instead of an array",
                "properties": {
                    "first": {"type": "integer", "const": 1},
                    "prev": {"type": ["integer", "null"], "minimum": 1},
                    "next": {"type": ["integer", "null"], "minimum": 2},
                    "last": {"type": "integer", "minimum": 1},
                    "pages": {"type": "integer", "minimum": 1},
                    "items": {"type": "integer", "minimum": 0, "description": "Items that matched, before paging"},
                    "data": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                },
                "required": ["first", "prev", "next", "last", "pages", "items", "data"],
            },
            "Deleted": {
                "type": "object",
                "properties": {"deleted": {"type": "integer", "minimum": 0}},
                "required": ["deleted"],
            },
            "Health": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "version": {"type": "string"},
                    "uptime": {"type": "string", "examples": ["0 hrs 2 mins 5 secs"]},
                    "database": {
                        "type": "object",
                        "properties": {
                            "total_resources_count": {"type": "integer", "minimum": 0},
                            "resources": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {"name": {"type": "string"}, "count": {"type": "integer", "minimum": 1}},
                                    "required": ["name", "count"],
                                },
                            },
                        },
                        "required": ["total_resources_count", "resources"],
                    },
                    "status": {"const": "pass"},
                },
                "required": ["name", "version", "uptime", "database", "status"],
            },
            "Snapshot": {
                "type": "object",
                "description": "Every type with its items, in creation order: {\"type\": [items]}",
                "additionalProperties": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
            },
            "Namespace": {
                "type": "object",
                "description": "A namespace (X-Mock-Namespace) and how many items it holds",
                "properties": {"name": {"type": "string"}, "count": {"type": "integer", "minimum": 0}},
                "required": ["name", "count"],
            },
            "ResetDone": {
                "type": "object",
                "properties": {"total_resources_count": {"type": "integer", "minimum": 0}},
                "required": ["total_resources_count"],
            },
            "JournalEntry": {
                "type": "object",
                "properties": {
                    "seq": {"type": "integer", "minimum": 1, "description": "Counts every request since start; use it with _since"},
                    "time": {"type": "string", "format": "date-time"},
                    "method": {"type": "string"},
                    "path": {"type": "string", "description": "As sent, percent-encoded"},
                    "query": {"type": "string", "description": "As sent, without the ?"},
                    "status": {"type": "integer"},
                    "body": {"type": "string", "description": "The first 4096 bytes of the request body, as text"},
                    "body_truncated": {"type": "boolean"},
                    "rule": {"type": ["string", "null"], "description": "The id of the rule that answered or let it through, if any"},
                },
                "required": ["seq", "time", "method", "path", "query", "status", "body", "body_truncated"],
            },
            "Scenario": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "state": {"type": "string", "description": "Its current state; every scenario starts in `Started`"},
                    "states": {"type": "array", "items": {"type": "string"}, "description": "`Started`, then each state its rules name"},
                },
                "required": ["name", "state", "states"],
            },
            "RequestMatcher": {
                "type": "object",
                "description": "Which requests a rule answers, or the journal's verification counts (which takes no `headers`: the journal keeps none)",
                "properties": {
                    "method": {"type": "string"},
                    "path": {"type": "string", "description": "`*` is one segment, `**` any number"},
                    "query": {"type": "object", "additionalProperties": {"type": "string"}},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "body": {"description": "A JSON subset the body must contain"},
                },
                "additionalProperties": false,
            },
            "Rule": {
                "type": "object",
                "description": "A behaviour set at run time: requests that `match` get the `respond` answer, a delay or a fault, or go through to the store with its delay and headers (no `status`, no `fault`). See docs/rules.md.",
                "properties": {
                    "id": {"type": "string", "description": "Given by the server unless the rule brings one"},
                    "match": {"$ref": "#/components/schemas/RequestMatcher"},
                    "respond": {
                        "type": "object",
                        "properties": {
                            "status": {"type": "integer", "minimum": 200, "maximum": 599},
                            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                            "json": {"description": "Strings may hold {{path.N}}, {{query.NAME}}, {{body.a.b}}, {{header.NAME}}, {{uuid}}, {{now}}"},
                            "body": {"type": "string"},
                            "delay_ms": {"type": "integer", "minimum": 0, "maximum": 30000},
                            "fault": {"enum": ["reset", "malformed"]},
                        },
                        "additionalProperties": false,
                    },
                    "times": {"type": "integer", "minimum": 1, "description": "Matches left; omitted is forever"},
                    "priority": {"type": "integer", "description": "Higher wins; the newest among equals"},
                    "scenario": {"type": "string", "description": "The scenario the rule belongs to (WireMock's scenarios)"},
                    "whenState": {"type": "string", "description": "The rule answers only while its scenario is in this state"},
                    "setState": {"type": "string", "description": "The state its scenario moves to when the rule answers"},
                },
                "required": ["respond"],
                "additionalProperties": false,
            },
            "Error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "nearMisses": {
                        "type": "array",
                        "description": "On a 404 for a path that no route or rule answers: the routes close to it (`route`, the path to `try`) and the rules that come closest (`rule`, its id), each with the `differences`",
                        "items": {"type": "object"},
                    },
                },
                "required": ["message"],
            },
        },
        "parameters": {
            "resource": {
                "name": "resource", "in": "path", "required": true,
                "description": "The resource type: any percent-encoded text of 1 to 128 bytes without control characters; case-sensitive.",
                "schema": {"type": "string", "minLength": 1},
            },
            "id": {
                "name": "id", "in": "path", "required": true,
                "description": "The item's `_id`.",
                "schema": {"type": "string", "minLength": 1},
            },
            "ruleId": {
                "name": "id", "in": "path", "required": true,
                "description": "The rule's `id`.",
                "schema": {"type": "string", "minLength": 1},
            },
            "namespace": {
                "name": "name", "in": "path", "required": true,
                "description": "The namespace's name: 1 to 64 characters of A-Z, a-z, 0-9, `.`, `_` and `-`.",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
            },
            "children": {
                "name": "children", "in": "path", "required": true,
                "description": "The children's type; their foreign key is the parent type's singular plus `Id` (`posts` -> `postId`, `people` -> `personId`).",
                "schema": {"type": "string", "minLength": 1},
            },
            "filters": {
                "name": "filters", "in": "query", "required": false, "style": "form", "explode": true,
                "description": "json-server 0.17: `field=value` (repeat for OR; `a.b` reaches nested fields), `field_ne`, `field_gt`, `field_gte`, `field_lt`, `field_lte`, and `field_like` (a case-insensitive regular expression). json-server 1.0: `field:op=value` with `eq`, `ne`, `lt`, `lte`, `gt`, `gte`, `in` (comma list), `contains`, `startsWith`, `endsWith` (these three on strings, ignoring case), and `field_eq`, `field_in`, `field_contains`. A repeated `field_ne` is none of its values. Keys that start with `_` are parameters (an unknown one is 400), except filters on `_id`.",
                "schema": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "q": query("q", "Case-insensitive substring of any string value, nested ones too.", json!({"type": "string"})),
            "_sort": query("_sort", "Fields to sort by, comma-separated; `-field` sorts descending. Stable.", json!({"type": "string"})),
            "_order": query("_order", "`asc` or `desc` for each `_sort` field, comma-separated; 400 with a `-field` in `_sort`.", json!({"type": "string"})),
            "_page": query("_page", "Page number, from 1; pages are `_limit` items (default 10), or `_per_page` items in an envelope (where 0 counts as 1).", whole(0)),
            "_limit": query("_limit", "Items per page, or the length of a `_start` slice.", whole(0)),
            "_per_page": query("_per_page", "Items per `_page` (json-server 1.0; 0 counts as 1): the answer is the Envelope. 400 with `_limit`, `_start` or `_end`.", whole(0)),
            "_where": query("_where", "json-server 1.0's filters as one JSON object: `{\"field\": value}`, `{\"field\": {\"gte\": 10, \"in\": [1, 2]}}` (the operators of `field:op=`), nested fields as nested objects, and `or`: a list of such objects, one of which must pass. Replaces the other filters of the query.", json!({"type": "string"})),
            "_dependent": query("_dependent", "Child types (a comma list, or repeated) whose items naming the deleted one by their foreign key are deleted with it (json-server 1.0).", json!({"type": "string"})),
            "_embed": query("_embed", "Child types to add to each item (may repeat, or a comma list): the items whose foreign key (this type's singular plus `Id`) names it.", json!({"type": "string"})),
            "_expand": query("_expand", "Parents to add to each item, by singular name (may repeat, or a comma list): `_expand=post` adds the post `postId` names.", json!({"type": "string"})),
            "_start": query("_start", "Index of the first item of a slice.", whole(0)),
            "_end": query("_end", "Index one past the last item of a slice.", whole(0)),
            "X-Mock-Delay": {
                "name": "X-Mock-Delay", "in": "header", "required": false,
                "description": format!("Wait this many milliseconds (at most {}) before answering.", MAX_DELAY.as_millis()),
                "schema": {"type": "integer", "minimum": 0},
            },
            "_delay": query("_delay", "Like X-Mock-Delay; the header wins.", whole(0)),
            "X-Mock-Status": {
                "name": "X-Mock-Status", "in": "header", "required": false,
                "description": "Answer this status (200 to 599) with a JSON message instead, changing nothing.",
                "schema": {"type": "integer", "minimum": 200, "maximum": 599},
            },
            "_status": query("_status", "Like X-Mock-Status; the header wins.", json!({"type": "integer", "minimum": 200, "maximum": 599})),
            "_since": query("_since", "Only entries with a greater seq.", whole(0)),
            "If-None-Match": {
                "name": "If-None-Match", "in": "header", "required": false,
                "description": "ETags the client has; a match answers 304 with no body.",
                "schema": {"type": "string"},
            },
            "If-Match": {
                "name": "If-Match", "in": "header", "required": false,
                "description": "The ETag the client last saw; if the item has changed since, the answer is 412 and nothing changes.",
                "schema": {"type": "string"},
            },
        },
        "headers": {
            "X-Total-Count": {"description": "Items that matched, before paging", "schema": {"type": "integer", "minimum": 0}},
            "Link": {"description": "For `_page`: first, prev, next and last pages (RFC 8288)", "schema": {"type": "string"}},
            "ETag": {"description": "Strong validator that changes on every write of the item", "schema": {"type": "string"}},
            "Location": {"description": "The new item's path (`/api/{resource}/{id}`, percent-encoded); for an array, the collection's path", "schema": {"type": "string"}},
            "Allow": {"description": "The methods the path takes", "schema": {"type": "string"}},
            "Access-Control-Allow-Origin": {"description": "`*`, or the request's Origin when an allow-list is set", "schema": {"type": "string"}},
        },
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "API_TOKEN, when the server has one"},
        },
        "responses": {
            "NotModified": {"description": "The item still has an ETag the client listed", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}},
            "BadRequest": error("Empty body, invalid JSON (line and column given), wrong shape, nesting deeper than 128 levels, bad resource name or id, a malformed query parameter, or an unknown one that starts with `_`"),
            "NotFound": error("No item of that type has that id (for a nested route, no parent)"),
            "Unauthorized": {
                "description": "API_TOKEN is set and the request has no `Authorization: Bearer <token>` with it",
                "headers": {"WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "PreconditionFailed": error("If-Match does not match the item's current ETag; nothing changed"),
            "ServiceUnavailable": error("MAX_SUBSCRIBERS streams are open; try again later"),
            "InsufficientStorage": error("A limit is reached (MAX_ITEMS, MAX_TYPES or MAX_RULES); nothing changed"),
            "PayloadTooLarge": error(&format!("The body is over the limit ({DEFAULT_MAX_BODY_BYTES} bytes by default)")),
        },
    })
}
