//! Requests and upstream answers checked against an operation, and the answer
//! a failed check gets (as Prism gives it).

use super::model::{is_json, Media, StatusKey};
use super::params::{self, form_pairs};
use super::schemas::Schemas;
use super::{OpId, Spec};
use boon::{ErrorKind, ValidationError};
use serde_json::{json, Map, Value};

/// The parts of a request that validation reads.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The method, as sent (`GET`).
    pub method: &'a str,
    /// The path parameters [`Spec::find`](super::Spec::find) gave.
    pub path_params: &'a [(String, String)],
    /// The query's pairs, percent- and `+`-decoded, in order, repeats kept.
    pub query: &'a [(String, String)],
    /// The headers, names in any case.
    pub headers: &'a [(String, String)],
    /// The body's bytes (empty for none).
    pub body: &'a [u8],
}

impl Default for RequestParts<'_> {
    fn default() -> Self {
        Self {
            method: "GET",
            path_params: &[],
            query: &[],
            headers: &[],
            body: &[],
        }
    }
}

impl RequestParts<'_> {
    /// A header's value (the first of that name, in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One way a request (or an upstream's answer) breaks its operation, in the
/// shape of Prism's `validation` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where: `["body", "name"]`, `["query", "limit"]`, `["header"]`.
    pub location: Vec<String>,
    /// The JSON Schema keyword that failed (`required`, `type`, `format` ...),
    /// or `401` for a missing credential and `415` for a media type the
    /// operation does not take, as Prism codes them.
    pub code: String,
    /// What is wrong, in words (`Request body property age must be integer`).
    pub message: String,
    /// For a `401`: the `WWW-Authenticate` challenges of the schemes not met.
    pub challenges: Vec<String>,
}

impl Violation {
    fn new(location: Vec<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            location,
            code: code.into(),
            message: message.into(),
            challenges: Vec::new(),
        }
    }

    /// The violation as an entry of a problem's `validation` list.
    pub fn to_json(&self) -> Value {
        json!({
            "location": self.location,
            "severity": "Error",
            "code": self.code,
            "message": self.message,
        })
    }
}

/// A response built by this module: a status, headers and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Headers, in order (`Content-Type` among them when there is a body).
    pub headers: Vec<(String, String)>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

impl Answer {
    /// An RFC 7807 `application/problem+json` answer.
    pub(crate) fn problem(
        status: u16,
        kind: &str,
        title: &str,
        detail: &str,
        extra: Option<(&str, Value)>,
    ) -> Self {
        let mut body = Map::new();
        body.insert(
            "type".into(),
            Value::String(format!("{PROBLEM_TYPES}#{kind}")),
        );
        body.insert("title".into(), title.into());
        body.insert("status".into(), status.into());
        body.insert("detail".into(), detail.into());
        if let Some((k, v)) = extra {
            body.insert(k.into(), v);
        }
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/problem+json".into())],
            body: Value::Object(body).to_string().into_bytes(),
        }
    }

    /// A header's value, in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where the `type` of a generated problem points: the user guide's list of them.
pub(super) const PROBLEM_TYPES: &str =
    "https://github.com/mock-rest-api/mock-rest-api/blob/main/docs/openapi.md";

/// Which side a check reads, for the words of its messages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Request,
    Response,
}

impl Spec {
    /// Every violation of the operation by the request: its security first
    /// (a missing credential, code `401`), then its parameters, then its body.
    /// Empty when the request is valid.
    pub fn validate_request(&self, op: OpId, req: &RequestParts) -> Vec<Violation> {
        let operation = self.op(op);
        let mut out = Vec::new();
        if let Some(v) = super::security::check(&operation.security, req) {
            out.push(v);
        }
        for p in &operation.params {
            let location = p.location.as_str();
            match params::read(&self.schemas, p, req) {
                Ok(None) if p.required => out.push(Violation::new(
                    vec![location.into()],
                    "required",
                    format!(
                        "Request {location} must have required property '{}'",
                        p.name
                    ),
                )),
                Ok(None) => {}
                Ok(Some(value)) => {
                    if let Some(schema) = &p.schema {
                        let prefix = vec![location.to_owned(), p.name.clone()];
                        let what = format!("Request {location} parameter {}", p.name);
                        out.extend(self.check(schema, &value, &prefix, &what, Side::Request));
                    }
                }
                Err(why) => out.push(Violation::new(
                    vec![location.into(), p.name.clone()],
                    "parse",
                    format!("Request {location} parameter {} {why}", p.name),
                )),
            }
        }
        if let Some(body) = &operation.body {
            out.extend(self.check_body(body, req));
        }
        out
    }

    /// The request's body as validation reads it (JSON, or a form with its
    /// values read as their properties' types), when the operation takes a
    /// body of that media type and it reads.
    pub fn request_body(&self, op: OpId, req: &RequestParts) -> Option<Value> {
        let body = self.op(op).body.as_ref()?;
        let media = match req.header("content-type") {
            Some(ct) => body
                .content
                .iter()
                .find(|m| media_matches(&m.media_type, ct)),
            None => body.content.first(),
        }?;
        read_body(&self.schemas, media, req.body, body.form).ok()?
    }

    fn check_body(&self, body: &super::model::Body, req: &RequestParts) -> Vec<Violation> {
        if req.body.is_empty() {
            if body.required {
                return vec![Violation::new(
                    vec!["body".into()],
                    "required",
                    "Body parameter is required",
                )];
            }
            return Vec::new();
        }
        if body.content.is_empty() {
            return Vec::new();
        }
        let content_type = req.header("content-type");
        let media = match content_type {
            Some(ct) => body
                .content
                .iter()
                .find(|m| media_matches(&m.media_type, ct)),
            // Without a Content-Type, the body is read as the first type the
            // operation takes (this mock does not require the header).
            None => body.content.first(),
        };
        let Some(media) = media else {
            let supported: Vec<&str> = body.content.iter().map(|m| m.media_type.as_str()).collect();
            return vec![Violation::new(
                vec!["header".into(), "content-type".into()],
                "415",
                format!("Supported content types: {}", supported.join(",")),
            )];
        };
        let Some(schema) = &media.schema else {
            return Vec::new();
        };
        let value = match read_body(&self.schemas, media, req.body, body.form) {
            Ok(Some(v)) => v,
            Ok(None) => return Vec::new(),
            Err(why) => {
                return vec![Violation::new(
                    vec!["body".into()],
                    "parse",
                    format!("Request body {why}"),
                )]
            }
        };
        self.check(
            schema,
            &value,
            &["body".to_owned()],
            "Request body",
            Side::Request,
        )
    }

    /// The schema at `pointer` checked against `value`: each failure as a
    /// violation at `prefix` and the failing value's place.
    pub(crate) fn check(
        &self,
        pointer: &str,
        value: &Value,
        prefix: &[String],
        what: &str,
        side: Side,
    ) -> Vec<Violation> {
        let Some(error) = self.schemas.validate(pointer, value) else {
            return Vec::new();
        };
        let mut leaves = Vec::new();
        flatten(&error, &mut leaves);
        let mut out: Vec<Violation> = Vec::new();
        for leaf in leaves {
            for v in violations(&self.schemas, leaf, prefix, what, side) {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        out
    }

    /// The answer to a request with violations, as Prism chooses it: for a
    /// missing credential the operation's `401`, for an unsupported media
    /// type its `415`, else its `422`, `400` or `default` response (its first
    /// example, or data generated from its schema); with none declared, a
    /// generated `401` with `WWW-Authenticate`, `415`, or `422`
    /// `application/problem+json` listing the violations.
    pub fn violation_response(&self, op: OpId, violations: &[Violation]) -> Answer {
        let security = violations.iter().find(|v| v.code == "401");
        let media = violations.iter().find(|v| v.code == "415");
        let wanted: &[u16] = if security.is_some() {
            &[401]
        } else if media.is_some() {
            &[415, 422, 400]
        } else {
            &[422, 400]
        };
        let operation = self.op(op);
        let declared = wanted
            .iter()
            .find_map(|code| {
                operation
                    .responses
                    .iter()
                    .find(|r| r.key == StatusKey::Code(*code))
                    .map(|r| (*code, r))
            })
            .or_else(|| {
                if security.is_some() {
                    return None;
                }
                operation
                    .responses
                    .iter()
                    .find(|r| r.key == StatusKey::Default)
                    .map(|r| (wanted[0], r))
            });
        if let Some((status, response)) = declared {
            if let Some(mut answer) = self.declared_answer(op, status, response) {
                if let Some(v) = security {
                    if !v.challenges.is_empty() {
                        answer
                            .headers
                            .push(("WWW-Authenticate".into(), v.challenges.join(", ")));
                    }
                }
                return answer;
            }
        }
        if let Some(v) = security {
            let mut answer = Answer::problem(
                401,
                "UNAUTHORIZED",
                "Invalid security scheme used",
                "Your request does not fulfil the security requirements and no HTTP unauthorized response was found in the document, so the mock is generating this error for you.",
                None,
            );
            answer
                .headers
                .push(("WWW-Authenticate".into(), v.challenges.join(", ")));
            return answer;
        }
        if let Some(v) = media {
            return Answer::problem(
                415,
                "INVALID_CONTENT_TYPE",
                "Invalid content type",
                &v.message,
                None,
            );
        }
        Answer::problem(
            422,
            "UNPROCESSABLE_ENTITY",
            "Invalid request",
            "Your request is not valid and no HTTP validation response was found in the document, so the mock is generating this error for you.",
            Some(("validation", Value::Array(violations.iter().map(Violation::to_json).collect()))),
        )
    }

    /// A declared response as an answer: its first JSON-ish media type with
    /// its first example, or data generated from its schema; `None` when it
    /// has content but neither an example nor a schema to answer with.
    fn declared_answer(
        &self,
        op: OpId,
        status: u16,
        response: &super::model::ResponseDef,
    ) -> Option<Answer> {
        let choice = super::negotiate::Choice::for_response(op, status, response, None);
        let body = self.body(&choice, 0);
        if body.is_none() && !response.content.is_empty() {
            return None;
        }
        Some(self.answer(&choice, body, 0))
    }

    /// The violations of an upstream's answer to the operation: a status the
    /// operation does not declare, a media type its response does not list,
    /// and the body's failures of the response's schema (contract drift).
    pub fn validate_response(
        &self,
        op: OpId,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Vec<Violation> {
        let operation = self.op(op);
        let response = operation
            .responses
            .iter()
            .find(|r| r.key == StatusKey::Code(status))
            .or_else(|| {
                operation
                    .responses
                    .iter()
                    .find(|r| r.key == StatusKey::Range(status / 100))
            })
            .or_else(|| {
                operation
                    .responses
                    .iter()
                    .find(|r| r.key == StatusKey::Default)
            });
        let Some(response) = response else {
            return vec![Violation::new(
                vec!["status".into()],
                "status",
                format!("Response status {status} is not declared by the operation"),
            )];
        };
        if response.content.is_empty() || body.is_empty() {
            return Vec::new();
        }
        let media = match content_type {
            Some(ct) => response
                .content
                .iter()
                .find(|m| media_matches(&m.media_type, ct)),
            None => response.content.first(),
        };
        let Some(media) = media else {
            let declared: Vec<&str> = response
                .content
                .iter()
                .map(|m| m.media_type.as_str())
                .collect();
            return vec![Violation::new(
                vec!["header".into(), "content-type".into()],
                "content-type",
                format!(
                    "Response content type {} is not one of {}",
                    content_type.unwrap_or_default(),
                    declared.join(",")
                ),
            )];
        };
        let Some(schema) = &media.schema else {
            return Vec::new();
        };
        match read_body(&self.schemas, media, body, false) {
            Ok(Some(value)) => self.check(
                schema,
                &value,
                &["body".to_owned()],
                "Response body",
                Side::Response,
            ),
            Ok(None) => Vec::new(),
            Err(why) => vec![Violation::new(
                vec!["body".into()],
                "parse",
                format!("Response body {why}"),
            )],
        }
    }
}

/// Whether a declared media type (maybe `application/*` or `*/*`) takes the
/// given `Content-Type` (parameters such as `charset` aside).
pub(crate) fn media_matches(declared: &str, given: &str) -> bool {
    let essence = |m: &str| {
        m.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    };
    let (declared, given) = (essence(declared), essence(given));
    let (Some((dt, ds)), Some((gt, gs))) = (declared.split_once('/'), given.split_once('/')) else {
        return false;
    };
    (dt == "*" || gt == "*" || dt == gt) && (ds == "*" || gs == "*" || ds == gs)
}

/// The body as the value its schema describes: JSON, a form, or text.
/// `Ok(None)` for a body this module does not read (multipart, binary).
fn read_body(
    schemas: &Schemas,
    media: &Media,
    body: &[u8],
    form: bool,
) -> Result<Option<Value>, String> {
    let essence = media
        .media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/x-www-form-urlencoded" {
        let schema = media.schema.as_deref().and_then(|s| schemas.at(s));
        let text = std::str::from_utf8(body).map_err(|_| "is not UTF-8".to_owned())?;
        return Ok(Some(form_object(schemas, schema, text)));
    }
    if form || essence.starts_with("multipart/") {
        return Ok(None);
    }
    if is_json(&essence) {
        if !crate::json::body::nests_within(body, 0) {
            return Err(format!(
                "nests deeper than {} levels",
                crate::json::body::MAX_DEPTH
            ));
        }
        return serde_json::from_slice(body)
            .map(Some)
            .map_err(|e| format!("is not valid JSON: {e}"));
    }
    if essence.starts_with("text/") {
        let text = std::str::from_utf8(body).map_err(|_| "is not UTF-8".to_owned())?;
        return Ok(Some(Value::String(text.to_owned())));
    }
    Ok(None)
}

/// A form body (`a=1&b=x&b=y`) as an object: repeated keys are a list when
/// the property is an array, values read as their schemas' types.
fn form_object(schemas: &Schemas, schema: Option<&Value>, text: &str) -> Value {
    let mut map = Map::new();
    for (k, v) in form_pairs(text) {
        let prop = schema
            .and_then(|s| s.get("properties"))
            .and_then(|p| p.get(&k))
            .map(|s| schemas.resolve(s));
        let is_array = prop.is_some_and(|p| p.get("type") == Some(&Value::from("array")));
        if is_array {
            let items = prop.and_then(|p| p.get("items"));
            let entry = map.entry(k).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = entry {
                list.push(params::coerce(schemas, items, &v));
            }
        } else if !map.contains_key(&k) {
            map.insert(k, params::coerce(schemas, prop, &v));
        }
    }
    Value::Object(map)
}

/// The errors that say what failed: the leaves of boon's tree, except that
/// a failed `anyOf`, `oneOf` or `not` is one error, not its branches'.
fn flatten<'a, 's, 'v>(e: &'a ValidationError<'s, 'v>, out: &mut Vec<&'a ValidationError<'s, 'v>>) {
    match &e.kind {
        ErrorKind::AnyOf | ErrorKind::OneOf(_) | ErrorKind::Not => out.push(e),
        _ if e.causes.is_empty() => out.push(e),
        _ => e.causes.iter().for_each(|c| flatten(c, out)),
    }
}

/// One boon error as violations (one per missing property), in ajv's words
/// as Prism reports them; `required` of a `readOnly` property is no
/// violation of a request, nor of a `writeOnly` one of a response.
fn violations(
    schemas: &Schemas,
    e: &ValidationError,
    prefix: &[String],
    what: &str,
    side: Side,
) -> Vec<Violation> {
    let steps: Vec<String> = e.instance_location.tokens.iter().map(token_text).collect();
    let mut location = prefix.to_vec();
    location.extend(steps.iter().cloned());
    let place = if steps.is_empty() {
        format!("{what} ")
    } else if what.ends_with("body") {
        format!("{what} property {} ", steps.join("."))
    } else {
        format!("{what} {} ", steps.join("."))
    };
    let one = |code: &str, message: String| {
        vec![Violation::new(
            location.clone(),
            code,
            format!("{place}{message}"),
        )]
    };
    match &e.kind {
        ErrorKind::Required { want } => {
            let schema = schema_at(schemas, e.schema_url);
            want.iter()
                .filter(|name| !skipped(schemas, schema, name, side))
                .map(|name| {
                    Violation::new(
                        location.clone(),
                        "required",
                        format!("{place}must have required property '{name}'"),
                    )
                })
                .collect()
        }
        ErrorKind::Type { want, .. } => one(
            "type",
            format!(
                "must be {}",
                want.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
        ErrorKind::Enum { want } => one(
            "enum",
            format!(
                "must be equal to one of the allowed values: {}",
                want.iter().map(plain).collect::<Vec<_>>().join(", ")
            ),
        ),
        ErrorKind::Const { .. } => one("const", "must be equal to constant".into()),
        ErrorKind::Format { want, .. } => one("format", format!("must match format \"{want}\"")),
        ErrorKind::Pattern { want, .. } => one("pattern", format!("must match pattern \"{want}\"")),
        ErrorKind::Minimum { want, .. } => one("minimum", format!("must be >= {want}")),
        ErrorKind::Maximum { want, .. } => one("maximum", format!("must be <= {want}")),
        ErrorKind::ExclusiveMinimum { want, .. } => {
            one("exclusiveMinimum", format!("must be > {want}"))
        }
        ErrorKind::ExclusiveMaximum { want, .. } => {
            one("exclusiveMaximum", format!("must be < {want}"))
        }
        ErrorKind::MultipleOf { want, .. } => {
            one("multipleOf", format!("must be multiple of {want}"))
        }
        ErrorKind::MinLength { want, .. } => one(
            "minLength",
            format!("must NOT have fewer than {want} characters"),
        ),
        ErrorKind::MaxLength { want, .. } => one(
            "maxLength",
            format!("must NOT have more than {want} characters"),
        ),
        ErrorKind::MinItems { want, .. } => {
            one("minItems", format!("must NOT have fewer than {want} items"))
        }
        ErrorKind::MaxItems { want, .. } => {
            one("maxItems", format!("must NOT have more than {want} items"))
        }
        ErrorKind::UniqueItems { got } => one(
            "uniqueItems",
            format!(
                "must NOT have duplicate items (items ## {} and {} are identical)",
                got[1], got[0]
            ),
        ),
        ErrorKind::MinProperties { want, .. } => one(
            "minProperties",
            format!("must NOT have fewer than {want} properties"),
        ),
        ErrorKind::MaxProperties { want, .. } => one(
            "maxProperties",
            format!("must NOT have more than {want} properties"),
        ),
        ErrorKind::AdditionalProperties { got } => got
            .iter()
            .map(|name| {
                Violation::new(
                    location.clone(),
                    "additionalProperties",
                    format!("{place}must NOT have additional properties; found '{name}'"),
                )
            })
            .collect(),
        ErrorKind::DependentRequired { prop, missing }
        | ErrorKind::Dependency { prop, missing } => one(
            "dependentRequired",
            format!(
                "must have property {} when property {prop} is present",
                missing.join(", ")
            ),
        ),
        ErrorKind::AnyOf => one("anyOf", "must match a schema in anyOf".into()),
        ErrorKind::OneOf(_) => one("oneOf", "must match exactly one schema in oneOf".into()),
        ErrorKind::Not => one("not", "must NOT be valid".into()),
        ErrorKind::FalseSchema => one("false schema", "boolean schema is false".into()),
        ErrorKind::Contains | ErrorKind::MinContains { .. } => {
            one("contains", "must contain at least 1 valid item(s)".into())
        }
        ErrorKind::MaxContains { want, .. } => one(
            "maxContains",
            format!("must contain at most {want} valid item(s)"),
        ),
        ErrorKind::AdditionalItems { .. } => one(
            "items",
            "must NOT have more items than the schema lists".into(),
        ),
        ErrorKind::PropertyName { prop } => one(
            "propertyNames",
            format!("property name '{prop}' is invalid"),
        ),
        other => one("schema", other.to_string()),
    }
}

fn token_text(t: &boon::InstanceToken) -> String {
    match t {
        boon::InstanceToken::Prop(p) => p.to_string(),
        boon::InstanceToken::Item(i) => i.to_string(),
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The converted schema a boon error names by URL.
fn schema_at<'a>(schemas: &'a Schemas, url: &str) -> Option<&'a Value> {
    let fragment = url.split_once('#')?.1;
    let pointer = percent_encoding::percent_decode_str(fragment)
        .decode_utf8()
        .ok()?;
    schemas.at(&pointer)
}

/// Whether a required property is not the sender's to send: `readOnly` in a
/// request, `writeOnly` in a response.
fn skipped(schemas: &Schemas, schema: Option<&Value>, name: &str, side: Side) -> bool {
    let flag = match side {
        Side::Request => "readOnly",
        Side::Response => "writeOnly",
    };
    let Some(prop) = schema
        .and_then(|s| s.get("properties"))
        .and_then(|p| p.get(name))
    else {
        return false;
    };
    let prop = schemas.resolve(prop);
    prop.get(flag) == Some(&Value::Bool(true))
        || prop
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|all| {
                all.iter()
                    .any(|s| schemas.resolve(s).get(flag) == Some(&Value::Bool(true)))
            })
}
