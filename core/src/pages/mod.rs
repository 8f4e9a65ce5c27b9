//! What the server says about itself: `/health` and the homepage, which
//! describe the server and what it holds, and `/openapi.json` ([`openapi`]),
//! this API described from the route table.

pub(crate) mod openapi;

use crate::config::Config;
use crate::http::route::{under_prefix, ROUTES};
use crate::mock::feed::Event;
use crate::namespace::Listing;
use crate::spec::Spec;
use crate::store::Store;
use serde_json::{json, Value};
use std::fmt::Write;
use std::time::Duration;

/// Uptime in the original mock's words: `1 hrs 2 mins 3 secs`.
pub(crate) fn uptime(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    format!(
        "{} hrs {} mins {} secs",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// What a host's storage tells `/health` when it is not well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Writes cannot be saved (they answer `503`): `/health` answers `503`
    /// with `"status":"fail"`.
    Failing(String),
    /// Writes are saved, but the store's upkeep (such as compacting a
    /// journal) fails: `/health` answers `200` with `"status":"warn"`.
    Degraded(String),
}

/// The `/health` document, in the original mock's shape, and its status code.
/// A storage problem adds `"storage": {"status", "error"}` and sets the status.
pub(crate) fn health(
    name: &str,
    version: &str,
    elapsed: Duration,
    store: &Store,
    storage: Option<&Storage>,
) -> (u16, Value) {
    let resources: Vec<Value> = store
        .counts()
        .map(|(name, count)| json!({ "name": name, "count": count }))
        .collect();
    let mut doc = json!({
        "name": name,
        "version": version,
        "uptime": uptime(elapsed),
        "database": {
            "total_resources_count": store.total(),
            "resources": resources,
        },
        "status": "pass",
    });
    let (code, status, error) = match storage {
        None => return (200, doc),
        Some(Storage::Failing(error)) => (503, "fail", error),
        Some(Storage::Degraded(error)) => (200, "warn", error),
    };
    if let Some(members) = doc.as_object_mut() {
        members.insert(
            "storage".to_owned(),
            json!({ "status": status, "error": error }),
        );
        members.insert("status".to_owned(), json!(status));
    }
    (code, doc)
}

/// The namespaces a host holds, by name, with their item counts: added to
/// `/health` as `"namespaces": [{"name", "count"}]` when there is more than
/// the default one (a host whose engines each know only their own namespace
/// gives none).
pub(crate) fn add_namespaces(doc: &mut Value, namespaces: &Listing) {
    if namespaces.len() < 2 {
        return;
    }
    let list: Vec<Value> = namespaces
        .counts()
        .map(|(name, count)| json!({ "name": name, "count": count }))
        .collect();
    if let Some(members) = doc.as_object_mut() {
        members.insert("namespaces".to_owned(), Value::Array(list));
    }
}

/// The heading of the homepage's table of resources, before which the
/// namespaces go.
const RESOURCES_HEADING: &str = "<h2 id=\"resources\">Resources</h2>";

/// The homepage's table of namespaces (as [`add_namespaces`] lists them),
/// before its resources.
pub(crate) fn add_namespaces_html(html: &mut String, namespaces: &Listing) {
    if namespaces.len() < 2 {
        return;
    }
    let mut table = String::from(
        "<h2>Namespaces</h2>\n<p>Each <code>X-Mock-Namespace</code> has a store of its own; this page shows the one it was asked in.</p>\n<table>\n<thead><tr><th>Namespace</th><th>Count</th></tr></thead>\n<tbody>\n",
    );
    for (name, count) in namespaces.counts() {
        let _ = writeln!(table, "<tr><td>{}</td><td>{count}</td></tr>", escape(name));
    }
    table.push_str("</tbody>\n</table>\n");
    let at = html.find(RESOURCES_HEADING).unwrap_or(html.len());
    html.insert_str(at, &table);
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;\
margin:2rem auto;padding:0 1rem;color:#222}h1{margin-bottom:.2rem}table{border-collapse:collapse;\
width:100%;margin:1rem 0 2rem}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd;\
vertical-align:top}th{background:#f4f4f4}code{font-family:ui-monospace,monospace}.facts{color:#555}\
.warning{background:#fff3cd;border:1px solid #e0b400;padding:.6rem .8rem;border-radius:4px}\
#live{color:#555;font-style:italic}td.item{font-family:ui-monospace,monospace;word-break:break-all}";

/// The script that makes the homepage live: it subscribes to the change feed
/// from the sequence the page was rendered at, and on each event updates the
/// latest changes, then refreshes the counts (`/health`), the latest requests
/// and the items of the chosen type. Without it (no script, no
/// `EventSource`, a feed that refuses) the page stays as rendered. With
/// `API_TOKEN`, the page's own `?access_token=` is passed on.
const SCRIPT: &str = r#"(function(){
if(!window.EventSource||!window.fetch)return;
var d=document,tok=new URLSearchParams(location.search).get('access_token');
var api=d.body.getAttribute('data-api'),idKey=d.body.getAttribute('data-id');
var opts=tok?{headers:{Authorization:'Bearer '+tok}}:{};
var live=d.getElementById('live'),changes=d.getElementById('changes'),picker=d.getElementById('type');
function el(tag,text){var e=d.createElement(tag);e.textContent=text;return e}
function row(cells,cls){var tr=d.createElement('tr');cells.forEach(function(c,i){var td=el('td',c);if(cls&&i===cells.length-1)td.className=cls;tr.appendChild(td)});return tr}
function fill(id,rows,empty){var body=d.getElementById(id);body.textContent='';if(!rows.length)rows=[[empty]];rows.forEach(function(r){body.appendChild(row(r,id==='items'?'item':''))})}
function get(url){return fetch(url,opts).then(function(r){if(!r.ok)throw new Error(r.status);return r.json()})}
function counts(){return get('/health').then(function(h){var res=h.database.resources.slice().sort(function(a,b){return a.name<b.name?-1:a.name>b.name?1:0});
d.getElementById('total').textContent=h.database.total_resources_count;
fill('counts',res.map(function(r){return[r.name,String(r.count)]}),'No resources yet.');
var chosen=picker.value;picker.textContent='';picker.appendChild(el('option',''));
res.forEach(function(r){var o=el('option',r.name);o.value=r.name;if(r.name===chosen)o.selected=true;picker.appendChild(o)})})}
function requests(){return get('/__admin/requests?_limit=10').then(function(list){
fill('requests',list.reverse().map(function(e){return[e.time,e.method,e.path+(e.query?'?'+e.query:''),String(e.status)]}),'No requests yet.')}).catch(function(){})}
function items(){var t=picker.value;if(!t){fill('items',[],'Choose a type.');return Promise.resolve()}
var read=api?get(api+encodeURIComponent(t)+'?_limit=50'):get('/__admin/snapshot').then(function(s){return Array.isArray(s[t])?s[t].slice(0,50):[]});
return read.then(function(list){fill('items',list.map(function(i){return[String(idKey?i[idKey]:i[Object.keys(i).pop()]),JSON.stringify(i)]}),'No items.')}).catch(function(){fill('items',[],'The items could not be read.')})}
var timer=null;function refresh(){if(timer)return;timer=setTimeout(function(){timer=null;counts().then(items).catch(function(){});requests()},50)}
picker.addEventListener('change',items);
var url='/__admin/events?_since='+d.body.getAttribute('data-seq')+(tok?'&access_token='+encodeURIComponent(tok):'');
var es=new EventSource(url);
es.onopen=function(){live.textContent='Live: this page follows the change feed (/__admin/events).'};
es.onerror=function(){if(es.readyState===2)live.textContent='Static: the change feed is not available; reload to update.'};
['created','replaced','patched','deleted','cleared','reset','snapshot'].forEach(function(kind){
es.addEventListener(kind,function(ev){var data={};try{data=JSON.parse(ev.data)}catch(e){}
if(changes.firstElementChild&&changes.firstElementChild.getAttribute('data-empty'))changes.textContent='';
changes.insertBefore(row([ev.lastEventId,kind,data.type||'',data.id||'']),changes.firstChild);
while(changes.children.length>10)changes.removeChild(changes.lastChild);refresh()})});
es.addEventListener('gap',function(){es.close();location.reload()});
items();
})();"#;

/// What the homepage shows besides the store: the latest changes (from the
/// feed's ring), the latest requests (from the journal) and the feed's
/// sequence the page was rendered at, which its script subscribes from.
pub(crate) struct Recent<'a> {
    /// The latest events of the feed, oldest first.
    pub changes: Vec<&'a Event>,
    /// The latest journal entries, oldest first (as `/__admin/requests`).
    pub requests: Value,
    /// The feed's last sequence number.
    pub seq: u64,
    /// Whether the latest changes and requests are withheld: `API_TOKEN`
    /// guards the feed and the journal they come from, and the request for
    /// the page did not carry it. The page then says how to see them.
    pub withheld: bool,
}

/// The one row of the latest changes and requests when they are withheld.
const WITHHELD_ROW: &str = "<tr data-empty=\"1\"><td colspan=\"4\">Shown only with the token: open this page as <code>/?access_token=TOKEN</code>.</td></tr>\n";

/// The HTML homepage. Self-contained: inline CSS and script, no asset from
/// another origin. It is whole without its script; the script keeps it live.
/// It names the app and version of `config`, links the types under its
/// `API_PREFIX`, shows items by its `ID_FIELD`, and warns when the server is
/// publicly reachable without `API_TOKEN`. With an OpenAPI document (`spec`),
/// it lists the document's operations, and shows each type's items from the
/// snapshot (the document's paths may need parameters or credentials). What
/// [`Recent`] withholds is not rendered, whatever it holds.
pub(crate) fn homepage(
    config: &Config,
    elapsed: Duration,
    store: &Store,
    recent: &Recent<'_>,
    spec: Option<&Spec>,
) -> String {
    let (name, version) = (&config.app_name, &config.app_version);
    let api_prefix = &config.api_prefix;
    // With a document, each type has its own id property: the script reads
    // an item's id from its last member, where every stored item keeps it.
    let id_field = if spec.is_some() { "" } else { &config.id_field };
    let warn_open = config.publicly_reachable && config.api_token.is_none();
    let mut types: Vec<(&str, usize)> = store.counts().collect();
    types.sort_unstable();
    let mut html = String::with_capacity(8192);
    let name = escape(name);
    let collection = under_prefix("/api/{resource}", api_prefix);
    // Where a type's items are read, for the links and the script: `/api/` or the prefix's.
    let base = if spec.is_some() {
        ""
    } else {
        collection.trim_end_matches("{resource}")
    };
    // Writing to a String cannot fail; the results are ignored for that reason.
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{name}</title>\n<style>{STYLE}</style>\n</head>\n<body data-seq=\"{}\" data-api=\"{}\" data-id=\"{}\">\n<main>\n<h1>{name}</h1>\n\
         <p class=\"facts\">Version: {}<br>Uptime: {}<br>Total resources count: <span id=\"total\">{}</span></p>\n\
         <p id=\"live\" role=\"status\">Static: reload to update.</p>\n",
        recent.seq,
        escape(base),
        escape(id_field),
        escape(version),
        uptime(elapsed),
        store.total()
    );
    if warn_open {
        html.push_str(
            "<p class=\"warning\"><strong>Warning:</strong> this server can be reached from other machines \
             and has no <code>API_TOKEN</code>, so anyone who can reach it can read and change its data. \
             Set <code>API_TOKEN</code>, or <code>RUN_LOCAL=1</code> to listen on 127.0.0.1 only.</p>\n",
        );
    }
    html.push_str(RESOURCES_HEADING);
    if spec.is_some() {
        html.push_str(
            "\n<p>The collections of the OpenAPI document: <code>POST</code> to a collection's path \
             to create items (the operations are listed below).</p>\n",
        );
    } else {
        let _ = writeln!(
            html,
            "\n<p>To create some, <code>POST</code> JSON to <code>{}</code>.</p>",
            escape(&collection)
        );
    }

    html.push_str("<table aria-labelledby=\"resources\">\n<thead><tr><th scope=\"col\">Resource</th><th scope=\"col\">Count</th></tr></thead>\n<tbody id=\"counts\">\n");
    if types.is_empty() {
        html.push_str("<tr><td>No resources yet.</td></tr>\n");
    }
    for (resource, count) in &types {
        if spec.is_some() {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{count}</td></tr>",
                escape(resource)
            );
        } else {
            let _ = writeln!(
                html,
                "<tr><td><a href=\"{}{}\">{}</a></td><td>{count}</td></tr>",
                escape(base),
                escape(&encode_segment(resource)),
                escape(resource)
            );
        }
    }
    html.push_str("</tbody>\n</table>\n");
    html.push_str("<h2 id=\"changes-title\">Latest changes</h2>\n<table aria-labelledby=\"changes-title\">\n<thead><tr><th scope=\"col\">Event id</th><th scope=\"col\">Event</th><th scope=\"col\">Type</th><th scope=\"col\">Item id</th></tr></thead>\n<tbody id=\"changes\">\n");
    if recent.withheld {
        html.push_str(WITHHELD_ROW);
    } else if recent.changes.is_empty() {
        html.push_str("<tr data-empty=\"1\"><td>No changes yet.</td></tr>\n");
    }
    let changes = if recent.withheld {
        &[][..]
    } else {
        &recent.changes[..]
    };
    for event in changes.iter().rev() {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            event.seq,
            event.kind.as_str(),
            escape(event.resource.as_deref().unwrap_or("")),
            escape(event.id.as_deref().unwrap_or(""))
        );
    }
    html.push_str("</tbody>\n</table>\n");
    html.push_str("<h2 id=\"requests-title\">Latest requests</h2>\n<table aria-labelledby=\"requests-title\">\n<thead><tr><th scope=\"col\">Time</th><th scope=\"col\">Method</th><th scope=\"col\">Path</th><th scope=\"col\">Status</th></tr></thead>\n<tbody id=\"requests\">\n");
    let entries = recent.requests.as_array().map_or(&[][..], Vec::as_slice);
    if recent.withheld {
        html.push_str(WITHHELD_ROW);
    } else if entries.is_empty() {
        html.push_str("<tr><td>No requests yet.</td></tr>\n");
    }
    let entries = if recent.withheld { &[][..] } else { entries };
    for entry in entries.iter().rev() {
        let text = |key: &str| entry[key].as_str().unwrap_or("").to_owned();
        let query = text("query");
        let target = if query.is_empty() {
            text("path")
        } else {
            format!("{}?{query}", text("path"))
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&text("time")),
            escape(&text("method")),
            escape(&target),
            entry["status"]
        );
    }
    html.push_str("</tbody>\n</table>\n");
    html.push_str("<h2 id=\"items-title\">Items</h2>\n<p><label for=\"type\">Type</label> <select id=\"type\" name=\"type\"><option value=\"\"></option>");
    for (resource, _) in &types {
        let _ = write!(html, "<option value=\"{0}\">{0}</option>", escape(resource));
    }
    html.push_str("</select></p>\n<table aria-labelledby=\"items-title\">\n<thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Item</th></tr></thead>\n<tbody id=\"items\">\n<tr><td>Choose a type.</td></tr>\n</tbody>\n</table>\n");
    if let Some(spec) = spec {
        html.push_str("<h2 id=\"operations\">Operations of the OpenAPI document</h2>\n<table aria-labelledby=\"operations\">\n<thead><tr><th scope=\"col\">Path</th><th scope=\"col\">Method</th><th scope=\"col\">Operation</th><th scope=\"col\">Summary</th></tr></thead>\n<tbody>\n");
        for op in spec.operations() {
            let _ = writeln!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(spec.path(op)),
                spec.method(op),
                escape(spec.operation_id(op).unwrap_or("")),
                escape(spec.summary(op).unwrap_or(""))
            );
        }
        html.push_str("</tbody>\n</table>\n");
    }
    html.push_str("<h2 id=\"endpoints\">Endpoints</h2>\n<table aria-labelledby=\"endpoints\">\n<thead><tr><th scope=\"col\">Endpoint</th><th scope=\"col\">Method</th><th scope=\"col\">Description</th></tr></thead>\n<tbody>\n");
    // The route table is the one list of endpoints, as for `/openapi.json`;
    // with a document, its resource routes give way to the document's paths.
    let served = |template: &str| spec.is_none() || !template.starts_with("/api/");
    for route in ROUTES.iter().filter(|route| served(route.template)) {
        for operation in route.operations {
            let _ = writeln!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                escape(&under_prefix(route.template, api_prefix)),
                operation.method,
                escape(operation.summary)
            );
        }
    }
    let described = if spec.is_some() {
        "The OpenAPI document this mock serves"
    } else {
        "The whole API as OpenAPI 3.1"
    };
    let _ = write!(
        html,
        "</tbody>\n</table>\n<p>{described}: <a href=\"/openapi.json\">/openapi.json</a></p>\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
    html
}

/// Percent-encodes a resource name for a link's path segment.
fn encode_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_reads_like_the_original() {
        assert_eq!(uptime(Duration::from_secs(3723)), "1 hrs 2 mins 3 secs");
        assert_eq!(uptime(Duration::ZERO), "0 hrs 0 mins 0 secs");
    }

    #[test]
    fn health_reports_the_storage_state() {
        let store = Store::new();
        let (code, well) = health("a", "1", Duration::ZERO, &store, None);
        assert_eq!((code, &well["status"]), (200, &json!("pass")));
        assert!(well.get("storage").is_none());
        let failing = Storage::Failing("disk full".to_owned());
        let (code, doc) = health("a", "1", Duration::ZERO, &store, Some(&failing));
        assert_eq!(code, 503);
        assert_eq!(doc["status"], "fail");
        assert_eq!(
            doc["storage"],
            json!({"status": "fail", "error": "disk full"})
        );
        let degraded = Storage::Degraded("read-only".to_owned());
        let (code, doc) = health("a", "1", Duration::ZERO, &store, Some(&degraded));
        assert_eq!((code, &doc["status"]), (200, &json!("warn")));
    }

    #[test]
    fn namespaces_are_listed_when_there_is_more_than_the_default() {
        let (_, mut doc) = health("a", "1", Duration::ZERO, &Store::new(), None);
        let recent = Recent {
            changes: Vec::new(),
            requests: json!([]),
            seq: 0,
            withheld: false,
        };
        let mut html = homepage(
            &Config::default(),
            Duration::ZERO,
            &Store::new(),
            &recent,
            None,
        );
        let mut listing = Listing::default();
        listing.set("default", 2, 0, 0);
        add_namespaces(&mut doc, &listing);
        add_namespaces_html(&mut html, &listing);
        assert!(doc.get("namespaces").is_none());
        assert!(!html.contains("Namespaces"));
        listing.set("<b>", 0, 0, 0);
        add_namespaces(&mut doc, &listing);
        add_namespaces_html(&mut html, &listing);
        assert_eq!(
            doc["namespaces"],
            json!([{"name": "<b>", "count": 0}, {"name": "default", "count": 2}])
        );
        assert!(html.contains("<tr><td>&lt;b&gt;</td><td>0</td></tr>"));
        assert!(html.find("Namespaces").unwrap() < html.find(RESOURCES_HEADING).unwrap());
    }

    #[test]
    fn homepage_escapes_names_and_sorts_types() {
        let mut store = Store::new();
        store.put("zebras", "1", "{}".to_owned());
        store.put("<script>", "1", "{}".to_owned());
        let recent = Recent {
            changes: Vec::new(),
            requests: json!([]),
            seq: 0,
            withheld: false,
        };
        let config = Config {
            app_name: "a&b".to_owned(),
            app_version: "1.0".to_owned(),
            ..Config::default()
        };
        let html = homepage(&config, Duration::ZERO, &store, &recent, None);
        assert!(!html.contains("Warning"));
        assert!(html.contains("href=\"/api/zebras\""));
        let open = Config {
            publicly_reachable: true,
            api_prefix: "/".to_owned(),
            id_field: "id".to_owned(),
            ..Config::default()
        };
        let page = homepage(&open, Duration::ZERO, &store, &recent, None);
        assert!(page.contains("<strong>Warning:</strong>"));
        assert!(page.contains("href=\"/zebras\""));
        assert!(page.contains("data-api=\"/\" data-id=\"id\""));
        assert!(html.contains("<title>a&amp;b</title>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>\n"));
        assert_eq!(
            html.matches("<script>").count(),
            1,
            "only the page's own script"
        );
        let first = html.find("&lt;script&gt;").unwrap();
        assert!(first < html.find("zebras").unwrap());
        assert!(
            !html.contains("http"),
            "the page loads nothing from elsewhere"
        );
    }

    #[test]
    fn withheld_changes_and_requests_are_not_rendered() {
        let mut feed = crate::mock::feed::ChangeFeed::new();
        let change = crate::http::response::Change::Delete {
            resource: "secret-type".to_owned(),
            id: "secret-id".to_owned(),
        };
        let events = feed.record(
            &crate::http::route::Route::Collection {
                resource: "secret-type".to_owned(),
            },
            &crate::http::request::Method::Delete,
            &[change],
        );
        let requests = json!([{"time": "t", "method": "GET", "path": "/api/secret-path",
                               "query": "q=secret-query", "status": 200}]);
        let mut recent = Recent {
            changes: events.iter().collect(),
            requests,
            seq: 1,
            withheld: false,
        };
        let config = Config::default();
        let shown = homepage(&config, Duration::ZERO, &Store::new(), &recent, None);
        for secret in ["secret-id", "/api/secret-path?q=secret-query"] {
            assert!(shown.contains(secret), "{secret}");
        }
        recent.withheld = true;
        let page = homepage(&config, Duration::ZERO, &Store::new(), &recent, None);
        for secret in ["secret-id", "secret-path", "secret-query"] {
            assert!(!page.contains(secret), "{secret}");
        }
        assert_eq!(page.matches("/?access_token=TOKEN").count(), 2);
    }
}
