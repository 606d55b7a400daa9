//! Reconcile against moto (the presence table) and the Zoom simulator.

use std::time::{Duration, SystemTime};

use kitchen::deadline::Deadline;
use kitchen::dynamo::TableError;
use kitchen::metrics::Metric;
use kitchen::presence::PresenceStore;
use kitchen::rooms::Rooms;
use kitchen::time::unix_millis;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::handler::{
    BUDGET, Reconcile, ReconcileError, RoomError, RoomOutcome, RunStatus, Summary, handle,
    reconcile,
};

use kitchen::metrics::testing::total;
use kitchen::presence::RoomPresence;
use kitchen::testing::{LogCapture, kitchen, moto_endpoint, sdk_config, unique};
use kitchen::webhook::parse_event;
use serde_json::json;
use zoom_sim::{
    DEMO_LOUNGE_MEETING_ID, DEMO_MEETING_ID, Endpoint, Fault, JoinSpec, Sim, SimHandle,
};

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

/// The run's totals: (status, added, removed, count).
fn totals(s: &Summary) -> (RunStatus, usize, usize, usize) {
    (s.status, s.added, s.removed, s.count)
}

fn repaired(added: usize, removed: usize, count: usize) -> (RunStatus, usize, usize, usize) {
    (RunStatus::Repaired, added, removed, count)
}

/// The one room's outcome of a single-room run's JSON summary.
fn only_room(out: &Value) -> &Value {
    let rooms = out["rooms"].as_array().expect("rooms");
    assert_eq!(rooms.len(), 1, "{out}");
    &rooms[0]
}

#[tokio::test]
async fn drift_is_repaired_once_two_snapshots_agree() {
    let (logs, _guard) = LogCapture::start();
    let (sim, state) = setup().await;
    drift(&sim, &state).await;
    let repaired_before = total(Metric::DriftRepaired);

    // The first snapshot only records what Zoom shows.
    assert_eq!(totals(&run(&state).await.unwrap()), repaired(0, 0, 2));
    // The second agrees with it: now the table follows.
    assert_eq!(totals(&run(&state).await.unwrap()), repaired(2, 1, 3));
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
    assert_eq!(totals(&run(&state).await.unwrap()), repaired(0, 0, 3));
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
            (out["status"].as_str(), only_room(&out)["reason"].as_str()),
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

/// Zoom's answer to a token without the dashboard scope.
fn missing_scope() -> Fault {
    Fault::Status {
        status: 400,
        body: json!({"code": 4711, "message": "Invalid access token, does not contain scopes:[dashboard_meetings:read:admin]."}),
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
        (Endpoint::Dashboard, missing_scope()),
    ];
    for (endpoint, fault) in faults {
        sim.sim.set_sticky_fault(endpoint, Some(fault.clone()));
        let failed_before = total(Metric::ReconcileFailed);
        match run(&state).await {
            Err(ReconcileError::Rooms { failed, .. }) => assert!(
                matches!(failed.as_slice(), [(room, RoomError::Zoom(_))] if room == "kitchen"),
                "{fault:?}: {failed:?}"
            ),
            other => panic!("{fault:?}: {other:?}"),
        }
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
    assert_eq!(totals(&run(&state).await.unwrap()), repaired(0, 0, 2));
    assert_eq!(totals(&run(&state).await.unwrap()), repaired(0, 2, 0));
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
    let room = |added, count| {
        json!({"room": "kitchen", "meeting_id": DEMO_MEETING_ID, "status": "repaired",
               "added": added, "removed": 0, "refreshed": 0, "count": count})
    };
    assert_eq!(
        handle(&state, event()).await.unwrap(),
        json!({"status": "repaired", "added": 0, "removed": 0, "refreshed": 0, "count": 0,
               "rooms": [room(0, 0)]})
    );
    assert_eq!(
        handle(&state, event()).await.unwrap(),
        json!({"status": "repaired", "added": 3, "removed": 0, "refreshed": 0, "count": 3,
               "rooms": [room(3, 3)]})
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
    match run(&state).await {
        Err(ReconcileError::Rooms { failed, .. }) => assert!(
            matches!(
                failed.as_slice(),
                [(
                    _,
                    RoomError::Store(TableError::Unavailable {
                        why: "unreachable",
                        ..
                    })
                )]
            ),
            "{failed:?}"
        ),
        other => panic!("{other:?}"),
    }
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
        (out["status"].as_str(), only_room(&out)["reason"].as_str()),
        (Some("skipped"), Some("zoom_unavailable")),
        "{out}"
    );
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1000),
        "{took:?}"
    );
}

/// The simulator's two rooms: `kitchen` (Alice, Bob, Carol in; Dave waiting)
/// and `lounge`, started here with Erin and Frank in it.
async fn two_rooms() -> (SimHandle, Reconcile) {
    let (sim, mut state) = setup().await;
    state.app.config.rooms = Rooms::parse(
        &json!({"kitchen": DEMO_MEETING_ID, "lounge": DEMO_LOUNGE_MEETING_ID}).to_string(),
    )
    .unwrap();
    sim.sim.set_meeting_running(DEMO_LOUNGE_MEETING_ID, true);
    for (name, email) in [("Erin", "erin@example.com"), ("Frank", "frank@example.com")] {
        sim.sim
            .join(JoinSpec {
                name: name.into(),
                email: Some(email.into()),
                room: Some("lounge".into()),
                ..JoinSpec::default()
            })
            .await
            .expect("join the lounge");
    }
    (sim, state)
}

fn outcome<'a>(s: &'a Summary, room: &str) -> &'a RoomOutcome {
    &s.rooms
        .iter()
        .find(|r| r.room == room)
        .expect("the room")
        .outcome
}

fn room_repaired(added: usize, count: usize) -> RoomOutcome {
    RoomOutcome::Repaired {
        added,
        removed: 0,
        refreshed: 0,
        count,
    }
}

#[tokio::test]
async fn every_room_is_repaired_with_one_dashboard_call_each() {
    let (sim, state) = two_rooms().await;
    sim.sim.reset_stats();
    let first = run(&state).await.unwrap();
    assert_eq!(totals(&first), repaired(0, 0, 0));
    let second = run(&state).await.unwrap();
    assert_eq!(totals(&second), repaired(5, 0, 5));
    assert_eq!(outcome(&second, "kitchen"), &room_repaired(3, 3));
    assert_eq!(outcome(&second, "lounge"), &room_repaired(2, 2));
    assert_eq!(
        sim.sim.stats().dashboard_requests,
        4,
        "one dashboard call per room per run"
    );
    let kitchen = state.store.read(DEMO_MEETING_ID).await.unwrap();
    let lounge = state.store.read(DEMO_LOUNGE_MEETING_ID).await.unwrap();
    assert_eq!(
        kitchen.names,
        ["Alice Example", "Bob Example", "Carol Example"]
    );
    assert_eq!(lounge.names, ["Erin", "Frank"], "each room its own people");
}

/// Rooms are repaired in name order, so a one-shot dashboard fault hits the
/// kitchen; the lounge is repaired all the same, in the same run.
#[tokio::test]
async fn a_failing_room_does_not_stop_the_others() {
    let (sim, state) = two_rooms().await;
    // Transient: the kitchen is skipped, the lounge records its snapshot.
    sim.sim.push_fault(
        Endpoint::Dashboard,
        Fault::Status {
            status: 503,
            body: json!({"code": 503, "message": "down"}),
        },
    );
    let failed_before = total(Metric::ReconcileFailed);
    let out = handle(&state, invoke())
        .await
        .expect("a passing failure is no function error");
    assert_eq!(out["status"], "partial", "{out}");
    assert_eq!(
        (
            out["rooms"][0]["room"].as_str(),
            out["rooms"][0]["status"].as_str(),
            out["rooms"][0]["reason"].as_str()
        ),
        (Some("kitchen"), Some("skipped"), Some("zoom_unavailable")),
        "{out}"
    );
    assert_eq!(
        (
            out["rooms"][1]["room"].as_str(),
            out["rooms"][1]["status"].as_str()
        ),
        (Some("lounge"), Some("repaired")),
        "{out}"
    );
    assert!(total(Metric::ReconcileFailed) > failed_before);
    let kitchen = state.store.read(DEMO_MEETING_ID).await.unwrap();
    assert_eq!(kitchen.verified, None, "the skipped room was not touched");
    assert!(
        state
            .store
            .read(DEMO_LOUNGE_MEETING_ID)
            .await
            .unwrap()
            .verified
            .is_some()
    );

    // Permanent (a missing scope): still every room is tried, then the run
    // is a function error naming the failed room.
    sim.sim.push_fault(Endpoint::Dashboard, missing_scope());
    let failed_before = total(Metric::ReconcileFailed);
    let err = handle(&state, invoke()).await.unwrap_err().to_string();
    assert!(
        err.contains("room kitchen") && !err.contains("lounge"),
        "{err}"
    );
    assert!(total(Metric::ReconcileFailed) > failed_before);
    let lounge = state.store.read(DEMO_LOUNGE_MEETING_ID).await.unwrap();
    assert_eq!(
        lounge.names,
        ["Erin", "Frank"],
        "repaired despite the kitchen"
    );
    assert_eq!(state.store.read(DEMO_MEETING_ID).await.unwrap().count, 0);

    // The same through `reconcile`: the failed room and the others' summary.
    sim.sim.push_fault(Endpoint::Dashboard, missing_scope());
    match run(&state).await {
        Err(ReconcileError::Rooms { failed, summary }) => {
            assert!(matches!(failed.as_slice(), [(room, RoomError::Zoom(_))] if room == "kitchen"));
            assert_eq!(summary.status, RunStatus::Partial);
            assert!(matches!(
                outcome(&summary, "kitchen"),
                RoomOutcome::Failed {
                    reason: "zoom_missing_scope",
                    ..
                }
            ));
            assert_eq!(outcome(&summary, "lounge"), &room_repaired(0, 2));
        }
        other => panic!("{other:?}"),
    }
}
