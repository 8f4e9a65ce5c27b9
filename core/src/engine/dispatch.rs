//! The dispatcher: one request through the rules, the proxy step and the
//! route table to the module that answers it, and what every answer carries.

use super::reply::{forced, respond, HTML, JSON};
use super::{admin, rules, Engine};
use crate::engine::outcome::Outcome;
use crate::error::ApiError;
use crate::http::access;
use crate::http::cors;
use crate::http::incoming::Incoming;
use crate::http::request::{Method, Request};
use crate::http::response::{Change, Response};
use crate::http::route::Route;
use crate::mock::controls::Controls;
use crate::mock::feed::{self};
use crate::namespace::Listing;
use crate::pages::openapi;
use crate::pages::{self};
use crate::store::snapshot::{self};
use std::time::Duration;

/// Every method a proxied path may take: the target decides.
const ANY_METHOD: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

impl Engine {
    /// Handles one request at time `now` (since the Unix epoch). With
    /// `PROXY_TARGET` set, the outcome of a request that no rule answers
    /// asks the host to forward it ([`Outcome::forward`]); the host then
    /// answers with what [`Engine::proxied`] makes of the target's answer.
    #[cfg(test)]
    pub(crate) fn handle(&mut self, request: &Request, now: Duration) -> Outcome {
        self.serve(request, now, &Listing::default())
    }

    /// [`Engine::handle`] within an endpoint, whose `listing` of namespaces
    /// `/`, `/health` and `/__admin/namespaces` show.
    pub(crate) fn serve(&mut self, request: &Request, now: Duration, listing: &Listing) -> Outcome {
        let adapted = if self.config.json_server {
            self.json_server_request(request)
        } else {
            None
        };
        let request = adapted.as_ref().unwrap_or(request);
        // Every step below reads the one decoding of the query.
        let request = &Incoming::new(request);
        let mut changes = Vec::new();
        let mut dropping = None;
        let mut delay = self.config.default_delay;
        let route = self.route_of(&request.path);
        let mut fault = None;
        let mut through = None;
        // A target that is not a path (`*`) is answered `400` by the routes:
        // no rule matches it and it is never joined to `PROXY_TARGET`.
        let origin_form = request.path.starts_with('/');
        let proxying = origin_form
            && self.config.proxy_target.is_some()
            && !crate::mock::proxy::is_local(&request.path);
        if let Some(result) = self.admit(&route, request, proxying) {
            // A CORS preflight carries no token and must not be delayed or forced.
            if request.method == Method::Options {
                delay = Duration::ZERO;
            }
            return self.finished(request, &route, result, None, now, changes, delay, None);
        }
        let step = if origin_form {
            self.rule_step(&route, request, now, &mut changes)
        } else {
            rules::Step::Store
        };
        let (result, rule) = match step {
            rules::Step::Answer {
                rule,
                response,
                delay: asked,
                fault: asked_fault,
            } => {
                delay = asked.unwrap_or(delay);
                fault = asked_fault;
                (Ok(response), rule)
            }
            rules::Step::Through {
                rule,
                headers,
                delay: asked,
            } => {
                delay = asked.unwrap_or(delay);
                if proxying {
                    match self.proxy_step(request, &mut delay) {
                        None => {
                            return self.forwarding(request, Some(rule), headers, delay, changes)
                        }
                        Some(result) => {
                            through = Some(headers);
                            (result, Some(rule))
                        }
                    }
                } else {
                    through = Some(headers);
                    (
                        self.answer(
                            &route,
                            request,
                            now,
                            listing,
                            &mut delay,
                            &mut changes,
                            &mut dropping,
                        ),
                        Some(rule),
                    )
                }
            }
            rules::Step::Store if proxying => match self.proxy_step(request, &mut delay) {
                None => return self.forwarding(request, None, Vec::new(), delay, changes),
                Some(result) => (result, None),
            },
            rules::Step::Store => (
                self.answer(
                    &route,
                    request,
                    now,
                    listing,
                    &mut delay,
                    &mut changes,
                    &mut dropping,
                ),
                None,
            ),
        };
        let mut outcome =
            self.finished(request, &route, result, rule, now, changes, delay, through);
        outcome.fault = fault;
        outcome.drop_namespace = dropping;
        outcome
    }

    /// What comes before the rules, the proxy and the store alike: the
    /// limits (`414`, `413`), then a CORS preflight. A path that is no route
    /// gets its `404` first, unless it goes to `PROXY_TARGET`. `None`: on to
    /// the rules.
    fn admit(
        &self,
        route: &Result<Route, ApiError>,
        request: &Request,
        proxying: bool,
    ) -> Option<Result<Response, ApiError>> {
        let over_uri = request.path.len() + request.query.len() + 1 > self.config.max_uri_bytes;
        let over_body = request.body_too_large || request.body.len() > self.config.max_body_bytes;
        let preflight = request.method == Method::Options;
        if !(over_uri || over_body || preflight) {
            return None;
        }
        if let (Err(err), false) = (route, proxying) {
            return Some(Err(err.clone()));
        }
        if over_uri {
            let limit = self.config.max_uri_bytes;
            return Some(Err(ApiError::UriTooLong { limit }));
        }
        if over_body {
            let limit = self.config.max_body_bytes;
            return Some(Err(ApiError::BodyTooLarge { limit }));
        }
        Some(Ok(match (route, proxying) {
            (Ok(Route::Spec), false) => match self.spec_allow(&request.path) {
                Ok(allow) => cors::preflight_allowing(&allow, request),
                Err(err) => return Some(Err(err)),
            },
            (Ok(route), false) => cors::preflight(route, request),
            (route, _) => {
                let allow = route.as_ref().map_or(ANY_METHOD, |route| route.allow());
                cors::preflight_allowing(allow, request)
            }
        }))
    }

    /// What the mock answers itself before a request goes on to the store or
    /// to `PROXY_TARGET`: `401` without the token `route` needs (a proxied
    /// request needs it as any route but the public ones), and the controls
    /// (`X-Mock-Delay` into `delay`, `X-Mock-Status` answered here).
    pub(super) fn guard(
        &self,
        route: Option<&Route>,
        request: &Incoming<'_>,
        delay: &mut Duration,
    ) -> Result<Option<Response>, ApiError> {
        let authorized = match route {
            Some(route) => access::authorized(&self.config, route, request),
            None => access::authorized_for(&self.config, false, false, request),
        };
        if !authorized {
            return Err(ApiError::Unauthorized);
        }
        let controls = Controls::read(request)?;
        if let Some(asked) = controls.delay {
            *delay = asked;
        }
        Ok(controls.status.map(forced))
    }

    /// The outcome of an answered request: the headers of a rule that let it
    /// through, journaled (but for the admin routes), its changes' events,
    /// what every answer carries.
    #[allow(clippy::too_many_arguments)]
    fn finished(
        &mut self,
        request: &Request,
        route: &Result<Route, ApiError>,
        result: Result<Response, ApiError>,
        rule: Option<String>,
        now: Duration,
        changes: Vec<Change>,
        delay: Duration,
        through: Option<Vec<(String, String)>>,
    ) -> Outcome {
        let refused = matches!(result, Err(ApiError::Unauthorized));
        let mut response = match result {
            Ok(response) => response,
            Err(err @ ApiError::UnknownPath { .. }) => self.unknown_path(request, &err),
            Err(err) => err.to_response(),
        };
        if let Some(headers) = through {
            rules::set_headers(&mut response, headers);
        }
        // Admin routes, the journal's own reads among them, are not recorded.
        match (route.as_ref().is_ok_and(Route::is_admin), refused) {
            (true, _) => {}
            (false, true) => self.journal.record_refused(request, now),
            (false, false) => self
                .journal
                .record(request, response.status, now, rule.as_deref()),
        }
        let events = match route {
            Ok(route) if !changes.is_empty() => self.feed.record(route, &request.method, &changes),
            _ => Vec::new(),
        };
        let subscribe = self.subscribing.take();
        self.finish(&mut response, request);
        if self.config.json_server {
            let admin = route.as_ref().is_ok_and(Route::is_admin);
            self.json_server_finish(&mut response, request, admin);
        }
        Outcome {
            response,
            changes,
            delay,
            fault: None,
            events,
            subscribe,
            forward: None,
            drop_namespace: None,
        }
    }

    /// The route of a path: with an OpenAPI document, every path but the
    /// mock's own is the document's ([`Route::Spec`]); else the route table's.
    fn route_of(&self, path: &str) -> Result<Route, ApiError> {
        if self.is_spec_path(path) {
            return Ok(Route::Spec);
        }
        Route::parse_under(path, &self.config.api_prefix).map(|route| self.resolve(route))
    }

    /// A collection's path that names a singular resource is that resource's.
    fn resolve(&self, route: Route) -> Route {
        match route {
            Route::Collection { resource } if self.store.single(&resource).is_some() => {
                Route::Single { resource }
            }
            other => other,
        }
    }

    /// The answer of the routes and the store.
    #[allow(clippy::too_many_arguments)]
    fn answer(
        &mut self,
        route: &Result<Route, ApiError>,
        request: &Incoming<'_>,
        now: Duration,
        listing: &Listing,
        delay: &mut Duration,
        changes: &mut Vec<Change>,
        dropping: &mut Option<String>,
    ) -> Result<Response, ApiError> {
        match route {
            Ok(route) => self.dispatch(route, request, now, listing, delay, changes, dropping),
            Err(err) => Err(err.clone()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &mut self,
        route: &Route,
        request: &Incoming<'_>,
        now: Duration,
        listing: &Listing,
        delay: &mut Duration,
        changes: &mut Vec<Change>,
        dropping: &mut Option<String>,
    ) -> Result<Response, ApiError> {
        if let Some(forced) = self.guard(Some(route), request, delay)? {
            return Ok(forced);
        }
        let reads = matches!(request.method, Method::Get | Method::Head | Method::Options);
        let data = route.resource().is_some() || *route == Route::Spec;
        if self.config.read_only && data && !reads {
            return Err(ApiError::ReadOnly {
                method: request.method.to_string(),
            });
        }
        if *route == Route::Spec {
            return self.spec_answer(request, changes);
        }
        if self.config.json_server {
            if let Some(answer) = self.json_server_route(route, request, now, changes) {
                return answer;
            }
        }
        if !route.takes(&request.method) {
            return Err(ApiError::MethodNotAllowed {
                method: request.method.to_string(),
                allow: route.allow().into(),
            });
        }
        crate::store::query::check_route_query(route, &request.method, request.query_pairs())?;
        let elapsed = now.saturating_sub(self.started);
        let (name, version) = (&self.config.app_name, &self.config.app_version);
        // `takes` has admitted only the methods of the route table, and HEAD
        // where GET is; every other pair below is unreachable.
        match (route, &request.method) {
            (Route::Home, _) => {
                // `/` is open; what the feed and the journal hold is not.
                let withheld = !access::presents_token(&self.config, request);
                let recent = pages::Recent {
                    changes: if withheld {
                        Vec::new()
                    } else {
                        self.feed.latest(10)
                    },
                    requests: if withheld {
                        serde_json::Value::Null
                    } else {
                        self.journal.page(None, Some(10)).entries
                    },
                    seq: self.feed.last(),
                    withheld,
                };
                let mut page = pages::homepage(
                    &self.config,
                    elapsed,
                    &self.store,
                    &recent,
                    self.loaded_spec(),
                );
                pages::add_namespaces_html(&mut page, listing);
                Ok(respond(200, HTML, page.into_bytes()))
            }
            (Route::Snapshot, Method::Put) => self.put_snapshot(&request.body, changes),
            (Route::Snapshot, _) => Ok(respond(200, JSON, snapshot::render(&self.store))),
            (Route::Reset, _) => Ok(self.reset(changes)),
            (Route::Requests, Method::Delete) => {
                let deleted = self.journal.clear();
                Ok(respond(
                    200,
                    JSON,
                    format!("{{\"deleted\":{deleted}}}").into_bytes(),
                ))
            }
            (Route::Requests, _) => self.requests(request),
            (Route::RequestsCount, _) => self.verify_requests(&request.body, false),
            (Route::RequestsFind, _) => self.verify_requests(&request.body, true),
            (Route::Rules, Method::Post) => self.add_rule(&request.body, changes),
            (Route::Rules, Method::Delete) => Ok(self.clear_rules(changes)),
            (Route::Rules, _) => Ok(self.list_rules()),
            (Route::Rule { id }, _) => self.delete_rule(id, changes),
            (Route::Scenarios, _) => Ok(respond(
                200,
                JSON,
                serde_json::Value::Array(self.rules.scenarios())
                    .to_string()
                    .into_bytes(),
            )),
            (Route::Scenario { name }, _) => self.set_scenario(name, &request.body, changes),
            (Route::Namespaces, _) => Ok(respond(200, JSON, admin::namespaces(listing))),
            (Route::Namespace { name }, _) => {
                // The endpoint drops it once this answer is made.
                let answer = admin::drop_namespace(name, listing)?;
                *dropping = Some(name.clone());
                Ok(answer)
            }
            (Route::Events, method) => {
                let (subscription, since) = feed::subscription(request)?;
                let replay = self.feed.replay(since, &subscription);
                if *method == Method::Get {
                    self.subscribing = Some(subscription);
                }
                let mut response = respond(200, "text/event-stream", replay);
                response
                    .headers
                    .push(("cache-control".into(), "no-store".to_owned()));
                // Proxies such as nginx would otherwise hold the events back.
                response
                    .headers
                    .push(("x-accel-buffering".into(), "no".to_owned()));
                Ok(response)
            }
            (Route::Health, _) => {
                let (status, mut doc) =
                    pages::health(name, version, elapsed, &self.store, self.storage.as_ref());
                pages::add_namespaces(&mut doc, listing);
                Ok(respond(status, JSON, doc.to_string().into_bytes()))
            }
            (Route::OpenApi, _) => Ok(respond(
                200,
                JSON,
                match self.loaded_document() {
                    Some(document) => document,
                    None => openapi::document(&self.config, &self.store),
                },
            )),
            (Route::Collection { resource }, Method::Post) => {
                self.create(resource, &request.body, now, changes)
            }
            (Route::Collection { resource }, Method::Delete) => Ok(self.clear(resource, changes)),
            (Route::Collection { resource }, _) => self.list(resource, request),
            (Route::Item { resource, id }, Method::Put) => {
                self.rewrite(resource, id, request, false, now, changes)
            }
            (Route::Item { resource, id }, Method::Patch) => {
                self.rewrite(resource, id, request, true, now, changes)
            }
            (Route::Item { resource, id }, Method::Delete) => {
                let dependent = crate::store::query::dependent_types(request.query_pairs())?;
                let answer = self.delete(resource, id, request, changes)?;
                if self.config.json_server {
                    // json-server 0.17: every child goes with its parent, and the answer is `{}`.
                    self.delete_children(resource, id, None, changes);
                    return Ok(respond(200, JSON, b"{}".to_vec()));
                }
                if !dependent.is_empty() {
                    self.delete_children(resource, id, Some(&dependent), changes);
                }
                Ok(answer)
            }
            (Route::Item { resource, id }, _) => self.get(resource, id, request),
            (Route::Single { resource }, Method::Put) => {
                self.rewrite_single(resource, request, false, now, changes)
            }
            (Route::Single { resource }, Method::Patch) => {
                self.rewrite_single(resource, request, true, now, changes)
            }
            (Route::Single { resource }, _) => self.get_single(resource, request),
            (
                Route::Children {
                    resource,
                    id,
                    children,
                },
                Method::Post,
            ) => {
                let mut created =
                    self.create_child(resource, id, children, &request.body, now, changes)?;
                if self.config.json_server {
                    // json-server 0.17 names the new child under the path it was posted to.
                    for (name, value) in created.headers.iter_mut() {
                        if name.eq_ignore_ascii_case("location") {
                            let new_id = value.rsplit('/').next().unwrap_or_default().to_owned();
                            *value = format!("{}/{new_id}", request.path.trim_end_matches('/'));
                        }
                    }
                }
                Ok(created)
            }
            (
                Route::Children {
                    resource,
                    id,
                    children,
                },
                _,
            ) => self.list_children(resource, id, children, request),
            // Answered above, before the route table's methods.
            (Route::Spec, _) => self.spec_answer(request, changes),
        }
    }
}
