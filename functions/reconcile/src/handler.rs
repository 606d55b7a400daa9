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

#[cfg(test)]
mod tests {
    use kitchen::metrics::testing::total;
    use kitchen::presence::RoomPresence;
    use kitchen::testing::{LogCapture, kitchen, moto_endpoint, sdk_config, unique};
    use kitchen::webhook::parse_event;
    use serde_json::json;
    use zoom_sim::{DEMO_MEETING_ID, Endpoint, Fault, Sim, SimHandle};

    use super::*;

    async fn setup() -> (SimHandle, Reconcile) {
        let sim = Sim::demo().spawn().await;
        let store = PresenceStore::new(&sdk_config(&moto_endpoint()).await, unique("presence"));
        store
            .create_table()
            .await
            .expect("create the presence table");
        let app = kitchen(&sim);
        (sim, Reconcile { app, store })
    }

    async fn run(state: &Reconcile) -> Result<Summary, ReconcileError> {
        reconcile(state, &Deadline::after(BUDGET)).await
    }

    fn invoke() -> LambdaEvent<Value> {
        LambdaEvent::new(json!({}), lambda_runtime::Context::default())
    }

    /// A `meeting.participant_joined` for a dashboard-shaped entry, `minutes_ago`.
    fn joined(entry: &Value, minutes_ago: u64) -> kitchen::webhook::WebhookEvent {
        let at = SystemTime::now() - Duration::from_secs(60 * minutes_ago);
        let mut participant = entry.clone();
        participant["join_time"] = json!(kitchen::time::format_rfc3339(at));
        let body = json!({
            "event": "meeting.participant_joined",
            "event_ts": unix_millis(at),
            "payload": {"account_id": "demo-account", "object": {"id": DEMO_MEETING_ID, "participant": participant}},
        });
        parse_event(body.to_string().as_bytes()).expect("a participant event")
    }

    fn xavier() -> Value {
        json!({"participant_uuid": "X-1", "user_id": "16770001", "user_name": "Xavier", "email": "xavier@example.com", "id": ""})
    }

    /// The store believes Xavier is in (his leave was lost) and knows only Alice of those Zoom lists.
    async fn drift(sim: &SimHandle, state: &Reconcile) -> RoomPresence {
        let alice = sim
            .sim
            .participants(DEMO_MEETING_ID)
            .into_iter()
            .find(|e| e["user_name"] == "Alice Example")
            .expect("the demo room has Alice");
        state
            .store
            .apply(DEMO_MEETING_ID, &joined(&xavier(), 30))
            .await
            .unwrap();
        state
            .store
            .apply(DEMO_MEETING_ID, &joined(&alice, 25))
            .await
            .unwrap();
        let room = state.store.read(DEMO_MEETING_ID).await.unwrap();
        assert_eq!(
            room.names,
            vec!["Alice Example".to_owned(), "Xavier".to_owned()]
        );
        room
    }

    fn repaired(added: usize, removed: usize, count: usize) -> Summary {
        Summary::Repaired {
            added,
            removed,
            refreshed: 0,
            count,
        }
    }

    #[tokio::test]
    async fn drift_is_repaired_once_two_snapshots_agree() {
        let (logs, _guard) = LogCapture::start();
        let (sim, state) = setup().await;
        drift(&sim, &state).await;
        let repaired_before = total(Metric::DriftRepaired);

        // The first snapshot only records what Zoom shows.
        assert_eq!(run(&state).await.unwrap(), repaired(0, 0, 2));
        // The second agrees with it: now the table follows.
        assert_eq!(run(&state).await.unwrap(), repaired(2, 1, 3));
        let room = state.store.read(DEMO_MEETING_ID).await.unwrap();
        assert_eq!(
            room.names,
            vec![
                "Alice Example".to_owned(),
                "Bob Example".to_owned(),
                "Carol Example".to_owned()
            ]
        );
        assert!(room.verified_at_ms.is_some());
        assert!(
            !room.names.iter().any(|n| n.starts_with("Dave")),
            "the waiting room is not the kitchen"
        );
        assert!(total(Metric::DriftRepaired) >= repaired_before + 3);

        let text = logs.text();
        assert!(
            text.contains("presence reconciled")
                && text.contains("Xavier")
                && text.contains("Bob Example"),
            "{text}"
        );
        logs.assert_no_secrets(&[]);

        // Nothing left to do on the next run; one dashboard fetch per run.
        assert_eq!(run(&state).await.unwrap(), repaired(0, 0, 3));
        assert_eq!(sim.sim.stats().dashboard_requests, 3);
    }

    #[tokio::test]
    async fn zoom_down_changes_nothing_and_is_counted() {
        let (sim, state) = setup().await;
        let before = drift(&sim, &state).await;
        // The token fault first: later runs have a cached token.
        let faults = [
            (
                Endpoint::Token,
                Fault::Status {
                    status: 503,
                    body: json!({}),
                },
            ),
            (
                Endpoint::Dashboard,
                Fault::Status {
                    status: 503,
                    body: json!({"code": 503, "message": "down"}),
                },
            ),
            (
                Endpoint::Dashboard,
                Fault::RateLimit {
                    retry_after: Some("60".into()),
                },
            ),
            (Endpoint::Dashboard, Fault::Hang),
        ];
        for (endpoint, fault) in faults {
            sim.sim.set_sticky_fault(endpoint, Some(fault.clone()));
            let failed_before = total(Metric::ReconcileFailed);
            let out = handle(&state, invoke())
                .await
                .expect("a passing failure is no function error");
            assert_eq!(
                (out["status"].as_str(), out["reason"].as_str()),
                (Some("skipped"), Some("zoom_unavailable")),
                "{fault:?}: {out}"
            );
            assert!(total(Metric::ReconcileFailed) > failed_before, "{fault:?}");
            sim.sim.set_sticky_fault(endpoint, None);
            assert_eq!(
                state.store.read(DEMO_MEETING_ID).await.unwrap(),
                before,
                "{fault:?} changed the table"
            );
        }
    }

    /// Rejected credentials and a missing scope will not fix themselves: a
    /// function error (Lambda's Errors metric, the alarm) and the metric, not
    /// a quiet `skipped`.
    #[tokio::test]
    async fn a_permanent_failure_is_a_function_error() {
        let (sim, state) = setup().await;
        let before = drift(&sim, &state).await;
        let faults = [
            (
                Endpoint::Token,
                Fault::Status {
                    status: 401,
                    body: json!({"reason": "Invalid client_id or client_secret", "error": "invalid_client"}),
                },
            ),
            (
                Endpoint::Dashboard,
                Fault::Status {
                    status: 400,
                    body: json!({"code": 4711, "message": "Invalid access token, does not contain scopes:[dashboard_meetings:read:admin]."}),
                },
            ),
        ];
        for (endpoint, fault) in faults {
            sim.sim.set_sticky_fault(endpoint, Some(fault.clone()));
            let failed_before = total(Metric::ReconcileFailed);
            assert!(
                matches!(run(&state).await, Err(ReconcileError::Zoom(_))),
                "{fault:?}"
            );
            let err = handle(&state, invoke()).await.unwrap_err();
            assert!(err.to_string().contains("Zoom"), "{err}");
            assert!(total(Metric::ReconcileFailed) > failed_before, "{fault:?}");
            sim.sim.set_sticky_fault(endpoint, None);
            assert_eq!(state.store.read(DEMO_MEETING_ID).await.unwrap(), before);
        }
    }

    #[tokio::test]
    async fn a_meeting_that_is_not_running_has_nobody_in_it() {
        let (sim, state) = setup().await;
        drift(&sim, &state).await;
        sim.sim.set_meeting_running(DEMO_MEETING_ID, false);
        assert_eq!(run(&state).await.unwrap(), repaired(0, 0, 2));
        assert_eq!(run(&state).await.unwrap(), repaired(0, 2, 0));
        assert_eq!(state.store.read(DEMO_MEETING_ID).await.unwrap().count, 0);
    }

    #[tokio::test]
    async fn the_scheduled_event_gets_a_json_summary() {
        let (_sim, state) = setup().await;
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../infra/events/reconcile-schedule.json"
        );
        let payload: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let event = || LambdaEvent::new(payload.clone(), lambda_runtime::Context::default());
        assert_eq!(
            handle(&state, event()).await.unwrap(),
            json!({"status": "repaired", "added": 0, "removed": 0, "refreshed": 0, "count": 0})
        );
        assert_eq!(
            handle(&state, event()).await.unwrap(),
            json!({"status": "repaired", "added": 3, "removed": 0, "refreshed": 0, "count": 3})
        );
    }

    #[tokio::test]
    async fn an_unreachable_table_is_an_invocation_error() {
        let sim = Sim::demo().spawn().await;
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let state = Reconcile {
            app: kitchen(&sim),
            store: PresenceStore::new(&sdk_config(&closed).await, "presence"),
        };
        assert!(matches!(
            run(&state).await,
            Err(ReconcileError::Store(StoreError::Unavailable(
                "unreachable"
            )))
        ));
        let err = handle(&state, invoke()).await.unwrap_err();
        assert!(err.to_string().contains("could not be reached"));
    }

    /// The secret read, Zoom and the table share one deadline, taken from the
    /// Lambda context: with 1.4 s left (0.4 s after the margin) a hanging Zoom
    /// is given up there, long before the 8 s fallback budget.
    #[tokio::test]
    async fn the_lambda_deadline_bounds_the_whole_run() {
        let (sim, state) = setup().await;
        sim.sim
            .set_sticky_fault(Endpoint::Dashboard, Some(Fault::Hang));
        let mut ctx = lambda_runtime::Context::default();
        ctx.deadline = unix_millis(SystemTime::now() + Duration::from_millis(1400));
        let started = std::time::Instant::now();
        let out = handle(&state, LambdaEvent::new(json!({}), ctx))
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(
            (out["status"].as_str(), out["reason"].as_str()),
            (Some("skipped"), Some("zoom_unavailable")),
            "{out}"
        );
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_millis(1000),
            "{took:?}"
        );
    }
}
