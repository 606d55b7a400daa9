//! Admin endpoints (`/_sim/...`) and signed webhook delivery.

mod common;

use std::time::Duration;

use common::{admin, client, get, hmac_hex, spawn_receiver, token, token_response};
use reqwest::StatusCode;
use serde_json::{Value, json};
use zoom_sim::{
    DEMO_ACCOUNT_ID, DEMO_MEETING_ID, DEMO_TECH_USER, JoinSpec, LeaveSpec, Sim, sign_webhook,
};

#[test]
fn webhook_signature_known_vector() {
    // python3 -c 'import hmac,hashlib;print(hmac.new(b"secret",b"v0:1700000000:{}",hashlib.sha256).hexdigest())'
    assert_eq!(
        sign_webhook("secret", "1700000000", b"{}"),
        "v0=84dd7b277ba946b3a34369b43499bfd9258b410b8894583f1288b1911aa6a6d6"
    );
}

#[tokio::test]
async fn admin_endpoints_drive_the_sim() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let tok = token(&c, &h).await;
    let meeting = format!("{}/meetings/{DEMO_MEETING_ID}", h.api_url());
    let dash = format!(
        "{}/metrics/meetings/{DEMO_MEETING_ID}/participants?type=live",
        h.api_url()
    );

    // Faults: queued (with count) and sticky.
    let (s, _) = admin(
        &c,
        &h,
        "fault",
        json!({"endpoint": "dashboard", "fault": {"kind": "status", "status": 503, "body": {"code": 1, "message": "x"}}, "count": 2}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for _ in 0..2 {
        assert_eq!(
            get(&c, &dash, &tok).await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    assert_eq!(get(&c, &dash, &tok).await.0, StatusCode::OK);
    admin(
        &c,
        &h,
        "fault",
        json!({"endpoint": "meeting", "fault": {"kind": "rate_limit", "retry_after": "1"}, "sticky": true}),
    )
    .await;
    assert_eq!(
        get(&c, &meeting, &tok).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        get(&c, &meeting, &tok).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    admin(&c, &h, "fault/clear", json!({})).await;
    assert_eq!(get(&c, &meeting, &tok).await.0, StatusCode::OK);
    let (s, _) = admin(
        &c,
        &h,
        "fault",
        json!({"endpoint": "nope", "fault": {"kind": "hang"}}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let r = c
        .post(format!("{}/_sim/fault", h.base_url))
        .body("{broken")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Stats.
    let stats: Value = c
        .get(format!("{}/_sim/stats", h.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["dashboard_requests"], 3);
    assert_eq!(stats["meeting_requests"], 3);
    assert_eq!(stats["rate_limited"], 2);
    assert_eq!(stats["token_requests"], 1);
    admin(&c, &h, "stats/reset", json!({})).await;
    assert_eq!(h.sim.stats(), zoom_sim::Stats::default());

    // Participants and running state.
    let r = c
        .put(format!(
            "{}/_sim/participants/{DEMO_MEETING_ID}",
            h.base_url
        ))
        .json(&json!([{"user_name": "Solo", "status": "in_meeting", "participant_uuid": "U1"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, v) = get(&c, &dash, &tok).await;
    assert_eq!(
        v["participants"],
        json!([{"user_name": "Solo", "status": "in_meeting", "participant_uuid": "U1"}])
    );
    admin(
        &c,
        &h,
        &format!("running/{DEMO_MEETING_ID}"),
        json!({"running": false}),
    )
    .await;
    let (s, v) = get(&c, &dash, &tok).await;
    assert_eq!((s, v["code"].clone()), (StatusCode::NOT_FOUND, json!(3001)));
    let (_, v) = get(&c, &meeting, &tok).await;
    assert_eq!(v["status"], "waiting");

    // Users and messages.
    let chat_url = format!("{}/chat/users/{DEMO_TECH_USER}/messages", h.api_url());
    let send = |to: &'static str| {
        c.post(&chat_url)
            .bearer_auth(&tok)
            .json(&json!({"message": "hello", "to_contact": to}))
            .send()
    };
    assert_eq!(
        send("dora@example.com").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    admin(
        &c,
        &h,
        "users",
        json!({"email": "dora@example.com", "is_contact": true}),
    )
    .await;
    assert_eq!(
        send("dora@example.com").await.unwrap().status(),
        StatusCode::CREATED
    );
    let msgs: Value = c
        .get(format!("{}/_sim/messages", h.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(msgs.as_array().unwrap().len(), 1);
    assert_eq!(msgs[0]["to_contact"], "dora@example.com");
    assert_eq!(msgs[0]["message"], "hello");
    assert_eq!(msgs[0]["user_id"], DEMO_TECH_USER);
    assert!(msgs[0]["id"].is_string());

    // Latency and token TTL.
    admin(&c, &h, "latency", json!({"ms": 150})).await;
    let t = std::time::Instant::now();
    get(&c, &meeting, &tok).await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    admin(&c, &h, "latency", json!({"ms": 0})).await;
    admin(&c, &h, "token-ttl", json!({"secs": 0})).await;
    let v = token_response(&c, &h.oauth_url()).await;
    assert_eq!(v["expires_in"], 0);
    let expired = v["access_token"].as_str().unwrap();
    assert_eq!(get(&c, &meeting, expired).await.0, StatusCode::UNAUTHORIZED);

    // Revoke.
    assert_eq!(get(&c, &meeting, &tok).await.0, StatusCode::OK);
    admin(&c, &h, "revoke", json!({})).await;
    let (s, v) = get(&c, &meeting, &tok).await;
    assert_eq!(
        (s, v["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!(124))
    );
}

#[tokio::test]
async fn join_and_leave_deliver_signed_webhooks() {
    let secret = "whsec-test";
    let (rx, url) = spawn_receiver(secret).await;
    let h = Sim::demo().spawn().await;
    h.sim
        .set_webhook_target(Some(url.clone()), Some(secret.into()));
    let c = client();

    let (s, ev) = admin(
        &c,
        &h,
        "join",
        json!({"name": "Erin Example", "email": "erin@example.com", "device": "Windows"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ev}");
    assert_eq!(ev["event"], "meeting.participant_joined");
    assert_eq!(ev["webhook"]["status"], 200);
    let erin_uuid = ev["participant"]["participant_uuid"]
        .as_str()
        .unwrap()
        .to_owned();

    {
        let got = rx.got.lock().unwrap();
        assert_eq!(got.len(), 1);
        let (headers, body) = &got[0];
        let ts = headers["x-zm-request-timestamp"].to_str().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(ts.parse::<u64>().unwrap().abs_diff(now) < 60);
        let mut signed = format!("v0:{ts}:").into_bytes();
        signed.extend_from_slice(body);
        assert_eq!(
            headers["x-zm-signature"].to_str().unwrap(),
            format!("v0={}", hmac_hex(secret, &signed))
        );
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["event"], "meeting.participant_joined");
        assert!(v["event_ts"].as_u64().unwrap() > 1_600_000_000_000);
        assert_eq!(v["payload"]["account_id"], DEMO_ACCOUNT_ID);
        let obj = &v["payload"]["object"];
        assert_eq!(obj["id"], DEMO_MEETING_ID);
        assert_eq!(obj["topic"], "Coffee Kitchen");
        assert!(
            obj["uuid"].is_string() && obj["host_id"].is_string() && obj["start_time"].is_string()
        );
        let p = &obj["participant"];
        assert_eq!(p["user_name"], "Erin Example");
        assert_eq!(p["email"], "erin@example.com");
        assert_eq!(p["participant_uuid"], erin_uuid.as_str());
        assert!(p["join_time"].is_string() && p["user_id"].is_string() && p["id"].is_string());
    }

    // The dashboard shows Erin live.
    let tok = token(&c, &h).await;
    let dash = format!(
        "{}/metrics/meetings/{DEMO_MEETING_ID}/participants?type=live",
        h.api_url()
    );
    let (_, v) = get(&c, &dash, &tok).await;
    let entries = v["participants"].as_array().unwrap();
    assert_eq!(entries.len(), 6);
    assert!(
        entries
            .iter()
            .any(|e| e["email"] == "erin@example.com" && e.get("leave_time").is_none())
    );

    // Leave by email.
    let (s, ev) = admin(&c, &h, "leave", json!({"email": "ERIN@example.com"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ev["event"], "meeting.participant_left");
    assert!(ev["participant"]["leave_time"].is_string());
    {
        let got = rx.got.lock().unwrap();
        assert_eq!(got.len(), 2);
        let v: Value = serde_json::from_slice(&got[1].1).unwrap();
        assert_eq!(v["event"], "meeting.participant_left");
        assert!(v["payload"]["object"]["participant"]["leave_time"].is_string());
        assert_eq!(
            v["payload"]["object"]["participant"]["participant_uuid"],
            erin_uuid.as_str()
        );
    }
    let (s, _) = admin(&c, &h, "leave", json!({"email": "erin@example.com"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Rejoin keeps the participant_uuid (library API this time).
    let ev = h
        .sim
        .join(JoinSpec {
            name: "Erin Example".into(),
            email: Some("erin@example.com".into()),
            ..JoinSpec::default()
        })
        .await
        .expect("the default room");
    assert_eq!(ev.participant["participant_uuid"], erin_uuid.as_str());
    let left = h
        .sim
        .leave(LeaveSpec {
            name: Some("erin example".into()),
            ..LeaveSpec::default()
        })
        .await
        .expect("Erin is in the meeting");
    assert_eq!(left.webhook.unwrap().status, Some(200));
    assert_eq!(h.sim.stats().webhooks_sent, 4);

    // URL validation round trip.
    let (_, v) = admin(&c, &h, "webhook/validate", json!({})).await;
    assert_eq!(v, json!({"ok": true}));
    h.sim
        .set_webhook_target(Some(url), Some("other-secret".into()));
    assert!(h.sim.validate_webhook_endpoint().await.is_err());

    // Unreachable target: the participant still joins, the failure is reported.
    h.sim
        .set_webhook_target(Some("http://127.0.0.1:1/x".into()), Some(secret.into()));
    let (_, ev) = admin(&c, &h, "join", json!({"name": "Finn"})).await;
    assert!(ev["webhook"]["error"].is_string());
    assert_eq!(h.sim.participants(DEMO_MEETING_ID).len(), 8);
    // No target at all.
    h.sim.set_webhook_target(None, None);
    let (_, ev) = admin(&c, &h, "join", json!({"name": "Gus", "waiting_room": true})).await;
    assert_eq!(ev["webhook"], Value::Null);
    assert_eq!(ev["participant"]["status"], "in_waiting_room");
}
