//! Rules in the engine: the `/__admin/rules` routes, and the step every
//! other request takes before the store ([`Engine::rule_step`]).

use super::reply::{respond, JSON};
use super::Engine;
use crate::error::{message_body, ApiError};
use crate::http::access;
use crate::http::incoming::Incoming;
use crate::http::response::{Change, Response};
use crate::http::route::Route;
use crate::mock::controls::reason_phrase;
use crate::mock::rules::put_change;
use crate::mock::rules::{
    parse_body, Context, Fault, FaultKind, Limits, Overflow, Payload, Rules, Taken,
};
use crate::store::ids::new_id;
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
        headers: Vec<(String, String)>,
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

    pub(super) fn rule_limits(&self) -> Limits {
        Limits {
            max_rules: self.config.max_rules,
            max_body_bytes: self.config.max_body_bytes,
        }
    }

    pub(super) fn list_rules(&self) -> Response {
        respond(200, JSON, self.rules.render().to_string().into_bytes())
    }

    pub(super) fn add_rule(
        &mut self,
        body: &[u8],
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        crate::json::body::parse(body)?;
        let value = parse_body(body).unwrap_or(Value::Null);
        let limits = self.rule_limits();
        let ids = &mut self.ids;
        let listed = self
            .rules
            .add(&value, "", limits, &mut || new_id(ids.as_mut()))?;
        changes.push(put_change(&listed));
        Ok(respond(201, JSON, listed.to_string().into_bytes()))
    }

    /// `PUT /__admin/scenarios/{name}` with `{"state": "..."}`.
    pub(super) fn set_scenario(
        &mut self,
        name: &str,
        body: &[u8],
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        crate::json::body::parse(body)?;
        let value = parse_body(body).unwrap_or(Value::Null);
        let state = match value.as_object() {
            Some(members) if members.len() == 1 => members.get("state").and_then(Value::as_str),
            _ => None,
        };
        let Some(state) = state else {
            return Err(ApiError::BadScenarioState {
                reason:
                    "The body must be `{\"state\": \"NAME\"}`, the state to put the scenario in"
                        .to_owned(),
            });
        };
        let (scenario, change) = self.rules.set_state(name, state)?;
        changes.push(change);
        Ok(respond(200, JSON, scenario.to_string().into_bytes()))
    }

    pub(super) fn delete_rule(
        &mut self,
        id: &str,
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let listed = self
            .rules
            .remove(id)
            .ok_or_else(|| ApiError::RuleNotFound { id: id.to_owned() })?;
        changes.push(Change::DeleteRule { id: id.to_owned() });
        Ok(respond(200, JSON, listed.to_string().into_bytes()))
    }

    pub(super) fn clear_rules(&mut self, changes: &mut Vec<Change>) -> Response {
        let deleted = self.rules.clear();
        changes.push(Change::ClearRules);
        respond(200, JSON, format!("{{\"deleted\":{deleted}}}").into_bytes())
    }

    /// Finds the rule for a request and says what it does. The mock's own
    /// paths ([`mocks_own`]) and `OPTIONS` (CORS preflights) are never
    /// matched, and a request over the URI or body limit gets its `414` or
    /// `413` from the store's path.
    /// A matching rule still needs the token where the path does; without
    /// it the answer is `401` and the rule counts nothing.
    pub(super) fn rule_step(
        &mut self,
        route: &Result<Route, ApiError>,
        request: &Incoming<'_>,
        now: Duration,
        changes: &mut Vec<Change>,
    ) -> Step {
        if self.rules.len() == 0 {
            return Step::Store;
        }
        let config = &self.config;
        // Over the limits or a preflight never reaches here (`Engine::admit`).
        if mocks_own(&request.path) {
            return Step::Store;
        }
        let (public, admin) = route.as_ref().map_or((false, false), |route| {
            (route.is_public(), route.is_admin())
        });
        let mut parsed = None;
        let authorized = || access::authorized_for(config, public, admin, request);
        // While recording, the target answers what a recording would.
        let recording = config.record;
        let skip = |id: &str| recording && id.starts_with(crate::mock::rules::RECORDED_PREFIX);
        let rule = match self
            .rules
            .take_unless(request, &mut parsed, authorized, changes, skip)
        {
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

/// Whether a path is the mock's own, which no rule answers: `/__admin/...`
/// (its first segment read decoded too), so that a rule on `/**` cannot lock
/// anyone out of removing it; `/health` and `/`, so that one cannot take the
/// instance out of a load balancer's pool (which asks either); and
/// `/openapi.json`. The same paths are never proxied.
pub(super) fn mocks_own(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    crate::mock::proxy::is_local(path)
        || percent_encoding::percent_decode_str(first).decode_utf8_lossy() == "__admin"
}

/// Puts a rule's headers on a response, each in place of any of its name.
pub(super) fn set_headers(response: &mut Response, headers: Vec<(String, String)>) {
    for (name, value) in headers {
        response.headers.retain(|(n, _)| *n != name);
        response.headers.push((name.into(), value));
    }
}

fn render_headers(
    rule: &Taken,
    context: &mut Context<'_>,
) -> Result<Vec<(String, String)>, Overflow> {
    rule.respond
        .headers
        .iter()
        .map(|(name, template)| {
            let mut value = String::new();
            template.render(context, &mut value)?;
            // A header value carries no control characters, and HTTP drops
            // the spaces around it: every host sends the same.
            value.retain(|c| !c.is_control());
            Ok((name.clone(), value.trim().to_owned()))
        })
        .collect()
}

/// The response a rule answers, and the fault the host acts on.
fn answer(rule: &Taken, context: &mut Context<'_>) -> Result<(Response, Option<Fault>), Overflow> {
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
        Payload::Fixed { bytes, spends } => {
            context.spend(*spends)?;
            (JSON, bytes.to_vec())
        }
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
            match crate::mock::rules::Template::parse(text) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::outcome::Outcome;
    use crate::http::request::{Method, Request};
    use crate::store::ids::SeededIds;

    const T0: Duration = Duration::from_secs(1_700_000_000);

    fn engine(config: Config) -> Engine {
        Engine::new(config, Box::new(SeededIds::new(3)), T0)
    }

    fn send(engine: &mut Engine, method: Method, target: &str, body: &str) -> Outcome {
        engine.handle(&Request::new(method, target).with_body(body), T0)
    }

    #[test]
    fn a_reset_fault_is_for_the_host_after_the_delay() {
        let mut engine = engine(Config::default());
        let rule = r#"{"match":{"path":"/api/down"},"respond":{"fault":"reset","delay_ms":250}}"#;
        assert_eq!(
            send(&mut engine, Method::Post, "/__admin/rules", rule)
                .response
                .status,
            201
        );
        let outcome = send(&mut engine, Method::Get, "/api/down", "");
        assert_eq!(outcome.fault, Some(Fault::Reset));
        assert_eq!(outcome.delay, Duration::from_millis(250));
        assert_eq!(
            outcome.response.status, 502,
            "what a host that cannot drop sends"
        );
        assert!(outcome.changes.is_empty());
        let other = send(&mut engine, Method::Get, "/api/up", "");
        assert_eq!(other.fault, None);
        let malformed = r#"{"match":{"path":"/api/cut"},"respond":{"status":200,"json":{"a":"é"},"fault":"malformed"}}"#;
        send(&mut engine, Method::Post, "/__admin/rules", malformed);
        let cut = send(&mut engine, Method::Get, "/api/cut", "");
        assert_eq!(cut.fault, None, "the engine cuts the body itself");
        assert!(
            std::str::from_utf8(&cut.response.body).is_ok(),
            "cut at a character boundary"
        );
    }

    #[test]
    fn an_answer_over_the_body_limit_is_413_and_counts_the_match() {
        let mut engine = engine(Config {
            max_body_bytes: 64,
            ..Config::default()
        });
        let rules = r#"[{"match":{"path":"/echo"},"respond":{"status":200,"body":"{{body.a}}{{body.a}}"},"times":2}]"#;
        assert_eq!(
            engine.load_rules(rules.as_bytes()),
            Ok(1),
            "a file is not bounded by MAX_BODY_BYTES"
        );
        let small = send(&mut engine, Method::Post, "/echo", r#"{"a":"xyz"}"#);
        assert_eq!(small.response.body, b"xyzxyz");
        let big = send(
            &mut engine,
            Method::Post,
            "/echo",
            &format!(r#"{{"a":"{}"}}"#, "x".repeat(40)),
        );
        assert_eq!(big.response.status, 413);
        assert_eq!(engine.rules.len(), 0, "both matches counted");
    }

    #[test]
    fn header_names_go_with_the_rules_that_use_them() {
        let mut engine = engine(Config::default());
        // More distinct names, in all, than any one table of names could hold.
        for n in 0..1_100 {
            let rule = format!(
                r#"{{"id":"r","match":{{"headers":{{"X-Asked-{n}":"1"}}}},"respond":{{"status":204,"headers":{{"X-Set-{n}":"1"}}}}}}"#
            );
            let added = send(&mut engine, Method::Post, "/__admin/rules", &rule);
            assert_eq!(added.response.status, 201, "rule {n}");
            let deleted = send(&mut engine, Method::Delete, "/__admin/rules/r", "");
            assert_eq!(deleted.response.status, 200);
        }
        let used_up = r#"{"respond":{"status":204,"headers":{"X-Once":"1"}},"times":1}"#;
        send(&mut engine, Method::Post, "/__admin/rules", used_up);
        assert_eq!(
            send(&mut engine, Method::Get, "/a", "").response.status,
            204
        );
        let rule =
            r#"{"match":{"path":"/down"},"respond":{"status":503,"headers":{"Retry-After":"5"}}}"#;
        assert_eq!(
            send(&mut engine, Method::Post, "/__admin/rules", rule)
                .response
                .status,
            201
        );
        let down = send(&mut engine, Method::Get, "/down", "");
        assert_eq!(down.response.header("retry-after"), Some("5"));
    }

    #[test]
    fn rules_loaded_at_start_are_what_reset_restores() {
        let mut engine = engine(Config::default());
        let file = br#"[{"id":"a","match":{"path":"/a"},"respond":{"status":500},"times":1}]"#;
        assert_eq!(engine.load_rules(file), Ok(1));
        assert_eq!(
            send(&mut engine, Method::Get, "/a", "").response.status,
            500
        );
        assert_eq!(
            send(&mut engine, Method::Get, "/a", "").response.status,
            404
        );
        send(&mut engine, Method::Post, "/__admin/reset", "");
        assert_eq!(
            send(&mut engine, Method::Get, "/a", "").response.status,
            500
        );
        let bad = engine.load_rules(br#"[{"respond":{"status":200}},{"respond":{}, "x":1}]"#);
        assert!(
            matches!(bad, Err(ApiError::BadRule { ref field, .. }) if field == "[1].x"),
            "{bad:?}"
        );
        assert_eq!(
            engine.rules.len(),
            0,
            "a bad file changes nothing: the used-up rule stays gone"
        );
        assert!(engine.load_rules(b"{}").is_err());
    }

    #[test]
    fn rule_changes_replay_into_the_same_rules() {
        let mut live = engine(Config::default());
        live.load_rules(
            br#"[{"id":"f","match":{"path":"/f"},"respond":{"status":500},"times":2}]"#,
        )
        .unwrap();
        let mut log = live.rebuild_changes();
        for (method, target, body) in [
            (
                Method::Post,
                "/__admin/rules",
                r#"{"id":"a","match":{"path":"/a"},"respond":{"status":201},"times":3}"#,
            ),
            (
                Method::Post,
                "/__admin/rules",
                r#"{"id":"b","match":{"path":"/b"},"respond":{"status":202}}"#,
            ),
            (Method::Get, "/a", ""),
            (Method::Get, "/f", ""),
            (Method::Get, "/f", ""),
            (Method::Delete, "/__admin/rules/b", ""),
            (
                Method::Post,
                "/__admin/rules",
                r#"{"id":"c","respond":{"status":203},"priority":-1}"#,
            ),
        ] {
            log.extend(send(&mut live, method, target, body).changes);
        }
        let listed = |engine: &mut Engine| {
            send(engine, Method::Get, "/__admin/rules", "")
                .response
                .body
        };
        let mut replayed = engine(Config::default());
        for change in &log {
            replayed.apply(change);
        }
        let expected = listed(&mut live);
        assert_eq!(
            String::from_utf8_lossy(&listed(&mut replayed)),
            String::from_utf8_lossy(&expected)
        );
        assert!(String::from_utf8_lossy(&expected).starts_with(
            r#"[{"id":"a","match":{"path":"/a"},"respond":{"status":201},"times":2,"priority":0},{"id":"c""#
        ));
        // Reset is stored too: the rules of the start, with their times.
        let reset = send(&mut live, Method::Post, "/__admin/reset", "").changes;
        for change in &reset {
            replayed.apply(change);
        }
        assert_eq!(listed(&mut replayed), listed(&mut live));
        assert!(String::from_utf8_lossy(&listed(&mut live)).starts_with(r#"[{"id":"f","#));
        // A replayed rule answers as the live one does.
        assert_eq!(
            send(&mut replayed, Method::Get, "/f", "").response.status,
            500
        );
    }
}
