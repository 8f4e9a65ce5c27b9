//! Rules in the engine: the `/__admin/rules` routes, and the step every
//! other request takes before the store ([`Engine::rule_step`]).

use super::{respond, Engine, JSON};
use crate::access;
use crate::controls::reason_phrase;
use crate::error::{message_body, ApiError};
use crate::ids::new_id;
use crate::request::{Method, Request};
use crate::response::Response;
use crate::route::Route;
use crate::rules::{
    parse_body, segments, Context, Fault, FaultKind, Limits, Overflow, Payload, Rule, Rules,
};
use serde_json::Value;
use std::time::Duration;

/// What the rules make of a request.
pub(super) enum Step {
    /// No rule matches: the store answers as it would without rules.
    Store,
    /// A rule answers.
    Answer {
        /// The rule's id; `None` when the request may not use the path (`401`).
        rule: Option<String>,
        response: Response,
        delay: Option<Duration>,
        fault: Option<Fault>,
    },
    /// A rule lets the request through to the store, with headers and a delay.
    Through {
        rule: String,
        headers: Vec<(&'static str, String)>,
        delay: Option<Duration>,
    },
}

impl Engine {
    /// Loads rules (a JSON array, as `GET /__admin/rules` lists them) in
    /// place of the current ones, and makes them the rules `POST
    /// /__admin/reset` restores. All or none: on error (`400` naming the
    /// rule and field, as `[2].match.path`, or `507` past `MAX_RULES`)
    /// nothing changes. Returns how many rules there are.
    pub fn load_rules(&mut self, bytes: &[u8]) -> Result<usize, ApiError> {
        let limits = self.rule_limits();
        let ids = &mut self.ids;
        let rules = Rules::load(bytes, limits, &mut || new_id(ids.as_mut()))?;
        let count = rules.len();
        self.rules = rules;
        self.initial_rules = self.rules.clone();
        Ok(count)
    }

    fn rule_limits(&self) -> Limits {
        Limits {
            max_rules: self.config.max_rules,
            max_body_bytes: self.config.max_body_bytes,
        }
    }

    pub(super) fn list_rules(&self) -> Response {
        respond(200, JSON, self.rules.render().to_string().into_bytes())
    }

    pub(super) fn add_rule(&mut self, body: &[u8]) -> Result<Response, ApiError> {
        crate::body::parse(body)?;
        let value = parse_body(body).unwrap_or(Value::Null);
        let limits = self.rule_limits();
        let ids = &mut self.ids;
        let listed = self
            .rules
            .add(&value, "", limits, &mut || new_id(ids.as_mut()))?;
        Ok(respond(201, JSON, listed.to_string().into_bytes()))
    }

    pub(super) fn delete_rule(&mut self, id: &str) -> Result<Response, ApiError> {
        let listed = self
            .rules
            .remove(id)
            .ok_or_else(|| ApiError::RuleNotFound { id: id.to_owned() })?;
        Ok(respond(200, JSON, listed.to_string().into_bytes()))
    }

    pub(super) fn clear_rules(&mut self) -> Response {
        let deleted = self.rules.clear();
        respond(200, JSON, format!("{{\"deleted\":{deleted}}}").into_bytes())
    }

    /// Finds the rule for a request and says what it does. `/__admin` paths
    /// and `OPTIONS` (CORS preflights) are never matched, and a request over
    /// the URI or body limit gets its `414` or `413` from the store's path.
    /// A matching rule still needs the token where the path does; without
    /// it the answer is `401` and the rule counts nothing.
    pub(super) fn rule_step(
        &mut self,
        route: &Result<Route, ApiError>,
        request: &Request,
        now: Duration,
    ) -> Step {
        let config = &self.config;
        let over_limits = request.body_too_large
            || request.body.len() > config.max_body_bytes
            || request.path.len() + request.query.len() + 1 > config.max_uri_bytes;
        let admin_path = segments(&request.path)
            .first()
            .is_some_and(|first| first == "__admin");
        if self.rules.len() == 0 || request.method == Method::Options || admin_path || over_limits {
            return Step::Store;
        }
        let (public, admin) = route.as_ref().map_or((false, false), |route| {
            (route.is_public(), route.is_admin())
        });
        let mut parsed = None;
        let authorized = || access::authorized_for(config, public, admin, request);
        let rule = match self.rules.take(request, &mut parsed, authorized) {
            None => return Step::Store,
            Some(Err(err)) => {
                return Step::Answer {
                    rule: None,
                    response: err.to_response(),
                    delay: None,
                    fault: None,
                }
            }
            Some(Ok(rule)) => rule,
        };
        let limit = self.config.max_body_bytes;
        let ids = &mut self.ids;
        let mut fresh_id = || new_id(ids.as_mut());
        let mut context = Context {
            request,
            now,
            new_id: &mut fresh_id,
            budget: limit,
            parsed,
        };
        let delay = rule.respond.delay;
        let rendered = render_headers(&rule, &mut context).and_then(|headers| {
            if rule.respond.passes_through() {
                return Ok(Step::Through {
                    rule: rule.id.clone(),
                    headers,
                    delay,
                });
            }
            let (mut response, fault) = answer(&rule, &mut context)?;
            set_headers(&mut response, headers);
            Ok(Step::Answer {
                rule: Some(rule.id.clone()),
                response,
                delay,
                fault,
            })
        });
        rendered.unwrap_or_else(|Overflow| Step::Answer {
            rule: Some(rule.id.clone()),
            response: ApiError::RuleAnswerTooLarge { id: rule.id, limit }.to_response(),
            delay,
            fault: None,
        })
    }
}

/// Puts a rule's headers on a response, each in place of any of its name.
pub(super) fn set_headers(response: &mut Response, headers: Vec<(&'static str, String)>) {
    for (name, value) in headers {
        response.headers.retain(|(n, _)| *n != name);
        response.headers.push((name, value));
    }
}

fn render_headers(
    rule: &Rule,
    context: &mut Context<'_>,
) -> Result<Vec<(&'static str, String)>, Overflow> {
    rule.respond
        .headers
        .iter()
        .map(|(name, template)| {
            let mut value = String::new();
            template.render(context, &mut value)?;
            // A header value carries no control characters, and HTTP drops
            // the spaces around it: every host sends the same.
            value.retain(|c| !c.is_control());
            Ok((*name, value.trim().to_owned()))
        })
        .collect()
}

/// The response a rule answers, and the fault the host acts on.
fn answer(rule: &Rule, context: &mut Context<'_>) -> Result<(Response, Option<Fault>), Overflow> {
    let asked = &rule.respond;
    let id = &rule.id;
    if asked.fault == Some(FaultKind::Reset) {
        let message = format!("Rule {id} drops the connection (fault `reset`).");
        return Ok((
            respond(502, JSON, message_body(&message)),
            Some(Fault::Reset),
        ));
    }
    let status = asked.status.unwrap_or(200);
    let (content_type, mut body) = match &asked.payload {
        Payload::Json(value) => (JSON, fill_json(value, context)?.to_string().into_bytes()),
        Payload::Text(template) => {
            let mut text = String::new();
            template.render(context, &mut text)?;
            ("text/plain; charset=utf-8", text.into_bytes())
        }
        Payload::Nothing => {
            let message = format!("Rule {id} answered {status} {}.", reason_phrase(status));
            (JSON, message_body(&message))
        }
    };
    if asked.fault == Some(FaultKind::Malformed) {
        // Cut in half (at a character boundary), so the JSON never ends.
        let mut keep = body.len() / 2;
        while keep > 0 && (body[keep] & 0xC0) == 0x80 {
            keep -= 1;
        }
        body.truncate(keep.max(1).min(body.len()));
    }
    let bodiless = status == 204 || status == 205 || status == 304;
    let response = if bodiless {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    } else {
        respond(status, content_type, body)
    };
    Ok((response, None))
}

/// A `json` answer with the templates in its strings filled in.
fn fill_json(value: &Value, context: &mut Context<'_>) -> Result<Value, Overflow> {
    Ok(match value {
        Value::String(text) if text.contains("{{") => {
            let mut out = String::new();
            // Checked when the rule was added; a template that fails here stays as it was.
            match crate::rules::Template::parse(text) {
                Ok(template) => template.render(context, &mut out)?,
                Err(_) => out.push_str(text),
            }
            Value::String(out)
        }
        Value::String(text) => {
            context.spend(text.len())?;
            Value::String(text.clone())
        }
        Value::Array(elements) => Value::Array(
            elements
                .iter()
                .map(|element| fill_json(element, context))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, member)| Ok((key.clone(), fill_json(member, context)?)))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}
