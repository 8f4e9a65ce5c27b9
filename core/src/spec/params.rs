//! Parameters read from where they travel, in their styles, as the JSON
//! values their schemas describe.
//!
//! A query, header, path or cookie carries text; the schema says whether that
//! text is a number, a boolean, a list or an object, and the style says how a
//! list or an object is written (`a,b`, `a|b`, `id=a&id=b`, `id[role]=a`,
//! `;id=a`, `.a.b`). Text that does not read as the schema's type stays a
//! string, so the schema's own check then names it.

use super::model::{In, Param, Style};
use super::schemas::Schemas;
use super::validate::RequestParts;
use serde_json::{Map, Value};

/// What a value is made of, as far as reading it goes.
enum Shape<'a> {
    Primitive(Option<&'a Value>),
    Array(Option<&'a Value>),
    Object(Option<&'a Value>),
}

fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => ["anyOf", "oneOf", "allOf"]
            .iter()
            .filter_map(|k| schema.get(*k).and_then(Value::as_array))
            .flatten()
            .flat_map(|s| match s.get("type") {
                Some(Value::String(t)) => vec![t.as_str()],
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            })
            .collect(),
    }
}

fn shape<'a>(schemas: &'a Schemas, schema: Option<&'a Value>) -> Shape<'a> {
    let Some(schema) = schema.map(|s| schemas.resolve(s)) else {
        return Shape::Primitive(None);
    };
    let t = types(schema);
    if t.contains(&"array") || (t.is_empty() && schema.get("items").is_some()) {
        return Shape::Array(schema.get("items").map(|s| schemas.resolve(s)));
    }
    if t.contains(&"object") || (t.is_empty() && schema.get("properties").is_some()) {
        return Shape::Object(Some(schema));
    }
    Shape::Primitive(Some(schema))
}

/// Text read as the type its schema names: a number, a boolean, `null`, or
/// else the text itself.
pub(crate) fn coerce(schemas: &Schemas, schema: Option<&Value>, text: &str) -> Value {
    let Some(schema) = schema.map(|s| schemas.resolve(s)) else {
        return Value::String(text.to_owned());
    };
    let t = types(schema);
    if (t.contains(&"integer") || t.contains(&"number")) && looks_numeric(text) {
        if let Ok(n) = serde_json::from_str::<serde_json::Number>(text) {
            return Value::Number(n);
        }
    }
    if t.contains(&"boolean") && (text == "true" || text == "false") {
        return Value::Bool(text == "true");
    }
    if t.contains(&"null") && (text.is_empty() || text == "null") {
        return Value::Null;
    }
    Value::String(text.to_owned())
}

fn looks_numeric(text: &str) -> bool {
    text.bytes()
        .next()
        .is_some_and(|b| b == b'-' || b.is_ascii_digit())
}

fn property<'a>(schemas: &'a Schemas, object: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    object
        .and_then(|o| o.get("properties"))
        .and_then(|p| p.get(name))
        .or_else(|| {
            object
                .and_then(|o| o.get("additionalProperties"))
                .filter(|a| a.is_object())
        })
        .map(|s| schemas.resolve(s))
}

/// Reads a list or object written as text.
fn structured(
    schemas: &Schemas,
    shape: &Shape,
    text: &str,
    separator: char,
    pairs_by: Option<char>,
) -> Value {
    match shape {
        Shape::Primitive(schema) => coerce(schemas, *schema, text),
        Shape::Array(items) => Value::Array(
            text.split(separator)
                .map(|t| coerce(schemas, *items, t.trim_matches(' ')))
                .collect(),
        ),
        Shape::Object(schema) => {
            let mut map = Map::new();
            match pairs_by {
                // `role=admin,name=Alex` (explode)
                Some(eq) => {
                    for pair in text.split(separator) {
                        let (k, v) = pair.split_once(eq).unwrap_or((pair, ""));
                        map.insert(
                            k.trim().to_owned(),
                            coerce(schemas, property(schemas, *schema, k.trim()), v),
                        );
                    }
                }
                // `role,admin,name,Alex`
                None => {
                    let parts: Vec<&str> = text.split(separator).collect();
                    for kv in parts.chunks(2) {
                        let v = kv.get(1).copied().unwrap_or_default();
                        map.insert(
                            kv[0].to_owned(),
                            coerce(schemas, property(schemas, *schema, kv[0]), v),
                        );
                    }
                }
            }
            Value::Object(map)
        }
    }
}

/// A form body's pairs (`a=1&b=x`), percent- and `+`-decoded.
pub(crate) fn form_pairs(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

/// The cookies of the request's `Cookie` headers.
pub(crate) fn cookies<'a>(req: &'a RequestParts) -> impl Iterator<Item = (&'a str, &'a str)> {
    req.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
}

/// The parameter's value, or `None` when the request does not carry it.
/// `Err` for a value that cannot be read at all (JSON text that is not JSON).
pub(crate) fn read(
    schemas: &Schemas,
    p: &Param,
    req: &RequestParts,
) -> Result<Option<Value>, String> {
    let schema = p.schema.as_deref().and_then(|s| schemas.at(s));
    if p.json {
        let text = match p.location {
            In::Query => req
                .query
                .iter()
                .find(|(k, _)| *k == p.name)
                .map(|(_, v)| v.as_str()),
            In::Header => req.header(&p.name),
            In::Path => req
                .path_params
                .iter()
                .find(|(k, _)| *k == p.name)
                .map(|(_, v)| v.as_str()),
            In::Cookie => cookies(req).find(|(k, _)| *k == p.name).map(|(_, v)| v),
        };
        return match text {
            None => Ok(None),
            Some(t) => serde_json::from_str(t)
                .map(Some)
                .map_err(|e| format!("is not JSON: {e}")),
        };
    }
    let shape = shape(schemas, schema);
    Ok(match p.location {
        In::Path => {
            let Some((_, raw)) = req.path_params.iter().find(|(k, _)| *k == p.name) else {
                return Ok(None);
            };
            Some(match p.style {
                Style::Label => {
                    let text = raw.strip_prefix('.').unwrap_or(raw);
                    let sep = if p.explode { '.' } else { ',' };
                    structured(schemas, &shape, text, sep, p.explode.then_some('='))
                }
                Style::Matrix => matrix(schemas, &shape, &p.name, raw, p.explode),
                _ => structured(schemas, &shape, raw, ',', p.explode.then_some('=')),
            })
        }
        In::Header => req
            .header(&p.name)
            .map(|text| structured(schemas, &shape, text, ',', p.explode.then_some('='))),
        In::Cookie => {
            let values: Vec<&str> = cookies(req)
                .filter(|(k, _)| *k == p.name)
                .map(|(_, v)| v)
                .collect();
            values
                .first()
                .map(|text| structured(schemas, &shape, text, ',', None))
        }
        In::Query => query_value(schemas, p, &shape, req.query),
    })
}

fn matrix(schemas: &Schemas, shape: &Shape, name: &str, raw: &str, explode: bool) -> Value {
    let prefix = format!(";{name}=");
    match shape {
        Shape::Array(items) if explode => Value::Array(
            raw.split(';')
                .skip(1)
                .map(|part| {
                    coerce(
                        schemas,
                        *items,
                        part.strip_prefix(&prefix[1..]).unwrap_or(part),
                    )
                })
                .collect(),
        ),
        Shape::Object(_) if explode => structured(
            schemas,
            shape,
            raw.strip_prefix(';').unwrap_or(raw),
            ';',
            Some('='),
        ),
        _ => structured(
            schemas,
            shape,
            raw.strip_prefix(&prefix).unwrap_or(raw),
            ',',
            None,
        ),
    }
}

fn query_value(
    schemas: &Schemas,
    p: &Param,
    shape: &Shape,
    query: &[(String, String)],
) -> Option<Value> {
    let values = || {
        query
            .iter()
            .filter(|(k, _)| *k == p.name)
            .map(|(_, v)| v.as_str())
    };
    match (p.style, shape) {
        (Style::DeepObject, Shape::Object(schema)) => {
            let open = format!("{}[", p.name);
            let mut map = Map::new();
            for (k, v) in query {
                if let Some(prop) = k.strip_prefix(&open).and_then(|r| r.strip_suffix(']')) {
                    map.insert(
                        prop.to_owned(),
                        coerce(schemas, property(schemas, *schema, prop), v),
                    );
                }
            }
            (!map.is_empty()).then_some(Value::Object(map))
        }
        (_, Shape::Object(schema)) if p.explode => {
            // Each property is a query parameter of its own.
            let props = schema
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)?;
            let mut map = Map::new();
            for (k, v) in query {
                if props.contains_key(k) && !map.contains_key(k) {
                    map.insert(k.clone(), coerce(schemas, property(schemas, *schema, k), v));
                }
            }
            (!map.is_empty()).then_some(Value::Object(map))
        }
        (_, Shape::Array(items)) if p.explode => {
            let all: Vec<Value> = values().map(|v| coerce(schemas, *items, v)).collect();
            (!all.is_empty()).then_some(Value::Array(all))
        }
        (style, _) => {
            let text = values().next()?;
            let sep = match style {
                Style::SpaceDelimited => ' ',
                Style::PipeDelimited => '|',
                Style::TabDelimited => '\t',
                _ => ',',
            };
            Some(structured(schemas, shape, text, sep, None))
        }
    }
}
