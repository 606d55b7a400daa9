//! Credentials from Secrets Manager through moto over HTTP.

use std::time::Duration;

use kitchen::app::AppState;
use kitchen::credentials::CredentialSource;
use kitchen::deadline::Deadline;
use kitchen::testing::{
    LogCapture, Outage, common_config, fast_timeouts, moto_endpoint, put_secret, sdk_config,
    secret_json, unique,
};
use lambda_http::http::HeaderMap;
use zoom_sim::Sim;

async fn app_reading(secret_id: &str, endpoint: &str) -> (AppState, zoom_sim::SimHandle) {
    let sim = Sim::demo().spawn().await;
    let sdk = sdk_config(endpoint).await;
    let config = common_config(
        &sim,
        CredentialSource::SecretsManager {
            secret_id: secret_id.to_owned(),
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
                .as_deref(),
            Some(kitchen::testing::DEVICE)
        );
    }
    // Changing the secret afterwards does not affect this container: it was read once.
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
            .as_deref(),
        Some(kitchen::testing::DEVICE)
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
    let value = r#"{"account_id":"acct","client_id":"cid","client_secret":"s3cr3t-value-xyz","device_keys":{"desk":"short"}}"#;
    put_secret(&sdk_config(&moto).await, &name, value).await;
    let (k, _sim) = app_reading(&name, &moto).await;
    let e = k.credentials_within(&soon()).await.unwrap_err();
    assert_eq!((e.status.as_u16(), e.code), (503, "credentials_malformed"));
    let response = String::from_utf8(e.into_response().body().to_vec()).unwrap();
    // The operator finds the problem in the log; the caller learns no device name.
    assert!(logs.text().contains("device_keys"));
    assert!(!response.contains("desk"), "{response}");
    for v in ["s3cr3t-value-xyz", "short", "acct", "cid"] {
        assert!(
            !response.contains(&format!("\"{v}\"")) && !response.contains(&format!(" {v} ")),
            "{response}"
        );
    }
    assert!(!response.contains("s3cr3t"));
    logs.assert_no_secrets(&["s3cr3t-value-xyz"]);
}
