//! Rules: behaviours set at run time. A rule matches requests (method, path
//! pattern, query, headers, JSON body subset) and answers them itself
//! (status, headers, a body with templates, a delay, a fault), or lets them
//! through to the store with a delay and added headers.
//!
//! This module holds the rules of one engine and what they mean; the admin
//! routes and the hook in the request path are in `engine/rules.rs`.
//!
//! - [`Rules::add`] checks a rule as JSON and names the field that is wrong.
//! - [`Rules::take`] finds the rule that answers a request: the highest
//!   `priority`, the newest among equals, and counts its `times`.
//! - [`Rules::render`] lists them as JSON, in the order they were added, in
//!   the form [`Rules::add`] takes back (for `--rules`).

mod body;
mod names;
mod pattern;
mod scenario;
mod template;

pub(crate) use names::answer_name;
use names::MAX_RULE_HEADERS;
pub(crate) use pattern::segments;
pub(crate) use scenario::STARTED;
use scenario::{read_state, state_change, Step, STATE_PREFIX};
pub(crate) use template::{Context, Overflow, Template};

use crate::error::ApiError;
use crate::http::incoming::Incoming;
use crate::http::request::Method;
use crate::http::route::check_name;
use crate::mock::controls::MAX_DELAY;
use body::BodyPattern;
use pattern::{Key, PathPattern};
use serde_json::{Map, Value};
use std::time::Duration;

/// The prefix of the ids of recorded rules. While `RECORD=1`, rules with it
/// do not answer (the target does, and its latest answer replaces them).
pub(crate) const RECORDED_PREFIX: &str = "recorded-";

/// What a host must do for a rule's fault, beyond sending the response.
///
/// `"malformed"` needs nothing of the host: the engine writes the truncated
/// body itself, so every host sends the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Drop the connection without an answer (natively a reset; in a service
    /// worker `Response.error()`, so `fetch` rejects). The outcome's response
    /// is what a host that cannot drop a connection sends instead: `502`.
    Reset,
}

/// The fault a rule asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// `"reset"`.
    Reset,
    /// `"malformed"`: a JSON body cut short.
    Malformed,
}

/// What a rule's answer carries as its body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Payload {
    /// No `json` nor `body`.
    Nothing,
    /// `json`: a value whose strings may hold templates.
    Json(Value),
    /// `json` with no template in it: the answer's bytes, written once when
    /// the rule is added, and what its strings spend of an answer's budget
    /// (as filling them in would).
    Fixed {
        /// The JSON text.
        bytes: std::sync::Arc<[u8]>,
        /// The bytes of its strings.
        spends: usize,
    },
    /// `body`: text with templates.
    Text(Template),
}

/// A rule's `respond`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Respond {
    /// `status`; with no status and no fault, the request goes through.
    pub status: Option<u16>,
    /// `headers`, names lower-cased.
    pub headers: Vec<(String, Template)>,
    /// `json` or `body`.
    pub payload: Payload,
    /// `delay_ms`.
    pub delay: Option<Duration>,
    /// `fault`.
    pub fault: Option<FaultKind>,
}

impl Respond {
    /// Whether the rule lets the request through to the store.
    pub(crate) fn passes_through(&self) -> bool {
        self.status.is_none() && self.fault.is_none()
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Matcher {
    method: Option<String>,
    path: Option<PathPattern>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<BodyPattern>,
}

/// One rule, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    /// Its id, as `DELETE /__admin/rules/{id}` takes it.
    pub id: String,
    /// When it was added, among the engine's rules: the newest wins a tie.
    seq: u64,
    matcher: Matcher,
    /// What it answers (shared with each [`Taken`] copy of it).
    pub respond: std::sync::Arc<Respond>,
    /// Matches left to answer; `None` is forever.
    times: Option<u64>,
    /// Its place in a scenario, if any.
    scenario: Option<Step>,
    priority: i64,
    /// `match` and `respond` as given, for listing.
    given_match: Value,
    given_respond: Value,
}

/// The rule a request got: its id and what it answers.
#[derive(Debug, Clone)]
pub(crate) struct Taken {
    /// The rule's id.
    pub id: String,
    /// Its `respond`.
    pub respond: std::sync::Arc<Respond>,
}

/// The rules of one engine, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Rules {
    list: Vec<Rule>,
    next_seq: u64,
    /// Which rules a request's path can match, kept with `list`.
    index: Index,
    /// Each scenario's state, once a rule or `PUT /__admin/scenarios/{name}`
    /// moved it from [`STARTED`].
    states: std::collections::BTreeMap<String, String>,
}

/// The rules (by their place in the list) that a request's path can match,
/// so that a request tries only those, however many rules there are: a rule
/// whose path pattern is all literal segments is found by the path's
/// segments, one whose pattern starts with a literal by the first segment,
/// and only the rest (no path, or one that starts with `*` or `**`) are
/// tried for every request.
#[derive(Debug, Clone, Default, PartialEq)]
struct Index {
    exact: std::collections::HashMap<Vec<String>, Vec<usize>>,
    first: std::collections::HashMap<String, Vec<usize>>,
    anywhere: Vec<usize>,
}

impl Index {
    fn of(list: &[Rule]) -> Self {
        let mut index = Self::default();
        for (n, rule) in list.iter().enumerate() {
            index.insert(n, rule);
        }
        index
    }

    /// Forgets the rule at `at` of the list, and moves every later place
    /// down by one, as `Vec::remove` moves the rules: no key is computed again.
    fn remove(&mut self, at: usize) {
        let lists = self
            .exact
            .values_mut()
            .chain(self.first.values_mut())
            .chain(std::iter::once(&mut self.anywhere));
        for places in lists {
            places.retain(|n| *n != at);
            for n in places.iter_mut() {
                if *n > at {
                    *n -= 1;
                }
            }
        }
        self.exact.retain(|_, places| !places.is_empty());
        self.first.retain(|_, places| !places.is_empty());
    }

    fn insert(&mut self, n: usize, rule: &Rule) {
        match rule.matcher.path.as_ref().map(PathPattern::key) {
            Some(Key::Exact(segments)) => self.exact.entry(segments).or_default().push(n),
            Some(Key::First(first)) => self.first.entry(first.to_owned()).or_default().push(n),
            Some(Key::Anywhere) | None => self.anywhere.push(n),
        }
    }

    /// The rules a path of these segments can match, each once.
    fn candidates<'a>(&'a self, segments: &[String]) -> impl Iterator<Item = usize> + 'a {
        let exact = self.exact.get(segments).map_or(&[][..], Vec::as_slice);
        let first = segments
            .first()
            .and_then(|first| self.first.get(first))
            .map_or(&[][..], Vec::as_slice);
        exact.iter().chain(first).chain(&self.anywhere).copied()
    }
}

/// The limits a rule is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// `MAX_RULES`.
    pub max_rules: usize,
    /// `MAX_BODY_BYTES`: the largest `json` or `body` of an answer.
    pub max_body_bytes: usize,
}

fn bad(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::BadRule {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// The request's body as JSON, if it is JSON.
pub(crate) fn parse_body(body: &[u8]) -> Option<Value> {
    if body.is_empty() || crate::json::body::parse(body).is_err() {
        return None;
    }
    let mut reader = serde_json::Deserializer::from_slice(body);
    // `body::parse` has bounded the depth.
    reader.disable_recursion_limit();
    serde::Deserialize::deserialize(&mut reader).ok()
}

impl Rules {
    /// The rules that come closest to answering a request they do not
    /// answer: at most `most`, those that miss the fewest of their fields
    /// first (the newest first among equals), each with its id and the fields
    /// it missed.
    pub(crate) fn near_misses(
        &self,
        request: &Incoming<'_>,
        most: usize,
    ) -> Vec<(&str, Vec<String>)> {
        let mut near: Vec<(&str, Vec<String>)> = self
            .list
            .iter()
            .rev()
            .map(|rule| (rule.id.as_str(), rule.matcher.differences(request)))
            .filter(|(_, missed)| !missed.is_empty())
            .collect();
        near.sort_by_key(|(_, missed)| missed.len());
        near.truncate(most);
        near
    }

    /// Whether a rule may answer in its scenario's current state.
    fn in_its_state(&self, rule: &Rule) -> bool {
        match &rule.scenario {
            Some(Step {
                name,
                when: Some(when),
                ..
            }) => self.state(name) == when,
            _ => true,
        }
    }

    /// A scenario's current state.
    fn state(&self, name: &str) -> &str {
        self.states.get(name).map_or(STARTED, String::as_str)
    }

    /// The scenarios the rules name, in the order the rules name them, each
    /// `{"name", "state", "states"}` (`states`: `Started`, then every state a
    /// rule names for it).
    pub(crate) fn scenarios(&self) -> Vec<Value> {
        let mut names: Vec<(&str, Vec<&str>)> = Vec::new();
        for step in self.list.iter().filter_map(|rule| rule.scenario.as_ref()) {
            let at = match names.iter().position(|(name, _)| *name == step.name) {
                Some(at) => at,
                None => {
                    names.push((&step.name, vec![STARTED]));
                    names.len() - 1
                }
            };
            for state in step.when.iter().chain(&step.set) {
                if !names[at].1.contains(&state.as_str()) {
                    names[at].1.push(state);
                }
            }
        }
        names
            .into_iter()
            .map(|(name, states)| {
                serde_json::json!({"name": name, "state": self.state(name), "states": states})
            })
            .collect()
    }

    /// Puts a scenario in a state (`PUT /__admin/scenarios/{name}`): one of
    /// the states its rules name, or `Started`. Returns the scenario as
    /// [`Rules::scenarios`] lists it, and the change that stores its state.
    pub(crate) fn set_state(
        &mut self,
        name: &str,
        state: &str,
    ) -> Result<(Value, crate::http::response::Change), ApiError> {
        let listed = self.scenarios();
        let Some(scenario) = listed.iter().find(|s| s["name"] == name) else {
            return Err(ApiError::ScenarioNotFound {
                name: name.to_owned(),
            });
        };
        let states = scenario["states"].as_array().cloned().unwrap_or_default();
        if !states.iter().any(|known| known == state) {
            let known: Vec<&str> = states.iter().filter_map(Value::as_str).collect();
            return Err(ApiError::BadScenarioState {
                reason: format!(
                    "`{state}` is not a state of the scenario `{name}`; its states are {}",
                    known.join(", ")
                ),
            });
        }
        self.states.insert(name.to_owned(), state.to_owned());
        let mut scenario = scenario.clone();
        scenario["state"] = Value::String(state.to_owned());
        Ok((scenario, state_change(name, state)))
    }

    /// How many rules there are.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Checks a rule (`{"match", "respond", "times", "priority"}`, and
    /// optionally an `id`) and adds it. `prefix` goes in front of field names
    /// in errors (`[3].` for the fourth rule of a file). Returns the rule as
    /// listed.
    ///
    /// `MAX_RULES` bounds the recorded rules (their ids start with
    /// [`RECORDED_PREFIX`]) and the others each on their own, so recording
    /// never takes the room of the rules a user adds.
    pub(crate) fn add(
        &mut self,
        value: &Value,
        prefix: &str,
        limits: Limits,
        new_id: &mut dyn FnMut() -> String,
    ) -> Result<Value, ApiError> {
        let rule = self.check(value, prefix, limits, new_id)?;
        let recorded = rule.is_recorded();
        // Counted only when the limit may be reached: loading 10,000 rules
        // then costs no pass over the rules before each one.
        let alike = if self.list.len() < limits.max_rules {
            0
        } else {
            self.list
                .iter()
                .filter(|other| other.is_recorded() == recorded)
                .count()
        };
        if alike >= limits.max_rules {
            return Err(ApiError::TooManyRules {
                limit: limits.max_rules,
            });
        }
        let listed = rule.render();
        self.index.insert(self.list.len(), &rule);
        self.list.push(rule);
        self.next_seq += 1;
        Ok(listed)
    }

    fn check(
        &self,
        value: &Value,
        prefix: &str,
        limits: Limits,
        new_id: &mut dyn FnMut() -> String,
    ) -> Result<Rule, ApiError> {
        let field = |name: &str| format!("{prefix}{name}");
        let top = fields(
            value,
            prefix.trim_end_matches('.'),
            &[
                "id",
                "match",
                "respond",
                "times",
                "priority",
                "scenario",
                "whenState",
                "setState",
            ],
        )?;
        let scenario = Step::check(top, &field)?;
        let id = match top.get("id") {
            None | Some(Value::Null) => new_id(),
            Some(Value::String(id)) => {
                check_name(id, "rule id", "given").map_err(|e| bad(&field("id"), e.message()))?;
                if id.starts_with(STATE_PREFIX) {
                    return Err(bad(
                        &field("id"),
                        format!("`{id}`: ids that start with `{STATE_PREFIX}` are kept for scenarios' states"),
                    ));
                }
                if self.list.iter().any(|rule| &rule.id == id) {
                    return Err(bad(
                        &field("id"),
                        format!("`{id}` is taken by another rule"),
                    ));
                }
                id.clone()
            }
            Some(_) => return Err(bad(&field("id"), "must be a string")),
        };
        let given_match = top
            .get("match")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        let given_respond = match top.get("respond") {
            Some(respond) => respond.clone(),
            None => {
                return Err(bad(
                    &field("respond"),
                    "is missing; a rule needs something to do",
                ))
            }
        };
        let matcher = check_match(&given_match, &field("match"))?;
        let respond =
            std::sync::Arc::new(check_respond(&given_respond, &field("respond"), limits)?);
        let named = matcher.headers.len() + respond.headers.len();
        if named > MAX_RULE_HEADERS {
            let over = if matcher.headers.len() > MAX_RULE_HEADERS {
                "match.headers"
            } else {
                "respond.headers"
            };
            return Err(bad(
                &field(over),
                format!(
                    "the rule names {named} headers; a rule names at most {MAX_RULE_HEADERS}, in match.headers and respond.headers together"
                ),
            ));
        }
        let times = match top.get("times") {
            None | Some(Value::Null) => None,
            Some(times) => match times.as_u64() {
                Some(0) => {
                    return Err(bad(
                        &field("times"),
                        "is 0; a rule answers at least once (omit `times` for forever)",
                    ))
                }
                Some(n) => Some(n),
                None => return Err(bad(&field("times"), "must be a whole number from 1")),
            },
        };
        let priority = match top.get("priority") {
            None | Some(Value::Null) => 0,
            Some(p) => p
                .as_i64()
                .ok_or_else(|| bad(&field("priority"), "must be a whole number"))?,
        };
        Ok(Rule {
            id,
            seq: self.next_seq,
            matcher,
            respond,
            times,
            scenario,
            priority,
            given_match,
            given_respond,
        })
    }

    /// Loads a JSON array of rules, all or none, in place of the current ones.
    pub(crate) fn load(
        bytes: &[u8],
        limits: Limits,
        new_id: &mut dyn FnMut() -> String,
    ) -> Result<Self, ApiError> {
        crate::json::body::parse(bytes)?;
        let value = parse_body(bytes).ok_or(ApiError::WrongShape {
            expected: "an array of rules",
        })?;
        let Value::Array(items) = value else {
            return Err(ApiError::WrongShape {
                expected: "an array of rules",
            });
        };
        let mut rules = Self::default();
        for (n, item) in items.iter().enumerate() {
            rules.add(item, &format!("[{n}]."), limits, new_id)?;
        }
        Ok(rules)
    }

    /// Finds the rule for a request (the highest priority, the newest among
    /// equals), counts the match, and returns a copy of it; a rule whose
    /// `times` are used up is gone. `authorized` is asked only when a rule
    /// matches: a request that may not use the path counts nothing.
    #[cfg(test)]
    pub(crate) fn take(
        &mut self,
        request: &crate::http::request::Request,
        parsed: &mut Option<Option<Value>>,
        authorized: impl FnOnce() -> bool,
        changes: &mut Vec<crate::http::response::Change>,
    ) -> Option<Result<Taken, ApiError>> {
        let request = Incoming::new(request);
        self.take_unless(&request, parsed, authorized, changes, |_| false)
    }

    /// As [`Rules::take`], passing over the rules whose id `skip` names.
    pub(crate) fn take_unless(
        &mut self,
        request: &Incoming<'_>,
        parsed: &mut Option<Option<Value>>,
        authorized: impl FnOnce() -> bool,
        changes: &mut Vec<crate::http::response::Change>,
        skip: impl Fn(&str) -> bool,
    ) -> Option<Result<Taken, ApiError>> {
        let mut best: Option<usize> = None;
        // The path's segments, decoded once: they pick the rules to try, and
        // every rule with a pattern reads them.
        let decoded = segments(&request.path);
        let candidates = self.index.candidates(&decoded);
        let mut path = Some(decoded);
        for n in candidates {
            let rule = &self.list[n];
            if skip(&rule.id) || !self.in_its_state(rule) {
                continue;
            }
            let better = best.is_none_or(|b| {
                let current = &self.list[b];
                (rule.priority, rule.seq) > (current.priority, current.seq)
            });
            if better && rule.matcher.matches(request, &mut path, parsed) {
                best = Some(n);
            }
        }
        let n = best?;
        if !authorized() {
            return Some(Err(ApiError::Unauthorized));
        }
        if let Some(Step {
            name,
            set: Some(set),
            ..
        }) = &self.list[n].scenario
        {
            self.states.insert(name.clone(), set.clone());
            changes.push(state_change(name, set));
        }
        let rule = &mut self.list[n];
        let taken = Taken {
            id: rule.id.clone(),
            respond: rule.respond.clone(),
        };
        if let Some(times) = &mut rule.times {
            *times = times.saturating_sub(1);
            if *times == 0 {
                let gone = self.list.remove(n);
                self.index.remove(n);
                changes.push(crate::http::response::Change::DeleteRule { id: gone.id });
            } else {
                changes.push(put_change(&rule.render()));
            }
        }
        Some(Ok(taken))
    }

    /// Puts a rule as listed (from a stored `PutRule`): in place of the rule
    /// with its id, or after the others. A rule that is not valid (stored by
    /// another version) is skipped.
    pub(crate) fn put(&mut self, listed: &str) {
        let Ok(value) = serde_json::from_str::<Value>(listed) else {
            return;
        };
        if let Some((name, state)) = read_state(&value) {
            self.states.insert(name, state);
            return;
        }
        let limits = Limits {
            max_rules: usize::MAX,
            max_body_bytes: usize::MAX,
        };
        let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
        let at = id.and_then(|id| self.list.iter().position(|rule| rule.id == id));
        let taken = at.map(|at| self.list.remove(at));
        let Ok(mut rule) = self.check(&value, "", limits, &mut String::new) else {
            if let (Some(at), Some(taken)) = (at, taken) {
                self.list.insert(at, taken);
            }
            return;
        };
        match (at, taken) {
            (Some(at), Some(taken)) => {
                rule.seq = taken.seq;
                self.list.insert(at, rule);
            }
            _ => {
                self.list.push(rule);
                self.next_seq += 1;
            }
        }
        self.index = Index::of(&self.list);
    }

    /// Every rule as the changes that store it, in the order they were added,
    /// then each scenario's state that a rule or `PUT /__admin/scenarios`
    /// moved.
    pub(crate) fn puts(&self) -> impl Iterator<Item = crate::http::response::Change> + '_ {
        let states = self
            .states
            .iter()
            .map(|(name, state)| state_change(name, state));
        self.list
            .iter()
            .map(|rule| put_change(&rule.render()))
            .chain(states)
    }

    /// The id of a rule whose id starts with `prefix` and whose `match` is `given`.
    pub(crate) fn find_match(&self, prefix: &str, given: &Value) -> Option<String> {
        let same = |rule: &&Rule| rule.id.starts_with(prefix) && rule.given_match == *given;
        // A literal path (a recording's) is looked up by its segments, as a
        // request's is; any other match is looked for among every rule.
        let pattern = given
            .get("path")
            .and_then(Value::as_str)
            .and_then(|path| PathPattern::parse(path).ok());
        match pattern.as_ref().map(PathPattern::key) {
            Some(Key::Exact(segments)) => self
                .index
                .candidates(&segments)
                .filter_map(|n| self.list.get(n))
                .find(same)
                .map(|rule| rule.id.clone()),
            _ => self.list.iter().find(same).map(|rule| rule.id.clone()),
        }
    }

    /// Removes one rule; returns it as listed.
    pub(crate) fn remove(&mut self, id: &str) -> Option<Value> {
        let at = self.list.iter().position(|rule| rule.id == id)?;
        let gone = self.list.remove(at);
        self.index.remove(at);
        Some(gone.render())
    }

    /// Removes every rule, and puts every scenario back in `Started`; returns
    /// how many rules there were.
    pub(crate) fn clear(&mut self) -> usize {
        let count = self.list.len();
        self.list.clear();
        self.index = Index::default();
        self.states.clear();
        count
    }

    /// Every rule as listed, in the order they were added.
    pub(crate) fn render(&self) -> Value {
        Value::Array(self.list.iter().map(Rule::render).collect())
    }
}

impl Rule {
    /// Whether the rule is a recording of the proxy target's answer.
    fn is_recorded(&self) -> bool {
        self.id.starts_with(RECORDED_PREFIX)
    }

    /// The rule as `GET /__admin/rules` lists it: `times` is what is left.
    fn render(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".to_owned(), Value::String(self.id.clone()));
        out.insert("match".to_owned(), self.given_match.clone());
        out.insert("respond".to_owned(), self.given_respond.clone());
        if let Some(times) = self.times {
            out.insert("times".to_owned(), Value::from(times));
        }
        out.insert("priority".to_owned(), Value::from(self.priority));
        if let Some(step) = &self.scenario {
            step.render(&mut out);
        }
        Value::Object(out)
    }
}

/// The members of an object whose keys must all be known.
fn fields<'a>(
    value: &'a Value,
    field: &str,
    known: &[&str],
) -> Result<&'a Map<String, Value>, ApiError> {
    let shown = if field.is_empty() { "rule" } else { field };
    let Value::Object(members) = value else {
        return Err(bad(shown, "must be an object"));
    };
    for key in members.keys() {
        if !known.contains(&key.as_str()) {
            let name = if field.is_empty() {
                key.clone()
            } else {
                format!("{field}.{key}")
            };
            return Err(bad(
                &name,
                format!(
                    "is not a field of the {shown}; its fields are {}",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(members)
}

/// A query or header value: text, or a number or boolean as its text.
fn scalar_text(value: &Value, field: &str) -> Result<String, ApiError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(bad(field, "must be a string")),
    }
}

fn pairs(value: Option<&Value>, field: &str) -> Result<Vec<(String, String)>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(members)) => members
            .iter()
            .map(|(name, value)| {
                Ok((
                    name.clone(),
                    scalar_text(value, &format!("{field}.{name}"))?,
                ))
            })
            .collect(),
        Some(_) => Err(bad(field, "must be an object of names to values")),
    }
}

fn check_match(value: &Value, field: &str) -> Result<Matcher, ApiError> {
    let members = fields(
        value,
        field,
        &["method", "path", "query", "headers", "body"],
    )?;
    let sub = |name: &str| format!("{field}.{name}");
    let method = match members.get("method") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(m.to_ascii_uppercase())
        }
        Some(_) => return Err(bad(&sub("method"), "must be a method name such as `GET`")),
    };
    let path = match members.get("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            Some(PathPattern::parse(text).map_err(|reason| bad(&sub("path"), reason))?)
        }
        Some(_) => {
            return Err(bad(
                &sub("path"),
                "must be a string such as `/api/orders/*`",
            ))
        }
    };
    let headers = pairs(members.get("headers"), &sub("headers"))?
        .into_iter()
        .map(|(name, value)| {
            let here = format!("{}.{name}", sub("headers"));
            let name = names::request_name(&name).map_err(|reason| bad(&here, reason))?;
            Ok((name, value))
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Matcher {
        method,
        path,
        query: pairs(members.get("query"), &sub("query"))?,
        headers,
        body: members
            .get("body")
            .map(|body| BodyPattern::compile(body).map_err(|reason| bad(&sub("body"), reason)))
            .transpose()?,
    })
}

/// Whether a `json` answer has a string with a template in it.
fn has_template(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains("{{"),
        Value::Array(elements) => elements.iter().any(has_template),
        Value::Object(members) => members.values().any(has_template),
        _ => false,
    }
}

/// The bytes of a value's strings (its keys aside).
fn string_bytes(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        Value::Array(elements) => elements.iter().map(string_bytes).sum(),
        Value::Object(members) => members.values().map(string_bytes).sum(),
        _ => 0,
    }
}

fn template(text: &str, field: &str) -> Result<Template, ApiError> {
    Template::parse(text).map_err(|reason| bad(field, reason))
}

/// Checks the templates in every string of a `json` answer.
fn check_json_templates(value: &Value, field: &str) -> Result<(), ApiError> {
    match value {
        Value::String(text) => template(text, field).map(drop),
        Value::Array(elements) => elements
            .iter()
            .enumerate()
            .try_for_each(|(n, v)| check_json_templates(v, &format!("{field}[{n}]"))),
        Value::Object(members) => members
            .iter()
            .try_for_each(|(k, v)| check_json_templates(v, &format!("{field}.{k}"))),
        _ => Ok(()),
    }
}

fn check_respond(value: &Value, field: &str, limits: Limits) -> Result<Respond, ApiError> {
    let members = fields(
        value,
        field,
        &["status", "headers", "json", "body", "delay_ms", "fault"],
    )?;
    let sub = |name: &str| format!("{field}.{name}");
    let status = match members.get("status") {
        None | Some(Value::Null) => None,
        Some(status) => match status.as_u64() {
            Some(code @ 200..=599) => Some(code as u16),
            // 1xx are interim responses: no host can send one as the answer.
            Some(100..=199) => {
                return Err(bad(
                    &sub("status"),
                    "is an interim (1xx) status, which cannot be an answer; use 200 to 599",
                ))
            }
            _ => return Err(bad(&sub("status"), "must be a status code from 200 to 599")),
        },
    };
    let headers = match members.get("headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(headers)) => headers
            .iter()
            .map(|(name, value)| {
                let here = format!("{}.{name}", sub("headers"));
                let name = names::answer_name(name).map_err(|reason| bad(&here, reason))?;
                let text = scalar_text(value, &here)?;
                Ok((name, template(&text, &here)?))
            })
            .collect::<Result<_, ApiError>>()?,
        Some(_) => return Err(bad(&sub("headers"), "must be an object of names to values")),
    };
    let too_big = |name: &str, size: usize| -> Result<(), ApiError> {
        if size > limits.max_body_bytes {
            return Err(bad(
                &sub(name),
                format!(
                    "is {size} bytes; an answer's body is at most {} bytes (MAX_BODY_BYTES)",
                    limits.max_body_bytes
                ),
            ));
        }
        Ok(())
    };
    let payload = match (members.get("json"), members.get("body")) {
        (Some(_), Some(_)) => {
            return Err(bad(&sub("body"), "cannot go with `json`; give one of them"))
        }
        (Some(json), None) => {
            too_big("json", json.to_string().len())?;
            check_json_templates(json, &sub("json"))?;
            if has_template(json) {
                Payload::Json(json.clone())
            } else {
                Payload::Fixed {
                    bytes: json.to_string().into_bytes().into(),
                    spends: string_bytes(json),
                }
            }
        }
        (None, Some(Value::String(text))) => {
            too_big("body", text.len())?;
            Payload::Text(template(text, &sub("body"))?)
        }
        (None, Some(_)) => {
            return Err(bad(&sub("body"), "must be a string (for JSON, use `json`)"))
        }
        (None, None) => Payload::Nothing,
    };
    let delay = match members.get("delay_ms") {
        None | Some(Value::Null) => None,
        Some(ms) => match ms.as_u64() {
            Some(ms) if Duration::from_millis(ms) <= MAX_DELAY => Some(Duration::from_millis(ms)),
            _ => {
                return Err(bad(
                    &sub("delay_ms"),
                    format!(
                        "must be a whole number of milliseconds, at most {}",
                        MAX_DELAY.as_millis()
                    ),
                ))
            }
        },
    };
    let fault = match members.get("fault") {
        None | Some(Value::Null) => None,
        Some(Value::String(f)) if f == "reset" => Some(FaultKind::Reset),
        Some(Value::String(f)) if f == "malformed" => Some(FaultKind::Malformed),
        Some(_) => return Err(bad(&sub("fault"), "must be `reset` or `malformed`")),
    };
    let respond = Respond {
        status,
        headers,
        payload,
        delay,
        fault,
    };
    if respond.passes_through() && respond.payload != Payload::Nothing {
        let name = if members.contains_key("json") {
            "json"
        } else {
            "body"
        };
        return Err(bad(
            &sub(name),
            "needs a `status`: without one (and without a `fault`) the request goes through to the store",
        ));
    }
    Ok(respond)
}

impl Matcher {
    fn matches(
        &self,
        request: &Incoming<'_>,
        path: &mut Option<Vec<String>>,
        parsed: &mut Option<Option<Value>>,
    ) -> bool {
        self.method_matches(request)
            && self.path_matches(request, path)
            && self.query.iter().all(|pair| has_pair(request, pair))
            && self.headers_match(request)
            && self.body_matches(request, parsed)
    }

    /// The fields the request does not meet, in the order `method`, `path`,
    /// `query.NAME`, `headers.NAME` (each pair), `body`; empty when it
    /// matches.
    fn differences(&self, request: &Incoming<'_>) -> Vec<String> {
        let mut missed = Vec::new();
        if !self.method_matches(request) {
            missed.push("method".to_owned());
        }
        if !self.path_matches(request, &mut None) {
            missed.push("path".to_owned());
        }
        for pair in &self.query {
            if !has_pair(request, pair) {
                missed.push(format!("query.{}", pair.0));
            }
        }
        for (name, value) in &self.headers {
            if !has_header(request, name, value) {
                missed.push(format!("headers.{name}"));
            }
        }
        if !self.body_matches(request, &mut None) {
            missed.push("body".to_owned());
        }
        missed
    }

    fn method_matches(&self, request: &Incoming<'_>) -> bool {
        self.method.as_ref().is_none_or(|method| {
            let head_as_get = request.method == Method::Head && method == "GET";
            request.method.as_str() == method || head_as_get
        })
    }

    fn path_matches(&self, request: &Incoming<'_>, path: &mut Option<Vec<String>>) -> bool {
        self.path.as_ref().is_none_or(|pattern| {
            pattern.matches(path.get_or_insert_with(|| segments(&request.path)))
        })
    }

    fn headers_match(&self, request: &Incoming<'_>) -> bool {
        self.headers
            .iter()
            .all(|(name, value)| has_header(request, name, value))
    }

    fn body_matches(&self, request: &Incoming<'_>, parsed: &mut Option<Option<Value>>) -> bool {
        self.body.as_ref().is_none_or(|pattern| {
            let body = parsed.get_or_insert_with(|| parse_body(&request.body));
            body.as_ref().is_some_and(|body| pattern.matches(body))
        })
    }
}

/// Whether the request has this header (by name, any case) with this value.
fn has_header(request: &Incoming<'_>, name: &str, value: &str) -> bool {
    request
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == value)
}

/// Whether the request's query has this name with this value.
fn has_pair(request: &Incoming<'_>, (name, value): &(String, String)) -> bool {
    request
        .query_pairs()
        .iter()
        .any(|(k, v)| k == name && v == value)
}

/// A rule's `match` object on its own, as the journal's verification
/// (`POST /__admin/requests/count` and `/find`) takes it: what it matches is
/// what a rule with it would match.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RequestMatcher(Matcher);

impl RequestMatcher {
    /// Reads a matcher from a request body: a JSON object with the fields of
    /// a rule's `match`. The journal keeps no headers, so a `headers` field is
    /// refused rather than never matching.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ApiError> {
        crate::json::body::parse(body)?;
        let value = parse_body(body).unwrap_or(Value::Null);
        let renamed = |err: ApiError| match err {
            ApiError::BadRule { field, reason } => ApiError::BadMatcher {
                field: field.strip_prefix("match.").unwrap_or(&field).to_owned(),
                reason,
            },
            other => other,
        };
        let matcher = check_match(&value, "match").map_err(renamed)?;
        if !matcher.headers.is_empty() {
            return Err(ApiError::BadMatcher {
                field: "headers".to_owned(),
                reason: "the journal does not keep request headers, so it cannot be searched \
                         by them; match on method, path, query and body"
                    .to_owned(),
            });
        }
        Ok(Self(matcher))
    }

    /// The fields of the matcher the request does not meet, in the order
    /// `method`, `path`, `query.NAME` (each pair), `body`; empty when it
    /// matches.
    pub(crate) fn differences(&self, request: &Incoming<'_>) -> Vec<String> {
        self.0.differences(request)
    }
}

/// The change that stores a rule as listed.
pub(crate) fn put_change(listed: &Value) -> crate::http::response::Change {
    crate::http::response::Change::PutRule {
        id: listed["id"].as_str().unwrap_or_default().to_owned(),
        rule: listed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::Request;
    use serde_json::json;

    const LIMITS: Limits = Limits {
        max_rules: 3,
        max_body_bytes: 100,
    };

    fn add(rules: &mut Rules, rule: Value) -> Result<Value, ApiError> {
        let mut n = 0;
        rules.add(&rule, "", LIMITS, &mut || {
            n += 1;
            format!("r{n}")
        })
    }

    fn field_of(err: ApiError) -> String {
        match err {
            ApiError::BadRule { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_rules_name_the_field() {
        let mut rules = Rules::default();
        for (rule, field) in [
            (json!({"respond": {"status": 200}, "x": 1}), "x"),
            (
                json!({"match": {"pathx": "/"}, "respond": {"status": 200}}),
                "match.pathx",
            ),
            (
                json!({"match": {"path": "api"}, "respond": {"status": 200}}),
                "match.path",
            ),
            (json!({"respond": {"status": 600}}), "respond.status"),
            (json!({"respond": {"status": 99}}), "respond.status"),
            (json!({"respond": {"status": 101}}), "respond.status"),
            (json!({"respond": {"status": 200}, "times": 0}), "times"),
            (
                json!({"respond": {"status": 200, "json": {"a": ["{{user.x}}"]}}}),
                "respond.json.a[0]",
            ),
            (
                json!({"respond": {"status": 200, "body": "x".repeat(101)}}),
                "respond.body",
            ),
            (json!({"respond": {"json": {}}}), "respond.json"),
            (json!({"respond": {"fault": "explode"}}), "respond.fault"),
            (
                json!({"respond": {"status": 200, "headers": {"Content-Length": "1"}}}),
                "respond.headers.Content-Length",
            ),
            (json!({"match": {}}), "respond"),
            (json!([]), "rule"),
        ] {
            assert_eq!(
                field_of(add(&mut rules, rule.clone()).unwrap_err()),
                field,
                "{rule}"
            );
        }
        assert_eq!(rules.len(), 0, "nothing added");
    }

    #[test]
    fn the_limit_is_507_for_recorded_rules_and_others_each() {
        let mut rules = Rules::default();
        for _ in 0..3 {
            add(&mut rules, json!({"respond": {"status": 204}})).unwrap();
        }
        let err = add(&mut rules, json!({"respond": {"status": 204}})).unwrap_err();
        assert_eq!(err.status(), 507);
        for n in 0..3 {
            let id = format!("{RECORDED_PREFIX}{n}");
            add(&mut rules, json!({"id": id, "respond": {"status": 204}})).unwrap();
        }
        let err = add(
            &mut rules,
            json!({"id": "recorded-3", "respond": {"status": 204}}),
        )
        .unwrap_err();
        assert_eq!(err.status(), 507);
        assert_eq!(rules.len(), 6);
    }

    #[test]
    fn a_rule_names_at_most_100_headers_of_128_bytes() {
        let names = |n: usize, prefix: &str| -> Map<String, Value> {
            (0..n)
                .map(|i| (format!("{prefix}-{i}"), json!("1")))
                .collect()
        };
        let mut rules = Rules::default();
        let rule = |matched: usize, set: usize| {
            json!({"match": {"headers": names(matched, "X-Q")},
                   "respond": {"status": 204, "headers": names(set, "X-A")}})
        };
        add(&mut rules, rule(60, 40)).unwrap();
        assert_eq!(
            field_of(add(&mut rules, rule(60, 41)).unwrap_err()),
            "respond.headers"
        );
        assert_eq!(
            field_of(add(&mut rules, rule(101, 0)).unwrap_err()),
            "match.headers"
        );
        let long = "X".repeat(129);
        let err = add(
            &mut rules,
            json!({"match": {"headers": {long.clone(): "1"}}, "respond": {"status": 204}}),
        )
        .unwrap_err();
        assert_eq!(field_of(err), format!("match.headers.{long}"));
        let err = add(
            &mut rules,
            json!({"match": {"headers": {"bad name": "1"}}, "respond": {"status": 204}}),
        )
        .unwrap_err();
        assert_eq!(field_of(err), "match.headers.bad name");
        assert_eq!(rules.len(), 1);
    }

    #[test]
    fn the_index_follows_removals_and_finds_recordings_by_their_path() {
        let mut rules = Rules::default();
        let paths = ["/a", "/a/b", "/a/*", "/**", "/c/{id}", "/a", "/d/e"];
        let limits = Limits {
            max_rules: 100,
            max_body_bytes: 100,
        };
        for (n, path) in paths.iter().enumerate() {
            let rule = json!({"id": format!("{RECORDED_PREFIX}{n}"), "match": {"method": "GET", "path": path}, "respond": {"status": 200}});
            rules.add(&rule, "", limits, &mut String::new).unwrap();
        }
        for id in ["2", "0", "6"] {
            rules.remove(&format!("{RECORDED_PREFIX}{id}")).unwrap();
            assert_eq!(rules.index, Index::of(&rules.list), "after removing {id}");
        }
        let found =
            |path: &str| rules.find_match(RECORDED_PREFIX, &json!({"method": "GET", "path": path}));
        assert_eq!(found("/a"), Some(format!("{RECORDED_PREFIX}5")));
        assert_eq!(found("/a/b"), Some(format!("{RECORDED_PREFIX}1")));
        assert_eq!(found("/c/{id}"), Some(format!("{RECORDED_PREFIX}4")));
        assert_eq!(found("/**"), Some(format!("{RECORDED_PREFIX}3")));
        assert_eq!(found("/d/e"), None);
        assert_eq!(
            rules.find_match("other-", &json!({"method": "GET", "path": "/a"})),
            None
        );
    }

    /// The rule a request gets when every rule is tried, as before the
    /// index: the matching rule of the highest priority, the newest among
    /// equals.
    fn tried_one_by_one(rules: &Rules, request: &Request) -> Option<String> {
        let incoming = Incoming::new(request);
        rules
            .list
            .iter()
            .filter(|rule| rule.matcher.matches(&incoming, &mut None, &mut None))
            .max_by_key(|rule| (rule.priority, rule.seq))
            .map(|rule| rule.id.clone())
    }

    #[test]
    fn the_index_finds_the_rule_that_trying_every_rule_finds() {
        let patterns = [
            None,
            Some("/"),
            Some("/api/orders"),
            Some("/api/orders/1"),
            Some("/api/orders/*"),
            Some("/api/**"),
            Some("/api/orders/*/lines"),
            Some("/**/lines"),
            Some("/*/orders"),
            Some("/other/orders"),
            Some("/api/caf%C3%A9"),
            Some("/api/orders/2/"),
        ];
        let methods = [None, Some("GET"), Some("POST")];
        let paths = [
            "/",
            "/api",
            "/api/orders",
            "/api/orders/",
            "/api/orders/1",
            "/api/orders/2",
            "/api/orders/1/lines",
            "/x/orders",
            "/other/orders",
            "/api/café",
            "/nothing/here/at/all",
        ];
        // A fixed sequence of rules: every pattern with every method, at a few priorities, added in
        // an order that mixes them, and some deleted and put again, as the admin routes do.
        let mut rules = Rules::default();
        let limits = Limits {
            max_rules: usize::MAX,
            max_body_bytes: 100,
        };
        let mut n = 0;
        for round in 0..3_i64 {
            for (p, pattern) in patterns.iter().enumerate() {
                for (m, method) in methods.iter().enumerate() {
                    let mut matcher = serde_json::Map::new();
                    if let Some(pattern) = pattern {
                        matcher.insert("path".into(), json!(pattern));
                    }
                    if let Some(method) = method {
                        matcher.insert("method".into(), json!(method));
                    }
                    let priority = (p as i64 * 7 + m as i64 * 3 + round) % 4;
                    let rule =
                        json!({"match": matcher, "respond": {"status": 200}, "priority": priority});
                    rules
                        .add(&rule, "", limits, &mut || {
                            n += 1;
                            format!("r{n}")
                        })
                        .unwrap();
                }
            }
            let gone = format!("r{}", 5 + round * 11);
            let listed = rules.remove(&gone).unwrap();
            if round == 1 {
                rules.put(&listed.to_string());
            }
        }
        for path in paths {
            for method in [Method::Get, Method::Post, Method::Head, Method::Delete] {
                let request = Request::new(method.clone(), path);
                let expected = tried_one_by_one(&rules, &request);
                let taken = rules
                    .take(&request, &mut None, || true, &mut Vec::new())
                    .map(|rule| rule.unwrap().id);
                assert_eq!(taken, expected, "{method:?} {path}");
            }
        }
    }

    #[test]
    fn a_scenarios_state_is_stored_as_the_rules_are_and_read_back() {
        let mut rules = Rules::default();
        let limits = Limits {
            max_rules: 10,
            max_body_bytes: 100,
        };
        let mut n = 0;
        for rule in [
            json!({"scenario": "order", "whenState": "Started", "setState": "paid", "match": {"method": "POST"}, "respond": {"status": 200}}),
            json!({"scenario": "order", "whenState": "paid", "match": {"method": "GET"}, "respond": {"status": 201}}),
        ] {
            rules
                .add(&rule, "", limits, &mut || {
                    n += 1;
                    format!("r{n}")
                })
                .unwrap();
        }
        let get = Request::new(Method::Get, "/x");
        assert!(rules
            .take(&get, &mut None, || true, &mut Vec::new())
            .is_none());
        let mut changes = Vec::new();
        let post = Request::new(Method::Post, "/x");
        assert!(rules
            .take(&post, &mut None, || true, &mut changes)
            .is_some());
        // The state's change, applied to the rules as stored (a host replaying them), moves them too.
        let mut stored = Rules::default();
        for change in rules.puts().filter(|c| !matches!(c, crate::http::response::Change::PutRule { id, .. } if id.starts_with(STATE_PREFIX))) {
            if let crate::http::response::Change::PutRule { rule, .. } = change {
                stored.put(&rule);
            }
        }
        assert!(stored
            .take(&get, &mut None, || true, &mut Vec::new())
            .is_none());
        for change in &changes {
            if let crate::http::response::Change::PutRule { rule, .. } = change {
                stored.put(rule);
            }
        }
        assert_eq!(
            stored
                .take(&get, &mut None, || true, &mut Vec::new())
                .map(|r| r.unwrap().id),
            Some("r2".to_owned())
        );
        // All of it, as a compaction stores it: rules, then states.
        let mut compacted = Rules::default();
        for change in rules.puts() {
            if let crate::http::response::Change::PutRule { rule, .. } = change {
                compacted.put(&rule);
            }
        }
        assert_eq!(compacted.scenarios(), rules.scenarios());
        assert_eq!(rules.scenarios()[0]["state"], "paid");
        compacted.clear();
        assert!(compacted.scenarios().is_empty());
    }

    #[test]
    fn precedence_is_priority_then_newest_and_times_count() {
        let mut rules = Rules::default();
        add(
            &mut rules,
            json!({"match": {"path": "/a"}, "respond": {"status": 500}, "priority": 5, "times": 2}),
        )
        .unwrap();
        add(
            &mut rules,
            json!({"match": {"path": "/a"}, "respond": {"status": 201}}),
        )
        .unwrap();
        add(
            &mut rules,
            json!({"match": {"path": "/a"}, "respond": {"status": 202}}),
        )
        .unwrap();
        let request = Request::new(Method::Get, "/a");
        let mut changes = Vec::new();
        let mut status = |changes: &mut Vec<crate::http::response::Change>| {
            rules
                .take(&request, &mut None, || true, changes)
                .map(|rule| rule.unwrap().respond.status)
        };
        assert_eq!(status(&mut changes), Some(Some(500)));
        assert!(
            matches!(&changes[..], [crate::http::response::Change::PutRule { id, rule }] if id == "r1" && rule.contains(r#""times":1"#)),
            "{changes:?}"
        );
        changes.clear();
        assert_eq!(status(&mut changes), Some(Some(500)));
        assert_eq!(
            changes,
            [crate::http::response::Change::DeleteRule {
                id: "r1".to_owned()
            }]
        );
        changes.clear();
        assert_eq!(
            status(&mut changes),
            Some(Some(202)),
            "used up; then the newest of equals"
        );
        assert!(changes.is_empty(), "a rule for ever does not change");
        assert_eq!(rules.len(), 2);
        assert!(rules
            .take(
                &Request::new(Method::Get, "/b"),
                &mut None,
                || true,
                &mut changes
            )
            .is_none());
    }
}
