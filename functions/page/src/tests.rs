//! The page's handler with API Gateway v2 events: the Zoom simulator over
//! HTTP, and moto over HTTP for the presence table.

use std::sync::Arc;
use std::time::Duration;

use kitchen::app::AppState;
use kitchen::credentials::{CredentialSource, Credentials};
use kitchen::occupancy::{Settings, Source};
use kitchen::testing::{
    DEVICE_KEY, Event, LogCapture, assert_refused, body_json, common_config, demo_rooms, event,
    fast_timeouts, fixture, hostile_requests,
};
use kitchen::viewers::from_secret;
use kitchen::zoom::Timeouts;
use serde_json::{Value, json};
use zoom_sim::{DEMO_MEETING_ID, Endpoint, Fault, Sim, SimHandle};

use crate::handler::{END_SCOPE, Page, handle};

const VIEWER_KEY: &str = "demo-viewer-key-0001";
const ADMIN_KEY: &str = "demo-admin-key-00001";

fn credentials() -> Credentials {
    let secret = json!({"viewers": {
        "vera": {"key": VIEWER_KEY, "admin": false},
        "ada": {"key": ADMIN_KEY, "admin": true},
    }});
    let (viewers, skipped) = from_secret(secret.as_object().unwrap());
    assert!(skipped.is_empty());
    Credentials {
        viewers,
        ..kitchen::testing::credentials()
    }
}

fn settings(show_names: bool) -> Settings {
    Settings {
        cache_for: Duration::from_secs(10),
        stale_for: Duration::from_secs(300),
        show_names,
        presence_fresh_for: Duration::from_secs(1800),
    }
}

/// The state on the simulator with the two rooms the demo account has: the
/// kitchen (running, three people) and the lounge (idle), as `KITCHEN_ROOMS`
/// would configure them.
fn app_with_viewers(sim: &SimHandle) -> AppState {
    let mut config = common_config(sim, CredentialSource::Inline(Arc::new(credentials())));
    config.rooms = demo_rooms();
    AppState::new(config, None, fast_timeouts(), Duration::from_secs(2)).expect("app state")
}

async fn dashboard_page(show_names: bool) -> (SimHandle, Page) {
    let sim = Sim::demo().spawn().await;
    let page = Page::with_parts(
        app_with_viewers(&sim),
        Source::Dashboard,
        settings(show_names),
    );
    (sim, page)
}

async fn call(page: &Page, e: Event) -> (u16, Value) {
    body_json(
        handle(page, e.request())
            .await
            .expect("never a Lambda error"),
    )
    .await
}

fn get_rooms(key: &str) -> Event {
    event("GET", "/api/rooms").device_key(key)
}

fn end(room: &str, key: &str) -> Event {
    event("POST", &format!("/api/rooms/{room}/end")).device_key(key)
}

fn room<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["rooms"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["room"] == name))
        .unwrap_or_else(|| panic!("no room {name} in {body}"))
}

#[tokio::test]
async fn the_page_and_its_files_carry_the_security_headers() {
    let (_sim, page) = dashboard_page(false).await;
    for (path, content_type, marker) in [
        ("/", "text/html", "<script src=\"/app.js\" defer>"),
        ("/app.js", "text/javascript", "/api/rooms"),
        ("/app.css", "text/css", "prefers-color-scheme"),
    ] {
        let resp = handle(&page, event("GET", path).request()).await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let h = resp.headers();
        assert!(
            h["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
        let body = std::str::from_utf8(resp.body().as_ref()).unwrap();
        assert!(body.contains(marker), "{path}");
    }
    // Errors carry them too.
    let resp = handle(&page, event("GET", "/nope").request())
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    let (status, body) = call(&page, event("POST", "/")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn a_viewer_sees_every_room_live_first_as_the_simulator_has_them() {
    let (sim, page) = dashboard_page(false).await;
    let (status, body) = call(&page, get_rooms(VIEWER_KEY)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["viewer"], json!({"name": "vera", "admin": false}));
    let names: Vec<&str> = body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["room"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kitchen", "lounge"], "live rooms first");
    let k = room(&body, "kitchen");
    // The demo kitchen: Alice, Bob (rejoined) and Carol in, Dave waiting.
    assert_eq!(k["count"], 3);
    assert_eq!(k["live"], true);
    assert_eq!(k["meeting_id"], DEMO_MEETING_ID);
    assert_eq!(k["source"], "dashboard");
    assert_eq!(k["stale"], false);
    assert!(
        k.get("names").is_none(),
        "names only with KITCHEN_SHOW_NAMES"
    );
    assert!(
        k["join_url"].as_str().unwrap().contains(DEMO_MEETING_ID),
        "join URL from GET /meetings/{{id}}: {k}"
    );
    assert!(k["as_of"].as_str().unwrap().ends_with('Z'));
    let l = room(&body, "lounge");
    assert_eq!(
        (l["count"].as_u64(), l["live"].as_bool()),
        (Some(0), Some(false))
    );
    assert!(sim.sim.stats().dashboard_requests >= 2);

    let (_sim, page) = dashboard_page(true).await;
    let (_, body) = call(&page, get_rooms(ADMIN_KEY)).await;
    assert_eq!(body["viewer"]["admin"], true);
    assert_eq!(
        room(&body, "kitchen")["names"],
        json!(["Alice Example", "Bob Example", "Carol Example"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_open_pages_make_one_dashboard_call_per_room_per_cache_period() {
    let (sim, page) = dashboard_page(false).await;
    let page = Arc::new(page);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let page = page.clone();
        calls.spawn(async move { call(&page, get_rooms(VIEWER_KEY)).await });
    }
    while let Some(done) = calls.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(room(&body, "kitchen")["count"], 3);
    }
    let stats = sim.sim.stats();
    assert_eq!(stats.dashboard_requests, 2, "one per room: {stats:?}");
    assert_eq!(
        stats.meeting_requests, 2,
        "one join URL per room: {stats:?}"
    );
    assert_eq!(stats.token_requests, 1);
}

#[tokio::test]
async fn a_room_whose_count_fails_carries_its_error_and_the_other_is_served() {
    let (sim, page) = dashboard_page(false).await;
    // One dashboard call fails: whichever room asked first.
    sim.sim.push_fault(
        Endpoint::Dashboard,
        Fault::Status {
            status: 503,
            body: Value::Null,
        },
    );
    let (status, body) = call(&page, get_rooms(VIEWER_KEY)).await;
    assert_eq!(status, 200, "{body}");
    let rooms = body["rooms"].as_array().unwrap();
    let (failed, served): (Vec<&Value>, Vec<&Value>) =
        rooms.iter().partition(|r| r.get("error").is_some());
    assert_eq!((failed.len(), served.len()), (1, 1), "{body}");
    assert_eq!(failed[0]["error"], "zoom_error", "{body}");
    assert!(failed[0]["count"].is_null(), "no count for it: {body}");
    assert!(failed[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(served[0]["count"].is_u64(), "{body}");
    assert!(served[0].get("message").is_none());
}

/// Each room's reads run side by side: two rooms whose dashboard takes 900 ms
/// each are both served within a 1.5 s budget (one after the other, the
/// second would run out of time).
#[tokio::test]
async fn slow_rooms_are_read_side_by_side_within_one_deadline() {
    let sim = Sim::demo().spawn().await;
    let mut config = common_config(&sim, CredentialSource::Inline(Arc::new(credentials())));
    config.rooms = demo_rooms();
    let timeouts = Timeouts {
        connect: Duration::from_millis(500),
        request: Duration::from_millis(1400),
    };
    let app = AppState::new(config, None, timeouts, Duration::from_millis(1500)).unwrap();
    let page = Page::with_parts(app, Source::Dashboard, settings(false));
    for _ in 0..2 {
        sim.sim
            .push_fault(Endpoint::Dashboard, Fault::Delay { ms: 900 });
    }
    let (status, body) = call(&page, get_rooms(VIEWER_KEY)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(room(&body, "kitchen")["count"], 3, "{body}");
    assert_eq!(room(&body, "lounge")["count"], 0, "{body}");
}

/// The sample events in infra/events (as API Gateway delivers them, for
/// `make invoke FN=page` and the bench) do what they say.
#[tokio::test]
async fn the_sample_events_work() {
    let (sim, page) = dashboard_page(false).await;
    let resp = handle(&page, fixture("page-index.json")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let (status, body) = body_json(handle(&page, fixture("page-rooms.json")).await.unwrap()).await;
    assert_eq!(
        (status, room(&body, "kitchen")["count"].as_u64()),
        (200, Some(3)),
        "{body}"
    );
    let (status, body) = body_json(handle(&page, fixture("page-end.json")).await.unwrap()).await;
    assert_eq!((status, body), (200, json!({"ended": true})));
    assert_eq!(sim.sim.ended().len(), 1);
}

#[tokio::test]
async fn device_keys_wrong_keys_and_no_key_do_not_open_the_page() {
    let (sim, page) = dashboard_page(false).await;
    let (logs, _guard) = LogCapture::start();
    for (label, e) in [
        ("device key", get_rooms(DEVICE_KEY)),
        ("wrong key", get_rooms("not-a-viewer-key-123")),
        ("no key", event("GET", "/api/rooms")),
        ("device key ends", end("kitchen", DEVICE_KEY)),
    ] {
        let (status, body) = call(&page, e).await;
        assert_eq!(status, 401, "{label}: {body}");
        assert_eq!(body["error"], "invalid_viewer_key", "{label}");
    }
    assert_eq!(sim.sim.stats().dashboard_requests, 0);
    assert!(sim.sim.ended().is_empty());
    logs.assert_no_secrets(&[VIEWER_KEY, ADMIN_KEY]);
}

#[tokio::test]
async fn without_viewers_nobody_gets_in_and_the_operator_is_told() {
    let sim = Sim::demo().spawn().await;
    let app = kitchen::testing::kitchen(&sim);
    let page = Page::with_parts(app, Source::Dashboard, settings(false));
    let (logs, _guard) = LogCapture::start();
    let (status, body) = call(&page, get_rooms(VIEWER_KEY)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_viewer_key"))
    );
    assert!(
        !body["message"].as_str().unwrap().contains("viewers"),
        "told like a wrong key"
    );
    assert!(
        logs.text().contains("the secret has no viewers"),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn an_admin_ends_a_live_room_and_it_shows_empty_at_once() {
    let (sim, page) = dashboard_page(false).await;
    let (logs, _guard) = LogCapture::start();
    assert_eq!(
        room(&call(&page, get_rooms(ADMIN_KEY)).await.1, "kitchen")["count"],
        3
    );
    let (status, body) = call(&page, end("kitchen", ADMIN_KEY)).await;
    assert_eq!((status, &body), (200, &json!({"ended": true})));
    let ended: Vec<String> = sim.sim.ended().into_iter().map(|e| e.meeting_id).collect();
    assert_eq!(ended, [DEMO_MEETING_ID]);
    assert_eq!(sim.sim.stats().meeting_status_requests, 1);
    let before = sim.sim.stats().dashboard_requests;
    let (_, body) = call(&page, get_rooms(ADMIN_KEY)).await;
    let k = room(&body, "kitchen");
    assert_eq!(
        (k["count"].as_u64(), k["live"].as_bool()),
        (Some(0), Some(false)),
        "{k}"
    );
    assert_eq!(
        sim.sim.stats().dashboard_requests,
        before,
        "empty at once, from the cache"
    );
    // Ending it again: it is not running any more.
    let (status, body) = call(&page, end("kitchen", ADMIN_KEY)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("room_not_live"))
    );
    logs.assert_no_secrets(&[VIEWER_KEY, ADMIN_KEY]);
}

#[tokio::test]
async fn who_may_end_what() {
    let (sim, page) = dashboard_page(false).await;
    let (status, body) = call(&page, end("kitchen", VIEWER_KEY)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("admin_only")),
        "{body}"
    );
    let (status, body) = call(&page, end("attic", ADMIN_KEY)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_room")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("attic"));
    let (status, body) = call(&page, end("<script>", ADMIN_KEY)).await;
    assert_eq!(status, 404);
    assert!(!body["message"].as_str().unwrap().contains("<script>"));
    // The lounge is idle: nothing to end, and Zoom is not asked to.
    let (status, body) = call(&page, end("lounge", ADMIN_KEY)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("room_not_live")),
        "{body}"
    );
    let (status, _) = call(
        &page,
        event("GET", "/api/rooms/kitchen/end").device_key(ADMIN_KEY),
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(sim.sim.stats().meeting_status_requests, 0);
    assert!(sim.sim.ended().is_empty());
}

#[tokio::test]
async fn a_missing_scope_is_named() {
    let (sim, page) = dashboard_page(false).await;
    let scopes: Vec<String> = sim
        .sim
        .config()
        .scopes
        .into_iter()
        .filter(|s| !s.contains("update:status") && s != "meeting:write:admin")
        .collect();
    sim.sim.set_scopes(scopes);
    let (status, body) = call(&page, end("kitchen", ADMIN_KEY)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("zoom_missing_scope")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains(END_SCOPE),
        "{body}"
    );
    assert!(sim.sim.ended().is_empty());
}

#[tokio::test]
async fn hostile_requests_are_refused_on_every_api_route() {
    let (sim, page) = dashboard_page(false).await;
    let mut n = 0;
    let page = page.with_tech_user(zoom_sim::DEMO_TECH_USER);
    for (path, method, reads_body) in [
        ("/api/rooms", "GET", false),
        ("/api/rooms/kitchen/end", "POST", false),
        ("/api/rooms/kitchen/announce", "POST", true),
    ] {
        for (label, e) in hostile_requests(path, method, reads_body) {
            // As sent (with a device key: never a viewer), then with an admin's key.
            for e in [e.to_json(), with_key(e.to_json(), ADMIN_KEY)] {
                let req = kitchen::lambda_http::request::from_str(&e.to_string()).unwrap();
                let (status, body) = body_json(handle(&page, req).await.unwrap()).await;
                assert_refused(&format!("{method} {path} {label}"), status, &body);
                n += 1;
            }
        }
    }
    assert!(n >= 800, "{n}");
    assert!(
        sim.sim.ended().is_empty(),
        "no hostile request ended a meeting"
    );
}

/// The event with every device key replaced by `key`.
fn with_key(mut event: Value, key: &str) -> Value {
    if let Some(headers) = event["headers"].as_object_mut() {
        for v in headers.values_mut() {
            if let Some(s) = v.as_str() {
                *v = Value::String(s.replace(DEVICE_KEY, key));
            }
        }
    }
    event
}

fn announce(room: &str, key: &str, body: &str) -> Event {
    event("POST", &format!("/api/rooms/{room}/announce"))
        .device_key(key)
        .header("content-type", "application/json")
        .text(body)
}

#[tokio::test]
async fn an_admin_announces_to_everyone_in_the_room() {
    let (sim, page) = dashboard_page(false).await;
    let page = page.with_tech_user(zoom_sim::DEMO_TECH_USER);
    let (logs, _guard) = LogCapture::start();
    let (status, body) = call(
        &page,
        announce(
            "kitchen",
            ADMIN_KEY,
            r#"{"message":"Cake in five minutes"}"#,
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Alice, Bob and Carol are in with emails; Dave is in the waiting room.
    let mut to: Vec<&str> = body["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["email"].as_str().unwrap())
        .collect();
    to.sort();
    assert_eq!(
        to,
        ["alice@example.com", "bob@example.com", "carol@example.com"],
        "{body}"
    );
    assert_eq!(
        (
            body["failed"].as_array().map(Vec::len),
            body["skipped"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let messages = sim.sim.messages();
    assert_eq!(messages.len(), 3);
    assert!(
        messages.iter().all(|m| m.message == "Cake in five minutes"),
        "{messages:?}"
    );
    logs.assert_no_secrets(&[VIEWER_KEY, ADMIN_KEY]);
}

#[tokio::test]
async fn announcements_are_refused_with_a_reason() {
    let (sim, page) = dashboard_page(false).await;
    let page = page.with_tech_user(zoom_sim::DEMO_TECH_USER);
    let ok = r#"{"message":"hi"}"#;
    let long = json!({"message": "x".repeat(1025)}).to_string();
    for (label, e, status, code) in [
        (
            "viewer",
            announce("kitchen", VIEWER_KEY, ok),
            403,
            "admin_only",
        ),
        (
            "unknown room",
            announce("attic", ADMIN_KEY, ok),
            404,
            "unknown_room",
        ),
        (
            "empty room",
            announce("lounge", ADMIN_KEY, ok),
            409,
            "room_empty",
        ),
        (
            "too long",
            announce("kitchen", ADMIN_KEY, &long),
            400,
            "invalid_message",
        ),
        (
            "empty message",
            announce("kitchen", ADMIN_KEY, r#"{"message":"  "}"#),
            400,
            "invalid_message",
        ),
        (
            "extra field",
            announce("kitchen", ADMIN_KEY, r#"{"message":"hi","to":"all"}"#),
            400,
            "invalid_json",
        ),
        (
            "not json",
            announce("kitchen", ADMIN_KEY, "message=hi"),
            400,
            "invalid_json",
        ),
        (
            "form",
            event("POST", "/api/rooms/kitchen/announce")
                .device_key(ADMIN_KEY)
                .header("content-type", "application/x-www-form-urlencoded")
                .text("message=hi"),
            415,
            "unsupported_media_type",
        ),
        (
            "huge",
            announce("kitchen", ADMIN_KEY, &"x".repeat(20_000)),
            413,
            "body_too_large",
        ),
    ] {
        let (got, body) = call(&page, e).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{label}: {body}"
        );
    }
    assert!(sim.sim.messages().is_empty(), "nothing was sent");
    let (_sim, unconfigured) = dashboard_page(false).await;
    let (status, body) = call(&unconfigured, announce("kitchen", ADMIN_KEY, ok)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("announce_not_configured"))
    );
}

/// Viewers from the secret in Secrets Manager (moto): a viewer added later
/// gets in at once (one early re-read), a revoked one is out after the TTL.
#[tokio::test]
async fn added_viewers_get_in_at_once_and_revoked_ones_are_out_after_the_ttl() {
    use kitchen::credentials::Rotation;
    use kitchen::testing::{moto_endpoint, put_secret, sdk_config, unique};

    let sim = Sim::demo().spawn().await;
    let sdk = sdk_config(&moto_endpoint()).await;
    let secret_id = unique("page-viewers");
    let secret = |viewers: Value| {
        let mut v: Value = serde_json::from_str(&kitchen::testing::secret_json()).unwrap();
        v["viewers"] = viewers;
        v.to_string()
    };
    put_secret(
        &sdk,
        &secret_id,
        &secret(json!({"vera": {"key": VIEWER_KEY}})),
    )
    .await;
    let page_with_ttl = |ttl: Duration| {
        let source = CredentialSource::SecretsManager {
            secret_id: secret_id.clone(),
            rotation: Rotation {
                ttl,
                early_every: Duration::from_secs(60),
            },
        };
        let mut config = common_config(&sim, source);
        config.rooms = demo_rooms();
        let app =
            AppState::new(config, Some(&sdk), fast_timeouts(), Duration::from_secs(2)).unwrap();
        Page::with_parts(app, Source::Dashboard, settings(false))
    };
    // A copy kept for five minutes: only the early re-read can know ada.
    let page = page_with_ttl(Duration::from_secs(300));
    assert_eq!(call(&page, get_rooms(VIEWER_KEY)).await.0, 200);

    // ada is added: her first request reads the secret again.
    put_secret(
        &sdk,
        &secret_id,
        &secret(json!({"vera": {"key": VIEWER_KEY}, "ada": {"key": ADMIN_KEY, "admin": true}})),
    )
    .await;
    let (status, body) = call(&page, get_rooms(ADMIN_KEY)).await;
    assert_eq!(
        (status, body["viewer"]["admin"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    // A key nobody has is still refused (its early re-read waits a minute).
    assert_eq!(call(&page, get_rooms("not-a-viewer-key-0001")).await.0, 401);

    // vera is revoked: out once the copy is older than the TTL (1 s here).
    let page = page_with_ttl(Duration::from_secs(1));
    assert_eq!(call(&page, get_rooms(VIEWER_KEY)).await.0, 200);
    put_secret(
        &sdk,
        &secret_id,
        &secret(json!({"ada": {"key": ADMIN_KEY, "admin": true}})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = call(&page, get_rooms(VIEWER_KEY)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_viewer_key")),
        "{body}"
    );
    assert_eq!(call(&page, get_rooms(ADMIN_KEY)).await.0, 200);
}

mod presence {
    use std::time::SystemTime;

    use kitchen::presence::PresenceStore;
    use kitchen::testing::{moto_endpoint, sdk_config, unique};
    use kitchen::time::unix_millis;
    use kitchen::webhook::{Change, WebhookEvent};

    use super::*;

    async fn setup() -> (SimHandle, Page, PresenceStore) {
        let table = unique("page-presence");
        let sdk = sdk_config(&moto_endpoint()).await;
        let store = PresenceStore::new(&sdk, &table);
        store.create_table().await.unwrap();
        let sim = Sim::demo().spawn().await;
        let page = Page::with_parts(
            app_with_viewers(&sim),
            Source::Presence(PresenceStore::new(&sdk, &table)),
            settings(true),
        );
        (sim, page, store)
    }

    fn joined(who: &str, at_ms: u64) -> WebhookEvent {
        WebhookEvent::Participant {
            meeting_id: DEMO_MEETING_ID.into(),
            change: Change::Joined,
            person_key: format!("email:{who}@example.com"),
            session_key: format!("{who}-device"),
            name: Some(who.into()),
            at_ms,
            event_ts: at_ms,
        }
    }

    #[tokio::test]
    async fn rooms_come_from_the_presence_table_without_zoom_calls() {
        let (sim, page, store) = setup().await;
        let now = unix_millis(SystemTime::now());
        store
            .apply(DEMO_MEETING_ID, &joined("Ana", now - 60_000))
            .await
            .unwrap();
        store
            .apply(DEMO_MEETING_ID, &joined("Ben", now - 5_000))
            .await
            .unwrap();
        for _ in 0..20 {
            let (status, body) = call(&page, get_rooms(VIEWER_KEY)).await;
            assert_eq!(status, 200, "{body}");
            let k = room(&body, "kitchen");
            assert_eq!(
                (k["count"].as_u64(), k["source"].as_str()),
                (Some(2), Some("webhook"))
            );
            assert_eq!(k["names"], json!(["Ana", "Ben"]));
            assert!(k["occupied_since"].as_str().is_some(), "{k}");
        }
        let stats = sim.sim.stats();
        assert_eq!(stats.dashboard_requests, 0, "{stats:?}");
    }

    #[tokio::test]
    async fn ending_empties_the_room_in_the_presence_table_at_once() {
        let (sim, page, store) = setup().await;
        let now = unix_millis(SystemTime::now());
        store
            .apply(DEMO_MEETING_ID, &joined("Ana", now - 60_000))
            .await
            .unwrap();
        let (status, body) = call(&page, end("kitchen", ADMIN_KEY)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(store.read(DEMO_MEETING_ID).await.unwrap().count, 0);
        let (_, body) = call(&page, get_rooms(VIEWER_KEY)).await;
        assert_eq!(room(&body, "kitchen")["count"], 0);
        assert_eq!(sim.sim.ended().len(), 1);
    }
}
