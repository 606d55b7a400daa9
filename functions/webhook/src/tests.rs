//! The webhook handler against moto (the presence table) and the Zoom
//! simulator (the credentials' account), with fixture events.

use std::time::{Duration, SystemTime};

use kitchen::app::AppState;
use kitchen::metrics::Metric;
use kitchen::presence::PresenceStore;
use serde_json::json;

use crate::handler::{Webhook, handle};

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use kitchen::credentials::{CredentialSource, Credentials};
use kitchen::metrics::testing::total;
use kitchen::rooms::Rooms;
use kitchen::secret::Secret;
use kitchen::testing::{
    LogCapture, WEBHOOK_TOKEN, body_json, common_config, credentials, event, fast_timeouts,
    fixture, kitchen, moto_endpoint, sdk_config, unique,
};
use serde_json::Value;
use zoom_sim::{DEMO_LOUNGE_MEETING_ID, DEMO_MEETING_ID, Sim, SimHandle, sign_webhook};

async fn store_at(endpoint: &str) -> PresenceStore {
    PresenceStore::new(&sdk_config(endpoint).await, unique("presence"))
}

/// A webhook on the simulator's account with a fresh table in moto.
async fn setup() -> (SimHandle, Webhook) {
    let sim = Sim::demo().spawn().await;
    let store = store_at(&moto_endpoint()).await;
    store
        .create_table()
        .await
        .expect("create the presence table");
    let state = Webhook::with_parts(kitchen(&sim), store);
    (sim, state)
}

/// A webhook whose secret holds `token` as its webhook secret token.
fn with_token(sim: &SimHandle, token: Option<&str>, store: PresenceStore) -> Webhook {
    let creds = Credentials {
        webhook_secret_token: token.map(Secret::new),
        ..credentials()
    };
    let config = common_config(sim, CredentialSource::Inline(Arc::new(creds)));
    Webhook::with_parts(
        AppState::new(config, None, fast_timeouts(), Duration::from_secs(2)).unwrap(),
        store,
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn post(body: &str) -> kitchen::testing::Event {
    let ts = now_secs().to_string();
    event("POST", "/zoom/webhook")
        .header("content-type", "application/json; charset=utf-8")
        .header("x-zm-request-timestamp", &ts)
        .header(
            "x-zm-signature",
            &sign_webhook(WEBHOOK_TOKEN, &ts, body.as_bytes()),
        )
        .text(body)
}

fn participant_body(event: &str, meeting_id: Value, name: &str, uuid: &str) -> String {
    let time_field = if event.ends_with("left") {
        "leave_time"
    } else {
        "join_time"
    };
    let now = SystemTime::now();
    json!({
        "event": event,
        "event_ts": kitchen::time::unix_millis(now),
        "payload": {"account_id": "demo-account", "object": {
            "id": meeting_id, "uuid": "inst==", "participant": {
                "user_id": "16778250", "user_name": name, "id": "", "participant_uuid": uuid,
                "email": format!("{}@example.com", name.to_lowercase()), time_field: kitchen::time::format_rfc3339(now),
            }
        }}
    })
    .to_string()
}

fn join(name: &str, uuid: &str) -> String {
    participant_body(
        "meeting.participant_joined",
        json!(DEMO_MEETING_ID.parse::<u64>().unwrap()),
        name,
        uuid,
    )
}

async fn call(state: &Webhook, e: kitchen::testing::Event) -> (u16, Value) {
    body_json(handle(state, e.request()).await.unwrap()).await
}

#[tokio::test]
async fn a_signed_join_is_stored_once() {
    let (logs, _guard) = LogCapture::start();
    let (_sim, state) = setup().await;
    let accepted_before = total(Metric::WebhookAccepted);
    let body = join("Erin", "E-1");
    assert_eq!(
        call(&state, post(&body)).await,
        (200, json!({"status": "stored"}))
    );
    assert_eq!(
        call(&state, post(&body)).await,
        (200, json!({"status": "duplicate_or_stale"}))
    );
    let room = state.store.read(DEMO_MEETING_ID).await.unwrap();
    assert_eq!((room.count, room.names), (1, vec!["Erin".to_owned()]));
    assert!(total(Metric::WebhookAccepted) >= accepted_before + 2);

    // This function's own lines (the SDK's TRACE output is off in production).
    let text = logs.text();
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("webhook::handler"))
        .collect();
    let ours = ours.join("\n");
    assert!(
        ours.contains("meeting.participant_joined")
            && ours.contains("outcome=\"stored\"")
            && ours.contains(DEMO_MEETING_ID),
        "{ours}"
    );
    assert!(
        !ours.contains("Erin") && !ours.contains("E-1"),
        "no body content in the logs: {ours}"
    );
    logs.assert_no_secrets(&[]);
}

#[tokio::test]
async fn a_non_ascii_base64_body_is_verified_over_its_raw_bytes() {
    let (_sim, state) = setup().await;
    let body = join("Zoë Łukasz 咖啡", "Z-1");
    let ts = now_secs().to_string();
    let e = event("POST", "/zoom/webhook")
        .header("x-zm-request-timestamp", &ts)
        .header(
            "x-zm-signature",
            &sign_webhook(WEBHOOK_TOKEN, &ts, body.as_bytes()),
        )
        .base64(body.as_bytes());
    assert_eq!(call(&state, e).await, (200, json!({"status": "stored"})));
    assert_eq!(
        state.store.read(DEMO_MEETING_ID).await.unwrap().names,
        vec!["Zoë Łukasz 咖啡".to_owned()]
    );
}

#[tokio::test]
async fn a_bad_signature_is_refused_and_nothing_is_stored() {
    let (logs, _guard) = LogCapture::start();
    let (_sim, state) = setup().await;
    let body = join("Mallory", "M-1");
    let ts = now_secs().to_string();
    let forged = sign_webhook("not-the-secret", &ts, body.as_bytes());
    let stale_ts = (now_secs() - 301).to_string();
    let rejected_before = total(Metric::WebhookRejectedSignature);
    let cases = [
        event("POST", "/zoom/webhook")
            .header("x-zm-request-timestamp", &ts)
            .header("x-zm-signature", &forged)
            .text(&body),
        event("POST", "/zoom/webhook").text(&body),
        event("POST", "/zoom/webhook")
            .header("x-zm-request-timestamp", &ts)
            .header("x-zoom-signature", &forged)
            .text(&body),
        event("POST", "/zoom/webhook")
            .header("x-zm-request-timestamp", &stale_ts)
            .header(
                "x-zm-signature",
                &sign_webhook(WEBHOOK_TOKEN, &stale_ts, body.as_bytes()),
            )
            .text(&body),
        // Signed, then tampered with.
        event("POST", "/zoom/webhook")
            .header("x-zm-request-timestamp", &ts)
            .header(
                "x-zm-signature",
                &sign_webhook(WEBHOOK_TOKEN, &ts, body.as_bytes()),
            )
            .text(&body.replace("Mallory", "Mallorz")),
        // A valid signature plus a second one: API Gateway joins them with a comma.
        post(&body).header("x-zm-signature", &forged),
    ];
    let n = cases.len() as u64;
    for e in cases {
        let (status, answer) = call(&state, e).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (401, Some("invalid_signature")),
            "{answer}"
        );
    }
    assert!(total(Metric::WebhookRejectedSignature) >= rejected_before + n);
    let room = state.store.read(DEMO_MEETING_ID).await.unwrap();
    assert!(
        room.sessions.is_empty() && room.last_event_at_ms.is_none(),
        "nothing stored: {room:?}"
    );
    logs.assert_no_secrets(&[&forged]);
}

#[tokio::test]
async fn url_validation_is_answered_with_the_hmac_of_the_plain_token() {
    let sim = Sim::demo().spawn().await;
    let state = with_token(
        &sim,
        Some("kitchen-handler-token"),
        store_at(&moto_endpoint()).await,
    );
    let body = r#"{"payload":{"plainToken":"plain-token-123"},"event_ts":1795464332000,"event":"endpoint.url_validation"}"#;
    let ts = now_secs().to_string();
    let e = event("POST", "/zoom/webhook")
        .header("x-zm-request-timestamp", &ts)
        .header(
            "x-zm-signature",
            &sign_webhook("kitchen-handler-token", &ts, body.as_bytes()),
        )
        .text(body);
    // python3: hmac.new(b"kitchen-handler-token", b"plain-token-123", hashlib.sha256).hexdigest()
    let expected = "3071cb51062f1976153b32f836e1642969d1dda4d7f6462c124e8e5a7385af03";
    assert_eq!(
        call(&state, e).await,
        (
            200,
            json!({"plainToken": "plain-token-123", "encryptedToken": expected})
        )
    );
}

#[tokio::test]
async fn the_sample_validation_event_replays_at_its_own_time_only() {
    // infra/events/webhook-url-validation.json is signed with devstack's demo token at 1654503849.
    let sim = Sim::demo().spawn().await;
    let state = with_token(
        &sim,
        Some("demo-webhook-secret-token"),
        store_at(&moto_endpoint()).await,
    );
    let (status, body) = body_json(
        handle(&state, fixture("webhook-url-validation.json"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_signature")),
        "years old: stale"
    );
    let state = state.with_clock(|| UNIX_EPOCH + Duration::from_secs(1_654_503_849 + 2));
    let (status, body) = body_json(
        handle(&state, fixture("webhook-url-validation.json"))
            .await
            .unwrap(),
    )
    .await;
    // python3: hmac.new(b"demo-webhook-secret-token", b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert_eq!(status, 200);
    assert_eq!(
        body["encryptedToken"],
        "959fb5c35944cbe58f5ae045af5c378696bd5db3327376bdc5f3eb3af5585c1d"
    );
    assert_eq!(body["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
}

#[tokio::test]
async fn other_meetings_and_unknown_events_are_ignored() {
    let (_sim, state) = setup().await;
    let ignored_before = total(Metric::WebhookIgnored);
    let other = participant_body(
        "meeting.participant_joined",
        json!(999_888_777_666_u64),
        "Frank",
        "F-1",
    );
    assert_eq!(
        call(&state, post(&other)).await,
        (200, json!({"status": "ignored"}))
    );
    let other_str = participant_body(
        "meeting.participant_joined",
        json!("999888777666"),
        "Frank",
        "F-1",
    );
    assert_eq!(
        call(&state, post(&other_str)).await,
        (200, json!({"status": "ignored"}))
    );
    let unknown =
        r#"{"event":"recording.completed","event_ts":1,"payload":{"object":{"id":85746065432}}}"#;
    assert_eq!(
        call(&state, post(unknown)).await,
        (200, json!({"status": "ignored"}))
    );
    let ours_as_string = participant_body(
        "meeting.participant_joined",
        json!(DEMO_MEETING_ID),
        "Grace",
        "G-1",
    );
    assert!(total(Metric::WebhookIgnored) >= ignored_before + 3);
    assert_eq!(
        call(&state, post(&ours_as_string)).await,
        (200, json!({"status": "stored"}))
    );
    assert_eq!(
        state.store.read(DEMO_MEETING_ID).await.unwrap().names,
        vec!["Grace".to_owned()]
    );
}

#[tokio::test]
async fn signed_garbage_is_a_bad_request() {
    let (_sim, state) = setup().await;
    for body in [
        "",
        "not json",
        "[]",
        r#"{"payload":{}}"#,
        r#"{"event":"endpoint.url_validation","payload":{}}"#,
    ] {
        let (status, answer) = call(&state, post(body)).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_payload")),
            "{body:?}"
        );
    }
}

/// At least 200 hostile deliveries: every one is a 4xx JSON answer, nothing
/// is stored, and a genuine delivery still works afterwards.
#[tokio::test]
async fn hostile_corpus_gets_4xx_and_stores_nothing() {
    let (logs, _guard) = LogCapture::start();
    let (_sim, state) = setup().await;
    let valid = join("Mallory", "m-1");
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let huge = format!(
        "{{\"event\":\"meeting.participant_joined\",\"pad\":\"{}\"}}",
        "x".repeat(1 << 20)
    );
    let bodies: Vec<Vec<u8>> = vec![
        valid.clone().into_bytes(),
        Vec::new(),
        b" ".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{}".to_vec(),
        deep.into_bytes(),
        huge.into_bytes(),
        vec![0xff, 0xfe, 0xfd, 0x00],
        (0..=255u8).collect(),
        b"{\"event\":\"endpoint.url_validation\",\"payload\":{\"plainToken\":\"abc\"}}".to_vec(),
        b"{\"event\":\"meeting.ended\",\"payload\":{\"object\":{\"id\":85746065432}}}".to_vec(),
        "{\"event\":\"meeting.participant_joined\",\"payload\":{\"object\":{\"participant\":{\"user_name\":\"Zoë 咖啡\"}}}}".as_bytes().to_vec(),
        b"event=meeting.participant_joined".to_vec(),
        b"<xml/>".to_vec(),
        b"{\"event\":\"meeting.participant_joined\"".to_vec(),
        b"\xef\xbb\xbf{}".to_vec(),
        b"{\"event\":{\"$ne\":null}}".to_vec(),
        b"{\"event\":\"'; DROP TABLE presence;--\"}".to_vec(),
        b"{\"event\":\"meeting.participant_joined\",\"payload\":{\"object\":{\"id\":\"../../etc\"}}}".to_vec(),
        vec![b'{'; 10_000],
    ];
    let now = now_secs();
    let ts = now.to_string();
    let sig_for = |secret: &str, ts: &str, body: &[u8]| sign_webhook(secret, ts, body);
    let base = || event("POST", "/zoom/webhook").header("content-type", "application/json");
    let mut corpus: Vec<(String, kitchen::testing::Event, u16)> = Vec::new();
    for m in [
        "GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "FOO", "post",
    ] {
        let e = event(m, "/zoom/webhook")
            .header("x-zm-request-timestamp", &ts)
            .header(
                "x-zm-signature",
                &sig_for(WEBHOOK_TOKEN, &ts, valid.as_bytes()),
            )
            .text(&valid);
        corpus.push((format!("method {m}"), e, 405));
        corpus.push((
            format!("method {m} unsigned"),
            event(m, "/zoom/webhook"),
            405,
        ));
    }
    for (i, body) in bodies.iter().enumerate() {
        let good_sig = sig_for(WEBHOOK_TOKEN, &ts, body);
        // Well outside the 300 s window (the exact boundary is tested with a fixed clock).
        let stale = (now - 600).to_string();
        let future = (now + 600).to_string();
        let variants: Vec<(&str, kitchen::testing::Event)> = vec![
            ("no headers", base()),
            ("signature only", base().header("x-zm-signature", &good_sig)),
            (
                "timestamp only",
                base().header("x-zm-request-timestamp", &ts),
            ),
            (
                "wrong header name",
                base()
                    .header("x-zm-request-timestamp", &ts)
                    .header("x-zoom-signature", &good_sig),
            ),
            (
                "tampered body",
                base()
                    .header("x-zm-request-timestamp", &ts)
                    .header("x-zm-signature", &sig_for(WEBHOOK_TOKEN, &ts, b"other")),
            ),
            (
                "wrong secret",
                base()
                    .header("x-zm-request-timestamp", &ts)
                    .header("x-zm-signature", &sig_for("not-the-token", &ts, body)),
            ),
            (
                "stale timestamp",
                base()
                    .header("x-zm-request-timestamp", &stale)
                    .header("x-zm-signature", &sig_for(WEBHOOK_TOKEN, &stale, body)),
            ),
            (
                "future timestamp",
                base()
                    .header("x-zm-request-timestamp", &future)
                    .header("x-zm-signature", &sig_for(WEBHOOK_TOKEN, &future, body)),
            ),
            (
                "no v0= prefix",
                base()
                    .header("x-zm-request-timestamp", &ts)
                    .header("x-zm-signature", good_sig.trim_start_matches("v0=")),
            ),
            (
                "v1 scheme",
                base()
                    .header("x-zm-request-timestamp", &ts)
                    .header("x-zm-signature", &good_sig.replace("v0=", "v1=")),
            ),
            (
                "non-hex signature",
                base()
                    .header("x-zm-request-timestamp", &ts)
                    .header("x-zm-signature", &format!("v0={}", "zz".repeat(32))),
            ),
            (
                "duplicated signature",
                base()
                    .header("x-zm-request-timestamp", &ts)
                    .header("x-zm-signature", &good_sig)
                    .header("x-zm-signature", &good_sig),
            ),
            (
                "non-numeric timestamp",
                base()
                    .header("x-zm-request-timestamp", "soon")
                    .header("x-zm-signature", &sig_for(WEBHOOK_TOKEN, "soon", body)),
            ),
        ];
        for (label, e) in variants {
            corpus.push((format!("body #{i}: {label}"), e.base64(body), 401));
        }
    }
    // Correctly signed but unreadable: 400, still nothing stored.
    for (i, body) in [
        b"".as_slice(),
        b"not json",
        b"[1,2]",
        b"{\"payload\":{}}",
        b"{\"event\":\"endpoint.url_validation\",\"payload\":{}}",
        &[0xff, 0xfe],
    ]
    .iter()
    .enumerate()
    {
        let e = base()
            .header("x-zm-request-timestamp", &ts)
            .header("x-zm-signature", &sig_for(WEBHOOK_TOKEN, &ts, body))
            .base64(body);
        corpus.push((format!("signed unreadable #{i}"), e, 400));
    }
    assert!(corpus.len() >= 200, "only {} requests", corpus.len());
    for (label, e, want) in &corpus {
        let (status, body) = call(&state, e.clone()).await;
        assert_eq!(status, *want, "{label}: {body}");
        kitchen::testing::assert_refused(label, status, &body);
    }
    let room = state.store.read(DEMO_MEETING_ID).await.unwrap();
    assert!(
        room.sessions.is_empty() && room.last_event_at_ms.is_none(),
        "a hostile delivery was stored: {room:?}"
    );
    let (status, body) = call(&state, post(&join("Erin", "erin-1"))).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("stored")));
    assert_eq!(state.store.read(DEMO_MEETING_ID).await.unwrap().count, 1);
    logs.assert_no_secrets(&[]);
}

#[tokio::test]
async fn only_post() {
    let (_sim, state) = setup().await;
    for method in ["GET", "PUT", "DELETE"] {
        let resp = handle(&state, event(method, "/zoom/webhook").request())
            .await
            .unwrap();
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()["allow"], "POST");
        let (_, body) = body_json(resp).await;
        assert_eq!(body["error"], "method_not_allowed");
    }
}

#[tokio::test]
async fn an_unreachable_table_is_a_503_so_zoom_retries() {
    let (logs, _guard) = LogCapture::start();
    let sim = Sim::demo().spawn().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let state = Webhook::with_parts(kitchen(&sim), store_at(&closed).await);
    let (status, body) = call(&state, post(&join("Heidi", "H-1"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("presence_unavailable"))
    );
    assert!(logs.text().contains("unreachable"));
    logs.assert_no_secrets(&[]);
}

/// Without a secret token a caller learns nothing about it: a signed, an
/// unsigned and a wrongly signed delivery get what they would get with a
/// token that does not match. Nothing is stored.
#[tokio::test]
async fn no_webhook_secret_answers_like_a_wrong_signature() {
    let sim = Sim::demo().spawn().await;
    let store = store_at(&moto_endpoint()).await;
    store.create_table().await.unwrap();
    let unset = with_token(&sim, None, store.clone());
    let other = with_token(&sim, Some("some-other-token"), store.clone());
    let body = join("Ivan", "I-1");
    let requests = [
        post(&body),
        event("POST", "/zoom/webhook").text(&body),
        event("POST", "/zoom/webhook")
            .header("x-zm-request-timestamp", &now_secs().to_string())
            .header("x-zm-signature", "v0=zz")
            .text(&body),
    ];
    for e in requests {
        let (status, answer) = call(&unset, e.clone()).await;
        assert_eq!(status, 401, "{answer}");
        assert_eq!(call(&other, e).await, (status, answer));
    }
    assert!(
        store
            .read(DEMO_MEETING_ID)
            .await
            .unwrap()
            .sessions
            .is_empty()
    );
}

/// A signed event dated far in the future would beat every later event
/// and keep the room "fresh" for ever; its time is clamped to now.
#[tokio::test]
async fn a_future_dated_event_cannot_become_unbeatable() {
    let (_sim, state) = setup().await;
    let future = join("Olga", "O-1").replace(
        &kitchen::time::format_rfc3339(SystemTime::now()),
        "2099-01-01T00:00:00Z",
    );
    assert!(future.contains("2099"));
    assert_eq!(
        call(&state, post(&future)).await,
        (200, json!({"status": "stored"}))
    );
    let room = state.store.read(DEMO_MEETING_ID).await.unwrap();
    let now = kitchen::time::unix_millis(SystemTime::now());
    assert!(room.last_event_at_ms.is_some_and(|t| t <= now), "{room:?}");
    assert!(room.sessions[0].at_ms <= now);

    // A genuine leave a second later still lands.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let leave = participant_body(
        "meeting.participant_left",
        json!(DEMO_MEETING_ID.parse::<u64>().unwrap()),
        "Olga",
        "O-1",
    );
    assert_eq!(
        call(&state, post(&leave)).await,
        (200, json!({"status": "stored"}))
    );
    assert_eq!(state.store.read(DEMO_MEETING_ID).await.unwrap().count, 0);
}

/// A table endpoint that accepts connections and never answers: only a
/// deadline ends a call to it.
async fn silent_table() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_slow_table_is_cut_off_by_the_deadline() {
    let sim = Sim::demo().spawn().await;
    let mut state = Webhook::with_parts(kitchen(&sim), store_at(&silent_table().await).await);
    state.deadline = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let (status, body) = call(&state, post(&join("Judy", "J-1"))).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("timeout")));
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// The Lambda context's deadline, less the margin, bounds the secret read
/// and the table write when it is sooner than Zoom's 2.5 s.
#[tokio::test]
async fn the_lambda_deadline_bounds_the_delivery() {
    use kitchen::lambda_http::{Context, RequestExt};
    let sim = Sim::demo().spawn().await;
    let state = Webhook::with_parts(kitchen(&sim), store_at(&silent_table().await).await);
    let mut ctx = Context::default();
    ctx.deadline = kitchen::time::unix_millis(SystemTime::now() + Duration::from_millis(1300));
    let started = std::time::Instant::now();
    let resp = handle(
        &state,
        post(&join("Kim", "K-1")).request().with_lambda_context(ctx),
    )
    .await
    .unwrap();
    let took = started.elapsed();
    let (status, body) = body_json(resp).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("timeout")));
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_millis(800),
        "{took:?}"
    );
}

/// Two rooms: each event lands in its own meeting's room only, and an event
/// for a meeting that is neither is acknowledged and stores nothing.
#[tokio::test]
async fn events_land_in_their_own_room_only() {
    let (logs, _guard) = LogCapture::start();
    let (_sim, mut state) = setup().await;
    state.app.config.rooms = Rooms::parse(
        &json!({"kitchen": DEMO_MEETING_ID, "lounge": DEMO_LOUNGE_MEETING_ID}).to_string(),
    )
    .unwrap();
    let in_room = |meeting: &str, name: &str, uuid: &str| {
        participant_body(
            "meeting.participant_joined",
            json!(meeting.parse::<u64>().unwrap()),
            name,
            uuid,
        )
    };
    for body in [
        in_room(DEMO_MEETING_ID, "Alice", "A-1"),
        in_room(DEMO_LOUNGE_MEETING_ID, "Lou", "L-1"),
        in_room(DEMO_LOUNGE_MEETING_ID, "Lena", "L-2"),
    ] {
        assert_eq!(
            call(&state, post(&body)).await,
            (200, json!({"status": "stored"}))
        );
    }
    let kitchen = state.store.read(DEMO_MEETING_ID).await.unwrap();
    let lounge = state.store.read(DEMO_LOUNGE_MEETING_ID).await.unwrap();
    assert_eq!(
        (kitchen.count, kitchen.names),
        (1, vec!["Alice".to_owned()])
    );
    assert_eq!(
        (lounge.count, lounge.names),
        (2, vec!["Lena".to_owned(), "Lou".to_owned()])
    );
    assert!(lounge.last_event_at_ms.is_some());

    // The lounge's meeting ends: the kitchen does not.
    let ended =
        json!({"event": "meeting.ended", "event_ts": kitchen::time::unix_millis(SystemTime::now()),
        "payload": {"account_id": "demo-account", "object": {"id": DEMO_LOUNGE_MEETING_ID,
        "end_time": kitchen::time::format_rfc3339(SystemTime::now() + Duration::from_secs(1))}}})
        .to_string();
    assert_eq!(
        call(&state, post(&ended)).await,
        (200, json!({"status": "stored"}))
    );
    assert_eq!(
        state
            .store
            .read(DEMO_LOUNGE_MEETING_ID)
            .await
            .unwrap()
            .count,
        0
    );
    assert_eq!(state.store.read(DEMO_MEETING_ID).await.unwrap().count, 1);

    // A meeting that is no room of this deployment: acknowledged, nothing stored.
    let stranger = "999888777";
    assert_eq!(
        call(&state, post(&in_room(stranger, "Sam", "S-1"))).await,
        (200, json!({"status": "ignored"}))
    );
    let nothing = state.store.read(stranger).await.unwrap();
    assert!(
        nothing.sessions.is_empty() && nothing.last_event_at_ms.is_none(),
        "{nothing:?}"
    );
    let text = logs.text();
    assert!(
        text.contains("room=lounge") && text.contains("room=kitchen"),
        "the room is logged: {text}"
    );
}
