//! The route table: which paths exist, which methods each takes, and what each
//! operation reads and answers. `Allow` headers, `405`s, the homepage's list
//! of endpoints and `/openapi.json` all come from it; the engine's dispatcher
//! matches on the parsed [`Route`], and a test checks that it takes exactly
//! the table's methods.

use crate::error::ApiError;
use crate::http::request::Method;
use percent_encoding::percent_decode_str;

/// The longest resource name or id, in bytes after percent-decoding.
pub(crate) const MAX_SEGMENT_BYTES: usize = 128;

/// Where resources live unless `API_PREFIX` says otherwise.
pub(crate) const DEFAULT_API_PREFIX: &str = "/api";

/// The first path segments that are the server's own, whatever `API_PREFIX` is.
const RESERVED_SEGMENTS: &[&str] = &["health", "openapi.json", "__admin"];

/// Checks an `API_PREFIX`: `/`, or `/` followed by segments of letters,
/// digits, `-`, `.`, `_` and `~` (no trailing slash), whose first is not one
/// of the server's own (`health`, `openapi.json`, `__admin`).
pub(crate) fn check_api_prefix(prefix: &str) -> Result<(), String> {
    if prefix == "/" {
        return Ok(());
    }
    let shape = "`/` or `/` followed by segments of letters, digits, `-`, `.`, `_` or `~` \
                 (such as `/api` or `/v1/api`; no trailing slash)";
    let Some(rest) = prefix.strip_prefix('/') else {
        return Err(format!("not a path: write it as {shape}"));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let plain = |segment: &&str| {
        !segment.is_empty()
            && *segment != "."
            && *segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    };
    if !segments.iter().all(plain) {
        return Err(format!("not a plain path: write it as {shape}"));
    }
    if let Some(first) = segments.first().filter(|s| RESERVED_SEGMENTS.contains(s)) {
        return Err(format!(
            "collides with the server's own /{first}: the resources need a prefix of their own \
             (or `/`, which keeps /health, /openapi.json and /__admin for the server)"
        ));
    }
    Ok(())
}

/// A route template with the resources under `prefix` instead of `/api`.
pub(crate) fn under_prefix(template: &str, prefix: &str) -> String {
    match template.strip_prefix(DEFAULT_API_PREFIX) {
        Some(rest) if prefix == "/" => rest.to_owned(),
        Some(rest) => format!("{prefix}{rest}"),
        None => template.to_owned(),
    }
}

/// A route of the API, with its path parameters decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/`: the HTML homepage.
    Home,
    /// `/health`: name, version, uptime and counts.
    Health,
    /// `/openapi.json`: this API described in OpenAPI 3.1.
    OpenApi,
    /// `/api/{resource}`: one type's collection.
    Collection {
        /// The resource type.
        resource: String,
    },
    /// `/api/{resource}/{id}`: one item.
    Item {
        /// The resource type.
        resource: String,
        /// The item's id (its string form: an integer id's digits).
        id: String,
    },
    /// `/api/{resource}/{id}/{children}`: the items of another type whose
    /// foreign key names this item.
    Children {
        /// The parent's type.
        resource: String,
        /// The parent's id.
        id: String,
        /// The children's type.
        children: String,
    },
    /// `/api/{name}` where `name` is a singular resource (a top-level object
    /// of the fixtures or a snapshot): one object with no id. The path
    /// parses as a [`Route::Collection`]; the engine, which knows the
    /// singular names, turns it into this.
    Single {
        /// The singular resource's name.
        resource: String,
    },
    /// `/__admin/snapshot`: the whole store.
    Snapshot,
    /// `/__admin/reset`: back to the state the server started with.
    Reset,
    /// `/__admin/requests`: the request journal.
    Requests,
    /// `/__admin/requests/count`: how many entries a matcher matches.
    RequestsCount,
    /// `/__admin/requests/find`: the entries a matcher matches, and its near misses.
    RequestsFind,
    /// `/__admin/rules`: the rules.
    Rules,
    /// `/__admin/rules/{id}`: one rule.
    Rule {
        /// The rule's id, percent-decoded.
        id: String,
    },
    /// `/__admin/scenarios`: the rules' scenarios and their states.
    Scenarios,
    /// `/__admin/scenarios/{name}`: one scenario.
    Scenario {
        /// The scenario's name, percent-decoded.
        name: String,
    },
    /// `/__admin/events`: the change feed, as Server-Sent Events.
    Events,
    /// `/__admin/namespaces`: the namespaces held, with their item counts.
    Namespaces,
    /// `/__admin/namespaces/{name}`: one namespace.
    Namespace {
        /// The namespace's name, percent-decoded.
        name: String,
    },
    /// With an OpenAPI document, every path but the mock's own (`/`,
    /// `/health`, `/openapi.json`, `/__admin/...`): the document's paths,
    /// which the engine's OpenAPI step routes (a path the document lacks is
    /// `404` there).
    Spec,
}

/// What a request or response body holds, for the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payload {
    /// No body.
    Nothing,
    /// The HTML homepage.
    Html,
    /// The `/health` document.
    Health,
    /// The OpenAPI document.
    OpenApi,
    /// One item (a JSON object).
    Item,
    /// One item, or an array of items.
    ItemOrItems,
    /// A JSON Merge Patch object.
    MergePatch,
    /// An array of items.
    ItemList,
    /// `{"deleted": N}`.
    Deleted,
    /// The whole store, `{"type": [items]}`.
    Snapshot,
    /// A singular resource's object.
    Single,
    /// `{"total_resources_count": N}` after a reset.
    ResetDone,
    /// The request journal, an array of entries.
    Journal,
    /// One rule (`{"match", "respond", "times", "priority"}`, with its `id` in answers).
    Rule,
    /// Every rule, an array.
    RuleList,
    /// The change feed, `text/event-stream`.
    EventStream,
    /// The namespaces, an array of `{"name", "count"}`.
    NamespaceList,
    /// One namespace, `{"name", "count"}`.
    Namespace,
    /// A request matcher: a rule's `match` object.
    Matcher,
    /// The scenarios, an array of `{"name", "state", "states"}`.
    ScenarioList,
    /// One scenario, `{"name", "state", "states"}`.
    Scenario,
    /// `{"state"}`: the state to put a scenario in.
    ScenarioState,
    /// `{"count": N}`: how many journal entries a matcher matches.
    Count,
    /// `{"requests": [entries], "nearMisses": [{"request", "differences"}]}`.
    Found,
}

/// Which conditional request header an operation honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    /// None.
    Unconditional,
    /// `If-None-Match`, answered with `304`.
    IfNoneMatch,
    /// `If-Match`, refused with `412`.
    IfMatch,
}

/// One method on one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operation {
    /// The method (`HEAD` and `OPTIONS` are implied on every route).
    pub method: Method,
    /// A stable name, used as the OpenAPI `operationId`.
    pub id: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// What the request body holds.
    pub request: Payload,
    /// What a successful (`200`) response holds.
    pub response: Payload,
    /// Whether it takes the list query (filters, `q`, `_sort`, paging).
    pub list_query: bool,
    /// Whether it takes `_embed` and `_expand`.
    pub relations: bool,
    /// Whether it takes the journal's `_since` and `_limit`.
    pub journal_query: bool,
    /// Whether it takes `_dependent` (an item's `DELETE`).
    pub dependent: bool,
    /// The conditional header it honours.
    pub condition: Condition,
    /// The error statuses it can answer with, besides `405` and `413`.
    pub errors: &'static [u16],
    /// The success status: `201` for what creates, else `200`.
    pub success: u16,
}

/// A path template and its operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteSpec {
    /// The path, with `{resource}` and `{id}` for parameters.
    pub template: &'static str,
    /// The operations, in `Allow` order (before the implied `HEAD` and `OPTIONS`).
    pub operations: &'static [Operation],
    /// The `Allow` header: the operations' methods with `HEAD` after `GET`, then `OPTIONS`.
    pub allow: &'static str,
}

const fn op(
    method: Method,
    id: &'static str,
    summary: &'static str,
    request: Payload,
    response: Payload,
) -> Operation {
    Operation {
        method,
        id,
        summary,
        request,
        response,
        list_query: false,
        relations: false,
        journal_query: false,
        dependent: false,
        condition: Condition::Unconditional,
        errors: &[],
        success: 200,
    }
}

impl Operation {
    const fn errors(mut self, errors: &'static [u16]) -> Self {
        self.errors = errors;
        self
    }

    const fn condition(mut self, condition: Condition) -> Self {
        self.condition = condition;
        self
    }

    const fn created(mut self) -> Self {
        self.success = 201;
        self
    }

    const fn journal_query(mut self) -> Self {
        self.journal_query = true;
        self
    }

    const fn list_query(mut self) -> Self {
        self.list_query = true;
        self.relations = true;
        self
    }

    const fn relations(mut self) -> Self {
        self.relations = true;
        self
    }

    const fn dependent(mut self) -> Self {
        self.dependent = true;
        self
    }
}

/// Every route of the API.
pub(crate) const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        template: "/",
        operations: &[op(
            Method::Get,
            "homepage",
            "HTML homepage: name, version, uptime, counts and endpoints",
            Payload::Nothing,
            Payload::Html,
        )],
        allow: "GET, HEAD, OPTIONS",
    },
    RouteSpec {
        template: "/health",
        operations: &[op(
            Method::Get,
            "health",
            "Name, version, uptime and item counts",
            Payload::Nothing,
            Payload::Health,
        )],
        allow: "GET, HEAD, OPTIONS",
    },
    RouteSpec {
        template: "/openapi.json",
        operations: &[op(
            Method::Get,
            "openapi",
            "This API described in OpenAPI 3.1",
            Payload::Nothing,
            Payload::OpenApi,
        )],
        allow: "GET, HEAD, OPTIONS",
    },
    RouteSpec {
        template: "/api/{resource}",
        operations: &[
            op(
                Method::Get,
                "listItems",
                "Items of a type in creation order, filtered, searched, sorted and paged",
                Payload::Nothing,
                Payload::ItemList,
            )
            .list_query()
            .errors(&[400]),
            op(
                Method::Post,
                "createItems",
                "Create an item, or every item of an array (all or nothing); each gets a new _id",
                Payload::ItemOrItems,
                Payload::ItemOrItems,
            )
            .errors(&[400]),
            op(
                Method::Delete,
                "deleteItems",
                "Delete every item of a type",
                Payload::Nothing,
                Payload::Deleted,
            )
            .errors(&[400]),
        ],
        allow: "GET, HEAD, POST, DELETE, OPTIONS",
    },
    RouteSpec {
        template: "/api/{resource}/{id}",
        operations: &[
            op(
                Method::Get,
                "getItem",
                "One item",
                Payload::Nothing,
                Payload::Item,
            )
            .condition(Condition::IfNoneMatch)
            .relations()
            .errors(&[400, 404]),
            op(
                Method::Put,
                "replaceItem",
                "Replace an item whole; its _id is kept",
                Payload::Item,
                Payload::Item,
            )
            .condition(Condition::IfMatch)
            .errors(&[400, 404, 412]),
            op(
                Method::Patch,
                "patchItem",
                "Change an item with a JSON Merge Patch (RFC 7386); its _id is kept",
                Payload::MergePatch,
                Payload::Item,
            )
            .condition(Condition::IfMatch)
            .errors(&[400, 404, 412]),
            op(
                Method::Delete,
                "deleteItem",
                "Delete an item and echo it (and, with `_dependent`, its children of those types)",
                Payload::Nothing,
                Payload::Item,
            )
            .dependent()
            .condition(Condition::IfMatch)
            .errors(&[400, 404, 412]),
        ],
        allow: "GET, HEAD, PUT, PATCH, DELETE, OPTIONS",
    },
    RouteSpec {
        template: "/api/{resource}/{id}/{children}",
        operations: &[
            op(
                Method::Get,
                "listChildren",
                "Items of the type {children} whose foreign key (the parent type's singular plus Id, such as postId) names the parent, with every list query",
                Payload::Nothing,
                Payload::ItemList,
            )
            .list_query()
            .errors(&[400, 404]),
            op(
                Method::Post,
                "createChildren",
                "Create an item of the type {children}, or every item of an array, with its foreign key set to the parent's id",
                Payload::ItemOrItems,
                Payload::ItemOrItems,
            )
            .errors(&[400, 404]),
        ],
        allow: "GET, HEAD, POST, OPTIONS",
    },
    RouteSpec {
        template: "/__admin/snapshot",
        operations: &[
            op(Method::Get, "getSnapshot", "The whole store as {\"type\": [items]}, in creation order", Payload::Nothing, Payload::Snapshot),
            op(Method::Put, "putSnapshot", "Replace the whole store at once; items keep their _id, items without one get a new one", Payload::Snapshot, Payload::Snapshot)
                .errors(&[400]),
        ],
        allow: "GET, HEAD, PUT, OPTIONS",
    },
    RouteSpec {
        template: "/__admin/reset",
        operations: &[op(Method::Post, "reset", "Restore the store the server started with (its fixtures, or empty)", Payload::Nothing, Payload::ResetDone)],
        allow: "POST, OPTIONS",
    },
    RouteSpec {
        template: "/__admin/requests",
        operations: &[
            op(Method::Get, "listRequests", "The most recent requests, newest last (admin requests are not recorded)", Payload::Nothing, Payload::Journal)
                .journal_query()
                .errors(&[400]),
            op(Method::Delete, "clearRequests", "Forget the recorded requests", Payload::Nothing, Payload::Deleted),
        ],
        allow: "GET, HEAD, DELETE, OPTIONS",
    },
    RouteSpec {
        template: "/__admin/requests/count",
        operations: &[op(Method::Post, "countRequests", "How many recorded requests a request matcher (a rule's `match`, without `headers`) matches", Payload::Matcher, Payload::Count)
            .errors(&[400])],
        allow: "POST, OPTIONS",
    },
    RouteSpec {
        template: "/__admin/requests/find",
        operations: &[op(Method::Post, "findRequests", "The recorded requests a request matcher matches, oldest first, and the closest that it does not (`nearMisses`, with the fields each missed)", Payload::Matcher, Payload::Found)
            .errors(&[400])],
        allow: "POST, OPTIONS",
    },
    RouteSpec {
        template: "/__admin/rules",
        operations: &[
            op(Method::Get, "listRules", "The rules, in the order they were added; `times` is what is left", Payload::Nothing, Payload::RuleList),
            op(Method::Post, "addRule", "Add a rule (answered 201 with its id); a bad one is 400 naming the field", Payload::Rule, Payload::Rule)
                .created()
                .errors(&[400, 507]),
            op(Method::Delete, "clearRules", "Delete every rule", Payload::Nothing, Payload::Deleted),
        ],
        allow: "GET, HEAD, POST, DELETE, OPTIONS",
    },
    RouteSpec {
        template: "/__admin/rules/{id}",
        operations: &[
            op(Method::Delete, "deleteRule", "Delete one rule and echo it", Payload::Nothing, Payload::Rule)
                .errors(&[404]),
        ],
        allow: "DELETE, OPTIONS",
    },
    RouteSpec {
        template: "/__admin/scenarios",
        operations: &[op(Method::Get, "listScenarios", "The scenarios the rules name, each with its state and the states its rules name (`Started` first)", Payload::Nothing, Payload::ScenarioList)],
        allow: "GET, HEAD, OPTIONS",
    },
    RouteSpec {
        template: "/__admin/scenarios/{name}",
        operations: &[op(Method::Put, "setScenario", "Put a scenario in one of its states: `{\"state\": \"shipped\"}`", Payload::ScenarioState, Payload::Scenario)
            .errors(&[400, 404])],
        allow: "PUT, OPTIONS",
    },
    RouteSpec {
        template: "/__admin/events",
        operations: &[
            op(Method::Get, "events", "The store's changes as Server-Sent Events (?type= filters, Last-Event-ID or ?_since= replays); ?access_token= may carry the token", Payload::Nothing, Payload::EventStream)
                .errors(&[400, 503]),
        ],
        allow: "GET, HEAD, OPTIONS",
    },
    RouteSpec {
        template: "/api/{singular}",
        operations: &[
            op(
                Method::Get,
                "getSingular",
                "A singular resource (a top-level object of the fixtures or snapshot): one object with no id",
                Payload::Nothing,
                Payload::Single,
            )
            .condition(Condition::IfNoneMatch)
            .errors(&[400]),
            op(
                Method::Put,
                "replaceSingular",
                "Replace a singular resource whole",
                Payload::Single,
                Payload::Single,
            )
            .condition(Condition::IfMatch)
            .errors(&[400, 412]),
            op(
                Method::Patch,
                "patchSingular",
                "Change a singular resource with a JSON Merge Patch (RFC 7386)",
                Payload::MergePatch,
                Payload::Single,
            )
            .condition(Condition::IfMatch)
            .errors(&[400, 412]),
        ],
        allow: "GET, HEAD, PUT, PATCH, OPTIONS",
    },
    RouteSpec {
        template: "/__admin/namespaces",
        operations: &[
            op(Method::Get, "listNamespaces", "The namespaces held (X-Mock-Namespace), by name, with their item counts", Payload::Nothing, Payload::NamespaceList),
        ],
        allow: "GET, HEAD, OPTIONS",
    },
    RouteSpec {
        template: "/__admin/namespaces/{name}",
        operations: &[
            op(Method::Delete, "deleteNamespace", "Drop a namespace with its items, rules, journal and streams, and echo its name and count; `default` cannot be dropped", Payload::Nothing, Payload::Namespace)
                .errors(&[400, 404]),
        ],
        allow: "DELETE, OPTIONS",
    },
];

/// The entry of [`Route::Spec`]: the document's paths take their methods
/// from the document, so the table lists none.
const SPEC_ROUTE: RouteSpec = RouteSpec {
    template: "/{path of the OpenAPI document}",
    operations: &[],
    allow: "OPTIONS",
};

impl Route {
    /// Finds the route of a raw (percent-encoded) path, with the resources
    /// under `/api`. One trailing slash is ignored.
    pub(crate) fn parse(path: &str) -> Result<Self, ApiError> {
        Self::parse_under(path, DEFAULT_API_PREFIX)
    }

    /// Finds the route of a raw (percent-encoded) path, with the resources
    /// under `prefix` (`API_PREFIX`: `/`, or `/` and segments, checked by
    /// [`check_api_prefix`]). `/`, `/health`, `/openapi.json` and
    /// `/__admin/...` keep their meaning whatever the prefix; under `/`,
    /// those names are not resources. One trailing slash is ignored.
    pub(crate) fn parse_under(path: &str, prefix: &str) -> Result<Self, ApiError> {
        let trimmed = match path.strip_suffix('/') {
            Some(rest) if !rest.is_empty() => rest,
            _ => path,
        };
        let unknown = || ApiError::UnknownPath {
            path: path.to_owned(),
        };
        let Some(rest) = trimmed.strip_prefix('/') else {
            return Err(ApiError::NotOriginForm {
                target: path.to_owned(),
            });
        };
        let segments: Vec<&str> = rest.split('/').collect();
        match segments.as_slice() {
            [""] => return Ok(Self::Home),
            ["health"] => return Ok(Self::Health),
            ["openapi.json"] => return Ok(Self::OpenApi),
            ["__admin", "snapshot"] => return Ok(Self::Snapshot),
            ["__admin", "reset"] => return Ok(Self::Reset),
            ["__admin", "requests"] => return Ok(Self::Requests),
            ["__admin", "requests", "count"] => return Ok(Self::RequestsCount),
            ["__admin", "requests", "find"] => return Ok(Self::RequestsFind),
            ["__admin", "rules"] => return Ok(Self::Rules),
            ["__admin", "events"] => return Ok(Self::Events),
            ["__admin", "scenarios"] => return Ok(Self::Scenarios),
            ["__admin", "scenarios", name] => {
                return Ok(Self::Scenario {
                    name: decode_segment(name, "scenario")?,
                })
            }
            ["__admin", "namespaces"] => return Ok(Self::Namespaces),
            ["__admin", "namespaces", name] => {
                return Ok(Self::Namespace {
                    name: decode_segment(name, "namespace")?,
                })
            }
            ["__admin", "rules", id] => {
                return Ok(Self::Rule {
                    id: decode_segment(id, "rule id")?,
                })
            }
            [first, ..] if RESERVED_SEGMENTS.contains(first) => return Err(unknown()),
            _ => {}
        }
        // The segments after the prefix's own.
        let mut resource_path = segments.as_slice();
        for part in prefix.split('/').filter(|s| !s.is_empty()) {
            match resource_path.split_first() {
                Some((first, rest)) if *first == part => resource_path = rest,
                _ => return Err(unknown()),
            }
        }
        match resource_path {
            [resource] => Ok(Self::Collection {
                resource: decode_segment(resource, "resource name")?,
            }),
            [resource, id] => Ok(Self::Item {
                resource: decode_segment(resource, "resource name")?,
                id: decode_segment(id, "id")?,
            }),
            [resource, id, children] => Ok(Self::Children {
                resource: decode_segment(resource, "resource name")?,
                id: decode_segment(id, "id")?,
                children: decode_segment(children, "resource name")?,
            }),
            _ => Err(unknown()),
        }
    }

    /// The route's entry in [`ROUTES`].
    pub(crate) fn spec(&self) -> &'static RouteSpec {
        let index = match self {
            Self::Spec => return &SPEC_ROUTE,
            Self::Home => 0,
            Self::Health => 1,
            Self::OpenApi => 2,
            Self::Collection { .. } => 3,
            Self::Item { .. } => 4,
            Self::Children { .. } => 5,
            Self::Snapshot => 6,
            Self::Reset => 7,
            Self::Requests => 8,
            Self::RequestsCount => 9,
            Self::RequestsFind => 10,
            Self::Rules => 11,
            Self::Rule { .. } => 12,
            Self::Scenarios => 13,
            Self::Scenario { .. } => 14,
            Self::Events => 15,
            Self::Single { .. } => 16,
            Self::Namespaces => 17,
            Self::Namespace { .. } => 18,
        };
        &ROUTES[index]
    }

    /// Whether the route takes a method: its operations, `HEAD` where it has
    /// `GET`, and `OPTIONS`.
    pub(crate) fn takes(&self, method: &Method) -> bool {
        let operations = self.spec().operations;
        match method {
            Method::Options => true,
            Method::Head => operations.iter().any(|op| op.method == Method::Get),
            method => operations.iter().any(|op| &op.method == method),
        }
    }

    /// Whether the route is one of the `/__admin` controls.
    pub(crate) fn is_admin(&self) -> bool {
        matches!(
            self,
            Self::Snapshot
                | Self::Reset
                | Self::Requests
                | Self::RequestsCount
                | Self::RequestsFind
                | Self::Rules
                | Self::Rule { .. }
                | Self::Scenarios
                | Self::Scenario { .. }
                | Self::Events
                | Self::Namespaces
                | Self::Namespace { .. }
        )
    }

    /// The type (or singular resource) a route of the store's (under
    /// `API_PREFIX`) names; `None` for the other routes.
    pub(crate) fn resource(&self) -> Option<&str> {
        match self {
            Self::Collection { resource }
            | Self::Item { resource, .. }
            | Self::Children { resource, .. }
            | Self::Single { resource } => Some(resource),
            _ => None,
        }
    }

    /// Whether the route is open without a token: the homepage and `/health`.
    pub(crate) fn is_public(&self) -> bool {
        matches!(self, Self::Home | Self::Health)
    }

    /// The `Allow` header value for this route.
    pub(crate) fn allow(&self) -> &'static str {
        self.spec().allow
    }
}

/// Percent-decodes one path segment and checks it with [`check_name`].
fn decode_segment(raw: &str, what: &str) -> Result<String, ApiError> {
    // Borrowed when there is nothing to decode: one allocation, of the right size.
    let text = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| ApiError::BadPathSegment {
            reason: format!("The {what} in the path is not valid UTF-8."),
        })?
        .into_owned();
    check_name(&text, what, "in the path")?;
    Ok(text)
}

/// Checks a resource name or id: 1 to 128 bytes with no control characters.
pub(crate) fn check_name(text: &str, what: &str, place: &str) -> Result<(), ApiError> {
    let bad = |reason: String| ApiError::BadPathSegment { reason };
    if text.is_empty() {
        return Err(bad(format!("The {what} {place} is empty.")));
    }
    if text.len() > MAX_SEGMENT_BYTES {
        return Err(bad(format!(
            "The {what} {place} is {} bytes long; the limit is {MAX_SEGMENT_BYTES}.",
            text.len()
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(bad(format!(
            "The {what} {place} contains a control character."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(name: &str) -> Route {
        Route::Collection {
            resource: name.to_owned(),
        }
    }

    #[test]
    fn allow_headers_list_the_table() {
        for spec in ROUTES {
            let mut methods = Vec::new();
            for op in spec.operations {
                methods.push(op.method.as_str());
                if op.method == Method::Get {
                    methods.push("HEAD");
                }
            }
            methods.push("OPTIONS");
            assert_eq!(spec.allow, methods.join(", "), "{}", spec.template);
        }
    }

    #[test]
    fn every_template_parses_to_its_own_spec() {
        // A singular's path is a collection's until the engine, which knows
        // the singular names, says otherwise.
        for spec in ROUTES
            .iter()
            .filter(|spec| !spec.template.contains("{singular}"))
        {
            let path = spec
                .template
                .replace("{resource}", "r")
                .replace("{id}", "i")
                .replace("{children}", "c");
            assert_eq!(Route::parse(&path).unwrap().spec(), spec);
        }
    }

    #[test]
    fn pages_and_trailing_slashes() {
        assert_eq!(Route::parse("/"), Ok(Route::Home));
        assert_eq!(Route::parse("/health"), Ok(Route::Health));
        assert_eq!(Route::parse("/health/"), Ok(Route::Health));
        assert_eq!(Route::parse("/api/persons/"), Ok(collection("persons")));
    }

    #[test]
    fn segments_are_percent_decoded_and_case_kept() {
        assert_eq!(Route::parse("/api/Caf%C3%A9"), Ok(collection("Café")));
        assert_eq!(
            Route::parse("/api/a%2Fb/x%20y"),
            Ok(Route::Item {
                resource: "a/b".to_owned(),
                id: "x y".to_owned()
            })
        );
    }

    #[test]
    fn nested_routes_decode_three_segments() {
        assert_eq!(
            Route::parse("/api/posts/1/comm%20ents/"),
            Ok(Route::Children {
                resource: "posts".to_owned(),
                id: "1".to_owned(),
                children: "comm ents".to_owned()
            })
        );
        assert_eq!(
            Route::parse("/api/posts/1/%00").map_err(|e| e.status()),
            Err(400)
        );
    }

    #[test]
    fn bad_segments_are_400() {
        for path in ["/api/a%00b", "/api/%FF", "/api//x", "/api/a%7Fb"] {
            let err = Route::parse(path).expect_err(path);
            assert_eq!(err.status(), 400, "{path}");
        }
        let long = format!("/api/{}", "x".repeat(129));
        assert_eq!(Route::parse(&long).map_err(|e| e.status()), Err(400));
        let max = format!("/api/{}", "x".repeat(128));
        assert!(Route::parse(&max).is_ok());
    }

    #[test]
    fn resources_live_under_the_prefix() {
        let item = |resource: &str, id: &str| Route::Item {
            resource: resource.to_owned(),
            id: id.to_owned(),
        };
        assert_eq!(Route::parse_under("/posts", "/"), Ok(collection("posts")));
        assert_eq!(Route::parse_under("/posts/1/", "/"), Ok(item("posts", "1")));
        assert_eq!(Route::parse_under("/", "/"), Ok(Route::Home));
        assert_eq!(Route::parse_under("/health", "/"), Ok(Route::Health));
        assert_eq!(
            Route::parse_under("/__admin/snapshot", "/"),
            Ok(Route::Snapshot)
        );
        for path in [
            "/health/x",
            "/__admin",
            "/__admin/x",
            "/openapi.json/x",
            "/a/b/c/d",
        ] {
            assert_eq!(
                Route::parse_under(path, "/").map_err(|e| e.status()),
                Err(404),
                "{path}"
            );
        }
        assert_eq!(
            Route::parse_under("/v1/api/posts", "/v1/api"),
            Ok(collection("posts"))
        );
        for path in ["/api/posts", "/v1/posts", "/v1/api"] {
            assert_eq!(
                Route::parse_under(path, "/v1/api").map_err(|e| e.status()),
                Err(404),
                "{path}"
            );
        }
        assert_eq!(under_prefix("/api/{resource}", "/"), "/{resource}");
        assert_eq!(under_prefix("/api/{resource}", "/v1"), "/v1/{resource}");
        assert_eq!(under_prefix("/health", "/v1"), "/health");
    }

    #[test]
    fn prefixes_are_plain_paths_of_their_own() {
        for good in ["/", "/api", "/v1/api", "/a-b_c.d~e"] {
            assert_eq!(check_api_prefix(good), Ok(()), "{good}");
        }
        for bad in [
            "", "api", "/api/", "//", "/a//b", "/a b", "/a%20b", "/..", "/é",
        ] {
            assert!(check_api_prefix(bad).is_err(), "{bad}");
        }
        for reserved in ["/health", "/__admin", "/openapi.json", "/__admin/api"] {
            assert!(
                check_api_prefix(reserved)
                    .unwrap_err()
                    .starts_with("collides with the server's own"),
                "{reserved}"
            );
        }
    }

    #[test]
    fn unknown_paths_are_404() {
        for path in ["/api", "/api/", "/apix/a", "/api/a/b/c/d", "/nothing"] {
            let err = Route::parse(path).expect_err(path);
            assert_eq!(err.status(), 404, "{path}");
        }
    }

    #[test]
    fn targets_that_are_not_paths_are_400() {
        for target in [
            "",
            "*",
            "api/persons",
            "example.com:443",
            "http://example.com/",
        ] {
            let err = Route::parse(target).expect_err(target);
            assert_eq!(
                err,
                ApiError::NotOriginForm {
                    target: target.to_owned()
                }
            );
        }
    }
}
