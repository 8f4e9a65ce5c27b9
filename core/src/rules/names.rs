//! Header names a rule may add, as the `&'static str` a [`Response`]
//! carries.
//!
//! A response's header names are static strings, which every host writes
//! without copying. The names rules bring are made static once each, in a
//! process-wide table of at most [`MAX_NAMES`] names of at most
//! [`MAX_NAME_BYTES`] bytes, so the memory they take is bounded whatever
//! clients send.
//!
//! [`Response`]: crate::Response

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

/// The most distinct header names rules may use, in all namespaces together.
pub const MAX_NAMES: usize = 1024;

/// The longest header name a rule may use.
pub const MAX_NAME_BYTES: usize = 128;

/// Names that must not be set by a rule: the host frames the message.
const FRAMING: [&str; 6] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "trailer",
];

static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// The lower-case static form of a header name, or why it cannot be used.
pub fn intern(name: &str) -> Result<&'static str, String> {
    let is_token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !is_token {
        return Err(format!("`{name}` is not a header name"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!("header names are at most {MAX_NAME_BYTES} bytes"));
    }
    let lower = name.to_ascii_lowercase();
    if FRAMING.contains(&lower.as_str()) {
        return Err(format!("`{name}` is set by the server, not by rules"));
    }
    if lower.starts_with("access-control-") {
        return Err(format!(
            "`{name}` is set by the server on every answer (see CORS_ORIGINS), not by rules"
        ));
    }
    // The table is only ever added to whole, so a poisoned lock is still sound.
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(lower.as_str()) {
        return Ok(known);
    }
    if names.len() >= MAX_NAMES {
        return Err(format!(
            "rules may use at most {MAX_NAMES} distinct header names, and that many are in use"
        ));
    }
    let name: &'static str = Box::leak(lower.into_boxed_str());
    names.insert(name);
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_cased_once_and_checked() {
        let a = intern("Retry-After").unwrap();
        let b = intern("retry-after").unwrap();
        assert_eq!(a, "retry-after");
        assert!(std::ptr::eq(a, b), "one copy per name");
        assert!(intern("bad name")
            .unwrap_err()
            .contains("not a header name"));
        assert!(intern("Content-Length")
            .unwrap_err()
            .contains("set by the server"));
        assert!(intern(&"x".repeat(129)).is_err());
    }
}
