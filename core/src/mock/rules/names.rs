//! Header names in rules: those a request must carry (`match.headers`) and
//! those an answer sets (`respond.headers`, and a proxy target's answer).
//!
//! A rule owns the names it uses, so they go with it: deleting it, using up
//! its `times`, a reset or a newer recording frees them, and no rule's names
//! take room from another's. A rule names at most [`MAX_RULE_HEADERS`]
//! headers, each at most [`MAX_NAME_BYTES`] bytes, so its names cost no more
//! than the rule's own size allows.

/// The longest header name a rule may use, in `match.headers` or
/// `respond.headers`.
pub(super) const MAX_NAME_BYTES: usize = 128;

/// The most headers one rule names, in `match.headers` and
/// `respond.headers` together: as many as an answer from a proxy target
/// brings at most (hyper's client reads 100), so every recording fits.
pub(super) const MAX_RULE_HEADERS: usize = 100;

/// Names that an answer must not set: the host frames the message.
const FRAMING: [&str; 6] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "trailer",
];

/// The lower-case form of a header name a request may carry, or why it is
/// not one: an HTTP token of at most [`MAX_NAME_BYTES`] bytes.
pub(super) fn request_name(name: &str) -> Result<String, String> {
    let is_token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "is a name of {} bytes; header names are at most {MAX_NAME_BYTES} bytes",
            name.len()
        ));
    }
    if !is_token {
        return Err(format!("`{name}` is not a header name"));
    }
    Ok(name.to_ascii_lowercase())
}

/// The lower-case form of a header name an answer may set, or why it cannot:
/// as [`request_name`], and neither a framing header nor a CORS one (the
/// mock sets those itself).
pub(crate) fn answer_name(name: &str) -> Result<String, String> {
    let lower = request_name(name)?;
    if FRAMING.contains(&lower.as_str()) {
        return Err(format!("`{name}` is set by the server, not by rules"));
    }
    if lower.starts_with("access-control-") {
        return Err(format!(
            "`{name}` is set by the server on every answer (see CORS_ORIGINS), not by rules"
        ));
    }
    Ok(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_cased_and_checked() {
        assert_eq!(answer_name("Retry-After").unwrap(), "retry-after");
        assert_eq!(request_name("X-Tenant").unwrap(), "x-tenant");
        assert!(answer_name("bad name")
            .unwrap_err()
            .contains("not a header name"));
        assert!(request_name("").unwrap_err().contains("not a header name"));
        assert!(answer_name("Content-Length")
            .unwrap_err()
            .contains("set by the server"));
        assert_eq!(request_name("Content-Length").unwrap(), "content-length");
        assert!(answer_name("Access-Control-Allow-Origin").is_err());
        assert!(request_name(&"x".repeat(MAX_NAME_BYTES)).is_ok());
        assert_eq!(
            request_name(&"x".repeat(100_000)).unwrap_err(),
            "is a name of 100000 bytes; header names are at most 128 bytes"
        );
    }
}
