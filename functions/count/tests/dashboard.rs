//! The count against the Zoom simulator: dashboard source, caching, backoff,
//! stale answers, device keys and the hostile corpus.

mod common;

use std::time::Duration;

use common::{SECOND, dashboard_count, get, plain, setup};
use count::handler::{Count, handle};
use kitchen::testing::{DEVICE_KEY, LogCapture, body_json, event, fixture, kitchen};
use serde_json::json;
use zoom_sim::{DEMO_MEETING_ID, Endpoint, Fault, Sim, SimHandle};

#[tokio::test]
async fn plain_integer_for_the_device_and_json_on_request() {
    let (logs, _guard) = LogCapture::start();
    let (_sim, state) = setup(10 * SECOND, 300 * SECOND).await;
    let resp = handle(&state, fixture("participant-count.json"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(resp.body().as_ref(), b"3");
    let (status, body) = body_json(
        handle(&state, fixture("participant-count-json.json"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            body["count"].as_u64(),
            body["meeting_id"].as_str(),
            body["stale"].as_bool()
        ),
        (Some(3), Some(DEMO_MEETING_ID), Some(false))
    );
    assert!(kitchen::time::parse_rfc3339(body["as_of"].as_str().unwrap()).is_some());
    assert!(
        body.get("names").is_none(),
        "names are private unless enabled"
    );
    logs.assert_no_secrets(&[]);
}

#[tokio::test]
async fn names_only_when_enabled() {
    let sim = Sim::demo().spawn().await;
    let state = dashboard_count(kitchen(&sim), 10 * SECOND, 300 * SECOND, true);
    let (_, body) = body_json(
        handle(&state, get().header("accept", "application/json").request())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["names"].as_array().map(Vec::len), Some(3));
    assert_eq!(body["source"], "dashboard");
}

#[tokio::test]
async fn one_dashboard_call_per_cache_period() {
    let (sim, state) = setup(10 * SECOND, 300 * SECOND).await;
    for _ in 0..50 {
        assert_eq!(plain(&state).await.1, "3");
    }
    assert_eq!(sim.sim.stats().dashboard_requests, 1);
    let (sim, state) = setup(Duration::ZERO, 300 * SECOND).await;
    for _ in 0..5 {
        plain(&state).await;
    }
    assert_eq!(sim.sim.stats().dashboard_requests, 5);
}

#[tokio::test]
async fn concurrent_requests_share_one_refresh() {
    let (sim, state) = setup(10 * SECOND, 300 * SECOND).await;
    let state = std::sync::Arc::new(state);
    sim.sim.set_latency(Duration::from_millis(50));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let state = state.clone();
        set.spawn(async move { plain(&state).await });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap().1, "3");
    }
    assert_eq!(sim.sim.stats().dashboard_requests, 1);
}

#[tokio::test]
async fn serves_stale_while_zoom_fails_then_recovers() {
    let (sim, state) = setup(Duration::ZERO, 300 * SECOND).await;
    assert_eq!(plain(&state).await, (200, "3".into(), "false".into()));
    sim.sim.set_participants(DEMO_MEETING_ID, vec![]);
    for fault in [
        Fault::Status {
            status: 503,
            body: json!({"code": 503, "message": "down"}),
        },
        Fault::RateLimit {
            retry_after: Some("1".into()),
        },
        Fault::Hang,
    ] {
        sim.sim.push_fault(Endpoint::Dashboard, fault);
        assert_eq!(plain(&state).await, (200, "3".into(), "true".into()));
        // Wait out the backoff (1 s at least) so the next fault is reached.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    sim.sim.push_fault(
        Endpoint::Dashboard,
        Fault::Status {
            status: 503,
            body: json!({}),
        },
    );
    let (_, body) = body_json(
        handle(&state, get().header("accept", "application/json").request())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (body["count"].as_u64(), body["stale"].as_bool()),
        (Some(3), Some(true))
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Zoom is back: the fresh value replaces the stale one.
    assert_eq!(plain(&state).await, (200, "0".into(), "false".into()));
}

#[tokio::test]
async fn beyond_the_stale_bound_the_error_is_returned() {
    let cases = [
        (
            Fault::Status {
                status: 500,
                body: json!({}),
            },
            502,
            "zoom_error",
        ),
        (
            Fault::RateLimit {
                retry_after: Some("12".into()),
            },
            429,
            "zoom_rate_limited",
        ),
        (Fault::Delay { ms: 1500 }, 502, "zoom_timeout"),
    ];
    for (fault, status, code) in cases {
        let (sim, state) = setup(Duration::ZERO, Duration::ZERO).await;
        assert_eq!(plain(&state).await.0, 200);
        sim.sim.push_fault(Endpoint::Dashboard, fault);
        let resp = handle(&state, get().request()).await.unwrap();
        if status == 429 {
            assert_eq!(resp.headers()["retry-after"].to_str().unwrap(), "12");
        }
        let (s, body) = body_json(resp).await;
        assert_eq!((s, body["error"].as_str()), (status, Some(code)));
    }
}

/// A 429 burst costs one Zoom call, not one per device request: the function
/// waits out Retry-After, serving the last count, then asks again.
#[tokio::test]
async fn rate_limit_burst_backs_off_then_recovers() {
    let (sim, state) = setup(Duration::ZERO, 300 * SECOND).await;
    assert_eq!(plain(&state).await.1, "3");
    sim.sim.set_sticky_fault(
        Endpoint::Dashboard,
        Some(Fault::RateLimit {
            retry_after: Some("1".into()),
        }),
    );
    for _ in 0..25 {
        assert_eq!(plain(&state).await, (200, "3".into(), "true".into()));
    }
    assert_eq!(
        sim.sim.stats().dashboard_requests,
        2,
        "one success, then one 429, then silence"
    );
    sim.sim.set_sticky_fault(Endpoint::Dashboard, None);
    sim.sim.set_participants(DEMO_MEETING_ID, vec![]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(plain(&state).await, (200, "0".into(), "false".into()));
    assert_eq!(sim.sim.stats().dashboard_requests, 3);
}

/// Without a count to fall back on, the backoff answers the remembered
/// error (with the remaining Retry-After) instead of calling Zoom again.
#[tokio::test]
async fn backoff_without_a_count_repeats_the_error() {
    let (sim, state) = setup(10 * SECOND, 300 * SECOND).await;
    every_call_is_429_from_one_dashboard_call(&sim, &state, "30", 5, 30).await;
}

/// With Zoom's dashboard answering 429 with `Retry-After: retry_after`, each
/// of `calls` requests answers 429 with a `Retry-After` of 1 to `at_most`
/// seconds, and only the first reached Zoom (the rest waited out the backoff).
async fn every_call_is_429_from_one_dashboard_call(
    sim: &SimHandle,
    state: &Count,
    retry_after: &str,
    calls: usize,
    at_most: u64,
) {
    sim.sim.set_sticky_fault(
        Endpoint::Dashboard,
        Some(Fault::RateLimit {
            retry_after: Some(retry_after.into()),
        }),
    );
    for _ in 0..calls {
        let resp = handle(state, get().request()).await.unwrap();
        assert_eq!(resp.status(), 429);
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=at_most).contains(&retry), "{retry}");
    }
    assert_eq!(sim.sim.stats().dashboard_requests, 1);
}

#[tokio::test]
async fn non_transient_errors_are_not_hidden_behind_stale_data() {
    let (sim, state) = setup(Duration::ZERO, 300 * SECOND).await;
    assert_eq!(plain(&state).await.0, 200);
    sim.sim.push_fault(
        Endpoint::Dashboard,
        Fault::Status {
            status: 400,
            body: json!({"code": 4711, "message": "scopes"}),
        },
    );
    let (status, body) = body_json(handle(&state, get().request()).await.unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("zoom_missing_scope"))
    );
}

#[tokio::test]
async fn meeting_not_running_is_zero() {
    let (sim, state) = setup(10 * SECOND, 300 * SECOND).await;
    sim.sim.set_meeting_running(DEMO_MEETING_ID, false);
    assert_eq!(plain(&state).await, (200, "0".into(), "false".into()));
}

#[tokio::test]
async fn methods_and_device_keys() {
    let (sim, state) = setup(10 * SECOND, 300 * SECOND).await;
    for (e, status, code) in [
        (
            event("POST", "/participant-count").device_key(DEVICE_KEY),
            405,
            "method_not_allowed",
        ),
        (
            event("GET", "/participant-count"),
            401,
            "invalid_device_key",
        ),
        (
            event("GET", "/participant-count").device_key("not-the-key-0123456789"),
            401,
            "invalid_device_key",
        ),
        (
            event("GET", "/participant-count").header("authorization", "Bearer"),
            401,
            "invalid_device_key",
        ),
    ] {
        let (s, body) = body_json(handle(&state, e.request()).await.unwrap()).await;
        assert_eq!((s, body["error"].as_str()), (status, Some(code)), "{body}");
    }
    assert_eq!(
        sim.sim.stats().dashboard_requests,
        0,
        "unauthenticated calls must not spend Zoom quota"
    );
}

#[tokio::test]
async fn device_auth_off_lets_legacy_firmware_in() {
    let sim = Sim::demo().spawn().await;
    let mut k = kitchen(&sim);
    k.config.device_auth = false;
    let state = dashboard_count(k, 10 * SECOND, 300 * SECOND, false);
    let resp = handle(&state, event("GET", "/participant-count").request())
        .await
        .unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.body().as_ref()),
        (200, b"3".as_slice())
    );
}

#[tokio::test]
async fn hostile_corpus_gets_4xx_json_and_the_function_keeps_serving() {
    let (logs, _guard) = LogCapture::start();
    let (sim, state) = setup(10 * SECOND, 300 * SECOND).await;
    let corpus = kitchen::testing::hostile_requests("/participant-count", "GET", false);
    assert!(corpus.len() >= 200, "only {} requests", corpus.len());
    for (label, e) in &corpus {
        let (status, body) = body_json(handle(&state, e.request()).await.unwrap()).await;
        kitchen::testing::assert_refused(label, status, &body);
    }
    assert_eq!(
        sim.sim.stats().dashboard_requests,
        0,
        "hostile requests must not spend Zoom quota"
    );
    assert_eq!(plain(&state).await.1, "3");
    logs.assert_no_secrets(&[]);
}

/// A `Retry-After` far beyond any real limit: capped, never an `Instant`
/// overflow (which panicked the function before the cap).
#[tokio::test]
async fn huge_retry_after_is_capped_not_a_panic() {
    let (sim, state) = setup(Duration::ZERO, Duration::ZERO).await;
    every_call_is_429_from_one_dashboard_call(&sim, &state, &u64::MAX.to_string(), 2, 86_400).await;
}

/// The request's deadline comes from the Lambda context: with 1.3 s left
/// (0.3 s after the margin) a slow Zoom is cut off there, before the HTTP
/// client's own 0.5 s timeout and the 2 s fallback budget, and the device gets
/// a clear 502 instead of a Lambda timeout.
#[tokio::test]
async fn the_lambda_deadline_bounds_the_whole_request() {
    use kitchen::lambda_http::{Context, RequestExt};
    let (sim, state) = setup(10 * SECOND, 300 * SECOND).await;
    sim.sim
        .push_fault(Endpoint::Dashboard, Fault::Delay { ms: 1500 });
    let mut ctx = Context::default();
    ctx.deadline = u64::try_from(
        (std::time::SystemTime::now() + Duration::from_millis(1300))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let resp = handle(&state, get().request().with_lambda_context(ctx))
        .await
        .unwrap();
    let took = started.elapsed();
    let (status, body) = body_json(resp).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("zoom_timeout"))
    );
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(450),
        "{took:?}"
    );
}
