//! Credentials from Secrets Manager through moto over HTTP.

use std::time::Duration;

use kitchen::app::AppState;
use kitchen::credentials::{CredentialSource, Rotation};
use kitchen::deadline::Deadline;
use kitchen::testing::{
    LogCapture, Outage, common_config, fast_timeouts, moto_endpoint, put_secret, sdk_config,
    secret_json, unique,
};
use lambda_http::http::HeaderMap;
use zoom_sim::Sim;

async fn app_reading(secret_id: &str, endpoint: &str) -> (AppState, zoom_sim::SimHandle) {
    app_rotating(secret_id, endpoint, Rotation::default()).await
}

async fn app_rotating(
    secret_id: &str,
    endpoint: &str,
    rotation: Rotation,
) -> (AppState, zoom_sim::SimHandle) {
    let sim = Sim::demo().spawn().await;
    let sdk = sdk_config(endpoint).await;
    let config = common_config(
        &sim,
        CredentialSource::SecretsManager {
            secret_id: secret_id.to_owned(),
            rotation,
        },
    );
    (
        AppState::new(config, Some(&sdk), fast_timeouts(), Duration::from_secs(2)).unwrap(),
        sim,
    )
}

fn soon() -> Deadline {
    Deadline::after(Duration::from_secs(2))
}

fn bearer(key: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("authorization", format!("Bearer {key}").parse().unwrap());
    h
}

/// The secret's JSON with `devices` (name → key) in place of the demo device.
fn secret_with(devices: &[(&str, &str)]) -> String {
    let mut secret: serde_json::Value = serde_json::from_str(&secret_json()).unwrap();
    secret["device_keys"] = serde_json::json!({});
    secret["devices"] = devices
        .iter()
        .map(|(name, key)| ((*name).to_owned(), serde_json::json!({ "key": key })))
        .collect::<serde_json::Map<_, _>>()
        .into();
    secret.to_string()
}

/// The device a key opens, or the refusal's status and code.
async fn who(k: &AppState, key: &str) -> Result<String, (u16, &'static str)> {
    match k.authorize(&bearer(key), &soon()).await {
        Ok(device) => Ok(device.expect("device auth is on").name),
        Err(e) => Err((e.status.as_u16(), e.code)),
    }
}

const KEY_A: &str = "key-of-desk-a-0123456789";
const KEY_B: &str = "key-of-desk-b-0123456789";
const KEY_C: &str = "key-of-desk-c-0123456789";
const REFUSED: Result<String, (u16, &str)> = Err((401, "invalid_device_key"));

/// A new secret in moto with these devices: the SDK configuration and its name.
async fn secret_in(moto: &str, devices: &[(&str, &str)]) -> (aws_config::SdkConfig, String) {
    let sdk = sdk_config(moto).await;
    let name = unique("kitchen");
    put_secret(&sdk, &name, &secret_with(devices)).await;
    (sdk, name)
}

/// Within the TTL the copy at hand is used; after it, a revoked device is refused.
#[tokio::test]
async fn revoked_device_is_refused_after_the_ttl() {
    let moto = moto_endpoint();
    let (sdk, name) = secret_in(&moto, &[("desk-a", KEY_A), ("desk-b", KEY_B)]).await;
    let rotation = Rotation {
        ttl: Duration::from_secs(1),
        ..Rotation::default()
    };
    let (k, _sim) = app_rotating(&name, &moto, rotation).await;
    assert_eq!(who(&k, KEY_A).await.as_deref(), Ok("desk-a"));
    put_secret(&sdk, &name, &secret_with(&[("desk-b", KEY_B)])).await;
    assert_eq!(
        who(&k, KEY_A).await.as_deref(),
        Ok("desk-a"),
        "within the TTL the copy at hand serves"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(who(&k, KEY_A).await, REFUSED);
    assert_eq!(who(&k, KEY_B).await.as_deref(), Ok("desk-b"));
}

/// A new device works at once through the early re-read; a second new device
/// within the minute waits for the TTL (at most one early re-read per minute).
#[tokio::test]
async fn new_device_accepted_after_one_early_reread_per_minute() {
    let (logs, _guard) = LogCapture::start();
    let moto = moto_endpoint();
    let (sdk, name) = secret_in(&moto, &[("desk-a", KEY_A)]).await;
    let (k, _sim) = app_reading(&name, &moto).await;
    assert_eq!(who(&k, KEY_A).await.as_deref(), Ok("desk-a"));
    put_secret(
        &sdk,
        &name,
        &secret_with(&[("desk-a", KEY_A), ("desk-b", KEY_B)]),
    )
    .await;
    assert_eq!(who(&k, KEY_B).await.as_deref(), Ok("desk-b"));
    put_secret(
        &sdk,
        &name,
        &secret_with(&[("desk-a", KEY_A), ("desk-b", KEY_B), ("desk-c", KEY_C)]),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(who(&k, KEY_C).await, REFUSED, "no second early re-read");
    }
    let early = logs
        .text()
        .matches("reading the credentials secret early")
        .count();
    assert_eq!(early, 1, "one early re-read, whatever the unknown keys");
    assert_eq!(logs.text().matches("credentials loaded").count(), 2);
    logs.assert_no_secrets(&[KEY_A, KEY_B, KEY_C]);
}

/// Secrets Manager down when the copy expires: the last good copy keeps
/// serving (logged), quickly; once it is back, the next re-read takes effect.
#[tokio::test]
async fn outage_during_a_reread_keeps_serving_the_last_good_copy() {
    let (logs, _guard) = LogCapture::start();
    let moto = moto_endpoint();
    let (sdk, name) = secret_in(&moto, &[("desk-a", KEY_A), ("desk-b", KEY_B)]).await;
    let proxy = Outage::in_front_of(&moto).await;
    let rotation = Rotation {
        ttl: Duration::from_secs(1),
        ..Rotation::default()
    };
    let (k, _sim) = app_rotating(&name, &proxy.url, rotation).await;
    assert_eq!(who(&k, KEY_A).await.as_deref(), Ok("desk-a"));
    proxy.set_up(false);
    put_secret(&sdk, &name, &secret_with(&[("desk-b", KEY_B)])).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..3 {
        let started = std::time::Instant::now();
        assert_eq!(who(&k, KEY_A).await.as_deref(), Ok("desk-a"));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    assert!(
        logs.text().contains("serving the last good copy"),
        "{}",
        logs.text()
    );
    proxy.set_up(true);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(who(&k, KEY_A).await, REFUSED, "the revocation took effect");
    assert_eq!(who(&k, KEY_B).await.as_deref(), Ok("desk-b"));
}

#[tokio::test]
async fn read_once_per_container() {
    let moto = moto_endpoint();
    let name = unique("kitchen");
    put_secret(&sdk_config(&moto).await, &name, &secret_json()).await;
    let (k, _sim) = app_reading(&name, &moto).await;
    for _ in 0..5 {
        assert_eq!(
            k.authorize(&bearer(kitchen::testing::DEVICE_KEY), &soon())
                .await
                .unwrap()
                .map(|d| d.name),
            Some(kitchen::testing::DEVICE.to_owned())
        );
    }
    // Changing the secret afterwards does not affect this container within the TTL.
    put_secret(&sdk_config(&moto).await, &name, r#"{"account_id":"x"}"#).await;
    assert!(k.credentials_within(&soon()).await.is_ok());
    let e = k
        .authorize(&bearer("wrong-key-0123456789"), &soon())
        .await
        .unwrap_err();
    assert_eq!((e.status.as_u16(), e.code), (401, "invalid_device_key"));
}

#[tokio::test]
async fn outage_gives_503_then_recovers() {
    let moto = moto_endpoint();
    let name = unique("kitchen");
    put_secret(&sdk_config(&moto).await, &name, &secret_json()).await;
    let proxy = Outage::in_front_of(&moto).await;
    proxy.set_up(false);
    let (k, _sim) = app_reading(&name, &proxy.url).await;
    let e = k
        .authorize(&bearer(kitchen::testing::DEVICE_KEY), &soon())
        .await
        .unwrap_err();
    assert_eq!(
        (e.status.as_u16(), e.code),
        (503, "credentials_unavailable")
    );
    // The failure was not cached: once Secrets Manager is back, the next call works.
    proxy.set_up(true);
    assert_eq!(
        k.authorize(&bearer(kitchen::testing::DEVICE_KEY), &soon())
            .await
            .unwrap()
            .map(|d| d.name),
        Some(kitchen::testing::DEVICE.to_owned())
    );
}

#[tokio::test]
async fn missing_secret_is_503() {
    let (k, _sim) = app_reading(&unique("absent"), &moto_endpoint()).await;
    let e = k.credentials_within(&soon()).await.unwrap_err();
    assert_eq!(
        (e.status.as_u16(), e.code),
        (503, "credentials_unavailable")
    );
}

#[tokio::test]
async fn malformed_secret_is_503_without_echoing_values() {
    let (logs, _guard) = LogCapture::start();
    let moto = moto_endpoint();
    let name = unique("kitchen");
    let value = r#"{"account_id":"acct","client_id":"cid","client_secret":42,"device_keys":{"desk":"s3cr3t-device-key-xyz"}}"#;
    put_secret(&sdk_config(&moto).await, &name, value).await;
    let (k, _sim) = app_reading(&name, &moto).await;
    let e = k.credentials_within(&soon()).await.unwrap_err();
    assert_eq!((e.status.as_u16(), e.code), (503, "credentials_malformed"));
    let response = String::from_utf8(e.into_response().body().to_vec()).unwrap();
    // The operator finds the problem in the log; the caller learns no field or device name.
    assert!(logs.text().contains("client_secret"));
    for v in ["desk", "s3cr3t", "acct", "cid"] {
        assert!(!response.contains(v), "{response}");
    }
    logs.assert_no_secrets(&["s3cr3t-device-key-xyz"]);
}

/// One bad device entry is skipped (logged by name and reason, never by key);
/// every other device keeps working.
#[tokio::test]
async fn one_bad_device_entry_leaves_the_others_working() {
    let (logs, _guard) = LogCapture::start();
    let moto = moto_endpoint();
    let name = unique("kitchen");
    let mut secret: serde_json::Value = serde_json::from_str(&secret_json()).unwrap();
    secret["devices"] = serde_json::json!({
        "desk-short": {"key": "short-s3cr3t"},
        "desk-anna": {"key": "anna-key-0123456789", "owner": "anna@example.com"}
    });
    put_secret(&sdk_config(&moto).await, &name, &secret.to_string()).await;
    let (k, _sim) = app_reading(&name, &moto).await;
    for (key, device) in [
        (kitchen::testing::DEVICE_KEY, kitchen::testing::DEVICE),
        ("anna-key-0123456789", "desk-anna"),
    ] {
        let found = k.authorize(&bearer(key), &soon()).await.unwrap().unwrap();
        assert_eq!(found.name, device);
    }
    let e = k
        .authorize(&bearer("short-s3cr3t"), &soon())
        .await
        .unwrap_err();
    assert_eq!((e.status.as_u16(), e.code), (401, "invalid_device_key"));
    let text = logs.text();
    assert!(
        text.contains("desk-short") && text.contains("shorter than 16"),
        "{text}"
    );
    logs.assert_no_secrets(&["short-s3cr3t", "anna-key-0123456789"]);
}
