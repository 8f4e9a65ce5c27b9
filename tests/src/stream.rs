//! Streaming steps: an open `text/event-stream` and the events read from it.
//!
//! A [`Target`](crate::Target) opens a stream with
//! [`Target::open_stream`](crate::Target::open_stream); the runner then sends
//! the step's other requests and reads events with
//! [`EventStream::next_event`] until it has as many as the step expects or
//! the step's time bound has passed.

use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One Server-Sent Event, as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `id:` (empty when it had none).
    pub id: String,
    /// The `event:` (`message` when it had none).
    pub event: String,
    /// The `data:` lines, joined by line breaks.
    pub data: String,
}

/// Reads Server-Sent Events from bytes as they arrive (comment lines, such as
/// the keep-alive, are skipped).
#[derive(Debug, Default)]
pub struct SseParser {
    pending: Vec<u8>,
    id: String,
    event: String,
    data: Vec<String>,
}

impl SseParser {
    /// Takes bytes and returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line[..end]);
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                if !self.data.is_empty() || !self.event.is_empty() {
                    events.push(SseEvent {
                        id: self.id.clone(),
                        event: match std::mem::take(&mut self.event) {
                            name if name.is_empty() => "message".to_owned(),
                            name => name,
                        },
                        data: std::mem::take(&mut self.data).join("\n"),
                    });
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => self.id = value.to_owned(),
                "event" => self.event = value.to_owned(),
                "data" => self.data.push(value.to_owned()),
                _ => {}
            }
        }
        events
    }
}

/// An open event stream.
pub trait EventStream {
    /// The next event, waiting at most until `deadline`; `None` when none
    /// came by then or the stream ended.
    fn next_event(&mut self, deadline: Instant) -> Result<Option<SseEvent>, String>;
}

/// A stream whose bytes arrive on a channel (from a thread that reads a
/// socket, or from an in-process host).
pub struct ChannelStream {
    chunks: mpsc::Receiver<Vec<u8>>,
    parser: SseParser,
    ready: std::collections::VecDeque<SseEvent>,
}

impl ChannelStream {
    /// A stream over a channel of byte chunks.
    pub fn new(chunks: mpsc::Receiver<Vec<u8>>) -> Self {
        Self {
            chunks,
            parser: SseParser::default(),
            ready: std::collections::VecDeque::new(),
        }
    }
}

impl EventStream for ChannelStream {
    fn next_event(&mut self, deadline: Instant) -> Result<Option<SseEvent>, String> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Ok(Some(event));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(chunk) => self.ready.extend(self.parser.feed(&chunk)),
                Err(_) => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_parsed_across_chunks() {
        let mut parser = SseParser::default();
        assert!(parser.feed(b": keep-alive\n\nid: 1\nevent: cre").is_empty());
        let events = parser.feed(b"ated\ndata: {\"a\":1}\n\ndata: x\ndata: y\n\n");
        assert_eq!(
            events,
            [
                SseEvent {
                    id: "1".to_owned(),
                    event: "created".to_owned(),
                    data: "{\"a\":1}".to_owned()
                },
                SseEvent {
                    id: "1".to_owned(),
                    event: "message".to_owned(),
                    data: "x\ny".to_owned()
                }
            ]
        );
    }
}
