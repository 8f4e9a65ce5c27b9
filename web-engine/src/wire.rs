//! The one wire between the endpoint and its JavaScript hosts: a request in
//! one buffer, the endpoint's effects in another, so that a request crosses
//! the wasm boundary once each way with nothing allocated to cross.
//!
//! Its layout is this module's alone: the tags and the order of the fields
//! are [`TAGS`], which JavaScript reads through `wireLayout()` instead of
//! writing them again. Effects whose data is large or seldom read (the
//! changes to store, the events to publish, a request to forward) are held
//! here by number, and the host takes them when it needs them.
//!
//! # A request
//! The head, UTF-8: the method, the target, then the headers' names and
//! values alternating, joined with `\n` (which none of them can hold on the
//! wire, nor in a fetch `Request`); then the body.
//!
//! # An answer (little-endian; a text is a u32 length, then UTF-8 bytes)
//! - its length in bytes, this field included (u32), then the number of
//!   effects (u32), then each: its tag (u8) and its fields:
//!   - `open`, `forget`: the namespace (text);
//!   - `persist`: the namespace (text), the held changes' number (u32);
//!   - `publish`: the held publication's number (u32);
//!   - `wake`: how many streams (u32), each stream's id (f64);
//!   - `forward`: the ticket (f64), the held forward's number (u32);
//!   - `wait`: milliseconds (u32);
//!   - `drop`: nothing;
//!   - `respond`: a [response](encode_response);
//!   - `stream`: the stream's id (f64), then a response.
//!
//! A host that stores nothing (`stores: false`) gets no `open`, `forget` or
//! `persist`.

use mock_rest_core::{Change, Effect, Forward, Method, Output, Publication, Request, Response};
use std::collections::VecDeque;

/// The effects' tags, by the names JavaScript reads them by.
pub const TAGS: &[(&str, u8)] = &[
    ("open", 1),
    ("forget", 2),
    ("persist", 3),
    ("publish", 4),
    ("wake", 5),
    ("forward", 6),
    ("wait", 7),
    ("drop", 8),
    ("respond", 9),
    ("stream", 10),
];

fn tag(name: &str) -> u8 {
    TAGS.iter()
        .find(|(known, _)| *known == name)
        .map_or(0, |(_, tag)| *tag)
}

/// What an answer refers to by number until the host takes it.
#[derive(Debug)]
pub enum Held {
    /// A namespace's changes to store.
    Changes(Vec<Change>),
    /// Events for the open streams.
    Publication(Publication),
    /// A request for `PROXY_TARGET`.
    Forward(Forward),
}

/// The held data, by number. A host that never takes some (it crashed
/// mid-request, say) leaves at most [`MAX_HELD`]: past it the oldest go.
#[derive(Debug, Default)]
pub struct Holding {
    next: u32,
    /// By number, in order (numbers only grow, but for a wrap after 2^32).
    items: VecDeque<(u32, Held)>,
}

/// The most held items kept.
pub const MAX_HELD: usize = 4096;

impl Holding {
    fn hold(&mut self, item: Held) -> u32 {
        self.next = self.next.wrapping_add(1);
        self.items.push_back((self.next, item));
        while self.items.len() > MAX_HELD {
            self.items.pop_front();
        }
        self.next
    }

    /// Takes a held item by its number.
    pub fn take(&mut self, number: u32) -> Option<Held> {
        let at = self.items.iter().position(|(held, _)| *held == number)?;
        self.items.remove(at).map(|(_, item)| item)
    }
}

/// Reads a request from the request buffer: the head in its first
/// `head_length` bytes, the body after it.
pub fn decode_request(bytes: &[u8], head_length: usize) -> Request {
    let (head, body) = bytes.split_at(head_length.min(bytes.len()));
    let head = String::from_utf8_lossy(head);
    let mut parts = head.split('\n');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let mut request = Request::new(Method::parse(method), target);
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        request.headers.push((name.to_owned(), value.to_owned()));
    }
    request.body = body.to_vec();
    request
}

/// Writes an output into `out` (cleared first), holding what the host takes later.
pub fn encode_output(output: Output, stores: bool, holding: &mut Holding, out: &mut Vec<u8>) {
    out.clear();
    // The length and the count, written last.
    out.extend_from_slice(&[0; 8]);
    let mut count = 0u32;
    for effect in output {
        match effect {
            Effect::Open { namespace, .. } if stores => {
                out.push(tag("open"));
                text(out, namespace.as_bytes());
            }
            Effect::Forget { namespace } if stores => {
                out.push(tag("forget"));
                text(out, namespace.as_bytes());
            }
            Effect::Persist { namespace, changes } if stores => {
                out.push(tag("persist"));
                text(out, namespace.as_bytes());
                let number = holding.hold(Held::Changes(changes));
                out.extend_from_slice(&number.to_le_bytes());
            }
            Effect::Open { .. } | Effect::Forget { .. } | Effect::Persist { .. } => continue,
            Effect::Publish(publication) => {
                out.push(tag("publish"));
                let number = holding.hold(Held::Publication(publication));
                out.extend_from_slice(&number.to_le_bytes());
            }
            Effect::Wake(streams) => {
                out.push(tag("wake"));
                out.extend_from_slice(&length(streams.len()));
                for stream in streams {
                    out.extend_from_slice(&(stream.0 as f64).to_le_bytes());
                }
            }
            Effect::Forward(ticket, forward) => {
                out.push(tag("forward"));
                out.extend_from_slice(&(ticket.0 as f64).to_le_bytes());
                let number = holding.hold(Held::Forward(forward));
                out.extend_from_slice(&number.to_le_bytes());
            }
            Effect::Wait(delay) => {
                out.push(tag("wait"));
                let millis = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
                out.extend_from_slice(&millis.to_le_bytes());
            }
            Effect::Drop(_) => out.push(tag("drop")),
            Effect::Respond(response) => {
                out.push(tag("respond"));
                encode_response(&response, out);
            }
            Effect::Stream(stream, response) => {
                out.push(tag("stream"));
                out.extend_from_slice(&(stream.0 as f64).to_le_bytes());
                encode_response(&response, out);
            }
        }
        count += 1;
    }
    let total = length(out.len());
    out[..4].copy_from_slice(&total);
    out[4..8].copy_from_slice(&count.to_le_bytes());
}

/// A response: the status (u16); the number of headers (u32), then each
/// header's name's and value's length in UTF-16 code units (u32 each, name
/// and value alternating), then the length in bytes of all of them (u32),
/// then all of them, UTF-8, one after another (one text to decode, cut by
/// those lengths); then the body's length (u32) and the body.
pub fn encode_response(response: &Response, out: &mut Vec<u8>) {
    out.extend_from_slice(&response.status.to_le_bytes());
    out.extend_from_slice(&length(response.headers.len()));
    let mut bytes = 0;
    for (name, value) in &response.headers {
        out.extend_from_slice(&length(utf16_length(name)));
        out.extend_from_slice(&length(utf16_length(value)));
        bytes += name.len() + value.len();
    }
    out.extend_from_slice(&length(bytes));
    for (name, value) in &response.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    text(out, &response.body);
}

/// A text's length in UTF-16 code units, as JavaScript counts it.
fn utf16_length(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.encode_utf16().count()
    }
}

/// A length: u32, little-endian (the engine's limits keep every length far below 4 GiB).
fn length(length: usize) -> [u8; 4] {
    u32::try_from(length).unwrap_or(u32::MAX).to_le_bytes()
}

fn text(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&length(bytes.len()));
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_rest_core::{Config, Endpoint, Seed, SeededIds, Ticket};
    use std::time::Duration;

    /// Reads an answer back as the JavaScript decoder does, into names and fields.
    fn decode(bytes: &[u8]) -> Vec<String> {
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let f64_at = |at: usize| f64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        assert_eq!(u32_at(0), bytes.len());
        let mut at = 8;
        let mut effects = Vec::new();
        let name = |tag: u8| TAGS.iter().find(|(_, t)| *t == tag).unwrap().0;
        let text = |at: &mut usize| {
            let n = u32_at(*at);
            *at += 4 + n;
            String::from_utf8(bytes[*at - n..*at].to_vec()).unwrap()
        };
        for _ in 0..u32_at(4) {
            let tag = bytes[at];
            at += 1;
            let effect = match name(tag) {
                "open" | "forget" => format!("{} {}", name(tag), text(&mut at)),
                "persist" => {
                    let ns = text(&mut at);
                    at += 4;
                    format!("persist {ns}")
                }
                "publish" => {
                    at += 4;
                    "publish".to_owned()
                }
                "wake" => {
                    let n = u32_at(at);
                    at += 4 + 8 * n;
                    format!("wake {n}")
                }
                "forward" => {
                    let ticket = f64_at(at);
                    at += 12;
                    format!("forward {ticket}")
                }
                "wait" => {
                    at += 4;
                    format!("wait {}", u32_at(at - 4))
                }
                "drop" => "drop".to_owned(),
                kind @ ("respond" | "stream") => {
                    if kind == "stream" {
                        at += 8;
                    }
                    let status = u16::from_le_bytes([bytes[at], bytes[at + 1]]);
                    at += 2;
                    let headers = u32_at(at);
                    at += 4 + 8 * headers;
                    let all = u32_at(at);
                    at += 4 + all;
                    let body = text(&mut at);
                    format!("{kind} {status} {headers} {body}")
                }
                other => panic!("unknown effect {other}"),
            };
            effects.push(effect);
        }
        assert_eq!(at, bytes.len(), "every byte read");
        effects
    }

    fn endpoint(settings: &[(&str, &str)]) -> Endpoint {
        let (config, _) = Config::default()
            .from_settings(settings.iter().copied())
            .unwrap();
        Endpoint::new(
            config,
            Seed::default(),
            Box::new(SeededIds::new(1)),
            Duration::ZERO,
        )
        .unwrap()
    }

    #[test]
    fn an_answer_reads_back_effect_by_effect() {
        let mut endpoint = endpoint(&[("DELAY_MS", "5")]);
        let mut holding = Holding::default();
        let mut out = Vec::new();
        let head = "POST\n/api/p\nX-Note\nné";
        let mut bytes = head.as_bytes().to_vec();
        bytes.extend_from_slice(b"{\"a\":1}");
        let request = decode_request(&bytes, head.len());
        assert_eq!(request.header("x-note"), Some("né"));
        assert_eq!(request.body, br#"{"a":1}"#);
        let output = endpoint.handle(&request, Duration::ZERO);
        encode_output(output, true, &mut holding, &mut out);
        let effects = decode(&out);
        assert_eq!(effects[0], "open default");
        assert_eq!(effects[1], "persist default");
        assert_eq!(effects[2], "publish");
        assert_eq!(effects[3], "wait 5");
        assert!(effects[4].starts_with("respond 200 "), "{effects:?}");
        assert!(
            matches!(holding.take(1), Some(Held::Changes(_))),
            "the changes are held"
        );

        // A host that stores nothing gets none of it.
        let output = endpoint.handle(&request, Duration::ZERO);
        encode_output(output, false, &mut holding, &mut out);
        let effects = decode(&out);
        assert_eq!(effects.len(), 3, "{effects:?}");
    }

    #[test]
    fn a_stream_and_a_forward_carry_their_numbers() {
        let mut endpoint = endpoint(&[("PROXY_TARGET", "http://127.0.0.1:9")]);
        let mut holding = Holding::default();
        let mut out = Vec::new();
        let forwarded = endpoint.handle(&Request::new(Method::Get, "/x"), Duration::ZERO);
        encode_output(forwarded, false, &mut holding, &mut out);
        assert_eq!(decode(&out), ["forward 1"]);
        let Some(Held::Forward(forward)) = holding.take(1) else {
            panic!("the forward is held")
        };
        assert_eq!(forward.url, "http://127.0.0.1:9/x");
        let answered = endpoint.handle_upstream(
            Ticket(1),
            mock_rest_core::Upstream::TimedOut,
            Duration::ZERO,
        );
        encode_output(answered, false, &mut holding, &mut out);
        assert!(decode(&out)[0].starts_with("respond 504"));
        let stream = endpoint.handle(
            &Request::new(Method::Get, "/__admin/events"),
            Duration::ZERO,
        );
        encode_output(stream, false, &mut holding, &mut out);
        assert!(decode(&out)[0].starts_with("stream 200"));
    }

    #[test]
    fn holding_is_bounded() {
        let mut holding = Holding::default();
        for _ in 0..MAX_HELD + 10 {
            holding.hold(Held::Changes(Vec::new()));
        }
        assert_eq!(holding.items.len(), MAX_HELD);
        assert!(holding.take(1).is_none(), "the oldest went first");
        assert!(holding.take((MAX_HELD + 10) as u32).is_some());
    }
}
