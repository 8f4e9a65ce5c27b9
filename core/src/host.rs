//! The answers a host gives itself (a body that took too long or did not
//! arrive whole, a change that could not be stored, settings or storage that
//! do not work), built here so that they look like the engine's own: the same
//! JSON `{"message"}`, and the CORS headers of the real request.

use crate::{http::cors, ApiError, Config, Engine, Request, Response};

impl Engine {
    /// The answer to `request` when the host refuses or fails it itself: the
    /// error's status, headers and JSON `{"message"}`, plus what every answer
    /// carries (CORS headers for the request's `Origin`, no body for `HEAD`).
    ///
    /// ```
    /// use mock_rest_core::{ApiError, Config, Engine, Method, Request, SeededIds};
    /// use std::time::Duration;
    ///
    /// let config = Config { cors_origins: vec!["https://app.example".into()], ..Config::default() };
    /// let engine = Engine::new(config, Box::new(SeededIds::new(1)), Duration::ZERO);
    /// let request = Request::new(Method::Post, "/api/p").with_header("Origin", "https://app.example");
    /// let response = engine.error_response(&ApiError::RequestTimeout, &request);
    /// assert_eq!(response.status, 408);
    /// assert_eq!(response.header("access-control-allow-origin"), Some("https://app.example"));
    /// ```
    pub fn error_response(&self, error: &ApiError, request: &Request) -> Response {
        error_response(self.config(), error, request)
    }
}

/// The error's answer with what every answer carries under `config`: CORS
/// headers for the request's `Origin`, and no body (but its length) for `HEAD`.
pub(crate) fn error_response(config: &Config, error: &ApiError, request: &Request) -> Response {
    let mut response = error.to_response();
    cors::finish(config, &mut response, request);
    response
}

/// The answer to `request` when a host has no engine to ask (its settings do
/// not work, its store cannot be opened, the engine could not be reached): as
/// [`Engine::error_response`] with the default settings, so readable from any
/// origin, since the `CORS_ORIGINS` allow-list is not known.
pub fn error_response_without_engine(error: &ApiError, request: &Request) -> Response {
    error_response(&Config::default(), error, request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Framing, Method, SeededIds};
    use std::time::Duration;

    fn engine(origins: &[&str]) -> Engine {
        let config = Config {
            cors_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            ..Config::default()
        };
        Engine::new(config, Box::new(SeededIds::new(1)), Duration::ZERO)
    }

    #[test]
    fn a_host_error_carries_the_cors_headers_of_the_request() {
        let request =
            Request::new(Method::Post, "/api/p").with_header("Origin", "http://localhost:3000");
        let response =
            engine(&["http://localhost:3000"]).error_response(&ApiError::RequestTimeout, &request);
        assert_eq!(response.status, 408);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(
            response.header("access-control-allow-origin"),
            Some("http://localhost:3000")
        );
        assert_eq!(
            response.body,
            br#"{"message":"The request took too long to arrive."}"#
        );
        let stranger = Request::new(Method::Post, "/api/p").with_header("Origin", "http://evil");
        let refused =
            engine(&["http://localhost:3000"]).error_response(&ApiError::RequestTimeout, &stranger);
        assert_eq!(refused.header("access-control-allow-origin"), None);
    }

    #[test]
    fn a_head_request_gets_the_error_without_a_body() {
        let request = Request::new(Method::Head, "/api/p");
        let error = ApiError::IncompleteBody {
            framing: Framing::Chunked,
        };
        let response = engine(&[]).error_response(&error, &request);
        assert_eq!(response.status, 400);
        assert!(response.body.is_empty());
        assert_eq!(
            response.header("content-length").map(str::parse::<usize>),
            Some(Ok(error.to_response().body.len()))
        );
    }

    #[test]
    fn without_an_engine_any_origin_may_read_the_error() {
        let request = Request::new(Method::Get, "/api/p").with_header("Origin", "http://a.example");
        let error = ApiError::HostFailed {
            reason: "The Worker's settings are not valid: MAX_ITEMS: not a whole number.".into(),
        };
        let response = error_response_without_engine(&error, &request);
        assert_eq!(response.status, 500);
        assert_eq!(response.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            response.body,
            br#"{"message":"The Worker's settings are not valid: MAX_ITEMS: not a whole number."}"#
        );
        let unreachable = ApiError::Unavailable {
            reason: "gone".into(),
        };
        assert_eq!(
            error_response_without_engine(&unreachable, &request).status,
            503
        );
    }
}
