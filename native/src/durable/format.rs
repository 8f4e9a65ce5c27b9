//! The bytes of the durable files: file names, the journal header, and one
//! journal record per line.

use mock_rest_core::limits::nests_within;
use mock_rest_core::Change;
use serde_json::value::RawValue;
use std::path::{Path, PathBuf};

const HEADER_MAGIC: &str = "mock-rest-journal 1";

/// The levels a record wraps an item in: its array of changes and the
/// change's array. The item itself nests at most as deep as a body may.
const RECORD_WRAPPING: usize = 2;

/// The journal beside a snapshot file: `FILE.journal`.
pub fn journal_path(snapshot: &Path) -> PathBuf {
    with_suffix(snapshot, ".journal")
}

/// Where a file is written before it is renamed into place: `FILE.tmp`.
pub(super) fn temp_path(path: &Path) -> PathBuf {
    with_suffix(path, ".tmp")
}

/// Where `--repair` sets aside a journal's damaged bytes that began at `offset`.
pub(super) fn corrupt_path(journal: &Path, offset: usize) -> PathBuf {
    with_suffix(journal, &format!(".corrupt-{offset}"))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A snapshot as the durable file holds it, for people to read: each type on
/// lines of its own and each item on one line (`{"type": [items]}` as the
/// core renders it, with line breaks and indentation added outside the
/// items). Any JSON reader, the server's included, reads it as the compact
/// form; the journal header names these bytes.
pub fn pretty(snapshot: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(snapshot.len() + snapshot.len() / 8 + 16);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    // Whether each open level below the items (the object of types, then a
    // type's array) is laid out over lines.
    let mut broken: Vec<bool> = Vec::new();
    let newline = |out: &mut Vec<u8>, level: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', 2 * level));
    };
    for (at, &byte) in snapshot.iter().enumerate() {
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        let empty_next = matches!(snapshot.get(at + 1), Some(b'}' | b']'));
        match byte {
            b'"' => {
                in_string = true;
                out.push(byte);
            }
            b'{' | b'[' => {
                // The object of types, and each type's array, are broken over lines.
                let breaks = (depth == 0 && byte == b'{')
                    || (depth == 1 && byte == b'[' && broken.first() == Some(&true));
                out.push(byte);
                depth += 1;
                broken.push(breaks && !empty_next);
                if breaks && !empty_next {
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                if broken.pop() == Some(true) {
                    newline(&mut out, depth - 1);
                }
                depth = depth.saturating_sub(1);
                out.push(byte);
            }
            b',' => {
                out.push(byte);
                if broken.last() == Some(&true) {
                    newline(&mut out, depth);
                }
            }
            b':' if broken.last() == Some(&true) => out.extend_from_slice(b": "),
            _ => out.push(byte),
        }
    }
    out.push(b'\n');
    out
}

/// The journal header for a snapshot's bytes (`None`: no snapshot file).
pub fn header(snapshot: Option<&[u8]>) -> String {
    match snapshot {
        Some(bytes) => format!(
            "{HEADER_MAGIC} {} {:08x}\n",
            bytes.len(),
            crc32fast::hash(bytes)
        ),
        None => format!("{HEADER_MAGIC} none\n"),
    }
}

/// Encodes one outcome's changes as a journal line: one JSON array per change,
/// `["create", resource, id, item]` and so on, by the change's name.
pub fn encode(changes: &[Change]) -> Vec<u8> {
    let mut line = Vec::new();
    encode_into(changes, &mut line);
    line
}

/// Appends [`encode`]'s line to `out`, written in place: no text of its own
/// is allocated.
pub fn encode_into(changes: &[Change], out: &mut Vec<u8>) {
    let quote = |out: &mut Vec<u8>, text: &str| {
        // Writing to a vector cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    };
    let start = out.len();
    out.extend_from_slice(b"00000000 [");
    let json = out.len() - 1;
    for (n, change) in changes.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        let (name, resource, id, item): (&str, Option<&str>, Option<&str>, Option<&str>) =
            match change {
                Change::CreateType { resource } => ("create_type", Some(resource), None, None),
                Change::Create { resource, id, item } => {
                    ("create", Some(resource), Some(id), Some(item))
                }
                Change::Replace { resource, id, item } => {
                    ("replace", Some(resource), Some(id), Some(item))
                }
                Change::Delete { resource, id } => ("delete", Some(resource), Some(id), None),
                Change::DropType { resource } => ("drop_type", Some(resource), None, None),
                Change::ClearAll => ("clear_all", None, None, None),
                Change::PutSingle { resource, item } => {
                    ("put_single", Some(resource), None, Some(item))
                }
                Change::PutRule { id, rule } => ("put_rule", None, Some(id), Some(rule)),
                Change::DeleteRule { id } => ("delete_rule", None, Some(id), None),
                Change::ClearRules => ("clear_rules", None, None, None),
            };
        out.extend_from_slice(b"[\"");
        out.extend_from_slice(name.as_bytes());
        out.push(b'"');
        for text in [resource, id].into_iter().flatten() {
            out.push(b',');
            quote(out, text);
        }
        if let Some(item) = item {
            // Items and rules are compact JSON already.
            out.push(b',');
            out.extend_from_slice(item.as_bytes());
        }
        out.push(b']');
    }
    out.push(b']');
    let crc = crc32fast::hash(&out[json..]);
    let digits = b"0123456789abcdef";
    for (at, shift) in (0..8).zip((0..32).step_by(4).rev()) {
        out[start + at] = digits[((crc >> shift) & 0xf) as usize];
    }
    out.push(b'\n');
}

/// Decodes one journal line (without its newline), if it is whole and intact.
/// Journals of earlier versions said `put` (create or replace: `Engine::apply`
/// treats both alike) and `clear` (a dropped type); they are read too.
pub fn decode(line: &str) -> Option<Vec<Change>> {
    let (crc, json) = line.split_once(' ')?;
    if u32::from_str_radix(crc, 16).ok()? != crc32fast::hash(json.as_bytes()) {
        return None;
    }
    if !nests_within(json.as_bytes(), RECORD_WRAPPING) {
        return None;
    }
    let mut reader = serde_json::Deserializer::from_str(json);
    // The depth was bounded above, so the parser's own limit (128) can go.
    reader.disable_recursion_limit();
    let mut values = reader.into_iter::<Vec<Vec<&RawValue>>>();
    let entries = values.next()?.ok()?;
    if values.next().is_some() {
        return None;
    }
    let text = |raw: &RawValue| serde_json::from_str::<String>(raw.get()).ok();
    entries
        .into_iter()
        .map(|entry| {
            let (op, args) = entry.split_first()?;
            match (text(op)?.as_str(), args) {
                ("create_type", [resource]) => Some(Change::CreateType {
                    resource: text(resource)?,
                }),
                ("create", [resource, id, item]) => Some(Change::Create {
                    resource: text(resource)?,
                    id: text(id)?,
                    item: item.get().to_owned(),
                }),
                ("replace" | "put", [resource, id, item]) => Some(Change::Replace {
                    resource: text(resource)?,
                    id: text(id)?,
                    item: item.get().to_owned(),
                }),
                ("delete", [resource, id]) => Some(Change::Delete {
                    resource: text(resource)?,
                    id: text(id)?,
                }),
                ("drop_type" | "clear", [resource]) => Some(Change::DropType {
                    resource: text(resource)?,
                }),
                ("clear_all", []) => Some(Change::ClearAll),
                ("put_single", [resource, item]) => Some(Change::PutSingle {
                    resource: text(resource)?,
                    item: item.get().to_owned(),
                }),
                ("put_rule", [id, rule]) => Some(Change::PutRule {
                    id: text(id)?,
                    rule: rule.get().to_owned(),
                }),
                ("delete_rule", [id]) => Some(Change::DeleteRule { id: text(id)? }),
                ("clear_rules", []) => Some(Change::ClearRules),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_rest_core::limits::MAX_DEPTH;

    #[test]
    fn pretty_snapshots_put_each_item_on_a_line_and_read_back_the_same() {
        let compact =
            br#"{"p\"[":[{"a":[1,{"b":"],{"}],"_id":"x"},{"_id":"y"}],"q":[],"s":{"k":1}}"#;
        let text = String::from_utf8(pretty(compact)).unwrap();
        assert_eq!(
            text,
            "{\n  \"p\\\"[\": [\n    {\"a\":[1,{\"b\":\"],{\"}],\"_id\":\"x\"},\n    {\"_id\":\"y\"}\n  ],\n  \"q\": [],\n  \"s\": {\"k\":1}\n}\n"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        let orig: serde_json::Value = serde_json::from_slice(compact).unwrap();
        assert_eq!(back, orig);
        assert_eq!(pretty(b"{}"), b"{}\n");
    }

    #[test]
    fn records_round_trip_exactly() {
        let changes = vec![
            Change::ClearAll,
            Change::CreateType {
                resource: "p\"q".to_owned(),
            },
            Change::Create {
                resource: "p\"q".to_owned(),
                id: "a\nb".to_owned(),
                item: r#"{"n":1e400,"s":"\u00e9","_id":"a\nb"}"#.to_owned(),
            },
            Change::Replace {
                resource: "p\"q".to_owned(),
                id: "a\nb".to_owned(),
                item: r#"{"n":2,"_id":"a\nb"}"#.to_owned(),
            },
            Change::Delete {
                resource: "p".to_owned(),
                id: "x".to_owned(),
            },
            Change::DropType {
                resource: "t".to_owned(),
            },
            // An integer id: the item's text keeps it a number.
            Change::Create {
                resource: "posts".to_owned(),
                id: "12".to_owned(),
                item: r#"{"t":"x","id":12}"#.to_owned(),
            },
            Change::PutSingle {
                resource: "pro\"file".to_owned(),
                item: r#"{"name":"typicode","n":1.10}"#.to_owned(),
            },
            Change::PutRule {
                id: "r\"1".to_owned(),
                rule: r#"{"id":"r\"1","match":{"path":"/x"},"respond":{"status":503}}"#.to_owned(),
            },
            Change::DeleteRule {
                id: "r\"1".to_owned(),
            },
            Change::ClearRules,
        ];
        let line = encode(&changes);
        assert_eq!(
            line.iter().filter(|&&b| b == b'\n').count(),
            1,
            "one line per record"
        );
        let text = String::from_utf8(line).unwrap();
        assert_eq!(decode(text.trim_end_matches('\n')), Some(changes));
    }

    /// The encoder as it was before it wrote in place, to compare bytes with.
    fn encode_as_before(changes: &[Change]) -> Vec<u8> {
        let quote = |text: &str| serde_json::Value::String(text.to_owned()).to_string();
        let parts: Vec<String> = changes
            .iter()
            .map(|change| match change {
                Change::CreateType { resource } => format!("[\"create_type\",{}]", quote(resource)),
                Change::Create { resource, id, item } => {
                    format!("[\"create\",{},{},{item}]", quote(resource), quote(id))
                }
                Change::Replace { resource, id, item } => {
                    format!("[\"replace\",{},{},{item}]", quote(resource), quote(id))
                }
                Change::Delete { resource, id } => {
                    format!("[\"delete\",{},{}]", quote(resource), quote(id))
                }
                Change::DropType { resource } => format!("[\"drop_type\",{}]", quote(resource)),
                Change::ClearAll => "[\"clear_all\"]".to_owned(),
                Change::PutSingle { resource, item } => {
                    format!("[\"put_single\",{},{item}]", quote(resource))
                }
                Change::PutRule { id, rule } => format!("[\"put_rule\",{},{rule}]", quote(id)),
                Change::DeleteRule { id } => format!("[\"delete_rule\",{}]", quote(id)),
                Change::ClearRules => "[\"clear_rules\"]".to_owned(),
            })
            .collect();
        let json = format!("[{}]", parts.join(","));
        format!("{:08x} {json}\n", crc32fast::hash(json.as_bytes())).into_bytes()
    }

    #[test]
    fn records_are_written_byte_for_byte_as_before() {
        let text = |n: usize| ["t", "pro\"file", "é\u{1}\\/\t\u{2028}", "😀x"][n % 4].to_owned();
        let mut all = Vec::new();
        for n in 0..8 {
            all.extend([
                Change::CreateType { resource: text(n) },
                Change::Create {
                    resource: text(n),
                    id: text(n + 1),
                    item: format!(r#"{{"a":{n},"_id":"x"}}"#),
                },
                Change::Replace {
                    resource: text(n + 2),
                    id: text(n + 3),
                    item: r#"{"b":[1.10,null],"_id":"y"}"#.to_owned(),
                },
                Change::Delete {
                    resource: text(n),
                    id: text(n + 2),
                },
                Change::DropType {
                    resource: text(n + 1),
                },
                Change::ClearAll,
                Change::PutSingle {
                    resource: text(n + 3),
                    item: "{}".to_owned(),
                },
                Change::PutRule {
                    id: text(n),
                    rule: r#"{"id":"r"}"#.to_owned(),
                },
                Change::DeleteRule { id: text(n + 1) },
                Change::ClearRules,
            ]);
        }
        let mut appended = b"before".to_vec();
        for count in [0, 1, 2, 3, 10, all.len()] {
            for start in 0..all.len() - count {
                let changes = &all[start..start + count];
                assert_eq!(encode(changes), encode_as_before(changes));
                let at = appended.len();
                encode_into(changes, &mut appended);
                assert_eq!(appended[at..], encode_as_before(changes));
            }
        }
        assert!(appended.starts_with(b"before"));
    }

    #[test]
    fn a_record_holds_the_deepest_item_a_body_may_hold() {
        let item = |levels: usize| {
            format!(
                "{}{{}}{},\"_id\":\"x\"}}",
                "{\"a\":".repeat(levels - 1),
                "}".repeat(levels - 2)
            )
        };
        let put = |item: String| Change::Create {
            resource: "t".to_owned(),
            id: "x".to_owned(),
            item,
        };
        let deepest = vec![put(item(MAX_DEPTH))];
        let line = String::from_utf8(encode(&deepest)).unwrap();
        assert_eq!(decode(line.trim_end_matches('\n')), Some(deepest));
        let deeper = String::from_utf8(encode(&[put(item(MAX_DEPTH + 1))])).unwrap();
        assert_eq!(decode(deeper.trim_end_matches('\n')), None);
    }

    #[test]
    fn records_of_earlier_versions_are_read() {
        let json = r#"[["put","p","a",{"_id":"a"}],["clear","q"]]"#;
        let line = format!("{:08x} {json}", crc32fast::hash(json.as_bytes()));
        assert_eq!(
            decode(&line),
            Some(vec![
                Change::Replace {
                    resource: "p".to_owned(),
                    id: "a".to_owned(),
                    item: r#"{"_id":"a"}"#.to_owned(),
                },
                Change::DropType {
                    resource: "q".to_owned(),
                },
            ])
        );
    }

    #[test]
    fn damaged_records_are_refused() {
        let text = String::from_utf8(encode(&[Change::ClearAll])).unwrap();
        let line = text.trim_end_matches('\n');
        assert!(decode(&line[..line.len() - 1]).is_none(), "torn");
        assert!(
            decode(&line.replace("clear_all", "clear_alX")).is_none(),
            "corrupt"
        );
        assert!(decode("zzzz [[\"clear_all\"]]").is_none());
        assert!(decode("").is_none());
    }
}
