//! Which declared response answers a valid request, as Prism chooses it:
//! the status (`Prefer: code=`), the media type (`Accept`), and the example or
//! the schema its body comes from (`Prefer: example=`, `dynamic=true`).

use super::model::{ResponseDef, StatusKey};
use super::validate::{media_matches, Answer};
use super::{OpId, Spec};
use serde_json::Value;

/// What the request's `Prefer` header asks of the mock (Prism's names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefer {
    /// `code=404`: answer with that declared status.
    pub code: Option<u16>,
    /// `example=dog`: answer with the declared example of that name.
    pub example: Option<String>,
    /// `dynamic=true`: generate from the schema even when there is an example.
    pub dynamic: bool,
    /// `seed=7`: generate with this seed instead of the mock's.
    pub seed: Option<u64>,
}

impl Prefer {
    /// Reads a `Prefer` header: preferences separated by `,` or `;`, each
    /// `name=value` (the value maybe quoted). Preferences this mock does not
    /// know (`return=minimal`) are ignored; a known one with a bad value is
    /// an error naming it, which Prism answers `422`.
    pub fn parse(header: &str) -> Result<Prefer, String> {
        let mut prefer = Prefer::default();
        for part in header.split([',', ';']) {
            let Some((name, value)) = part.split_once('=') else {
                continue;
            };
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim().trim_matches('"');
            match name.as_str() {
                "code" => {
                    let ok = value.len() == 3 && value.bytes().all(|b| b.is_ascii_digit());
                    prefer.code = Some(
                        value
                            .parse()
                            .ok()
                            .filter(|c| ok && (100..600).contains(c))
                            .ok_or_else(|| {
                                format!("Prefer code must be a status code, not \"{value}\"")
                            })?,
                    );
                }
                "example" => prefer.example = Some(value.to_owned()),
                "dynamic" => {
                    prefer.dynamic = match value {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(format!(
                                "Prefer dynamic must be true or false, not \"{value}\""
                            ))
                        }
                    }
                }
                "seed" => {
                    prefer.seed = Some(value.parse().map_err(|_| {
                        format!("Prefer seed must be a whole number, not \"{value}\"")
                    })?)
                }
                _ => {}
            }
        }
        Ok(prefer)
    }
}

/// The response chosen for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The operation.
    pub op: OpId,
    /// The status to answer.
    pub status: u16,
    /// The media type of the body, or `None` for a response without content.
    pub media_type: Option<String>,
    pub(crate) schema: Option<String>,
    /// The pointer of the example's value to answer with, if any.
    pub(crate) example: Option<String>,
    pub(crate) headers: Vec<(String, Option<String>)>,
    pub(crate) seed: Option<u64>,
}

/// Why no declared response can answer; [`Refusal::answer`] is the problem
/// Prism gives for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `Accept` names no media type the response has: `406`.
    NotAcceptable {
        /// The media types the response has.
        available: Vec<String>,
    },
    /// `Prefer: code=` names a status the operation does not declare: `404`.
    NoStatus(u16),
    /// `Prefer: example=` names an example the response does not have: `404`.
    NoExample(String),
    /// `Prefer: dynamic=true` for a response without a schema: `500`.
    NoSchema,
    /// The operation declares no 2xx response: `500`.
    NoSuccess,
    /// A bad `Prefer` value: `422`.
    BadPrefer(String),
}

impl Refusal {
    /// The `application/problem+json` answer.
    pub fn answer(&self) -> Answer {
        match self {
            Self::NotAcceptable { available } => Answer::problem(
                406,
                "NOT_ACCEPTABLE",
                "The server cannot produce a representation for your accept header",
                &format!(
                    "Unable to find content for the Accept header; the response has {}",
                    available.join(", ")
                ),
                None,
            ),
            Self::NoStatus(code) => Answer::problem(
                404,
                "NOT_FOUND",
                "The server cannot find the requested content",
                &format!("Requested status code {code} is not defined in the document."),
                None,
            ),
            Self::NoExample(name) => Answer::problem(
                404,
                "NOT_FOUND",
                "The server cannot find the requested content",
                &format!("Response for example key: {name} does not exist."),
                None,
            ),
            Self::NoSchema => Answer::problem(
                500,
                "NO_SCHEMA",
                "No schema to generate from",
                "A dynamic response was asked for, but the response has no schema.",
                None,
            ),
            Self::NoSuccess => Answer::problem(
                500,
                "NO_RESPONSE_DEFINED",
                "No response defined for the selected operation",
                "The operation declares no 2xx response.",
                None,
            ),
            Self::BadPrefer(why) => {
                Answer::problem(422, "UNPROCESSABLE_ENTITY", "Invalid request", why, None)
            }
        }
    }
}

impl Choice {
    /// The `Content-Type` of the answer: the chosen media type, or JSON for
    /// a range such as `*/*`; `None` when the response has no content.
    pub fn content_type(&self) -> Option<&str> {
        let media_type = self.media_type.as_deref()?;
        Some(if media_type.contains('*') {
            "application/json"
        } else {
            media_type
        })
    }

    pub(crate) fn for_response(
        op: OpId,
        status: u16,
        response: &ResponseDef,
        media: Option<usize>,
    ) -> Choice {
        let media = media
            .and_then(|i| response.content.get(i))
            .or_else(|| default_media(response));
        Choice {
            op,
            status,
            media_type: media.map(|m| m.media_type.clone()),
            schema: media.and_then(|m| m.schema.clone()),
            example: media
                .and_then(|m| m.examples.first())
                .map(|(_, p)| p.clone()),
            headers: response
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.schema.clone()))
                .collect(),
            seed: None,
        }
    }
}

/// A response's media type when the client states no preference:
/// `application/json` when it has it, then any JSON type, then the first.
fn default_media(response: &ResponseDef) -> Option<&super::model::Media> {
    let content = &response.content;
    content
        .iter()
        .find(|m| m.media_type.eq_ignore_ascii_case("application/json"))
        .or_else(|| {
            content
                .iter()
                .find(|m| super::model::is_json(&m.media_type) && m.media_type != "*/*")
        })
        .or_else(|| content.first())
}

/// The media ranges of an `Accept` header, best first (by `q`, then order);
/// those with `q=0` are left out.
fn accepted(accept: &str) -> Vec<String> {
    let mut ranges: Vec<(u16, usize, String)> = Vec::new();
    for (i, part) in accept.split(',').enumerate() {
        let mut fields = part.split(';');
        let range = fields
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if range.is_empty() {
            continue;
        }
        let q = fields
            .filter_map(|f| f.trim().strip_prefix("q="))
            .filter_map(|q| q.parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        if q > 0.0 {
            ranges.push(((q.clamp(0.0, 1.0) * 1000.0) as u16, i, range));
        }
    }
    ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.into_iter().map(|(_, _, r)| r).collect()
}

impl Spec {
    /// The declared response that answers a valid request: the one
    /// `prefer.code` names (or the `default` response for it), else the
    /// lowest 2xx; its media type by `accept`; its example named by
    /// `prefer.example`, else its first example unless `prefer.dynamic`, else
    /// its schema.
    pub fn choose(
        &self,
        op: OpId,
        prefer: &Prefer,
        accept: Option<&str>,
    ) -> Result<Choice, Refusal> {
        let operation = self.op(op);
        let responses = &operation.responses;
        let (status, response) = match prefer.code {
            Some(code) => responses
                .iter()
                .find(|r| r.key == StatusKey::Code(code))
                .or_else(|| {
                    responses
                        .iter()
                        .find(|r| r.key == StatusKey::Range(code / 100))
                })
                .or_else(|| responses.iter().find(|r| r.key == StatusKey::Default))
                .map(|r| (code, r))
                .ok_or(Refusal::NoStatus(code))?,
            None => responses
                .iter()
                .filter_map(|r| match r.key {
                    StatusKey::Code(c) if (200..300).contains(&c) => Some((c, r)),
                    _ => None,
                })
                .min_by_key(|(c, _)| *c)
                .or_else(|| {
                    responses
                        .iter()
                        .find(|r| r.key == StatusKey::Range(2))
                        .map(|r| (200, r))
                })
                .ok_or(Refusal::NoSuccess)?,
        };
        let media = match accept.map(accepted).filter(|ranges| !ranges.is_empty()) {
            Some(ranges) if !response.content.is_empty() => {
                let found = ranges.iter().find_map(|range| {
                    if range == "*/*" {
                        let default = default_media(response)?;
                        return response
                            .content
                            .iter()
                            .position(|m| std::ptr::eq(m, default));
                    }
                    response
                        .content
                        .iter()
                        .position(|m| media_matches(&m.media_type, range))
                });
                Some(found.ok_or_else(|| {
                    Refusal::NotAcceptable {
                        available: response
                            .content
                            .iter()
                            .map(|m| m.media_type.clone())
                            .collect(),
                    }
                })?)
            }
            _ => None,
        };
        let mut choice = Choice::for_response(op, status, response, media);
        choice.seed = prefer.seed;
        let content = media
            .and_then(|i| response.content.get(i))
            .or_else(|| default_media(response));
        if let Some(name) = &prefer.example {
            let found = content.and_then(|m| m.examples.iter().find(|(n, _)| n == name));
            choice.example = Some(
                found
                    .ok_or_else(|| Refusal::NoExample(name.clone()))?
                    .1
                    .clone(),
            );
        } else if prefer.dynamic {
            if content.is_some() && choice.schema.is_none() {
                return Err(Refusal::NoSchema);
            }
            choice.example = None;
        }
        Ok(choice)
    }

    /// The body of a choice: its example, or data generated from its schema
    /// with `seed` (or the seed `Prefer` gave), the operation and the status;
    /// `None` for a response without content.
    pub fn body(&self, choice: &Choice, seed: u64) -> Option<Value> {
        if let Some(example) = choice.example.as_deref().and_then(|p| self.examples.get(p)) {
            return Some(example.clone());
        }
        let schema = choice.schema.as_deref().and_then(|p| self.schemas.at(p))?;
        let seed = choice.seed.unwrap_or(seed);
        Some(self.generate(schema, seed, choice.op, choice.status))
    }

    /// A choice and its body as an answer: the status, `Content-Type`, the
    /// declared headers that have a schema (generated from `seed`), and the
    /// body as JSON (a string body as its text when the media type is not
    /// JSON).
    pub fn answer(&self, choice: &Choice, body: Option<Value>, seed: u64) -> Answer {
        let json = choice.content_type().is_none_or(super::model::is_json);
        let body = body.map(|body| match body {
            Value::String(text) if !json => text.into_bytes(),
            other => other.to_string().into_bytes(),
        });
        self.answer_bytes(choice, body, seed)
    }

    /// [`Spec::answer`] with the body already written: a stored item's JSON
    /// text, as the store keeps it, is answered without being read again.
    pub fn answer_bytes(&self, choice: &Choice, body: Option<Vec<u8>>, seed: u64) -> Answer {
        let mut headers = Vec::new();
        let bytes = match (choice.content_type(), body) {
            (Some(content_type), Some(body)) => {
                headers.push(("Content-Type".to_owned(), content_type.to_owned()));
                body
            }
            _ => Vec::new(),
        };
        for (name, schema) in &choice.headers {
            if name.eq_ignore_ascii_case("content-type") {
                continue;
            }
            if let Some(schema) = schema.as_deref().and_then(|p| self.schemas.at(p)) {
                let value = self.generate(
                    schema,
                    choice.seed.unwrap_or(seed),
                    choice.op,
                    choice.status,
                );
                let text = match value {
                    Value::String(s) => s,
                    Value::Array(items) => items
                        .iter()
                        .map(|v| v.to_string().trim_matches('"').to_owned())
                        .collect::<Vec<_>>()
                        .join(","),
                    other => other.to_string(),
                };
                headers.push((name.clone(), text));
            }
        }
        if self.op(choice.op).deprecated {
            headers.push(("Deprecation".into(), "true".into()));
        }
        Answer {
            status: choice.status,
            headers,
            body: bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_reads_prisms_names_and_refuses_bad_values() {
        let p = Prefer::parse("code=404, example=\"dog\"; dynamic=true, return=minimal, seed=7")
            .unwrap();
        assert_eq!(
            p,
            Prefer {
                code: Some(404),
                example: Some("dog".into()),
                dynamic: true,
                seed: Some(7)
            }
        );
        assert!(Prefer::parse("code=40").unwrap_err().contains("\"40\""));
        assert!(Prefer::parse("dynamic=yes").is_err());
    }

    #[test]
    fn accept_ranges_by_quality() {
        assert_eq!(
            accepted("text/html;q=0.5, application/json, image/*;q=0, */*;q=0.1"),
            ["application/json", "text/html", "*/*"]
        );
    }
}
