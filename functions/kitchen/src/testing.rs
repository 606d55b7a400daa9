//! Test helpers shared by the function crates (feature `testing`): real peers
//! only — the Zoom simulator over HTTP and moto over HTTP.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_http::Request;
use serde_json::{Value, json};
use zoom_sim::SimHandle;

use crate::app::Kitchen;
use crate::config::{CommonConfig, ZoomEndpoints};
use crate::credentials::{CredentialSource, Credentials};
use crate::device_auth::DeviceKeys;
use crate::secret::Secret;
use crate::zoom::Timeouts;

pub const DEVICE: &str = "demo-desk";
pub const DEVICE_KEY: &str = "demo-device-key-0001";
pub const WEBHOOK_TOKEN: &str = "demo-webhook-secret-token";

pub fn credentials() -> Credentials {
    Credentials {
        account_id: zoom_sim::DEMO_ACCOUNT_ID.into(),
        client_id: zoom_sim::DEMO_CLIENT_ID.into(),
        client_secret: Secret::new(zoom_sim::DEMO_CLIENT_SECRET),
        device_keys: DeviceKeys::from_pairs([(DEVICE, DEVICE_KEY)]),
        webhook_secret_token: Some(Secret::new(WEBHOOK_TOKEN)),
    }
}

/// The secret's JSON as stored in Secrets Manager, matching [`credentials`].
pub fn secret_json() -> String {
    json!({
        "account_id": zoom_sim::DEMO_ACCOUNT_ID,
        "client_id": zoom_sim::DEMO_CLIENT_ID,
        "client_secret": zoom_sim::DEMO_CLIENT_SECRET,
        "device_keys": { DEVICE: DEVICE_KEY },
        "webhook_secret_token": WEBHOOK_TOKEN,
    })
    .to_string()
}

pub fn endpoints(sim: &SimHandle) -> ZoomEndpoints {
    ZoomEndpoints {
        api_url: sim.api_url(),
        oauth_url: sim.oauth_url(),
    }
}

pub fn common_config(sim: &SimHandle, source: CredentialSource) -> CommonConfig {
    CommonConfig {
        meeting_id: zoom_sim::DEMO_MEETING_ID.into(),
        zoom: endpoints(sim),
        credentials: source,
        device_auth: true,
    }
}

/// Short timeouts so slow-upstream tests finish quickly.
pub fn fast_timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(500),
        request: Duration::from_millis(500),
    }
}

/// A Kitchen on the simulator with inline credentials and device auth on.
pub fn kitchen(sim: &SimHandle) -> Kitchen {
    let config = common_config(sim, CredentialSource::Inline(Arc::new(credentials())));
    Kitchen::new(config, None, fast_timeouts(), Duration::from_secs(2)).expect("kitchen")
}

/// moto's URL, started by `make test` (infra/test.sh). Missing means the test
/// fails: it must never silently skip.
pub fn moto_endpoint() -> String {
    std::env::var("KITCHEN_TEST_MOTO").expect(
        "KITCHEN_TEST_MOTO is not set: run the tests with `make test`, which starts moto_server",
    )
}

pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    use aws_config::{BehaviorVersion, Region};
    let creds =
        aws_sdk_secretsmanager::config::Credentials::new("testing", "testing", None, None, "tests");
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_timeout(Duration::from_secs(2))
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

/// A unique name per test run, so tests sharing one moto never collide.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// An API Gateway HTTP API (payload 2.0) event, as Lambda delivers it.
pub struct Event {
    method: String,
    path: String,
    headers: serde_json::Map<String, Value>,
    cookies: Vec<String>,
    body: Option<String>,
    base64: bool,
}

pub fn event(method: &str, path: &str) -> Event {
    Event {
        method: method.into(),
        path: path.into(),
        headers: Default::default(),
        cookies: vec![],
        body: None,
        base64: false,
    }
}

impl Event {
    /// Repeated headers arrive comma-joined in payload 2.0, as API Gateway does.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = name.to_ascii_lowercase();
        let joined = match self.headers.get(&name).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{value}"),
            None => value.to_owned(),
        };
        self.headers.insert(name, Value::String(joined));
        self
    }

    pub fn device_key(self, key: &str) -> Self {
        self.header("authorization", &format!("Bearer {key}"))
    }

    pub fn text(mut self, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self.base64 = false;
        self
    }

    /// The body base64-encoded with `isBase64Encoded: true`, as HTTP APIs deliver form posts.
    pub fn base64(mut self, body: &[u8]) -> Self {
        use base64::Engine;
        self.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
        self.base64 = true;
        self
    }

    pub fn to_json(&self) -> Value {
        json!({
            "version": "2.0",
            "routeKey": format!("ANY {}", self.path),
            "rawPath": self.path,
            "rawQueryString": "",
            "cookies": self.cookies,
            "headers": self.headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "kitchenapi",
                "domainName": "kitchenapi.execute-api.eu-central-1.amazonaws.com",
                "domainPrefix": "kitchenapi",
                "http": { "method": self.method, "path": self.path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.10", "userAgent": "esp32" },
                "requestId": "req-1",
                "routeKey": format!("ANY {}", self.path),
                "stage": "$default",
                "time": "22/Nov/2026:20:05:32 +0000",
                "timeEpoch": 1_795_464_332_000_u64
            },
            "body": self.body,
            "isBase64Encoded": self.base64,
        })
    }

    pub fn request(&self) -> Request {
        lambda_http::request::from_str(&self.to_json().to_string())
            .expect("a valid API Gateway v2 event")
    }
}

/// Parses a fixture file from infra/events (paths relative to the workspace root).
pub fn fixture(name: &str) -> Request {
    let path = format!("{}/../../infra/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Everything logged on the current thread while the guard lives.
///
/// One global subscriber (installed once, every level enabled) writes to the
/// capture registered by the current thread. Per-thread `set_default`
/// subscribers are not used: tracing caches callsite interest globally, so with
/// tests on parallel threads they can miss events.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CURRENT: std::cell::RefCell<Option<LogCapture>> = const { std::cell::RefCell::new(None) };
}

pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().take());
    }
}

/// Writes to the current thread's capture, or nowhere.
struct ThreadWriter;

impl Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CURRENT.with(|c| {
            if let Some(cap) = c.borrow_mut().as_mut() {
                cap.0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Use with a current-thread runtime (`#[tokio::test]`'s default).
    pub fn start() -> (Self, CaptureGuard) {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(|| ThreadWriter)
                .finish();
            let _ = tracing::subscriber::set_global_default(subscriber);
        });
        let capture = Self::default();
        CURRENT.with(|c| *c.borrow_mut() = Some(capture.clone()));
        (capture, CaptureGuard(()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Fails the test if any secret value appears in the captured logs.
    pub fn assert_no_secrets(&self, extra: &[&str]) {
        let text = self.text();
        assert!(
            !text.is_empty(),
            "nothing was logged; the capture is not wired"
        );
        for s in [DEVICE_KEY, WEBHOOK_TOKEN, zoom_sim::DEMO_CLIENT_SECRET]
            .iter()
            .chain(extra)
        {
            if let Some(at) = text.find(s) {
                let line = text[..at].rsplit('\n').next().unwrap_or_default();
                panic!(
                    "a secret value appears in the logs, in a line starting {:?}",
                    line.chars().take(120).collect::<String>()
                );
            }
        }
    }
}

pub async fn body_json(resp: lambda_http::Response<lambda_http::Body>) -> (u16, Value) {
    let status = resp.status().as_u16();
    let v = serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null);
    (status, v)
}

/// A TCP forwarder to a real server (moto) that can be switched off, to
/// simulate an outage of the AWS endpoint and its recovery.
pub struct Outage {
    pub url: String,
    up: Arc<std::sync::atomic::AtomicBool>,
}

impl Outage {
    pub async fn in_front_of(target: &str) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let target = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let up = Arc::new(AtomicBool::new(true));
        let flag = up.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { url, up }
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Creates (or overwrites) a secret in moto.
pub async fn put_secret(sdk: &aws_config::SdkConfig, name: &str, value: &str) {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    if client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .is_err()
    {
        client
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .expect("put secret");
    }
}
