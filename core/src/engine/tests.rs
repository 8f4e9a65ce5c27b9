//! The engine's own tests: what a conformance case cannot see (its changes, their replay, the ids
//! of a seed, its events).

use super::outcome::Outcome;
use super::*;

mod basics {
    use super::*;
    use crate::http::route::ROUTES;

    const T0: Duration = Duration::from_secs(1_700_000_000);

    fn engine() -> Engine {
        Engine::new(Config::default(), Box::new(SeededIds::new(7)), T0)
    }

    fn send(engine: &mut Engine, method: Method, target: &str, body: &str) -> Outcome {
        engine.handle(&Request::new(method, target).with_body(body), T0)
    }

    fn text(outcome: &Outcome) -> &str {
        std::str::from_utf8(&outcome.response.body).unwrap()
    }

    #[test]
    fn ids_are_pinned_by_the_seed_and_are_uuid_v4() {
        let a = send(&mut engine(), Method::Post, "/api/p", "{}");
        let b = send(&mut engine(), Method::Post, "/api/p", "{}");
        assert_eq!(a, b);
        let id = match &a.changes[..] {
            [Change::CreateType { .. }, Change::Create { id, .. }] => id.clone(),
            other => panic!("unexpected {other:?}"),
        };
        let parsed = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(id, id.to_lowercase());
        assert_eq!(text(&a), format!(r#"{{"_id":"{id}"}}"#));
    }

    #[test]
    fn changes_replay_into_the_same_store() {
        let mut live = engine();
        let mut log = Vec::new();
        let created = send(
            &mut live,
            Method::Post,
            "/api/p",
            r#"[{"a":1},{"a":2},{"a":3}]"#,
        );
        log.extend(created.changes.clone());
        let Change::Create { id, .. } = &created.changes[1] else {
            panic!("expected a put")
        };
        let target = format!("/api/p/{id}");
        log.extend(send(&mut live, Method::Put, &target, r#"{"a":3}"#).changes);
        log.extend(send(&mut live, Method::Patch, &target, r#"{"b":4}"#).changes);
        log.extend(send(&mut live, Method::Delete, &target, "").changes);
        log.extend(send(&mut live, Method::Post, "/api/q", "{}").changes);
        log.extend(send(&mut live, Method::Delete, "/api/q", "").changes);
        let kinds: Vec<&str> = log
            .iter()
            .map(|change| match change {
                Change::CreateType { .. } => "create_type",
                Change::Create { .. } => "create",
                Change::Replace { .. } => "replace",
                Change::Delete { .. } => "delete",
                Change::DropType { .. } => "drop_type",
                Change::ClearAll => "clear_all",
                Change::PutSingle { .. } => "put_single",
                Change::PutRule { .. } => "put_rule",
                Change::DeleteRule { .. } => "delete_rule",
                Change::ClearRules => "clear_rules",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "create_type",
                "create",
                "create",
                "create",
                "replace",
                "replace",
                "delete",
                "create_type",
                "create",
                "drop_type"
            ]
        );

        let mut replayed = engine();
        for change in &log {
            replayed.apply(change);
        }
        for target in ["/api/p", "/api/q", "/health"] {
            let list = |e: &mut Engine| text(&send(e, Method::Get, target, "")).to_owned();
            assert_eq!(list(&mut live), list(&mut replayed));
        }
    }

    #[test]
    fn failed_requests_change_nothing() {
        let mut engine = engine();
        let created = send(&mut engine, Method::Post, "/api/p", r#"{"a":1}"#);
        let Change::Create { id, .. } = &created.changes[1] else {
            panic!("expected a put")
        };
        let item = format!("/api/p/{id}");
        let stale = Request::new(Method::Put, &item)
            .with_header("If-Match", "\"0000000000000000\"")
            .with_body("{}");
        assert_eq!(engine.handle(&stale, T0).response.status, 412);
        for (method, target, body) in [
            (Method::Post, "/api/p", r#"[{"a":1}, 2]"#),
            (Method::Post, "/api/p", "[1"),
            (Method::Put, "/api/p/none", "{}"),
            (Method::Patch, &item, "[]"),
            (Method::Delete, "/api/p/none", ""),
            (Method::Get, "/api/p?_page=0", ""),
            (Method::Put, "/api/p", "{}"),
        ] {
            let outcome = send(&mut engine, method, target, body);
            assert!(outcome.response.status >= 400, "{target} {body}");
            assert!(outcome.changes.is_empty());
        }
        assert_eq!(engine.store.total(), 1);
        assert_eq!(
            text(&send(&mut engine, Method::Get, &item, "")),
            format!(r#"{{"a":1,"_id":"{id}"}}"#)
        );
    }

    #[test]
    fn the_route_table_and_the_dispatcher_agree() {
        // Every method of the table is dispatched (never a 405), and every other is a 405.
        let methods = [
            Method::Get,
            Method::Head,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
        ];
        for spec in ROUTES {
            let target = spec
                .template
                .replace("{resource}", "p")
                .replace("{id}", "x");
            let route = Route::parse(&target).unwrap();
            for method in &methods {
                let status = send(&mut engine(), method.clone(), &target, "{}")
                    .response
                    .status;
                assert_eq!(
                    status == 405,
                    !route.takes(method),
                    "{method} {target}: {status}"
                );
            }
        }
    }

    #[test]
    fn head_has_no_body_but_the_get_length() {
        let mut engine = engine();
        let get = send(&mut engine, Method::Get, "/health", "");
        let head = send(&mut engine, Method::Head, "/health", "");
        assert!(head.response.body.is_empty());
        let length = get.response.body.len().to_string();
        assert_eq!(
            head.response.header("content-length"),
            Some(length.as_str())
        );
    }

    #[test]
    fn fixtures_past_the_byte_budget_are_refused_whole() {
        let fixtures = br#"{"p":[{"_id":"a","s":"0123456789"}],"q":[{"_id":"b"}]}"#;
        // {"s":"0123456789","_id":"a"} is 29 bytes and {"_id":"b"} 10.
        for (budget, loaded) in [(39, true), (38, false)] {
            let config = Config {
                max_store_bytes: budget,
                ..Config::default()
            };
            let mut engine = Engine::new(config, Box::new(SeededIds::new(1)), T0);
            match engine.load_fixtures(fixtures) {
                Ok(count) => {
                    assert!(loaded, "{budget}");
                    assert_eq!(count, 2);
                    assert_eq!(engine.store.bytes(), 39);
                }
                Err(err) => {
                    assert!(!loaded, "{budget}: {err}");
                    assert_eq!(err.status(), 507);
                    assert!(err.message().contains("MAX_STORE_BYTES"));
                    assert_eq!(engine.store.total(), 0);
                }
            }
        }
    }

    #[test]
    fn body_limit_is_inclusive() {
        let config = Config {
            max_body_bytes: 10,
            ..Config::default()
        };
        let mut engine = Engine::new(config, Box::new(SeededIds::new(1)), T0);
        assert_eq!(
            send(&mut engine, Method::Post, "/api/p", r#"{"a":"12"}"#)
                .response
                .status,
            200
        );
        assert_eq!(
            send(&mut engine, Method::Post, "/api/p", r#"{"a":"123"}"#)
                .response
                .status,
            413
        );
        let mut flagged = Request::new(Method::Post, "/api/p");
        flagged.body_too_large = true;
        assert_eq!(engine.handle(&flagged, T0).response.status, 413);
    }

    #[test]
    fn fixture_items_without_ids_get_the_same_ids_on_every_start() {
        let fixtures = br#"{"b":[{"_id":"x\"1","n":1.10}],"a":[{"n":2},{"n":3}]}"#;
        let start = |seed: u64| {
            let mut engine = Engine::new(Config::default(), Box::new(SeededIds::new(seed)), T0);
            engine.load_fixtures(fixtures).unwrap();
            engine.snapshot()
        };
        // Different random sources (as two starts of a host have): the same ids.
        assert_eq!(start(1), start(2));
        let mut other = Engine::new(Config::default(), Box::new(SeededIds::new(1)), T0);
        other.load_fixtures(br#"{"a":[{"n":2},{"n":4}]}"#).unwrap();
        let first_id = |snapshot: &[u8]| -> String {
            let value: serde_json::Value = serde_json::from_slice(snapshot).unwrap();
            value["a"][0]["_id"].as_str().unwrap().to_owned()
        };
        assert_ne!(
            first_id(&start(1)),
            first_id(&other.snapshot()),
            "other content, other ids"
        );
    }

    #[test]
    fn rebuild_changes_replay_into_the_same_store() {
        let mut engine = engine();
        engine
            .load_fixtures(br#"{"b":[{"_id":"x\"1","n":1.10}],"a":[{"n":2},{"n":3}]}"#)
            .unwrap();
        assert_eq!(
            send(&mut engine, Method::Post, "/api/b", r#"{"n":4}"#)
                .response
                .status,
            200
        );
        let changes = engine.rebuild_changes();
        assert_eq!(
            changes.len(),
            8,
            "clear, 2 types, 4 items, clear rules: {changes:?}"
        );
        assert_eq!(changes[7], Change::ClearRules);
        assert_eq!(changes[0], Change::ClearAll);
        assert_eq!(
            changes[1],
            Change::CreateType {
                resource: "b".to_owned()
            }
        );
        let mut copy = Engine::new(Config::default(), Box::new(SeededIds::new(8)), T0);
        for change in &changes {
            copy.apply(change);
        }
        assert_eq!(copy.snapshot(), engine.snapshot());
        let get = Request::new(Method::Get, "/api/b/x%221");
        assert_eq!(copy.handle(&get, T0).response.status, 200);
    }

    #[test]
    fn integer_ids_and_singular_resources_replay_from_their_changes() {
        let config = || {
            Config::default()
                .from_settings([("ID_FIELD", "id")])
                .unwrap()
                .0
        };
        let mut live = Engine::new(config(), Box::new(SeededIds::new(3)), T0);
        let mut log = live.rebuild_changes();
        for (method, target, body) in [
            (
                Method::Put,
                "/__admin/snapshot",
                r#"{"posts":[{"id":1}],"me":{"a":1}}"#,
            ),
            (Method::Post, "/api/posts", r#"{"t":"x"}"#),
            (Method::Patch, "/api/posts/2", r#"{"t":"y"}"#),
            (Method::Patch, "/api/me", r#"{"b":2}"#),
            (Method::Delete, "/api/posts/1", ""),
        ] {
            let outcome = send(&mut live, method, target, body);
            assert_eq!(outcome.response.status, 200, "{target}: {}", text(&outcome));
            log.extend(outcome.changes);
        }
        assert!(log.contains(&Change::PutSingle {
            resource: "me".to_owned(),
            item: r#"{"a":1,"b":2}"#.to_owned()
        }));
        assert_eq!(
            String::from_utf8(live.snapshot()).unwrap(),
            r#"{"posts":[{"t":"y","id":2}],"me":{"a":1,"b":2}}"#
        );
        let mut copy = Engine::new(config(), Box::new(SeededIds::new(4)), T0);
        for change in &log {
            copy.apply(change);
        }
        assert_eq!(copy.snapshot(), live.snapshot());
        // The replayed store knows the ids are integers, and the largest.
        let next = send(&mut copy, Method::Post, "/api/posts", "{}");
        assert_eq!(text(&next), r#"{"id":3}"#);
        let mut rebuilt = Engine::new(config(), Box::new(SeededIds::new(5)), T0);
        for change in live.rebuild_changes() {
            rebuilt.apply(&change);
        }
        assert_eq!(rebuilt.snapshot(), live.snapshot());
    }

    #[test]
    fn deleting_the_last_item_says_the_type_is_dropped() {
        let mut engine = engine();
        let created = send(&mut engine, Method::Post, "/api/p", r#"[{"a":1},{"a":2}]"#);
        let ids: Vec<String> = created
            .changes
            .iter()
            .filter_map(|change| match change {
                Change::Create { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
        let first = send(
            &mut engine,
            Method::Delete,
            &format!("/api/p/{}", ids[0]),
            "",
        );
        assert!(matches!(&first.changes[..], [Change::Delete { .. }]));
        let last = send(
            &mut engine,
            Method::Delete,
            &format!("/api/p/{}", ids[1]),
            "",
        );
        assert!(
            matches!(&last.changes[..], [Change::Delete { .. }, Change::DropType { resource }] if resource == "p"),
            "{:?}",
            last.changes
        );
        let again = send(&mut engine, Method::Post, "/api/p", "{}");
        assert!(matches!(
            &again.changes[..],
            [Change::CreateType { .. }, Change::Create { .. }]
        ));
    }
}

mod events {
    use super::*;

    const T0: Duration = Duration::from_secs(1_700_000_000);

    fn send(engine: &mut Engine, request: Request) -> Outcome {
        engine.handle(&request, T0)
    }

    #[test]
    fn reloaded_fixtures_reset_the_store_with_one_reset_event_and_bad_ones_change_nothing() {
        let mut engine = Engine::new(Config::default(), Box::new(SeededIds::new(7)), T0);
        engine.load_fixtures(br#"{"p":[{"a":1}]}"#).unwrap();
        send(
            &mut engine,
            Request::new(Method::Post, "/api/p").with_body(r#"{"a":2}"#),
        );
        let events = engine.reload_fixtures(br#"{"q":[{"b":1}]}"#).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, feed::EventKind::Reset);
        assert_eq!(events[0].seq, 2, "numbered after the POST's event");
        let list = |engine: &mut Engine, path: &str| {
            let answer = send(engine, Request::new(Method::Get, path)).response;
            String::from_utf8_lossy(&answer.body).into_owned()
        };
        assert_eq!(list(&mut engine, "/api/p"), "[]");
        assert!(list(&mut engine, "/api/q").contains(r#""b":1"#));

        assert!(engine.reload_fixtures(b"{").is_err());
        assert!(
            list(&mut engine, "/api/q").contains(r#""b":1"#),
            "a bad file changes nothing"
        );
        send(
            &mut engine,
            Request::new(Method::Post, "/api/q").with_body(r#"{"b":2}"#),
        );
        let reset = send(&mut engine, Request::new(Method::Post, "/__admin/reset"));
        assert_eq!(reset.events[0].seq, 4, "a bad file made no event");
        let after = list(&mut engine, "/api/q");
        assert!(
            after.contains(r#""b":1"#) && !after.contains(r#""b":2"#),
            "reset returns to the new fixtures: {after}"
        );
    }

    #[test]
    fn writes_carry_their_events_and_a_subscribe_replays_them() {
        let mut engine = Engine::new(Config::default(), Box::new(SeededIds::new(7)), T0);
        let created = send(
            &mut engine,
            Request::new(Method::Post, "/api/p").with_body(r#"[{"a":1},{"a":2}]"#),
        );
        assert_eq!(created.events.len(), 2);
        assert!(created.subscribe.is_none());
        let failed = send(
            &mut engine,
            Request::new(Method::Post, "/api/p").with_body("["),
        );
        assert!(failed.events.is_empty());
        let open = send(
            &mut engine,
            Request::new(Method::Get, "/__admin/events?_since=1&type=p"),
        );
        assert_eq!(open.response.status, 200);
        assert_eq!(
            open.response.header("content-type"),
            Some("text/event-stream")
        );
        assert_eq!(open.response.header("cache-control"), Some("no-store"));
        assert_eq!(open.response.body, created.events[1].bytes);
        assert_eq!(
            open.subscribe,
            Some(Subscription {
                types: vec!["p".to_owned()]
            })
        );
        let head = send(&mut engine, Request::new(Method::Head, "/__admin/events"));
        assert!(head.subscribe.is_none());
        let bad = send(
            &mut engine,
            Request::new(Method::Get, "/__admin/events?_since=x"),
        );
        assert_eq!(bad.response.status, 400);
        assert!(bad.subscribe.is_none());
    }

    #[test]
    fn the_token_travels_as_a_header_or_on_the_feed_as_a_query() {
        let config = Config {
            api_token: Some("s3cret".to_owned()),
            ..Config::default()
        };
        let mut engine = Engine::new(config, Box::new(SeededIds::new(7)), T0);
        let status = |engine: &mut Engine, request: Request| send(engine, request).response.status;
        assert_eq!(
            status(&mut engine, Request::new(Method::Get, "/__admin/events")),
            401
        );
        assert_eq!(
            status(
                &mut engine,
                Request::new(Method::Get, "/__admin/events?access_token=no")
            ),
            401
        );
        assert_eq!(
            status(
                &mut engine,
                Request::new(Method::Get, "/__admin/events?access_token=s3cret")
            ),
            200
        );
        assert_eq!(
            status(
                &mut engine,
                Request::new(Method::Get, "/__admin/events")
                    .with_header("Authorization", "Bearer s3cret")
            ),
            200
        );
        // Only the feed takes it in the URL.
        assert_eq!(
            status(
                &mut engine,
                Request::new(Method::Get, "/__admin/snapshot?access_token=s3cret")
            ),
            401
        );
    }
}
