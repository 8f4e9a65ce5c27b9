//! The document's operations in one shape for every version: Swagger 2.0's
//! `body`/`formData` parameters, `consumes`/`produces` and `securityDefinitions`
//! become what OpenAPI 3 calls request bodies, content and security schemes.

use super::error::SpecError;
use super::pointer::{follow, get, join};
use serde_json::{Map, Value};

/// The version of a document, as its `openapi` or `swagger` field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Swagger 2.0.
    Swagger2,
    /// OpenAPI 3.0.x: schemas are JSON Schema draft 4 with `nullable`.
    OpenApi30,
    /// OpenAPI 3.1.x: schemas are JSON Schema 2020-12.
    OpenApi31,
}

pub(crate) const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Where a parameter is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// A segment of the path.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
    /// A cookie of the `Cookie` header.
    Cookie,
}

impl In {
    /// The name OpenAPI gives it, which is also the first step of a
    /// violation's location.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Path => "path",
            Self::Query => "query",
            Self::Header => "header",
            Self::Cookie => "cookie",
        }
    }
}

/// How a parameter's value is written (OpenAPI's `style`; Swagger 2.0's
/// `collectionFormat` maps onto it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Simple,
    Label,
    Matrix,
    Form,
    SpaceDelimited,
    PipeDelimited,
    TabDelimited,
    DeepObject,
}

#[derive(Debug, Clone)]
pub(crate) struct Param {
    pub name: String,
    pub location: In,
    pub required: bool,
    pub style: Style,
    pub explode: bool,
    /// The pointer of its schema in the converted schemas, when it has one.
    pub schema: Option<String>,
    /// The value is JSON text (a parameter with `content: application/json`).
    pub json: bool,
    pub pointer: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Media {
    pub media_type: String,
    pub schema: Option<String>,
    /// Named examples: their name and the pointer of their value.
    pub examples: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub required: bool,
    pub content: Vec<Media>,
    /// A Swagger 2.0 `formData` body: a form, whatever the media type.
    pub form: bool,
}

/// Which statuses a response of the document stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum StatusKey {
    Code(u16),
    /// `2XX`: the hundreds digit.
    Range(u16),
    Default,
}

#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub name: String,
    pub schema: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct ResponseDef {
    pub key: StatusKey,
    pub content: Vec<Media>,
    pub headers: Vec<Header>,
}

/// One way a security requirement is met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scheme {
    ApiKey {
        name: String,
        location: In,
    },
    Basic,
    Bearer,
    /// Another `http` scheme (`Digest`, ...): an `Authorization` header with it.
    Http(String),
    OAuth2,
    OpenIdConnect,
    /// Mutual TLS, which a mock behind a host's TLS cannot see: always met.
    MutualTls,
}

#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub method: &'static str,
    pub path: usize,
    pub operation_id: Option<String>,
    /// Its `summary`, else the first line of its `description`.
    pub summary: Option<String>,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    pub responses: Vec<ResponseDef>,
    /// Alternatives, each a list of schemes that must all be met; an empty
    /// alternative lets anyone in.
    pub security: Vec<Vec<(String, Scheme)>>,
    pub deprecated: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct PathDef {
    pub template: String,
    /// The segments: literal text, or `{name}` inside literal text.
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(String),
    /// A segment with parameters: literal text around `{name}`s.
    Template(Vec<Piece>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Param(String),
}

pub(crate) struct Model {
    pub version: Version,
    pub paths: Vec<PathDef>,
    pub operations: Vec<Operation>,
    /// Every schema the operations name, as pointers into the document.
    pub schema_roots: Vec<String>,
    /// Swagger 2.0 form bodies: where their object schema goes, and the
    /// `formData` parameters it is made of.
    pub forms: Vec<(String, Vec<Special>)>,
}

pub(crate) fn version(doc: &Value) -> Result<Version, SpecError> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(v) = doc.get("openapi") {
        let v = text(v);
        if v.starts_with("3.0") {
            return Ok(Version::OpenApi30);
        }
        if v.starts_with("3.1") {
            return Ok(Version::OpenApi31);
        }
        return Err(SpecError::at(
            "/openapi",
            format!("OpenAPI {v} is not read; this mock reads OpenAPI 3.0, 3.1 and Swagger 2.0"),
        ));
    }
    if let Some(v) = doc.get("swagger") {
        let v = text(v);
        if v == "2.0" || v == "2" {
            return Ok(Version::Swagger2);
        }
        return Err(SpecError::at(
            "/swagger",
            format!("Swagger {v} is not read; this mock reads OpenAPI 3.0, 3.1 and Swagger 2.0"),
        ));
    }
    Err(SpecError::whole(
        "neither an \"openapi\" nor a \"swagger\" field: this is not an OpenAPI document",
    ))
}

fn object<'a>(
    value: &'a Value,
    pointer: &str,
    what: &str,
) -> Result<&'a Map<String, Value>, SpecError> {
    value
        .as_object()
        .ok_or_else(|| SpecError::at(pointer, format!("{what} must be an object")))
}

pub(crate) fn build(doc: &Value) -> Result<Model, SpecError> {
    let version = version(doc)?;
    let root = object(doc, "", "the document")?;
    let mut model = Model {
        version,
        paths: Vec::new(),
        operations: Vec::new(),
        schema_roots: Vec::new(),
        forms: Vec::new(),
    };
    let schemes = schemes(doc, version)?;
    let global_security = match root.get("security") {
        Some(s) => Some(requirements(s, "/security", &schemes)?),
        None => None,
    };
    let empty = Map::new();
    let paths = match root.get("paths") {
        Some(p) => object(p, "/paths", "paths")?,
        None => &empty,
    };
    for (template, _) in paths {
        let item_pointer = join("/paths", template);
        if !template.starts_with('/') {
            return Err(SpecError::at(item_pointer, "a path must start with \"/\""));
        }
        let (item_pointer, item) = follow(doc, &item_pointer)?;
        let item = object(item, &item_pointer, "a path item")?;
        let path = model.paths.len();
        model.paths.push(PathDef {
            template: template.clone(),
            segments: segments(template)
                .map_err(|why| SpecError::at(join("/paths", template), why))?,
        });
        let (shared, shared_specials) = match item.get("parameters") {
            Some(_) => params(
                doc,
                &join(&item_pointer, "parameters"),
                version,
                &mut model.schema_roots,
            )?,
            None => (Vec::new(), Vec::new()),
        };
        for (method, op) in item.iter().filter(|(k, _)| METHODS.contains(&k.as_str())) {
            let pointer = join(&item_pointer, method);
            let op = object(op, &pointer, "an operation")?;
            let (mut own, mut specials) = match op.get("parameters") {
                Some(_) => params(
                    doc,
                    &join(&pointer, "parameters"),
                    version,
                    &mut model.schema_roots,
                )?,
                None => (Vec::new(), Vec::new()),
            };
            for p in &shared {
                if !own
                    .iter()
                    .any(|o| o.name == p.name && o.location == p.location)
                {
                    own.push(p.clone());
                }
            }
            for p in &shared_specials {
                if !specials
                    .iter()
                    .any(|o| o.name == p.name && o.body == p.body)
                {
                    specials.push(p.clone());
                }
            }
            let (params, body) = match version {
                Version::Swagger2 => {
                    let body = swagger_body(
                        doc,
                        &pointer,
                        &specials,
                        &mut model.schema_roots,
                        &mut model.forms,
                    )?;
                    (own, body)
                }
                _ => {
                    let body = match op.get("requestBody") {
                        Some(_) => Some(request_body(
                            doc,
                            &join(&pointer, "requestBody"),
                            &mut model.schema_roots,
                        )?),
                        None => None,
                    };
                    (own, body)
                }
            };
            for p in &params {
                if p.location == In::Path && !template.contains(&format!("{{{}}}", p.name)) {
                    return Err(SpecError::at(
                        p.pointer.clone(),
                        format!(
                            "path parameter \"{}\" is not in the path {template}",
                            p.name
                        ),
                    ));
                }
            }
            let responses = responses(doc, &pointer, version, &mut model.schema_roots)?;
            let security = match op.get("security") {
                Some(s) => requirements(s, &join(&pointer, "security"), &schemes)?,
                None => global_security.clone().unwrap_or_default(),
            };
            model.operations.push(Operation {
                method: method_name(method),
                path,
                operation_id: op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                summary: op
                    .get("summary")
                    .and_then(Value::as_str)
                    .or_else(|| {
                        op.get("description")
                            .and_then(Value::as_str)
                            .and_then(|d| d.lines().next())
                    })
                    .map(str::to_owned),
                params,
                body,
                responses,
                security,
                deprecated: op.get("deprecated") == Some(&Value::Bool(true)),
            });
        }
    }
    Ok(model)
}

fn method_name(method: &str) -> &'static str {
    match method {
        "get" => "GET",
        "put" => "PUT",
        "post" => "POST",
        "delete" => "DELETE",
        "options" => "OPTIONS",
        "head" => "HEAD",
        "patch" => "PATCH",
        _ => "TRACE",
    }
}

/// A path template's segments, checked: every `{` closes and names are not
/// empty. A name may appear twice (the first value is the one read).
fn segments(template: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    for raw in template.split('/').skip(1) {
        if !raw.contains('{') && !raw.contains('}') {
            out.push(Segment::Literal(raw.to_owned()));
            continue;
        }
        let mut pieces = Vec::new();
        let mut rest = raw;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let close = rest[open..].find('}').ok_or("a \"{\" without its \"}\"")? + open;
            let name = &rest[open + 1..close];
            if name.is_empty() || name.contains('{') {
                return Err("a path parameter needs a name between \"{\" and \"}\"".into());
            }
            if matches!(pieces.last(), Some(Piece::Param(_))) {
                return Err(
                    "two path parameters with nothing between them cannot be told apart".into(),
                );
            }
            pieces.push(Piece::Param(name.to_owned()));
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err("a \"}\" without its \"{\"".into());
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        out.push(Segment::Template(pieces));
    }
    Ok(out)
}

/// A Swagger 2.0 `body` or `formData` parameter, gathered into a request body.
#[derive(Debug, Clone)]
pub(crate) struct Special {
    pub body: bool,
    pub name: String,
    pub required: bool,
    pub pointer: String,
}

/// Where the converted schemas hold the object schema made of an operation's
/// `formData` parameters.
pub(crate) fn form_pointer(op_pointer: &str) -> String {
    join(op_pointer, "x-mock-rest-api-form")
}

type Params = (Vec<Param>, Vec<Special>);

fn params(
    doc: &Value,
    pointer: &str,
    version: Version,
    roots: &mut Vec<String>,
) -> Result<Params, SpecError> {
    let mut specials = Vec::new();
    let list = get(doc, pointer)
        .and_then(Value::as_array)
        .ok_or_else(|| SpecError::at(pointer, "parameters must be an array"))?;
    let mut out = Vec::new();
    for i in 0..list.len() {
        let (at, value) = follow(doc, &join(pointer, &i.to_string()))?;
        let p = object(value, &at, "a parameter")?;
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| SpecError::at(&at, "a parameter needs a \"name\""))?;
        let location = p.get("in").and_then(Value::as_str).unwrap_or_default();
        let location = match location {
            "path" => In::Path,
            "query" => In::Query,
            "header" => In::Header,
            "cookie" if version != Version::Swagger2 => In::Cookie,
            "body" | "formData" if version == Version::Swagger2 => {
                specials.push(Special {
                    body: location == "body",
                    name: name.to_owned(),
                    required: p.get("required") == Some(&Value::Bool(true)),
                    pointer: at,
                });
                continue;
            }
            other => {
                return Err(SpecError::at(
                    join(&at, "in"),
                    format!("a parameter in \"{other}\" is not known to this version"),
                ))
            }
        };
        let required = location == In::Path || p.get("required") == Some(&Value::Bool(true));
        let (style, explode, schema, json) = if version == Version::Swagger2 {
            let (style, explode) = match p.get("collectionFormat").and_then(Value::as_str) {
                Some("ssv") => (Style::SpaceDelimited, false),
                Some("tsv") => (Style::TabDelimited, false),
                Some("pipes") => (Style::PipeDelimited, false),
                Some("multi") => (Style::Form, true),
                _ if matches!(location, In::Query | In::Cookie) => (Style::Form, false),
                _ => (Style::Simple, false),
            };
            roots.push(at.clone());
            (style, explode, Some(at.clone()), false)
        } else {
            let style = match p.get("style").and_then(Value::as_str) {
                None => match location {
                    In::Query | In::Cookie => Style::Form,
                    _ => Style::Simple,
                },
                Some("simple") => Style::Simple,
                Some("label") => Style::Label,
                Some("matrix") => Style::Matrix,
                Some("form") => Style::Form,
                Some("spaceDelimited") => Style::SpaceDelimited,
                Some("pipeDelimited") => Style::PipeDelimited,
                Some("deepObject") => Style::DeepObject,
                Some(other) => {
                    return Err(SpecError::at(
                        join(&at, "style"),
                        format!("unknown style \"{other}\""),
                    ))
                }
            };
            let explode = p
                .get("explode")
                .and_then(Value::as_bool)
                .unwrap_or(style == Style::Form);
            let (schema, json) = if p.contains_key("schema") {
                (Some(join(&at, "schema")), false)
            } else if let Some(content) = p.get("content").and_then(Value::as_object) {
                match content.keys().next() {
                    Some(mt) => {
                        let media = join(&join(&at, "content"), mt);
                        let schema = get(doc, &media)
                            .and_then(|m| m.get("schema"))
                            .map(|_| join(&media, "schema"));
                        (schema, is_json(mt))
                    }
                    None => (None, false),
                }
            } else {
                (None, false)
            };
            if let Some(s) = &schema {
                roots.push(s.clone());
            }
            (style, explode, schema, json)
        };
        out.push(Param {
            name: name.to_owned(),
            location,
            required,
            style,
            explode,
            schema,
            json,
            pointer: at,
        });
    }
    Ok((out, specials))
}

/// Whether a media type carries JSON (`application/json`, `*/*+json`).
pub(crate) fn is_json(media_type: &str) -> bool {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence.ends_with("+json")
        || essence == "*/*"
        || essence == "application/*"
}

fn media_types(doc: &Value, op_pointer: &str, key: &str) -> Vec<String> {
    let own = get(doc, op_pointer).and_then(|o| o.get(key));
    let list = own.or_else(|| doc.get(key)).and_then(Value::as_array);
    let list: Vec<String> = list
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if list.is_empty() {
        vec!["application/json".to_owned()]
    } else {
        list
    }
}

/// Swagger 2.0: the `body` parameter, or the `formData` ones, as a request body.
fn swagger_body(
    doc: &Value,
    op_pointer: &str,
    specials: &[Special],
    roots: &mut Vec<String>,
    forms: &mut Vec<(String, Vec<Special>)>,
) -> Result<Option<Body>, SpecError> {
    if specials.is_empty() {
        return Ok(None);
    }
    let consumes = media_types(doc, op_pointer, "consumes");
    if let Some(body) = specials.iter().find(|p| p.body) {
        let schema = join(&body.pointer, "schema");
        let schema = get(doc, &schema).map(|_| schema);
        if let Some(s) = &schema {
            roots.push(s.clone());
        }
        let content = consumes
            .into_iter()
            .map(|media_type| Media {
                media_type,
                schema: schema.clone(),
                examples: Vec::new(),
            })
            .collect();
        return Ok(Some(Body {
            required: body.required,
            content,
            form: false,
        }));
    }
    let form = form_pointer(op_pointer);
    roots.push(form.clone());
    forms.push((form.clone(), specials.to_vec()));
    let mut content: Vec<String> = consumes
        .into_iter()
        .filter(|m| {
            m.starts_with("application/x-www-form-urlencoded")
                || m.starts_with("multipart/form-data")
        })
        .collect();
    if content.is_empty() {
        content.push("application/x-www-form-urlencoded".to_owned());
    }
    Ok(Some(Body {
        required: specials.iter().any(|p| p.required),
        content: content
            .into_iter()
            .map(|media_type| Media {
                media_type,
                schema: Some(form.clone()),
                examples: Vec::new(),
            })
            .collect(),
        form: true,
    }))
}

fn content(doc: &Value, pointer: &str, roots: &mut Vec<String>) -> Result<Vec<Media>, SpecError> {
    let Some(map) = get(doc, pointer) else {
        return Ok(Vec::new());
    };
    let map = object(map, pointer, "content")?;
    let mut out = Vec::new();
    for (media_type, media) in map {
        let at = join(pointer, media_type);
        let media = object(media, &at, "a media type")?;
        let schema = media.get("schema").map(|_| join(&at, "schema"));
        if let Some(s) = &schema {
            roots.push(s.clone());
        }
        let mut examples = Vec::new();
        if media.contains_key("example") {
            examples.push(("default".to_owned(), join(&at, "example")));
        }
        if let Some(named) = media.get("examples").and_then(Value::as_object) {
            for name in named.keys() {
                let (example_at, example) = follow(doc, &join(&join(&at, "examples"), name))?;
                if example.get("value").is_some() {
                    examples.push((name.clone(), join(&example_at, "value")));
                }
            }
        }
        out.push(Media {
            media_type: media_type.clone(),
            schema,
            examples,
        });
    }
    Ok(out)
}

fn request_body(doc: &Value, pointer: &str, roots: &mut Vec<String>) -> Result<Body, SpecError> {
    let (at, body) = follow(doc, pointer)?;
    let body = object(body, &at, "a request body")?;
    Ok(Body {
        required: body.get("required") == Some(&Value::Bool(true)),
        content: content(doc, &join(&at, "content"), roots)?,
        form: false,
    })
}

fn responses(
    doc: &Value,
    op_pointer: &str,
    version: Version,
    roots: &mut Vec<String>,
) -> Result<Vec<ResponseDef>, SpecError> {
    let pointer = join(op_pointer, "responses");
    let Some(map) = get(doc, &pointer) else {
        return Ok(Vec::new());
    };
    let map = object(map, &pointer, "responses")?;
    let mut out = Vec::new();
    for code in map.keys() {
        if code.starts_with("x-") {
            continue;
        }
        let key = status_key(code).ok_or_else(|| {
            SpecError::at(
                join(&pointer, code),
                format!("\"{code}\" is not a status code, a range like 2XX, or default"),
            )
        })?;
        let (at, response) = follow(doc, &join(&pointer, code))?;
        let response = object(response, &at, "a response")?;
        let content = if version == Version::Swagger2 {
            let schema = response.get("schema").map(|_| join(&at, "schema"));
            if let Some(s) = &schema {
                roots.push(s.clone());
            }
            let examples = response.get("examples").and_then(Value::as_object);
            media_types(doc, op_pointer, "produces")
                .into_iter()
                .map(|media_type| Media {
                    examples: examples
                        .and_then(|e| {
                            e.get(&media_type).map(|_| {
                                (
                                    media_type.clone(),
                                    join(&join(&at, "examples"), &media_type),
                                )
                            })
                        })
                        .into_iter()
                        .map(|(_, p)| ("default".to_owned(), p))
                        .collect(),
                    media_type,
                    schema: schema.clone(),
                })
                .filter(|m| schema.is_some() || !m.examples.is_empty())
                .collect()
        } else {
            content(doc, &join(&at, "content"), roots)?
        };
        let mut headers = Vec::new();
        if let Some(map) = response.get("headers").and_then(Value::as_object) {
            for name in map.keys() {
                let (h_at, header) = follow(doc, &join(&join(&at, "headers"), name))?;
                let schema = if version == Version::Swagger2 {
                    Some(h_at.clone())
                } else {
                    header.get("schema").map(|_| join(&h_at, "schema"))
                };
                if let Some(s) = &schema {
                    roots.push(s.clone());
                }
                headers.push(Header {
                    name: name.clone(),
                    schema,
                });
            }
        }
        out.push(ResponseDef {
            key,
            content,
            headers,
        });
    }
    Ok(out)
}

fn status_key(code: &str) -> Option<StatusKey> {
    if code == "default" {
        return Some(StatusKey::Default);
    }
    let b = code.as_bytes();
    if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) {
        if b[1..].eq_ignore_ascii_case(b"XX") {
            return Some(StatusKey::Range(u16::from(b[0] - b'0')));
        }
        return code.parse().ok().map(StatusKey::Code);
    }
    None
}

type Schemes = Vec<(String, Result<Scheme, String>)>;

fn schemes(doc: &Value, version: Version) -> Result<Schemes, SpecError> {
    let pointer = if version == Version::Swagger2 {
        "/securityDefinitions"
    } else {
        "/components/securitySchemes"
    };
    let Some(map) = get(doc, pointer).and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for name in map.keys() {
        let (at, s) = follow(doc, &join(pointer, name))?;
        let kind = s.get("type").and_then(Value::as_str).unwrap_or_default();
        let scheme = match kind {
            "apiKey" => {
                let key = s
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                match s.get("in").and_then(Value::as_str) {
                    Some("header") => Ok(Scheme::ApiKey {
                        name: key,
                        location: In::Header,
                    }),
                    Some("query") => Ok(Scheme::ApiKey {
                        name: key,
                        location: In::Query,
                    }),
                    Some("cookie") => Ok(Scheme::ApiKey {
                        name: key,
                        location: In::Cookie,
                    }),
                    _ => Err(format!(
                        "{at}: an apiKey scheme needs \"in\": header, query or cookie"
                    )),
                }
            }
            "basic" => Ok(Scheme::Basic),
            "http" => match s
                .get("scheme")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("basic") => Ok(Scheme::Basic),
                Some("bearer") => Ok(Scheme::Bearer),
                Some(other) => Ok(Scheme::Http(other.to_owned())),
                None => Err(format!("{at}: an http scheme needs \"scheme\"")),
            },
            "oauth2" => Ok(Scheme::OAuth2),
            "openIdConnect" => Ok(Scheme::OpenIdConnect),
            "mutualTLS" => Ok(Scheme::MutualTls),
            other => Err(format!("{at}: unknown security scheme type \"{other}\"")),
        };
        out.push((name.clone(), scheme));
    }
    Ok(out)
}

fn requirements(
    value: &Value,
    pointer: &str,
    schemes: &Schemes,
) -> Result<Vec<Vec<(String, Scheme)>>, SpecError> {
    let list = value
        .as_array()
        .ok_or_else(|| SpecError::at(pointer, "security must be an array of requirements"))?;
    let mut out = Vec::new();
    for (i, requirement) in list.iter().enumerate() {
        let at = join(pointer, &i.to_string());
        let requirement = object(requirement, &at, "a security requirement")?;
        let mut all = Vec::new();
        // A scheme the document does not define, or of a kind this mock does
        // not know, cannot be asked for: it is not checked.
        for name in requirement.keys() {
            if let Some((_, Ok(scheme))) = schemes.iter().find(|(n, _)| n == name) {
                all.push((name.clone(), scheme.clone()));
            }
        }
        out.push(all);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_split_into_literals_and_parameters() {
        assert_eq!(
            segments("/pets/{petId}/x{a}.json").unwrap(),
            vec![
                Segment::Literal("pets".into()),
                Segment::Template(vec![Piece::Param("petId".into())]),
                Segment::Template(vec![
                    Piece::Text("x".into()),
                    Piece::Param("a".into()),
                    Piece::Text(".json".into())
                ]),
            ]
        );
        assert!(segments("/a/{b").is_err());
        assert!(segments("/a/{b}{c}").is_err());
    }

    #[test]
    fn status_keys() {
        assert_eq!(status_key("200"), Some(StatusKey::Code(200)));
        assert_eq!(status_key("4xx"), Some(StatusKey::Range(4)));
        assert_eq!(status_key("default"), Some(StatusKey::Default));
        assert_eq!(status_key("20"), None);
        assert_eq!(status_key("600"), None);
    }
}
