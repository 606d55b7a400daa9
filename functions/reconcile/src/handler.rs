//! Scheduled (EventBridge rule): brings the presence table in line with Zoom's
//! live dashboard, fixing what lost or reordered webhooks left behind.
//!
//! When Zoom cannot be asked, nothing changes: an unreachable Zoom must never
//! empty the room. A presence-table failure is an invocation error, so it shows
//! in the function's error metric and the schedule's retry runs it again.

use std::time::{Duration, SystemTime};

use kitchen::app::Kitchen;
use kitchen::config::{CommonConfig, ConfigError, Env};
use kitchen::presence::{PresenceStore, StoreError};
use kitchen::time::unix_millis;
use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;
use serde_json::Value;

/// Bound on the Zoom part (token and every dashboard page), leaving time for
/// the table writes inside the 10 s Lambda timeout.
pub const ZOOM_DEADLINE: Duration = Duration::from_secs(6);

#[derive(Debug)]
pub struct ReconcileConfig {
    pub common: CommonConfig,
    /// `KITCHEN_PRESENCE_TABLE`: the DynamoDB presence table.
    pub table: String,
}

impl ReconcileConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            table: env.required("KITCHEN_PRESENCE_TABLE")?,
        })
    }
}

pub struct Reconcile {
    pub kitchen: Kitchen,
    pub store: PresenceStore,
}

impl Reconcile {
    pub async fn new(config: ReconcileConfig) -> Result<Self, Error> {
        let (kitchen, sdk) = Kitchen::with_aws(config.common, ZOOM_DEADLINE).await?;
        Ok(Self {
            kitchen,
            store: PresenceStore::new(&sdk, config.table),
        })
    }
}

/// The job's result, returned to the scheduler (and visible in test invokes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Summary {
    /// Zoom (or the credentials) could not be read; the table was not touched.
    Skipped {
        reason: &'static str,
        detail: String,
    },
    Repaired {
        added: usize,
        removed: usize,
        count: usize,
    },
}

/// The schedule's event carries nothing this job needs.
pub async fn handle(state: &Reconcile, _event: LambdaEvent<Value>) -> Result<Value, Error> {
    let summary = reconcile(state).await?;
    Ok(serde_json::to_value(summary)?)
}

pub async fn reconcile(state: &Reconcile) -> Result<Summary, StoreError> {
    let k = &state.kitchen;
    let meeting_id = k.config.meeting_id.as_str();
    let creds = match k.credentials.get().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "credentials unavailable; presence left unchanged");
            return Ok(Summary::Skipped {
                reason: "credentials_unavailable",
                detail: e.to_string(),
            });
        }
    };
    // Taken before asking Zoom: a webhook newer than the snapshot wins over the repair.
    let snapshot_ms = unix_millis(SystemTime::now());
    let live = match k
        .within_deadline(k.zoom.live_participants(&creds, meeting_id))
        .await
    {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(meeting_id, error = %e, "Zoom's live participants are unavailable; presence left unchanged");
            return Ok(Summary::Skipped {
                reason: "zoom_unavailable",
                detail: e.to_string(),
            });
        }
    };
    let repair = state
        .store
        .repair(meeting_id, &live, snapshot_ms)
        .await
        .inspect_err(|e| {
            tracing::error!(meeting_id, error = %e, "repairing the presence table failed");
        })?;
    tracing::info!(meeting_id, added = ?repair.added, removed = ?repair.removed, count = repair.count, "presence reconciled");
    Ok(Summary::Repaired {
        added: repair.added.len(),
        removed: repair.removed.len(),
        count: repair.count,
    })
}

#[cfg(test)]
mod tests {
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
        let kitchen = kitchen(&sim);
        (sim, Reconcile { kitchen, store })
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

    #[tokio::test]
    async fn drift_is_repaired_from_the_live_dashboard() {
        let (logs, _guard) = LogCapture::start();
        let (sim, state) = setup().await;
        drift(&sim, &state).await;

        let summary = reconcile(&state).await.unwrap();
        assert_eq!(
            summary,
            Summary::Repaired {
                added: 2,
                removed: 1,
                count: 3
            }
        );
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

        let text = logs.text();
        assert!(
            text.contains("presence reconciled")
                && text.contains("Xavier")
                && text.contains("Bob Example"),
            "{text}"
        );
        logs.assert_no_secrets(&[]);

        // Nothing left to do on the next run; one dashboard fetch per run.
        assert_eq!(
            reconcile(&state).await.unwrap(),
            Summary::Repaired {
                added: 0,
                removed: 0,
                count: 3
            }
        );
        assert_eq!(sim.sim.stats().dashboard_requests, 2);
    }

    #[tokio::test]
    async fn zoom_down_changes_nothing() {
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
            let summary = reconcile(&state).await.unwrap();
            assert!(
                matches!(
                    summary,
                    Summary::Skipped {
                        reason: "zoom_unavailable",
                        ..
                    }
                ),
                "{fault:?}: {summary:?}"
            );
            sim.sim.set_sticky_fault(endpoint, None);
            assert_eq!(
                state.store.read(DEMO_MEETING_ID).await.unwrap(),
                before,
                "{fault:?} changed the table"
            );
        }
    }

    #[tokio::test]
    async fn a_meeting_that_is_not_running_has_nobody_in_it() {
        let (sim, state) = setup().await;
        drift(&sim, &state).await;
        sim.sim.set_meeting_running(DEMO_MEETING_ID, false);
        assert_eq!(
            reconcile(&state).await.unwrap(),
            Summary::Repaired {
                added: 0,
                removed: 2,
                count: 0
            }
        );
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
        let out = handle(
            &state,
            LambdaEvent::new(payload, lambda_runtime::Context::default()),
        )
        .await
        .unwrap();
        assert_eq!(
            out,
            json!({"status": "repaired", "added": 3, "removed": 0, "count": 3})
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
            kitchen: kitchen(&sim),
            store: PresenceStore::new(&sdk_config(&closed).await, "presence"),
        };
        assert_eq!(
            reconcile(&state).await.unwrap_err(),
            StoreError::Unavailable("unreachable")
        );
        let err = handle(
            &state,
            LambdaEvent::new(json!({}), lambda_runtime::Context::default()),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("could not be reached"));
    }

    #[test]
    fn config_requires_the_table() {
        let env = Env::from_fn(|k| match k {
            "ZOOM_MEETING_ID" => Some("85746065432".into()),
            "ZOOM_SECRET_ID" => Some("kitchen".into()),
            _ => None,
        });
        assert_eq!(
            ReconcileConfig::from_env(&env).unwrap_err().var,
            "KITCHEN_PRESENCE_TABLE"
        );
    }
}
