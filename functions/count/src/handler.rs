//! `GET /participant-count`: how many people are in the kitchen right now.
//! Plain-text integer for the device (read with `atoi`), JSON on request.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use kitchen::app::Kitchen;
use kitchen::config::{CommonConfig, ConfigError, Env};
use kitchen::http::{ApiError, json_response, text_response};
use kitchen::lambda_http::http::{HeaderValue, Method, StatusCode};
use kitchen::lambda_http::{Body, Error, Request, Response};
use kitchen::participants::{Headcount, headcount};
use kitchen::request::wants_json;
use kitchen::time::format_rfc3339;
use serde::Serialize;
use tokio::sync::Mutex;

pub const STALE_HEADER: &str = "x-kitchen-stale";

#[derive(Debug)]
pub struct CountConfig {
    pub common: CommonConfig,
    /// Serve the last count without asking Zoom for this long (default 10 s).
    pub cache_for: Duration,
    /// When Zoom fails, serve the last count marked stale while it is younger than this (default 300 s).
    pub stale_for: Duration,
    /// List display names in the JSON form (off by default, for privacy).
    pub show_names: bool,
}

impl CountConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            cache_for: env.seconds("KITCHEN_COUNT_CACHE_SECONDS", 10)?,
            stale_for: env.seconds("KITCHEN_STALE_SECONDS", 300)?,
            show_names: env.flag("KITCHEN_SHOW_NAMES", false)?,
        })
    }
}

#[derive(Debug)]
struct Snapshot {
    headcount: Headcount,
    taken: Instant,
    as_of: SystemTime,
}

pub struct Count {
    pub kitchen: Kitchen,
    cache_for: Duration,
    stale_for: Duration,
    show_names: bool,
    last: RwLock<Option<Arc<Snapshot>>>,
    refresh: Mutex<()>,
}

impl Count {
    pub async fn new(config: CountConfig) -> Result<Self, Error> {
        let kitchen = Kitchen::from_config(config.common).await?;
        Ok(Self::with_kitchen(
            kitchen,
            config.cache_for,
            config.stale_for,
            config.show_names,
        ))
    }

    pub fn with_kitchen(
        kitchen: Kitchen,
        cache_for: Duration,
        stale_for: Duration,
        show_names: bool,
    ) -> Self {
        Self {
            kitchen,
            cache_for,
            stale_for,
            show_names,
            last: RwLock::new(None),
            refresh: Mutex::new(()),
        }
    }

    fn last(&self) -> Option<Arc<Snapshot>> {
        self.last.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        self.last().filter(|s| s.taken.elapsed() < self.cache_for)
    }

    /// The current headcount and whether it is stale. At most one dashboard
    /// fetch per cache period per container, however many callers arrive.
    async fn headcount(&self) -> Result<(Arc<Snapshot>, bool), ApiError> {
        if let Some(s) = self.fresh() {
            return Ok((s, false));
        }
        let _single_flight = self.refresh.lock().await;
        if let Some(s) = self.fresh() {
            return Ok((s, false));
        }
        let creds = self.kitchen.credentials().await?;
        let k = &self.kitchen;
        match k
            .within_deadline(k.zoom.live_participants(&creds, &k.config.meeting_id))
            .await
        {
            Ok(entries) => {
                let snap = Arc::new(Snapshot {
                    headcount: headcount(&entries),
                    taken: Instant::now(),
                    as_of: SystemTime::now(),
                });
                *self.last.write().unwrap_or_else(|p| p.into_inner()) = Some(snap.clone());
                Ok((snap, false))
            }
            Err(e) => match self
                .last()
                .filter(|s| e.is_transient() && s.taken.elapsed() < self.stale_for)
            {
                Some(s) => {
                    tracing::warn!(error = %e, age_s = s.taken.elapsed().as_secs(), "Zoom failed; serving the last count as stale");
                    Ok((s, true))
                }
                None => Err(ApiError::from_zoom(&e)),
            },
        }
    }
}

/// The count takes no input: a body or query string is refused, not ignored.
fn reject_input(req: &Request) -> Result<(), ApiError> {
    if !req.body().as_ref().is_empty() {
        return Err(ApiError::bad_request("unexpected_body", "GET /participant-count takes no body"));
    }
    if req.uri().query().is_some_and(|q| !q.is_empty()) {
        return Err(ApiError::bad_request("unexpected_query", "GET /participant-count takes no query parameters"));
    }
    Ok(())
}

#[derive(Serialize)]
struct CountBody<'a> {
    count: usize,
    meeting_id: &'a str,
    as_of: String,
    stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    names: Option<&'a [String]>,
}

pub async fn handle(state: &Count, req: Request) -> Result<Response<Body>, Error> {
    Ok(match count(state, &req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    })
}

async fn count(state: &Count, req: &Request) -> Result<Response<Body>, ApiError> {
    if req.method() != Method::GET {
        return Err(ApiError::method_not_allowed("GET"));
    }
    let device = state.kitchen.authorize(req.headers()).await?;
    reject_input(req)?;
    let (snap, stale) = state.headcount().await?;
    tracing::debug!(
        device = device.as_deref().unwrap_or("-"),
        count = snap.headcount.count,
        stale,
        "count served"
    );
    let mut resp = if wants_json(req.headers()) {
        json_response(
            StatusCode::OK,
            &CountBody {
                count: snap.headcount.count,
                meeting_id: &state.kitchen.config.meeting_id,
                as_of: format_rfc3339(snap.as_of),
                stale,
                names: state.show_names.then_some(snap.headcount.names.as_slice()),
            },
        )
    } else {
        text_response(StatusCode::OK, snap.headcount.count.to_string())
    };
    resp.headers_mut().insert(
        STALE_HEADER,
        HeaderValue::from_static(if stale { "true" } else { "false" }),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use kitchen::testing::{DEVICE_KEY, LogCapture, body_json, event, fixture, kitchen};
    use serde_json::json;
    use zoom_sim::{DEMO_MEETING_ID, Endpoint, Fault, Sim, SimHandle};

    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    async fn setup(cache_for: Duration, stale_for: Duration) -> (SimHandle, Count) {
        let sim = Sim::demo().spawn().await;
        let state = Count::with_kitchen(kitchen(&sim), cache_for, stale_for, false);
        (sim, state)
    }

    fn get() -> kitchen::testing::Event {
        event("GET", "/participant-count").device_key(DEVICE_KEY)
    }

    async fn plain(state: &Count) -> (u16, String, String) {
        let resp = handle(state, get().request()).await.unwrap();
        let stale = resp
            .headers()
            .get(STALE_HEADER)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            resp.status().as_u16(),
            String::from_utf8(resp.body().to_vec()).unwrap(),
            stale,
        )
    }

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
        let state = Count::with_kitchen(kitchen(&sim), 10 * SECOND, 300 * SECOND, true);
        let (_, body) = body_json(
            handle(&state, get().header("accept", "application/json").request())
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(body["names"].as_array().map(Vec::len), Some(3));
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
                retry_after: Some("60".into()),
            },
            Fault::Hang,
        ] {
            sim.sim.push_fault(Endpoint::Dashboard, fault);
            assert_eq!(plain(&state).await, (200, "3".into(), "true".into()));
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
        // Zoom is back: the fresh value replaces the stale one.
        assert_eq!(plain(&state).await, (200, "0".into(), "false".into()));
    }

    #[tokio::test]
    async fn beyond_the_stale_bound_the_error_is_returned() {
        let (sim, state) = setup(Duration::ZERO, Duration::ZERO).await;
        assert_eq!(plain(&state).await.0, 200);
        sim.sim.push_fault(
            Endpoint::Dashboard,
            Fault::Status {
                status: 500,
                body: json!({}),
            },
        );
        let (status, body) = body_json(handle(&state, get().request()).await.unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (502, Some("zoom_error")));
        sim.sim.push_fault(
            Endpoint::Dashboard,
            Fault::RateLimit {
                retry_after: Some("12".into()),
            },
        );
        let resp = handle(&state, get().request()).await.unwrap();
        assert_eq!(
            (
                resp.status().as_u16(),
                resp.headers()["retry-after"].to_str().unwrap()
            ),
            (429, "12")
        );
        sim.sim
            .push_fault(Endpoint::Dashboard, Fault::Delay { ms: 1500 });
        let (status, body) = body_json(handle(&state, get().request()).await.unwrap()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (502, Some("zoom_timeout"))
        );
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
        let state = Count::with_kitchen(k, 10 * SECOND, 300 * SECOND, false);
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
            assert!((400..500).contains(&status), "{label}: {status} {body}");
            assert!(body["error"].as_str().is_some_and(|c| !c.is_empty()), "{label}: {body}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{label}: {body}");
        }
        assert_eq!(sim.sim.stats().dashboard_requests, 0, "hostile requests must not spend Zoom quota");
        assert_eq!(plain(&state).await.1, "3");
        logs.assert_no_secrets(&[]);
    }

    #[test]
    fn config_defaults_and_errors() {
        let vars = [("ZOOM_MEETING_ID", "85746065432"), ("ZOOM_SECRET_ID", "s")];
        let c = CountConfig::from_env(&Env::from_fn(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }))
        .unwrap();
        assert_eq!(
            (c.cache_for, c.stale_for, c.show_names),
            (10 * SECOND, 300 * SECOND, false)
        );
        let vars = [
            ("ZOOM_MEETING_ID", "85746065432"),
            ("ZOOM_SECRET_ID", "s"),
            ("KITCHEN_COUNT_CACHE_SECONDS", "ten"),
        ];
        let e = CountConfig::from_env(&Env::from_fn(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }))
        .unwrap_err();
        assert_eq!(e.var, "KITCHEN_COUNT_CACHE_SECONDS");
    }
}
