//! The document's schemas as JSON Schema 2020-12, compiled once.
//!
//! Every schema an operation names is copied, at the pointer it has in the
//! document, into one tree of converted schemas, together with every schema
//! it reaches through `$ref` (cycles included: a pointer is converted once).
//! OpenAPI 3.0 and Swagger 2.0 schemas are rewritten on the way: `nullable`
//! (`x-nullable`) adds `null` to the types, a boolean `exclusiveMinimum` or
//! `exclusiveMaximum` becomes the 2020-12 number, `type: file` accepts
//! anything. Annotations no answer needs (`description`, `title`, `xml`,
//! `externalDocs`, `x-` extensions) are left out, which keeps the tree small.
//! The validator (boon) compiles the tree's schemas at load, so a request is
//! validated without compiling anything.

use super::error::SpecError;
use super::model::{Special, Version};
use super::pointer::{fragment, get, join, ref_pointer, tokens};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// The base URL the tree is known by inside the validator; nothing is fetched.
const BASE: &str = "http://openapi.invalid/document.json";

pub(crate) struct Schemas {
    /// The converted schemas, each at its pointer in the document.
    pub tree: Value,
    compiled: boon::Schemas,
    index: HashMap<String, boon::SchemaIndex>,
}

/// Keys of a Swagger 2.0 parameter or header that are not schema keywords.
const NOT_SCHEMA: [&str; 5] = [
    "name",
    "in",
    "required",
    "collectionFormat",
    "allowEmptyValue",
];

struct Converter<'a> {
    doc: &'a Value,
    version: Version,
    todo: Vec<String>,
}

impl Schemas {
    /// Converts the schemas at `roots` and all they reach into one tree: the
    /// part of loading that reads the document. [`Converted::compile`] then
    /// needs only the tree, so the document can be dropped first.
    pub(super) fn convert(
        doc: &Value,
        version: Version,
        roots: &[String],
        forms: &[(String, Vec<Special>)],
    ) -> Result<Converted, SpecError> {
        let mut converter = Converter {
            doc,
            version,
            todo: Vec::new(),
        };
        let mut tree = Value::Object(Map::new());
        let mut done: HashSet<String> = HashSet::new();
        for (at, specials) in forms {
            let form = converter.form(specials)?;
            insert(&mut tree, at, form);
            done.insert(at.clone());
        }
        converter.todo.extend(roots.iter().rev().cloned());
        while let Some(at) = converter.todo.pop() {
            if covered(&done, &at) {
                continue;
            }
            let Some(value) = get(doc, &at) else {
                return Err(SpecError::at(at, "a schema is expected here"));
            };
            let loose = version == Version::Swagger2 && is_parameter_like(&at);
            let converted = converter.schema(value, &at, loose)?;
            insert(&mut tree, &at, converted);
            done.insert(at);
        }
        Ok(Converted { tree })
    }
}

/// The converted schemas, not yet compiled.
pub(crate) struct Converted {
    tree: Value,
}

impl Converted {
    /// Compiles the schemas at `roots` and at the form bodies' pointers.
    pub(super) fn compile(
        self,
        roots: &[String],
        forms: &[(String, Vec<Special>)],
    ) -> Result<Schemas, SpecError> {
        let Converted { tree } = self;
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler.enable_format_assertions();
        compiler.register_format(boon::Format {
            name: "int32",
            func: |v| integer_within(v, i64::from(i32::MIN), i64::from(i32::MAX)),
        });
        compiler.register_format(boon::Format {
            name: "int64",
            func: |v| integer_within(v, i64::MIN, i64::MAX),
        });
        compiler
            .add_resource(BASE, tree.clone())
            .map_err(|e| SpecError::whole(format!("the schemas cannot be read: {e}")))?;
        let mut compiled = boon::Schemas::new();
        let mut index = HashMap::new();
        for at in roots.iter().chain(forms.iter().map(|(at, _)| at)) {
            if index.contains_key(at) {
                continue;
            }
            let url = format!("{BASE}#{}", fragment(at));
            let i = compiler
                .compile(&url, &mut compiled)
                .map_err(|e| SpecError::at(at.clone(), compile_error(&e)))?;
            index.insert(at.clone(), i);
        }
        Ok(Schemas {
            tree,
            compiled,
            index,
        })
    }
}

impl Schemas {
    /// The converted schema at `pointer`, following `$ref`s.
    pub(super) fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut schema = schema;
        for _ in 0..32 {
            let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(next) = ref_pointer(target).ok().and_then(|p| get(&self.tree, &p)) else {
                break;
            };
            schema = next;
        }
        schema
    }

    pub(super) fn at(&self, pointer: &str) -> Option<&Value> {
        get(&self.tree, pointer).map(|s| self.resolve(s))
    }

    /// Validates `value` against the schema at `pointer`: boon's tree of
    /// errors, or `None` when it is valid.
    pub(super) fn validate<'s, 'v>(
        &'s self,
        pointer: &str,
        value: &'v Value,
    ) -> Option<boon::ValidationError<'s, 'v>> {
        let &i = self.index.get(pointer)?;
        self.compiled.validate(value, i).err()
    }
}

fn integer_within(v: &Value, min: i64, max: i64) -> Result<(), Box<dyn std::error::Error>> {
    let Value::Number(n) = v else { return Ok(()) };
    match n.as_i64() {
        Some(i) if (min..=max).contains(&i) => Ok(()),
        _ if n.as_f64().is_some_and(|f| f.fract() != 0.0) => Err("not an integer".into()),
        _ => Err(format!("out of range {min}..{max}").into()),
    }
}

/// boon's message without the URL it gives every location.
fn compile_error(e: &boon::CompileError) -> String {
    let text = match e {
        boon::CompileError::ValidationError { src, .. } => {
            format!("not a valid JSON Schema: {src}")
        }
        other => other.to_string(),
    };
    text.replace(&format!("{BASE}#"), "#")
}

/// Whether `pointer` is a Swagger 2.0 parameter or header, which is its own
/// schema (`type`, `format`, `items` beside `name` and `in`).
fn is_parameter_like(pointer: &str) -> bool {
    let last: Vec<String> = tokens(pointer).collect();
    let n = last.len();
    (n >= 2 && (last[n - 2] == "parameters" || last[n - 2] == "headers"))
        || (n == 2 && last[0] == "parameters")
}

/// Whether `at` is, or lies inside, a pointer already converted.
fn covered(done: &HashSet<String>, at: &str) -> bool {
    if done.contains(at) {
        return true;
    }
    at.match_indices('/')
        .any(|(i, _)| i > 0 && done.contains(&at[..i]))
}

/// Puts `value` at `pointer` in `tree`, making the objects on the way.
fn insert(tree: &mut Value, pointer: &str, value: Value) {
    let mut node = tree;
    let steps: Vec<String> = tokens(pointer).collect();
    let Some((last, path)) = steps.split_last() else {
        *node = value;
        return;
    };
    for step in path {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(map) = node else { return };
        node = map
            .entry(step.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(map) = node {
        map.insert(last.clone(), value);
    }
}

impl Converter<'_> {
    fn form(&mut self, specials: &[Special]) -> Result<Value, SpecError> {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for p in specials.iter().filter(|p| !p.body) {
            let Some(value) = get(self.doc, &p.pointer) else {
                continue;
            };
            let mut schema = self.schema(value, &p.pointer, true)?;
            if value.get("type").and_then(Value::as_str) == Some("file") {
                schema = Value::Bool(true);
            }
            properties.insert(p.name.clone(), schema);
            if p.required {
                required.push(Value::String(p.name.clone()));
            }
        }
        let mut form = Map::new();
        form.insert("type".into(), "object".into());
        form.insert("properties".into(), Value::Object(properties));
        if !required.is_empty() {
            form.insert("required".into(), Value::Array(required));
        }
        Ok(Value::Object(form))
    }

    /// One schema, converted; `loose` for a Swagger 2.0 parameter or header,
    /// whose own fields sit beside the schema's keywords.
    fn schema(&mut self, value: &Value, at: &str, loose: bool) -> Result<Value, SpecError> {
        let map = match value {
            Value::Bool(_) => return Ok(value.clone()),
            Value::Object(map) => map,
            _ => return Err(SpecError::at(at, "a schema must be an object")),
        };
        let legacy = self.version != Version::OpenApi31;
        let mut out = Map::new();
        for (key, v) in map {
            let here = || join(at, key);
            match key.as_str() {
                "$ref" => {
                    let Some(reference) = v.as_str() else {
                        return Err(SpecError::at(here(), "$ref is not a string"));
                    };
                    let target =
                        ref_pointer(reference).map_err(|why| SpecError::at(here(), why))?;
                    if get(self.doc, &target).is_none() {
                        return Err(SpecError::at(
                            here(),
                            format!("$ref \"{reference}\" points to nothing in this document"),
                        ));
                    }
                    out.insert(
                        key.clone(),
                        Value::String(format!("#{}", fragment(&target))),
                    );
                    self.todo.push(target);
                }
                "properties" | "patternProperties" | "$defs" | "definitions"
                | "dependentSchemas" => {
                    let Some(members) = v.as_object() else {
                        continue;
                    };
                    let mut converted = Map::new();
                    for (name, sub) in members {
                        converted
                            .insert(name.clone(), self.schema(sub, &join(&here(), name), false)?);
                    }
                    out.insert(key.clone(), Value::Object(converted));
                }
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                    let Some(items) = v.as_array() else { continue };
                    let mut converted = Vec::with_capacity(items.len());
                    for (i, sub) in items.iter().enumerate() {
                        converted.push(self.schema(sub, &join(&here(), &i.to_string()), false)?);
                    }
                    out.insert(key.clone(), Value::Array(converted));
                }
                "items" if v.is_array() => {
                    let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
                    let mut converted = Vec::with_capacity(items.len());
                    for (i, sub) in items.iter().enumerate() {
                        converted.push(self.schema(sub, &join(&here(), &i.to_string()), false)?);
                    }
                    out.insert("prefixItems".into(), Value::Array(converted));
                }
                "items"
                | "additionalProperties"
                | "not"
                | "if"
                | "then"
                | "else"
                | "contains"
                | "propertyNames"
                | "unevaluatedItems"
                | "unevaluatedProperties"
                | "contentSchema" => {
                    if v.is_object() || v.is_boolean() {
                        out.insert(key.clone(), self.schema(v, &here(), false)?);
                    }
                }
                "additionalItems" if legacy => {
                    if v.is_object() || v.is_boolean() {
                        out.insert("items".into(), self.schema(v, &here(), false)?);
                    }
                }
                "description" | "title" | "externalDocs" | "xml" | "discriminator" | "$comment"
                | "summary" => {}
                "nullable" | "x-nullable" if legacy => {}
                "required" if !v.is_array() => {}
                "type" if legacy && v == "file" => {}
                "exclusiveMinimum" | "exclusiveMaximum" if v.is_boolean() => {}
                "pattern" => {
                    if let Some(p) = v.as_str().and_then(readable_pattern) {
                        out.insert(key.clone(), Value::String(p));
                    }
                }
                k if k.starts_with("x-") => {}
                k if loose && NOT_SCHEMA.contains(&k) => {}
                _ => {
                    out.insert(key.clone(), v.clone());
                }
            }
        }
        if legacy {
            for (flag, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                if map.get(flag) == Some(&Value::Bool(true)) {
                    if let Some(limit) = out.remove(bound) {
                        out.insert(flag.into(), limit);
                    }
                }
            }
            let nullable =
                map.get("nullable").or_else(|| map.get("x-nullable")) == Some(&Value::Bool(true));
            if nullable {
                return Ok(with_null(out));
            }
        }
        Ok(Value::Object(out))
    }
}

/// A pattern as the validator reads it: as written when it parses; else with
/// its literal braces escaped (ECMAScript reads `{` that starts no
/// repetition as itself, Rust's regex does not); else `None`, and the
/// pattern is not checked.
fn readable_pattern(pattern: &str) -> Option<String> {
    let parses = |p: &str| regex_syntax::Parser::new().parse(p).is_ok();
    if parses(pattern) {
        return Some(pattern.to_owned());
    }
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut escaped = false;
    let mut open = 0usize;
    for (i, c) in pattern.char_indices() {
        if escaped {
            escaped = false;
            out.push(c);
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                out.push(c);
            }
            '{' => {
                let rest = &pattern[i + 1..];
                let quantifier = rest.find('}').is_some_and(|end| {
                    !rest[..end].is_empty()
                        && rest[..end].bytes().all(|b| b.is_ascii_digit() || b == b',')
                }) && !out.is_empty()
                    && !out.ends_with(['(', '|']);
                if quantifier {
                    open += 1;
                    out.push('{');
                } else {
                    out.push_str("\\{");
                }
            }
            '}' if open > 0 => {
                open -= 1;
                out.push('}');
            }
            '}' => out.push_str("\\}"),
            c => out.push(c),
        }
    }
    parses(&out).then_some(out)
}

/// A schema that also accepts `null` (OpenAPI 3.0's `nullable: true`).
fn with_null(mut schema: Map<String, Value>) -> Value {
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        if !values.contains(&Value::Null) {
            values.push(Value::Null);
        }
    }
    match schema.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            schema.insert("type".into(), Value::Array(vec![t.into(), "null".into()]));
            Value::Object(schema)
        }
        Some(Value::Array(types)) => {
            if !types.contains(&Value::from("null")) {
                types.push("null".into());
            }
            Value::Object(schema)
        }
        _ => {
            let mut wrapper = Map::new();
            wrapper.insert(
                "anyOf".into(),
                Value::Array(vec![
                    serde_json::json!({"type": "null"}),
                    Value::Object(schema),
                ]),
            );
            Value::Object(wrapper)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn convert(version: Version, schema: Value) -> Value {
        let doc = json!({ "s": schema });
        let mut c = Converter {
            doc: &doc,
            version,
            todo: Vec::new(),
        };
        c.schema(&doc["s"], "/s", false).unwrap()
    }

    #[test]
    fn openapi_30_keywords_become_2020_12() {
        let s = convert(
            Version::OpenApi30,
            json!({"type": "integer", "nullable": true, "minimum": 1, "exclusiveMinimum": true,
                   "maximum": 9, "exclusiveMaximum": false, "description": "d", "x-a": 1}),
        );
        assert_eq!(
            s,
            json!({"type": ["integer", "null"], "maximum": 9, "exclusiveMinimum": 1})
        );
        let s = convert(
            Version::OpenApi30,
            json!({"allOf": [{"$ref": "#/s"}], "nullable": true}),
        );
        assert_eq!(
            s,
            json!({"anyOf": [{"type": "null"}, {"allOf": [{"$ref": "#/s"}]}]})
        );
        let s = convert(
            Version::OpenApi30,
            json!({"type": "string", "enum": ["a"], "nullable": true}),
        );
        assert_eq!(s, json!({"type": ["string", "null"], "enum": ["a", null]}));
    }

    #[test]
    fn openapi_31_keeps_its_keywords_and_properties_named_like_annotations() {
        let s = convert(
            Version::OpenApi31,
            json!({"type": ["string", "null"], "nullable": true, "exclusiveMinimum": 3,
                   "properties": {"description": {"type": "string", "title": "t"}}}),
        );
        assert_eq!(
            s,
            json!({"type": ["string", "null"], "nullable": true, "exclusiveMinimum": 3,
                   "properties": {"description": {"type": "string"}}})
        );
    }

    #[test]
    fn ecmascript_patterns_with_literal_braces_are_read() {
        assert_eq!(readable_pattern("^a{2}$").as_deref(), Some("^a{2}$"));
        assert_eq!(
            readable_pattern("^(?:{[0-9a-f]{4}}|x)$").as_deref(),
            Some("^(?:\\{[0-9a-f]{4}\\}|x)$")
        );
        assert_eq!(readable_pattern("(?<=a)b"), None);
    }

    #[test]
    fn insert_makes_objects_on_the_way() {
        let mut tree = json!({});
        insert(
            &mut tree,
            "/paths/~1a/get/parameters/0/schema",
            json!({"type": "string"}),
        );
        assert_eq!(
            tree.pointer("/paths/~1a/get/parameters/0/schema"),
            Some(&json!({"type": "string"}))
        );
        let done: HashSet<String> = ["/a/b".to_owned()].into();
        assert!(covered(&done, "/a/b/c"));
        assert!(!covered(&done, "/a/bc"));
    }
}
