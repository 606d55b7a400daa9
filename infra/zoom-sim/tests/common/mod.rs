//! What the simulator's test files share: an HTTP client, the demo account's
//! token, calls with a bearer token, the admin endpoints, a webhook receiver
//! and the library's headcount. (`#[allow(dead_code)]`: each test file uses a
//! part of it.)
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use hmac::{Hmac, Mac};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use zoom_sim::{DEMO_ACCOUNT_ID, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SimHandle};

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// The token endpoint at `oauth_url` for `account` (Server-to-Server OAuth).
pub fn token_url(oauth_url: &str, account: &str) -> String {
    format!("{oauth_url}?grant_type=account_credentials&account_id={account}")
}

/// The demo app's token response from the token endpoint at `oauth_url`.
pub async fn token_response(c: &Client, oauth_url: &str) -> Value {
    let r = c
        .post(token_url(oauth_url, DEMO_ACCOUNT_ID))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .send()
        .await
        .expect("token request");
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("token JSON")
}

/// A fresh access token of the demo app.
pub async fn token(c: &Client, h: &SimHandle) -> String {
    token_response(c, &h.oauth_url()).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// A call with a bearer token and an optional JSON body: its status and JSON
/// (`null` when the body is not JSON).
pub async fn call(
    c: &Client,
    method: Method,
    url: impl reqwest::IntoUrl,
    tok: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = c.request(method, url).bearer_auth(tok);
    if let Some(b) = body {
        req = req.json(&b);
    }
    answer(req.send().await.expect("request")).await
}

pub async fn get(c: &Client, url: &str, tok: &str) -> (StatusCode, Value) {
    call(c, Method::GET, url, tok, None).await
}

/// `POST /_sim/{path}` with `body`.
pub async fn admin(c: &Client, h: &SimHandle, path: &str, body: Value) -> (StatusCode, Value) {
    let r = c
        .post(format!("{}/_sim/{path}", h.base_url))
        .json(&body)
        .send()
        .await
        .expect("admin request");
    answer(r).await
}

/// `GET /_sim/{path}`'s JSON.
pub async fn admin_get(c: &Client, h: &SimHandle, path: &str) -> Value {
    c.get(format!("{}/_sim/{path}", h.base_url))
        .send()
        .await
        .expect("admin request")
        .json()
        .await
        .expect("admin JSON")
}

async fn answer(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// People among dashboard entries, by the library's one rule.
pub fn headcount(entries: Vec<Value>) -> usize {
    let entries: Vec<kitchen::participants::Participant> =
        serde_json::from_value(Value::from(entries)).expect("dashboard entries");
    kitchen::participants::headcount(&entries).count
}

pub fn hmac_hex(key: &str, data: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC key");
    m.update(data);
    hex::encode(m.finalize().into_bytes())
}

/// A webhook endpoint that keeps every delivery and, given a secret, answers
/// Zoom's URL validation with it (an empty secret answers nothing).
#[derive(Clone, Default)]
pub struct Receiver {
    pub got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    secret: String,
}

impl Receiver {
    /// Every delivery's body as JSON, oldest first.
    pub fn events(&self) -> Vec<Value> {
        let got = self.got.lock().unwrap_or_else(|p| p.into_inner());
        got.iter()
            .map(|(_, body)| serde_json::from_slice(body).unwrap_or(Value::Null))
            .collect()
    }
}

async fn receive(State(rx): State<Receiver>, headers: HeaderMap, body: Bytes) -> String {
    rx.got
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((headers, body.clone()));
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !rx.secret.is_empty() && v["event"] == "endpoint.url_validation" {
        let plain = v["payload"]["plainToken"].as_str().unwrap_or("");
        let encrypted = hmac_hex(&rx.secret, plain.as_bytes());
        return json!({"plainToken": plain, "encryptedToken": encrypted}).to_string();
    }
    String::new()
}

/// A receiver on loopback and its `/zoom/webhook` URL.
pub async fn spawn_receiver(secret: &str) -> (Receiver, String) {
    let rx = Receiver {
        got: Arc::default(),
        secret: secret.to_owned(),
    };
    let app = axum::Router::new()
        .route("/zoom/webhook", post(receive))
        .with_state(rx.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let url = format!(
        "http://{}/zoom/webhook",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (rx, url)
}
