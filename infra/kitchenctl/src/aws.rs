//! AWS SDK failures for the operator (described by
//! `kitchen::credentials::describe_sdk_error`).

use crate::outcome::CtlError;

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
