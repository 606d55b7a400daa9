//! `GET /participant-count`: how many people are in the calling device's room
//! right now. A count comes from Zoom's live dashboard (cached per room,
//! single-flight, stale while Zoom fails), from the presence table the webhook
//! keeps (no Zoom call), or, with `auto`, from presence while webhooks are
//! arriving for that room and the dashboard otherwise.
//! Plain-text integer for the device (read with `atoi`), JSON on request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use kitchen::app::AppState;
use kitchen::cache::Cached;
use kitchen::deadline::Deadline;
use kitchen::http::{ApiError, json_response, respond, text_response};
use kitchen::lambda_http::http::{HeaderValue, Method, StatusCode};
use kitchen::lambda_http::{Body, Error, Request, Response};
use kitchen::metrics::{self, Metric};
use kitchen::participants::{Headcount, headcount};
use kitchen::presence::{PresenceStore, RoomPresence};
use kitchen::request::wants_json;
use kitchen::rooms::Room;
use kitchen::time::{format_rfc3339, unix_millis};
use kitchen::zoom::ZoomError;
use serde::Serialize;

use crate::config::{CountConfig, SourceConfig};

pub const STALE_HEADER: &str = "x-kitchen-stale";
pub const SOURCE_HEADER: &str = "x-kitchen-source";
/// Shortest wait after a transient Zoom failure, even with a zero cache period.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait, whatever Zoom's `Retry-After` says (a daily limit resets within a day).
const MAX_BACKOFF: Duration = Duration::from_secs(86_400);

/// Where this container's counts come from; the presence store travels with
/// the sources that read it.
pub enum CountSource {
    /// Zoom's live dashboard (HEAVY rate-limit category), cached per container.
    Dashboard,
    /// The presence table kept by the webhook: no Zoom call at all.
    Presence(PresenceStore),
    /// Presence while the room has recent webhook events, else the dashboard.
    Auto(PresenceStore),
}

/// How counts are served, whatever their source.
pub struct Settings {
    pub cache_for: Duration,
    pub stale_for: Duration,
    pub show_names: bool,
    /// `auto`: presence is fresh while its last webhook event is younger than this.
    pub presence_fresh_for: Duration,
}

#[derive(Debug)]
struct Snapshot {
    headcount: Headcount,
    taken: Instant,
    as_of: SystemTime,
    /// The `source` field and header: `dashboard` or `webhook` (the presence table).
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

    fn of_room(room: RoomPresence) -> Arc<Self> {
        let headcount = Headcount {
            count: room.count,
            names: room.names,
        };
        Self::new(headcount, "webhook")
    }

    fn younger_than(&self, age: Duration) -> bool {
        self.taken.elapsed() < age
    }
}

pub struct Count {
    pub app: AppState,
    settings: Settings,
    source: CountSource,
    /// Each room's caches, by room name (every configured room, built at start).
    rooms: HashMap<String, RoomCounts>,
}

/// One room's counts in this container.
#[derive(Default)]
struct RoomCounts {
    dashboard: Cached<Arc<Snapshot>>,
    last_presence: Cached<Arc<Snapshot>>,
    /// After a transient Zoom failure: no Zoom call for this room before this instant.
    backoff: RwLock<Option<Backoff>>,
}

/// What one request reads: a room and its caches.
struct Target<'a> {
    room: &'a Room,
    counts: &'a RoomCounts,
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
            presence_fresh_for: config.presence_fresh_for,
        };
        let (table, auto) = match config.source {
            SourceConfig::Dashboard => {
                let app = AppState::from_config(config.common).await?;
                return Ok(Self::new_with(app, settings, CountSource::Dashboard));
            }
            SourceConfig::Presence { table } => (table, false),
            SourceConfig::Auto { table } => (table, true),
        };
        let (app, sdk) = AppState::with_aws(config.common, kitchen::app::DEFAULT_DEADLINE).await?;
        let store = PresenceStore::new(&sdk, table);
        let source = if auto {
            CountSource::Auto(store)
        } else {
            CountSource::Presence(store)
        };
        Ok(Self::new_with(app, settings, source))
    }

    pub fn new_with(app: AppState, settings: Settings, source: CountSource) -> Self {
        let rooms = app
            .config
            .rooms
            .iter()
            .map(|r| (r.name.clone(), RoomCounts::default()))
            .collect();
        Self {
            app,
            settings,
            source,
            rooms,
        }
    }

    fn target<'a>(&'a self, room: &'a Room) -> Target<'a> {
        // Every configured room has its entry; `Room`s come from the same list.
        static NONE: std::sync::LazyLock<RoomCounts> =
            std::sync::LazyLock::new(RoomCounts::default);
        Target {
            room,
            counts: self.rooms.get(&room.name).unwrap_or(&NONE),
        }
    }

    /// The room's current headcount and whether it is stale.
    async fn headcount(
        &self,
        t: &Target<'_>,
        deadline: &Deadline,
    ) -> Result<(Arc<Snapshot>, bool), ApiError> {
        match &self.source {
            CountSource::Dashboard => self.read_dashboard(t, deadline).await,
            CountSource::Presence(store) => self.read_presence(t, store, deadline).await,
            CountSource::Auto(store) => match self.fresh_presence(t, store, deadline).await {
                Some(snap) => Ok((snap, false)),
                None => self.read_dashboard(t, deadline).await,
            },
        }
    }

    /// `presence`: the table, on every request (a join shows on the next one).
    /// When the table is unreachable: the last count, stale, while it can;
    /// then a clear 503 — never a made-up number.
    async fn read_presence(
        &self,
        t: &Target<'_>,
        store: &PresenceStore,
        deadline: &Deadline,
    ) -> Result<(Arc<Snapshot>, bool), ApiError> {
        match store.read_within(&t.room.meeting_id, deadline).await {
            Ok(room) => {
                let snap = Snapshot::of_room(room);
                t.counts.last_presence.set(snap.clone());
                Ok((snap, false))
            }
            Err(e) => {
                let last = t.counts.last_presence.last();
                match last.filter(|s| s.younger_than(self.settings.stale_for)) {
                    Some(s) => {
                        tracing::warn!(room = %t.room.name, error = %e, "presence table unavailable; serving the last count as stale");
                        Ok((s, true))
                    }
                    None => {
                        tracing::error!(room = %t.room.name, error = %e, "presence table unavailable");
                        Err(ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "presence_unavailable",
                            "the presence table cannot be read; try again shortly",
                        ))
                    }
                }
            }
        }
    }

    /// `auto`: presence when a webhook event reached the room recently (reconcile
    /// runs alone do not count: they keep going when webhooks have stopped);
    /// `None` sends the caller to the dashboard.
    async fn fresh_presence(
        &self,
        t: &Target<'_>,
        store: &PresenceStore,
        deadline: &Deadline,
    ) -> Option<Arc<Snapshot>> {
        match store.read_within(&t.room.meeting_id, deadline).await {
            Ok(room) => room
                .is_fresh(self.settings.presence_fresh_for, unix_millis(SystemTime::now()))
                .then(|| Snapshot::of_room(room)),
            Err(e) => {
                tracing::warn!(room = %t.room.name, error = %e, "presence table unavailable; using the dashboard");
                None
            }
        }
    }

    /// `dashboard`: at most one Zoom call per room per cache period per
    /// container, however many callers arrive; the last count, stale, while
    /// Zoom fails.
    async fn read_dashboard(
        &self,
        t: &Target<'_>,
        deadline: &Deadline,
    ) -> Result<(Arc<Snapshot>, bool), ApiError> {
        let cache_for = self.settings.cache_for;
        let refreshed = t
            .counts
            .dashboard
            .get_or_refresh(|s| s.younger_than(cache_for), || self.ask_zoom(t, deadline))
            .await;
        match refreshed {
            Ok(snap) => Ok((snap, false)),
            Err(Failure::Transient(error, why)) => self.stale_or(t, error, why),
            Err(Failure::Permanent(error)) => Err(error),
        }
    }

    /// One dashboard call for the room, unless its backoff is running.
    async fn ask_zoom(
        &self,
        t: &Target<'_>,
        deadline: &Deadline,
    ) -> Result<Arc<Snapshot>, Failure> {
        if let Some(b) = active_backoff(t.counts) {
            let mut error = b.error;
            if error.retry_after.is_some() {
                let left = b.until.saturating_duration_since(Instant::now());
                error.retry_after = Some(left.as_secs().max(1));
            }
            return Err(Failure::Transient(error, "Zoom is backing off"));
        }
        let app = &self.app;
        let creds = app
            .credentials_within(deadline)
            .await
            .map_err(Failure::Permanent)?;
        let entries = deadline
            .run(app.zoom.live_participants(&creds, &t.room.meeting_id))
            .await
            .unwrap_or(Err(ZoomError::Timeout));
        match entries {
            Ok(entries) => Ok(Snapshot::new(headcount(&entries), "dashboard")),
            Err(e) if e.is_transient() => {
                let wait = match &e {
                    ZoomError::RateLimited {
                        retry_after: Some(d),
                    } => *d,
                    _ => self.settings.cache_for,
                }
                .clamp(MIN_BACKOFF, MAX_BACKOFF);
                let error = ApiError::from_zoom(&e);
                let now = Instant::now();
                *t.counts.backoff.write().unwrap_or_else(|p| p.into_inner()) = Some(Backoff {
                    until: now.checked_add(wait).unwrap_or(now),
                    error: error.clone(),
                });
                tracing::warn!(room = %t.room.name, error = %e, backoff_s = wait.as_secs_f32(), "Zoom failed; not asking again before the backoff ends");
                Err(Failure::Transient(error, "Zoom failed"))
            }
            Err(e) => Err(Failure::Permanent(ApiError::from_zoom(&e))),
        }
    }

    /// The room's last dashboard count marked stale while it is young enough, else `error`.
    fn stale_or(
        &self,
        t: &Target<'_>,
        error: ApiError,
        why: &str,
    ) -> Result<(Arc<Snapshot>, bool), ApiError> {
        let last = t.counts.dashboard.last();
        match last.filter(|s| s.younger_than(self.settings.stale_for)) {
            Some(s) => {
                tracing::warn!(
                    room = %t.room.name,
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

fn active_backoff(counts: &RoomCounts) -> Option<Backoff> {
    let guard = counts.backoff.read().unwrap_or_else(|p| p.into_inner());
    guard.as_ref().filter(|b| Instant::now() < b.until).cloned()
}

/// Why the dashboard gave no fresh count: worth a stale answer, or not.
enum Failure {
    Transient(ApiError, &'static str),
    Permanent(ApiError),
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
    room: &'a str,
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
    let deadline = state.app.deadline_for(req);
    let device = state.app.authorize(req.headers(), &deadline).await?;
    reject_input(req)?;
    let room = state.app.room_for(device.as_ref())?;
    let target = state.target(room);
    let (snap, stale) = state.headcount(&target, &deadline).await?;
    if stale {
        metrics::incr(Metric::CountServedStale);
    }
    tracing::debug!(
        device = device.as_ref().map_or("-", |d| d.name.as_str()),
        room = %room.name,
        count = snap.headcount.count,
        stale,
        "count served"
    );
    let mut resp = if wants_json(req.headers()) {
        json_response(
            StatusCode::OK,
            &CountBody {
                count: snap.headcount.count,
                room: &room.name,
                meeting_id: &room.meeting_id,
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
