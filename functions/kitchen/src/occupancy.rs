//! Who is in a room now, as the device's count and the page both show it.
//! One reader per container, [`Occupancy`], serves every room from the source
//! the deployment chose (`KITCHEN_COUNT_SOURCE`, [`OccupancyConfig`]):
//! * `dashboard`: Zoom's live dashboard, at most one call per room per cache
//!   period per container however many callers arrive (single-flight); after a
//!   transient Zoom failure no call before a backoff ends; the last count,
//!   marked stale, while it is younger than `KITCHEN_STALE_SECONDS`;
//! * `presence` (first name `webhook`): the presence table the webhook keeps,
//!   on every read, no Zoom call; while the table cannot be read the last
//!   count, stale, then 503 `presence_unavailable`;
//! * `auto`: presence while a webhook event reached the room recently
//!   (`KITCHEN_PRESENCE_FRESH_SECONDS`), else the dashboard.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

use lambda_http::http::StatusCode;

use crate::app::AppState;
use crate::cache::Cached;
use crate::config::{ConfigError, Env};
use crate::deadline::Deadline;
use crate::http::ApiError;
use crate::participants::headcount;
use crate::presence::{PresenceStore, RoomPresence};
use crate::rooms::{Room, Rooms};
use crate::time::unix_millis;
use crate::webhook::WebhookEvent;
use crate::zoom::ZoomError;

/// Shortest wait after a transient Zoom failure, even with a zero cache period.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait, whatever Zoom's `Retry-After` says (a daily limit resets within a day).
const MAX_BACKOFF: Duration = Duration::from_secs(86_400);

/// `KITCHEN_COUNT_SOURCE` with the presence table wherever one is needed, so
/// the two cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceConfig {
    /// `dashboard`: Zoom's live dashboard only.
    Dashboard,
    /// `presence` (also accepted: `webhook`, its first name): the presence table only.
    Presence { table: String },
    /// `auto`: presence while webhooks keep the room fresh, else the dashboard.
    Auto { table: String },
}

impl SourceConfig {
    /// Unset means `auto` when `KITCHEN_PRESENCE_TABLE` is set, else `dashboard`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let table = env.get("KITCHEN_PRESENCE_TABLE");
        let chosen = env
            .get("KITCHEN_COUNT_SOURCE")
            .map(|v| v.to_ascii_lowercase());
        let needs_table = || {
            table.clone().ok_or_else(|| {
                ConfigError::new(
                    "KITCHEN_PRESENCE_TABLE",
                    "is required when KITCHEN_COUNT_SOURCE is presence (webhook) or auto",
                )
            })
        };
        match chosen.as_deref() {
            None => Ok(match table {
                Some(table) => Self::Auto { table },
                None => Self::Dashboard,
            }),
            Some("dashboard") => Ok(Self::Dashboard),
            Some("presence" | "webhook") => Ok(Self::Presence {
                table: needs_table()?,
            }),
            Some("auto") => Ok(Self::Auto {
                table: needs_table()?,
            }),
            Some(other) => Err(ConfigError::new(
                "KITCHEN_COUNT_SOURCE",
                format!("must be dashboard, presence (or webhook) or auto, got {other:?}"),
            )),
        }
    }
}

/// How a room's occupancy is served, whatever its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `KITCHEN_COUNT_CACHE_SECONDS` (default 10): a dashboard count is reused this long.
    pub cache_for: Duration,
    /// `KITCHEN_STALE_SECONDS` (default 300): when the source fails, the last
    /// count is served marked stale while it is younger than this.
    pub stale_for: Duration,
    /// `KITCHEN_SHOW_NAMES` (default off, for privacy): callers show names only when on.
    pub show_names: bool,
    /// `KITCHEN_PRESENCE_FRESH_SECONDS` (default 1800): under `auto`, presence
    /// speaks for a room while its last webhook event is younger than this.
    pub presence_fresh_for: Duration,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            cache_for: env.seconds("KITCHEN_COUNT_CACHE_SECONDS", 10)?,
            stale_for: env.seconds("KITCHEN_STALE_SECONDS", 300)?,
            show_names: env.flag("KITCHEN_SHOW_NAMES", false)?,
            presence_fresh_for: crate::presence::fresh_for(env)?,
        })
    }
}

/// Where occupancy comes from and how it is served, read once at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OccupancyConfig {
    pub source: SourceConfig,
    pub settings: Settings,
}

impl OccupancyConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            source: SourceConfig::from_env(env)?,
            settings: Settings::from_env(env)?,
        })
    }
}

/// The source with what it reads: the presence store travels with the
/// sources that need it.
pub enum Source {
    /// Zoom's live dashboard (HEAVY rate-limit category), cached per room.
    Dashboard,
    /// The presence table kept by the webhook: no Zoom call at all.
    Presence(PresenceStore),
    /// Presence while the room has recent webhook events, else the dashboard.
    Auto(PresenceStore),
}

impl Source {
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
    /// Distinct people in the room.
    pub count: usize,
    /// One display name per person, sorted (show them only with `show_names`).
    pub names: Vec<String>,
    /// A meeting is running in the room (someone is in it, or the presence
    /// table saw it start and not end).
    pub live: bool,
    /// When the people now in the room started arriving: the earliest join
    /// among those present (ms since the epoch); `None` when unknown or empty.
    pub occupied_since_ms: Option<u64>,
    /// When the source was read.
    pub as_of: SystemTime,
    /// `dashboard` or `webhook` (the presence table): the `source` field and
    /// the count's `X-Kitchen-Source` header.
    pub source: &'static str,
    taken: Instant,
}

impl Snapshot {
    fn from_dashboard(entries: &[crate::participants::Participant]) -> Arc<Self> {
        let h = headcount(entries);
        Arc::new(Self {
            live: h.count > 0,
            count: h.count,
            names: h.names,
            occupied_since_ms: h.occupied_since_ms,
            as_of: SystemTime::now(),
            source: "dashboard",
            taken: Instant::now(),
        })
    }

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

    fn younger_than(&self, age: Duration) -> bool {
        self.taken.elapsed() < age
    }

    /// [`Self::occupied_since_ms`] as a time.
    pub fn occupied_since(&self) -> Option<SystemTime> {
        self.occupied_since_ms
            .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
    }
}

/// What a read gives: the room's snapshot, and whether it is an older one
/// served because the source failed.
#[derive(Debug, Clone)]
pub struct Reading {
    pub snapshot: Arc<Snapshot>,
    pub stale: bool,
}

/// Zoom failed transiently: wait out `Retry-After` (or the cache period) before
/// asking again, so a rate-limited or broken Zoom is not hammered.
#[derive(Clone)]
struct Backoff {
    until: Instant,
    error: ApiError,
}

/// What this container remembers about one room.
#[derive(Default)]
struct RoomState {
    dashboard: Cached<Arc<Snapshot>>,
    last_presence: Cached<Arc<Snapshot>>,
    backoff: RwLock<Option<Backoff>>,
}

/// Why the dashboard gave no fresh count: worth a stale answer, or not.
enum Failure {
    Transient(ApiError, &'static str),
    Permanent(ApiError),
}

/// Every room's occupancy for one container.
pub struct Occupancy {
    source: Source,
    settings: Settings,
    /// By room name: every configured room, built at start.
    rooms: HashMap<String, RoomState>,
}

impl Occupancy {
    /// A reader for `rooms` from `source`.
    pub fn new(source: Source, settings: Settings, rooms: &Rooms) -> Self {
        Self {
            source,
            settings,
            rooms: rooms
                .iter()
                .map(|r| (r.name.clone(), RoomState::default()))
                .collect(),
        }
    }

    /// Production wiring: the app state (with the AWS SDK configuration
    /// loaded once when the presence table needs it) and the reader for its rooms.
    pub async fn with_app(
        common: crate::config::CommonConfig,
        config: OccupancyConfig,
    ) -> Result<(AppState, Self), String> {
        let (table, auto) = match config.source {
            SourceConfig::Dashboard => {
                let app = AppState::from_config(common).await?;
                let occupancy = Self::new(Source::Dashboard, config.settings, &app.config.rooms);
                return Ok((app, occupancy));
            }
            SourceConfig::Presence { table } => (table, false),
            SourceConfig::Auto { table } => (table, true),
        };
        let (app, sdk) = AppState::with_aws(common, crate::app::DEFAULT_DEADLINE).await?;
        let store = PresenceStore::new(&sdk, table);
        let source = if auto {
            Source::Auto(store)
        } else {
            Source::Presence(store)
        };
        let occupancy = Self::new(source, config.settings, &app.config.rooms);
        Ok((app, occupancy))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    fn state(&self, room: &Room) -> &RoomState {
        // Every configured room has its entry; `Room`s come from the same list.
        static NONE: LazyLock<RoomState> = LazyLock::new(RoomState::default);
        self.rooms.get(&room.name).unwrap_or(&NONE)
    }

    /// The room now, from the configured source, under `deadline`.
    pub async fn read(
        &self,
        app: &AppState,
        room: &Room,
        deadline: &Deadline,
    ) -> Result<Reading, ApiError> {
        let state = self.state(room);
        match &self.source {
            Source::Dashboard => self.read_dashboard(app, room, state, deadline).await,
            Source::Presence(store) => self.read_presence(store, room, state, deadline).await,
            Source::Auto(store) => match self.fresh_presence(store, room, deadline).await {
                Some(snapshot) => Ok(Reading {
                    snapshot,
                    stale: false,
                }),
                None => self.read_dashboard(app, room, state, deadline).await,
            },
        }
    }

    /// The room's meeting was just ended: it reads empty at once, whatever
    /// the source, and the presence table (when there is one) records the end
    /// as if Zoom's `meeting.ended` had arrived (a failure is logged: Zoom's
    /// own webhook will record it).
    pub async fn mark_ended(&self, room: &Room, deadline: &Deadline) {
        let state = self.state(room);
        state.dashboard.set(Snapshot::empty("dashboard"));
        state.last_presence.set(Snapshot::empty("webhook"));
        let Some(store) = self.source.store() else {
            return;
        };
        let event = WebhookEvent::MeetingEnded {
            meeting_id: room.meeting_id.clone(),
            at_ms: unix_millis(SystemTime::now()),
        };
        match deadline.run(store.apply(&room.meeting_id, &event)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(room = %room.name, error = %e, "the end could not be recorded in the presence table; Zoom's webhook will")
            }
            Err(_) => {
                tracing::warn!(room = %room.name, "recording the end in the presence table ran out of time; Zoom's webhook will")
            }
        }
    }

    /// `presence`: the table, on every read (a join shows on the next one).
    /// When the table is unreachable: the last count, stale, while it can;
    /// then a clear 503 — never a made-up number.
    async fn read_presence(
        &self,
        store: &PresenceStore,
        room: &Room,
        state: &RoomState,
        deadline: &Deadline,
    ) -> Result<Reading, ApiError> {
        match store.read_within(&room.meeting_id, deadline).await {
            Ok(presence) => {
                let snapshot = Snapshot::from_presence(presence);
                state.last_presence.set(snapshot.clone());
                Ok(Reading {
                    snapshot,
                    stale: false,
                })
            }
            Err(e) => {
                let last = state.last_presence.last();
                match last.filter(|s| s.younger_than(self.settings.stale_for)) {
                    Some(snapshot) => {
                        tracing::warn!(room = %room.name, error = %e, "presence table unavailable; serving the last count as stale");
                        Ok(Reading {
                            snapshot,
                            stale: true,
                        })
                    }
                    None => {
                        tracing::error!(room = %room.name, error = %e, "presence table unavailable");
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

    /// `auto`: presence when a webhook event reached the room recently
    /// (reconcile runs alone do not count: they keep going when webhooks have
    /// stopped); `None` sends the caller to the dashboard.
    async fn fresh_presence(
        &self,
        store: &PresenceStore,
        room: &Room,
        deadline: &Deadline,
    ) -> Option<Arc<Snapshot>> {
        match store.read_within(&room.meeting_id, deadline).await {
            Ok(presence) => presence
                .is_fresh(
                    self.settings.presence_fresh_for,
                    unix_millis(SystemTime::now()),
                )
                .then(|| Snapshot::from_presence(presence)),
            Err(e) => {
                tracing::warn!(room = %room.name, error = %e, "presence table unavailable; using the dashboard");
                None
            }
        }
    }

    /// `dashboard`: at most one Zoom call per room per cache period per
    /// container, however many callers arrive; the last count, stale, while
    /// Zoom fails transiently.
    async fn read_dashboard(
        &self,
        app: &AppState,
        room: &Room,
        state: &RoomState,
        deadline: &Deadline,
    ) -> Result<Reading, ApiError> {
        let cache_for = self.settings.cache_for;
        let refreshed = state
            .dashboard
            .get_or_refresh(
                |s| s.younger_than(cache_for),
                || self.ask_zoom(app, room, state, deadline),
            )
            .await;
        let (error, why) = match refreshed {
            Ok(snapshot) => {
                return Ok(Reading {
                    snapshot,
                    stale: false,
                });
            }
            Err(Failure::Transient(error, why)) => (error, why),
            Err(Failure::Permanent(error)) => return Err(error),
        };
        let last = state.dashboard.last();
        match last.filter(|s| s.younger_than(self.settings.stale_for)) {
            Some(snapshot) => {
                tracing::warn!(
                    room = %room.name,
                    reason = why,
                    age_s = snapshot.taken.elapsed().as_secs(),
                    "serving the last count as stale"
                );
                Ok(Reading {
                    snapshot,
                    stale: true,
                })
            }
            None => Err(error),
        }
    }

    /// One dashboard call for the room, unless its backoff is running.
    async fn ask_zoom(
        &self,
        app: &AppState,
        room: &Room,
        state: &RoomState,
        deadline: &Deadline,
    ) -> Result<Arc<Snapshot>, Failure> {
        if let Some(b) = active_backoff(state) {
            let mut error = b.error;
            if error.retry_after.is_some() {
                let left = b.until.saturating_duration_since(Instant::now());
                error.retry_after = Some(left.as_secs().max(1));
            }
            return Err(Failure::Transient(error, "Zoom is backing off"));
        }
        let creds = app
            .credentials_within(deadline)
            .await
            .map_err(Failure::Permanent)?;
        let entries = deadline
            .run(app.zoom.live_participants(&creds, &room.meeting_id))
            .await
            .unwrap_or(Err(ZoomError::Timeout));
        match entries {
            Ok(entries) => Ok(Snapshot::from_dashboard(&entries)),
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
                *state.backoff.write().unwrap_or_else(|p| p.into_inner()) = Some(Backoff {
                    until: now.checked_add(wait).unwrap_or(now),
                    error: error.clone(),
                });
                tracing::warn!(room = %room.name, error = %e, backoff_s = wait.as_secs_f32(), "Zoom failed; not asking again before the backoff ends");
                Err(Failure::Transient(error, "Zoom failed"))
            }
            Err(e) => Err(Failure::Permanent(ApiError::from_zoom(&e))),
        }
    }
}

fn active_backoff(state: &RoomState) -> Option<Backoff> {
    let guard = state.backoff.read().unwrap_or_else(|p| p.into_inner());
    guard.as_ref().filter(|b| Instant::now() < b.until).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn load(pairs: &[(&str, &str)]) -> Result<OccupancyConfig, ConfigError> {
        OccupancyConfig::from_env(&Env::from_pairs(pairs))
    }

    #[test]
    fn source_selection() {
        let table = || "t".to_owned();
        assert_eq!(load(&[]).unwrap().source, SourceConfig::Dashboard);
        assert_eq!(
            load(&[("KITCHEN_PRESENCE_TABLE", "t")]).unwrap().source,
            SourceConfig::Auto { table: table() }
        );
        for name in ["webhook", "presence", "Presence"] {
            assert_eq!(
                load(&[
                    ("KITCHEN_PRESENCE_TABLE", "t"),
                    ("KITCHEN_COUNT_SOURCE", name)
                ])
                .unwrap()
                .source,
                SourceConfig::Presence { table: table() },
                "{name}"
            );
        }
        assert_eq!(
            load(&[
                ("KITCHEN_PRESENCE_TABLE", "t"),
                ("KITCHEN_COUNT_SOURCE", "dashboard")
            ])
            .unwrap()
            .source,
            SourceConfig::Dashboard
        );
        for name in ["webhook", "presence", "auto"] {
            assert_eq!(
                load(&[("KITCHEN_COUNT_SOURCE", name)]).unwrap_err().var,
                "KITCHEN_PRESENCE_TABLE"
            );
        }
        assert_eq!(
            load(&[("KITCHEN_COUNT_SOURCE", "psychic")])
                .unwrap_err()
                .var,
            "KITCHEN_COUNT_SOURCE"
        );
    }

    #[test]
    fn defaults_and_errors_name_their_variable() {
        let c = load(&[]).unwrap().settings;
        assert_eq!(
            (c.cache_for, c.stale_for, c.show_names, c.presence_fresh_for),
            (10 * SECOND, 300 * SECOND, false, 1800 * SECOND)
        );
        for var in [
            "KITCHEN_COUNT_CACHE_SECONDS",
            "KITCHEN_STALE_SECONDS",
            "KITCHEN_SHOW_NAMES",
            "KITCHEN_PRESENCE_FRESH_SECONDS",
        ] {
            assert_eq!(load(&[(var, "ten")]).unwrap_err().var, var);
        }
    }

    #[test]
    fn presence_occupied_since_is_the_earliest_counted_session() {
        use crate::presence::{SessionRow, SessionState};
        let row = |key: &str, at_ms: u64, counted: bool| SessionRow {
            session_key: key.into(),
            person: key.into(),
            name: None,
            state: if counted {
                SessionState::In
            } else {
                SessionState::Out
            },
            at_ms,
            event_ts: 0,
            expires_at_s: 0,
            counted,
        };
        let snap = Snapshot::from_presence(RoomPresence {
            count: 2,
            sessions: vec![
                row("a", 3_000, true),
                row("b", 1_000, false),
                row("c", 2_000, true),
            ],
            ..RoomPresence::default()
        });
        assert_eq!((snap.live, snap.occupied_since_ms), (true, Some(2_000)));
        assert_eq!(
            snap.occupied_since(),
            Some(SystemTime::UNIX_EPOCH + 2 * SECOND)
        );
        // Started and not ended: live though nobody is counted yet.
        let snap = Snapshot::from_presence(RoomPresence {
            started_at_ms: Some(5_000),
            ended_at_ms: Some(4_000),
            ..RoomPresence::default()
        });
        assert_eq!(
            (snap.live, snap.count, snap.occupied_since_ms),
            (true, 0, None)
        );
    }
}
