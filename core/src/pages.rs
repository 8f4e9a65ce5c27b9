//! `/health` and the homepage: both describe the server and what it holds.

use crate::route::{under_prefix, ROUTES};
use crate::store::Store;
use serde_json::{json, Value};
use std::fmt::Write;
use std::time::Duration;

/// Uptime in the original mock's words: `1 hrs 2 mins 3 secs`.
pub fn uptime(elapsed: Duration) -> String {
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
pub fn health(
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

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;\
margin:2rem auto;padding:0 1rem;color:#222}h1{margin-bottom:.2rem}table{border-collapse:collapse;\
width:100%;margin:1rem 0 2rem}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd}\
th{background:#f4f4f4}code{font-family:ui-monospace,monospace}.facts{color:#555}\
.warning{background:#fff3cd;border:1px solid #e0b400;padding:.6rem .8rem;border-radius:4px}";

/// The HTML homepage. Self-contained: inline CSS, no script, no external asset.
pub fn homepage(
    name: &str,
    version: &str,
    elapsed: Duration,
    store: &Store,
    warn_open: bool,
    api_prefix: &str,
) -> String {
    let mut types: Vec<(&str, usize)> = store.counts().collect();
    types.sort_unstable();
    let mut html = String::with_capacity(4096);
    let name = escape(name);
    // Writing to a String cannot fail; the results are ignored for that reason.
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{name}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{name}</h1>\n\
         <p class=\"facts\">Version: {}<br>Uptime: {}<br>Total resources count: {}</p>\n",
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
    html.push_str("<h2>Resources</h2>\n");
    if types.is_empty() {
        let _ = writeln!(
            html,
            "<p>No resources yet. <code>POST</code> JSON to <code>{}</code> to create some.</p>",
            escape(&under_prefix("/api/{resource}", api_prefix))
        );
    } else {
        html.push_str(
            "<table>\n<thead><tr><th>Resource</th><th>Count</th></tr></thead>\n<tbody>\n",
        );
        for (resource, count) in types {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{count}</td></tr>",
                escape(resource)
            );
        }
        html.push_str("</tbody>\n</table>\n");
    }
    html.push_str("<h2>Endpoints</h2>\n<table>\n<thead><tr><th>Endpoint</th><th>Method</th><th>Description</th></tr></thead>\n<tbody>\n");
    // The route table is the one list of endpoints, as for `/openapi.json`.
    for route in ROUTES {
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
    html.push_str("</tbody>\n</table>\n<p>The whole API as OpenAPI 3.1: <a href=\"/openapi.json\">/openapi.json</a></p>\n</body>\n</html>\n");
    html
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
    fn homepage_escapes_names_and_sorts_types() {
        let mut store = Store::new();
        store.put("zebras", "1", "{}".to_owned());
        store.put("<script>", "1", "{}".to_owned());
        let html = homepage("a&b", "1.0", Duration::ZERO, &store, false, "/api");
        assert!(!html.contains("Warning"));
        assert!(homepage("a", "1", Duration::ZERO, &store, true, "/")
            .contains("<strong>Warning:</strong>"));
        assert!(html.contains("<title>a&amp;b</title>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>"));
        let first = html.find("&lt;script&gt;").unwrap();
        assert!(first < html.find("zebras").unwrap());
        assert!(
            !html.contains("http"),
            "the page loads nothing from elsewhere"
        );
    }
}
