//! What the page, kitchenctl and notices rely on: rooms, ending a meeting,
//! users and their meetings, scopes, channel posts and a 429 part-way.

mod common;

use std::time::Duration;

use common::{admin, admin_get, call, client, headcount, spawn_receiver, token, token_response};
use reqwest::StatusCode;
use serde_json::{Value, json};
use zoom_sim::{
    DEMO_KITCHEN_CHANNEL, DEMO_LOUNGE_CHANNEL, DEMO_LOUNGE_MEETING_ID, DEMO_MEETING_ID,
    DEMO_TECH_USER, Sim, SimHandle,
};

/// People in a meeting, by the library's one rule.
fn count(h: &SimHandle, meeting_id: &str) -> usize {
    headcount(h.sim.participants(meeting_id))
}

#[tokio::test]
async fn two_rooms_join_and_leave_independently() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let rooms = admin_get(&c, &h, "rooms").await;
    assert_eq!(rooms[0]["room"], "kitchen");
    assert_eq!(rooms[0]["meeting_id"], DEMO_MEETING_ID);
    assert_eq!(rooms[0]["channel"], DEMO_KITCHEN_CHANNEL);
    assert_eq!(rooms[0]["running"], true);
    assert_eq!(rooms[1]["room"], "lounge");
    assert_eq!(rooms[1]["meeting_id"], DEMO_LOUNGE_MEETING_ID);
    assert_eq!(rooms[1]["channel"], DEMO_LOUNGE_CHANNEL);
    assert_eq!(rooms[1]["running"], false);
    assert!(
        rooms[1]["join_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://us02web.zoom.us/j/86190237415?pwd="))
    );

    let (s, _) = admin(
        &c,
        &h,
        "join",
        json!({"name": "Erin", "email": "erin@example.com", "room": "lounge"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // No room: the kitchen, as before rooms existed.
    let (s, _) = admin(&c, &h, "join", json!({"name": "Finn"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            count(&h, DEMO_MEETING_ID),
            count(&h, DEMO_LOUNGE_MEETING_ID)
        ),
        (4, 1)
    );
    assert_eq!(admin_get(&c, &h, "rooms").await[1]["running"], true);

    let (s, _) = admin(&c, &h, "leave", json!({"name": "erin", "room": "lounge"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            count(&h, DEMO_MEETING_ID),
            count(&h, DEMO_LOUNGE_MEETING_ID)
        ),
        (4, 0)
    );

    let (s, v) = admin(&c, &h, "join", json!({"name": "X", "room": "attic"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _) = admin(&c, &h, "leave", json!({"name": "Finn", "room": "lounge"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = admin(
        &c,
        &h,
        "join",
        json!({"name": "X", "room": "lounge", "meeting_id": "1"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn ending_a_meeting_empties_it_and_is_recorded() {
    let (rx, url) = spawn_receiver("").await;
    let h = Sim::demo().spawn().await;
    h.sim.set_webhook_target(Some(url), Some("whsec".into()));
    let c = client();
    let tok = token(&c, &h).await;
    let status_url = |id: &str| format!("{}/meetings/{id}/status", h.api_url());

    let (s, _) = call(
        &c,
        reqwest::Method::PUT,
        status_url(DEMO_MEETING_ID),
        &tok,
        Some(json!({"action": "end"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(count(&h, DEMO_MEETING_ID), 0);
    let (s, v) = call(
        &c,
        reqwest::Method::GET,
        format!(
            "{}/metrics/meetings/{DEMO_MEETING_ID}/participants?type=live",
            h.api_url()
        ),
        &tok,
        None,
    )
    .await;
    assert_eq!((s, v["code"].clone()), (StatusCode::NOT_FOUND, json!(3001)));
    let (_, m) = call(
        &c,
        reqwest::Method::GET,
        format!("{}/meetings/{DEMO_MEETING_ID}", h.api_url()),
        &tok,
        None,
    )
    .await;
    assert_eq!(m["status"], "waiting");

    // meeting.ended arrives (in the background, as from Zoom) and is recorded.
    let mut ended = Value::Null;
    for _ in 0..100 {
        ended = admin_get(&c, &h, "ended").await;
        if ended[0]["webhook"]["status"] == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ended.as_array().map(Vec::len), Some(1), "{ended}");
    assert_eq!(ended[0]["meeting_id"], DEMO_MEETING_ID);
    assert_eq!(ended[0]["room"], "kitchen");
    assert_eq!(
        ended[0]["participants_removed"], 4,
        "Alice, Bob, Carol and waiting Dave"
    );
    assert_eq!(ended[0]["webhook"]["status"], 200);
    let events = rx.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event"], "meeting.ended");
    assert_eq!(events[0]["payload"]["object"]["id"], DEMO_MEETING_ID);
    assert!(events[0]["payload"]["object"]["end_time"].is_string());

    // Not running any more, or never: Zoom's 3001; unknown: 3001; bad action: 300.
    for id in [DEMO_MEETING_ID, DEMO_LOUNGE_MEETING_ID, "123"] {
        let (s, v) = call(
            &c,
            reqwest::Method::PUT,
            status_url(id),
            &tok,
            Some(json!({"action": "end"})),
        )
        .await;
        assert_eq!(
            (s, v["code"].clone()),
            (StatusCode::NOT_FOUND, json!(3001)),
            "{id}: {v}"
        );
    }
    let (s, v) = call(
        &c,
        reqwest::Method::PUT,
        status_url(DEMO_MEETING_ID),
        &tok,
        Some(json!({"action": "stop"})),
    )
    .await;
    assert_eq!(
        (s, v["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(300))
    );
    assert_eq!(h.sim.ended().len(), 1);

    // The admin end answers with the delivery; ending twice is a conflict.
    admin(&c, &h, "join", json!({"name": "Erin", "room": "lounge"})).await;
    let (s, v) = admin(&c, &h, "end", json!({"room": "lounge"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["participants_removed"].clone(),
            v["webhook"]["status"].clone()
        ),
        (json!(1), json!(200))
    );
    let (s, _) = admin(&c, &h, "end", json!({"room": "lounge"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
}

#[tokio::test]
async fn users_and_their_meetings() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let tok = token(&c, &h).await;
    let get = |url: String| call(&c, reqwest::Method::GET, url, &tok, None);

    let (s, u) = get(format!("{}/users/{DEMO_TECH_USER}", h.api_url())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(u["email"], DEMO_TECH_USER);
    assert_eq!(u["status"], "active");
    let (s, v) = get(format!("{}/users/nobody@example.com", h.api_url())).await;
    assert_eq!((s, v["code"].clone()), (StatusCode::NOT_FOUND, json!(1001)));

    // The demo meetings are the permanent rooms.
    let (_, m) = get(format!("{}/meetings/{DEMO_LOUNGE_MEETING_ID}", h.api_url())).await;
    assert_eq!(
        (m["type"].clone(), m["topic"].clone()),
        (json!(3), json!("Coffee Lounge"))
    );
    assert_eq!(m["settings"]["join_before_host"], true);
    assert_eq!(m["settings"]["jbh_time"], 0);
    assert_eq!(m["settings"]["waiting_room"], false);

    let list_url = format!(
        "{}/users/{DEMO_TECH_USER}/meetings?type=scheduled",
        h.api_url()
    );
    let (s, v) = get(list_url.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["total_records"], 2);

    let create = json!({"topic": "Coffee focus", "type": 3,
        "settings": {"join_before_host": true, "jbh_time": 0, "waiting_room": false}});
    let (s, created) = call(
        &c,
        reqwest::Method::POST,
        format!("{}/users/{DEMO_TECH_USER}/meetings", h.api_url()),
        &tok,
        Some(create),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["type"], 3);
    assert_eq!(created["settings"]["join_before_host"], true);
    assert_eq!(created["settings"]["waiting_room"], false);
    let id = created["id"].as_i64().expect("numeric id").to_string();
    assert!(
        created["join_url"]
            .as_str()
            .is_some_and(|u| u.contains(&id))
    );
    let (_, again) = get(format!("{}/meetings/{id}", h.api_url())).await;
    assert_eq!(
        (again["topic"].clone(), again["status"].clone()),
        (json!("Coffee focus"), json!("waiting"))
    );

    let (_, v) = get(format!("{list_url}&page_size=2")).await;
    assert_eq!(v["total_records"], 3);
    let next = v["next_page_token"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, v2) = get(format!("{list_url}&page_size=2&next_page_token={next}")).await;
    let topics: Vec<Value> = v["meetings"]
        .as_array()
        .into_iter()
        .chain(v2["meetings"].as_array())
        .flatten()
        .map(|m| m["topic"].clone())
        .collect();
    assert!(topics.contains(&json!("Coffee focus")), "{topics:?}");
    assert!(
        v2["meetings"][0].get("status").is_none(),
        "list items carry no status"
    );
    let (_, live) = get(format!(
        "{}/users/{DEMO_TECH_USER}/meetings?type=live",
        h.api_url()
    ))
    .await;
    assert_eq!(live["total_records"], 1, "only the kitchen is running");

    // Zoom's defaults when the settings are left out; an admin change flags a wrong type.
    let (_, plain) = call(
        &c,
        reqwest::Method::POST,
        format!("{}/users/me/meetings", h.api_url()),
        &tok,
        Some(json!({"topic": "t"})),
    )
    .await;
    assert_eq!(
        (
            plain["type"].clone(),
            plain["settings"]["join_before_host"].clone()
        ),
        (json!(2), json!(false))
    );
    let (s, _) = admin(
        &c,
        &h,
        &format!("meetings/{DEMO_MEETING_ID}"),
        json!({"type": 2, "waiting_room": true, "join_before_host": false}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, m) = get(format!("{}/meetings/{DEMO_MEETING_ID}", h.api_url())).await;
    assert_eq!(
        (m["type"].clone(), m["settings"]["join_before_host"].clone()),
        (json!(2), json!(false))
    );
    let (s, _) = admin(&c, &h, "meetings/404", json!({"type": 3})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tokens_carry_their_scopes_and_a_missing_one_is_refused() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let full = token(&c, &h).await;
    let (s, _) = admin(
        &c,
        &h,
        "scopes",
        json!({"scopes": "meeting:read:admin dashboard_meetings:read:admin"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        admin_get(&c, &h, "scopes").await["scopes"],
        json!(["meeting:read:admin", "dashboard_meetings:read:admin"])
    );
    let t = token_response(&c, &h.oauth_url()).await;
    assert_eq!(
        t["scope"],
        "meeting:read:admin dashboard_meetings:read:admin"
    );
    let narrow = t["access_token"].as_str().expect("token").to_owned();

    // Classic names count as well as granular ones.
    let (s, _) = call(
        &c,
        reqwest::Method::GET,
        format!("{}/meetings/{DEMO_MEETING_ID}", h.api_url()),
        &narrow,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let end = format!("{}/meetings/{DEMO_MEETING_ID}/status", h.api_url());
    let (s, v) = call(
        &c,
        reqwest::Method::PUT,
        end.clone(),
        &narrow,
        Some(json!({"action": "end"})),
    )
    .await;
    assert_eq!(
        (s, v["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(4711))
    );
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("meeting:update:status:admin")),
        "{v}"
    );
    assert!(h.sim.ended().is_empty());
    // A token keeps what it was issued with.
    let (s, _) = call(
        &c,
        reqwest::Method::PUT,
        end,
        &full,
        Some(json!({"action": "end"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(h.sim.stats().missing_scope, 1);
}

#[tokio::test]
async fn channel_posts_and_a_429_part_way() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let tok = token(&c, &h).await;
    let url = format!("{}/chat/users/{DEMO_TECH_USER}/messages", h.api_url());
    let send = |body: Value| call(&c, reqwest::Method::POST, url.clone(), &tok, Some(body));

    let (s, v) = send(
        json!({"message": "☕ Someone is in the kitchen", "to_channel": DEMO_KITCHEN_CHANNEL}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = send(json!({"message": "x", "to_channel": "no-such-channel"})).await;
    assert_eq!((s, v["code"].clone()), (StatusCode::NOT_FOUND, json!(4130)));
    let (s, _) = send(json!({"message": "x", "to_channel": DEMO_KITCHEN_CHANNEL, "to_contact": "alice@example.com"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, _) = admin(&c, &h, "chat/rate-limit", json!({"after": 2})).await;
    assert_eq!(s, StatusCode::OK);
    let mut statuses = Vec::new();
    for to in [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "erin@example.com",
    ] {
        statuses.push(
            send(json!({"message": "cake in five", "to_contact": to}))
                .await
                .0
                .as_u16(),
        );
    }
    assert_eq!(statuses, [201, 201, 429, 429]);
    admin(&c, &h, "chat/rate-limit", json!({"after": null})).await;
    assert_eq!(
        send(json!({"message": "ok", "to_contact": "erin@example.com"}))
            .await
            .0,
        StatusCode::CREATED
    );

    let msgs = admin_get(&c, &h, "messages").await;
    let seen: Vec<(&str, &str)> = msgs
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["to_contact"].as_str().unwrap_or("?"),
                m["to_channel"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("", DEMO_KITCHEN_CHANNEL),
            ("alice@example.com", ""),
            ("bob@example.com", ""),
            ("erin@example.com", "")
        ]
    );
}
