//! Test helpers shared by the function crates (feature `testing`): real peers
//! only — the Zoom simulator over HTTP and moto over HTTP.

pub mod template;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_http::Request;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::config::{CommonConfig, ZoomEndpoints};
use crate::credentials::{CredentialSource, Credentials};
use crate::secret::Secret;
use crate::zoom::Timeouts;

/// The Zoom simulator's demo account and room (`zoom_sim::SimConfig::default()`;
/// the simulator's tests check that both agree). Plain values, so this library
/// does not depend on the simulator (which uses the library).
pub const DEMO_ACCOUNT_ID: &str = "demo-account";
pub const DEMO_CLIENT_ID: &str = "demo-client-id";
pub const DEMO_CLIENT_SECRET: &str = "demo-client-secret";
pub const DEMO_MEETING_ID: &str = "85746065432";

/// The simulator's second demo room (`lounge`; empty and not running).
pub const DEMO_LOUNGE_MEETING_ID: &str = "86190237415";

pub const DEVICE: &str = "demo-desk";
pub const DEVICE_KEY: &str = "demo-device-key-0001";
pub const WEBHOOK_TOKEN: &str = "demo-webhook-secret-token";

pub fn credentials() -> Credentials {
    Credentials {
        account_id: DEMO_ACCOUNT_ID.into(),
        client_id: DEMO_CLIENT_ID.into(),
        client_secret: Secret::new(DEMO_CLIENT_SECRET),
        devices: devices(json!({ "device_keys": { DEVICE: DEVICE_KEY } })),
        webhook_secret_token: Some(Secret::new(WEBHOOK_TOKEN)),
        viewers: Default::default(),
    }
}

/// The devices of a secret's JSON (`{"devices": …, "device_keys": …}`);
/// panics when an entry would be skipped, so a test never runs on fewer
/// devices than it wrote.
pub fn devices(secret: Value) -> crate::devices::Devices {
    let obj = secret.as_object().expect("a JSON object");
    let (devices, skipped) = crate::devices::from_secret(obj);
    assert!(skipped.is_empty(), "skipped devices: {skipped:?}");
    devices
}

/// The secret's JSON as stored in Secrets Manager, matching [`credentials`].
pub fn secret_json() -> String {
    json!({
        "account_id": DEMO_ACCOUNT_ID,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "device_keys": { DEVICE: DEVICE_KEY },
        "webhook_secret_token": WEBHOOK_TOKEN,
    })
    .to_string()
}

/// The Zoom endpoints of a simulator at `sim` (its base URL, e.g.
/// `http://127.0.0.1:9100`; a `zoom_sim::SimHandle` is one too).
pub fn endpoints(sim: impl AsRef<str>) -> ZoomEndpoints {
    let base = sim.as_ref().trim_end_matches('/');
    ZoomEndpoints {
        api_url: format!("{base}/v2"),
        oauth_url: format!("{base}/oauth/token"),
    }
}

/// Configuration for the simulator at base URL `sim`, its demo meeting as the room.
pub fn common_config(sim: impl AsRef<str>, source: CredentialSource) -> CommonConfig {
    CommonConfig {
        rooms: crate::rooms::Rooms::single(DEMO_MEETING_ID),
        zoom: endpoints(sim),
        credentials: source,
        device_auth: true,
    }
}

/// The demo rooms of the simulator: `kitchen` and `lounge`.
pub fn demo_rooms() -> crate::rooms::Rooms {
    crate::rooms::Rooms::parse(
        &json!({ "kitchen": DEMO_MEETING_ID, "lounge": DEMO_LOUNGE_MEETING_ID }).to_string(),
    )
    .expect("demo rooms")
}

/// The shared state on the simulator at `sim` serving `rooms`, with inline
/// credentials whose devices are `devices` (a secret's JSON with `devices`
/// and/or `device_keys`).
pub fn kitchen_with(
    sim: impl AsRef<str>,
    rooms: crate::rooms::Rooms,
    devices_json: Value,
) -> AppState {
    let creds = Credentials {
        devices: devices(devices_json),
        ..credentials()
    };
    let mut config = common_config(sim, CredentialSource::Inline(Arc::new(creds)));
    config.rooms = rooms;
    app(config)
}

/// The shared state for `config`, without AWS, with [`fast_timeouts`].
pub fn app(config: CommonConfig) -> AppState {
    AppState::new(config, None, fast_timeouts(), Duration::from_secs(2)).expect("state")
}

/// Short timeouts so slow-upstream tests finish quickly.
pub fn fast_timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(500),
        request: Duration::from_millis(500),
    }
}

/// The shared state on the simulator at base URL `sim` with inline credentials and device auth on.
pub fn kitchen(sim: impl AsRef<str>) -> AppState {
    app(common_config(
        sim,
        CredentialSource::Inline(Arc::new(credentials())),
    ))
}

/// moto's URL, started by `make test` (infra/test.sh). Missing means the test
/// fails: it must never silently skip.
pub fn moto_endpoint() -> String {
    std::env::var("KITCHEN_TEST_MOTO").expect(
        "KITCHEN_TEST_MOTO is not set: run the tests with `make test`, which starts moto_server",
    )
}

/// moto answering one request at a time (infra/moto_serial.py, started by
/// `make test`): for tests of concurrent conditional writes, which threaded
/// moto does not apply atomically as DynamoDB does. Missing means the test
/// fails.
pub fn moto_serial_endpoint() -> String {
    std::env::var("KITCHEN_TEST_MOTO_SERIAL").expect(
        "KITCHEN_TEST_MOTO_SERIAL is not set: run the tests with `make test`, which starts infra/moto_serial.py",
    )
}

/// The SDK configuration of the functions (their HTTP client, short timeouts,
/// no retry) against moto at `endpoint`.
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
        // The functions' HTTP client: every moto test goes through it.
        .http_client(
            crate::aws_http::client(Duration::from_millis(500)).expect("the AWS HTTP client"),
        )
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
#[derive(Clone)]
pub struct Event {
    method: String,
    path: String,
    headers: serde_json::Map<String, Value>,
    body: Option<String>,
    base64: bool,
    query: String,
}

pub fn event(method: &str, path: &str) -> Event {
    Event {
        method: method.into(),
        path: path.into(),
        headers: Default::default(),
        body: None,
        base64: false,
        query: String::new(),
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

    pub fn query(mut self, raw: &str) -> Self {
        self.query = raw.to_owned();
        self
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
            "rawQueryString": self.query,
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
        for s in [DEVICE_KEY, WEBHOOK_TOKEN, DEMO_CLIENT_SECRET]
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

/// What every refusal looks like: a 4xx with a JSON body naming the problem.
pub fn assert_refused(label: &str, status: u16, body: &Value) {
    assert!((400..500).contains(&status), "{label}: {status} {body}");
    assert!(
        body["error"].as_str().is_some_and(|c| !c.is_empty()),
        "{label}: {body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{label}: {body}"
    );
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
                let flag = flag.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        // Switching off also cuts the connections already open
                        // (the SDK keeps them for reuse).
                        let down = async {
                            while flag.load(Ordering::SeqCst) {
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = down => {}
                        }
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

/// At least 200 malformed or hostile requests for an HTTP function at `path`
/// whose only method is `method`, each labelled. `body_ok` says whether the
/// function reads a body (the invite) or must refuse one (the count).
pub fn hostile_requests(path: &str, method: &str, reads_body: bool) -> Vec<(String, Event)> {
    let mut out: Vec<(String, Event)> = Vec::new();
    let good = || event(method, path).device_key(DEVICE_KEY);
    // Wrong methods, with and without a key and a body.
    for m in [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "FOO",
        "get", "P0ST",
    ] {
        if m == method {
            continue;
        }
        out.push((format!("method {m}"), event(m, path).device_key(DEVICE_KEY)));
        out.push((format!("method {m} without key"), event(m, path)));
        out.push((
            format!("method {m} with body"),
            event(m, path)
                .device_key(DEVICE_KEY)
                .text("email=alice@example.com"),
        ));
    }
    // Device keys: missing, malformed, wrong, duplicated, oversized.
    let long_key = "k".repeat(100_000);
    let auth_values: Vec<String> = vec![
        String::new(),
        "Bearer".into(),
        "Bearer ".into(),
        "bearer".into(),
        format!("Basic {DEVICE_KEY}"),
        format!("Digest {DEVICE_KEY}"),
        format!("Token {DEVICE_KEY}"),
        DEVICE_KEY.into(),
        format!("Bearer{DEVICE_KEY}"),
        format!("Bearer {}", &DEVICE_KEY[..DEVICE_KEY.len() - 1]),
        format!("Bearer {DEVICE_KEY}x"),
        format!("Bearer {}", DEVICE_KEY.to_uppercase()),
        format!("Bearer {} {}", DEVICE_KEY, DEVICE_KEY),
        format!("Bearer {DEVICE_KEY},Bearer {DEVICE_KEY}"),
        format!("Bearer {long_key}"),
        // Control characters cannot reach a Lambda (HTTP parsers reject them); tabs can.
        "Bearer \t\t".into(),
        "Bearer ' OR '1'='1".into(),
        "Bearer ../../etc/passwd".into(),
        "Bearer ${jndi:ldap://x}".into(),
        "Bearer 🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑".into(),
        "Bearer null".into(),
        "Bearer undefined".into(),
        format!("Bearer  {}", " ".repeat(50)),
    ];
    for (i, v) in auth_values.iter().enumerate() {
        let e = event(method, path).header("authorization", v);
        let e = if reads_body {
            e.header("content-type", "application/x-www-form-urlencoded")
                .text("email=alice@example.com")
        } else {
            e
        };
        out.push((format!("authorization #{i}"), e));
    }
    for h in ["x-api-key", "x-device-key", "cookie", "proxy-authorization"] {
        out.push((
            format!("key in {h} instead"),
            event(method, path).header(h, DEVICE_KEY),
        ));
    }
    out.push(("no headers at all".into(), event(method, path)));
    // Bodies and content types.
    let deep_json = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_obj = format!(
        "{}\"a@example.com\"{}",
        "{\"email\":".repeat(500),
        "}".repeat(500)
    );
    let mut bodies: Vec<(&str, String)> = vec![
        ("whitespace", " \n\t ".into()),
        ("huge form", format!("email={}", "a".repeat(1 << 20))),
        (
            "huge json",
            format!("{{\"email\":\"{}@example.com\"}}", "a".repeat(1 << 20)),
        ),
        ("deep array", deep_json),
        ("deep object", deep_obj),
        ("json array", "[\"alice@example.com\"]".into()),
        ("json string", "\"alice@example.com\"".into()),
        ("json number", "42".into()),
        ("json null", "null".into()),
        ("json true", "true".into()),
        (
            "json extra field",
            "{\"email\":\"alice@example.com\",\"admin\":true}".into(),
        ),
        ("json email number", "{\"email\":42}".into()),
        ("json email null", "{\"email\":null}".into()),
        ("json email object", "{\"email\":{\"$ne\":null}}".into()),
        ("json email array", "{\"email\":[\"a@example.com\"]}".into()),
        (
            "json duplicate key",
            "{\"email\":\"a@example.com\",\"email\":\"b@example.com\"}".into(),
        ),
        ("json truncated", "{\"email\":\"a@exa".into()),
        (
            "json trailing garbage",
            "{\"email\":\"a@example.com\"}xyz".into(),
        ),
        (
            "json with BOM",
            "\u{feff}{\"email\":\"a@example.com\"}".into(),
        ),
        ("form extra field", "email=alice@example.com&admin=1".into()),
        (
            "form duplicate email",
            "email=alice@example.com&email=bob@example.com".into(),
        ),
        ("form empty email", "email=".into()),
        ("form no value", "email".into()),
        ("form only ampersands", "&&&&".into()),
        ("form bad percent", "email=%ZZ%@example.com".into()),
        ("form encoded null", "email=alice%00@example.com".into()),
        (
            "form crlf injection",
            "email=alice@example.com%0D%0ABcc:%20evil@example.com".into(),
        ),
        (
            "form header injection",
            "email=alice@example.com\r\nX-Evil: 1".into(),
        ),
        ("form sql injection", "email=' OR 1=1 --".into()),
        (
            "form sql in local part",
            "email=a'%3B DROP TABLE users%3B--@example.com".into(),
        ),
        (
            "form script",
            "email=<script>alert(1)</script>@example.com".into(),
        ),
        ("form template", "email={join_url}@example.com".into()),
        ("form jndi", "email=${jndi:ldap://evil/a}".into()),
        ("form path traversal", "email=../../etc/passwd".into()),
        ("form no at", "email=alice.example.com".into()),
        ("form two ats", "email=a@b@example.com".into()),
        ("form no domain dot", "email=alice@localhost".into()),
        ("form leading dot", "email=.alice@example.com".into()),
        ("form double dot", "email=al..ice@example.com".into()),
        ("form space inside", "email=al%20ice@example.com".into()),
        ("form quoted local", "email=\"alice\"@example.com".into()),
        ("form ip literal", "email=alice@[127.0.0.1]".into()),
        ("form idn homoglyph", "email=аlice@example.com".into()),
        ("form emoji", "email=☕@example.com".into()),
        (
            "form overlong local",
            format!("email={}@example.com", "a".repeat(65)),
        ),
        (
            "form overlong total",
            format!("email=a@{}.com", "b".repeat(300)),
        ),
        (
            "form overlong label",
            format!("email=a@{}.com", "b".repeat(64)),
        ),
        ("form hyphen label", "email=a@-example.com".into()),
        ("form unicode escapes", "email=\\u0061@example.com".into()),
        (
            "form semicolon list",
            "email=a@example.com;b@example.com".into(),
        ),
        (
            "form comma list",
            "email=a@example.com,b@example.com".into(),
        ),
        ("xml", "<email>alice@example.com</email>".into()),
    ];
    if !reads_body {
        bodies.push(("plain form body", "email=alice@example.com".into()));
        bodies.push((
            "plain json body",
            "{\"email\":\"alice@example.com\"}".into(),
        ));
    }
    let content_types: &[Option<&str>] = if reads_body {
        &[
            Some("application/x-www-form-urlencoded"),
            Some("application/json"),
            None,
        ]
    } else {
        &[None, Some("application/json")]
    };
    for (label, body) in &bodies {
        for ct in content_types {
            let e = good().text(body);
            let e = match ct {
                Some(c) => e.header("content-type", c),
                None => e,
            };
            out.push((format!("{label} as {}", ct.unwrap_or("no content type")), e));
        }
        out.push((format!("{label} base64"), good().base64(body.as_bytes())));
    }
    for (i, bin) in [
        vec![0u8; 64],
        vec![0xff; 64],
        (0..=255u8).collect::<Vec<_>>(),
        b"email=\xff\xfe@example.com".to_vec(),
        vec![0xc3, 0x28],
        vec![0xed, 0xa0, 0x80],
    ]
    .iter()
    .enumerate()
    {
        out.push((
            format!("binary #{i}"),
            good()
                .header("content-type", "application/x-www-form-urlencoded")
                .base64(bin),
        ));
        out.push((
            format!("binary #{i} octet-stream"),
            good()
                .header("content-type", "application/octet-stream")
                .base64(bin),
        ));
    }
    let valid = "email=alice@example.com";
    for ct in [
        "multipart/form-data; boundary=x",
        "text/html",
        "application/xml",
        "image/png",
        "application/x-www-form-urlencoded, application/json",
        ";;;",
        "application/json; charset=utf-16",
    ] {
        let e = good()
            .header("content-type", ct)
            .text(if reads_body { valid } else { "x" });
        out.push((format!("content type {ct}"), e));
    }
    out.push((
        "duplicated content type".into(),
        good()
            .header("content-type", "application/json")
            .header("content-type", "application/json")
            .text("{}"),
    ));
    if !reads_body {
        for q in [
            "a=1",
            "meeting_id=1",
            "x",
            "count=999",
            "%ZZ",
            "&&",
            "callback=alert(1)",
        ] {
            out.push((format!("query {q}"), good().query(q)));
        }
    }
    out
}
