//! Templates in a rule's answer: `{{path.N}}`, `{{query.NAME}}`,
//! `{{body.a.b}}`, `{{header.NAME}}`, `{{uuid}}` and `{{now}}`.
//!
//! A template is checked when the rule is added (an unknown source is a
//! `400`) and filled in for each request it answers, within a byte budget so
//! that no answer grows past the body limit.

use super::pattern::segments;
use crate::http::incoming::Incoming;
use serde_json::Value;
use std::time::{Duration, UNIX_EPOCH};

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Path(usize),
    Query(String),
    Body(Vec<String>),
    Header(String),
    Uuid,
    Now,
}

/// A string with `{{...}}` placeholders, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

const SOURCES: &str = "path.N, query.NAME, body.a.b, header.NAME, uuid and now";

impl Template {
    /// Parses a string. `{{` with no closing `}}` is plain text.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            let Some(close) = rest[open + 2..].find("}}") else {
                break;
            };
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let inner = rest[open + 2..open + 2 + close].trim();
            pieces.push(source(inner)?);
            rest = &rest[open + 2 + close + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Self { pieces })
    }

    /// Whether the template has no placeholders: it reads as its text.
    pub(crate) fn is_plain(&self) -> bool {
        self.pieces
            .iter()
            .all(|piece| matches!(piece, Piece::Text(_)))
    }

    /// Fills the template in for a request, within the budget.
    pub(crate) fn render(
        &self,
        context: &mut Context<'_>,
        out: &mut String,
    ) -> Result<(), Overflow> {
        for piece in &self.pieces {
            let text = match piece {
                Piece::Text(text) => text.clone(),
                Piece::Path(n) => segments(&context.request.path)
                    .into_iter()
                    .nth(*n)
                    .unwrap_or_default(),
                Piece::Query(name) => context
                    .request
                    .query_pairs()
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.clone())
                    .unwrap_or_default(),
                Piece::Header(name) => context.request.header(name).unwrap_or("").to_owned(),
                Piece::Body(keys) => body_text(context.body(), keys),
                Piece::Uuid => (context.new_id)(),
                Piece::Now => {
                    humantime::format_rfc3339_millis(UNIX_EPOCH + context.now).to_string()
                }
            };
            context.spend(text.len())?;
            out.push_str(&text);
        }
        Ok(())
    }
}

fn source(inner: &str) -> Result<Piece, String> {
    let unknown =
        || format!("`{{{{{inner}}}}}` is not a template source; the sources are {SOURCES}");
    match inner {
        "uuid" => return Ok(Piece::Uuid),
        "now" => return Ok(Piece::Now),
        _ => {}
    }
    let Some((kind, name)) = inner.split_once('.') else {
        return Err(unknown());
    };
    if name.is_empty() {
        return Err(unknown());
    }
    match kind {
        "path" => name.parse().map(Piece::Path).map_err(|_| {
            format!("`{{{{{inner}}}}}`: a path segment is a number from 0, as in {{{{path.1}}}}")
        }),
        "query" => Ok(Piece::Query(name.to_owned())),
        "header" => Ok(Piece::Header(name.to_owned())),
        "body" => Ok(Piece::Body(name.split('.').map(str::to_owned).collect())),
        _ => Err(unknown()),
    }
}

/// A value of the request's JSON body by its keys (array elements by
/// index): a string as its text, anything else as its JSON; empty when absent.
fn body_text(body: Option<&Value>, keys: &[String]) -> String {
    let mut value = match body {
        Some(value) => value,
        None => return String::new(),
    };
    for key in keys {
        let next = match value {
            Value::Object(members) => members.get(key),
            Value::Array(elements) => key.parse::<usize>().ok().and_then(|n| elements.get(n)),
            _ => None,
        };
        match next {
            Some(next) => value = next,
            None => return String::new(),
        }
    }
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The answer would be larger than the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow;

/// What templates are filled in from.
pub(crate) struct Context<'a> {
    /// The request being answered.
    pub request: &'a Incoming<'a>,
    /// The time, since the Unix epoch.
    pub now: Duration,
    /// A fresh id for `{{uuid}}`.
    pub new_id: &'a mut dyn FnMut() -> String,
    /// Bytes the answer may still take.
    pub budget: usize,
    /// The request body parsed as JSON, once it has been asked for.
    pub parsed: Option<Option<Value>>,
}

impl Context<'_> {
    /// Takes `bytes` from the budget.
    pub(crate) fn spend(&mut self, bytes: usize) -> Result<(), Overflow> {
        self.budget = self.budget.checked_sub(bytes).ok_or(Overflow)?;
        Ok(())
    }

    fn body(&mut self) -> Option<&Value> {
        let body = &self.request.body;
        self.parsed
            .get_or_insert_with(|| super::parse_body(body))
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::{Method, Request};

    fn render(template: &str, request: &Request) -> String {
        let request = &Incoming::new(request);
        let mut n = 0;
        let mut new_id = || {
            n += 1;
            format!("id{n}")
        };
        let mut context = Context {
            request,
            now: Duration::from_millis(1_700_000_000_123),
            new_id: &mut new_id,
            budget: 1000,
            parsed: None,
        };
        let mut out = String::new();
        Template::parse(template)
            .unwrap()
            .render(&mut context, &mut out)
            .unwrap();
        out
    }

    #[test]
    fn every_source_is_filled_in() {
        let request = Request::new(Method::Post, "/api/orders/a%20b?x=1&name=J%C3%BCrg&x=2")
            .with_header("X-Trace", "t-1")
            .with_body(r#"{"customer":{"name":"Ada","tags":["a","b"]},"qty":3}"#);
        assert_eq!(
            render(
                "{{path.0}}/{{path.2}}/{{path.9}}|{{query.x}}|{{query.name}}|{{query.none}}",
                &request
            ),
            "api/a b/|1|Jürg|"
        );
        assert_eq!(
            render("{{ body.customer.name }} {{body.qty}} {{body.customer.tags.1}} {{body.customer}} [{{body.no}}]", &request),
            r#"Ada 3 b {"name":"Ada","tags":["a","b"]} []"#
        );
        assert_eq!(
            render("{{header.x-trace}}{{header.X-TRACE}}", &request),
            "t-1t-1"
        );
        assert_eq!(
            render("{{uuid}} {{uuid}} {{now}}", &request),
            "id1 id2 2023-11-14T22:13:20.123Z"
        );
        assert_eq!(render("{{ not closed", &request), "{{ not closed");
    }

    #[test]
    fn unknown_sources_are_refused() {
        for bad in [
            "{{user}}",
            "{{path.x}}",
            "{{query.}}",
            "{{cookie.a}}",
            "{{}}",
        ] {
            assert!(
                Template::parse(bad)
                    .unwrap_err()
                    .contains("template source")
                    || bad == "{{path.x}}",
                "{bad}"
            );
        }
        assert!(Template::parse("{{path.x}}").is_err());
    }

    #[test]
    fn the_budget_bounds_the_answer() {
        let request = Request::new(Method::Post, "/a").with_body(r#"{"big":"xxxxxxxxxx"}"#);
        let mut new_id = String::new;
        let mut context = Context {
            request: &Incoming::new(&request),
            now: Duration::ZERO,
            new_id: &mut new_id,
            budget: 25,
            parsed: None,
        };
        let template = Template::parse("{{body.big}}{{body.big}}{{body.big}}").unwrap();
        let mut out = String::new();
        assert_eq!(template.render(&mut context, &mut out), Err(Overflow));
    }
}
