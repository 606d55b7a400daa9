//! `doctor`, `room create` and `status` run as the built binary against the
//! Zoom simulator (in-process, over HTTP) and moto.

mod common;

use common::*;
use serde_json::{Value, json};
use zoom_sim::{
    DEMO_LOUNGE_MEETING_ID, DEMO_MEETING_ID, DEMO_TECH_USER, MeetingUpdate, Sim, SimHandle,
};

const DEVICE_KEY: &str = "demo-device-key-0001-abcdef";
const VIEWER_KEY: &str = "demo-viewer-key-0001-abcdef";
const WEBHOOK_TOKEN: &str = "demo-webhook-secret-token";

fn secret_json(client_secret: &str, webhook: Option<&str>) -> String {
    let mut v = json!({
        "account_id": zoom_sim::DEMO_ACCOUNT_ID,
        "client_id": zoom_sim::DEMO_CLIENT_ID,
        "client_secret": client_secret,
        "devices": {"desk": {"key": DEVICE_KEY, "owner": "alice@example.com", "room": "kitchen"}},
        "viewers": {"ann": {"key": VIEWER_KEY, "admin": true}},
    });
    if let Some(w) = webhook {
        v["webhook_secret_token"] = json!(w);
    }
    v.to_string()
}

fn never_printed() -> Vec<&'static str> {
    vec![
        zoom_sim::DEMO_CLIENT_SECRET,
        DEVICE_KEY,
        VIEWER_KEY,
        WEBHOOK_TOKEN,
    ]
}

/// `kitchenctl room create ROOM --host HOST` with `extra` arguments.
async fn room_create(env: &[(String, String)], room: &str, host: &str, extra: &[&str]) -> Run {
    let mut args = vec!["room", "create", room, "--host", host];
    args.extend_from_slice(extra);
    ctl(env, &args).await
}

/// The demo: the simulator's two rooms, the secret in moto, a presence table.
struct Demo {
    sim: SimHandle,
    env: Vec<(String, String)>,
}

async fn demo_with(secret: &str) -> Demo {
    let moto = moto_endpoint();
    let sim = Sim::demo().spawn().await;
    let id = unique("ctl-doctor");
    create_secret(&moto, &id, secret).await;
    let table = unique("ctl-presence");
    kitchen::presence::PresenceStore::new(&sdk_config(&moto).await, &table)
        .create_table()
        .await
        .expect("presence table");
    let rooms = json!({"kitchen": DEMO_MEETING_ID, "lounge": DEMO_LOUNGE_MEETING_ID}).to_string();
    let env = with(
        &aws_env(&moto),
        &[
            ("ZOOM_SECRET_ID", &id),
            ("ZOOM_API_URL", &sim.api_url()),
            ("ZOOM_OAUTH_URL", &sim.oauth_url()),
            ("ZOOM_TECH_USER", DEMO_TECH_USER),
            ("KITCHEN_ROOMS", &rooms),
            ("KITCHEN_PRESENCE_TABLE", &table),
            ("KITCHEN_COUNT_SOURCE", "auto"),
        ],
    );
    Demo { sim, env }
}

async fn demo() -> Demo {
    demo_with(&secret_json(
        zoom_sim::DEMO_CLIENT_SECRET,
        Some(WEBHOOK_TOKEN),
    ))
    .await
}

fn check<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {doc}"))
}

fn failed(doc: &Value) -> Vec<String> {
    doc["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_is_green_on_the_demo() {
    let d = demo().await;
    let run = ctl(&d.env, &["doctor", "--json"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    run.assert_no_secrets(&never_printed());
    let doc = run.json();
    assert_eq!(doc["ok"], true, "{doc}");
    for c in doc["checks"].as_array().unwrap() {
        assert_eq!(c["ok"], true, "{c}");
        assert!(c["detail"].as_str().is_some_and(|s| !s.is_empty()), "{c}");
        assert_eq!(
            c.as_object().unwrap().len(),
            4,
            "name, ok, detail, fix: {c}"
        );
    }
    for name in [
        "rooms",
        "secret",
        "webhook secret token",
        "zoom token",
        "scopes: invite (join link by Team Chat)",
        "scopes: count from the dashboard",
        "scopes: reconcile",
        "scopes: the page's End button",
        "scopes: notices and announce (Team Chat)",
        "tech user",
        "room kitchen",
        "room lounge",
        "presence table",
        "presence kitchen",
        "presence lounge",
    ] {
        check(&doc, name);
    }
    let kitchen = check(&doc, "room kitchen")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        kitchen.contains("type 3") && kitchen.contains("waiting room ON"),
        "{kitchen}"
    );
    assert!(
        check(&doc, "room lounge")["detail"]
            .as_str()
            .unwrap()
            .contains("waiting room off")
    );
    assert!(
        check(&doc, "secret")["detail"]
            .as_str()
            .unwrap()
            .contains("1 device(s), 1 viewer(s)")
    );

    let human = ctl(&d.env, &["doctor"]).await;
    assert_eq!(human.status, 0, "{human:?}");
    assert!(human.stdout.ends_with("All checks passed.\n"), "{human:?}");
    human.assert_no_secrets(&never_printed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_a_missing_scope_and_the_feature() {
    let d = demo().await;
    let scopes: Vec<String> = zoom_sim::DEMO_SCOPES
        .iter()
        .filter(|s| {
            **s != "meeting:update:status:admin" && **s != "team_chat:write:user_message:admin"
        })
        .map(|s| s.to_string())
        .collect();
    d.sim.sim.set_scopes(scopes);
    let run = ctl(&d.env, &["doctor", "--json"]).await;
    assert_eq!(run.status, 1, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["ok"], false);
    let mut failures = failed(&doc);
    failures.sort();
    assert_eq!(
        failures,
        [
            "scopes: invite (join link by Team Chat)",
            "scopes: notices and announce (Team Chat)",
            "scopes: the page's End button",
        ]
    );
    let end = check(&doc, "scopes: the page's End button");
    let detail = end["detail"].as_str().unwrap();
    assert!(
        detail.contains("meeting:update:status:admin") && detail.contains("meeting:write:admin"),
        "{detail}"
    );
    assert!(end["fix"].as_str().unwrap().contains("Scopes"));
    let invite = check(&doc, "scopes: invite (join link by Team Chat)")["detail"]
        .as_str()
        .unwrap();
    assert!(
        invite.contains("team_chat:write:user_message:admin")
            && invite.contains("chat_message:write:admin"),
        "{invite}"
    );
    assert!(
        !invite.contains("meeting:read"),
        "only what is missing: {invite}"
    );

    let human = ctl(&d.env, &["doctor"]).await;
    assert_eq!(human.status, 1);
    assert!(
        human.stdout.contains("FAIL scopes: the page's End button"),
        "{human:?}"
    );
    assert!(human.stdout.ends_with("3 check(s) failed.\n"), "{human:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_flags_a_meeting_of_the_wrong_type_and_settings() {
    let d = demo().await;
    assert!(d.sim.sim.update_meeting(
        DEMO_LOUNGE_MEETING_ID,
        &MeetingUpdate {
            kind: Some(2),
            join_before_host: Some(false),
            ..MeetingUpdate::default()
        }
    ));
    let run = ctl(&d.env, &["doctor", "--json"]).await;
    assert_eq!(run.status, 1, "{run:?}");
    let doc = run.json();
    assert_eq!(failed(&doc), ["room lounge"]);
    let lounge = check(&doc, "room lounge");
    let detail = lounge["detail"].as_str().unwrap();
    assert!(detail.contains("type 2 (scheduled)"), "{detail}");
    assert!(detail.contains("join before host is off"), "{detail}");
    assert!(
        lounge["fix"]
            .as_str()
            .unwrap()
            .contains("kitchenctl room create lounge --host kitchen-bot@example.com")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_what_is_missing_from_the_secret_and_config() {
    // No webhook token while the count uses presence; an unknown meeting.
    let d = demo_with(&secret_json(zoom_sim::DEMO_CLIENT_SECRET, None)).await;
    let env = with(
        &d.env,
        &[(
            "KITCHEN_ROOMS",
            r#"{"kitchen":"85746065432","attic":"99999999999"}"#,
        )],
    );
    let run = ctl(&env, &["doctor", "--json"]).await;
    assert_eq!(run.status, 1, "{run:?}");
    let doc = run.json();
    let mut failures = failed(&doc);
    failures.sort();
    assert_eq!(failures, ["room attic", "webhook secret token"]);
    assert!(
        check(&doc, "webhook secret token")["detail"]
            .as_str()
            .unwrap()
            .contains("\"webhook_secret_token\"")
    );
    assert!(
        check(&doc, "room attic")["detail"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
    // The same secret is fine for a dashboard-only count.
    let env = with(&env, &[("KITCHEN_COUNT_SOURCE", "dashboard")]);
    let doc = ctl(&env, &["doctor", "--json"]).await.json();
    assert_eq!(check(&doc, "webhook secret token")["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_when_zoom_refuses_the_credentials() {
    let d = demo_with(&secret_json("wrong-client-secret", Some(WEBHOOK_TOKEN))).await;
    let run = ctl(&d.env, &["doctor", "--json"]).await;
    assert_eq!(run.status, 1, "{run:?}");
    run.assert_no_secrets(&["wrong-client-secret"]);
    let doc = run.json();
    let token = check(&doc, "zoom token");
    assert_eq!(token["ok"], false);
    assert!(
        token["detail"]
            .as_str()
            .unwrap()
            .contains("Zoom refused the app's credentials"),
        "{token}"
    );
    assert!(token["fix"].as_str().unwrap().contains("client_secret"));

    let run = room_create(&d.env, "patio", DEMO_TECH_USER, &["--json"]).await;
    assert_eq!(run.status, 1, "{run:?}");
    assert_eq!(run.json()["error"], "zoom_credentials_rejected");
    run.assert_no_secrets(&["wrong-client-secret"]);
    let human = room_create(&d.env, "patio", DEMO_TECH_USER, &[]).await;
    assert_eq!(human.status, 1);
    assert!(
        human
            .stderr
            .starts_with("kitchenctl: Zoom refused the app's credentials"),
        "{human:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_create_then_rerun_reports_the_same_meeting() {
    let d = demo().await;
    let run = room_create(&d.env, "patio", DEMO_TECH_USER, &["--json"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["created"], true);
    assert_eq!(doc["topic"], "Coffee Kitchen: patio");
    let id = doc["meeting_id"].as_str().unwrap().to_owned();
    assert!(doc["join_url"].as_str().unwrap().starts_with("https://"));
    let rooms: Value = serde_json::from_str(doc["rooms"].as_str().unwrap()).unwrap();
    assert_eq!(
        rooms,
        json!({"kitchen": DEMO_MEETING_ID, "lounge": DEMO_LOUNGE_MEETING_ID, "patio": id})
    );

    let again = room_create(&d.env, "patio", DEMO_TECH_USER, &["--json"]).await;
    assert_eq!(again.status, 0, "{again:?}");
    assert_eq!(again.json()["created"], false);
    assert_eq!(again.json()["meeting_id"], id.as_str());
    let human = room_create(&d.env, "patio", DEMO_TECH_USER, &[]).await;
    assert!(
        human.stdout.contains("already has its meeting"),
        "{human:?}"
    );
    assert!(human.stdout.contains("Deploy with Rooms='"), "{human:?}");

    // The meeting is what a permanent room needs: doctor passes it.
    let rooms = doc["rooms"].as_str().unwrap().to_owned();
    let env = with(&d.env, &[("KITCHEN_ROOMS", &rooms)]);
    let doc = ctl(&env, &["doctor", "--json"]).await.json();
    let patio = check(&doc, "room patio");
    assert_eq!(patio["ok"], true, "{patio}");
    assert!(
        patio["detail"]
            .as_str()
            .unwrap()
            .contains("waiting room off")
    );

    // Another topic is another meeting.
    let other = room_create(
        &d.env,
        "patio",
        DEMO_TECH_USER,
        &["--topic", "Patio", "--json"],
    )
    .await;
    assert_eq!(other.json()["created"], true);
    assert_ne!(other.json()["meeting_id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_create_errors() {
    let d = demo().await;
    let scopes: Vec<String> = zoom_sim::DEMO_SCOPES
        .iter()
        .filter(|s| **s != "meeting:write:meeting:admin")
        .map(|s| s.to_string())
        .collect();
    d.sim.sim.set_scopes(scopes);
    let run = room_create(&d.env, "patio", DEMO_TECH_USER, &["--json"]).await;
    assert_eq!(run.status, 1, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["error"], "zoom_missing_scope");
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("meeting:write:meeting:admin"),
        "{doc}"
    );

    let run = room_create(&d.env, "patio", "nobody@example.com", &["--json"]).await;
    assert_eq!(run.status, 1, "{run:?}");
    assert_eq!(run.json()["error"], "zoom_user_not_found");

    let run = room_create(&d.env, "Bad Name", DEMO_TECH_USER, &["--json"]).await;
    assert_eq!(run.status, 2, "{run:?}");
    assert_eq!(run.json()["error"], "invalid_room");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_each_room() {
    let d = demo().await;
    let expected = {
        let entries: Vec<kitchen::participants::Participant> = d
            .sim
            .sim
            .participants(DEMO_MEETING_ID)
            .into_iter()
            .map(|v| serde_json::from_value(v).expect("participant"))
            .collect();
        kitchen::participants::present_people(&entries).count()
    };
    assert!(expected > 0);
    // auto with no webhook yet: presence is stale, the count comes from the dashboard.
    let run = ctl(&d.env, &["status", "--json"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["count_source"], "auto");
    let rooms = doc["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 2);
    let kitchen = rooms.iter().find(|r| r["room"] == "kitchen").unwrap();
    assert_eq!(kitchen["count"], expected);
    assert_eq!(kitchen["source"], "dashboard");
    assert_eq!(kitchen["last_webhook_ms"], Value::Null);
    let lounge = rooms.iter().find(|r| r["room"] == "lounge").unwrap();
    assert_eq!(lounge["count"], 0);

    // presence only: the table's view, stale since no webhook ever came.
    let env = with(&d.env, &[("KITCHEN_COUNT_SOURCE", "presence")]);
    let run = ctl(&env, &["status"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    assert!(
        run.stdout.contains("kitchen") && run.stdout.contains("from presence"),
        "{run:?}"
    );
    assert!(run.stdout.contains("STALE (no webhook yet)"), "{run:?}");
    run.assert_no_secrets(&never_printed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_commands_without_credentials_or_aws() {
    let moto = moto_endpoint();
    let run = ctl(&aws_env(&moto), &["doctor", "--json"]).await;
    assert_eq!(run.status, 2, "{run:?}");
    assert_eq!(run.json()["error"], "no_credentials");
    let human = ctl(&aws_env(&moto), &["status"]).await;
    assert_eq!(human.status, 2, "{human:?}");
    assert!(
        human
            .stderr
            .starts_with("kitchenctl: configuration error: KITCHEN_ROOMS"),
        "{human:?}"
    );

    // Secrets Manager unreachable: doctor reports it as the secret check.
    let env = with(
        &aws_env("http://127.0.0.1:9"),
        &[
            ("ZOOM_SECRET_ID", "x"),
            ("ZOOM_MEETING_ID", DEMO_MEETING_ID),
            ("KITCHEN_COUNT_SOURCE", "dashboard"),
        ],
    );
    let run = ctl(&env, &["doctor", "--json"]).await;
    assert_eq!(run.status, 1, "{run:?}");
    let doc = run.json();
    let secret = check(&doc, "secret");
    assert_eq!(secret["ok"], false);
    assert!(
        secret["detail"]
            .as_str()
            .unwrap()
            .contains("Secrets Manager at http://127.0.0.1:9"),
        "{secret}"
    );
}

/// Plays the webhook function's part for the simulator's deliveries: parse
/// the event with the library and store it in the presence table.
async fn presence_receiver(moto: &str, table: &str) -> String {
    let store = kitchen::presence::PresenceStore::new(&sdk_config(moto).await, table);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/zoom/webhook",
        listener.local_addr().expect("addr")
    );
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let store = store.clone();
        async move {
            let event = kitchen::webhook::parse_event(&body).expect("the simulator's event parses");
            let meeting = event.meeting_id().expect("a meeting event").to_owned();
            store.apply(&meeting, &event).await.expect("stored");
            "ok"
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

fn env_value<'a>(env: &'a [(String, String)], key: &str) -> &'a str {
    env.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .expect(key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_doctor_read_presence_activity() {
    let moto = moto_endpoint();
    let d = demo().await;
    let table = env_value(&d.env, "KITCHEN_PRESENCE_TABLE").to_owned();
    let receiver = presence_receiver(&moto, &table).await;
    d.sim
        .sim
        .set_webhook_target(Some(receiver), Some(WEBHOOK_TOKEN.into()));
    let joined = d
        .sim
        .sim
        .join(zoom_sim::JoinSpec {
            name: "Zed".into(),
            email: Some("erin@example.com".into()),
            room: Some("kitchen".into()),
            ..Default::default()
        })
        .await
        .expect("join");
    assert_eq!(joined.webhook.and_then(|w| w.status), Some(200));
    // Reconcile last ran two hours ago in the lounge.
    let store = kitchen::presence::PresenceStore::new(&sdk_config(&moto).await, &table);
    let two_hours_ago = kitchen::time::unix_millis(std::time::SystemTime::now()) - 2 * 3600 * 1000;
    store
        .repair(DEMO_LOUNGE_MEETING_ID, &[], two_hours_ago)
        .await
        .expect("repair");

    // auto: the kitchen has a fresh webhook, so its count comes from presence.
    let run = ctl(&d.env, &["status", "--json"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    let doc = run.json();
    let rooms = doc["rooms"].as_array().unwrap();
    let kitchen = rooms.iter().find(|r| r["room"] == "kitchen").unwrap();
    assert_eq!(kitchen["source"], "presence", "{doc}");
    assert_eq!(
        kitchen["count"], 1,
        "only the webhook's person is in the table: {doc}"
    );
    assert_eq!(kitchen["stale"], false);
    assert!(kitchen["last_webhook_ms"].as_u64().is_some());
    let lounge = rooms.iter().find(|r| r["room"] == "lounge").unwrap();
    assert_eq!(lounge["source"], "dashboard");
    let reconciled = lounge["last_reconcile_ms"].as_u64().expect("reconciled");
    assert!(
        reconciled.abs_diff(two_hours_ago) < 1000,
        "{reconciled} vs {two_hours_ago}"
    );
    let human = ctl(&d.env, &["status"]).await;
    assert!(
        human.stdout.contains("from presence   fresh; last webhook"),
        "{human:?}"
    );
    assert!(human.stdout.contains("last reconcile 2 h ago"), "{human:?}");

    let run = ctl(&d.env, &["doctor", "--json"]).await;
    assert_eq!(run.status, 1, "{run:?}");
    let doc = run.json();
    assert_eq!(failed(&doc), ["presence lounge"]);
    let kitchen = check(&doc, "presence kitchen")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        kitchen.contains("1 counted; last webhook") && kitchen.contains("s ago"),
        "{kitchen}"
    );
    let lounge = check(&doc, "presence lounge");
    assert!(
        lounge["detail"]
            .as_str()
            .unwrap()
            .contains("reconcile has stopped"),
        "{lounge}"
    );
    assert!(lounge["fix"].as_str().unwrap().contains("reconcile"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announce_messages_everyone_in_the_room() {
    let d = demo().await;
    let run = ctl(
        &d.env,
        &[
            "announce",
            "kitchen",
            "Cake in the real kitchen in five minutes",
            "--json",
        ],
    )
    .await;
    assert_eq!(run.status, 0, "{run:?}");
    run.assert_no_secrets(&never_printed());
    let doc = run.json();
    let mut sent: Vec<String> = doc["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["email"].as_str().unwrap().to_owned())
        .collect();
    sent.sort();
    let messages = d.sim.sim.messages();
    let mut received: Vec<String> = messages.iter().map(|m| m.to_contact.clone()).collect();
    received.sort();
    assert!(!sent.is_empty());
    assert_eq!(sent, received);
    assert!(
        messages
            .iter()
            .all(|m| m.message == "Cake in the real kitchen in five minutes"
                && m.user_id == DEMO_TECH_USER)
    );
    assert_eq!(doc["failed"], json!([]));

    let empty = ctl(&d.env, &["announce", "lounge", "Anyone?", "--json"]).await;
    assert_eq!(empty.status, 1, "{empty:?}");
    assert_eq!(empty.json()["error"], "room_empty");
    let unknown = ctl(&d.env, &["announce", "attic", "Anyone?", "--json"]).await;
    assert_eq!(unknown.status, 2, "{unknown:?}");
    assert_eq!(unknown.json()["error"], "unknown_room");
    let long = "x".repeat(1025);
    let too_long = ctl(&d.env, &["announce", "kitchen", &long, "--json"]).await;
    assert_eq!(too_long.status, 2, "{too_long:?}");
    assert_eq!(too_long.json()["error"], "invalid_message");
    assert_eq!(
        d.sim.sim.messages().len(),
        messages.len(),
        "nothing more was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_when_the_presence_table_is_missing() {
    let d = demo().await;
    let env = with(&d.env, &[("KITCHEN_PRESENCE_TABLE", "no-such-table")]);
    let run = ctl(&env, &["doctor", "--json"]).await;
    assert_eq!(run.status, 1, "{run:?}");
    let doc = run.json();
    assert_eq!(failed(&doc), ["presence table"]);
    let table = check(&doc, "presence table");
    assert!(
        table["detail"]
            .as_str()
            .unwrap()
            .contains("\"no-such-table\""),
        "{table}"
    );
    assert!(
        table["fix"]
            .as_str()
            .unwrap()
            .contains("KITCHEN_PRESENCE_TABLE")
    );
    // status cannot answer for presence rooms without it: a clear error, exit 1.
    let run = ctl(
        &with(&env, &[("KITCHEN_COUNT_SOURCE", "presence")]),
        &["status", "--json"],
    )
    .await;
    assert_eq!(run.status, 1, "{run:?}");
    assert_eq!(run.json()["error"], "presence_unavailable");
}
