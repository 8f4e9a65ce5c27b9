//! The state plan: which operations keep items, of which store type, under
//! which id, and how a list is answered; and the answers shaped from stored
//! items by the response schema.
//!
//! A collection path and its item path (`/pets` and `/pets/{petId}`) share
//! one store type; so do nested ones (`/users/{userId}/posts` and
//! `/users/{userId}/posts/{postId}`), whose items also keep the parent's id
//! (`userId`). A path is kept only when it looks like a collection: it has an
//! item path, or its `GET` answers a list. Anything else (`/login`,
//! `/pets/{id}/vaccinate`) answers from the document without state.

use super::model::{is_json, Piece, Segment, StatusKey};
use super::{OpId, Spec};
use serde_json::{Map, Value};

/// What an operation does to its store type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `POST` on the collection: stores a new item.
    Create,
    /// `GET` on the collection: the stored items, filtered and paged.
    List,
    /// `GET` on the item: the stored item, or the document's `404`.
    Read,
    /// `PUT` on the item: replaces it.
    Replace,
    /// `PATCH` on the item: merges into it.
    Patch,
    /// `DELETE` on the item: removes it.
    Delete,
    /// Anything else: answered from the document, without state.
    Other,
}

/// How new ids are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdKind {
    /// An integer schema: ids count up.
    Integer,
    /// A string schema: a UUID, unless `format` names another kind.
    String {
        /// The schema's `format`, when it has one other than `uuid`.
        format: Option<String>,
    },
}

/// The shape of a list's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListShape {
    /// A plain JSON array of items.
    Array,
    /// An object holding the items in one property and, maybe, their count
    /// in another (`{"data": [...], "total": n}`).
    Envelope {
        /// The property that holds the items.
        items: String,
        /// The property that holds the count, if the schema has one.
        total: Option<String>,
    },
    /// The document declares no list answer.
    Unknown,
}

/// One store type of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The store type's name: the collection's last literal segment (`pets`),
    /// or all its literal segments joined by `_` when that is taken.
    pub name: String,
    /// The collection path (`/pets`, `/users/{userId}/posts`).
    pub collection: String,
    /// The item path (`/pets/{petId}`), if the document has one.
    pub item: Option<String>,
    /// The item path's parameter (`petId`).
    pub id_param: Option<String>,
    /// The item property that holds the id (`id`).
    pub id_property: String,
    /// How new ids are made.
    pub id_kind: IdKind,
    /// Each path parameter of the collection and the item property that keeps
    /// it (`userId` for `/users/{userId}/posts`).
    pub parents: Vec<(String, String)>,
    /// How the list answers.
    pub list: ListShape,
}

/// An operation's part in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceOp {
    /// What it does.
    pub kind: Kind,
    /// The index of its store type in [`Spec::resources`], unless `Other`.
    pub resource: Option<usize>,
}

struct Group {
    collection: String,
    item: Option<String>,
}

fn is_item(segments: &[Segment]) -> bool {
    matches!(segments.last(), Some(Segment::Template(p)) if matches!(p.as_slice(), [Piece::Param(_)]))
}

fn collection_of(template: &str) -> String {
    match template.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => template[..i].to_owned(),
    }
}

pub(crate) fn plan(spec: &Spec) -> (Vec<Resource>, Vec<ResourceOp>) {
    let mut groups: Vec<Group> = Vec::new();
    for def in &spec.model.paths {
        let (collection, item) = if is_item(&def.segments) {
            (collection_of(&def.template), Some(def.template.clone()))
        } else {
            (def.template.clone(), None)
        };
        match groups.iter_mut().find(|g| g.collection == collection) {
            Some(g) => {
                if g.item.is_none() {
                    g.item = item;
                }
            }
            None => groups.push(Group { collection, item }),
        }
    }
    let mut resources = Vec::new();
    let mut kinds = vec![
        ResourceOp {
            kind: Kind::Other,
            resource: None,
        };
        spec.model.operations.len()
    ];
    let collections: Vec<String> = groups.iter().map(|g| g.collection.clone()).collect();
    for group in groups {
        // `/pets/mine` beside `/pets`: a view of the collection, not one of its own.
        let last_literal = group
            .collection
            .rsplit('/')
            .next()
            .is_some_and(|s| !s.contains('{'));
        if last_literal
            && group.collection != "/"
            && collections.contains(&collection_of(&group.collection))
        {
            continue;
        }
        let ops_on = |template: &str| -> Vec<OpId> {
            spec.operations()
                .filter(|op| spec.path(*op) == template)
                .collect()
        };
        let collection_ops = ops_on(&group.collection);
        let item_ops = group.item.as_deref().map(ops_on).unwrap_or_default();
        let list_op = collection_ops
            .iter()
            .copied()
            .find(|op| spec.method(*op) == "GET");
        let list = list_op.map_or(ListShape::Unknown, |op| list_shape(spec, op));
        let keeps = !item_ops.is_empty() || !matches!(list, ListShape::Unknown);
        if !keeps {
            continue;
        }
        let index = resources.len();
        let item_schema = item_schema(spec, &collection_ops, &item_ops, list_op, &list);
        let id_param = group
            .item
            .as_deref()
            .and_then(|t| t.rsplit('/').next())
            .map(|s| s.trim_matches(['{', '}']).to_owned());
        let props = item_schema
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object);
        let id_property = ["id"]
            .into_iter()
            .chain(id_param.as_deref())
            .chain(["_id"])
            .find(|k| props.is_some_and(|p| p.contains_key(*k)))
            .unwrap_or("id")
            .to_owned();
        let id_schema = props
            .and_then(|p| p.get(&id_property))
            .map(|s| spec.schemas.resolve(s))
            .or_else(|| {
                let op = item_ops.first()?;
                let name = id_param.as_deref()?;
                let p = spec.op(*op).params.iter().find(|p| p.name == name)?;
                spec.schemas.at(p.schema.as_deref()?)
            });
        let id_kind = match id_schema {
            Some(s)
                if schema_types(s).contains(&"integer") || schema_types(s).contains(&"number") =>
            {
                IdKind::Integer
            }
            Some(s) => IdKind::String {
                format: s
                    .get("format")
                    .and_then(Value::as_str)
                    .filter(|f| *f != "uuid")
                    .map(str::to_owned),
            },
            None => IdKind::String { format: None },
        };
        let parents = parents(&group.collection);
        let name = unique_name(&resources, &group.collection);
        for op in &collection_ops {
            let kind = match spec.method(*op) {
                "GET" => Kind::List,
                "POST" => Kind::Create,
                _ => Kind::Other,
            };
            kinds[op.0] = ResourceOp {
                kind,
                resource: (kind != Kind::Other).then_some(index),
            };
        }
        for op in &item_ops {
            let kind = match spec.method(*op) {
                "GET" => Kind::Read,
                "PUT" => Kind::Replace,
                "PATCH" => Kind::Patch,
                "DELETE" => Kind::Delete,
                _ => Kind::Other,
            };
            kinds[op.0] = ResourceOp {
                kind,
                resource: (kind != Kind::Other).then_some(index),
            };
        }
        resources.push(Resource {
            name,
            collection: group.collection,
            item: group.item,
            id_param,
            id_property,
            id_kind,
            parents,
            list,
        });
    }
    (resources, kinds)
}

fn schema_types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn literals(template: &str) -> Vec<&str> {
    template
        .split('/')
        .filter(|s| !s.is_empty() && !s.contains('{'))
        .collect()
}

fn unique_name(resources: &[Resource], collection: &str) -> String {
    let lits = literals(collection);
    let short = lits
        .last()
        .map_or_else(|| "items".to_owned(), |s| (*s).to_owned());
    let taken = |n: &str| resources.iter().any(|r| r.name == n);
    if !taken(&short) {
        return short;
    }
    let long = lits.join("_");
    if !taken(&long) {
        return long;
    }
    (2..)
        .map(|i| format!("{long}_{i}"))
        .find(|n| !taken(n))
        .unwrap_or(long)
}

/// The collection's path parameters and the properties that keep them: the
/// parameter's own name, or for a bare `{id}` the singular of the segment
/// before it and `Id` (`/users/{id}/posts` -> `userId`), as json-server
/// names foreign keys.
fn parents(collection: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut previous = "";
    for segment in collection.split('/').filter(|s| !s.is_empty()) {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let property = if name == "id" || name == "_id" {
                format!("{}Id", crate::store::relations::singular(previous))
            } else {
                name.to_owned()
            };
            out.push((name.to_owned(), property));
        } else {
            previous = segment;
        }
    }
    out
}

/// The JSON schema pointer of an operation's response for a status.
fn response_schema(spec: &Spec, op: OpId, status: Option<u16>) -> Option<&str> {
    let responses = &spec.op(op).responses;
    let response = match status {
        Some(s) => responses
            .iter()
            .find(|r| r.key == StatusKey::Code(s))
            .or_else(|| {
                responses
                    .iter()
                    .find(|r| r.key == StatusKey::Range(s / 100))
            })
            .or_else(|| responses.iter().find(|r| r.key == StatusKey::Default)),
        None => responses
            .iter()
            .filter(|r| matches!(r.key, StatusKey::Code(c) if (200..300).contains(&c)))
            .min_by_key(|r| r.key)
            .or_else(|| responses.iter().find(|r| r.key == StatusKey::Range(2))),
    }?;
    response
        .content
        .iter()
        .find(|m| is_json(&m.media_type))
        .and_then(|m| m.schema.as_deref())
}

fn list_shape(spec: &Spec, op: OpId) -> ListShape {
    let Some(schema) = response_schema(spec, op, None).and_then(|p| spec.schemas.at(p)) else {
        return ListShape::Unknown;
    };
    if schema_types(schema).contains(&"array") {
        return ListShape::Array;
    }
    spec.list_shape_of(schema)
}

fn body_schema(spec: &Spec, op: OpId) -> Option<&Value> {
    let body = spec.op(op).body.as_ref()?;
    let media = body.content.iter().find(|m| is_json(&m.media_type))?;
    spec.schemas.at(media.schema.as_deref()?)
}

/// The schema of one item: the item `GET`'s answer, else the create's body,
/// else a list entry, else the replace's body.
fn item_schema<'a>(
    spec: &'a Spec,
    collection_ops: &[OpId],
    item_ops: &[OpId],
    list_op: Option<OpId>,
    list: &ListShape,
) -> Option<&'a Value> {
    let by = |ops: &[OpId], method: &str| ops.iter().copied().find(|op| spec.method(*op) == method);
    let read = by(item_ops, "GET")
        .and_then(|op| response_schema(spec, op, None))
        .and_then(|p| spec.schemas.at(p))
        .filter(|s| s.get("properties").is_some());
    read.or_else(|| by(collection_ops, "POST").and_then(|op| body_schema(spec, op)))
        .or_else(|| {
            let list_schema = spec.schemas.at(response_schema(spec, list_op?, None)?)?;
            let array = match list {
                ListShape::Envelope { items, .. } => spec
                    .schemas
                    .resolve(list_schema.get("properties")?.get(items)?),
                _ => list_schema,
            };
            Some(spec.schemas.resolve(array.get("items")?))
        })
        .or_else(|| by(item_ops, "PUT").and_then(|op| body_schema(spec, op)))
}

/// Stored data to shape into an answer.
#[derive(Debug, Clone, Copy)]
pub enum Stored<'a> {
    /// One item.
    Item(&'a Value),
    /// A page of items and the count of all that matched.
    List {
        /// The items of the page.
        items: &'a [Value],
        /// How many matched before paging.
        total: usize,
    },
}

impl Spec {
    /// The state plan: every store type the document's paths make.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// An operation's part in the plan.
    pub fn resource_op(&self, op: OpId) -> ResourceOp {
        self.resource_ops[op.0]
    }

    /// Stored data shaped as the operation's response for `status`: a list
    /// into its array or envelope (the envelope's other properties generated
    /// from `seed`); an item as it is, or inside the wrapper property the
    /// response schema holds it in (`{"data": {...}}`).
    pub fn fill(&self, op: OpId, status: u16, stored: Stored, seed: u64) -> Value {
        let schema = response_schema(self, op, Some(status)).and_then(|p| self.schemas.at(p));
        match stored {
            Stored::List { items, total } => {
                let Some(schema) = schema.filter(|s| !schema_types(s).contains(&"array")) else {
                    return Value::Array(items.to_vec());
                };
                let ListShape::Envelope {
                    items: key,
                    total: count,
                } = self.list_shape_of(schema)
                else {
                    return Value::Array(items.to_vec());
                };
                let mut envelope = match self.generator(seed, op, status).object(schema, 1, false) {
                    Value::Object(map) => map,
                    _ => Map::new(),
                };
                envelope.insert(key, Value::Array(items.to_vec()));
                if let Some(count) = count {
                    envelope.insert(count, Value::from(total));
                }
                Value::Object(envelope)
            }
            Stored::Item(item) => {
                let Some((props, wrapper)) = schema.and_then(wrapper_of) else {
                    return item.clone();
                };
                let fits_item = item
                    .as_object()
                    .is_some_and(|o| o.keys().any(|k| props.contains_key(k)));
                if fits_item {
                    return item.clone();
                }
                let wrapper = wrapper.clone();
                let mut out =
                    match schema.map(|s| self.generator(seed, op, status).object(s, 1, false)) {
                        Some(Value::Object(map)) => map,
                        _ => Map::new(),
                    };
                out.insert(wrapper, item.clone());
                Value::Object(out)
            }
        }
    }

    /// Whether [`Spec::fill`] answers every item for `status` as it is
    /// stored: the response schema has no property to wrap an item in.
    pub fn answers_items_as_stored(&self, op: OpId, status: u16) -> bool {
        let schema = response_schema(self, op, Some(status)).and_then(|p| self.schemas.at(p));
        schema.and_then(wrapper_of).is_none()
    }

    /// The items a store type starts with: the document's example list (the
    /// first example of its list operation's answer, the array itself or the
    /// one in its envelope), else `count` items generated from the item
    /// schema with `seed`. Each has its id: an example's own when it has
    /// one, else the next integer or a UUID from the seed. A nested
    /// collection (`/users/{userId}/posts`) starts empty, since its items
    /// belong to parents that do not exist yet.
    pub fn seed_items(&self, resource: usize, count: usize, seed: u64) -> Vec<Value> {
        let Some(res) = self.resources.get(resource) else {
            return Vec::new();
        };
        if !res.parents.is_empty() {
            return Vec::new();
        }
        let list_op = self.operations().find(|op| {
            self.resource_op(*op).kind == Kind::List
                && self.resource_op(*op).resource == Some(resource)
        });
        let mut items: Vec<Value> = list_op
            .and_then(|op| self.example_list(op, &res.list))
            .unwrap_or_default();
        let mut g = match list_op {
            Some(op) => self.generator(seed, op, 200),
            None => return items,
        };
        if items.is_empty() {
            let ops_on = |template: &str| -> Vec<OpId> {
                self.operations()
                    .filter(|op| self.path(*op) == template)
                    .collect()
            };
            let collection_ops = ops_on(&res.collection);
            let item_ops = res.item.as_deref().map(ops_on).unwrap_or_default();
            let Some(schema) = item_schema(self, &collection_ops, &item_ops, list_op, &res.list)
            else {
                return Vec::new();
            };
            let key = res.id_property.as_str();
            // Generated ids would repeat; the ids below count up instead.
            items = (0..count)
                .map(|_| g.value(schema, 1, None))
                .filter_map(|item| match item {
                    Value::Object(mut map) => {
                        map.shift_remove(key);
                        Some(Value::Object(map))
                    }
                    _ => None,
                })
                .collect();
        }
        let key = res.id_property.as_str();
        let mut largest = items
            .iter()
            .filter_map(|item| item.get(key)?.as_i64())
            .max()
            .unwrap_or(0);
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(items.len());
        for mut item in items {
            let given = item.get(key).filter(|id| match res.id_kind {
                IdKind::Integer => id.is_i64(),
                IdKind::String { .. } => id.is_string(),
            });
            let id = match (given, &res.id_kind) {
                (Some(id), _) => id.clone(),
                (None, IdKind::Integer) => {
                    largest += 1;
                    Value::from(largest)
                }
                (None, IdKind::String { .. }) => Value::String(g.uuid()),
            };
            if !seen.insert(id.to_string()) {
                continue;
            }
            if let Value::Object(map) = &mut item {
                map.insert(key.to_owned(), id);
            }
            out.push(item);
        }
        out
    }

    /// The items of the list operation's first declared example, if it has one.
    fn example_list(&self, op: OpId, shape: &ListShape) -> Option<Vec<Value>> {
        let choice = self
            .choose(op, &super::Prefer::default(), None)
            .ok()
            .filter(|c| c.example.is_some())?;
        let example = self.body(&choice, 0)?;
        let list = match (example, shape) {
            (Value::Array(items), _) => items,
            (Value::Object(mut map), ListShape::Envelope { items, .. }) => {
                match map.remove(items) {
                    Some(Value::Array(items)) => items,
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(list.into_iter().filter(Value::is_object).collect())
    }

    fn list_shape_of(&self, schema: &Value) -> ListShape {
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            return ListShape::Unknown;
        };
        let Some(items) = props
            .iter()
            .find(|(_, s)| schema_types(self.schemas.resolve(s)).contains(&"array"))
            .map(|(k, _)| k.clone())
        else {
            return ListShape::Unknown;
        };
        let total = COUNTS
            .iter()
            .find(|k| {
                props
                    .get(**k)
                    .is_some_and(|s| schema_types(self.schemas.resolve(s)).contains(&"integer"))
            })
            .map(|k| (*k).to_owned());
        ListShape::Envelope { items, total }
    }
}

/// Property names that hold a list's count, in the order they are looked for.
const COUNTS: [&str; 10] = [
    "total",
    "total_count",
    "totalCount",
    "count",
    "totalItems",
    "total_items",
    "totalResults",
    "total_results",
    "totalElements",
    "size",
];

/// Property names a response wraps one item in.
/// A response schema's properties and the one an item is answered inside:
/// one named as a wrapper usually is, or the only property.
fn wrapper_of(schema: &Value) -> Option<(&Map<String, Value>, &String)> {
    let props = schema.get("properties").and_then(Value::as_object)?;
    let wrapper = props
        .keys()
        .find(|k| WRAPPERS.contains(&k.as_str()))
        .or_else(|| props.keys().next().filter(|_| props.len() == 1))?;
    Some((props, wrapper))
}

const WRAPPERS: [&str; 5] = ["data", "item", "result", "resource", "record"];
