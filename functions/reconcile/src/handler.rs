//! Scheduled (EventBridge rule): brings the presence table in line with Zoom's
//! live dashboard for every configured room, fixing what lost or reordered
//! webhooks left behind. The rules (two agreeing snapshots, webhooks newer than
//! the previous snapshot win, expiry refreshed) are [`PresenceStore::repair`]'s.
//!
//! One secret read per run, then one dashboard call and one repair per room,
//! in the rooms' order. Everything runs under one deadline from the Lambda
//! context; each room gets a fair share of what is left (the time left divided
//! by the rooms still to do), so a hanging Zoom in one room leaves the others
//! their time.
//!
//! A room whose Zoom cannot be asked for a passing reason (down, rate limited,
//! slow) is `skipped`: nothing changes there — an unreachable Zoom must never
//! empty a room. A failure that will not pass by itself (the app's credentials
//! rejected, a missing scope, an unusable secret) and a presence-table failure
//! make the run a function error, after every other room has been tried, so
//! they show in the function's Errors metric and its alarm. A run with any
//! room failed or skipped counts `ReconcileFailed` once; every change counts
//! `DriftRepaired`.

use std::fmt;
use std::time::{Duration, SystemTime};

use kitchen::app::AppState;
use kitchen::credentials::{CredentialError, Credentials};
use kitchen::deadline::Deadline;
use kitchen::dynamo::TableError;
use kitchen::http::ApiError;
use kitchen::metrics::{Metric, add, incr};
use kitchen::presence::{PresenceConfig, PresenceStore, Repair};
use kitchen::rooms::Room;
use kitchen::time::unix_millis;
use kitchen::zoom::ZoomError;
use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;
use serde_json::Value;

/// The budget when the invocation carries no deadline (tests, a local run):
/// inside the template's 10 s timeout.
pub const BUDGET: Duration = Duration::from_secs(8);

pub struct Reconcile {
    pub app: AppState,
    pub store: PresenceStore,
}

impl Reconcile {
    pub async fn new(config: PresenceConfig) -> Result<Self, Error> {
        let (app, sdk) = AppState::with_aws(config.common, BUDGET).await?;
        Ok(Self {
            app,
            store: PresenceStore::new(&sdk, config.table),
        })
    }
}

/// The run's result, returned to the scheduler (and visible in test invokes):
/// the totals over every room, and each room's own outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `repaired`: every room; `skipped`: no room; `partial`: some rooms.
    pub status: RunStatus,
    pub added: usize,
    pub removed: usize,
    /// Sessions whose expiry was pushed forward.
    pub refreshed: usize,
    /// People counted over every repaired room.
    pub count: usize,
    pub rooms: Vec<RoomSummary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Repaired,
    Partial,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomSummary {
    pub room: String,
    pub meeting_id: String,
    #[serde(flatten)]
    pub outcome: RoomOutcome,
}

/// One room's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RoomOutcome {
    /// Zoom (or the secret) could not be read for a passing reason; the room's
    /// rows were not touched.
    Skipped {
        reason: &'static str,
        detail: String,
    },
    Repaired {
        added: usize,
        removed: usize,
        refreshed: usize,
        count: usize,
    },
    /// A failure a retry will not fix (the run ends as a function error).
    Failed {
        reason: &'static str,
        detail: String,
    },
}

impl Summary {
    fn of(rooms: Vec<RoomSummary>) -> Self {
        let mut s = Self {
            status: RunStatus::Skipped,
            added: 0,
            removed: 0,
            refreshed: 0,
            count: 0,
            rooms: Vec::new(),
        };
        let mut repaired = 0;
        for r in &rooms {
            if let RoomOutcome::Repaired {
                added,
                removed,
                refreshed,
                count,
            } = r.outcome
            {
                repaired += 1;
                s.added += added;
                s.removed += removed;
                s.refreshed += refreshed;
                s.count += count;
            }
        }
        s.status = match repaired {
            0 => RunStatus::Skipped,
            n if n == rooms.len() => RunStatus::Repaired,
            _ => RunStatus::Partial,
        };
        s.rooms = rooms;
        s
    }
}

/// Why one room could not be repaired, for a reason a retry will not fix.
#[derive(Debug)]
pub enum RoomError {
    /// Zoom refuses the request as it is (credentials rejected, missing scope).
    Zoom(ZoomError),
    Store(TableError),
}

impl RoomError {
    /// The error code the HTTP functions would answer with (named in the
    /// README's alarm table).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Zoom(e) => ApiError::from_zoom(e).code,
            Self::Store(_) => "presence_unavailable",
        }
    }
}

impl fmt::Display for RoomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zoom(e) => write!(f, "cannot read Zoom's dashboard: {e}"),
            Self::Store(e) => write!(f, "cannot repair the presence table: {e}"),
        }
    }
}

/// A run that failed for a reason a retry will not fix, or the table failing.
#[derive(Debug)]
pub enum ReconcileError {
    /// The secret cannot be used as it is: no room was tried.
    Credentials(CredentialError),
    /// These rooms failed; every other room was tried (`summary`).
    Rooms {
        failed: Vec<(String, RoomError)>,
        summary: Summary,
    },
}

impl fmt::Display for ReconcileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Credentials(e) => write!(f, "reconcile cannot run: {e}"),
            Self::Rooms { failed, .. } => {
                write!(f, "reconcile failed in ")?;
                for (i, (room, e)) in failed.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "; " };
                    write!(f, "{sep}room {room}: {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ReconcileError {}

/// The schedule's event carries nothing this job needs but its deadline.
pub async fn handle(state: &Reconcile, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let deadline = Deadline::from_context(Some(&event.context), BUDGET);
    let summary = reconcile(state, &deadline).await.inspect_err(|e| {
        incr(Metric::ReconcileFailed);
        match e {
            // The other rooms' outcomes, since the error is all the scheduler sees.
            ReconcileError::Rooms { summary, .. } => {
                let summary = serde_json::to_string(summary).unwrap_or_default();
                tracing::error!(error = %e, summary, "reconcile failed");
            }
            ReconcileError::Credentials(_) => tracing::error!(error = %e, "reconcile failed"),
        }
    })?;
    if summary.status != RunStatus::Repaired {
        incr(Metric::ReconcileFailed);
    }
    Ok(serde_json::to_value(summary)?)
}

/// Repairs every room; see the module doc for what a failure does.
pub async fn reconcile(state: &Reconcile, deadline: &Deadline) -> Result<Summary, ReconcileError> {
    let rooms = &state.app.config.rooms;
    let creds = match deadline.run(state.app.credentials.get()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e @ CredentialError::Malformed(_))) => return Err(ReconcileError::Credentials(e)),
        Ok(Err(e)) => return Ok(all_skipped(state, &e.to_string())),
        Err(e) => return Ok(all_skipped(state, &e.to_string())),
    };
    let mut done = Vec::with_capacity(rooms.len());
    let mut failed = Vec::new();
    for (i, room) in rooms.iter().enumerate() {
        // A fair share of what is left, so one hanging room leaves the others time.
        let share = deadline.remaining() / u32::try_from(rooms.len() - i).unwrap_or(u32::MAX);
        let outcome = match repair_room(state, &creds, room, &Deadline::after(share)).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(room = %room.name, meeting_id = %room.meeting_id, error = %e, "room not reconciled");
                let outcome = RoomOutcome::Failed {
                    reason: e.reason(),
                    detail: e.to_string(),
                };
                failed.push((room.name.clone(), e));
                outcome
            }
        };
        done.push(RoomSummary {
            room: room.name.clone(),
            meeting_id: room.meeting_id.clone(),
            outcome,
        });
    }
    let summary = Summary::of(done);
    if failed.is_empty() {
        Ok(summary)
    } else {
        Err(ReconcileError::Rooms { failed, summary })
    }
}

/// The secret could not be read for a passing reason: no room is touched.
fn all_skipped(state: &Reconcile, detail: &str) -> Summary {
    let rooms = state.app.config.rooms.iter().map(|room| {
        tracing::warn!(room = %room.name, reason = "credentials_unavailable", detail, "presence left unchanged");
        RoomSummary {
            room: room.name.clone(),
            meeting_id: room.meeting_id.clone(),
            outcome: RoomOutcome::Skipped {
                reason: "credentials_unavailable",
                detail: detail.to_owned(),
            },
        }
    });
    Summary::of(rooms.collect())
}

/// One dashboard call and one repair for `room`.
async fn repair_room(
    state: &Reconcile,
    creds: &Credentials,
    room: &Room,
    deadline: &Deadline,
) -> Result<RoomOutcome, RoomError> {
    let meeting_id = room.meeting_id.as_str();
    // Taken before asking Zoom: a webhook newer than the snapshot wins over the repair.
    let snapshot_ms = unix_millis(SystemTime::now());
    let live = match deadline
        .run(state.app.zoom.live_participants(creds, meeting_id))
        .await
    {
        Ok(Ok(entries)) => entries,
        Ok(Err(e)) if !e.is_transient() => return Err(RoomError::Zoom(e)),
        Ok(Err(e)) => return Ok(skipped(room, e.to_string())),
        Err(e) => return Ok(skipped(room, e.to_string())),
    };
    let repair: Repair = deadline
        .run(state.store.repair(meeting_id, &live, snapshot_ms))
        .await
        .unwrap_or_else(|_| Err(TableError::timed_out(PresenceStore::ROLE)))
        .map_err(RoomError::Store)?;
    let changed = repair.added.len() + repair.removed.len();
    if changed > 0 {
        add(Metric::DriftRepaired, changed as u64);
    }
    tracing::info!(room = %room.name, meeting_id, added = ?repair.added, removed = ?repair.removed, refreshed = repair.refreshed, count = repair.count, "presence reconciled");
    Ok(RoomOutcome::Repaired {
        added: repair.added.len(),
        removed: repair.removed.len(),
        refreshed: repair.refreshed,
        count: repair.count,
    })
}

fn skipped(room: &Room, detail: String) -> RoomOutcome {
    tracing::warn!(room = %room.name, meeting_id = %room.meeting_id, reason = "zoom_unavailable", detail, "presence left unchanged");
    RoomOutcome::Skipped {
        reason: "zoom_unavailable",
        detail,
    }
}
