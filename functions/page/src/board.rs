//! What the page shows for each room, and where it comes from — the same
//! sources as the device's count, read the same way:
//! * presence (`webhook`): the presence table, on every request, no Zoom call;
//! * `dashboard`: Zoom's live dashboard, at most one call per room per cache
//!   period per container however many pages are open, stale while Zoom fails;
//! * `auto`: presence while the room's webhook activity is fresh, else the dashboard.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use kitchen::app::Kitchen;
use kitchen::cache::Cached;
use kitchen::credentials::Credentials;
use kitchen::deadline::Deadline;
use kitchen::http::ApiError;
use kitchen::lambda_http::http::StatusCode;
use kitchen::participants::headcount;
use kitchen::presence::{PresenceStore, RoomPresence};
use kitchen::time::unix_millis;
use kitchen::zoom::ZoomError;

use kitchen::rooms::Room as RoomSpec;

use crate::config::Settings;

/// Shortest wait after a transient Zoom failure, even with a zero cache period.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait, whatever Zoom's `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How the counts are read; each variant carries what it needs.
pub enum Reader {
    Dashboard,
    Presence(PresenceStore),
    Auto(PresenceStore),
}

impl Reader {
    pub fn store(&self) -> Option<&PresenceStore> {
        match self {
            Self::Dashboard => None,
            Self::Presence(s) | Self::Auto(s) => Some(s),
        }
    }
}

/// One room at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub count: usize,
    /// One display name per person, sorted.
    pub names: Vec<String>,
    /// A meeting is running in the room.
    pub live: bool,
    /// When the people now in the room started arriving (ms); `None` when
    /// unknown (the dashboard's entries are not read for join times).
    pub occupied_since_ms: Option<u64>,
    pub as_of: SystemTime,
    pub source: &'static str,
    taken: Instant,
}

impl Snapshot {
    fn from_presence(room: RoomPresence) -> Arc<Self> {
        let running = room
            .started_at_ms
            .is_some_and(|s| room.ended_at_ms.is_none_or(|e| s > e));
        let occupied_since_ms = room
            .sessions
            .iter()
            .filter(|s| s.counted)
            .map(|s| s.at_ms)
            .min();
        Arc::new(Self {
            live: room.count > 0 || running,
            count: room.count,
            names: room.names,
            occupied_since_ms,
            as_of: SystemTime::now(),
            source: "webhook",
            taken: Instant::now(),
        })
    }

    fn empty(source: &'static str) -> Arc<Self> {
        Arc::new(Self {
            count: 0,
            names: Vec::new(),
            live: false,
            occupied_since_ms: None,
            as_of: SystemTime::now(),
            source,
            taken: Instant::now(),
        })
    }
}

/// After a transient Zoom failure: no dashboard call for this room before `until`.
#[derive(Clone)]
struct Backoff {
    until: Instant,
    error: ApiError,
}

/// One room and what this container remembers about it.
pub struct Room {
    pub spec: RoomSpec,
    join_url: Cached<String>,
    dashboard: Cached<Arc<Snapshot>>,
    last_presence: Cached<Arc<Snapshot>>,
    backoff: RwLock<Option<Backoff>>,
}

impl Room {
    pub fn new(spec: RoomSpec) -> Self {
        Self {
            join_url: spec
                .join_url
                .clone()
                .map(Cached::with_value)
                .unwrap_or_default(),
            spec,
            dashboard: Cached::default(),
            last_presence: Cached::default(),
            backoff: RwLock::new(None),
        }
    }

    /// The room's join link: the configured override, else `GET /meetings/{id}`
    /// once per container (a failure is not kept; `None` until Zoom answers).
    pub async fn join_url(
        &self,
        kitchen: &Kitchen,
        creds: &Credentials,
        deadline: &Deadline,
    ) -> Option<String> {
        let fetch = || async {
            deadline
                .run(kitchen.zoom.join_url(creds, &self.spec.meeting_id))
                .await
                .unwrap_or(Err(ZoomError::Timeout))
        };
        match self.join_url.get_or_refresh(|_| true, fetch).await {
            Ok(u) => Some(u),
            Err(e) => {
                tracing::warn!(room = %self.spec.name, error = %e, "the room's join URL could not be read");
                None
            }
        }
    }

    /// The room now, and whether it is stale.
    pub async fn snapshot(
        &self,
        reader: &Reader,
        settings: &Settings,
        kitchen: &Kitchen,
        creds: &Credentials,
        deadline: &Deadline,
    ) -> Result<(Arc<Snapshot>, bool), ApiError> {
        match reader {
            Reader::Presence(store) => self.read_presence(store, settings, deadline).await,
            Reader::Auto(store) => match self.fresh_presence(store, settings, deadline).await {
                Some(s) => Ok((s, false)),
                None => {
                    self.read_dashboard(settings, kitchen, creds, deadline)
                        .await
                }
            },
            Reader::Dashboard => {
                self.read_dashboard(settings, kitchen, creds, deadline)
                    .await
            }
        }
    }

    /// The meeting was just ended here: show the room empty at once, whatever
    /// the source (the presence table is told separately).
    pub fn mark_ended(&self) {
        self.dashboard.set(Snapshot::empty("dashboard"));
        self.last_presence.set(Snapshot::empty("webhook"));
    }

    async fn read_presence(
        &self,
        store: &PresenceStore,
        settings: &Settings,
        deadline: &Deadline,
    ) -> Result<(Arc<Snapshot>, bool), ApiError> {
        match store.read_within(&self.spec.meeting_id, deadline).await {
            Ok(room) => {
                let snap = Snapshot::from_presence(room);
                self.last_presence.set(snap.clone());
                Ok((snap, false))
            }
            Err(e) => match self
                .last_presence
                .last()
                .filter(|s| s.taken.elapsed() < settings.stale_for)
            {
                Some(s) => {
                    tracing::warn!(room = %self.spec.name, error = %e, "presence table unavailable; serving the last view as stale");
                    Ok((s, true))
                }
                None => {
                    tracing::error!(room = %self.spec.name, error = %e, "presence table unavailable");
                    Err(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "presence_unavailable",
                        "the presence table cannot be read; try again shortly",
                    ))
                }
            },
        }
    }

    async fn fresh_presence(
        &self,
        store: &PresenceStore,
        settings: &Settings,
        deadline: &Deadline,
    ) -> Option<Arc<Snapshot>> {
        match store.read_within(&self.spec.meeting_id, deadline).await {
            Ok(room) => room
                .is_fresh(settings.presence_fresh_for, unix_millis(SystemTime::now()))
                .then(|| Snapshot::from_presence(room)),
            Err(e) => {
                tracing::warn!(room = %self.spec.name, error = %e, "presence table unavailable; using the dashboard");
                None
            }
        }
    }

    /// At most one Zoom call per room per cache period, however many callers;
    /// after a transient failure none before the backoff ends, and the last
    /// view, marked stale, while it is young enough.
    async fn read_dashboard(
        &self,
        settings: &Settings,
        kitchen: &Kitchen,
        creds: &Credentials,
        deadline: &Deadline,
    ) -> Result<(Arc<Snapshot>, bool), ApiError> {
        let fresh = |s: &Arc<Snapshot>| s.taken.elapsed() < settings.cache_for;
        let refresh = || async {
            if let Some(b) = self.active_backoff() {
                return Err((b.error, true));
            }
            let fetched = deadline
                .run(kitchen.zoom.live_participants(creds, &self.spec.meeting_id))
                .await
                .unwrap_or(Err(ZoomError::Timeout));
            match fetched {
                Ok(entries) => {
                    let h = headcount(&entries);
                    Ok(Arc::new(Snapshot {
                        live: h.count > 0,
                        count: h.count,
                        names: h.names,
                        occupied_since_ms: None,
                        as_of: SystemTime::now(),
                        source: "dashboard",
                        taken: Instant::now(),
                    }))
                }
                Err(e) if e.is_transient() => {
                    let wait = match &e {
                        ZoomError::RateLimited {
                            retry_after: Some(d),
                        } => *d,
                        _ => settings.cache_for,
                    }
                    .clamp(MIN_BACKOFF, MAX_BACKOFF);
                    let error = ApiError::from_zoom(&e);
                    *self.backoff.write().unwrap_or_else(|p| p.into_inner()) = Some(Backoff {
                        until: Instant::now() + wait,
                        error: error.clone(),
                    });
                    tracing::warn!(room = %self.spec.name, error = %e, backoff_s = wait.as_secs_f32(), "Zoom failed; not asking again before the backoff ends");
                    Err((error, true))
                }
                Err(e) => Err((ApiError::from_zoom(&e), false)),
            }
        };
        match self.dashboard.get_or_refresh(fresh, refresh).await {
            Ok(s) => Ok((s, false)),
            // Zoom is busy or broken, not misconfigured: the last view, stale.
            Err((error, true)) => {
                match self
                    .dashboard
                    .last()
                    .filter(|s| s.taken.elapsed() < settings.stale_for)
                {
                    Some(s) => {
                        tracing::warn!(room = %self.spec.name, "serving the last view as stale");
                        Ok((s, true))
                    }
                    None => Err(error),
                }
            }
            Err((error, false)) => Err(error),
        }
    }

    fn active_backoff(&self) -> Option<Backoff> {
        let guard = self.backoff.read().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().filter(|b| Instant::now() < b.until).cloned()
    }
}
