//! HTTP as the engine sees it: the plain request and response, the request
//! with its query decoded once, the route table (paths, methods, `Allow`),
//! reading a body by its limit, framing and transfer codings, CORS, and the
//! bearer token.

pub(crate) mod access;
pub(crate) mod collect;
pub(crate) mod cors;
pub(crate) mod incoming;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod route;
