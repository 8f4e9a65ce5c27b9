//! Scenarios, as WireMock has them: a rule may belong to a named scenario,
//! answer only while the scenario is in a state (`whenState`), and move it
//! to another (`setState`) when it answers. Every scenario starts in
//! [`STARTED`]; a reset brings it back there.
//!
//! A scenario's state is stored beside the rules, as an entry of its own in
//! the changes that store rules (`PutRule` with an id that starts with
//! [`STATE_PREFIX`], which no rule id may), so every host keeps it wherever it
//! keeps rules, without knowing what it is.

use super::bad;
use crate::error::ApiError;
use crate::http::response::Change;
use crate::http::route::check_name;
use serde_json::{json, Map, Value};

/// The state every scenario starts in.
pub(crate) const STARTED: &str = "Started";

/// The start of the id under which a scenario's state is stored with the rules.
pub(crate) const STATE_PREFIX: &str = "scenario:";

/// A rule's place in a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    /// `scenario`: the scenario's name.
    pub name: String,
    /// `whenState`: the state the rule answers in; any state without it.
    pub when: Option<String>,
    /// `setState`: the state the scenario moves to when the rule answers.
    pub set: Option<String>,
}

impl Step {
    /// Reads a rule's `scenario`, `whenState` and `setState`; `None` when it
    /// has none of them. `field` names a field of the rule for errors.
    pub(crate) fn check(
        top: &Map<String, Value>,
        field: &dyn Fn(&str) -> String,
    ) -> Result<Option<Step>, ApiError> {
        // A name or a state is checked as a path segment is: 1 to 128 bytes, no control characters.
        let text = |name: &str, what: &str| -> Result<Option<String>, ApiError> {
            match top.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => check_name(text, what, "given")
                    .map(|()| Some(text.clone()))
                    .map_err(|e| bad(&field(name), e.message().trim_end_matches('.'))),
                Some(_) => Err(bad(&field(name), "must be a string")),
            }
        };
        let name = text("scenario", "scenario")?;
        let (when, set) = (text("whenState", "state")?, text("setState", "state")?);
        match name {
            Some(name) => Ok(Some(Step { name, when, set })),
            None if when.is_some() || set.is_some() => {
                let which = if when.is_some() {
                    "whenState"
                } else {
                    "setState"
                };
                Err(bad(
                    &field(which),
                    "needs `scenario`: the name of the scenario whose state it names",
                ))
            }
            None => Ok(None),
        }
    }

    /// The rule's fields as listed.
    pub(crate) fn render(&self, out: &mut Map<String, Value>) {
        out.insert("scenario".to_owned(), Value::String(self.name.clone()));
        if let Some(when) = &self.when {
            out.insert("whenState".to_owned(), Value::String(when.clone()));
        }
        if let Some(set) = &self.set {
            out.insert("setState".to_owned(), Value::String(set.clone()));
        }
    }
}

/// The change that stores a scenario's state.
pub(crate) fn state_change(name: &str, state: &str) -> Change {
    Change::PutRule {
        id: format!("{STATE_PREFIX}{name}"),
        rule: json!({"scenario": name, "state": state}).to_string(),
    }
}

/// A stored scenario state (from [`state_change`]): its name and state.
pub(crate) fn read_state(value: &Value) -> Option<(String, String)> {
    let name = value.get("scenario")?.as_str()?;
    let state = value.get("state")?.as_str()?;
    Some((name.to_owned(), state.to_owned()))
}
