//! What makes the store a mock: rules set at run time, the proxy and its
//! recording, the request journal, the change feed's events and replay, and
//! the delay and forced-status controls.

pub(crate) mod controls;
pub(crate) mod feed;
pub(crate) mod journal;
pub(crate) mod proxy;
pub(crate) mod rules;
