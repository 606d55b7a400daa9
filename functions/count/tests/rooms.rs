//! Several rooms: each device reads its own room's count, each room has its
//! own dashboard cache; a device naming a room the deployment does not serve
//! gets a clear 404 (and a caller without a valid key learns nothing).

mod common;

use common::{SECOND, count_as, dashboard_count, json_as};
use count::handler::{Count, handle};
use kitchen::testing::{
    DEMO_LOUNGE_MEETING_ID, DEMO_MEETING_ID, body_json, demo_rooms, event, kitchen_with,
};
use serde_json::{Value, json};
use zoom_sim::{Sim, SimHandle};

const KITCHEN_KEY: &str = "kitchen-desk-key-0123456789";
const LOUNGE_KEY: &str = "lounge-desk-key-0123456789";
const ATTIC_KEY: &str = "attic-desk-key-0123456789";
const LEGACY_KEY: &str = "legacy-desk-key-0123456789";

fn devices() -> Value {
    json!({
        "devices": {
            "desk-kitchen": {"key": KITCHEN_KEY, "owner": "alice@example.com"},
            "desk-lounge": {"key": LOUNGE_KEY, "room": "lounge"},
            "desk-attic": {"key": ATTIC_KEY, "room": "attic"}
        },
        "device_keys": {"desk-legacy": LEGACY_KEY}
    })
}

/// The demo simulator with one person in the lounge (the kitchen has 3).
async fn two_rooms(cache_for: std::time::Duration) -> (SimHandle, Count) {
    let sim = Sim::demo().spawn().await;
    let one: Vec<Value> = sim
        .sim
        .participants(DEMO_MEETING_ID)
        .into_iter()
        .filter(|e| e["email"] == "carol@example.com")
        .collect();
    sim.sim.set_participants(DEMO_LOUNGE_MEETING_ID, one);
    sim.sim.set_meeting_running(DEMO_LOUNGE_MEETING_ID, true);
    let app = kitchen_with(&sim, demo_rooms(), devices());
    (sim, dashboard_count(app, cache_for, 300 * SECOND, false))
}

#[tokio::test]
async fn two_rooms_are_counted_independently_one_call_per_room_per_period() {
    let (sim, state) = two_rooms(10 * SECOND).await;
    for _ in 0..10 {
        assert_eq!(count_as(&state, KITCHEN_KEY).await, (200, "3".into()));
        assert_eq!(count_as(&state, LOUNGE_KEY).await, (200, "1".into()));
        assert_eq!(count_as(&state, LEGACY_KEY).await, (200, "3".into()));
    }
    assert_eq!(sim.sim.stats().dashboard_requests, 2, "one call per room");
    let (status, body) = json_as(&state, LOUNGE_KEY).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&body["room"], &body["meeting_id"], &body["count"]),
        (&json!("lounge"), &json!(DEMO_LOUNGE_MEETING_ID), &json!(1))
    );
    let (_, body) = json_as(&state, KITCHEN_KEY).await;
    assert_eq!(
        (&body["room"], &body["meeting_id"], &body["count"]),
        (&json!("kitchen"), &json!(DEMO_MEETING_ID), &json!(3))
    );
    // A change in one room shows in that room only (cache period zero).
    let (sim, state) = two_rooms(std::time::Duration::ZERO).await;
    sim.sim.set_participants(DEMO_LOUNGE_MEETING_ID, Vec::new());
    assert_eq!(count_as(&state, LOUNGE_KEY).await, (200, "0".into()));
    assert_eq!(count_as(&state, KITCHEN_KEY).await, (200, "3".into()));
}

#[tokio::test]
async fn a_device_naming_an_unknown_room_gets_404_and_strangers_learn_nothing() {
    let (sim, state) = two_rooms(10 * SECOND).await;
    let (status, body) = json_as(&state, ATTIC_KEY).await;
    assert_eq!((status, &body["error"]), (404, &json!("unknown_room")));
    assert!(
        body["message"].as_str().unwrap().contains("\"attic\""),
        "{body}"
    );
    let (status, body) = json_as(&state, "not-a-key-but-long-enough").await;
    assert_eq!(
        (status, &body["error"]),
        (401, &json!("invalid_device_key"))
    );
    assert!(!body.to_string().contains("attic"));
    assert_eq!(sim.sim.stats().dashboard_requests, 0);
}

#[tokio::test]
async fn several_rooms_without_a_kitchen_need_each_device_to_name_its_room() {
    let sim = Sim::demo().spawn().await;
    let rooms = kitchen::rooms::Rooms::parse(
        &json!({"lounge": DEMO_LOUNGE_MEETING_ID, "focus": DEMO_MEETING_ID}).to_string(),
    )
    .unwrap();
    let app = kitchen_with(&sim, rooms, devices());
    let state = dashboard_count(app, 10 * SECOND, 300 * SECOND, false);
    let (status, body) = json_as(&state, LEGACY_KEY).await;
    assert_eq!((status, &body["error"]), (404, &json!("unknown_room")));
    assert!(body["message"].as_str().unwrap().contains("several rooms"));
    assert_eq!(count_as(&state, LOUNGE_KEY).await.0, 200);
}

#[tokio::test]
async fn device_auth_off_counts_the_default_room_and_takes_no_room_parameter() {
    let sim = Sim::demo().spawn().await;
    let mut app = kitchen_with(&sim, demo_rooms(), devices());
    app.config.device_auth = false;
    let state = dashboard_count(app, 10 * SECOND, 300 * SECOND, false);
    let resp = handle(&state, event("GET", "/participant-count").request())
        .await
        .unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.body().as_ref()),
        (200, b"3".as_slice())
    );
    let (status, body) = body_json(
        handle(
            &state,
            event("GET", "/participant-count")
                .query("room=lounge")
                .request(),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, &body["error"]), (400, &json!("unexpected_query")));
}
