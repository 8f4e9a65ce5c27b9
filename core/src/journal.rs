//! The request journal: the most recent requests, in a bounded ring.

use crate::request::Request;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::time::{Duration, UNIX_EPOCH};

/// How many bytes of a request body an entry keeps.
pub const BODY_BYTES: usize = 4096;

/// The default number of entries kept.
pub const DEFAULT_JOURNAL_SIZE: usize = 1000;

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    seq: u64,
    time: Duration,
    method: String,
    path: String,
    query: String,
    status: u16,
    body: String,
    body_truncated: bool,
    /// The id of the rule that answered or let the request through.
    rule: Option<String>,
}

/// The most recent requests, oldest first; the oldest is dropped when full.
#[derive(Debug, Clone)]
pub struct Journal {
    entries: VecDeque<Entry>,
    capacity: usize,
    next_seq: u64,
}

impl Journal {
    /// A journal that keeps `capacity` entries (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::with_capacity(capacity.min(DEFAULT_JOURNAL_SIZE)),
            capacity,
            next_seq: 1,
        }
    }

    /// Records a request, the status it got, and the rule that answered it or
    /// let it through, if one did.
    pub fn record(&mut self, request: &Request, status: u16, time: Duration, rule: Option<&str>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        let kept = &request.body[..request.body.len().min(BODY_BYTES)];
        self.entries.push_back(Entry {
            seq,
            time,
            method: request.method.to_string(),
            path: request.path.clone(),
            query: request.query.clone(),
            status,
            body: String::from_utf8_lossy(kept).into_owned(),
            body_truncated: request.body.len() > BODY_BYTES || request.body_too_large,
            rule: rule.map(str::to_owned),
        });
    }

    /// Forgets every entry; returns how many there were.
    pub fn clear(&mut self) -> usize {
        let count = self.entries.len();
        self.entries.clear();
        count
    }

    /// The entries after sequence number `since`, the last `limit` of them, oldest first.
    pub fn render(&self, since: u64, limit: Option<usize>) -> Value {
        let after: Vec<&Entry> = self.entries.iter().filter(|e| e.seq > since).collect();
        let skip = limit.map_or(0, |limit| after.len().saturating_sub(limit));
        Value::Array(
            after[skip..]
                .iter()
                .map(|e| {
                    json!({
                        "seq": e.seq,
                        "time": humantime::format_rfc3339_millis(UNIX_EPOCH + e.time).to_string(),
                        "method": e.method,
                        "path": e.path,
                        "query": e.query,
                        "status": e.status,
                        "body": e.body,
                        "body_truncated": e.body_truncated,
                        "rule": e.rule,
                    })
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Method;

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
        let all = journal.render(0, None);
        let seqs: Vec<u64> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(all[0]["query"], "n=2");
        assert_eq!(all[0]["time"], "2023-11-14T22:13:20.123Z");
        assert_eq!(all[0]["body"].as_str().unwrap().len(), BODY_BYTES);
        assert_eq!(all[0]["body_truncated"], true);
        assert_eq!(journal.render(4, None).as_array().unwrap().len(), 1);
        assert_eq!(journal.render(0, Some(2))[0]["seq"], 4);
        assert_eq!(journal.clear(), 3);
        assert_eq!(journal.render(0, None), json!([]));
    }
}
