//! The conformance suite of mock-rest-api: cases as data, replayed on every host.
//!
//! The cases live in `tests/cases/*.json` (format in `tests/README.md` and in
//! [`matching`]). [`run_case`] replays one case against any [`Target`]: the
//! engine in-process ([`CoreTarget`]) or a live host over HTTP ([`HttpTarget`],
//! with [`NativeServer`] to start the native binary, [`ContainerServer`] to
//! start a container of its image and [`WranglerServer`] to start the Worker in
//! `wrangler dev`). The test binaries in
//! `tests/replay/` run every case on each host.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod case;
pub mod matching;
pub mod scratch;
pub mod stream;
pub mod targets;

pub use case::{load_all, BodySpec, Case, EventSpec, RequestSpec, Step, StreamSpec};
pub use matching::Captures;
pub use scratch::Scratch;
pub use stream::{ChannelStream, EventStream, SseEvent, SseParser};
pub use targets::{
    ContainerServer, CoreTarget, HttpTarget, NativeServer, Target, WireRequest, WireResponse,
    WranglerServer,
};

use serde::Deserialize;
use serde_json::Value;

/// Parses a response body. Hosts accept 128 levels of nesting, more than
/// `serde_json`'s default limit, so the limit is lifted here.
fn parse_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    reader.disable_recursion_limit();
    let value = Value::deserialize(&mut reader)?;
    reader.end()?;
    Ok(value)
}

/// The `main` of a replay target that gives each case a fresh host: every case
/// of `tests/cases` becomes one test, run by `replay` (start the host for the
/// case, then [`run_case`] against it), with libtest's arguments and output.
pub fn replay_each<F>(replay: F) -> std::process::ExitCode
where
    F: Fn(&Case) -> Result<(), String> + Clone + Send + 'static,
{
    let args = libtest_mimic::Arguments::from_args();
    let cases = match load_all(&case::cases_dir()) {
        Ok(cases) => cases,
        Err(err) => {
            eprintln!("could not load the cases: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let trials = cases
        .into_iter()
        .map(|case| {
            let replay = replay.clone();
            libtest_mimic::Trial::test(case.name.clone(), move || {
                replay(&case).map_err(libtest_mimic::Failed::from)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// Replays a case against a target that starts with an empty store.
pub fn run_case(case: &Case, target: &mut dyn Target) -> Result<(), String> {
    let mut captures = Captures::default();
    run_steps(&case.steps, target, &mut captures, "step ")
}

fn run_steps(
    steps: &[Step],
    target: &mut dyn Target,
    captures: &mut Captures,
    label: &str,
) -> Result<(), String> {
    for (n, step) in steps.iter().enumerate() {
        let request = build(&step.request, captures).map_err(|e| format!("{label}{n}: {e}"))?;
        let named = |e: String| format!("{label}{n} ({} {}): {e}", request.method, request.target);
        if let Some(stream) = &step.stream {
            run_stream(step, stream, &request, target, captures).map_err(named)?;
            continue;
        }
        let started = std::time::Instant::now();
        let response = target.send(&request).map_err(named)?;
        let elapsed = started.elapsed();
        if let Some(min) = step.expect.min_elapsed_ms {
            if elapsed < std::time::Duration::from_millis(min) {
                return Err(named(format!(
                    "answered after {elapsed:?}, expected at least {min} ms"
                )));
            }
        }
        check(step, &response, captures).map_err(|e| {
            named(format!(
                "{e}\n  response: {} {}",
                response.status,
                String::from_utf8_lossy(&response.body)
                    .chars()
                    .take(400)
                    .collect::<String>()
            ))
        })?;
    }
    Ok(())
}

/// A streaming step: opens the stream, checks its head, makes the `during`
/// requests, then reads the events the step expects, in order, within its
/// time bound.
fn run_stream(
    step: &Step,
    stream: &StreamSpec,
    request: &WireRequest,
    target: &mut dyn Target,
    captures: &mut Captures,
) -> Result<(), String> {
    let (head, mut events) = target.open_stream(request)?;
    check(step, &head, captures).map_err(|e| format!("the stream's head: {e}"))?;
    run_steps(&stream.during, target, captures, "during ")?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(stream.within_ms);
    for (n, want) in stream.events.iter().enumerate() {
        let Some(got) = events.next_event(deadline)? else {
            return Err(format!(
                "event {n} (`{}`) did not arrive within {} ms",
                want.event, stream.within_ms
            ));
        };
        let context = |e: String| format!("event {n}: {e}; got {got:?}");
        if got.event != want.event {
            return Err(context(format!("expected `event: {}`", want.event)));
        }
        if let Some(id) = &want.id {
            matching::match_json(id, &Value::String(got.id.clone()), captures, "id")
                .map_err(context)?;
        }
        if let Some(data) = &want.data {
            let actual = parse_json(got.data.as_bytes())
                .map_err(|e| context(format!("the data is not JSON ({e})")))?;
            matching::match_json(data, &actual, captures, "data").map_err(context)?;
        }
    }
    Ok(())
}

fn build(spec: &RequestSpec, captures: &Captures) -> Result<WireRequest, String> {
    let body = match &spec.body {
        None => Vec::new(),
        Some(BodySpec::Json(value)) => captures.fill_json(value)?.to_string().into_bytes(),
        Some(BodySpec::Text(text)) => captures.fill(text)?.into_bytes(),
        Some(BodySpec::Bytes(bytes)) => bytes.clone(),
        Some(BodySpec::Padded {
            prefix,
            fill,
            suffix,
            total,
        }) => {
            let mut body = prefix.as_bytes().to_vec();
            let room = total.saturating_sub(prefix.len() + suffix.len());
            body.resize(prefix.len() + room, *fill);
            body.extend_from_slice(suffix.as_bytes());
            body
        }
    };
    Ok(WireRequest {
        method: spec.method.clone(),
        target: captures.fill(&spec.path)?,
        headers: spec
            .headers
            .iter()
            .map(|(n, v)| Ok((n.clone(), captures.fill(v)?)))
            .collect::<Result<_, String>>()?,
        body,
    })
}

fn check(step: &Step, response: &WireResponse, captures: &mut Captures) -> Result<(), String> {
    let expect = &step.expect;
    if response.status != expect.status {
        return Err(format!(
            "expected status {}, got {}",
            expect.status, response.status
        ));
    }
    for (name, want) in &expect.headers {
        matching::match_header(name, want, response.header(name), captures)?;
    }
    let text = String::from_utf8_lossy(&response.body);
    if let Some(want) = &expect.body {
        let want = captures.fill(want)?;
        if text != want {
            return Err(format!("expected body `{want}`, got `{text}`"));
        }
    }
    for part in &expect.body_contains {
        let part = captures.fill(part)?;
        if !text.contains(part.as_str()) {
            return Err(format!("expected the body to contain `{part}`"));
        }
    }
    for part in &expect.body_excludes {
        let part = captures.fill(part)?;
        if text.contains(part.as_str()) {
            return Err(format!("expected the body not to contain `{part}`"));
        }
    }
    if expect.json.is_some() || expect.pluck.is_some() {
        let actual = parse_json(&response.body)
            .map_err(|e| format!("the body is not JSON ({e}): `{text}`"))?;
        if let Some(pattern) = &expect.json {
            matching::match_json(pattern, &actual, captures, "$")?;
        }
        if let Some((field, values)) = &expect.pluck {
            let Value::Array(elements) = &actual else {
                return Err(format!("expected an array to pluck `{field}` from"));
            };
            let plucked: Vec<Value> = elements
                .iter()
                .map(|element| element.get(field).cloned().unwrap_or(Value::Null))
                .collect();
            matching::match_json(
                &Value::Array(values.clone()),
                &Value::Array(plucked),
                captures,
                field,
            )?;
        }
    }
    Ok(())
}
