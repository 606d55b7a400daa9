//! Drives a spawned simulator over real HTTP.

mod common;

use std::time::{Duration, Instant};

use common::{client, get, headcount, token, token_url};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use zoom_sim::{
    DEMO_ACCOUNT_ID, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_MEETING_ID, DEMO_TECH_USER, Endpoint,
    Fault, Sim, SimConfig, SimHandle,
};

async fn chat(
    c: &Client,
    h: &SimHandle,
    tok: &str,
    user: &str,
    body: Value,
) -> (StatusCode, Value) {
    let r = c
        .post(format!("{}/chat/users/{user}/messages", h.api_url()))
        .bearer_auth(tok)
        .json(&body)
        .send()
        .await
        .expect("chat request");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn meeting_url(h: &SimHandle, id: &str) -> String {
    format!("{}/meetings/{id}", h.api_url())
}

fn dashboard_url(h: &SimHandle, id: &str, query: &str) -> String {
    format!(
        "{}/metrics/meetings/{id}/participants?type=live{query}",
        h.api_url()
    )
}

#[test]
fn demo_account_is_the_one_kitchen_testing_uses() {
    use kitchen::testing as t;
    assert_eq!(
        (
            t::DEMO_ACCOUNT_ID,
            t::DEMO_CLIENT_ID,
            t::DEMO_CLIENT_SECRET,
            t::DEMO_MEETING_ID
        ),
        (
            DEMO_ACCOUNT_ID,
            DEMO_CLIENT_ID,
            DEMO_CLIENT_SECRET,
            DEMO_MEETING_ID
        )
    );
}

#[tokio::test]
async fn issues_tokens_and_rejects_bad_credentials() {
    let h = Sim::demo().spawn().await;
    let c = client();

    let r = c
        .post(token_url(&h.oauth_url(), DEMO_ACCOUNT_ID))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 3599);
    assert_eq!(v["api_url"], "https://api.zoom.us");
    assert_eq!(v["scope"], zoom_sim::DEMO_SCOPES.join(" "));
    let first = v["access_token"].as_str().unwrap().to_owned();
    assert!(first.len() > 40);

    // A second token does not invalidate the first.
    let second = token(&c, &h).await;
    assert_ne!(first, second);
    for t in [&first, &second] {
        let (s, _) = get(&c, &meeting_url(&h, DEMO_MEETING_ID), t).await;
        assert_eq!(s, StatusCode::OK);
    }

    // Refusals: (token URL, basic auth, expected answer).
    let bad_grant = format!(
        "{}?grant_type=client_credentials&account_id={DEMO_ACCOUNT_ID}",
        h.oauth_url()
    );
    let secret = Some(DEMO_CLIENT_SECRET);
    let cases = [
        (
            token_url(&h.oauth_url(), DEMO_ACCOUNT_ID),
            Some((DEMO_CLIENT_ID, Some("wrong"))),
            json!({"reason": "Invalid client_id or client_secret", "error": "invalid_client"}),
        ),
        (
            token_url(&h.oauth_url(), DEMO_ACCOUNT_ID),
            None,
            json!("invalid_client"),
        ),
        (
            token_url(&h.oauth_url(), "someone-else"),
            Some((DEMO_CLIENT_ID, secret)),
            json!("invalid_request"),
        ),
        (
            bad_grant,
            Some((DEMO_CLIENT_ID, secret)),
            json!("invalid_request"),
        ),
    ];
    for (url, auth, expected) in cases {
        let mut req = c.post(&url);
        if let Some((id, secret)) = auth {
            req = req.basic_auth(id, secret);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{url}");
        let v: Value = r.json().await.unwrap();
        // A whole body where given, else its "error".
        let got = if expected.is_object() {
            v
        } else {
            v["error"].clone()
        };
        assert_eq!(got, expected, "{url} {auth:?}");
    }

    assert_eq!(h.sim.stats().token_requests, 6);
}

#[tokio::test]
async fn api_calls_need_a_valid_token() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let invalid = json!({"code": 124, "message": "Invalid access token."});

    let r = c
        .get(meeting_url(&h, DEMO_MEETING_ID))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap(), invalid);

    let (s, v) = get(&c, &meeting_url(&h, DEMO_MEETING_ID), "guessed").await;
    assert_eq!((s, v), (StatusCode::UNAUTHORIZED, invalid.clone()));

    let tok = token(&c, &h).await;
    let (s, _) = get(&c, &dashboard_url(&h, DEMO_MEETING_ID, ""), &tok).await;
    assert_eq!(s, StatusCode::OK);
    h.sim.revoke_tokens();
    let (s, v) = get(&c, &dashboard_url(&h, DEMO_MEETING_ID, ""), &tok).await;
    assert_eq!((s, v), (StatusCode::UNAUTHORIZED, invalid.clone()));
    let (s, v) = chat(
        &c,
        &h,
        &tok,
        DEMO_TECH_USER,
        json!({"message": "hi", "to_contact": "alice@example.com"}),
    )
    .await;
    assert_eq!((s, v), (StatusCode::UNAUTHORIZED, invalid.clone()));

    // A fresh token works again.
    let tok = token(&c, &h).await;
    let (s, _) = get(&c, &meeting_url(&h, DEMO_MEETING_ID), &tok).await;
    assert_eq!(s, StatusCode::OK);

    let st = h.sim.stats();
    assert_eq!(st.unauthorized, 4);
    assert!(h.sim.messages().is_empty());
}

#[tokio::test]
async fn tokens_expire_server_side() {
    let h = Sim::demo().spawn().await;
    let c = client();
    h.sim.set_token_ttl(1);
    let r = c
        .post(token_url(&h.oauth_url(), DEMO_ACCOUNT_ID))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["expires_in"], 1);
    let tok = v["access_token"].as_str().unwrap().to_owned();
    let (s, _) = get(&c, &meeting_url(&h, DEMO_MEETING_ID), &tok).await;
    assert_eq!(s, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, v) = get(&c, &meeting_url(&h, DEMO_MEETING_ID), &tok).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], 124);
}

#[tokio::test]
async fn meeting_object_follows_the_spec() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let tok = token(&c, &h).await;

    let (s, m) = get(&c, &meeting_url(&h, DEMO_MEETING_ID), &tok).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(m["id"], json!(85_746_065_432_i64));
    assert_eq!(m["type"], 3);
    assert_eq!(m["topic"], "Coffee Kitchen");
    assert_eq!(m["status"], "started");
    assert_eq!(m["host_email"], DEMO_TECH_USER);
    assert!(m["uuid"].as_str().unwrap().ends_with("=="));
    assert!(!m["host_id"].as_str().unwrap().is_empty());
    assert!(
        m["join_url"]
            .as_str()
            .unwrap()
            .starts_with("https://us02web.zoom.us/j/85746065432?pwd=")
    );
    assert_eq!(m["settings"]["join_before_host"], true);

    // Also reachable by UUID.
    let uuid = m["uuid"].as_str().unwrap().to_owned();
    let by_uuid = format!(
        "{}/metrics/meetings/{}/participants",
        h.api_url(),
        uuid.replace('+', "%2B").replace('/', "%2F")
    );
    let (s, _) = get(&c, &by_uuid, &tok).await;
    assert_eq!(s, StatusCode::OK);

    h.sim.set_meeting_running(DEMO_MEETING_ID, false);
    let (_, m) = get(&c, &meeting_url(&h, DEMO_MEETING_ID), &tok).await;
    assert_eq!(m["status"], "waiting");

    let (s, v) = get(&c, &meeting_url(&h, "123"), &tok).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        v,
        json!({"code": 3001, "message": "Meeting does not exist: 123."})
    );
    assert_eq!(h.sim.stats().meeting_requests, 3);
}

#[tokio::test]
async fn dashboard_paginates_every_entry_once() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let tok = token(&c, &h).await;

    let mut seen = Vec::new();
    let mut next = String::new();
    let mut pages = 0;
    loop {
        let q = if next.is_empty() {
            "&page_size=2".to_owned()
        } else {
            format!("&page_size=2&next_page_token={next}")
        };
        let (s, v) = get(&c, &dashboard_url(&h, DEMO_MEETING_ID, &q), &tok).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        pages += 1;
        assert_eq!(v["page_size"], 2);
        assert_eq!(v["total_records"], 5);
        assert_eq!(v["page_count"], 3);
        let entries = v["participants"].as_array().unwrap();
        assert!(entries.len() <= 2);
        seen.extend(entries.iter().cloned());
        next = v["next_page_token"].as_str().unwrap().to_owned();
        if next.is_empty() {
            break;
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, h.sim.participants(DEMO_MEETING_ID));
    assert_eq!(headcount(seen.clone()), 3);
    for e in &seen {
        for key in [
            "id",
            "user_id",
            "participant_uuid",
            "user_name",
            "device",
            "join_time",
            "status",
        ] {
            assert!(e.get(key).is_some(), "{key} missing in {e}");
        }
    }

    // Default page size: everything on one page.
    let (_, v) = get(&c, &dashboard_url(&h, DEMO_MEETING_ID, ""), &tok).await;
    assert_eq!(v["page_size"], 30);
    assert_eq!(v["participants"].as_array().unwrap().len(), 5);
    assert_eq!(v["next_page_token"], "");
    assert_eq!(h.sim.stats().dashboard_requests, 4);

    let (s, v) = get(
        &c,
        &dashboard_url(&h, DEMO_MEETING_ID, "&page_size=301"),
        &tok,
    )
    .await;
    assert_eq!(
        (s, v["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(300))
    );
    let (s, v) = get(
        &c,
        &dashboard_url(&h, DEMO_MEETING_ID, "&next_page_token=forged"),
        &tok,
    )
    .await;
    assert_eq!(
        (s, v["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(300))
    );
}

#[tokio::test]
async fn dashboard_404_when_not_running_or_unknown() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let tok = token(&c, &h).await;
    let not_live = json!({"code": 3001, "message": "Meeting ID is invalid or has not ended."});

    h.sim.set_meeting_running(DEMO_MEETING_ID, false);
    let (s, v) = get(&c, &dashboard_url(&h, DEMO_MEETING_ID, ""), &tok).await;
    assert_eq!((s, v), (StatusCode::NOT_FOUND, not_live.clone()));

    let (s, v) = get(&c, &dashboard_url(&h, "99999999999", ""), &tok).await;
    assert_eq!((s, v), (StatusCode::NOT_FOUND, not_live.clone()));

    h.sim.set_meeting_running(DEMO_MEETING_ID, true);
    let (s, _) = get(&c, &dashboard_url(&h, DEMO_MEETING_ID, ""), &tok).await;
    assert_eq!(s, StatusCode::OK);

    // A custom, empty sim: meeting running with nobody in it.
    let h2 = Sim::new(SimConfig {
        meeting_id: "111".into(),
        ..SimConfig::default()
    })
    .spawn()
    .await;
    let tok2 = token(&c, &h2).await;
    let (s, v) = get(&c, &dashboard_url(&h2, "111", ""), &tok2).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["participants"], json!([]));
    assert_eq!(v["total_records"], 0);
    h2.sim.set_participants(
        "111",
        vec![json!({"user_name": "x", "status": "in_meeting"})],
    );
    let (_, v) = get(&c, &dashboard_url(&h2, "111", ""), &tok2).await;
    assert_eq!(
        v["participants"],
        json!([{"user_name": "x", "status": "in_meeting"}])
    );
}

#[tokio::test]
async fn chat_messages() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let tok = token(&c, &h).await;

    let (s, v) = chat(
        &c,
        &h,
        &tok,
        DEMO_TECH_USER,
        json!({"message": "Coffee is ready: https://zoom.us/j/1", "to_contact": "Alice@Example.com"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36);
    let msgs = h.sim.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].user_id, DEMO_TECH_USER);
    assert_eq!(msgs[0].to_contact, "Alice@Example.com");
    assert_eq!(msgs[0].message, "Coffee is ready: https://zoom.us/j/1");
    assert_eq!(msgs[0].id, id);

    let (s, _) = chat(
        &c,
        &h,
        &tok,
        "me",
        json!({"message": "hi", "to_contact": "bob@example.com"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);

    // Refusals, as Zoom answers them: the status and the body (or its code).
    let long = "x".repeat(1025);
    let refused = [
        (
            "someone@example.com",
            json!({"message": "hi", "to_contact": "bob@example.com"}),
            StatusCode::NOT_FOUND,
            json!({"code": 1001, "message": "User does not exist: someone@example.com."}),
        ),
        (
            DEMO_TECH_USER,
            json!({"message": "hi", "to_contact": "nobody@example.com"}),
            StatusCode::NOT_FOUND,
            json!({"code": 1001, "message": "User does not exist: nobody@example.com."}),
        ),
        (
            DEMO_TECH_USER,
            json!({"message": "hi", "to_contact": "stranger@example.com"}),
            StatusCode::BAD_REQUEST,
            json!({"code": 5301, "message": "Message sending failed."}),
        ),
        (
            DEMO_TECH_USER,
            json!({"message": long, "to_contact": "carol@example.com"}),
            StatusCode::BAD_REQUEST,
            json!(300),
        ),
        (
            DEMO_TECH_USER,
            json!({"message": "no recipient"}),
            StatusCode::BAD_REQUEST,
            json!(300),
        ),
        (
            DEMO_TECH_USER,
            json!({"to_contact": "carol@example.com"}),
            StatusCode::BAD_REQUEST,
            json!(300),
        ),
    ];
    for (user, body, status, answer) in refused {
        let (s, v) = chat(&c, &h, &tok, user, body.clone()).await;
        // A bare number is the body's code; an object the whole body.
        let got = if answer.is_number() {
            v["code"].clone()
        } else {
            v
        };
        assert_eq!((s, got), (status, answer), "{user} {body}");
    }
    let exactly = "é".repeat(1024); // characters, not bytes
    let (s, _) = chat(
        &c,
        &h,
        &tok,
        DEMO_TECH_USER,
        json!({"message": exactly, "to_contact": "carol@example.com"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);

    let r = c
        .post(format!("{}/chat/users/me/messages", h.api_url()))
        .bearer_auth(&tok)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 300);

    let st = h.sim.stats();
    assert_eq!(st.chat_requests, 10);
    assert_eq!(st.chat_delivered, 3);
    assert_eq!(h.sim.messages().len(), 3);
}

#[tokio::test]
async fn faults_are_consumed_fifo_per_endpoint() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let tok = token(&c, &h).await;
    let url = meeting_url(&h, DEMO_MEETING_ID);

    h.sim.push_fault(
        Endpoint::Meeting,
        Fault::Status {
            status: 503,
            body: json!({"code": 503, "message": "down"}),
        },
    );
    h.sim.push_fault(
        Endpoint::Meeting,
        Fault::RateLimit {
            retry_after: Some("2".into()),
        },
    );
    h.sim.push_fault(
        Endpoint::Dashboard,
        Fault::Status {
            status: 500,
            body: Value::Null,
        },
    );

    let r = c.get(&url).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"code": 503, "message": "down"})
    );

    let r = c.get(&url).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "2");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"code": 429, "message": "You have reached the maximum per-second rate limit for this API. Try again later."})
    );

    let (s, _) = get(&c, &url, &tok).await;
    assert_eq!(s, StatusCode::OK);

    // The dashboard fault waited for a dashboard request.
    let (s, v) = get(&c, &dashboard_url(&h, DEMO_MEETING_ID, ""), &tok).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(v["code"], 500);
    let (s, _) = get(&c, &dashboard_url(&h, DEMO_MEETING_ID, ""), &tok).await;
    assert_eq!(s, StatusCode::OK);

    // Faults apply before auth and to the token endpoint too; an HTTP-date Retry-After is verbatim.
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    h.sim.push_fault(
        Endpoint::Token,
        Fault::RateLimit {
            retry_after: Some(date.into()),
        },
    );
    let r = c
        .post(token_url(&h.oauth_url(), DEMO_ACCOUNT_ID))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], date);

    let st = h.sim.stats();
    assert_eq!(st.meeting_requests, 3);
    assert_eq!(st.dashboard_requests, 2);
    assert_eq!(st.token_requests, 2);
    assert_eq!(st.rate_limited, 2);
    assert_eq!(st.handled, 7);
}

#[tokio::test]
async fn sticky_fault_until_cleared() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let tok = token(&c, &h).await;
    let url = dashboard_url(&h, DEMO_MEETING_ID, "");

    h.sim.set_sticky_fault(
        Endpoint::Dashboard,
        Some(Fault::RateLimit { retry_after: None }),
    );
    for _ in 0..3 {
        let r = c.get(&url).bearer_auth(&tok).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().get("retry-after").is_none());
    }
    // A queued fault wins over the sticky one, once.
    h.sim.push_fault(
        Endpoint::Dashboard,
        Fault::Status {
            status: 502,
            body: Value::Null,
        },
    );
    let (s, _) = get(&c, &url, &tok).await;
    assert_eq!(s, StatusCode::BAD_GATEWAY);
    let (s, _) = get(&c, &url, &tok).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);

    h.sim.set_sticky_fault(Endpoint::Dashboard, None);
    let (s, _) = get(&c, &url, &tok).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.sim.stats().rate_limited, 4);
}

#[tokio::test]
async fn delay_latency_hang_and_drop() {
    let h = Sim::demo().spawn().await;
    let c = client();
    let tok = token(&c, &h).await;
    let url = meeting_url(&h, DEMO_MEETING_ID);
    h.sim.reset_stats();

    h.sim
        .push_fault(Endpoint::Meeting, Fault::Delay { ms: 300 });
    let t = Instant::now();
    let (s, _) = get(&c, &url, &tok).await;
    assert_eq!(s, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let st = h.sim.stats();
    assert_eq!(st.handled, 1);
    assert!(
        st.handler_nanos_total < 300_000_000,
        "delay must not count: {st:?}"
    );

    h.sim.set_latency(Duration::from_millis(200));
    let t = Instant::now();
    let (s, _) = get(&c, &url, &tok).await;
    assert_eq!(s, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(200));
    h.sim.set_latency(Duration::ZERO);

    h.sim.push_fault(Endpoint::Meeting, Fault::Hang);
    let err = c
        .get(&url)
        .bearer_auth(&tok)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .expect_err("hang must time out");
    assert!(err.is_timeout(), "{err}");

    h.sim.push_fault(Endpoint::Meeting, Fault::Drop);
    let err = c
        .get(&url)
        .bearer_auth(&tok)
        .send()
        .await
        .expect_err("drop must fail the request");
    assert!(!err.is_timeout(), "{err}");

    let (s, _) = get(&c, &url, &tok).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.sim.stats().meeting_requests, 5);
}

#[tokio::test]
async fn drop_also_fails_the_request_with_a_foreign_server() {
    let sim = Sim::demo();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = sim.clone().router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let c = client();
    sim.push_fault(Endpoint::Token, Fault::Drop);
    let res = c
        .post(format!(
            "{base}/oauth/token?grant_type=account_credentials&account_id={DEMO_ACCOUNT_ID}"
        ))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .send()
        .await;
    let failed = match res {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(failed, "a dropped answer must not be readable");
}

#[test]
fn faults_and_endpoints_serialize_as_documented() {
    let f = Fault::Status {
        status: 503,
        body: json!({"code": 1}),
    };
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"kind": "status", "status": 503, "body": {"code": 1}})
    );
    let parsed: Fault = serde_json::from_value(json!({"kind": "rate_limit"})).unwrap();
    assert_eq!(parsed, Fault::RateLimit { retry_after: None });
    let parsed: Fault = serde_json::from_value(json!({"kind": "delay", "ms": 5})).unwrap();
    assert_eq!(parsed, Fault::Delay { ms: 5 });
    for (k, f) in [("hang", Fault::Hang), ("drop", Fault::Drop)] {
        assert_eq!(serde_json::to_value(&f).unwrap(), json!({"kind": k}));
    }
    assert_eq!(
        serde_json::to_value(Endpoint::Dashboard).unwrap(),
        json!("dashboard")
    );
    let names: Vec<Value> = Endpoint::ALL
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "token",
            "meeting",
            "dashboard",
            "chat",
            "meeting_status",
            "user",
            "user_meetings"
        ]
    );
    let e: Endpoint = serde_json::from_value(json!("token")).unwrap();
    assert_eq!(e, Endpoint::Token);
}
