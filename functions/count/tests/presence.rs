//! The count on the presence table (moto, started by `make test`):
//! `presence` and `auto`, and the table's outages.

mod common;

use std::time::SystemTime;

use common::{SECOND, plain};
use count::handler::{Count, CountSource, SOURCE_HEADER, Settings, handle};
use kitchen::presence::PresenceStore;
use kitchen::testing::{Outage, body_json, kitchen, moto_endpoint, sdk_config, unique};
use kitchen::time::unix_millis;
use kitchen::webhook::{Change, WebhookEvent};
use serde_json::json;
use zoom_sim::{DEMO_MEETING_ID, Sim, SimHandle};

async fn store(endpoint: &str, table: &str) -> PresenceStore {
    PresenceStore::new(&sdk_config(endpoint).await, table)
}

fn participant(change: Change, who: &str, at_ms: u64) -> WebhookEvent {
    WebhookEvent::Participant {
        meeting_id: DEMO_MEETING_ID.into(),
        change,
        person_key: format!("email:{who}@example.com"),
        session_key: format!("{who}-device"),
        name: Some(who.into()),
        at_ms,
        event_ts: at_ms,
    }
}

fn now_ms() -> u64 {
    unix_millis(SystemTime::now())
}

#[derive(Clone, Copy)]
enum Kind {
    Presence,
    Auto,
}

/// What the webhook stores for `who`'s `change` in the demo kitchen at `at_ms`.
async fn record(admin: &PresenceStore, change: Change, who: &str, at_ms: u64) {
    admin
        .apply(DEMO_MEETING_ID, &participant(change, who, at_ms))
        .await
        .unwrap();
}

/// A count reading a fresh table through `endpoint`, and a store on moto
/// itself to arrange the table with.
async fn setup(kind: Kind, endpoint: &str) -> (SimHandle, Count, PresenceStore) {
    let table = unique("presence");
    let admin = store(&moto_endpoint(), &table).await;
    admin.create_table().await.unwrap();
    let sim = Sim::demo().spawn().await;
    let settings = Settings {
        cache_for: 10 * SECOND,
        stale_for: 300 * SECOND,
        show_names: true,
        presence_fresh_for: 1800 * SECOND,
    };
    let reader = store(endpoint, &table).await;
    let source = match kind {
        Kind::Presence => CountSource::Presence(reader),
        Kind::Auto => CountSource::Auto(reader),
    };
    let app = kitchen(&sim);
    (sim, Count::new_with(app, settings, source), admin)
}

async fn json_count(state: &Count) -> (u16, serde_json::Value, String) {
    let resp = handle(
        state,
        common::get().header("accept", "application/json").request(),
    )
    .await
    .unwrap();
    let source = resp
        .headers()
        .get(SOURCE_HEADER)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let (status, body) = body_json(resp).await;
    (status, body, source)
}

#[tokio::test]
async fn webhook_source_follows_each_event_with_no_zoom_call() {
    let (sim, state, admin) = setup(Kind::Presence, &moto_endpoint()).await;
    assert_eq!(plain(&state).await.1, "0");
    let t = now_ms();
    record(&admin, Change::Joined, "erin", t).await;
    let (status, body, source) = json_count(&state).await;
    assert_eq!(
        (status, body["count"].as_u64(), source.as_str()),
        (200, Some(1), "webhook")
    );
    assert_eq!(body["names"], json!(["erin"]));
    record(&admin, Change::Joined, "finn", t + 1).await;
    assert_eq!(plain(&state).await.1, "2");
    record(&admin, Change::Left, "erin", t + 2).await;
    assert_eq!(plain(&state).await.1, "1");
    let s = sim.sim.stats();
    assert_eq!(
        (s.token_requests, s.dashboard_requests),
        (0, 0),
        "presence reads make no Zoom call"
    );
}

#[tokio::test]
async fn auto_uses_presence_only_while_it_is_fresh() {
    let (sim, state, admin) = setup(Kind::Auto, &moto_endpoint()).await;
    // No webhook activity yet: the dashboard (3 in the demo room).
    let (_, body, source) = json_count(&state).await;
    assert_eq!(
        (body["count"].as_u64(), source.as_str()),
        (Some(3), "dashboard")
    );
    record(&admin, Change::Joined, "erin", now_ms()).await;
    let (_, body, source) = json_count(&state).await;
    assert_eq!(
        (body["count"].as_u64(), source.as_str()),
        (Some(1), "webhook")
    );
    // Activity older than the freshness bound: back to the dashboard.
    let (sim2, stale_state, admin2) = setup(Kind::Auto, &moto_endpoint()).await;
    admin2
        .apply(
            DEMO_MEETING_ID,
            &participant(Change::Joined, "erin", now_ms() - 3_600_000),
        )
        .await
        .unwrap();
    let (_, body, source) = json_count(&stale_state).await;
    assert_eq!(
        (body["count"].as_u64(), source.as_str()),
        (Some(3), "dashboard")
    );
    assert_eq!(
        (
            sim.sim.stats().dashboard_requests,
            sim2.sim.stats().dashboard_requests
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn store_outage_falls_back_or_fails_clearly() {
    let moto = moto_endpoint();
    let proxy = Outage::in_front_of(&moto).await;
    let (_sim, state, admin) = setup(Kind::Presence, &proxy.url).await;
    record(&admin, Change::Joined, "erin", now_ms()).await;
    assert_eq!(plain(&state).await, (200, "1".into(), "false".into()));
    proxy.set_up(false);
    // The last count, marked stale — not a made-up number.
    assert_eq!(plain(&state).await, (200, "1".into(), "true".into()));

    // Nothing known yet and the table down: a clear 503.
    let proxy = Outage::in_front_of(&moto).await;
    proxy.set_up(false);
    let (sim, state, _admin) = setup(Kind::Presence, &proxy.url).await;
    let (status, body) = body_json(handle(&state, common::get().request()).await.unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("presence_unavailable"))
    );
    assert_eq!(sim.sim.stats().dashboard_requests, 0);

    // auto: falls back to the dashboard.
    let proxy = Outage::in_front_of(&moto).await;
    proxy.set_up(false);
    let (_sim, state, _admin) = setup(Kind::Auto, &proxy.url).await;
    let (_, body, source) = json_count(&state).await;
    assert_eq!(
        (body["count"].as_u64(), source.as_str()),
        (Some(3), "dashboard")
    );
}

/// Reconcile keeps verifying the room when webhooks have stopped; that alone
/// must not make presence "fresh" for `auto`.
#[tokio::test]
async fn auto_ignores_reconcile_activity_without_webhooks() {
    let (sim, state, admin) = setup(Kind::Auto, &moto_endpoint()).await;
    admin
        .repair(DEMO_MEETING_ID, &[], now_ms())
        .await
        .expect("a reconcile run");
    let (_, body, source) = json_count(&state).await;
    assert_eq!(
        (body["count"].as_u64(), source.as_str()),
        (Some(3), "dashboard")
    );
    assert_eq!(sim.sim.stats().dashboard_requests, 1);
}

/// `auto` decides per room: webhook activity in the kitchen says nothing
/// about the lounge, which keeps coming from the dashboard.
#[tokio::test]
async fn auto_freshness_is_per_room() {
    use kitchen::testing::{DEMO_LOUNGE_MEETING_ID, demo_rooms, kitchen_with};
    const LOUNGE_KEY: &str = "lounge-desk-key-0123456789";
    let table = unique("presence");
    let admin = store(&moto_endpoint(), &table).await;
    admin.create_table().await.unwrap();
    let sim = Sim::demo().spawn().await;
    sim.sim.set_meeting_running(DEMO_LOUNGE_MEETING_ID, true);
    let app = kitchen_with(
        &sim,
        demo_rooms(),
        json!({"devices": {
            "desk-kitchen": {"key": kitchen::testing::DEVICE_KEY},
            "desk-lounge": {"key": LOUNGE_KEY, "room": "lounge"}
        }}),
    );
    let settings = Settings {
        cache_for: std::time::Duration::ZERO,
        stale_for: 300 * SECOND,
        show_names: false,
        presence_fresh_for: 1800 * SECOND,
    };
    let state = Count::new_with(
        app,
        settings,
        CountSource::Auto(store(&moto_endpoint(), &table).await),
    );
    let lounge = || async {
        let resp = handle(
            &state,
            kitchen::testing::event("GET", "/participant-count")
                .device_key(LOUNGE_KEY)
                .header("accept", "application/json")
                .request(),
        )
        .await
        .unwrap();
        let (_, body) = body_json(resp).await;
        (
            body["room"].clone(),
            body["count"].clone(),
            body["source"].clone(),
        )
    };
    record(&admin, Change::Joined, "erin", now_ms()).await;
    let (_, body, source) = json_count(&state).await;
    assert_eq!(
        (&body["room"], &body["count"], source.as_str()),
        (&json!("kitchen"), &json!(1), "webhook")
    );
    assert_eq!(
        lounge().await,
        (json!("lounge"), json!(0), json!("dashboard"))
    );
    let mut lounge_event = participant(Change::Joined, "finn", now_ms());
    if let WebhookEvent::Participant { meeting_id, .. } = &mut lounge_event {
        *meeting_id = DEMO_LOUNGE_MEETING_ID.into();
    }
    admin
        .apply(DEMO_LOUNGE_MEETING_ID, &lounge_event)
        .await
        .unwrap();
    assert_eq!(
        lounge().await,
        (json!("lounge"), json!(1), json!("webhook"))
    );
    assert_eq!(sim.sim.stats().dashboard_requests, 1, "the lounge's, once");
}
