//! The AWS SDK's HTTP client: reqwest, with the Zoom client's TLS roots.
//!
//! The SDK's own default client (hyper + rustls) reads and parses the OS
//! certificate store, and builds a connector (parsing the roots again) for
//! every service client at init, only to drop it and build another on the
//! first request. Handing it PEM instead of the OS store still costs a
//! base64 round trip of 180 KB at init (0.7 ms of a 3.5 ms init, measured).
//! This client is one reqwest client built at init with the compiled-in trust
//! anchors of [`crate::tls`] (no parsing at all; the OS store when
//! `SSL_CERT_FILE` or `SSL_CERT_DIR` is set), shared by every service client of
//! the container, with its connection pool.
//!
//! What the SDK needs of a connector, and no more: send the signed request as
//! the SDK built it (its bodies here are small JSON documents, in memory),
//! stream back the status, headers and body, and classify a failure as a
//! timeout, an I/O error or other, which the SDK's retry policy reads.
//! Timeouts per attempt and per operation stay the SDK's.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// The SDK's HTTP client for the whole container; `connect_timeout` is the
/// SDK configuration's.
pub fn client(connect_timeout: Duration) -> Result<SharedHttpClient, String> {
    let builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        // AWS APIs do not redirect; the SDK retries by itself.
        .redirect(reqwest::redirect::Policy::none());
    let client = crate::tls::with_roots(builder)?
        .build()
        .map_err(|e| format!("the AWS HTTP client: {e}"))?;
    Ok(SharedHttpClient::new(Client(SharedHttpConnector::new(
        Connector { client },
    ))))
}

/// Hands every service client the one connector.
#[derive(Debug)]
struct Client(SharedHttpConnector);

impl HttpClient for Client {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.clone()
    }
}

#[derive(Debug)]
struct Connector {
    client: reqwest::Client,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move { send(&client, request).await })
    }
}

async fn send(
    client: &reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, ConnectorError> {
    let method = reqwest::Method::from_bytes(request.method().as_bytes())
        .map_err(|e| ConnectorError::user(e.into()))?;
    let body = request
        .body()
        .bytes()
        .ok_or_else(|| ConnectorError::user("a streaming request body (not used here)".into()))?
        .to_vec();
    let mut outgoing = client.request(method, request.uri());
    for (name, value) in request.headers() {
        // reqwest sets the length of the body it sends.
        if !name.eq_ignore_ascii_case("content-length") {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.body(body).send().await.map_err(classify)?;
    let (parts, body) = http::Response::<reqwest::Body>::from(answer).into_parts();
    let status = StatusCode::try_from(parts.status.as_u16())
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    // Streamed to the SDK as its own client does: never buffered here, and
    // opaque in the SDK's trace logs (a secret's value is in the body).
    let mut response = HttpResponse::new(status, SdkBody::from_body_1_x(body));
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            response
                .headers_mut()
                .append(name.as_str().to_owned(), value.to_owned());
        }
    }
    Ok(response)
}

/// A reqwest failure as the SDK's retry policy reads it.
fn classify(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{moto_endpoint, sdk_config, unique};

    /// Through moto: a request with a body, the answer's status, headers and
    /// body, and a service error read back as the SDK's own error code.
    #[tokio::test]
    async fn requests_answers_and_service_errors_pass_through() {
        let sdk = sdk_config(&moto_endpoint()).await;
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let name = unique("aws-http");
        let value = "ünïcode and a long value ".repeat(200);
        secrets
            .create_secret()
            .name(&name)
            .secret_string(&value)
            .send()
            .await
            .expect("created");
        let read = secrets
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .expect("read");
        assert_eq!(read.secret_string(), Some(value.as_str()));

        let missing = secrets
            .get_secret_value()
            .secret_id(unique("no-such-secret"))
            .send()
            .await
            .expect_err("no such secret");
        let (code, _) = crate::credentials::describe_sdk_error(&missing);
        assert_eq!(code, Some("ResourceNotFoundException"));
    }

    /// Nobody listening: a dispatch failure the SDK classifies as I/O (and so
    /// retries), not a panic or a service error.
    #[tokio::test]
    async fn a_refused_connection_is_an_io_dispatch_failure() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let sdk = sdk_config(&format!("http://127.0.0.1:{port}")).await;
        let err = aws_sdk_dynamodb::Client::new(&sdk)
            .list_tables()
            .send()
            .await
            .expect_err("nothing listens");
        match err {
            aws_sdk_dynamodb::error::SdkError::DispatchFailure(failure) => {
                assert!(failure.is_io(), "{failure:?}");
            }
            other => panic!("not a dispatch failure: {other:?}"),
        }
    }
}
