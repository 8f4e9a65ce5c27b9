//! The request journal: the most recent requests, in bounded rings.
//!
//! Requests refused for want of the token (`401`) have a ring of their own, a
//! tenth of the size and without bodies, so that an anonymous client cannot
//! push the other entries out.
//!
//! An entry never keeps the value of an `access_token` query parameter (a
//! token the change feed and the homepage take in their URLs): it reads
//! `access_token=REDACTED`.

use crate::config::DEFAULT_JOURNAL_SIZE;
use crate::http::request::{Method, Request};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::time::{Duration, UNIX_EPOCH};

/// How many bytes of a request body an entry keeps.
pub(crate) const BODY_BYTES: usize = 4096;

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    seq: u64,
    time: Duration,
    method: Method,
    path: String,
    query: String,
    status: u16,
    body: String,
    body_truncated: bool,
    /// The id of the rule that answered the request or let it through.
    rule: Option<String>,
    /// The `PROXY_TARGET` that answered, when the request was proxied.
    proxied: Option<String>,
    /// How the target's answer breaks the OpenAPI document (a JSON array),
    /// when it does.
    violations: Option<String>,
}

impl Entry {
    fn to_json(&self) -> Value {
        let mut entry = json!({
            "seq": self.seq,
            "time": humantime::format_rfc3339_millis(UNIX_EPOCH + self.time).to_string(),
            "method": self.method.as_str(),
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "body": self.body,
            "body_truncated": self.body_truncated,
            "rule": self.rule,
        });
        // Only a proxied request names its target, and only an answer that
        // breaks the document has violations.
        if let Value::Object(members) = &mut entry {
            if let Some(target) = &self.proxied {
                members.insert("proxied".to_owned(), Value::String(target.clone()));
            }
            if let Some(violations) = self.violations.as_deref() {
                let list = serde_json::from_str(violations).unwrap_or(Value::Null);
                members.insert("violations".to_owned(), list);
            }
        }
        entry
    }
}

/// A ring of entries, oldest first; the oldest is dropped when full.
#[derive(Debug, Clone)]
struct Ring {
    entries: VecDeque<Entry>,
    capacity: usize,
    /// What the entries hold, in bytes ([`Entry::size`]).
    bytes: usize,
}

impl Entry {
    /// The bytes an entry holds: its texts and a fixed part.
    fn size(&self) -> usize {
        const FIXED: usize = std::mem::size_of::<Entry>();
        FIXED
            + self.path.len()
            + self.query.len()
            + self.body.len()
            + self.rule.as_ref().map_or(0, String::len)
            + self.proxied.as_ref().map_or(0, String::len)
            + self.violations.as_ref().map_or(0, String::len)
    }
}

impl Ring {
    fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::with_capacity(capacity.min(DEFAULT_JOURNAL_SIZE)),
            capacity,
            bytes: 0,
        }
    }

    fn push(&mut self, entry: Entry) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.size();
            }
        }
        self.bytes += entry.size();
        self.entries.push_back(entry);
    }

    /// The entry the next push would drop, taken out now so that the new
    /// entry can reuse its buffers.
    fn spare(&mut self) -> Option<Entry> {
        if self.capacity > 0 && self.entries.len() == self.capacity {
            let old = self.entries.pop_front()?;
            self.bytes -= old.size();
            Some(old)
        } else {
            None
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// The entries after sequence number `since`, oldest first.
    fn after(&self, since: u64) -> impl Iterator<Item = &Entry> {
        let start = self.entries.partition_point(|e| e.seq <= since);
        self.entries.range(start..)
    }
}

/// One page of the journal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JournalPage {
    /// The entries, oldest first, as JSON.
    pub entries: Value,
    /// How many entries the query matched before `_limit`.
    pub total: usize,
    /// The `seq` of the last entry sent, when more entries follow it.
    pub next_since: Option<u64>,
}

/// The most recent requests: those answered, and apart from them the most
/// recent ones refused with `401`.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    answered: Ring,
    refused: Ring,
    next_seq: u64,
}

impl Journal {
    /// A journal that keeps `capacity` answered requests (0 keeps none) and,
    /// besides them, a tenth as many (at least one) refused with `401`.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            answered: Ring::new(capacity),
            refused: Ring::new(refused_capacity(capacity)),
            next_seq: 1,
        }
    }

    /// Records a request, the status it got, and the rule that answered it or
    /// let it through, if one did.
    pub(crate) fn record(
        &mut self,
        request: &Request,
        status: u16,
        time: Duration,
        rule: Option<&str>,
    ) {
        let kept = &request.body[..request.body.len().min(BODY_BYTES)];
        let spare = self.answered.spare();
        let entry = self.entry(spare, request, status, time, kept);
        self.answered.push(Entry {
            body_truncated: request.body.len() > BODY_BYTES || request.body_too_large,
            rule: rule.map(str::to_owned),
            ..entry
        });
    }

    /// Records a request refused for want of the token, without its body.
    pub(crate) fn record_refused(&mut self, request: &Request, time: Duration) {
        let spare = self.refused.spare();
        let entry = self.entry(spare, request, 401, time, &[]);
        self.refused.push(Entry {
            body_truncated: !request.body.is_empty() || request.body_too_large,
            ..entry
        });
    }

    /// A new entry, in the buffers of `spare` (the entry it replaces in a
    /// full ring) when there is one: a busy server allocates nothing here.
    fn entry(
        &mut self,
        spare: Option<Entry>,
        request: &Request,
        status: u16,
        time: Duration,
        body: &[u8],
    ) -> Entry {
        let seq = self.next_seq;
        self.next_seq += 1;
        let (mut path, mut query, mut text) = match spare {
            Some(old) => (old.path, old.query, old.body),
            None => Default::default(),
        };
        refill(&mut path, &request.path);
        refill(
            &mut query,
            &crate::http::access::redact_query(&request.query),
        );
        refill(&mut text, &String::from_utf8_lossy(body));
        Entry {
            seq,
            time,
            method: request.method.clone(),
            path,
            query,
            status,
            body: text,
            body_truncated: false,
            rule: None,
            proxied: None,
            violations: None,
        }
    }

    /// Records a request sent to the proxy target, the status it got, and
    /// how the answer breaks the OpenAPI document (a JSON array), if it does.
    pub(crate) fn record_proxied(
        &mut self,
        request: &Request,
        status: u16,
        time: Duration,
        rule: Option<&str>,
        target: &str,
        violations: Option<String>,
    ) {
        self.record(request, status, time, rule);
        if let Some(entry) = self.answered.entries.back_mut() {
            let added = target.len() + violations.as_ref().map_or(0, String::len);
            entry.proxied = Some(target.to_owned());
            entry.violations = violations;
            self.answered.bytes += added;
        }
    }

    /// Forgets every entry; returns how many there were.
    pub(crate) fn clear(&mut self) -> usize {
        let count = self.answered.entries.len() + self.refused.entries.len();
        self.answered.clear();
        self.refused.clear();
        count
    }

    /// The bytes the entries hold.
    pub(crate) fn bytes(&self) -> usize {
        self.answered.bytes + self.refused.bytes
    }

    /// A page of entries, oldest first. With `since`, the entries after that
    /// sequence number, the first `limit` of them (so a client that polls
    /// with the last `seq` it saw misses none); without, the last `limit`.
    pub(crate) fn page(&self, since: Option<u64>, limit: Option<usize>) -> JournalPage {
        let after = self.merged(since.unwrap_or(0));
        let total = after.len();
        let limit = limit.unwrap_or(usize::MAX).min(total);
        let sent = match since {
            Some(_) => &after[..limit],
            None => &after[total - limit..],
        };
        let next_since = match (since, sent.last()) {
            (Some(_), Some(last)) if sent.len() < total => Some(last.seq),
            _ => None,
        };
        JournalPage {
            entries: Value::Array(sent.iter().map(|e| e.to_json()).collect()),
            total,
            next_since,
        }
    }

    /// Every entry, oldest first, as the request it records (method, path,
    /// query and the body kept; no headers) beside its JSON: what the
    /// verification routes search.
    pub(crate) fn requests(&self) -> impl Iterator<Item = (Request, Value)> + '_ {
        self.merged(0).into_iter().map(|entry| {
            let target = if entry.query.is_empty() {
                entry.path.clone()
            } else {
                format!("{}?{}", entry.path, entry.query)
            };
            let mut request = Request::new(entry.method.clone(), &target);
            request.body = entry.body.as_bytes().to_vec();
            request.body_too_large = entry.body_truncated;
            (request, entry.to_json())
        })
    }

    /// The entries of both rings after `since`, in `seq` order.
    fn merged(&self, since: u64) -> Vec<&Entry> {
        let mut answered = self.answered.after(since).peekable();
        let mut refused = self.refused.after(since).peekable();
        let mut out = Vec::new();
        loop {
            let next = match (answered.peek(), refused.peek()) {
                (Some(a), Some(r)) if a.seq < r.seq => answered.next(),
                (Some(_), Some(_)) | (None, Some(_)) => refused.next(),
                (Some(_), None) => answered.next(),
                (None, None) => break,
            };
            out.extend(next);
        }
        out
    }
}

/// Makes `buffer` hold `text`, in the space it has unless that is far more
/// than `text` needs (so an entry does not keep the room of a long request
/// it replaced).
fn refill(buffer: &mut String, text: &str) {
    if buffer.capacity() > text.len().max(128) * 4 {
        *buffer = text.to_owned();
    } else {
        buffer.clear();
        buffer.push_str(text);
    }
}

/// A tenth of the journal's size, rounded up: how many refused requests it keeps.
fn refused_capacity(capacity: usize) -> usize {
    capacity.div_ceil(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::Method;

    fn seqs(page: &JournalPage) -> Vec<u64> {
        page.entries
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect()
    }

    #[test]
    fn an_entry_that_replaces_an_old_one_keeps_nothing_of_it() {
        let mut journal = Journal::new(1);
        let long = Request::new(Method::Post, "/api/a-long-path?with=a&query=1")
            .with_body("x".repeat(BODY_BYTES + 1));
        journal.record(&long, 201, Duration::ZERO, Some("rule-1"));
        let short = Request::new(Method::Get, "/api/b").with_body("{}");
        journal.record(&short, 200, Duration::ZERO, None);
        let entries = journal.page(None, None).entries;
        assert_eq!(
            entries,
            json!([{"seq": 2, "time": "1970-01-01T00:00:00.000Z", "method": "GET", "path": "/api/b",
                    "query": "", "status": 200, "body": "{}", "body_truncated": false, "rule": null}])
        );
    }

    #[test]
    fn an_access_token_in_the_query_is_not_kept() {
        let mut journal = Journal::new(4);
        let home = Request::new(Method::Get, "/?access_token=tok-SECRET-123&x=1");
        journal.record(&home, 200, Duration::ZERO, None);
        journal.record_refused(
            &Request::new(Method::Get, "/api/p?access_token=guess"),
            Duration::ZERO,
        );
        let text = journal.page(None, None).entries.to_string();
        assert!(
            !text.contains("tok-SECRET-123") && !text.contains("guess"),
            "{text}"
        );
        let page = journal.page(None, None).entries;
        assert_eq!(page[0]["query"], "access_token=REDACTED&x=1");
        assert_eq!(page[1]["query"], "access_token=REDACTED");
    }

    #[test]
    fn keeps_the_newest_entries_in_order() {
        let mut journal = Journal::new(3);
        for n in 0..5 {
            let request = Request::new(Method::Post, &format!("/api/p?n={n}"))
                .with_body("x".repeat(BODY_BYTES + n));
            journal.record(
                &request,
                200,
                Duration::from_millis(1_700_000_000_123),
                None,
            );
        }
        let all = journal.page(None, None);
        assert_eq!(seqs(&all), [3, 4, 5]);
        assert_eq!(all.total, 3);
        let all = all.entries;
        assert_eq!(all[0]["query"], "n=2");
        assert_eq!(all[0]["time"], "2023-11-14T22:13:20.123Z");
        assert_eq!(all[0]["body"].as_str().unwrap().len(), BODY_BYTES);
        assert_eq!(all[0]["body_truncated"], true);
        assert_eq!(seqs(&journal.page(Some(4), None)), [5]);
        assert_eq!(seqs(&journal.page(None, Some(2))), [4, 5]);
        assert_eq!(journal.clear(), 3);
        assert_eq!(journal.page(None, None).entries, json!([]));
    }

    #[test]
    fn since_with_a_limit_pages_forward_from_the_oldest() {
        let mut journal = Journal::new(10);
        for _ in 0..6 {
            journal.record(
                &Request::new(Method::Get, "/api/p"),
                200,
                Duration::ZERO,
                None,
            );
        }
        let first = journal.page(Some(2), Some(2));
        assert_eq!(
            (seqs(&first), first.total, first.next_since),
            (vec![3, 4], 4, Some(4))
        );
        let second = journal.page(Some(4), Some(2));
        assert_eq!(
            (seqs(&second), second.total, second.next_since),
            (vec![5, 6], 2, None)
        );
        let newest = journal.page(None, Some(2));
        assert_eq!(
            (seqs(&newest), newest.total, newest.next_since),
            (vec![5, 6], 6, None)
        );
        assert_eq!(journal.page(Some(0), Some(0)).next_since, None);
        assert_eq!(journal.page(Some(99), None).total, 0);
    }

    #[test]
    fn refused_requests_keep_no_body_and_cannot_push_others_out() {
        let mut journal = Journal::new(20);
        journal.record(
            &Request::new(Method::Post, "/api/p").with_body("{}"),
            200,
            Duration::ZERO,
            None,
        );
        for _ in 0..100 {
            let request = Request::new(Method::Post, "/api/p").with_body("secret");
            journal.record_refused(&request, Duration::ZERO);
        }
        journal.record(
            &Request::new(Method::Get, "/api/p"),
            200,
            Duration::ZERO,
            None,
        );
        let page = journal.page(None, None);
        // The answered two, and the last two refused (a tenth of 20), in seq order.
        assert_eq!(seqs(&page), [1, 100, 101, 102]);
        assert_eq!(page.entries[1]["status"], 401);
        assert_eq!(page.entries[1]["body"], "");
        assert_eq!(page.entries[1]["body_truncated"], true);
        assert_eq!(page.entries[0]["body"], "{}");
        assert_eq!(journal.clear(), 4);
        assert_eq!(refused_capacity(1), 1);
        assert_eq!(refused_capacity(0), 0);
        assert_eq!(refused_capacity(1000), 100);
    }
}
