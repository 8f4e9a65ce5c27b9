//! Model-based property test: random request sequences against the engine
//! and against a small reference model of the same contract; and the store
//! rebuilt from the reported changes against the live one.

// A property test panics to report a counterexample.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mock_rest_core::{Change, Config, Endpoint, Engine, Method, Request, Seed, SeededIds};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::time::Duration;

const TYPES: [&str; 3] = ["a", "b", "c"];
const NOW: Duration = Duration::from_secs(1_700_000_000);

#[derive(Debug, Clone)]
enum Op {
    Post(usize, Value),
    PostMany(usize, Vec<Value>),
    Put(usize, usize, Value),
    Patch(usize, usize, Value),
    Delete(usize, usize),
    DeleteAll(usize),
    Get(usize, usize),
    List(usize),
    /// `POST /api/{parent}/{id}/{child}`.
    PostChild(usize, usize, usize, Value),
    /// `GET /api/{parent}/{id}/{child}`.
    Children(usize, usize, usize),
    /// `GET /api/{t}?_embed={u}`.
    Embed(usize, usize),
    /// `GET /api/{t}?_expand={u}`.
    Expand(usize, usize),
    /// `GET /api/{t}?{field}:{op}={values}` (json-server 1.0's operators).
    Where(usize, &'static str, &'static str, Vec<String>),
    /// `GET /api/{t}?q={text}`.
    Search(usize, String),
    /// `GET /api/{t}?{field}_like={pattern}`.
    Like(usize, &'static str, &'static str),
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(Value::from),
        "[a-zA-Z é😀]{0,6}".prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(vec!["x", "y", "_id"]), inner), 0..3)
                .prop_map(|members| Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect()
                )),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (prop::sample::select(vec!["a", "b", "c", "_id"]), json()),
        0..4,
    )
    .prop_map(|members| {
        Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    })
}

fn op() -> impl Strategy<Value = Op> {
    let t = 0..TYPES.len();
    let pick = 0usize..6;
    prop_oneof![
        3 => (t.clone(), object()).prop_map(|(t, v)| Op::Post(t, v)),
        1 => (t.clone(), prop::collection::vec(object(), 0..3)).prop_map(|(t, v)| Op::PostMany(t, v)),
        2 => (t.clone(), pick.clone(), object()).prop_map(|(t, i, v)| Op::Put(t, i, v)),
        2 => (t.clone(), pick.clone(), object()).prop_map(|(t, i, v)| Op::Patch(t, i, v)),
        2 => (t.clone(), pick.clone()).prop_map(|(t, i)| Op::Delete(t, i)),
        1 => t.clone().prop_map(Op::DeleteAll),
        1 => (t.clone(), pick.clone()).prop_map(|(t, i)| Op::Get(t, i)),
        1 => t.clone().prop_map(Op::List),
        3 => (t.clone(), 0usize..2, t.clone(), object()).prop_map(|(p, i, c, v)| Op::PostChild(p, i, c, v)),
        1 => (t.clone(), pick.clone(), t.clone()).prop_map(|(p, i, c)| Op::Children(p, i, c)),
        2 => (t.clone(), t.clone()).prop_map(|(t, u)| Op::Embed(t, u)),
        1 => (t.clone(), t.clone()).prop_map(|(t, u)| Op::Expand(t, u)),
        2 => (
            t.clone(),
            prop::sample::select(vec!["a", "b", "c", "aId"]),
            prop::sample::select(vec!["in", "ne", "contains", "startsWith", "endsWith"]),
            prop::collection::vec("[a-zA-Z]{0,2}", 1..3),
        )
            .prop_map(|(t, field, op, values)| Op::Where(t, field, op, values)),
        2 => (t.clone(), "[a-zA-Zé1 ]{0,2}").prop_map(|(t, q)| Op::Search(t, q)),
        2 => (
            t,
            prop::sample::select(vec!["a", "b", "c"]),
            prop::sample::select(vec!["^a", "a$", "é", "^$", "1", "^-", "tru", "A.", "^[a-z]+$"]),
        )
            .prop_map(|(t, field, pattern)| Op::Like(t, field, pattern)),
    ]
}

/// The type's foreign key: the singular of `a` is `a`, so `aId`.
fn key_of(t: &str) -> String {
    format!("{t}Id")
}

/// The values a field reaches: arrays, however nested, give their elements.
fn leaves(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(elements) => elements.iter().for_each(|e| leaves(e, out)),
        other => out.push(other.clone()),
    }
}

/// Whether an item passes `field:op=values`, as json-server 1.0's operators
/// are documented (strings only, ignoring case, for the text operators).
fn passes(item: &Value, field: &str, op: &str, values: &[String]) -> bool {
    let Some(value) = item.get(field) else {
        return false;
    };
    let mut found = Vec::new();
    leaves(value, &mut found);
    if found.is_empty() {
        return false;
    }
    let text = |leaf: &Value| leaf.as_str().map(str::to_lowercase);
    let wanted: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
    match op {
        "in" => values
            .iter()
            .any(|v| found.iter().any(|leaf| leaf.as_str() == Some(v.as_str()))),
        "ne" => !found
            .iter()
            .any(|leaf| leaf.as_str() == Some(values[0].as_str())),
        "contains" => found
            .iter()
            .any(|leaf| text(leaf).is_some_and(|s| s.contains(&wanted[0]))),
        "startsWith" => found
            .iter()
            .any(|leaf| text(leaf).is_some_and(|s| s.starts_with(&wanted[0]))),
        _ => found
            .iter()
            .any(|leaf| text(leaf).is_some_and(|s| s.ends_with(&wanted[0]))),
    }
}

/// Whether any string in a value, however deep, contains `lowered`.
fn holds_text(value: &Value, lowered: &str) -> bool {
    match value {
        Value::String(s) => s.to_lowercase().contains(lowered),
        Value::Array(elements) => elements.iter().any(|e| holds_text(e, lowered)),
        Value::Object(members) => members.values().any(|v| holds_text(v, lowered)),
        _ => false,
    }
}

/// `q`: any string value of the item but its own id contains the text, any case.
fn searched(item: &Value, q: &str) -> bool {
    let lowered = q.to_lowercase();
    item.as_object()
        .unwrap()
        .iter()
        .any(|(key, value)| key != "_id" && holds_text(value, &lowered))
}

/// `_like`: a string, number or boolean the field reaches matches the
/// pattern, any case.
fn liked(item: &Value, field: &str, pattern: &str) -> bool {
    let pattern = regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .unwrap();
    let mut found = Vec::new();
    if let Some(value) = item.get(field) {
        leaves(value, &mut found);
    }
    found.iter().any(|leaf| match leaf {
        Value::String(s) => pattern.is_match(s),
        Value::Number(n) => pattern.is_match(&n.to_string()),
        Value::Bool(b) => pattern.is_match(&b.to_string()),
        _ => false,
    })
}

/// An item with a member added last, replacing one of the same name.
fn with_member(item: &Value, key: &str, value: Value) -> Value {
    let mut members = item.as_object().unwrap().clone();
    members.shift_remove(key);
    members.insert(key.to_owned(), value);
    Value::Object(members)
}

/// The reference: each type's items in creation order.
#[derive(Default)]
struct Model {
    types: Vec<(String, Vec<(String, Value)>)>,
}

impl Model {
    fn items(&mut self, t: &str) -> &mut Vec<(String, Value)> {
        if let Some(i) = self.types.iter().position(|(name, _)| name == t) {
            return &mut self.types[i].1;
        }
        self.types.push((t.to_owned(), Vec::new()));
        &mut self.types.last_mut().unwrap().1
    }

    fn id_at(&mut self, t: &str, i: usize) -> String {
        self.items(t)
            .get(i)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| "missing".to_owned())
    }

    fn forget_empty(&mut self) {
        self.types.retain(|(_, items)| !items.is_empty());
    }
}

/// The members of a body, without `_id`, then `_id` last.
fn with_id(body: &Value, id: &str) -> Value {
    let mut members: Map<String, Value> = body.as_object().unwrap().clone();
    members.shift_remove("_id");
    members.insert("_id".to_owned(), Value::String(id.to_owned()));
    Value::Object(members)
}

/// RFC 7386, written plainly.
fn merge(target: &Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return patch.clone();
    };
    let mut out = match target {
        Value::Object(members) => members.clone(),
        _ => Map::new(),
    };
    for (key, value) in patch {
        if value.is_null() {
            out.shift_remove(key);
        } else {
            let merged = merge(out.get(key).unwrap_or(&Value::Null), value);
            out.insert(key.clone(), merged);
        }
    }
    Value::Object(out)
}

fn send(
    engine: &mut Endpoint,
    method: Method,
    target: &str,
    body: Option<&Value>,
) -> (u16, Value, Vec<Change>) {
    let mut request = Request::new(method, target);
    if let Some(body) = body {
        request.body = body.to_string().into_bytes();
    }
    let output = engine.handle(&request, NOW);
    let changes = output.changes().cloned().collect();
    let response = output.response().expect("every request is answered");
    let body = if response.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&response.body).expect("every body is JSON")
    };
    (response.status, body, changes)
}

fn run(ops: &[Op]) {
    let mut engine = Endpoint::new(
        Config::default(),
        Seed::default(),
        Box::new(SeededIds::new(3)),
        NOW,
    )
    .unwrap();
    let mut model = Model::default();
    let mut log: Vec<Change> = Vec::new();
    for op in ops {
        let (status, body, changes, expected): (u16, Value, Vec<Change>, (u16, Value)) = match op {
            Op::Post(t, v) => {
                let (status, body, changes) = send(
                    &mut engine,
                    Method::Post,
                    &format!("/api/{}", TYPES[*t]),
                    Some(v),
                );
                let id = body["_id"].as_str().expect("a new _id").to_owned();
                let item = with_id(v, &id);
                model.items(TYPES[*t]).push((id, item.clone()));
                (status, body, changes, (200, item))
            }
            Op::PostMany(t, vs) => {
                let (status, body, changes) = send(
                    &mut engine,
                    Method::Post,
                    &format!("/api/{}", TYPES[*t]),
                    Some(&Value::Array(vs.clone())),
                );
                let ids: Vec<String> = body
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["_id"].as_str().unwrap().to_owned())
                    .collect();
                let items: Vec<Value> = vs.iter().zip(&ids).map(|(v, id)| with_id(v, id)).collect();
                for (id, item) in ids.iter().zip(&items) {
                    model.items(TYPES[*t]).push((id.clone(), item.clone()));
                }
                model.forget_empty();
                (status, body, changes, (200, Value::Array(items)))
            }
            Op::Put(t, i, v) | Op::Patch(t, i, v) => {
                let patching = matches!(op, Op::Patch(..));
                let id = model.id_at(TYPES[*t], *i);
                let method = if patching { Method::Patch } else { Method::Put };
                let (status, body, changes) = send(
                    &mut engine,
                    method,
                    &format!("/api/{}/{id}", TYPES[*t]),
                    Some(v),
                );
                let items = model.items(TYPES[*t]);
                let expected = match items.iter_mut().find(|(item_id, _)| *item_id == id) {
                    Some((_, item)) => {
                        *item = if patching {
                            let mut patch = v.as_object().unwrap().clone();
                            patch.shift_remove("_id");
                            with_id(&merge(item, &Value::Object(patch)), &id)
                        } else {
                            with_id(v, &id)
                        };
                        (200, item.clone())
                    }
                    None => (
                        404,
                        serde_json::json!({"message": format!("Resource {id} does not exist.")}),
                    ),
                };
                model.forget_empty();
                (status, body, changes, expected)
            }
            Op::Delete(t, i) => {
                let id = model.id_at(TYPES[*t], *i);
                let (status, body, changes) = send(
                    &mut engine,
                    Method::Delete,
                    &format!("/api/{}/{id}", TYPES[*t]),
                    None,
                );
                let items = model.items(TYPES[*t]);
                let expected = match items.iter().position(|(item_id, _)| *item_id == id) {
                    Some(at) => (200, items.remove(at).1),
                    None => (
                        404,
                        serde_json::json!({"message": format!("Resource {id} does not exist.")}),
                    ),
                };
                model.forget_empty();
                (status, body, changes, expected)
            }
            Op::DeleteAll(t) => {
                let (status, body, changes) = send(
                    &mut engine,
                    Method::Delete,
                    &format!("/api/{}", TYPES[*t]),
                    None,
                );
                let count = std::mem::take(model.items(TYPES[*t])).len();
                model.forget_empty();
                (
                    status,
                    body,
                    changes,
                    (200, serde_json::json!({"deleted": count})),
                )
            }
            Op::Get(t, i) => {
                let id = model.id_at(TYPES[*t], *i);
                let (status, body, changes) = send(
                    &mut engine,
                    Method::Get,
                    &format!("/api/{}/{id}", TYPES[*t]),
                    None,
                );
                let expected = match model
                    .items(TYPES[*t])
                    .iter()
                    .find(|(item_id, _)| *item_id == id)
                {
                    Some((_, item)) => (200, item.clone()),
                    None => (
                        404,
                        serde_json::json!({"message": format!("Resource {id} does not exist.")}),
                    ),
                };
                model.forget_empty();
                (status, body, changes, expected)
            }
            Op::PostChild(p, i, c, v) => {
                let id = model.id_at(TYPES[*p], *i);
                let (status, body, changes) = send(
                    &mut engine,
                    Method::Post,
                    &format!("/api/{}/{id}/{}", TYPES[*p], TYPES[*c]),
                    Some(v),
                );
                let exists = model
                    .items(TYPES[*p])
                    .iter()
                    .any(|(item_id, _)| *item_id == id);
                let expected = if exists {
                    let new_id = body["_id"].as_str().expect("a new _id").to_owned();
                    let mut keyed = v.as_object().unwrap().clone();
                    keyed.insert(key_of(TYPES[*p]), Value::String(id.clone()));
                    let item = with_id(&Value::Object(keyed), &new_id);
                    model.items(TYPES[*c]).push((new_id, item.clone()));
                    (200, item)
                } else {
                    (
                        404,
                        serde_json::json!({"message": format!("Resource {id} does not exist.")}),
                    )
                };
                model.forget_empty();
                (status, body, changes, expected)
            }
            Op::Children(p, i, c) => {
                let id = model.id_at(TYPES[*p], *i);
                let (status, body, changes) = send(
                    &mut engine,
                    Method::Get,
                    &format!("/api/{}/{id}/{}", TYPES[*p], TYPES[*c]),
                    None,
                );
                let exists = model
                    .items(TYPES[*p])
                    .iter()
                    .any(|(item_id, _)| *item_id == id);
                let key = key_of(TYPES[*p]);
                let expected = if exists {
                    let children: Vec<Value> = model
                        .items(TYPES[*c])
                        .iter()
                        .map(|(_, item)| item.clone())
                        .filter(|item| item.get(&key) == Some(&Value::String(id.clone())))
                        .collect();
                    (200, Value::Array(children))
                } else {
                    (
                        404,
                        serde_json::json!({"message": format!("Resource {id} does not exist.")}),
                    )
                };
                model.forget_empty();
                (status, body, changes, expected)
            }
            Op::Embed(t, u) => {
                let (status, body, changes) = send(
                    &mut engine,
                    Method::Get,
                    &format!("/api/{}?_embed={}", TYPES[*t], TYPES[*u]),
                    None,
                );
                let key = key_of(TYPES[*t]);
                let children: Vec<Value> = model
                    .items(TYPES[*u])
                    .iter()
                    .map(|(_, item)| item.clone())
                    .collect();
                let items: Vec<Value> = model
                    .items(TYPES[*t])
                    .iter()
                    .map(|(id, item)| {
                        let mine: Vec<Value> = children
                            .iter()
                            .filter(|child| child.get(&key) == Some(&Value::String(id.clone())))
                            .cloned()
                            .collect();
                        with_member(item, TYPES[*u], Value::Array(mine))
                    })
                    .collect();
                model.forget_empty();
                (status, body, changes, (200, Value::Array(items)))
            }
            Op::Expand(t, u) => {
                let (status, body, changes) = send(
                    &mut engine,
                    Method::Get,
                    &format!("/api/{}?_expand={}", TYPES[*t], TYPES[*u]),
                    None,
                );
                let key = key_of(TYPES[*u]);
                let parents: Vec<(String, Value)> = model.items(TYPES[*u]).clone();
                let items: Vec<Value> = model
                    .items(TYPES[*t])
                    .iter()
                    .map(|(_, item)| {
                        let parent = item
                            .get(&key)
                            .and_then(Value::as_str)
                            .and_then(|wanted| parents.iter().find(|(id, _)| id == wanted));
                        match parent {
                            Some((_, parent)) => with_member(item, TYPES[*u], parent.clone()),
                            None => item.clone(),
                        }
                    })
                    .collect();
                model.forget_empty();
                (status, body, changes, (200, Value::Array(items)))
            }
            Op::Where(t, field, op, values) => {
                let values: Vec<String> = if *op == "in" {
                    values.clone()
                } else {
                    values[..1].to_vec()
                };
                let (status, body, changes) = send(
                    &mut engine,
                    Method::Get,
                    &format!("/api/{}?{field}:{op}={}", TYPES[*t], values.join(",")),
                    None,
                );
                let items: Vec<Value> = model
                    .items(TYPES[*t])
                    .iter()
                    .map(|(_, item)| item.clone())
                    .filter(|item| passes(item, field, op, &values))
                    .collect();
                model.forget_empty();
                (status, body, changes, (200, Value::Array(items)))
            }
            Op::Search(t, _) | Op::Like(t, _, _) => {
                let q = match op {
                    Op::Like(_, _, pattern) => pattern.to_string(),
                    Op::Search(_, q) => q.clone(),
                    _ => unreachable!(),
                };
                let encoded: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
                let query = match op {
                    Op::Like(_, field, _) => format!("{field}_like={encoded}"),
                    _ => format!("q={encoded}"),
                };
                let (status, body, changes) = send(
                    &mut engine,
                    Method::Get,
                    &format!("/api/{}?{query}", TYPES[*t]),
                    None,
                );
                let items: Vec<Value> = model
                    .items(TYPES[*t])
                    .iter()
                    .map(|(_, item)| item.clone())
                    .filter(|item| match op {
                        Op::Like(_, field, pattern) => liked(item, field, pattern),
                        _ => searched(item, &q),
                    })
                    .collect();
                model.forget_empty();
                (status, body, changes, (200, Value::Array(items)))
            }
            Op::List(t) => {
                let (status, body, changes) = send(
                    &mut engine,
                    Method::Get,
                    &format!("/api/{}", TYPES[*t]),
                    None,
                );
                let items: Vec<Value> = model
                    .items(TYPES[*t])
                    .iter()
                    .map(|(_, item)| item.clone())
                    .collect();
                model.forget_empty();
                (status, body, changes, (200, Value::Array(items)))
            }
        };
        assert_eq!(
            (status, body.to_string()),
            (expected.0, expected.1.to_string()),
            "{op:?}"
        );
        log.extend(changes);
        // The health counts follow the model too.
        let (_, health, _) = send(&mut engine, Method::Get, "/health", None);
        let counts: Vec<(String, usize)> = model
            .types
            .iter()
            .map(|(t, items)| (t.clone(), items.len()))
            .collect();
        let reported: Vec<(String, usize)> = health["database"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_owned(),
                    r["count"].as_u64().unwrap() as usize,
                )
            })
            .collect();
        assert_eq!(reported, counts, "after {op:?}");
    }
    let mut replayed = Engine::new(Config::default(), Box::new(SeededIds::new(99)), NOW);
    for change in &log {
        replayed.apply(change);
    }
    assert_eq!(
        String::from_utf8(replayed.snapshot()).unwrap(),
        String::from_utf8(
            engine
                .snapshot_of("default")
                .unwrap_or_else(|| b"{}".to_vec())
        )
        .unwrap(),
        "the store rebuilt from the changes differs from the live one"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_the_model_and_its_changes_replay(ops in prop::collection::vec(op(), 1..40)) {
        run(&ops);
    }
}
