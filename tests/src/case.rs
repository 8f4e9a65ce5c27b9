//! Conformance cases: the data format, read from `tests/cases/*.json`.
//!
//! A file holds an array of cases. A case is a name and a list of steps; each
//! step sends one request and checks the response. See `tests/README.md`.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// One request as the case file gives it, before captured values are filled in.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// The method, such as `GET`.
    pub method: String,
    /// The target: path and query, percent-encoded as it goes on the wire.
    pub path: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<BodySpec>,
}

/// How a request body is given.
#[derive(Debug, Clone)]
pub enum BodySpec {
    /// A JSON value, sent as its compact text.
    Json(Value),
    /// Raw text, sent as it is.
    Text(String),
    /// Raw bytes, given in hex (for bodies that are not UTF-8).
    Bytes(Vec<u8>),
    /// `prefix`, then `fill` repeated, then `suffix`, `total` bytes in all.
    Padded {
        /// Text at the start.
        prefix: String,
        /// One byte repeated to reach the total.
        fill: u8,
        /// Text at the end.
        suffix: String,
        /// The total length in bytes.
        total: usize,
    },
}

/// What a response must look like.
#[derive(Debug, Clone)]
pub struct Expect {
    /// The status code.
    pub status: u16,
    /// Headers that must be present with a matching value (`null`: must be absent).
    pub headers: Vec<(String, Value)>,
    /// A pattern the JSON body must match (see [`crate::matching`]).
    pub json: Option<Value>,
    /// The exact body text.
    pub body: Option<String>,
    /// Substrings the body text must contain.
    pub body_contains: Vec<String>,
    /// Substrings the body text must not contain (a secret it must not show).
    pub body_excludes: Vec<String>,
    /// For an array body: a field of each element, and the values it must
    /// have, in order (`null` where the field is missing).
    pub pluck: Option<(String, Vec<Value>)>,
    /// The least time the response may take, in milliseconds (delays are
    /// checked by lower bounds only).
    pub min_elapsed_ms: Option<u64>,
}

/// One request and the response it must get.
#[derive(Debug, Clone)]
pub struct Step {
    /// What to send.
    pub request: RequestSpec,
    /// What must come back (for a stream: its status and headers, and the
    /// body it has sent when the first event is read).
    pub expect: Expect,
    /// For a streaming step: the requests to make while the stream is open,
    /// and the events it must then carry.
    pub stream: Option<StreamSpec>,
}

/// What a streaming step does once its stream is open.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    /// Steps sent while the stream is open, in order.
    pub during: Vec<Step>,
    /// The events the stream must carry, in order (counted from its start, so
    /// a replay comes first).
    pub events: Vec<EventSpec>,
    /// How long the events may take to arrive, from the last `during` step.
    pub within_ms: u64,
}

/// One expected event.
#[derive(Debug, Clone)]
pub struct EventSpec {
    /// The `event:` name.
    pub event: String,
    /// A pattern for the `id:` (as a JSON string), if checked.
    pub id: Option<Value>,
    /// A pattern for the `data:` parsed as JSON, if checked.
    pub data: Option<Value>,
}

/// A named sequence of steps, run against an empty store.
#[derive(Debug, Clone)]
pub struct Case {
    /// Which file it came from, and its name there.
    pub name: String,
    /// Settings the host runs with for this case, by their environment names
    /// (such as `CORS_ORIGINS`), on top of the test defaults.
    pub env: Vec<(String, String)>,
    /// What the case needs of its host beyond the contract every host keeps
    /// (see [`NEEDS`]); a host without it lists the case as ignored, saying why.
    pub needs: Vec<String>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// What a case may need of its host (`"needs"`), and what it means.
pub const NEEDS: [(&str, &str); 1] = [(
    "namespaces-together",
    "the host holds every namespace in one place, so it lists them, drops one by name and bounds them together",
)];

/// The settings of a case's `env` that name a file, relative to the case file:
/// the fixtures (`DATA_FILE`), the rules and the OpenAPI document.
pub const FILE_SETTINGS: [&str; 3] = ["DATA_FILE", "RULES", "OPENAPI"];

/// The folder that holds the case files.
pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cases")
}

/// Reads every case file in a folder, in file-name order.
pub fn load_all(dir: &Path) -> Result<Vec<Case>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        cases.extend(load_file(&file)?);
    }
    Ok(cases)
}

/// Reads one case file.
pub fn load_file(file: &Path) -> Result<Vec<Case>, String> {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let Value::Array(cases) = value else {
        return Err(format!("{}: expected an array of cases", file.display()));
    };
    cases
        .iter()
        .enumerate()
        .map(|(n, case)| {
            let mut case =
                parse_case(&stem, case).map_err(|e| format!("{} case {n}: {e}", file.display()))?;
            // A fixtures, rules or OpenAPI file is named relative to the case file.
            for (name, value) in &mut case.env {
                if FILE_SETTINGS.contains(&name.as_str()) {
                    let dir = file.parent().unwrap_or(Path::new("."));
                    *value = dir.join(&*value).to_string_lossy().into_owned();
                }
            }
            Ok(case)
        })
        .collect()
}

fn parse_case(stem: &str, case: &Value) -> Result<Case, String> {
    let case = object(case, "case")?;
    let name = string(case, "name")?;
    let steps = match case.get("steps") {
        Some(Value::Array(steps)) => steps,
        _ => return Err(format!("{name}: `steps` must be an array")),
    };
    let steps = steps
        .iter()
        .enumerate()
        .map(|(n, step)| parse_step(step).map_err(|e| format!("{name} step {n}: {e}")))
        .collect::<Result<_, _>>()?;
    let env = match case.get("env") {
        None => Vec::new(),
        Some(Value::Object(env)) => env
            .iter()
            .map(|(k, v)| match v {
                Value::String(v) => Ok((k.clone(), v.clone())),
                _ => Err(format!("{name}: env {k} must be a string")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("{name}: `env` must be an object")),
    };
    let needs = match case.get("needs") {
        None => Vec::new(),
        Some(Value::Array(needs)) => needs
            .iter()
            .map(|need| match need.as_str() {
                Some(need) if NEEDS.iter().any(|(known, _)| *known == need) => Ok(need.to_owned()),
                _ => Err(format!(
                    "{name}: `needs` holds {need}, which is not one of {NEEDS:?}"
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("{name}: `needs` must be an array")),
    };
    Ok(Case {
        name: format!("{stem}: {name}"),
        env,
        needs,
        steps,
    })
}

fn parse_step(step: &Value) -> Result<Step, String> {
    let step = object(step, "step")?;
    let request = object(step.get("request").unwrap_or(&Value::Null), "request")?;
    let expect = object(step.get("expect").unwrap_or(&Value::Null), "expect")?;
    let stream = match step.get("stream") {
        None => None,
        Some(stream) => Some(parse_stream(object(stream, "stream")?)?),
    };
    Ok(Step {
        request: parse_request(request)?,
        expect: parse_expect(expect)?,
        stream,
    })
}

fn parse_stream(stream: &Map<String, Value>) -> Result<StreamSpec, String> {
    let during = match stream.get("during") {
        None => Vec::new(),
        Some(Value::Array(steps)) => steps
            .iter()
            .enumerate()
            .map(|(n, step)| parse_step(step).map_err(|e| format!("during {n}: {e}")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`stream.during` must be an array of steps".to_owned()),
    };
    let events = match stream.get("events") {
        Some(Value::Array(events)) => events
            .iter()
            .map(|event| {
                let event = object(event, "stream.events[]")?;
                Ok(EventSpec {
                    event: string(event, "event")?,
                    id: event.get("id").cloned(),
                    data: event.get("data").cloned(),
                })
            })
            .collect::<Result<_, String>>()?,
        _ => return Err("`stream.events` must be an array".to_owned()),
    };
    let within_ms = stream
        .get("within_ms")
        .and_then(Value::as_u64)
        .ok_or("`stream.within_ms` must be a number")?;
    Ok(StreamSpec {
        during,
        events,
        within_ms,
    })
}

fn parse_request(request: &Map<String, Value>) -> Result<RequestSpec, String> {
    let headers = match request.get("headers") {
        None => Vec::new(),
        Some(Value::Object(headers)) => headers
            .iter()
            .flat_map(|(name, value)| {
                // An array sends the header once per value, in order.
                let values = match value {
                    Value::Array(values) => values.iter().collect(),
                    single => vec![single],
                };
                values.into_iter().map(move |value| match value {
                    Value::String(value) => Ok((name.clone(), value.clone())),
                    _ => Err(format!(
                        "header {name} must be a string or an array of them"
                    )),
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`headers` must be an object".to_owned()),
    };
    let body = if let Some(json) = request.get("json") {
        Some(BodySpec::Json(json.clone()))
    } else if let Some(text) = request.get("body") {
        Some(BodySpec::Text(
            text.as_str().ok_or("`body` must be a string")?.to_owned(),
        ))
    } else if let Some(hex) = request.get("body_hex") {
        let hex = hex.as_str().ok_or("`body_hex` must be a string")?;
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(hex.get(at..at + 2).unwrap_or("x"), 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| "`body_hex` must be pairs of hex digits")?;
        Some(BodySpec::Bytes(bytes))
    } else if let Some(padded) = request.get("body_padded") {
        let padded = object(padded, "body_padded")?;
        let fill = string(padded, "fill")?;
        let total = padded
            .get("total")
            .and_then(Value::as_u64)
            .ok_or("`body_padded.total` must be a number")?;
        Some(BodySpec::Padded {
            prefix: string(padded, "prefix")?,
            fill: *fill.as_bytes().first().ok_or("`fill` must not be empty")?,
            suffix: string(padded, "suffix")?,
            total: usize::try_from(total).map_err(|e| e.to_string())?,
        })
    } else {
        None
    };
    Ok(RequestSpec {
        method: string(request, "method")?,
        path: string(request, "path")?,
        headers,
        body,
    })
}

fn parse_expect(expect: &Map<String, Value>) -> Result<Expect, String> {
    let status = expect
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or("`expect.status` must be a status code")?;
    let headers = match expect.get("headers") {
        None => Vec::new(),
        Some(Value::Object(headers)) => headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
            .collect(),
        Some(_) => return Err("`expect.headers` must be an object".to_owned()),
    };
    let body_contains = strings(expect, "body_contains")?;
    let body_excludes = strings(expect, "body_excludes")?;
    let pluck = match expect.get("pluck") {
        None => None,
        Some(Value::Object(pluck)) if pluck.len() == 1 => match pluck.iter().next() {
            Some((field, Value::Array(values))) => Some((field.clone(), values.clone())),
            _ => return Err("`pluck` maps one field to an array of values".to_owned()),
        },
        Some(_) => return Err("`pluck` maps one field to an array of values".to_owned()),
    };
    let min_elapsed_ms = match expect.get("min_elapsed_ms") {
        None => None,
        Some(ms) => Some(ms.as_u64().ok_or("`min_elapsed_ms` must be a number")?),
    };
    Ok(Expect {
        min_elapsed_ms,
        pluck,
        status,
        headers,
        json: expect.get("json").cloned(),
        body: match expect.get("body") {
            None => None,
            Some(Value::String(body)) => Some(body.clone()),
            Some(_) => return Err("`expect.body` must be a string".to_owned()),
        },
        body_contains,
        body_excludes,
    })
}

/// An `expect` key that holds an array of strings (none when it is absent).
fn strings(expect: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    match expect.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|part| {
                part.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("`{key}` holds strings"))
            })
            .collect(),
        Some(_) => Err(format!("`{key}` must be an array")),
    }
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("`{what}` must be an object"))
}

fn string(map: &Map<String, Value>, key: &str) -> Result<String, String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("`{key}` must be a string"))
}
