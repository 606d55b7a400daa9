//! The Zoom client against the Zoom simulator over HTTP, counting its calls.

use std::time::{Duration, SystemTime};

use kitchen::participants::headcount;
use kitchen::testing::{credentials, endpoints, fast_timeouts};
use kitchen::zoom::{ZoomClient, ZoomError};
use serde_json::json;
use zoom_sim::{DEMO_MEETING_ID as ROOM, DEMO_TECH_USER as BOT, Endpoint, Fault, Sim, SimHandle};

async fn setup() -> (SimHandle, ZoomClient) {
    let sim = Sim::demo().spawn().await;
    let client = ZoomClient::new(&endpoints(&sim), fast_timeouts()).unwrap();
    (sim, client)
}

#[tokio::test]
async fn one_token_serves_many_calls() {
    let (sim, zoom) = setup().await;
    let creds = credentials();
    for _ in 0..20 {
        assert_eq!(
            headcount(&zoom.live_participants(&creds, ROOM).await.unwrap()).count,
            3
        );
    }
    zoom.send_chat_message(&creds, BOT, "alice@example.com", "hi")
        .await
        .unwrap();
    let s = sim.sim.stats();
    assert_eq!(
        (s.token_requests, s.dashboard_requests, s.chat_delivered),
        (1, 20, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_calls_fetch_one_token() {
    let (sim, zoom) = setup().await;
    let (zoom, creds) = (
        std::sync::Arc::new(zoom),
        std::sync::Arc::new(credentials()),
    );
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (zoom, creds) = (zoom.clone(), creds.clone());
        calls.spawn(async move { zoom.live_participants(&creds, ROOM).await });
    }
    while let Some(r) = calls.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(sim.sim.stats().token_requests, 1);
}

#[tokio::test]
async fn refreshes_a_token_about_to_expire() {
    let (sim, zoom) = setup().await;
    let creds = credentials();
    // 62 s lifetime: usable for 2 s under the 60 s refresh margin.
    sim.sim.set_token_ttl(62);
    zoom.live_participants(&creds, ROOM).await.unwrap();
    zoom.live_participants(&creds, ROOM).await.unwrap();
    assert_eq!(sim.sim.stats().token_requests, 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    zoom.live_participants(&creds, ROOM).await.unwrap();
    assert_eq!(sim.sim.stats().token_requests, 2);
}

#[tokio::test]
async fn revoked_token_is_refetched_once_and_the_call_retried_once() {
    let (sim, zoom) = setup().await;
    let creds = credentials();
    zoom.live_participants(&creds, ROOM).await.unwrap();
    sim.sim.revoke_tokens();
    let n = zoom.live_participants(&creds, ROOM).await.unwrap();
    assert_eq!(headcount(&n).count, 3);
    let s = sim.sim.stats();
    assert_eq!(
        (s.token_requests, s.dashboard_requests, s.unauthorized),
        (2, 3, 1)
    );
}

#[tokio::test]
async fn persistent_401_fails_after_one_retry() {
    let (sim, zoom) = setup().await;
    let body = json!({"code": 124, "message": "Invalid access token."});
    sim.sim.set_sticky_fault(
        Endpoint::Dashboard,
        Some(Fault::Status { status: 401, body }),
    );
    let err = zoom
        .live_participants(&credentials(), ROOM)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ZoomError::Api {
                status: 401,
                code: Some(124),
                ..
            }
        ),
        "{err:?}"
    );
    let s = sim.sim.stats();
    assert_eq!((s.token_requests, s.dashboard_requests), (2, 2));
}

#[tokio::test]
async fn rate_limit_in_seconds_and_as_a_date_is_not_retried() {
    let (sim, zoom) = setup().await;
    let creds = credentials();
    sim.sim.push_fault(
        Endpoint::Dashboard,
        Fault::RateLimit {
            retry_after: Some("7".into()),
        },
    );
    let err = zoom.live_participants(&creds, ROOM).await.unwrap_err();
    assert!(
        matches!(err, ZoomError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{err:?}"
    );

    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    sim.sim.push_fault(
        Endpoint::Chat,
        Fault::RateLimit {
            retry_after: Some(at),
        },
    );
    let err = zoom
        .send_chat_message(&creds, BOT, "alice@example.com", "hi")
        .await
        .unwrap_err();
    let ZoomError::RateLimited {
        retry_after: Some(d),
    } = err
    else {
        panic!("{err:?}")
    };
    assert!((110..=120).contains(&d.as_secs()), "{d:?}");

    sim.sim
        .push_fault(Endpoint::Dashboard, Fault::RateLimit { retry_after: None });
    assert!(matches!(
        zoom.live_participants(&creds, ROOM).await,
        Err(ZoomError::RateLimited { retry_after: None })
    ));
    let s = sim.sim.stats();
    assert_eq!(
        (s.dashboard_requests, s.chat_requests, s.rate_limited),
        (2, 1, 3),
        "429 must never be retried"
    );
}

#[tokio::test]
async fn server_errors_and_slow_or_hung_upstreams() {
    let (sim, zoom) = setup().await;
    let creds = credentials();
    sim.sim.push_fault(
        Endpoint::Dashboard,
        Fault::Status {
            status: 503,
            body: json!({"code": 503, "message": "busy"}),
        },
    );
    let err = zoom.live_participants(&creds, ROOM).await.unwrap_err();
    assert!(matches!(err, ZoomError::Api { status: 503, .. }) && err.is_transient());

    sim.sim
        .push_fault(Endpoint::Dashboard, Fault::Delay { ms: 1500 });
    let started = std::time::Instant::now();
    assert!(matches!(
        zoom.live_participants(&creds, ROOM).await,
        Err(ZoomError::Timeout)
    ));
    assert!(started.elapsed() < Duration::from_millis(1200));

    sim.sim.push_fault(Endpoint::Chat, Fault::Hang);
    assert!(matches!(
        zoom.send_chat_message(&creds, BOT, "alice@example.com", "hi")
            .await,
        Err(ZoomError::Timeout)
    ));

    sim.sim.push_fault(Endpoint::Dashboard, Fault::Drop);
    let err = zoom.live_participants(&creds, ROOM).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");

    // And it recovers once Zoom does.
    assert_eq!(
        headcount(&zoom.live_participants(&creds, ROOM).await.unwrap()).count,
        3
    );
}

#[tokio::test]
async fn token_endpoint_failures() {
    let (sim, zoom) = setup().await;
    let mut bad = credentials();
    bad.client_id = "wrong".into();
    assert!(
        matches!(zoom.live_participants(&bad, ROOM).await, Err(ZoomError::CredentialsRejected(ref why)) if why == "invalid_client")
    );
    sim.sim.push_fault(
        Endpoint::Token,
        Fault::Status {
            status: 500,
            body: json!({}),
        },
    );
    let err = zoom
        .live_participants(&credentials(), ROOM)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(sim.sim.stats().dashboard_requests, 0);
}

#[tokio::test]
async fn pagination_rejoins_and_waiting_room() {
    let (sim, zoom) = setup().await;
    // 650 entries: 3 pages of 300. 400 people; 200 of them rejoined (two entries,
    // the first with leave_time); 50 more waiting.
    let mut entries = Vec::new();
    for i in 0..400 {
        if i < 200 {
            entries.push(json!({"participant_uuid": format!("P{i}"), "id": format!("acct{i}"), "user_name": format!("U{i}"),
                                "status": "in_meeting", "join_time": "2026-11-22T09:00:00Z", "leave_time": "2026-11-22T09:05:00Z"}));
        }
        entries.push(json!({"participant_uuid": format!("P{i}"), "id": format!("acct{i}"), "user_name": format!("U{i}"),
                            "status": "in_meeting", "join_time": "2026-11-22T09:10:00Z"}));
    }
    for i in 0..50 {
        entries.push(json!({"participant_uuid": format!("W{i}"), "user_name": format!("W{i}"), "status": "in_waiting_room"}));
    }
    sim.sim.set_participants(ROOM, entries);
    let all = zoom.live_participants(&credentials(), ROOM).await.unwrap();
    assert_eq!(all.len(), 650);
    assert_eq!(headcount(&all).count, 400);
    assert_eq!(sim.sim.stats().dashboard_requests, 3);
}

#[tokio::test]
async fn meeting_not_running_counts_zero() {
    let (sim, zoom) = setup().await;
    sim.sim.set_meeting_running(ROOM, false);
    assert!(
        zoom.live_participants(&credentials(), ROOM)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn chat_recipients_unknown_and_not_contacts() {
    let (sim, zoom) = setup().await;
    let creds = credentials();
    // Zoom's answers for a recipient it does not know (1001) and for one who
    // is not the tech user's contact (5301): (recipient, status, code).
    for (to, status, code) in [
        ("nobody@example.com", 404, 1001),
        ("stranger@example.com", 400, 5301),
    ] {
        let err = zoom
            .send_chat_message(&creds, BOT, to, "hi")
            .await
            .unwrap_err();
        assert!(
            matches!(err, ZoomError::Api { status: s, code: Some(c), .. } if s == status && c == code),
            "{to}: {err:?}"
        );
    }
    let id = zoom
        .send_chat_message(&creds, BOT, "alice@example.com", "join: https://x")
        .await
        .unwrap();
    let sent = sim.sim.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (
            sent[0].to_contact.as_str(),
            sent[0].message.as_str(),
            sent[0].id.as_str()
        ),
        ("alice@example.com", "join: https://x", id.as_str())
    );
}

#[tokio::test]
async fn join_url_comes_from_the_meeting() {
    let (_sim, zoom) = setup().await;
    let url = zoom.join_url(&credentials(), ROOM).await.unwrap();
    assert!(url.starts_with("https://") && url.contains(ROOM), "{url}");
    let err = zoom
        .join_url(&credentials(), "99999999999")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(3001));
}
