//! Runs the built `kitchenctl` binary against moto (Secrets Manager, DynamoDB,
//! CloudFormation) and the Zoom simulator, with a clean environment.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

pub use kitchen::testing::{moto_endpoint, sdk_config, unique};

/// What one run of the binary printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Neither output contains any of `secrets`.
    pub fn assert_no_secrets(&self, secrets: &[&str]) {
        for s in secrets {
            assert!(
                !self.stdout.contains(s) && !self.stderr.contains(s),
                "a secret value was printed: {self:?}"
            );
        }
    }
}

/// The environment every run gets: moto as AWS, nothing from the caller's shell.
pub fn aws_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Runs `kitchenctl args` with `env` only (stdin is not a terminal).
pub async fn ctl(env: &[(String, String)], args: &[&str]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kitchenctl"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run kitchenctl");
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn with(base: &[(String, String)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = base.to_vec();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

pub async fn secrets(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&sdk_config(endpoint).await)
}

pub async fn create_secret(endpoint: &str, name: &str, text: &str) {
    secrets(endpoint)
        .await
        .create_secret()
        .name(name)
        .secret_string(text)
        .send()
        .await
        .expect("create secret");
}

pub async fn secret_text(endpoint: &str, name: &str) -> String {
    secrets(endpoint)
        .await
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .expect("read secret")
        .secret_string()
        .expect("string secret")
        .to_owned()
}

/// An HTTP proxy in front of moto that, the first time it sees the Secrets
/// Manager action `trigger`, first writes `other_text` to the secret directly
/// (someone else's change landing at exactly that moment), then forwards.
pub struct Interloper {
    pub url: String,
    pub fired: Arc<AtomicBool>,
}

impl Interloper {
    pub async fn start(moto: &str, trigger: &str, secret_id: &str, other_text: &str) -> Self {
        use axum::body::Bytes;
        use axum::http::{HeaderMap, Method, StatusCode, Uri};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let fired = Arc::new(AtomicBool::new(false));
        let state = (
            moto.to_owned(),
            format!("secretsmanager.{trigger}"),
            secret_id.to_owned(),
            other_text.to_owned(),
            fired.clone(),
            reqwest::Client::new(),
        );
        let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (moto, trigger, secret_id, other, fired, http) = state.clone();
            async move {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if target == trigger && !fired.swap(true, Ordering::SeqCst) {
                    secrets(&moto)
                        .await
                        .put_secret_value()
                        .secret_id(&secret_id)
                        .secret_string(&other)
                        .send()
                        .await
                        .expect("interloping write");
                }
                let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let mut req = http.request(
                    reqwest::Method::from_bytes(method.as_str().as_bytes()).expect("method"),
                    format!("{moto}{path}"),
                );
                for (k, v) in &headers {
                    if k != "host" {
                        req = req.header(k.as_str(), v.as_bytes());
                    }
                }
                let resp = req
                    .body(body.to_vec())
                    .send()
                    .await
                    .expect("forward to moto");
                let status = StatusCode::from_u16(resp.status().as_u16()).expect("status");
                let mut out_headers = HeaderMap::new();
                for (k, v) in resp.headers() {
                    if let (Ok(name), Ok(value)) = (
                        axum::http::HeaderName::from_bytes(k.as_str().as_bytes()),
                        axum::http::HeaderValue::from_bytes(v.as_bytes()),
                    ) {
                        out_headers.insert(name, value);
                    }
                }
                out_headers.remove("content-length");
                out_headers.remove("transfer-encoding");
                let bytes = resp.bytes().await.expect("moto body");
                (status, out_headers, bytes.to_vec())
            }
        };
        let app = axum::Router::new().fallback(handler);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, fired }
    }
}

/// Runs `kitchenctl args` on a pseudo-terminal (util-linux `script`), typing `input`.
pub async fn ctl_on_terminal(env: &[(String, String)], args: &[&str], input: &str) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut line = String::from(env!("CARGO_BIN_EXE_kitchenctl"));
    for a in args {
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b)),
            "{a}"
        );
        line.push(' ');
        line.push_str(a);
    }
    let mut child = tokio::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the binary on a terminal");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).await.expect("type");
    drop(stdin);
    let out = child.wait_with_output().await.expect("script");
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
