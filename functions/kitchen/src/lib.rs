//! What the Coffee Kitchen functions share: configuration, credentials, device
//! authentication, the Zoom client and its token cache, and HTTP error mapping.

pub mod announce;
pub mod app;
pub mod aws_http;
pub mod cache;
pub mod config;
pub mod credentials;
pub mod deadline;
pub mod device_auth;
pub mod devices;
pub mod dynamo;
pub mod headers;
pub mod http;
pub mod join_links;
pub mod keyring;
pub mod limits;
pub mod metrics;
pub mod notices;
pub mod occupancy;
pub mod participants;
pub mod people;
pub mod presence;
pub mod request;
pub mod rooms;
pub mod secret;
pub mod startup;
pub mod time;
pub mod tls;
pub mod token;
pub mod viewers;
pub mod webhook;
pub mod zoom;

pub use lambda_http;

/// The AWS SDK configuration, built once per container. Honours the standard
/// variables, `AWS_ENDPOINT_URL` included (moto in tests and the local run).
/// Timeouts stay well inside the Lambda timeout; one retry at most. Calls go
/// through [`aws_http`] (reqwest with the compiled-in roots).
pub async fn aws_config() -> aws_config::SdkConfig {
    use std::time::Duration;
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(4))
        .build();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2));
    match aws_http::client(CONNECT_TIMEOUT) {
        Ok(client) => loader = loader.http_client(client),
        Err(e) => tracing::warn!("{e}; the AWS SDK's default HTTP client is used"),
    }
    loader.load().await
}

#[cfg(feature = "testing")]
pub mod testing;
