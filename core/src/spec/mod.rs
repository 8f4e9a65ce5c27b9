//! A user's OpenAPI document: loaded, checked, and answering as the system it
//! describes.
//!
//! [`Spec::load`] reads a document (JSON or YAML; OpenAPI 3.0, 3.1 or
//! Swagger 2.0; local `$ref`s, circular ones included) and refuses one it
//! cannot use with a [`SpecError`] naming the JSON pointer and why. The loaded
//! [`Spec`] then answers the questions a mock asks of each request, each a
//! pure function of its arguments:
//!
//! 1. [`Spec::find`]: which operation a method and path name ([`Lookup`]),
//!    with the path's parameters; a path the document lacks, or a method the
//!    path lacks (with the methods it has, for `Allow`).
//! 2. [`Spec::validate_request`]: the request's [`Violation`]s of the
//!    operation's parameters (path, query, header and cookie, in their styles,
//!    strings read as the schema's types), its body's JSON Schema, and its
//!    `security`; [`Spec::violation_response`] turns them into the answer, as
//!    Prism does.
//! 3. [`Spec::choose`]: which declared response answers ([`Choice`]): the
//!    lowest 2xx, unless `Prefer` asks for a `code`, an `example` or
//!    `dynamic=true`; the media type by `Accept` (or [`Refusal`]).
//! 4. [`Spec::body`]: the declared example, or data generated from the schema
//!    from a seed, the same on every run and host.
//! 5. [`Spec::resources`]: the state plan, which operations create, list,
//!    read, replace, patch and delete items of which store type, the id
//!    property and its kind, and the shape of a list's answer;
//!    [`Spec::fill`] shapes stored items as the response schema says.
//! 6. [`Spec::validate_response`]: an upstream's answer checked against the
//!    document (contract drift).
//!
//! # Out of scope
//! Reading files or URLs (a `$ref` to another file is refused: bundle the
//! document first), the store, and HTTP itself: the engine calls this module
//! and keeps the items. No clock and no randomness: generated data comes from
//! a ChaCha generator seeded by the caller's seed, the operation and the
//! status.
//!
//! ```
//! use mock_rest_core::spec::{Lookup, Prefer, RequestParts, Spec};
//!
//! let spec = Spec::load(br#"
//! openapi: 3.0.3
//! info: {title: pets, version: "1"}
//! paths:
//!   /pets/{petId}:
//!     get:
//!       parameters:
//!         - {name: petId, in: path, required: true, schema: {type: integer}}
//!       responses:
//!         "200":
//!           description: a pet
//!           content:
//!             application/json:
//!               schema:
//!                 type: object
//!                 required: [id, name]
//!                 properties:
//!                   id: {type: integer, minimum: 1}
//!                   name: {type: string}
//! "#).expect("a usable document");
//!
//! let Lookup::Found { op, params } = spec.find("GET", "/pets/12") else { panic!() };
//! assert_eq!(params, [("petId".to_owned(), "12".to_owned())]);
//! let request = RequestParts { method: "GET", path_params: &params, ..RequestParts::default() };
//! assert!(spec.validate_request(op, &request).is_empty());
//!
//! let Lookup::Found { op, params } = spec.find("GET", "/pets/twelve") else { panic!() };
//! let request = RequestParts { method: "GET", path_params: &params, ..RequestParts::default() };
//! let violations = spec.validate_request(op, &request);
//! assert_eq!(violations[0].location, ["path", "petId"]);
//! let answer = spec.violation_response(op, &violations);
//! assert_eq!(answer.status, 422);
//!
//! let choice = spec.choose(op, &Prefer::default(), None).expect("a 200 is declared");
//! let pet = spec.body(&choice, 7).expect("generated from the schema");
//! assert!(pet["id"].as_i64().unwrap() >= 1);
//! assert_eq!(spec.body(&choice, 7), Some(pet)); // the same seed, the same pet
//! ```

mod error;
mod generate;
mod model;
mod negotiate;
mod params;
mod pattern;
mod pointer;
mod resources;
mod schemas;
mod security;
mod source;
mod validate;

pub use error::SpecError;
pub use model::{In, Version};
pub use negotiate::{Choice, Prefer, Refusal};
pub use resources::{IdKind, Kind, ListShape, Resource, ResourceOp, Stored};
pub use source::{MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, MAX_NODES};
pub use validate::{Answer, RequestParts, Violation};

use model::{Model, Operation, PathDef, Piece, Segment};
use percent_encoding::percent_decode_str;
use schemas::Schemas;
use serde_json::Value;

/// A loaded, checked OpenAPI document.
pub struct Spec {
    /// The document as compact JSON (YAML turned into JSON), for
    /// `/openapi.json`: a quarter of what the parsed document would hold.
    text: String,
    /// The declared examples' values, by their pointer in the document: all
    /// of the document an answer reads after loading.
    examples: std::collections::HashMap<String, Value>,
    model: Model,
    schemas: Schemas,
    resources: Vec<Resource>,
    resource_ops: Vec<ResourceOp>,
    routes: Routes,
}

/// What [`Spec::find`] looks paths up in, so that a request reads only the
/// paths that could match it, whatever the document's size.
#[derive(Default)]
struct Routes {
    /// The paths whose first segment is this literal text.
    by_first: std::collections::HashMap<String, Vec<usize>>,
    /// The paths whose first segment has a parameter (or that are `/`).
    other: Vec<usize>,
    /// For each path, the operations at its template, in the document's order.
    operations: Vec<Vec<usize>>,
}

impl Routes {
    fn build(model: &Model) -> Self {
        let mut routes = Routes::default();
        let mut by_template: std::collections::HashMap<&str, Vec<usize>> =
            std::collections::HashMap::new();
        for (i, op) in model.operations.iter().enumerate() {
            by_template
                .entry(model.paths[op.path].template.as_str())
                .or_default()
                .push(i);
        }
        for (i, def) in model.paths.iter().enumerate() {
            match def.segments.first() {
                Some(Segment::Literal(text)) if !text.is_empty() => {
                    routes.by_first.entry(text.clone()).or_default().push(i)
                }
                _ => routes.other.push(i),
            }
            routes.operations.push(
                by_template
                    .get(def.template.as_str())
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        routes
    }
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("version", &self.model.version)
            .field("operations", &self.model.operations.len())
            .finish_non_exhaustive()
    }
}

/// An operation of the loaded document (an index into its operations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpId(pub(crate) usize);

/// Which operation a method and path name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The operation, and the path's parameters as written (percent-decoded).
    Found {
        /// The operation.
        op: OpId,
        /// Each path parameter's name and value.
        params: Vec<(String, String)>,
    },
    /// No path of the document matches: `404`.
    NoPath,
    /// The path matches but has no such method: `405`, with `allow` (in the
    /// order the document lists them) for the `Allow` header.
    NoMethod {
        /// The methods the path takes.
        allow: Vec<&'static str>,
    },
}

/// The value of every example the operations declare, by its pointer.
fn examples_of(doc: &Value, model: &Model) -> std::collections::HashMap<String, Value> {
    let media = model.operations.iter().flat_map(|op| {
        let requests = op.body.iter().flat_map(|body| &body.content);
        requests.chain(op.responses.iter().flat_map(|response| &response.content))
    });
    let mut examples = std::collections::HashMap::new();
    for (_, pointer) in media.flat_map(|m| &m.examples) {
        if !examples.contains_key(pointer) {
            if let Some(value) = pointer::get(doc, pointer) {
                examples.insert(pointer.clone(), value.clone());
            }
        }
    }
    examples
}

impl Spec {
    /// Reads a document: JSON or YAML; OpenAPI 3.0, 3.1 or Swagger 2.0.
    ///
    /// Refuses, naming the JSON pointer and why: text that is not JSON or
    /// YAML, an unknown version, a `$ref` to nothing or outside the document,
    /// a path template or a parameter that cannot be used, a schema that is
    /// not valid JSON Schema.
    pub fn load(bytes: &[u8]) -> Result<Spec, SpecError> {
        let doc = source::parse(bytes)?;
        let model = model::build(&doc)?;
        let converted = Schemas::convert(&doc, model.version, &model.schema_roots, &model.forms)?;
        let examples = examples_of(&doc, &model);
        let text = doc.to_string();
        // The parsed document is several times the size of its text: dropped
        // before the schemas are compiled, it is never held beside them.
        drop(doc);
        let schemas = converted.compile(&model.schema_roots, &model.forms)?;
        let mut spec = Spec {
            text,
            examples,
            model,
            schemas,
            resources: Vec::new(),
            resource_ops: Vec::new(),
            routes: Routes::default(),
        };
        spec.routes = Routes::build(&spec.model);
        (spec.resources, spec.resource_ops) = resources::plan(&spec);
        Ok(spec)
    }

    /// The document's version.
    pub fn version(&self) -> Version {
        self.model.version
    }

    /// The document as it was read, as compact JSON (YAML turned into
    /// JSON), for `/openapi.json`.
    pub fn document(&self) -> &str {
        &self.text
    }

    /// Every operation, in the document's order.
    pub fn operations(&self) -> impl Iterator<Item = OpId> + '_ {
        (0..self.model.operations.len()).map(OpId)
    }

    /// An operation's method (`GET`), for the homepage's list.
    pub fn method(&self, op: OpId) -> &'static str {
        self.op(op).method
    }

    /// An operation's path template as the document writes it.
    pub fn path(&self, op: OpId) -> &str {
        &self.model.paths[self.op(op).path].template
    }

    /// An operation's `operationId`, when it has one.
    pub fn operation_id(&self, op: OpId) -> Option<&str> {
        self.op(op).operation_id.as_deref()
    }

    /// Whether the operation is marked `deprecated` (Prism then answers
    /// `Deprecation: true`).
    pub fn deprecated(&self, op: OpId) -> bool {
        self.op(op).deprecated
    }

    /// An operation's `summary`, else its `description`'s first line, for
    /// the homepage's list.
    pub fn summary(&self, op: OpId) -> Option<&str> {
        self.op(op).summary.as_deref()
    }

    /// The path's parameters (as [`Spec::find`] gave them) read in their
    /// styles as the operation's schemas type them: `.7` in the `label`
    /// style is `7`, and the integer 7 when the schema says `integer`. A
    /// parameter the operation does not declare stays text.
    pub fn path_values(&self, op: OpId, params: &[(String, String)]) -> Vec<(String, Value)> {
        let parts = RequestParts {
            path_params: params,
            ..RequestParts::default()
        };
        params
            .iter()
            .map(|(name, raw)| {
                let declared = self
                    .op(op)
                    .params
                    .iter()
                    .find(|p| p.location == In::Path && p.name == *name);
                let value = declared
                    .and_then(|p| params::read(&self.schemas, p, &parts).ok().flatten())
                    .unwrap_or_else(|| Value::String(raw.clone()));
                (name.clone(), value)
            })
            .collect()
    }

    /// The names of the query parameters the operation declares.
    pub fn query_names(&self, op: OpId) -> impl Iterator<Item = &str> {
        self.op(op)
            .params
            .iter()
            .filter(|p| p.location == In::Query)
            .map(|p| p.name.as_str())
    }

    /// A new string id in a `format` other than `uuid` (an e-mail, a
    /// date): the `n`th value of that format for the operation.
    pub fn id_of_format(&self, op: OpId, format: &str, n: u64) -> Value {
        let schema = serde_json::json!({"type": "string", "format": format});
        self.generator(n, op, 0).value(&schema, 0, None)
    }

    pub(crate) fn op(&self, op: OpId) -> &Operation {
        &self.model.operations[op.0]
    }

    /// The operation a method and path name. `path` is the request's path as
    /// sent (percent-encoded, without the query); a trailing slash is the same
    /// path. Among templates that match, the one with more literal segments
    /// wins (`/pets/mine` before `/pets/{id}`), then the document's order.
    /// `HEAD` finds a `GET` when the path has no `HEAD` of its own.
    pub fn find(&self, method: &str, path: &str) -> Lookup {
        let path = path.split('?').next().unwrap_or_default();
        let trimmed = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        let raw: Vec<&str> = trimmed.split('/').skip(1).collect();
        let first = raw
            .first()
            .map(|s| percent_decode_str(s).decode_utf8_lossy())
            .unwrap_or_default();
        // The paths that could match, in the document's order.
        let mut candidates: Vec<usize> = self
            .routes
            .by_first
            .get(first.as_ref())
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .chain(&self.routes.other)
            .copied()
            .collect();
        candidates.sort_unstable();
        // The best match so far: its path, its count of literal segments, its parameters.
        type Match = (usize, usize, Vec<(String, String)>);
        let mut best: Option<Match> = None;
        for i in candidates {
            let def = &self.model.paths[i];
            let Some(params) = match_path(def, &raw) else {
                continue;
            };
            let literal = def
                .segments
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count();
            if best.as_ref().is_none_or(|(_, l, _)| literal > *l) {
                best = Some((i, literal, params));
            }
        }
        let Some((path, _, params)) = best else {
            return Lookup::NoPath;
        };
        let on_path = || {
            self.routes.operations[path]
                .iter()
                .map(|&i| (i, &self.model.operations[i]))
        };
        let wanted = method.to_ascii_uppercase();
        let found = on_path().find(|(_, o)| o.method == wanted).or_else(|| {
            (wanted == "HEAD")
                .then(|| on_path().find(|(_, o)| o.method == "GET"))
                .flatten()
        });
        match found {
            Some((i, _)) => Lookup::Found {
                op: OpId(i),
                params,
            },
            None => Lookup::NoMethod {
                allow: on_path().map(|(_, o)| o.method).collect(),
            },
        }
    }
}

impl Spec {
    /// The methods a path takes, in the document's order, or `None` for a
    /// path the document lacks.
    pub fn allow(&self, path: &str) -> Option<Vec<&'static str>> {
        // No operation has an empty method: the lookup lists them all.
        match self.find("", path) {
            Lookup::NoPath => None,
            Lookup::NoMethod { allow } => Some(allow),
            Lookup::Found { .. } => Some(Vec::new()),
        }
    }
}

/// The parameters of `raw` segments matched against a template, or `None`.
fn match_path(def: &PathDef, raw: &[&str]) -> Option<Vec<(String, String)>> {
    if def.segments.len() != raw.len() {
        // `/` has one empty segment, and so does the template `/`.
        return None;
    }
    let mut params = Vec::new();
    for (segment, raw) in def.segments.iter().zip(raw) {
        let decoded = percent_decode_str(raw).decode_utf8().ok()?;
        match segment {
            Segment::Literal(text) => {
                if *text != decoded {
                    return None;
                }
            }
            Segment::Template(pieces) => match_pieces(pieces, raw, &mut params)?,
        }
    }
    Some(params)
}

/// Matches one templated segment, such as `{id}` or `report.{format}`: text
/// pieces must appear as written, and a parameter takes the shortest run up to
/// the next text piece (the rest of the segment for the last one).
fn match_pieces(pieces: &[Piece], raw: &str, params: &mut Vec<(String, String)>) -> Option<()> {
    let mut rest = raw;
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Text(text) => rest = rest.strip_prefix(text.as_str())?,
            Piece::Param(name) => {
                let end = match pieces.get(i + 1) {
                    Some(Piece::Text(next)) => rest.find(next.as_str())?,
                    _ => rest.len(),
                };
                let value = percent_decode_str(&rest[..end]).decode_utf8().ok()?;
                if value.is_empty() {
                    return None;
                }
                params.push((name.clone(), value.into_owned()));
                rest = &rest[end..];
            }
        }
    }
    rest.is_empty().then_some(())
}

#[cfg(test)]
mod tests;
