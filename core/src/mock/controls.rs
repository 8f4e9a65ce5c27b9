//! The mock controls a request can carry: a delay and a forced status.

use crate::error::ApiError;
use crate::http::incoming::Incoming;
use crate::json::number::whole_number;
use std::time::Duration;

/// The longest delay a request can ask for.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(30);

/// What a request asks of the mock itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Controls {
    /// How long to wait before answering, if the request says.
    pub delay: Option<Duration>,
    /// The status to answer instead of doing anything, if the request says.
    pub status: Option<u16>,
}

impl Controls {
    /// Reads `X-Mock-Delay` / `_delay` and `X-Mock-Status` / `_status`; a header
    /// wins over the query parameter.
    pub(crate) fn read(request: &Incoming<'_>) -> Result<Self, ApiError> {
        // A cheap look first: most requests carry no control at all, and
        // their query need not be decoded for it.
        let asked_in_query = request.query.contains("delay") || request.query.contains("status");
        if !asked_in_query
            && request.header("x-mock-delay").is_none()
            && request.header("x-mock-status").is_none()
        {
            return Ok(Self::default());
        }
        let find = |header: &str, param: &str| -> Option<(String, String)> {
            match request.header(header) {
                Some(value) => Some((header.to_owned(), value.to_owned())),
                None => request
                    .query_pairs()
                    .iter()
                    .rev()
                    .find(|(k, _)| k == param)
                    .map(|(k, v)| (k.clone(), v.clone())),
            }
        };
        let delay = match find("X-Mock-Delay", "_delay") {
            None => None,
            Some((name, value)) => match whole_number(&value) {
                Some(ms) => Some(Duration::from_millis(ms).min(MAX_DELAY)),
                None => {
                    return Err(ApiError::BadControl {
                        reason: format!(
                            "`{name}` takes a whole number of milliseconds (at most {}); got `{value}`.",
                            MAX_DELAY.as_millis()
                        ),
                    })
                }
            },
        };
        let status = match find("X-Mock-Status", "_status") {
            None => None,
            Some((name, value)) => match whole_number(&value).map(u16::try_from) {
                Some(Ok(code)) if (200..=599).contains(&code) => Some(code),
                _ => {
                    return Err(ApiError::BadControl {
                        reason: format!(
                            "`{name}` takes a status code from 200 to 599; got `{value}`."
                        ),
                    })
                }
            },
        };
        Ok(Self { delay, status })
    }
}

/// The reason phrase of a status code, for forced-status messages and the
/// proxy's word on a target's interim answer.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        418 => "I'm a teapot",
        422 => "Unprocessable Content",
        423 => "Locked",
        425 => "Too Early",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        507 => "Insufficient Storage",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::{Method, Request};

    fn read(target: &str, headers: &[(&str, &str)]) -> Result<Controls, ApiError> {
        let mut request = Request::new(Method::Get, target);
        for (name, value) in headers {
            request = request.with_header(name, value);
        }
        Controls::read(&Incoming::new(&request))
    }

    #[test]
    fn header_wins_over_query_and_delay_is_capped() {
        let controls = read("/x?_delay=5&_status=503", &[("x-mock-delay", "7")]).unwrap();
        assert_eq!(controls.delay, Some(Duration::from_millis(7)));
        assert_eq!(controls.status, Some(503));
        assert_eq!(
            read("/x?_delay=99999999", &[]).unwrap().delay,
            Some(MAX_DELAY)
        );
        assert_eq!(read("/x", &[]).unwrap(), Controls::default());
    }

    #[test]
    fn bad_values_are_400() {
        for (target, headers) in [
            ("/x?_delay=-1", vec![]),
            ("/x?_delay=soon", vec![]),
            ("/x?_status=99", vec![]),
            ("/x?_status=600", vec![]),
            ("/x", vec![("X-Mock-Status", "abc")]),
            ("/x", vec![("X-Mock-Delay", "+100")]),
            ("/x", vec![("X-Mock-Status", "+503")]),
            ("/x?_delay=%2B5", vec![]),
            ("/x?_status=%20503", vec![]),
            ("/x?_status=503.0", vec![]),
        ] {
            assert_eq!(
                read(target, &headers).map_err(|e| e.status()),
                Err(400),
                "{target}"
            );
        }
    }
}
