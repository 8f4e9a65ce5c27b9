//! JSON kept as text: bodies parsed with their line, column and depth
//! checked, numbers compared by their exact value, and members and elements
//! read from an item's compact text without parsing it whole.

pub(crate) mod body;
pub(crate) mod number;
pub(crate) mod text;
