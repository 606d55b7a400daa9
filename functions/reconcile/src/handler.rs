//! Scheduled (EventBridge rule): brings the presence table in line with Zoom's
//! live dashboard, fixing what lost or reordered webhooks left behind. The
//! rules (two agreeing snapshots, webhooks newer than the previous snapshot
//! win, expiry refreshed) are [`PresenceStore::repair`]'s.
//!
//! Everything (secret read, Zoom, the table) runs under one deadline from the
//! Lambda context. When Zoom cannot be asked for a passing reason (down, rate
//! limited, slow) nothing changes and the run is `skipped`: an unreachable Zoom
//! must never empty the room. A failure that will not pass by itself (the app's
//! credentials rejected, a missing scope, an unusable secret) and a
//! presence-table failure are function errors, so they show in the function's
//! Errors metric and its alarm. Every failed or skipped run also counts
//! `ReconcileFailed`; every change counts `DriftRepaired`.

use std::fmt;
use std::time::{Duration, SystemTime};

use kitchen::app::AppState;
use kitchen::credentials::CredentialError;
use kitchen::deadline::Deadline;
use kitchen::metrics::{Metric, add, incr};
use kitchen::presence::{PresenceConfig, PresenceStore, StoreError};
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

/// The job's result, returned to the scheduler (and visible in test invokes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Summary {
    /// Zoom (or the secret) could not be read for a passing reason; the table
    /// was not touched.
    Skipped {
        reason: &'static str,
        detail: String,
    },
    Repaired {
        added: usize,
        removed: usize,
        /// Sessions whose expiry was pushed forward.
        refreshed: usize,
        count: usize,
    },
}

/// A run that failed for a reason a retry will not fix, or the table failing.
#[derive(Debug)]
pub enum ReconcileError {
    /// The secret cannot be used as it is.
    Credentials(CredentialError),
    /// Zoom refuses the request as it is (credentials rejected, missing scope).
    Zoom(ZoomError),
    Store(StoreError),
}

impl fmt::Display for ReconcileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Credentials(e) => write!(f, "reconcile cannot run: {e}"),
            Self::Zoom(e) => write!(f, "reconcile cannot read Zoom's dashboard: {e}"),
            Self::Store(e) => write!(f, "reconcile cannot repair the presence table: {e}"),
        }
    }
}

impl std::error::Error for ReconcileError {}

/// The schedule's event carries nothing this job needs but its deadline.
pub async fn handle(state: &Reconcile, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let deadline = Deadline::from_context(Some(&event.context), BUDGET);
    let summary = reconcile(state, &deadline).await.inspect_err(|e| {
        incr(Metric::ReconcileFailed);
        tracing::error!(error = %e, "reconcile failed");
    })?;
    if matches!(summary, Summary::Skipped { .. }) {
        incr(Metric::ReconcileFailed);
    }
    Ok(serde_json::to_value(summary)?)
}

pub async fn reconcile(state: &Reconcile, deadline: &Deadline) -> Result<Summary, ReconcileError> {
    let k = &state.app;
    let meeting_id = k.config.meeting_id.as_str();
    let skipped = |reason, detail: String| {
        tracing::warn!(meeting_id, reason, detail, "presence left unchanged");
        Ok(Summary::Skipped { reason, detail })
    };
    let creds = match deadline.run(k.credentials.get()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e @ CredentialError::Malformed(_))) => return Err(ReconcileError::Credentials(e)),
        Ok(Err(e)) => return skipped("credentials_unavailable", e.to_string()),
        Err(e) => return skipped("credentials_unavailable", e.to_string()),
    };
    // Taken before asking Zoom: a webhook newer than the snapshot wins over the repair.
    let snapshot_ms = unix_millis(SystemTime::now());
    let live = match deadline
        .run(k.zoom.live_participants(&creds, meeting_id))
        .await
    {
        Ok(Ok(entries)) => entries,
        Ok(Err(e)) if !e.is_transient() => return Err(ReconcileError::Zoom(e)),
        Ok(Err(e)) => return skipped("zoom_unavailable", e.to_string()),
        Err(e) => return skipped("zoom_unavailable", e.to_string()),
    };
    let repair = deadline
        .run(state.store.repair(meeting_id, &live, snapshot_ms))
        .await
        .unwrap_or(Err(StoreError::Unavailable("timed out")))
        .map_err(ReconcileError::Store)?;
    let changed = repair.added.len() + repair.removed.len();
    if changed > 0 {
        add(Metric::DriftRepaired, changed as u64);
    }
    tracing::info!(meeting_id, added = ?repair.added, removed = ?repair.removed, refreshed = repair.refreshed, count = repair.count, "presence reconciled");
    Ok(Summary::Repaired {
        added: repair.added.len(),
        removed: repair.removed.len(),
        refreshed: repair.refreshed,
        count: repair.count,
    })
}
