//! Why a document cannot be used, and where.

use std::fmt;

/// A document that cannot be used: where (a JSON pointer) and why.
///
/// The pointer is written as a URI fragment (`#/paths/~1pets/get`), the form
/// a `$ref` uses, so a user can paste it into their editor's search; `#` alone
/// is the whole document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The JSON pointer of the place, without the leading `#` (empty for the
    /// whole document).
    pub pointer: String,
    /// What is wrong there.
    pub reason: String,
}

impl SpecError {
    pub(crate) fn at(pointer: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn whole(reason: impl Into<String>) -> Self {
        Self::at("", reason)
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}: {}", self.pointer, self.reason)
    }
}

impl std::error::Error for SpecError {}
