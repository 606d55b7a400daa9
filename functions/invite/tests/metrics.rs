//! The invite's metrics. One test in its own process, so the process-wide
//! totals count exactly what this test caused.

use invite::handler::{Invite, handle};
use kitchen::config::DEFAULT_MESSAGE_TEMPLATE;
use kitchen::metrics::testing::total;
use kitchen::metrics::{Metric, Metric::*};
use kitchen::testing::{DEVICE_KEY, event, kitchen};
use serde_json::json;
use zoom_sim::{DEMO_TECH_USER, Endpoint, Fault, Sim};

async fn status(state: &Invite, e: kitchen::testing::Event) -> u16 {
    handle(state, e.request()).await.unwrap().status().as_u16()
}

fn form(email: &str) -> kitchen::testing::Event {
    event("POST", "/join-meeting")
        .device_key(DEVICE_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .text(&format!("email={email}"))
}

fn totals() -> [u64; 5] {
    [InviteSent, InviteRefused, Zoom429, Zoom5xx, TokenFetched].map(total)
}

#[tokio::test]
async fn sent_refused_and_zoom_failures_are_counted() {
    let sim = Sim::demo().spawn().await;
    let state = Invite::with_app(
        kitchen(&sim),
        DEMO_TECH_USER.into(),
        DEFAULT_MESSAGE_TEMPLATE.into(),
        None,
    );
    assert_eq!(totals(), [0; 5]);

    assert_eq!(status(&state, form("alice@example.com")).await, 200);
    assert_eq!(totals(), [1, 0, 0, 0, 1], "sent, one token fetched");

    // Refused after authentication: bad input, and what Zoom refused.
    assert_eq!(status(&state, form("not-an-email")).await, 400);
    assert_eq!(status(&state, form("nobody@example.com")).await, 404);
    sim.sim
        .push_fault(Endpoint::Chat, Fault::RateLimit { retry_after: None });
    assert_eq!(status(&state, form("alice@example.com")).await, 429);
    sim.sim.push_fault(
        Endpoint::Chat,
        Fault::Status {
            status: 503,
            body: json!({}),
        },
    );
    assert_eq!(status(&state, form("alice@example.com")).await, 502);
    assert_eq!(totals(), [1, 4, 1, 1, 1]);

    // Not invites at all: no key, wrong method.
    let no_key = event("POST", "/join-meeting").text("email=alice@example.com");
    assert_eq!(status(&state, no_key).await, 401);
    assert_eq!(status(&state, event("GET", "/join-meeting")).await, 405);
    assert_eq!(totals(), [1, 4, 1, 1, 1]);
    assert_eq!(total(Metric::CountServedStale), 0);
}
