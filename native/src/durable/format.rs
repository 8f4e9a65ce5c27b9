//! The bytes of the durable files: file names, the journal header, and one
//! journal record per line.

use mock_rest_core::{Change, MAX_DEPTH};
use serde_json::value::RawValue;
use std::path::{Path, PathBuf};

const HEADER_MAGIC: &str = "mock-rest-journal 1";

/// The deepest a record nests: its array of changes and each change's array
/// wrap an item, which nests at most as deep as a request body may.
const RECORD_MAX_DEPTH: usize = MAX_DEPTH + 2;

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

/// Encodes one outcome's changes as a journal line.
pub fn encode(changes: &[Change]) -> Vec<u8> {
    let quote = |text: &str| serde_json::Value::String(text.to_owned()).to_string();
    let parts: Vec<String> = changes
        .iter()
        .map(|change| match change {
            Change::Put { resource, id, item } => {
                format!("[\"put\",{},{},{item}]", quote(resource), quote(id))
            }
            Change::Delete { resource, id } => {
                format!("[\"delete\",{},{}]", quote(resource), quote(id))
            }
            Change::Clear { resource } => format!("[\"clear\",{}]", quote(resource)),
            Change::ClearAll => "[\"clear_all\"]".to_owned(),
        })
        .collect();
    let json = format!("[{}]", parts.join(","));
    format!("{:08x} {json}\n", crc32fast::hash(json.as_bytes())).into_bytes()
}

/// Whether JSON text nests at most `limit` levels of `[` and `{` (outside strings).
fn nests_within(text: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in text {
        match (in_string, escaped, byte) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'[' | b'{') => {
                depth += 1;
                if depth > limit {
                    return false;
                }
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// Decodes one journal line (without its newline), if it is whole and intact.
pub fn decode(line: &str) -> Option<Vec<Change>> {
    let (crc, json) = line.split_once(' ')?;
    if u32::from_str_radix(crc, 16).ok()? != crc32fast::hash(json.as_bytes()) {
        return None;
    }
    if !nests_within(json.as_bytes(), RECORD_MAX_DEPTH) {
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
        .map(|entry| match entry.as_slice() {
            [op, resource, id, item] if text(op)? == "put" => Some(Change::Put {
                resource: text(resource)?,
                id: text(id)?,
                item: item.get().to_owned(),
            }),
            [op, resource, id] if text(op)? == "delete" => Some(Change::Delete {
                resource: text(resource)?,
                id: text(id)?,
            }),
            [op, resource] if text(op)? == "clear" => Some(Change::Clear {
                resource: text(resource)?,
            }),
            [op] if text(op)? == "clear_all" => Some(Change::ClearAll),
            _ => None,
        })
        .collect()
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_exactly() {
        let changes = vec![
            Change::ClearAll,
            Change::Put {
                resource: "p\"q".to_owned(),
                id: "a\nb".to_owned(),
                item: r#"{"n":1e400,"s":"\u00e9","_id":"a\nb"}"#.to_owned(),
            },
            Change::Delete {
                resource: "p".to_owned(),
                id: "x".to_owned(),
            },
            Change::Clear {
                resource: "t".to_owned(),
            },
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

    #[test]
    fn a_record_holds_the_deepest_item_a_body_may_hold() {
        let item = |levels: usize| {
            format!(
                "{}{{}}{},\"_id\":\"x\"}}",
                "{\"a\":".repeat(levels - 1),
                "}".repeat(levels - 2)
            )
        };
        let put = |item: String| Change::Put {
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
