//! What the count's test files share.
#![allow(dead_code)]

use std::time::Duration;

use count::handler::{Count, CountSource, STALE_HEADER, Settings, handle};
use kitchen::app::AppState;
use kitchen::testing::{DEVICE_KEY, Event, body_json, event, kitchen};
use serde_json::Value;
use zoom_sim::{Sim, SimHandle};

pub const SECOND: Duration = Duration::from_secs(1);

/// A dashboard-only count.
pub fn dashboard_count(
    app: AppState,
    cache_for: Duration,
    stale_for: Duration,
    show_names: bool,
) -> Count {
    let settings = Settings {
        cache_for,
        stale_for,
        show_names,
        presence_fresh_for: Duration::ZERO,
    };
    Count::new_with(app, settings, CountSource::Dashboard)
}

/// The demo simulator (3 people in the room) and a dashboard count on it.
pub async fn setup(cache_for: Duration, stale_for: Duration) -> (SimHandle, Count) {
    let sim = Sim::demo().spawn().await;
    let state = dashboard_count(kitchen(&sim), cache_for, stale_for, false);
    (sim, state)
}

/// The device's request.
pub fn get() -> Event {
    event("GET", "/participant-count").device_key(DEVICE_KEY)
}

/// Status, body and the stale header of the device's request.
pub async fn plain(state: &Count) -> (u16, String, String) {
    let resp = handle(state, get().request()).await.unwrap();
    let stale = resp
        .headers()
        .get(STALE_HEADER)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        resp.status().as_u16(),
        String::from_utf8(resp.body().to_vec()).unwrap(),
        stale,
    )
}

/// Status and plain-text body of the request with device key `key`.
pub async fn count_as(state: &Count, key: &str) -> (u16, String) {
    let resp = handle(
        state,
        event("GET", "/participant-count").device_key(key).request(),
    )
    .await
    .unwrap();
    let status = resp.status().as_u16();
    (status, String::from_utf8(resp.body().to_vec()).unwrap())
}

/// Status and JSON body of the request with device key `key`.
pub async fn json_as(state: &Count, key: &str) -> (u16, Value) {
    body_json(
        handle(
            state,
            event("GET", "/participant-count")
                .device_key(key)
                .header("accept", "application/json")
                .request(),
        )
        .await
        .unwrap(),
    )
    .await
}
