//! Data made from a schema: the schema's own `const`, `enum`, `examples`,
//! `example` or `default` first, else a value of its type within its bounds,
//! in its format or pattern, and for strings without either a realistic value
//! chosen by the property's name (a name, an e-mail, a city).
//!
//! Everything is drawn from a ChaCha generator seeded by the caller's seed,
//! the operation and the status, so the same seed gives the same data on every
//! run and host; nothing reads the OS's randomness.

use super::pattern;
use super::{OpId, Spec};
use fake::faker::{address, company, internet, lorem, name, phone_number};
use fake::rand::rngs::ChaCha8Rng;
use fake::rand::{RngExt, SeedableRng};
use fake::Fake;
use serde_json::{Map, Number, Value};

/// Below this depth every property is made; deeper, only the required ones,
/// and arrays only as long as `minItems` says (so recursive schemas end).
const FULL_DEPTH: usize = 4;
/// Past this depth nothing more is made (`null`), whatever the schema asks.
const MAX_DEPTH: usize = 12;

pub(crate) struct Gen<'a> {
    spec: &'a Spec,
    rng: ChaCha8Rng,
}

/// FNV-1a: a hash that is the same on every platform and Rust version.
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Spec {
    /// A value for `schema` (a converted schema), from the seed, the
    /// operation and the status.
    pub(crate) fn generate(&self, schema: &Value, seed: u64, op: OpId, status: u16) -> Value {
        let mut g = self.generator(seed, op, status);
        g.value(schema, 0, None)
    }

    pub(crate) fn generator(&self, seed: u64, op: OpId, status: u16) -> Gen<'_> {
        let o = self.op(op);
        let key = fnv(&[
            &seed.to_le_bytes(),
            o.method.as_bytes(),
            self.model.paths[o.path].template.as_bytes(),
            &status.to_le_bytes(),
        ]);
        Gen {
            spec: self,
            rng: ChaCha8Rng::seed_from_u64(key),
        }
    }
}

fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn number(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

impl Gen<'_> {
    /// One value for `schema`; `name` is the property it is for, if any.
    pub(crate) fn value(&mut self, schema: &Value, depth: usize, name: Option<&str>) -> Value {
        let schema = self.spec.schemas.resolve(schema);
        let Value::Object(map) = schema else {
            return if schema == &Value::Bool(false) {
                Value::Null
            } else {
                Value::String(self.word())
            };
        };
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        if let Some(c) = map.get("const") {
            return c.clone();
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            let usable: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
            if !usable.is_empty() {
                return usable[self.rng.random_range(0..usable.len())].clone();
            }
        }
        if let Some(Value::Array(examples)) = map.get("examples") {
            if !examples.is_empty() {
                return examples[self.rng.random_range(0..examples.len())].clone();
            }
        }
        if let Some(example) = map.get("example").or_else(|| map.get("default")) {
            return example.clone();
        }
        if let Some(Value::Array(all)) = map.get("allOf") {
            return self.all_of(schema, all, depth, name);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = map.get(key) {
                let usable: Vec<&Value> = branches
                    .iter()
                    .filter(|b| types(self.spec.schemas.resolve(b)) != ["null"])
                    .collect();
                if let Some(branch) = usable.first() {
                    // The first branch: a oneOf's branches often overlap, and
                    // the first is the one a document lists as the main shape.
                    let mut value = self.value(branch, depth + 1, name);
                    if map.contains_key("properties") {
                        if let (Value::Object(extra), Value::Object(into)) =
                            (self.object(schema, depth, true), &mut value)
                        {
                            for (k, v) in extra {
                                into.entry(k).or_insert(v);
                            }
                        }
                    }
                    return value;
                }
            }
        }
        let t = types(schema);
        let kind = t
            .iter()
            .copied()
            .find(|t| *t != "null")
            .or_else(|| t.first().copied())
            .unwrap_or_else(|| {
                if map.contains_key("properties") || map.contains_key("additionalProperties") {
                    "object"
                } else if map.contains_key("items") || map.contains_key("prefixItems") {
                    "array"
                } else if map.contains_key("minimum") || map.contains_key("maximum") {
                    "number"
                } else {
                    "string"
                }
            });
        match kind {
            "null" => Value::Null,
            "boolean" => Value::Bool(self.rng.random_bool(0.5)),
            "integer" => self.integer(schema, name),
            "number" => self.float(schema),
            "array" => self.array(schema, depth, name),
            "object" => self.object(schema, depth, false),
            _ => Value::String(self.string(schema, name)),
        }
    }

    fn all_of(&mut self, schema: &Value, all: &[Value], depth: usize, name: Option<&str>) -> Value {
        let mut merged: Option<Value> = None;
        for part in all {
            let value = self.value(part, depth + 1, name);
            merged = Some(match (merged, value) {
                (Some(Value::Object(mut into)), Value::Object(more)) => {
                    for (k, v) in more {
                        into.insert(k, v);
                    }
                    Value::Object(into)
                }
                (_, value) => value,
            });
        }
        if schema.get("properties").is_some() {
            if let (Some(Value::Object(into)), Value::Object(more)) =
                (&mut merged, self.object(schema, depth, true))
            {
                for (k, v) in more {
                    into.entry(k).or_insert(v);
                }
            }
        }
        merged.unwrap_or(Value::Null)
    }

    fn integer(&mut self, schema: &Value, name: Option<&str>) -> Value {
        let id_like = name.is_some_and(|n| n == "id" || n.ends_with("Id") || n.ends_with("_id"));
        let mut lo = number(schema, "minimum")
            .map(f64::ceil)
            .unwrap_or(if id_like { 1.0 } else { 0.0 });
        let mut hi = number(schema, "maximum")
            .map(f64::floor)
            .unwrap_or(lo.max(0.0) + 1000.0);
        if let Some(x) = number(schema, "exclusiveMinimum") {
            lo = lo.max(x.floor() + 1.0);
        }
        if let Some(x) = number(schema, "exclusiveMaximum") {
            hi = hi.min(x.ceil() - 1.0);
        }
        if schema.get("format").and_then(Value::as_str) == Some("int32") {
            lo = lo.max(f64::from(i32::MIN));
            hi = hi.min(f64::from(i32::MAX));
        }
        let (lo, hi) = (lo.clamp(-9e15, 9e15) as i64, hi.clamp(-9e15, 9e15) as i64);
        let hi = hi.max(lo);
        let mut n = self.rng.random_range(lo..=hi);
        if let Some(step) = number(schema, "multipleOf").filter(|m| *m >= 1.0 && m.fract() == 0.0) {
            let step = step as i64;
            n = (n / step) * step;
            if n < lo {
                n += step;
            }
        }
        Value::Number(Number::from(n))
    }

    fn float(&mut self, schema: &Value) -> Value {
        let lo = number(schema, "minimum")
            .or_else(|| number(schema, "exclusiveMinimum"))
            .unwrap_or(0.0);
        let hi = number(schema, "maximum")
            .or_else(|| number(schema, "exclusiveMaximum"))
            .unwrap_or(lo.max(0.0) + 1000.0);
        let hi = hi.max(lo);
        let mut x = if hi > lo {
            self.rng.random_range(lo..hi)
        } else {
            lo
        };
        if let Some(step) = number(schema, "multipleOf").filter(|m| *m > 0.0) {
            x = ((x / step).ceil() * step).min(hi);
            if number(schema, "exclusiveMaximum").is_some_and(|m| x >= m) {
                x -= step;
            }
            return json_number(x);
        }
        x = (x * 100.0).round() / 100.0;
        if number(schema, "exclusiveMinimum").is_some_and(|m| x <= m) {
            x = (lo + hi) / 2.0;
        }
        if number(schema, "exclusiveMaximum").is_some_and(|m| x >= m) {
            x = (lo + hi) / 2.0;
        }
        json_number(x)
    }

    fn array(&mut self, schema: &Value, depth: usize, name: Option<&str>) -> Value {
        let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        let wanted = if depth >= FULL_DEPTH {
            min
        } else {
            let hi = max.unwrap_or(min.max(1) + 2).min(min.max(1) + 2);
            self.rng.random_range(min.max(1).min(hi)..=hi)
        };
        let wanted = wanted.min(max.unwrap_or(usize::MAX)).min(64);
        let mut items = Vec::with_capacity(wanted);
        if let Some(Value::Array(prefix)) = schema.get("prefixItems") {
            for p in prefix.iter().take(wanted.max(prefix.len())) {
                items.push(self.value(p, depth + 1, name));
            }
        }
        let item_schema = schema.get("items").cloned().unwrap_or(Value::Bool(true));
        let unique = schema.get("uniqueItems") == Some(&Value::Bool(true));
        let mut tries = 0;
        while items.len() < wanted && tries < wanted * 8 + 8 {
            tries += 1;
            let v = self.value(&item_schema, depth + 1, name);
            if unique && items.contains(&v) {
                continue;
            }
            items.push(v);
        }
        Value::Array(items)
    }

    /// A version 4 UUID from this generator.
    pub(crate) fn uuid(&mut self) -> String {
        uuid(&mut self.rng)
    }

    pub(crate) fn object(&mut self, schema: &Value, depth: usize, properties_only: bool) -> Value {
        let mut out = Map::new();
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(Value::Object(props)) = schema.get("properties") {
            for (key, sub) in props {
                let must = required.contains(&key.as_str());
                if !must && depth >= FULL_DEPTH {
                    continue;
                }
                let resolved = self.spec.schemas.resolve(sub);
                if resolved.get("writeOnly") == Some(&Value::Bool(true)) && !must {
                    continue;
                }
                out.insert(key.clone(), self.value(sub, depth + 1, Some(key)));
            }
        }
        if properties_only {
            return Value::Object(out);
        }
        for key in &required {
            if !out.contains_key(*key) {
                out.insert((*key).to_owned(), Value::String(self.word()));
            }
        }
        let min = schema
            .get("minProperties")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let extra = schema
            .get("additionalProperties")
            .filter(|a| a.is_object())
            .cloned();
        let mut n = 0;
        while out.len() < min && n < 64 {
            n += 1;
            let key = format!("{}{n}", self.word());
            let value = match &extra {
                Some(s) => self.value(s, depth + 1, Some(&key)),
                None => Value::String(self.word()),
            };
            out.insert(key, value);
        }
        Value::Object(out)
    }

    fn word(&mut self) -> String {
        lorem::en::Word().fake_with_rng(&mut self.rng)
    }

    fn string(&mut self, schema: &Value, name: Option<&str>) -> String {
        let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
            if let Some(s) = pattern::sample(p, &mut self.rng) {
                return s;
            }
        }
        let format = schema
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let text = match self.formatted(format) {
            Some(s) => return s,
            None => self.named(name.unwrap_or_default()),
        };
        fit(text, min, max, &mut self.rng)
    }

    fn formatted(&mut self, format: &str) -> Option<String> {
        let r = &mut self.rng;
        Some(match format {
            "email" | "idn-email" => internet::en::SafeEmail().fake_with_rng(r),
            "uuid" => uuid(r),
            "date" => date(r),
            "date-time" => format!("{}T{}Z", date(r), time(r)),
            "time" => format!("{}Z", time(r)),
            "duration" => format!("P{}DT{}H", r.random_range(0..30), r.random_range(0..24)),
            "uri" | "url" | "iri" => {
                let w: String = lorem::en::Word().fake_with_rng(r);
                format!("https://example.com/{w}")
            }
            "uri-reference" | "iri-reference" => {
                let w: String = lorem::en::Word().fake_with_rng(r);
                format!("/{w}")
            }
            "uri-template" => "https://example.com/{id}".to_owned(),
            "hostname" | "idn-hostname" => {
                let w: String = lorem::en::Word().fake_with_rng(r);
                format!("{w}.example.com")
            }
            "ipv4" => internet::en::IPv4().fake_with_rng(r),
            "ipv6" => internet::en::IPv6().fake_with_rng(r),
            "byte" => {
                let bytes: [u8; 12] = r.random();
                base64(&bytes)
            }
            "password" => internet::en::Password(10..16).fake_with_rng(r),
            "json-pointer" => {
                let w: String = lorem::en::Word().fake_with_rng(r);
                format!("/{w}")
            }
            "relative-json-pointer" => "0".to_owned(),
            "regex" => "^[a-z]+$".to_owned(),
            "int64" | "int32" => r.random_range(0..100_000).to_string(),
            _ => return None,
        })
    }

    /// A realistic string for a property, chosen by its name.
    fn named(&mut self, name: &str) -> String {
        let lower = name.to_ascii_lowercase().replace(['_', '-'], "");
        let r = &mut self.rng;
        let has = |w: &str| lower.contains(w);
        if has("email") {
            internet::en::SafeEmail().fake_with_rng(r)
        } else if lower == "firstname" || lower == "givenname" {
            name::en::FirstName().fake_with_rng(r)
        } else if lower == "lastname" || lower == "surname" || lower == "familyname" {
            name::en::LastName().fake_with_rng(r)
        } else if lower == "username" || lower == "login" || lower == "handle" {
            internet::en::Username().fake_with_rng(r)
        } else if lower == "name"
            || lower == "fullname"
            || lower == "displayname"
            || lower == "author"
        {
            name::en::Name().fake_with_rng(r)
        } else if has("phone") || has("mobile") {
            phone_number::en::PhoneNumber().fake_with_rng(r)
        } else if has("city") {
            address::en::CityName().fake_with_rng(r)
        } else if has("country") {
            address::en::CountryName().fake_with_rng(r)
        } else if has("street") || lower == "address" {
            let n: String = address::en::BuildingNumber().fake_with_rng(r);
            let s: String = address::en::StreetName().fake_with_rng(r);
            format!("{n} {s}")
        } else if has("zip") || has("postcode") || has("postalcode") {
            address::en::ZipCode().fake_with_rng(r)
        } else if has("state") && !has("status") {
            address::en::StateName().fake_with_rng(r)
        } else if has("company") || has("organization") || has("organisation") {
            company::en::CompanyName().fake_with_rng(r)
        } else if has("url") || has("uri") || has("link") || has("website") {
            let w: String = lorem::en::Word().fake_with_rng(r);
            format!("https://example.com/{w}")
        } else if has("description")
            || has("summary")
            || has("comment")
            || has("body")
            || has("message")
        {
            lorem::en::Sentence(4..10).fake_with_rng(r)
        } else if has("title") {
            let words: Vec<String> = lorem::en::Words(2..5).fake_with_rng(r);
            words.join(" ")
        } else if has("date") || lower.ends_with("at") {
            format!("{}T{}Z", date(r), time(r))
        } else if has("id") {
            uuid(r)
        } else {
            lorem::en::Word().fake_with_rng(r)
        }
    }
}

/// `text` made to fit `minLength` and `maxLength` (counted in characters).
fn fit(text: String, min: usize, max: Option<usize>, rng: &mut ChaCha8Rng) -> String {
    let mut text = text;
    while text.chars().count() < min {
        let w: String = lorem::en::Word().fake_with_rng(rng);
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&w);
    }
    if let Some(max) = max {
        if text.chars().count() > max {
            text = text.chars().take(max).collect();
        }
    }
    text
}

fn json_number(x: f64) -> Value {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9e15 {
        return Value::Number(Number::from(x as i64));
    }
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn date(r: &mut ChaCha8Rng) -> String {
    let year = r.random_range(2000..=2030);
    let month = r.random_range(1..=12);
    let day = r.random_range(1..=28);
    format!("{year:04}-{month:02}-{day:02}")
}

fn time(r: &mut ChaCha8Rng) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        r.random_range(0..24),
        r.random_range(0..60),
        r.random_range(0..60)
    )
}

/// A version 4 UUID from the generator (lowercase, hyphenated).
pub(crate) fn uuid(r: &mut ChaCha8Rng) -> String {
    let mut b: [u8; 16] = r.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).hyphenated().to_string()
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
