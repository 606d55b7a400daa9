//! Rooms, owners and per-device limits: the invite against the Zoom simulator
//! over HTTP and the limits table in moto over HTTP. Two "containers" are two
//! handler states, each with its own SDK client, sharing one table.

use std::time::Duration;

use invite::handler::{Invite, handle};
use kitchen::config::DEFAULT_MESSAGE_TEMPLATE;
use kitchen::lambda_http::Request;
use kitchen::limits::{InviteLimits, LimitSettings};
use kitchen::testing::{
    DEMO_LOUNGE_MEETING_ID, Outage, body_json, demo_rooms, event, kitchen_with, moto_endpoint,
    sdk_config, unique,
};
use serde_json::{Value, json};
use zoom_sim::{DEMO_TECH_USER, Endpoint, Fault, Sim, SimHandle};

const ANNA_KEY: &str = "anna-lounge-desk-key-0123";
const HALL_KEY: &str = "hall-desk-key-0123456789";
const LEGACY_KEY: &str = "legacy-desk-key-0123456789";
const ATTIC_KEY: &str = "attic-desk-key-0123456789";

fn devices() -> Value {
    json!({
        "devices": {
            "desk-anna": {"key": ANNA_KEY, "owner": "alice@Example.com", "room": "lounge"},
            "desk-hall": {"key": HALL_KEY},
            "desk-attic": {"key": ATTIC_KEY, "room": "attic"}
        },
        "device_keys": {"desk-legacy": LEGACY_KEY}
    })
}

fn state(sim: &SimHandle, limits: Option<InviteLimits>) -> Invite {
    Invite::with_app(
        kitchen_with(sim, demo_rooms(), devices()),
        DEMO_TECH_USER.into(),
        DEFAULT_MESSAGE_TEMPLATE.into(),
        limits,
    )
}

/// A limits table in moto, as one container sees it (its own SDK client).
async fn limits_on(endpoint: &str, table: &str, settings: LimitSettings) -> InviteLimits {
    InviteLimits::new(&sdk_config(endpoint).await, table, settings)
}

async fn new_table(settings: LimitSettings) -> (String, InviteLimits) {
    let table = unique("limits");
    let limits = limits_on(&moto_endpoint(), &table, settings).await;
    limits
        .create_table()
        .await
        .expect("create the limits table");
    (table, limits)
}

fn post(key: &str, body: &str) -> Request {
    event("POST", "/join-meeting")
        .device_key(key)
        .header("content-type", "application/x-www-form-urlencoded")
        .text(body)
        .request()
}

async fn call(state: &Invite, req: Request) -> (u16, Value, Option<String>) {
    let resp = handle(state, req).await.expect("handlers never return Err");
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = body_json(resp).await;
    (status, body, retry_after)
}

#[tokio::test]
async fn an_owned_device_sends_its_room_link_to_its_owner_only() {
    let sim = Sim::demo().spawn().await;
    let state = state(&sim, None);
    // No email: the link goes to the owner, and it is the lounge's.
    let (status, body, _) = call(&state, post(ANNA_KEY, "")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["recipient"], &body["room"]),
        (&json!("alice@example.com"), &json!("lounge"))
    );
    let sent = sim.sim.messages();
    assert_eq!(sent[0].to_contact, "alice@example.com");
    assert!(
        sent[0]
            .message
            .starts_with("This is your coffee lounge join URL: https://")
            && sent[0].message.contains(DEMO_LOUNGE_MEETING_ID),
        "{}",
        sent[0].message
    );
    // The owner's address (domain in any case) is accepted too.
    for body in ["email=alice@example.com", "email=alice%40EXAMPLE.COM"] {
        let (status, b, _) = call(&state, post(ANNA_KEY, body)).await;
        assert_eq!(
            (status, &b["recipient"]),
            (200, &json!("alice@example.com"))
        );
    }
    // Anyone else: 403, nothing sent (the local part compares exactly).
    let before = sim.sim.messages().len();
    for body in ["email=bob@example.com", "email=Alice@example.com"] {
        let (status, b, _) = call(&state, post(ANNA_KEY, body)).await;
        assert_eq!(
            (status, &b["error"]),
            (403, &json!("recipient_not_owner")),
            "{body}: {b}"
        );
        assert!(
            !b.to_string().contains("alice"),
            "the owner is not told: {b}"
        );
    }
    assert_eq!(sim.sim.messages().len(), before, "nothing sent");
    // A device without an owner still needs an email, and sends to anyone.
    let (status, b, _) = call(&state, post(HALL_KEY, "")).await;
    assert_eq!((status, &b["error"]), (400, &json!("missing_email")));
    let (status, b, _) = call(&state, post(HALL_KEY, "email=bob@example.com")).await;
    assert_eq!((status, &b["room"]), (200, &json!("kitchen")));
    // One join-link lookup per room per container.
    call(&state, post(LEGACY_KEY, "email=carol@example.com")).await;
    assert_eq!(sim.sim.stats().meeting_requests, 2);
    // A device naming a room the deployment does not serve.
    let (status, b, _) = call(&state, post(ATTIC_KEY, "email=bob@example.com")).await;
    assert_eq!((status, &b["error"]), (404, &json!("unknown_room")));
}

#[tokio::test]
async fn the_limit_holds_across_two_containers() {
    let settings = LimitSettings {
        interval: Duration::from_secs(30),
        per_day: 50,
    };
    let sim = Sim::demo().spawn().await;
    let (table, limits_a) = new_table(settings).await;
    let a = state(&sim, Some(limits_a));
    let b = state(
        &sim,
        Some(limits_on(&moto_endpoint(), &table, settings).await),
    );
    assert_eq!(
        call(&a, post(HALL_KEY, "email=bob@example.com")).await.0,
        200
    );
    let (status, body, retry_after) = call(&b, post(HALL_KEY, "email=bob@example.com")).await;
    assert_eq!(
        (status, &body["error"]),
        (429, &json!("too_many_invites")),
        "{body}"
    );
    let secs: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=30).contains(&secs), "{secs}");
    assert_eq!(
        sim.sim.messages().len(),
        1,
        "the refused invite sent nothing"
    );
    // Another device has its own allowance.
    assert_eq!(
        call(&b, post(LEGACY_KEY, "email=bob@example.com")).await.0,
        200
    );
}

#[tokio::test]
async fn a_zoom_failure_does_not_use_up_the_allowance() {
    let settings = LimitSettings {
        interval: Duration::ZERO,
        per_day: 1,
    };
    let sim = Sim::demo().spawn().await;
    let (_, limits) = new_table(settings).await;
    let state = state(&sim, Some(limits));
    sim.sim.push_fault(
        Endpoint::Chat,
        Fault::Status {
            status: 500,
            body: json!({"code": 500, "message": "oops"}),
        },
    );
    assert_eq!(
        call(&state, post(HALL_KEY, "email=bob@example.com"))
            .await
            .0,
        502
    );
    sim.sim.push_fault(Endpoint::Chat, Fault::Drop);
    assert_eq!(
        call(&state, post(HALL_KEY, "email=bob@example.com"))
            .await
            .0,
        502
    );
    // Zoom refusing the recipient is a failure too: nothing was delivered.
    assert_eq!(
        call(&state, post(HALL_KEY, "email=nobody@example.com"))
            .await
            .0,
        404
    );
    assert_eq!(
        call(&state, post(HALL_KEY, "email=bob@example.com"))
            .await
            .0,
        200
    );
    let (status, body, _) = call(&state, post(HALL_KEY, "email=bob@example.com")).await;
    assert_eq!((status, &body["error"]), (429, &json!("too_many_invites")));
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("1 invites a day")
    );
    assert_eq!(sim.sim.messages().len(), 1);
}

#[tokio::test]
async fn an_unreachable_limits_table_is_503_and_sends_nothing() {
    let settings = LimitSettings {
        interval: Duration::from_secs(30),
        per_day: 50,
    };
    let sim = Sim::demo().spawn().await;
    let (table, _) = new_table(settings).await;
    let proxy = Outage::in_front_of(&moto_endpoint()).await;
    proxy.set_up(false);
    let state = state(&sim, Some(limits_on(&proxy.url, &table, settings).await));
    let (status, body, _) = call(&state, post(HALL_KEY, "email=bob@example.com")).await;
    assert_eq!(
        (status, &body["error"]),
        (503, &json!("limits_unavailable")),
        "{body}"
    );
    assert!(sim.sim.messages().is_empty());
    assert_eq!(sim.sim.stats().chat_requests, 0);
    proxy.set_up(true);
    assert_eq!(
        call(&state, post(HALL_KEY, "email=bob@example.com"))
            .await
            .0,
        200
    );
}
