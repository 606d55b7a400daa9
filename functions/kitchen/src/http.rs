//! Every expected failure becomes a JSON response `{"error", "message"}` with a
//! fitting status; handlers return `Ok` for all of them.

use std::time::Duration;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::credentials::CredentialError;
use crate::device_auth::AuthFailure;
use crate::zoom::{ZoomError, codes};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
    pub allow: Option<&'static str>,
}

/// When Zoom gives no `Retry-After`, tell the device to wait this long.
const DEFAULT_RETRY_AFTER_S: u64 = 5;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            allow: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("use {allow}"),
            )
        }
    }

    /// What a caller without a valid key is told: how to send one, never
    /// whether keys are configured (`NoKeysConfigured` reads as `Unknown`).
    pub fn unauthorized(f: &AuthFailure) -> Self {
        let shown = match f {
            AuthFailure::NoKeysConfigured => &AuthFailure::Unknown,
            other => other,
        };
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_device_key",
            shown.message(),
        )
    }

    /// Generic mapping of a Zoom failure; callers handle their endpoint's own
    /// codes (an unknown chat recipient, say) before falling back to this.
    pub fn from_zoom(e: &ZoomError) -> Self {
        let bad_gateway = |code, msg: String| Self::new(StatusCode::BAD_GATEWAY, code, msg);
        match e {
            ZoomError::RateLimited { retry_after } => Self {
                retry_after: Some(retry_after.map_or(DEFAULT_RETRY_AFTER_S, ceil_secs)),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "zoom_rate_limited",
                    "Zoom is rate-limiting this account; retry later",
                )
            },
            ZoomError::Timeout => bad_gateway(
                "zoom_timeout",
                "Zoom did not answer in time; try again".into(),
            ),
            ZoomError::Unreachable => bad_gateway(
                "zoom_unreachable",
                "Zoom could not be reached; try again".into(),
            ),
            ZoomError::InvalidResponse(why) => bad_gateway(
                "zoom_bad_response",
                format!("Zoom sent an unexpected response ({why})"),
            ),
            ZoomError::CredentialsRejected(why) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "zoom_credentials_rejected",
                format!(
                    "Zoom refused the app's credentials ({why}); check account_id, client_id and client_secret in the secret"
                ),
            ),
            ZoomError::Api {
                code: Some(codes::MISSING_SCOPE),
                ..
            }
            | ZoomError::Api { status: 403, .. } => bad_gateway(
                "zoom_missing_scope",
                "the Zoom app lacks a scope this call needs; see the README's list of scopes"
                    .into(),
            ),
            ZoomError::Api { status: 401, .. } => bad_gateway(
                "zoom_unauthorized",
                "Zoom rejected a freshly issued token; check the app's activation".into(),
            ),
            ZoomError::Api {
                status,
                code,
                message,
            } => bad_gateway(
                "zoom_error",
                format!(
                    "Zoom failed (HTTP {status}, code {}): {message}",
                    code.map_or("none".into(), |c| c.to_string())
                ),
            ),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let mut resp = json_response(
            self.status,
            &ErrorBody {
                error: self.code,
                message: &self.message,
            },
        );
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(allow) = self.allow {
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        resp
    }
}

impl From<&CredentialError> for ApiError {
    fn from(e: &CredentialError) -> Self {
        match e {
            CredentialError::Unavailable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "credentials_unavailable",
                "the Zoom credentials could not be read from Secrets Manager; try again shortly",
            ),
            // The detail names fields and devices: it goes to the operator's
            // log (where the read failed), not to whoever called.
            CredentialError::Malformed(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "credentials_malformed",
                "the function's credentials secret is malformed; the operator finds the problem in the function's log",
            ),
        }
    }
}

/// A handler's outcome as the Lambda runtime wants it: every expected failure is
/// an HTTP response; `Err` is left for bugs.
pub fn respond(
    outcome: Result<Response<Body>, ApiError>,
) -> Result<Response<Body>, lambda_http::Error> {
    Ok(outcome.unwrap_or_else(ApiError::into_response))
}

fn ceil_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    // Serializing our own plain structs cannot fail; fall back to an empty object.
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    response(status, "application/json", text)
}

pub fn text_response(status: StatusCode, text: String) -> Response<Body> {
    response(status, "text/plain; charset=utf-8", text)
}

fn response(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_carries_retry_after() {
        let r = ApiError::from_zoom(&ZoomError::RateLimited {
            retry_after: Some(Duration::from_millis(1500)),
        })
        .into_response();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        let r = ApiError::from_zoom(&ZoomError::RateLimited { retry_after: None }).into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
    }

    /// A stranger learns neither device names from a broken secret nor whether
    /// any device keys exist.
    #[test]
    fn refusals_reveal_no_configuration() {
        let e = ApiError::from(&CredentialError::Malformed(
            "field \"device_keys\" has a key for device \"front-desk\" shorter than 16 characters"
                .into(),
        ));
        assert_eq!((e.status.as_u16(), e.code), (503, "credentials_malformed"));
        assert!(!e.message.contains("front-desk") && !e.message.contains("device_keys"));
        assert_eq!(
            ApiError::unauthorized(&AuthFailure::NoKeysConfigured),
            ApiError::unauthorized(&AuthFailure::Unknown)
        );
    }

    #[test]
    fn upstream_failures_map_to_gateway_statuses() {
        assert_eq!(ApiError::from_zoom(&ZoomError::Timeout).status, 502);
        assert_eq!(
            ApiError::from_zoom(&ZoomError::Api {
                status: 503,
                code: None,
                message: String::new()
            })
            .status,
            502
        );
        assert_eq!(
            ApiError::from_zoom(&ZoomError::CredentialsRejected("invalid_client".into())).status,
            503
        );
        let scope = ApiError::from_zoom(&ZoomError::Api {
            status: 400,
            code: Some(4711),
            message: "x".into(),
        });
        assert_eq!(scope.code, "zoom_missing_scope");
    }
}
