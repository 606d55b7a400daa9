//! `GET /participant-count`: how many people are in the kitchen right now.
//! Plain-text integer for the device (read with `atoi`), JSON on request.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use kitchen::app::{DEFAULT_DEADLINE, Kitchen};
use kitchen::config::{CommonConfig, ConfigError, Env};
use kitchen::deadline::Deadline;
use kitchen::http::{ApiError, json_response, respond, text_response};
use kitchen::lambda_http::http::{HeaderValue, Method, StatusCode};
use kitchen::lambda_http::{Body, Error, Request, Response};
use kitchen::participants::{Headcount, headcount};
use kitchen::presence::{PresenceStore, RoomPresence, StoreError};
use kitchen::request::wants_json;
use kitchen::time::{format_rfc3339, unix_millis};
use kitchen::zoom::ZoomError;
use serde::Serialize;
use tokio::sync::Mutex;

pub const STALE_HEADER: &str = "x-kitchen-stale";
pub const SOURCE_HEADER: &str = "x-kitchen-source";
/// Shortest wait after a transient Zoom failure, even with a zero cache period.
const MIN_BACKOFF: Duration = Duration::from_secs(1);

/// Where the count comes from (`KITCHEN_COUNT_SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Zoom's live dashboard (HEAVY rate-limit category), cached per container.
    Dashboard,
    /// The presence table kept by the webhook: no Zoom call at all.
    Webhook,
    /// Presence while the room has fresh webhook (or reconcile) activity, else the dashboard.
    Auto,
}

#[derive(Debug)]
pub struct CountConfig {
    pub common: CommonConfig,
    /// Serve the last dashboard count without asking Zoom for this long (default 10 s).
    pub cache_for: Duration,
    /// When the source fails, serve the last count marked stale while it is younger than this (default 300 s).
    pub stale_for: Duration,
    /// List display names in the JSON form (off by default, for privacy).
    pub show_names: bool,
    pub source: Source,
    pub presence_table: Option<String>,
    /// `auto`: presence counts as fresh while its last activity is younger than this (default 1800 s).
    pub presence_fresh_for: Duration,
}

impl CountConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let presence_table = env.get("KITCHEN_PRESENCE_TABLE");
        let source = match env
            .get("KITCHEN_COUNT_SOURCE")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None if presence_table.is_some() => Source::Auto,
            None | Some("dashboard") => Source::Dashboard,
            Some("webhook") => Source::Webhook,
            Some("auto") => Source::Auto,
            Some(other) => {
                return Err(ConfigError::new(
                    "KITCHEN_COUNT_SOURCE",
                    format!("must be dashboard, webhook or auto, got {other:?}"),
                ));
            }
        };
        if source != Source::Dashboard && presence_table.is_none() {
            return Err(ConfigError::new(
                "KITCHEN_PRESENCE_TABLE",
                "is required when KITCHEN_COUNT_SOURCE is webhook or auto",
            ));
        }
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            cache_for: env.seconds("KITCHEN_COUNT_CACHE_SECONDS", 10)?,
            stale_for: env.seconds("KITCHEN_STALE_SECONDS", 300)?,
            show_names: env.flag("KITCHEN_SHOW_NAMES", false)?,
            source,
            presence_table,
            presence_fresh_for: env.seconds("KITCHEN_PRESENCE_FRESH_SECONDS", 1800)?,
        })
    }
}

#[derive(Debug)]
struct Snapshot {
    headcount: Headcount,
    taken: Instant,
    as_of: SystemTime,
    source: &'static str,
}

impl Snapshot {
    fn new(headcount: Headcount, source: &'static str) -> Arc<Self> {
        Arc::new(Self {
            headcount,
            taken: Instant::now(),
            as_of: SystemTime::now(),
            source,
        })
    }
}

/// The last snapshot one source produced.
#[derive(Default)]
struct Slot(RwLock<Option<Arc<Snapshot>>>);

impl Slot {
    fn get(&self) -> Option<Arc<Snapshot>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, s: Arc<Snapshot>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }

    fn younger_than(&self, age: Duration) -> Option<Arc<Snapshot>> {
        self.get().filter(|s| s.taken.elapsed() < age)
    }
}

/// How the count is read, per source.
pub struct Settings {
    pub cache_for: Duration,
    pub stale_for: Duration,
    pub show_names: bool,
    pub source: Source,
    pub presence_fresh_for: Duration,
}

pub struct Count {
    pub kitchen: Kitchen,
    settings: Settings,
    presence: Option<PresenceStore>,
    dashboard: Slot,
    last_presence: Slot,
    refresh: Mutex<()>,
    /// After a transient Zoom failure: no Zoom call before this instant.
    backoff: RwLock<Option<Backoff>>,
}

/// Zoom failed transiently: wait out `Retry-After` (or the cache period) before
/// asking again, so a rate-limited or broken Zoom is not hammered.
#[derive(Clone)]
struct Backoff {
    until: Instant,
    error: ApiError,
}

impl Count {
    pub async fn new(config: CountConfig) -> Result<Self, Error> {
        let settings = Settings {
            cache_for: config.cache_for,
            stale_for: config.stale_for,
            show_names: config.show_names,
            source: config.source,
            presence_fresh_for: config.presence_fresh_for,
        };
        match config.presence_table {
            Some(table) if settings.source != Source::Dashboard => {
                let (kitchen, sdk) = Kitchen::with_aws(config.common, DEFAULT_DEADLINE).await?;
                let presence = PresenceStore::new(&sdk, table);
                Ok(Self::with_parts(kitchen, settings, Some(presence)))
            }
            _ => Ok(Self::with_parts(
                Kitchen::from_config(config.common).await?,
                settings,
                None,
            )),
        }
    }

    pub fn with_parts(
        kitchen: Kitchen,
        settings: Settings,
        presence: Option<PresenceStore>,
    ) -> Self {
        Self {
            kitchen,
            settings,
            presence,
            dashboard: Slot::default(),
            last_presence: Slot::default(),
            refresh: Mutex::new(()),
            backoff: RwLock::new(None),
        }
    }

    /// A dashboard-only count.
    #[cfg(test)]
    pub fn with_kitchen(
        kitchen: Kitchen,
        cache_for: Duration,
        stale_for: Duration,
        show_names: bool,
    ) -> Self {
        let settings = Settings {
            cache_for,
            stale_for,
            show_names,
            source: Source::Dashboard,
            presence_fresh_for: Duration::ZERO,
        };
        Self::with_parts(kitchen, settings, None)
    }

    /// The current headcount and whether it is stale.
    async fn headcount(&self, deadline: &Deadline) -> Result<(Arc<Snapshot>, bool), ApiError> {
        match (self.settings.source, &self.presence) {
            (Source::Webhook, Some(store)) => self.read_presence(store, deadline).await,
            (Source::Auto, Some(store)) => match self.fresh_presence(store, deadline).await {
                Some(snap) => Ok((snap, false)),
                None => self.read_dashboard(deadline).await,
            },
            _ => self.read_dashboard(deadline).await,
        }
    }

    /// `webhook`: the presence table, on every request (a join shows on the
    /// next one). When the table is unreachable: the last count, stale, while
    /// it can; then a clear 503 — never a made-up number.
    async fn read_presence(
        &self,
        store: &PresenceStore,
        deadline: &Deadline,
    ) -> Result<(Arc<Snapshot>, bool), ApiError> {
        match read_within(store, &self.kitchen.config.meeting_id, deadline).await {
            Ok(room) => {
                let snap = Snapshot::new(
                    Headcount {
                        count: room.count,
                        names: room.names,
                    },
                    "webhook",
                );
                self.last_presence.set(snap.clone());
                Ok((snap, false))
            }
            Err(e) => match self.last_presence.younger_than(self.settings.stale_for) {
                Some(s) => {
                    tracing::warn!(error = %e, "presence table unavailable; serving the last count as stale");
                    Ok((s, true))
                }
                None => {
                    tracing::error!(error = %e, "presence table unavailable");
                    Err(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "presence_unavailable",
                        "the presence table cannot be read; try again shortly",
                    ))
                }
            },
        }
    }

    /// `auto`: presence when the room has had webhook or reconcile activity
    /// recently; `None` sends the caller to the dashboard.
    async fn fresh_presence(
        &self,
        store: &PresenceStore,
        deadline: &Deadline,
    ) -> Option<Arc<Snapshot>> {
        match read_within(store, &self.kitchen.config.meeting_id, deadline).await {
            Ok(room) => {
                let now = unix_millis(SystemTime::now());
                let fresh_ms = self.settings.presence_fresh_for.as_millis() as u64;
                let fresh = room
                    .last_activity_ms
                    .is_some_and(|t| now.saturating_sub(t) <= fresh_ms);
                fresh.then(|| {
                    Snapshot::new(
                        Headcount {
                            count: room.count,
                            names: room.names,
                        },
                        "webhook",
                    )
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "presence table unavailable; using the dashboard");
                None
            }
        }
    }

    /// `dashboard`: at most one Zoom call per cache period per container,
    /// however many callers arrive; the last count, stale, while Zoom fails.
    async fn read_dashboard(&self, deadline: &Deadline) -> Result<(Arc<Snapshot>, bool), ApiError> {
        if let Some(s) = self.dashboard.younger_than(self.settings.cache_for) {
            return Ok((s, false));
        }
        let _single_flight = self.refresh.lock().await;
        if let Some(s) = self.dashboard.younger_than(self.settings.cache_for) {
            return Ok((s, false));
        }
        if let Some(b) = self.active_backoff() {
            let mut error = b.error;
            if error.retry_after.is_some() {
                error.retry_after = Some(
                    b.until
                        .saturating_duration_since(Instant::now())
                        .as_secs()
                        .max(1),
                );
            }
            return self.stale_or(error, "Zoom is backing off");
        }
        let k = &self.kitchen;
        let creds = k.credentials_within(deadline).await?;
        match deadline
            .run(k.zoom.live_participants(&creds, &k.config.meeting_id))
            .await
            .unwrap_or(Err(ZoomError::Timeout))
        {
            Ok(entries) => {
                let snap = Snapshot::new(headcount(&entries), "dashboard");
                self.dashboard.set(snap.clone());
                Ok((snap, false))
            }
            Err(e) if e.is_transient() => {
                let wait = match &e {
                    ZoomError::RateLimited {
                        retry_after: Some(d),
                    } => *d,
                    _ => self.settings.cache_for,
                }
                .max(MIN_BACKOFF);
                let error = ApiError::from_zoom(&e);
                *self.backoff.write().unwrap_or_else(|p| p.into_inner()) = Some(Backoff {
                    until: Instant::now() + wait,
                    error: error.clone(),
                });
                tracing::warn!(error = %e, backoff_s = wait.as_secs_f32(), "Zoom failed; not asking again before the backoff ends");
                self.stale_or(error, "Zoom failed")
            }
            Err(e) => Err(ApiError::from_zoom(&e)),
        }
    }

    fn active_backoff(&self) -> Option<Backoff> {
        let guard = self.backoff.read().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().filter(|b| Instant::now() < b.until).cloned()
    }

    /// The last dashboard count marked stale while it is young enough, else `error`.
    fn stale_or(&self, error: ApiError, why: &str) -> Result<(Arc<Snapshot>, bool), ApiError> {
        match self.dashboard.younger_than(self.settings.stale_for) {
            Some(s) => {
                tracing::warn!(
                    reason = why,
                    age_s = s.taken.elapsed().as_secs(),
                    "serving the last count as stale"
                );
                Ok((s, true))
            }
            None => Err(error),
        }
    }
}

/// The presence read, under the request's deadline (running out counts as the
/// table being unreachable).
async fn read_within(
    store: &PresenceStore,
    meeting_id: &str,
    deadline: &Deadline,
) -> Result<RoomPresence, StoreError> {
    deadline
        .run(store.read(meeting_id))
        .await
        .unwrap_or(Err(StoreError::Unavailable("timed out")))
}

/// The count takes no input: a body or query string is refused, not ignored.
fn reject_input(req: &Request) -> Result<(), ApiError> {
    if !req.body().as_ref().is_empty() {
        return Err(ApiError::bad_request(
            "unexpected_body",
            "GET /participant-count takes no body",
        ));
    }
    if req.uri().query().is_some_and(|q| !q.is_empty()) {
        return Err(ApiError::bad_request(
            "unexpected_query",
            "GET /participant-count takes no query parameters",
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct CountBody<'a> {
    count: usize,
    meeting_id: &'a str,
    as_of: String,
    stale: bool,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    names: Option<&'a [String]>,
}

pub async fn handle(state: &Count, req: Request) -> Result<Response<Body>, Error> {
    respond(count(state, &req).await)
}

async fn count(state: &Count, req: &Request) -> Result<Response<Body>, ApiError> {
    if req.method() != Method::GET {
        return Err(ApiError::method_not_allowed("GET"));
    }
    let deadline = state.kitchen.deadline_for(req);
    let device = state.kitchen.authorize(req.headers(), &deadline).await?;
    reject_input(req)?;
    let (snap, stale) = state.headcount(&deadline).await?;
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
                source: snap.source,
                names: state
                    .settings
                    .show_names
                    .then_some(snap.headcount.names.as_slice()),
            },
        )
    } else {
        text_response(StatusCode::OK, snap.headcount.count.to_string())
    };
    resp.headers_mut().insert(
        STALE_HEADER,
        HeaderValue::from_static(if stale { "true" } else { "false" }),
    );
    resp.headers_mut()
        .insert(SOURCE_HEADER, HeaderValue::from_static(snap.source));
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
        sim.sim.set_sticky_fault(
            Endpoint::Dashboard,
            Some(Fault::RateLimit {
                retry_after: Some("30".into()),
            }),
        );
        for _ in 0..5 {
            let resp = handle(&state, get().request()).await.unwrap();
            assert_eq!(resp.status(), 429);
            let retry: u64 = resp.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=30).contains(&retry), "{retry}");
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

    mod presence {
        use kitchen::presence::{PresenceStore, RoomPresence, StoreError};
        use kitchen::testing::{Outage, moto_endpoint, sdk_config, unique};
        use kitchen::webhook::{Change, WebhookEvent};

        use super::*;

        async fn store(endpoint: &str, table: &str) -> PresenceStore {
            PresenceStore::new(&sdk_config(endpoint).await, table)
        }

        fn participant(change: Change, who: &str, at_ms: u64) -> WebhookEvent {
            WebhookEvent::Participant {
                meeting_id: DEMO_MEETING_ID.into(),
                change,
                person_key: format!("email:{who}@example.com"),
                session_key: format!("{who}-device"),
                name: Some(who.into()),
                at_ms,
                event_ts: at_ms,
            }
        }

        fn now_ms() -> u64 {
            unix_millis(SystemTime::now())
        }

        async fn setup(source: Source, endpoint: &str) -> (SimHandle, Count, PresenceStore) {
            let table = unique("presence");
            let admin = store(&moto_endpoint(), &table).await;
            admin.create_table().await.unwrap();
            let sim = Sim::demo().spawn().await;
            let settings = Settings {
                cache_for: 10 * SECOND,
                stale_for: 300 * SECOND,
                show_names: true,
                source,
                presence_fresh_for: 1800 * SECOND,
            };
            let state =
                Count::with_parts(kitchen(&sim), settings, Some(store(endpoint, &table).await));
            (sim, state, admin)
        }

        async fn json_count(state: &Count) -> (u16, serde_json::Value, String) {
            let resp = handle(state, get().header("accept", "application/json").request())
                .await
                .unwrap();
            let source = resp
                .headers()
                .get(SOURCE_HEADER)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let (status, body) = body_json(resp).await;
            (status, body, source)
        }

        #[tokio::test]
        async fn webhook_source_follows_each_event_with_no_zoom_call() {
            let (sim, state, admin) = setup(Source::Webhook, &moto_endpoint()).await;
            assert_eq!(plain(&state).await.1, "0");
            let t = now_ms();
            admin
                .apply(DEMO_MEETING_ID, &participant(Change::Joined, "erin", t))
                .await
                .unwrap();
            let (status, body, source) = json_count(&state).await;
            assert_eq!(
                (status, body["count"].as_u64(), source.as_str()),
                (200, Some(1), "webhook")
            );
            assert_eq!(body["names"], json!(["erin"]));
            admin
                .apply(DEMO_MEETING_ID, &participant(Change::Joined, "finn", t + 1))
                .await
                .unwrap();
            assert_eq!(plain(&state).await.1, "2");
            admin
                .apply(DEMO_MEETING_ID, &participant(Change::Left, "erin", t + 2))
                .await
                .unwrap();
            assert_eq!(plain(&state).await.1, "1");
            let s = sim.sim.stats();
            assert_eq!(
                (s.token_requests, s.dashboard_requests),
                (0, 0),
                "presence reads make no Zoom call"
            );
        }

        #[tokio::test]
        async fn auto_uses_presence_only_while_it_is_fresh() {
            let (sim, state, admin) = setup(Source::Auto, &moto_endpoint()).await;
            // No webhook activity yet: the dashboard (3 in the demo room).
            let (_, body, source) = json_count(&state).await;
            assert_eq!(
                (body["count"].as_u64(), source.as_str()),
                (Some(3), "dashboard")
            );
            admin
                .apply(
                    DEMO_MEETING_ID,
                    &participant(Change::Joined, "erin", now_ms()),
                )
                .await
                .unwrap();
            let (_, body, source) = json_count(&state).await;
            assert_eq!(
                (body["count"].as_u64(), source.as_str()),
                (Some(1), "webhook")
            );
            // Activity older than the freshness bound: back to the dashboard.
            let (sim2, stale_state, admin2) = setup(Source::Auto, &moto_endpoint()).await;
            admin2
                .apply(
                    DEMO_MEETING_ID,
                    &participant(Change::Joined, "erin", now_ms() - 3_600_000),
                )
                .await
                .unwrap();
            let (_, body, source) = json_count(&stale_state).await;
            assert_eq!(
                (body["count"].as_u64(), source.as_str()),
                (Some(3), "dashboard")
            );
            assert_eq!(
                (
                    sim.sim.stats().dashboard_requests,
                    sim2.sim.stats().dashboard_requests
                ),
                (1, 1)
            );
        }

        #[tokio::test]
        async fn store_outage_falls_back_or_fails_clearly() {
            let moto = moto_endpoint();
            let proxy = Outage::in_front_of(&moto).await;
            let (_sim, state, admin) = setup(Source::Webhook, &proxy.url).await;
            admin
                .apply(
                    DEMO_MEETING_ID,
                    &participant(Change::Joined, "erin", now_ms()),
                )
                .await
                .unwrap();
            assert_eq!(plain(&state).await, (200, "1".into(), "false".into()));
            proxy.set_up(false);
            // The last count, marked stale — not a made-up number.
            assert_eq!(plain(&state).await, (200, "1".into(), "true".into()));

            // Nothing known yet and the table down: a clear 503.
            let proxy = Outage::in_front_of(&moto).await;
            proxy.set_up(false);
            let (sim, state, _admin) = setup(Source::Webhook, &proxy.url).await;
            let (status, body) = body_json(handle(&state, get().request()).await.unwrap()).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (503, Some("presence_unavailable"))
            );
            assert_eq!(sim.sim.stats().dashboard_requests, 0);

            // auto: falls back to the dashboard.
            let proxy = Outage::in_front_of(&moto).await;
            proxy.set_up(false);
            let (_sim, state, _admin) = setup(Source::Auto, &proxy.url).await;
            let (_, body, source) = json_count(&state).await;
            assert_eq!(
                (body["count"].as_u64(), source.as_str()),
                (Some(3), "dashboard")
            );
        }
    }

    #[test]
    fn source_selection() {
        let load = |pairs: &[(&str, &str)]| {
            let mut all = vec![("ZOOM_MEETING_ID", "85746065432"), ("ZOOM_SECRET_ID", "s")];
            all.extend_from_slice(pairs);
            CountConfig::from_env(&Env::from_pairs(&all))
        };
        assert_eq!(load(&[]).unwrap().source, Source::Dashboard);
        assert_eq!(
            load(&[("KITCHEN_PRESENCE_TABLE", "t")]).unwrap().source,
            Source::Auto
        );
        assert_eq!(
            load(&[
                ("KITCHEN_PRESENCE_TABLE", "t"),
                ("KITCHEN_COUNT_SOURCE", "webhook")
            ])
            .unwrap()
            .source,
            Source::Webhook
        );
        assert_eq!(
            load(&[("KITCHEN_COUNT_SOURCE", "webhook")])
                .unwrap_err()
                .var,
            "KITCHEN_PRESENCE_TABLE"
        );
        assert_eq!(
            load(&[("KITCHEN_COUNT_SOURCE", "psychic")])
                .unwrap_err()
                .var,
            "KITCHEN_COUNT_SOURCE"
        );
    }

    #[test]
    fn config_defaults_and_errors() {
        let vars = [("ZOOM_MEETING_ID", "85746065432"), ("ZOOM_SECRET_ID", "s")];
        let c = CountConfig::from_env(&Env::from_pairs(&vars)).unwrap();
        assert_eq!(
            (c.cache_for, c.stale_for, c.show_names),
            (10 * SECOND, 300 * SECOND, false)
        );
        let vars = [
            ("ZOOM_MEETING_ID", "85746065432"),
            ("ZOOM_SECRET_ID", "s"),
            ("KITCHEN_COUNT_CACHE_SECONDS", "ten"),
        ];
        let e = CountConfig::from_env(&Env::from_pairs(&vars)).unwrap_err();
        assert_eq!(e.var, "KITCHEN_COUNT_CACHE_SECONDS");
    }
}
