//! Proxy and record in the engine: the step before a request goes to
//! `PROXY_TARGET`, and what comes of the target's answer
//! ([`Engine::proxied`]). What the settings mean is in [`crate::mock::proxy`].

use super::Engine;
use crate::engine::outcome::Outcome;
use crate::error::ApiError;
use crate::http::cors;
use crate::http::incoming::Incoming;
use crate::http::request::{Method, Request};
use crate::http::response::{Change, Response};
use crate::http::route::Route;
use crate::mock::proxy::{self, Forward, Upstream};
use crate::mock::rules::put_change;
use crate::mock::rules::RECORDED_PREFIX;
use crate::store::ids::{content_seed, new_id, SeededIds};
use crate::store::snapshot::Snapshot;
use serde_json::Value;
use std::time::Duration;

impl Engine {
    /// What the mock answers itself before a request goes to the target
    /// (see [`Engine::guard`]): `None`, forward it.
    pub(super) fn proxy_step(
        &self,
        request: &Incoming<'_>,
        delay: &mut Duration,
    ) -> Option<Result<Response, ApiError>> {
        self.guard(None, request, delay).transpose()
    }

    /// The outcome that asks the host to send `request` to the target.
    pub(super) fn forwarding(
        &self,
        request: &Request,
        rule: Option<String>,
        rule_headers: Vec<(String, String)>,
        delay: Duration,
        changes: Vec<Change>,
    ) -> Outcome {
        let target = self.config.proxy_target.as_deref().unwrap_or_default();
        let mut forward = Forward::new(
            target,
            request,
            self.config.api_token.as_deref(),
            self.config.proxy_timeout,
            self.config.max_body_bytes,
        );
        forward.rule = rule;
        forward.rule_headers = rule_headers;
        forward.delay = delay;
        let mut outcome = Outcome::forwarding(forward, changes);
        self.finish(&mut outcome.response, request);
        outcome
    }

    /// What to answer, store and journal after a host sent an
    /// [`Outcome::forward`] to the target: the target's answer (without the
    /// headers that must not cross, with the mock's CORS headers), `502` when
    /// it could not be reached or its body is over `MAX_BODY_BYTES`, `504`
    /// when it took longer than `PROXY_TIMEOUT_MS`. With `RECORD=1` the
    /// answer also becomes a rule (id `recorded-...`, replacing an earlier
    /// recording of the same method, path and query), and a collection's
    /// `GET` answering a JSON array of objects puts them into the store,
    /// keeping their `_id`s; the answer then carries `X-Mock-Recorded` (the
    /// rule's id) or `X-Mock-Not-Recorded` (why not). With an OpenAPI
    /// document, the answer is checked against the operation it names
    /// (contract drift): its violations go into `Mock-Violations` (a JSON
    /// array) and the journal entry. The delay is the one the request had
    /// (`DELAY_MS`, `X-Mock-Delay`, a rule's).
    pub(crate) fn proxied(
        &mut self,
        request: &Request,
        forward: Forward,
        upstream: Upstream,
        now: Duration,
    ) -> Outcome {
        let mut response = proxy::answer(&forward, &upstream);
        let mut changes = Vec::new();
        if let (true, Upstream::Answered { status, .. }) = (self.config.record, &upstream) {
            // An interim answer is a failure (`502`), and nothing of a failure is recorded.
            if request.method != Method::Head && *status >= 200 {
                let (name, note) =
                    self.record_answer(request, &forward, *status, &response, &mut changes);
                response.headers.push((name.into(), note));
            }
        }
        super::rules::set_headers(&mut response, forward.rule_headers.clone());
        let violations = self.drift(request, &upstream);
        if let Some(violations) = &violations {
            response
                .headers
                .push(("mock-violations".into(), violations.clone()));
        }
        self.journal.record_proxied(
            request,
            response.status,
            now,
            forward.rule.as_deref(),
            &forward.target,
            violations,
        );
        if request.method == Method::Head {
            // The target's length of what a GET would get, not the empty body's.
            if let Upstream::Answered { headers, .. } = &upstream {
                let length = headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("content-length"));
                if let Some((_, length)) = length {
                    response
                        .headers
                        .push(("content-length".into(), length.clone()));
                }
            }
            response.body.clear();
            cors::add_headers(&self.config, &mut response, request);
        } else {
            self.finish(&mut response, request);
        }
        // Recorded items reach the change feed as any write does.
        let events = match Route::parse(&request.path) {
            Ok(route) if !changes.is_empty() => self.feed.record(&route, &request.method, &changes),
            _ => Vec::new(),
        };
        Outcome {
            response,
            changes,
            delay: forward.delay,
            fault: None,
            events,
            subscribe: None,
            forward: None,
            drop_namespace: None,
        }
    }

    /// Records an answer as a rule, and a collection's items into the store;
    /// the header that says what came of it.
    fn record_answer(
        &mut self,
        request: &Request,
        forward: &Forward,
        status: u16,
        response: &Response,
        changes: &mut Vec<Change>,
    ) -> (&'static str, String) {
        const NOT: &str = "x-mock-not-recorded";
        let rule = match proxy::recording(request, forward, status, response) {
            Ok(rule) => rule,
            Err(why) => return (NOT, why),
        };
        if let Some(old) = self.rules.find_match(RECORDED_PREFIX, &rule["match"]) {
            self.rules.remove(&old);
            changes.push(Change::DeleteRule { id: old });
        }
        let limits = self.rule_limits();
        let ids = &mut self.ids;
        let mut fresh = || format!("{RECORDED_PREFIX}{}", new_id(ids.as_mut()));
        let listed = match self.rules.add(&rule, "", limits, &mut fresh) {
            Ok(listed) => listed,
            Err(err) => return (NOT, err.message()),
        };
        changes.push(put_change(&listed));
        let id = listed["id"].as_str().unwrap_or_default().to_owned();
        let collection = match Route::parse(&request.path) {
            Ok(Route::Collection { resource }) => Some(resource),
            _ => None,
        };
        if let (Some(resource), Method::Get, 200) = (collection, &request.method, status) {
            if let Err(err) = self.import_items(&resource, &response.body, changes) {
                return (
                    NOT,
                    format!("rule {id} recorded, items not: {}", err.message()),
                );
            }
        }
        ("x-mock-recorded", id)
    }

    /// Puts the objects of a JSON array into a collection as fixtures are
    /// read (their `_id`s kept, an id from the content for one without):
    /// each replaces the item of its id, or is added after the others.
    /// Anything but an array of objects is left alone. Stops at a store limit.
    fn import_items(
        &mut self,
        resource: &str,
        body: &[u8],
        changes: &mut Vec<Change>,
    ) -> Result<(), ApiError> {
        let objects = crate::mock::rules::parse_body(body).is_some_and(|value| {
            value
                .as_array()
                .is_some_and(|items| !items.is_empty() && items.iter().all(Value::is_object))
        });
        if !objects {
            return Ok(());
        }
        let mut wrapped = format!("{{{}:", Value::String(resource.to_owned()));
        match self.keyed_by_upstream_id(resource, body) {
            Some(keyed) => wrapped.push_str(&keyed),
            None => wrapped.push_str(&String::from_utf8_lossy(body)),
        }
        wrapped.push('}');
        let mut ids = SeededIds::new(content_seed(wrapped.as_bytes()));
        let keys = self.store.keys().clone();
        let snapshot = Snapshot::parse(wrapped.as_bytes(), &keys, &mut || new_id(&mut ids))?;
        for (resource, id, item) in snapshot.items {
            let old = self
                .store
                .get(&resource, &id)
                .map(|old| old.json.to_owned());
            match old {
                Some(old) if old == item => {}
                Some(old) => {
                    self.check_bytes(old.len(), item.len())?;
                    self.record(Change::Replace { resource, id, item }, changes);
                }
                None => {
                    self.check_room(&resource, 1)?;
                    self.check_bytes(0, item.len())?;
                    if self.store.collection(&resource).is_none() {
                        let resource = resource.clone();
                        self.record(Change::CreateType { resource }, changes);
                    }
                    self.record(Change::Create { resource, id, item }, changes);
                }
            }
        }
        Ok(())
    }
}

impl Engine {
    /// The upstream's items keyed by their own `id`: when the type's id key
    /// is another (the default `_id`), and every item carries an `id` (a
    /// string or an integer) and none the type's key, each gets the type's
    /// key with its `id`'s value. So an item recorded again replaces itself
    /// (found by the upstream's id, `/api/posts/1`) instead of being added
    /// once more under an id made here. `None`: the body is stored as it is.
    fn keyed_by_upstream_id(&self, resource: &str, body: &[u8]) -> Option<String> {
        let key = self.store.keys().of(resource).to_owned();
        if key == "id" {
            return None;
        }
        let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
            return None;
        };
        let mut keyed = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(mut object) = item else {
                return None;
            };
            let id = object.get("id")?;
            let usable = id.is_string() || id.as_i64().is_some();
            if !usable || object.contains_key(&key) {
                return None;
            }
            let id = id.clone();
            object.insert(key.clone(), id);
            keyed.push(Value::Object(object));
        }
        Some(Value::Array(keyed).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const T0: Duration = Duration::from_secs(1_700_000_000);

    fn engine(record: bool) -> Engine {
        let (config, _) = Config::default()
            .from_settings([
                ("PROXY_TARGET", "http://up.test/v1/"),
                ("RECORD", if record { "1" } else { "0" }),
                ("PROXY_TIMEOUT_MS", "250"),
            ])
            .unwrap();
        Engine::new(config, Box::new(SeededIds::new(5)), T0)
    }

    fn answered(status: u16, body: &str) -> Upstream {
        Upstream::Answered {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Set-Cookie".into(), "s=1".into()),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    /// Sends a request through the engine and, if it forwards, `upstream` back.
    fn round(engine: &mut Engine, request: &Request, upstream: Upstream) -> Outcome {
        let outcome = engine.handle(request, T0);
        match outcome.forward {
            Some(forward) => {
                assert!(outcome.changes.is_empty());
                engine.proxied(request, forward, upstream, T0)
            }
            None => outcome,
        }
    }

    #[test]
    fn what_no_rule_answers_goes_to_the_target_and_the_mocks_own_paths_stay() {
        let mut engine = engine(false);
        let request =
            Request::new(Method::Get, "/orders/7?x=1").with_header("Authorization", "Bearer real");
        let outcome = engine.handle(&request, T0);
        let forward = outcome.forward.expect("forwarded");
        assert_eq!(forward.url, "http://up.test/v1/orders/7?x=1");
        assert_eq!(forward.timeout, Duration::from_millis(250));
        assert_eq!(
            forward.headers,
            [("Authorization".to_owned(), "Bearer real".to_owned())]
        );
        assert_eq!(outcome.response.status, 502, "for a host that cannot proxy");
        for local in ["/", "/health", "/openapi.json", "/__admin/rules"] {
            let outcome = engine.handle(&Request::new(Method::Get, local), T0);
            assert!(outcome.forward.is_none(), "{local}");
            assert_eq!(outcome.response.status, 200, "{local}");
        }
        let preflight = engine.handle(&Request::new(Method::Options, "/orders"), T0);
        assert!(preflight.forward.is_none());
        assert_eq!(preflight.response.status, 204);
        let forced = engine.handle(
            &Request::new(Method::Get, "/orders").with_header("X-Mock-Status", "503"),
            T0,
        );
        assert!(forced.forward.is_none());
        assert_eq!(forced.response.status, 503);
        // A rule answers first.
        let rule = r#"{"match":{"path":"/orders/1"},"respond":{"status":418}}"#;
        let added = engine.handle(
            &Request::new(Method::Post, "/__admin/rules").with_body(rule),
            T0,
        );
        assert_eq!(added.response.status, 201);
        let ruled = engine.handle(&Request::new(Method::Get, "/orders/1"), T0);
        assert!(ruled.forward.is_none());
        assert_eq!(ruled.response.status, 418);
    }

    #[test]
    fn the_answer_comes_back_as_it_is_and_failures_name_the_target() {
        let mut engine = engine(false);
        let request = Request::new(Method::Post, "/orders").with_body("{}");
        let outcome = round(&mut engine, &request, answered(503, r#"{"e":1}"#));
        assert_eq!(outcome.response.status, 503);
        assert_eq!(outcome.response.body, br#"{"e":1}"#);
        assert_eq!(outcome.response.header("set-cookie"), Some("s=1"));
        assert_eq!(
            outcome.response.header("access-control-allow-origin"),
            Some("*")
        );
        assert!(
            outcome.changes.is_empty(),
            "nothing recorded without RECORD"
        );
        let redirect = Upstream::Answered {
            status: 302,
            headers: vec![("Location".into(), "/elsewhere".into())],
            body: Vec::new(),
        };
        let moved = round(&mut engine, &request, redirect);
        assert_eq!(
            (moved.response.status, moved.response.header("location")),
            (302, Some("/elsewhere"))
        );
        for (upstream, status, words) in [
            (
                Upstream::Unreachable {
                    reason: "connection refused".into(),
                },
                502,
                "cannot be reached: connection refused",
            ),
            (
                Upstream::TimedOut,
                504,
                "did not answer within 250 ms (PROXY_TIMEOUT_MS)",
            ),
            (
                Upstream::TooLarge,
                502,
                "over 1048576 bytes (MAX_BODY_BYTES)",
            ),
        ] {
            let outcome = round(&mut engine, &request, upstream);
            assert_eq!(outcome.response.status, status);
            let body: Value = serde_json::from_slice(&outcome.response.body).unwrap();
            let message = body["message"].as_str().unwrap();
            assert!(
                message.contains("http://up.test/v1") && message.contains(words),
                "{message}"
            );
        }
        let journal = engine.handle(&Request::new(Method::Get, "/__admin/requests"), T0);
        let journal = String::from_utf8(journal.response.body).unwrap();
        assert!(
            journal.contains(r#""proxied":"http://up.test/v1""#),
            "{journal}"
        );
        assert!(!journal.contains("Bearer"), "{journal}");
    }

    #[test]
    fn recordings_take_no_room_from_the_rules_a_user_adds() {
        let (config, _) = Config::default()
            .from_settings([
                ("PROXY_TARGET", "http://up.test"),
                ("RECORD", "1"),
                ("MAX_RULES", "3"),
            ])
            .unwrap();
        let mut engine = Engine::new(config, Box::new(SeededIds::new(5)), T0);
        // One path whose answer names a new header each time: each recording
        // replaces the last, and its names go with it.
        for n in 0..1_100 {
            let upstream = Upstream::Answered {
                status: 200,
                headers: vec![(format!("X-Version-{n}"), "1".into())],
                body: b"{}".to_vec(),
            };
            let outcome = round(&mut engine, &Request::new(Method::Get, "/v"), upstream);
            assert_eq!(
                outcome.response.header(&format!("x-version-{n}")),
                Some("1")
            );
            assert!(outcome.response.header("x-mock-recorded").is_some(), "{n}");
        }
        for path in ["/a", "/b", "/c"] {
            let outcome = round(
                &mut engine,
                &Request::new(Method::Get, path),
                answered(200, "{}"),
            );
            assert_eq!(
                outcome.response.header("x-mock-recorded").is_some(),
                path != "/c",
                "{path}: two more recordings fit beside /v's"
            );
        }
        for n in 0..3 {
            let rule = format!(
                r#"{{"match":{{"path":"/mine/{n}"}},"respond":{{"status":503,"headers":{{"Retry-After":"5"}}}}}}"#
            );
            let added = engine.handle(
                &Request::new(Method::Post, "/__admin/rules").with_body(rule),
                T0,
            );
            assert_eq!(added.response.status, 201, "user rule {n}");
        }
    }

    #[test]
    fn recorded_items_that_carry_id_are_kept_by_it_and_replaced_when_recorded_again() {
        let mut live = engine(true);
        let list = Request::new(Method::Get, "/api/posts");
        round(
            &mut live,
            &list,
            answered(200, r#"[{"id":1,"t":"a"},{"id":2,"t":"b"}]"#),
        );
        // The upstream's list grew and changed: the same items, found by their own ids.
        round(
            &mut live,
            &list,
            answered(
                200,
                r#"[{"id":1,"t":"a2"},{"id":2,"t":"b"},{"id":3,"t":"c"}]"#,
            ),
        );
        let snapshot = String::from_utf8(live.snapshot()).unwrap();
        assert_eq!(
            snapshot,
            r#"{"posts":[{"id":1,"t":"a2","_id":1},{"id":2,"t":"b","_id":2},{"id":3,"t":"c","_id":3}]}"#
        );
        live.config.proxy_target = None;
        let one = live.handle(&Request::new(Method::Get, "/api/posts/2"), T0);
        assert_eq!(one.response.status, 200);
        // Items without a usable `id` (or already with an `_id`) are stored as before.
        round(
            &mut engine(true),
            &Request::new(Method::Get, "/api/q"),
            answered(200, r#"[{"id":1.5},{"id":[1]}]"#),
        );
    }

    #[test]
    fn a_recording_replays_offline_and_a_collection_fills_the_store() {
        let mut live = engine(true);
        let list = Request::new(Method::Get, "/api/p").with_header("Authorization", "Bearer real");
        let body = r#"[{"n":1,"_id":"a"},{"n":2.50,"_id":"b"}]"#;
        let first = round(&mut live, &list, answered(200, body));
        assert_eq!(first.response.body, body.as_bytes());
        let id = first
            .response
            .header("x-mock-recorded")
            .expect("recorded")
            .to_owned();
        assert!(id.starts_with(RECORDED_PREFIX));
        assert!(
            matches!(
                &first.changes[..],
                [
                    Change::PutRule { .. },
                    Change::CreateType { .. },
                    Change::Create { .. },
                    Change::Create { .. }
                ]
            ),
            "{:?}",
            first.changes
        );
        // While recording, the target answers again, and its answer replaces the recording.
        let newer = r#"[{"n":1,"_id":"a"},{"n":3,"_id":"b"}]"#;
        let again = round(&mut live, &list, answered(200, newer));
        assert_eq!(again.response.body, newer.as_bytes());
        assert!(
            matches!(&again.changes[..], [Change::DeleteRule { id: old }, Change::PutRule { .. }, Change::Replace { .. }] if *old == id),
            "{:?}",
            again.changes
        );
        let created = round(
            &mut live,
            &Request::new(Method::Post, "/api/p").with_body(r#"{"n":4}"#),
            answered(201, r#"{"n":4,"_id":"c"}"#),
        );
        assert!(created.response.header("x-mock-recorded").is_some());
        let templated = round(
            &mut live,
            &Request::new(Method::Get, "/t"),
            answered(200, r#"{"a":"{{now}}"}"#),
        );
        assert!(templated
            .response
            .header("x-mock-not-recorded")
            .unwrap()
            .contains("template"));
        // Offline: the exports, without a target.
        let rules = live
            .handle(&Request::new(Method::Get, "/__admin/rules"), T0)
            .response
            .body;
        let rules_text = String::from_utf8(rules.clone()).unwrap();
        assert!(
            !rules_text.contains("Bearer") && !rules_text.contains("set-cookie"),
            "{rules_text}"
        );
        let snapshot = live
            .handle(&Request::new(Method::Get, "/__admin/snapshot"), T0)
            .response
            .body;
        let mut offline = Engine::new(Config::default(), Box::new(SeededIds::new(9)), T0);
        offline.load_rules(&rules).unwrap();
        offline.load_fixtures(&snapshot).unwrap();
        let replayed = offline.handle(&list, T0);
        assert_eq!(
            (replayed.response.status, replayed.response.body.as_slice()),
            (200, newer.as_bytes())
        );
        let replayed = offline.handle(
            &Request::new(Method::Post, "/api/p").with_body(r#"{"n":4}"#),
            T0,
        );
        assert_eq!(
            (replayed.response.status, replayed.response.body.as_slice()),
            (201, br#"{"n":4,"_id":"c"}"#.as_slice())
        );
        let item = offline.handle(&Request::new(Method::Get, "/api/p/b"), T0);
        assert_eq!(item.response.body, br#"{"n":3,"_id":"b"}"#);
    }

    #[test]
    fn a_target_that_is_not_a_path_is_400_and_never_forwarded() {
        for mut engine in [
            engine(false),
            Engine::new(Config::default(), Box::new(SeededIds::new(5)), T0),
        ] {
            let rule = r#"{"match":{"path":"/**"},"respond":{"status":418}}"#;
            let added = engine.handle(
                &Request::new(Method::Post, "/__admin/rules").with_body(rule),
                T0,
            );
            assert_eq!(added.response.status, 201);
            for target in ["*", "*?x=1", "up.test:80", "@evil.test/x", ""] {
                for method in [Method::Get, Method::Options, Method::Post] {
                    let outcome = engine.handle(&Request::new(method.clone(), target), T0);
                    assert!(outcome.forward.is_none(), "{method} {target}");
                    assert_eq!(outcome.response.status, 400, "{method} {target}");
                    let body: Value = serde_json::from_slice(&outcome.response.body).unwrap();
                    let path = target.split('?').next().unwrap_or_default();
                    assert_eq!(
                        body["message"],
                        format!("The request target `{path}` is not a path: send a path that starts with `/`, such as /api/persons.")
                    );
                }
            }
        }
    }

    #[test]
    fn the_mocks_own_token_is_not_forwarded_nor_recorded() {
        let (config, _) = Config::default()
            .from_settings([
                ("PROXY_TARGET", "http://up.test"),
                ("RECORD", "1"),
                ("API_TOKEN", "mock-token"),
                ("AUTH_SCOPE", "writes"),
            ])
            .unwrap();
        let mut engine = Engine::new(config, Box::new(SeededIds::new(5)), T0);
        let request = Request::new(
            Method::Post,
            "/orders?access_token=mock-token&x=1&access_token=theirs",
        )
        .with_header("Authorization", "Bearer mock-token")
        .with_body("{}");
        let outcome = engine.handle(&request, T0);
        let forward = outcome.forward.expect("forwarded");
        assert_eq!(forward.url, "http://up.test/orders?x=1&access_token=theirs");
        assert!(forward.headers.is_empty(), "{:?}", forward.headers);
        let recorded = engine.proxied(&request, forward, answered(201, "{}"), T0);
        assert!(recorded.response.header("x-mock-recorded").is_some());
        let rules = engine.handle(
            &Request::new(Method::Get, "/__admin/rules")
                .with_header("Authorization", "Bearer mock-token"),
            T0,
        );
        let rules = String::from_utf8(rules.response.body).unwrap();
        assert!(!rules.contains("mock-token"), "{rules}");
        assert!(
            rules.contains(r#""query":{"x":"1","access_token":"theirs"}"#),
            "{rules}"
        );
        // A read is open under AUTH_SCOPE=writes: the target's own credential goes as it came.
        for credential in ["Bearer upstream-token", "Basic dTpw", "Bearer mock-token-2"] {
            let read =
                Request::new(Method::Get, "/orders").with_header("Authorization", credential);
            let forward = engine.handle(&read, T0).forward.expect("forwarded");
            assert_eq!(
                forward.headers,
                [("Authorization".to_owned(), credential.to_owned())]
            );
        }
    }

    #[test]
    fn an_interim_answer_of_the_target_is_502() {
        let mut engine = engine(true);
        for status in [100, 101, 103] {
            let request = Request::new(Method::Get, "/socket");
            let outcome = round(&mut engine, &request, answered(status, ""));
            assert_eq!(outcome.response.status, 502, "{status}");
            let body: Value = serde_json::from_slice(&outcome.response.body).unwrap();
            let message = body["message"].as_str().unwrap();
            assert!(
                message.starts_with(&format!(
                    "The proxy target http://up.test/v1 answered {status} "
                )),
                "{message}"
            );
            assert!(outcome.changes.is_empty(), "not recorded");
        }
        let rules = engine.handle(&Request::new(Method::Get, "/__admin/rules"), T0);
        assert_eq!(rules.response.body, b"[]");
    }
}
