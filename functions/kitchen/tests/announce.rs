//! kitchen::announce against the Zoom simulator over HTTP: who is in the room
//! comes from its live dashboard, each message is a real `to_contact` post.

use std::time::{Duration, Instant};

use kitchen::announce::{Options, Report, announce, respond};
use kitchen::deadline::Deadline;
use kitchen::http::ApiError;
use kitchen::testing::{body_json, credentials, kitchen};
use kitchen::zoom::ZoomClient;
use serde_json::json;
use zoom_sim::{
    DEMO_LOUNGE_MEETING_ID as LOUNGE, DEMO_LOUNGE_ROOM, DEMO_MEETING_ID, DEMO_TECH_USER, JoinSpec,
    Sim, SimHandle,
};

/// `announce` from the demo tech user with the demo credentials.
async fn announce_as_tech_user(
    zoom: &ZoomClient,
    meeting_id: &str,
    message: &str,
) -> Result<Report, ApiError> {
    announce(
        zoom,
        &credentials(),
        DEMO_TECH_USER,
        meeting_id,
        message,
        &options(),
    )
    .await
}

fn options() -> Options {
    Options {
        spacing: Duration::from_millis(100),
        deadline: Deadline::after(Duration::from_secs(8)),
    }
}

async fn join(sim: &SimHandle, name: &str, email: Option<&str>) {
    sim.sim
        .join(JoinSpec {
            name: name.into(),
            email: email.map(str::to_owned),
            room: Some(DEMO_LOUNGE_ROOM.into()),
            ..JoinSpec::default()
        })
        .await
        .expect("join the lounge");
}

fn direct_messages(sim: &SimHandle) -> Vec<(String, String)> {
    sim.sim
        .messages()
        .into_iter()
        .filter(|m| !m.to_contact.is_empty())
        .map(|m| (m.to_contact, m.message))
        .collect()
}

#[tokio::test]
async fn announce_to_a_room_of_three_one_without_email_sends_two_and_skips_one() {
    let sim = Sim::demo().spawn().await;
    join(&sim, "Alice Example", Some("alice@example.com")).await;
    join(&sim, "Erin Example", Some("Erin@Example.com")).await;
    join(&sim, "Gus the Guest", None).await;
    let k = kitchen(&sim);
    let started = Instant::now();
    let report = announce_as_tech_user(
        &k.zoom,
        LOUNGE,
        "  Cake in the real kitchen in five minutes  ",
    )
    .await
    .expect("an announcement");
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "sends are spaced"
    );
    let mut sent: Vec<&str> = report.sent.iter().map(|s| s.email.as_str()).collect();
    sent.sort();
    assert_eq!(sent, ["alice@example.com", "erin@example.com"]);
    assert!(report.sent.iter().all(|s| !s.message_id.is_empty()));
    assert_eq!((report.failed.len(), report.skipped), (0, 1));
    let mut dms = direct_messages(&sim);
    dms.sort();
    assert_eq!(
        dms,
        [
            (
                "alice@example.com".to_owned(),
                "Cake in the real kitchen in five minutes".to_owned()
            ),
            (
                "erin@example.com".to_owned(),
                "Cake in the real kitchen in five minutes".to_owned()
            ),
        ]
    );
    let (status, body) = body_json(respond(Ok(report))).await;
    assert_eq!(status, 200);
    assert_eq!(body["skipped"], 1);
    assert_eq!(body["sent"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["failed"], json!([]));
}

#[tokio::test]
async fn a_429_part_way_stops_and_reports_who_was_not_reached() {
    // The demo kitchen: Alice, Bob (on two devices) and Carol, all with email.
    let sim = Sim::demo().spawn().await;
    sim.sim.rate_limit_chat_after(Some(1));
    let k = kitchen(&sim);
    let report = announce_as_tech_user(&k.zoom, DEMO_MEETING_ID, "cake")
        .await
        .expect("an announcement");
    assert_eq!(report.sent.len(), 1, "{report:?}");
    assert_eq!(report.failed.len(), 2, "{report:?}");
    assert!(
        report.failed.iter().all(|f| f.error == "rate_limited"),
        "{report:?}"
    );
    assert_eq!(sim.sim.stats().rate_limited, 1, "stopped at the first 429");
    assert_eq!(direct_messages(&sim).len(), 1);
    let (status, _) = body_json(respond(Ok(report))).await;
    assert_eq!(status, 200, "one was sent");

    // Limited from the first send: nothing reached anyone.
    sim.sim.rate_limit_chat_after(Some(0));
    let report = announce_as_tech_user(&k.zoom, DEMO_MEETING_ID, "cake")
        .await
        .expect("an announcement");
    assert_eq!((report.sent.len(), report.failed.len()), (0, 3));
    let (status, body) = body_json(respond(Ok(report))).await;
    assert_eq!(status, 502);
    assert_eq!(body["error"], "announce_failed");
    assert_eq!(body["failed"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn an_empty_room_answers_room_empty_and_a_long_message_is_refused() {
    let sim = Sim::demo().spawn().await;
    let k = kitchen(&sim);
    let empty = announce_as_tech_user(&k.zoom, LOUNGE, "cake").await;
    let (status, body) = body_json(respond(empty)).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("room_empty")));

    join(&sim, "Gus the Guest", None).await;
    let nobody = announce_as_tech_user(&k.zoom, LOUNGE, "cake").await;
    let (status, body) = body_json(respond(nobody)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("no_recipients"))
    );

    let long = "x".repeat(1025);
    let refused = announce_as_tech_user(&k.zoom, DEMO_MEETING_ID, &long).await;
    let (status, body) = body_json(respond(refused)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_message"))
    );
    assert!(direct_messages(&sim).is_empty());
}
