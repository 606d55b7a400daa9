//! Several rooms on the presence table (moto, started by `make test`): each
//! device bound to a room by the secret's `devices` map reads its own room's
//! count, kept by Zoom-shaped webhook events of that room's meeting; no
//! dashboard call is made.

mod common;

use std::time::SystemTime;

use common::{SECOND, count_as, json_as};
use count::handler::{Count, CountSource, Settings};
use kitchen::presence::PresenceStore;
use kitchen::testing::{
    DEMO_LOUNGE_MEETING_ID, DEMO_MEETING_ID, demo_rooms, kitchen_with, moto_endpoint, sdk_config,
    unique,
};
use kitchen::time::unix_millis;
use kitchen::webhook::{WebhookEvent, parse_event};
use serde_json::{Value, json};
use zoom_sim::{JoinSpec, LeaveSpec, Sim, SimHandle};

const KITCHEN_KEY: &str = "kitchen-desk-key-0123456789";
const LOUNGE_KEY: &str = "lounge-desk-key-0123456789";
const LEGACY_KEY: &str = "legacy-desk-key-0123456789";

/// Two devices bound to owners in different rooms, and a legacy device
/// (`device_keys`: the default room, `kitchen`).
fn devices() -> Value {
    json!({
        "devices": {
            "desk-kitchen": {"key": KITCHEN_KEY, "owner": "alice@example.com", "room": "kitchen"},
            "desk-lounge": {"key": LOUNGE_KEY, "owner": "erin@example.com", "room": "lounge"}
        },
        "device_keys": {"desk-legacy": LEGACY_KEY}
    })
}

/// A count on the presence source over the simulator's two rooms, and the
/// table it reads (created in moto).
async fn setup() -> (SimHandle, Count, PresenceStore) {
    let sdk = sdk_config(&moto_endpoint()).await;
    let store = PresenceStore::new(&sdk, unique("presence"));
    store
        .create_table()
        .await
        .expect("create the presence table");
    let sim = Sim::demo().spawn().await;
    let settings = Settings {
        cache_for: 10 * SECOND,
        stale_for: 300 * SECOND,
        show_names: false,
        presence_fresh_for: 1800 * SECOND,
    };
    let app = kitchen_with(&sim, demo_rooms(), devices());
    let count = Count::new_with(app, settings, CountSource::Presence(store.clone()));
    (sim, count, store)
}

/// The event Zoom sends for the simulator's participant `entry` in `meeting_id`,
/// through the webhook's own parser.
fn zoom_event(event: &str, meeting_id: &str, entry: &Value) -> WebhookEvent {
    let body = json!({
        "event": event,
        "event_ts": unix_millis(SystemTime::now()),
        "payload": {"account_id": "demo-account", "object": {"id": meeting_id, "participant": entry}},
    });
    parse_event(body.to_string().as_bytes()).expect("a participant event")
}

/// `name` joins `room` in the simulator; its event is recorded as the webhook would.
async fn join(sim: &SimHandle, store: &PresenceStore, room: &str, meeting_id: &str, name: &str) {
    let joined = sim
        .sim
        .join(JoinSpec {
            name: name.into(),
            email: Some(format!("{}@example.com", name.to_lowercase())),
            room: Some(room.into()),
            ..JoinSpec::default()
        })
        .await
        .expect("join");
    let event = zoom_event(&joined.event, meeting_id, &joined.participant);
    store
        .apply(meeting_id, &event)
        .await
        .expect("record the join");
}

/// (room, count, source) of the device's JSON count.
async fn room_count(state: &Count, key: &str) -> (Value, Value, Value) {
    let (status, body) = json_as(state, key).await;
    assert_eq!(status, 200, "{body}");
    (
        body["room"].clone(),
        body["count"].clone(),
        body["source"].clone(),
    )
}

#[tokio::test]
async fn devices_bound_to_different_rooms_read_their_own_rooms_presence() {
    let (sim, state, store) = setup().await;
    join(&sim, &store, "kitchen", DEMO_MEETING_ID, "Frank").await;
    join(&sim, &store, "kitchen", DEMO_MEETING_ID, "Grace").await;
    join(&sim, &store, "lounge", DEMO_LOUNGE_MEETING_ID, "Erin").await;

    // Each device its own room: the kitchen's two (not the simulator's
    // dashboard, which also lists the demo's three), the lounge's one.
    assert_eq!(count_as(&state, KITCHEN_KEY).await, (200, "2".into()));
    assert_eq!(count_as(&state, LOUNGE_KEY).await, (200, "1".into()));
    assert_eq!(count_as(&state, LEGACY_KEY).await, (200, "2".into()));
    assert_eq!(
        room_count(&state, KITCHEN_KEY).await,
        (json!("kitchen"), json!(2), json!("webhook"))
    );
    assert_eq!(
        room_count(&state, LOUNGE_KEY).await,
        (json!("lounge"), json!(1), json!("webhook"))
    );

    // Erin leaves the lounge: the lounge's count follows, the kitchen's does not.
    let left = sim
        .sim
        .leave(LeaveSpec {
            name: Some("Erin".into()),
            room: Some("lounge".into()),
            ..LeaveSpec::default()
        })
        .await
        .expect("leave");
    let event = zoom_event(&left.event, DEMO_LOUNGE_MEETING_ID, &left.participant);
    store.apply(DEMO_LOUNGE_MEETING_ID, &event).await.unwrap();
    assert_eq!(count_as(&state, LOUNGE_KEY).await, (200, "0".into()));
    assert_eq!(count_as(&state, KITCHEN_KEY).await, (200, "2".into()));

    let stats = sim.sim.stats();
    assert_eq!(
        (stats.dashboard_requests, stats.token_requests),
        (0, 0),
        "presence counts ask Zoom nothing"
    );
}
