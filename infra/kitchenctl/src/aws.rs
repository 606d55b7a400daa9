//! AWS SDK failures as short, secret-free descriptions.

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

use crate::outcome::CtlError;

/// The service's error code (when AWS answered) and a description: the code,
/// or the kind of transport failure. AWS error messages carry no secret values.
pub fn describe<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> (Option<&str>, String) {
    match err {
        SdkError::ServiceError(s) => {
            let code = s.err().code();
            let text = match (code, s.err().message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_owned(),
                _ => "service error".to_owned(),
            };
            (code, text)
        }
        SdkError::TimeoutError(_) => (None, "timed out".into()),
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
            (None, "could not connect".into())
        }
        SdkError::DispatchFailure(_) => (
            None,
            "could not send the request (no AWS credentials or region?)".into(),
        ),
        SdkError::ResponseError(_) => (None, "unreadable response".into()),
        _ => (
            None,
            "the request could not be built (no AWS region configured?)".into(),
        ),
    }
}

pub fn unreachable(service: &str, reason: &str) -> CtlError {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.is_empty());
    let at = endpoint.map(|e| format!(" at {e}")).unwrap_or_default();
    CtlError::new(
        "aws_unreachable",
        format!("{service}{at} could not be used: {reason}"),
    )
    .fix("check AWS_REGION, your AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID) and AWS_ENDPOINT_URL")
}
