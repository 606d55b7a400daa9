//! The presence store against DynamoDB (moto over HTTP; `KITCHEN_TEST_MOTO`).
//! Events go through `parse_event` from Zoom-shaped JSON, as the webhook does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kitchen::dynamo::TableError;
use kitchen::participants::Participant;
use kitchen::presence::{Applied, PresenceStore, SESSION_TTL_SECS, SessionState};
use kitchen::testing::{moto_endpoint, sdk_config, unique};
use kitchen::time::{format_rfc3339, unix_millis};
use kitchen::webhook::{WebhookEvent, parse_event};
use serde_json::{Value, json};

const MEETING: &str = "85746065432";

async fn store() -> PresenceStore {
    let sdk = sdk_config(&moto_endpoint()).await;
    let store = PresenceStore::new(&sdk, unique("presence"));
    store
        .create_table()
        .await
        .expect("create the presence table in moto");
    store
}

fn now_ms() -> u64 {
    unix_millis(SystemTime::now())
}

/// Ten minutes ago, in whole seconds (Zoom's times have no fraction).
fn ten_minutes_ago() -> u64 {
    now_ms() / 1000 * 1000 - 600_000
}

/// Whole seconds, as Zoom's RFC 3339 times have.
fn rfc3339(ms: u64) -> String {
    format_rfc3339(UNIX_EPOCH + Duration::from_millis(ms))
}

/// A Zoom participant event. `who` = (email, participant_uuid, name); the time
/// field is chosen by event type; `event_ts` = the change time + `ts_offset` ms.
fn participant_event(
    event: &str,
    who: (&str, &str, &str),
    at_ms: u64,
    ts_offset: u64,
) -> WebhookEvent {
    participant_event_in(MEETING, event, who, at_ms, ts_offset)
}

/// [`participant_event`] in the meeting `meeting`.
fn participant_event_in(
    meeting: &str,
    event: &str,
    who: (&str, &str, &str),
    at_ms: u64,
    ts_offset: u64,
) -> WebhookEvent {
    let (email, uuid, name) = who;
    let time_field = match event {
        "meeting.participant_joined" => "join_time",
        "meeting.participant_left" => "leave_time",
        _ => "date_time",
    };
    let mut participant = json!({
        "user_id": "16778240", "user_name": name, "id": "", "participant_uuid": uuid,
        "participant_user_id": "", "email": email,
    });
    participant[time_field] = json!(rfc3339(at_ms));
    let body = json!({
        "event": event,
        "event_ts": at_ms / 1000 * 1000 + ts_offset,
        "payload": {"account_id": "acc", "object": {"id": meeting.parse::<u64>().unwrap(), "uuid": "inst==", "participant": participant}},
    });
    parse_event(body.to_string().as_bytes()).expect("a parseable event")
}

fn joined(who: (&str, &str, &str), at_ms: u64) -> WebhookEvent {
    participant_event("meeting.participant_joined", who, at_ms, 100)
}

fn left(who: (&str, &str, &str), at_ms: u64) -> WebhookEvent {
    participant_event("meeting.participant_left", who, at_ms, 900)
}

fn meeting_event(event: &str, time_field: &str, at_ms: u64) -> WebhookEvent {
    meeting_event_in(MEETING, event, time_field, at_ms)
}

fn meeting_event_in(meeting: &str, event: &str, time_field: &str, at_ms: u64) -> WebhookEvent {
    let body = json!({"event": event, "event_ts": at_ms, "payload": {"object": {"id": meeting, time_field: rfc3339(at_ms)}}});
    parse_event(body.to_string().as_bytes()).expect("a parseable event")
}

const ALICE_MAC: (&str, &str, &str) = ("alice@example.com", "A-MAC", "Alice");
const ALICE_PHONE: (&str, &str, &str) = ("Alice@Example.com", "A-PHONE", "Alice");
const BOB: (&str, &str, &str) = ("bob@example.com", "B-1", "Bob");

async fn count(store: &PresenceStore) -> usize {
    store.read(MEETING).await.expect("read").count
}

#[tokio::test]
async fn duplicate_delivery_counts_once() {
    let store = store().await;
    let t = ten_minutes_ago();
    let event = joined(ALICE_MAC, t);
    assert_eq!(store.apply(MEETING, &event).await.unwrap(), Applied::Stored);
    assert_eq!(
        store.apply(MEETING, &event).await.unwrap(),
        Applied::DuplicateOrStale
    );
    let room = store.read(MEETING).await.unwrap();
    assert_eq!(
        (room.count, room.names.clone()),
        (1, vec!["Alice".to_owned()])
    );
    assert_eq!(room.sessions.len(), 1);
    assert_eq!(room.last_event_at_ms, Some(t));
}

#[tokio::test]
async fn left_arriving_before_its_joined_leaves_no_ghost() {
    let store = store().await;
    let t = ten_minutes_ago();
    assert_eq!(
        store.apply(MEETING, &left(BOB, t + 60_000)).await.unwrap(),
        Applied::Stored
    );
    assert_eq!(
        store.apply(MEETING, &joined(BOB, t)).await.unwrap(),
        Applied::DuplicateOrStale
    );
    let room = store.read(MEETING).await.unwrap();
    assert_eq!(room.count, 0);
    assert_eq!(room.sessions[0].state, SessionState::Out);
}

#[tokio::test]
async fn an_older_event_never_overwrites_a_newer_state() {
    let store = store().await;
    let t = ten_minutes_ago();
    store.apply(MEETING, &joined(BOB, t)).await.unwrap();
    store.apply(MEETING, &left(BOB, t + 60_000)).await.unwrap();
    // Rejoin on the same participant_uuid, then a retry of the old leave.
    assert_eq!(
        store
            .apply(MEETING, &joined(BOB, t + 120_000))
            .await
            .unwrap(),
        Applied::Stored
    );
    assert_eq!(
        store.apply(MEETING, &left(BOB, t + 60_000)).await.unwrap(),
        Applied::DuplicateOrStale
    );
    assert_eq!(
        store.apply(MEETING, &joined(BOB, t)).await.unwrap(),
        Applied::DuplicateOrStale
    );
    assert_eq!(count(&store).await, 1);
    let room = store.read(MEETING).await.unwrap();
    assert_eq!(
        room.last_event_at_ms,
        Some(t + 120_000),
        "last_event_at only rises"
    );
}

#[tokio::test]
async fn join_and_leave_within_one_second_are_ordered_by_event_ts() {
    let store = store().await;
    let t = ten_minutes_ago();
    // Same join_time/leave_time second; Zoom's event_ts orders them. Delivered out of order.
    store.apply(MEETING, &left(BOB, t)).await.unwrap();
    assert_eq!(
        store.apply(MEETING, &joined(BOB, t)).await.unwrap(),
        Applied::DuplicateOrStale
    );
    assert_eq!(count(&store).await, 0);
    // And in order, for another person.
    store.apply(MEETING, &joined(ALICE_MAC, t)).await.unwrap();
    assert_eq!(
        store.apply(MEETING, &left(ALICE_MAC, t)).await.unwrap(),
        Applied::Stored
    );
    assert_eq!(count(&store).await, 0);
}

#[tokio::test]
async fn meeting_end_empties_the_room_and_late_old_joins_do_not_resurrect() {
    let store = store().await;
    let t = ten_minutes_ago();
    store.apply(MEETING, &joined(ALICE_MAC, t)).await.unwrap();
    store.apply(MEETING, &joined(BOB, t + 1_000)).await.unwrap();
    assert_eq!(count(&store).await, 2);

    let end = t + 60_000;
    assert_eq!(
        store
            .apply(MEETING, &meeting_event("meeting.ended", "end_time", end))
            .await
            .unwrap(),
        Applied::Stored
    );
    assert_eq!(count(&store).await, 0);
    // An older end (a retry) does not move ended_at back.
    assert_eq!(
        store
            .apply(MEETING, &meeting_event("meeting.ended", "end_time", t))
            .await
            .unwrap(),
        Applied::DuplicateOrStale
    );
    // A retried join from before the end, on a device never seen: stored, not counted.
    store
        .apply(MEETING, &joined(ALICE_PHONE, t + 30_000))
        .await
        .unwrap();
    let room = store.read(MEETING).await.unwrap();
    assert_eq!((room.count, room.ended_at_ms), (0, Some(end)));

    // The room starts again and someone joins: counted.
    let start = end + 60_000;
    assert_eq!(
        store
            .apply(
                MEETING,
                &meeting_event("meeting.started", "start_time", start)
            )
            .await
            .unwrap(),
        Applied::Stored
    );
    store
        .apply(MEETING, &joined(BOB, start + 5_000))
        .await
        .unwrap();
    let room = store.read(MEETING).await.unwrap();
    assert_eq!(
        (room.count, room.names.clone(), room.started_at_ms),
        (1, vec!["Bob".to_owned()], Some(start))
    );
}

#[tokio::test]
async fn two_devices_are_one_person() {
    let store = store().await;
    let t = ten_minutes_ago();
    store.apply(MEETING, &joined(ALICE_MAC, t)).await.unwrap();
    store
        .apply(MEETING, &joined(ALICE_PHONE, t + 5_000))
        .await
        .unwrap();
    let room = store.read(MEETING).await.unwrap();
    assert_eq!(
        (room.count, room.names.clone(), room.sessions.len()),
        (1, vec!["Alice".to_owned()], 2)
    );
    store
        .apply(MEETING, &left(ALICE_MAC, t + 60_000))
        .await
        .unwrap();
    assert_eq!(count(&store).await, 1, "still in on the phone");
    store
        .apply(MEETING, &left(ALICE_PHONE, t + 70_000))
        .await
        .unwrap();
    assert_eq!(count(&store).await, 0);
}

#[tokio::test]
async fn the_waiting_room_is_not_the_kitchen() {
    let store = store().await;
    let t = ten_minutes_ago();
    let dave = ("", "D-1", "Dave (guest)");
    let wr = |event, at| participant_event(event, dave, at, 500);
    assert_eq!(
        store
            .apply(MEETING, &wr("meeting.participant_joined_waiting_room", t))
            .await
            .unwrap(),
        Applied::Stored
    );
    let room = store.read(MEETING).await.unwrap();
    assert_eq!(
        (room.count, room.sessions[0].state),
        (0, SessionState::Waiting)
    );
    // Admission and leaving the waiting room say nothing by themselves...
    assert_eq!(
        store
            .apply(MEETING, &wr("meeting.participant_admitted", t + 10_000))
            .await
            .unwrap(),
        Applied::NotTracked
    );
    assert_eq!(
        store
            .apply(
                MEETING,
                &wr("meeting.participant_left_waiting_room", t + 10_000)
            )
            .await
            .unwrap(),
        Applied::NotTracked
    );
    assert_eq!(count(&store).await, 0);
    // ...the join that follows does.
    store
        .apply(MEETING, &joined(dave, t + 10_000))
        .await
        .unwrap();
    assert_eq!(count(&store).await, 1);
    // The host puts them back into the waiting room: out of the kitchen.
    store
        .apply(
            MEETING,
            &wr("meeting.participant_put_in_waiting_room", t + 20_000),
        )
        .await
        .unwrap();
    assert_eq!(count(&store).await, 0);
}

fn live(entries: Value) -> Vec<Participant> {
    serde_json::from_value(entries).unwrap()
}

/// A dashboard entry in the room for `who`.
fn entry(who: (&str, &str, &str)) -> Value {
    let (email, uuid, name) = who;
    json!({"participant_uuid": uuid, "email": email, "user_name": name, "status": "in_meeting"})
}

fn dashboard(who: &[(&str, &str, &str)]) -> Vec<Participant> {
    live(Value::Array(who.iter().copied().map(entry).collect()))
}

const MINUTE: u64 = 60_000;
const XAVIER: (&str, &str, &str) = ("xavier@example.com", "X-1", "Xavier");
const YVONNE: (&str, &str, &str) = ("yvonne@example.com", "Y-1", "Yvonne");
const YVONNE_PHONE: (&str, &str, &str) = ("yvonne@example.com", "Y-2", "Yvonne");
const RITA: (&str, &str, &str) = ("rita@example.com", "R-1", "Rita");

/// One dashboard snapshot is no reason to change anyone: a lagging or
/// flapping dashboard would fight the webhooks. Two consecutive ones are.
#[tokio::test]
async fn repair_changes_state_only_when_two_snapshots_agree() {
    let store = store().await;
    let now = now_ms();
    // The store believes Xavier is in (his leave was lost) and missed Yvonne's join.
    store
        .apply(MEETING, &joined(XAVIER, now - 10 * MINUTE))
        .await
        .unwrap();
    store
        .apply(MEETING, &joined(ALICE_MAC, now - 10 * MINUTE))
        .await
        .unwrap();
    let mut zoom = dashboard(&[ALICE_MAC, YVONNE, YVONNE_PHONE]);
    zoom.extend(live(json!([
        {"participant_uuid": "X-1", "email": "xavier@example.com", "user_name": "Xavier", "status": "in_meeting", "leave_time": rfc3339(now - MINUTE)},
        {"participant_uuid": "W-1", "user_name": "Walter", "status": "in_waiting_room"},
    ])));

    let first = store.repair(MEETING, &zoom, now).await.unwrap();
    assert_eq!(
        (first.added.len(), first.removed.len(), first.count),
        (0, 0, 2),
        "one snapshot changes nobody"
    );
    let room = store.read(MEETING).await.unwrap();
    assert_eq!(room.count, 2);
    let verified = room.verified.expect("the snapshot is recorded");
    assert_eq!(verified.at_ms, now / 1000 * 1000, "whole seconds");
    assert_eq!(
        verified.people.into_iter().collect::<Vec<_>>(),
        vec!["email:alice@example.com", "email:yvonne@example.com"]
    );

    // Rita joined just now by webhook: the dashboard does not list her yet.
    store
        .apply(MEETING, &joined(RITA, now + MINUTE / 2))
        .await
        .unwrap();
    let second = store.repair(MEETING, &zoom, now + MINUTE).await.unwrap();
    assert_eq!(second.added, vec!["Yvonne".to_owned()]);
    assert_eq!(second.removed, vec!["Xavier".to_owned()]);
    assert_eq!(second.count, 3);
    let room = store.read(MEETING).await.unwrap();
    assert_eq!(
        room.names,
        vec!["Alice".to_owned(), "Rita".to_owned(), "Yvonne".to_owned()]
    );
    let yvonne = room
        .sessions
        .iter()
        .filter(|s| s.person == "email:yvonne@example.com")
        .count();
    assert_eq!(yvonne, 2, "one session per live device");

    // The dashboard has caught up with Rita. Flapping: Alice missing from one
    // snapshot only is not removed.
    let without_alice = dashboard(&[YVONNE, YVONNE_PHONE, RITA]);
    let zoom = dashboard(&[ALICE_MAC, YVONNE, YVONNE_PHONE, RITA]);
    let third = store
        .repair(MEETING, &without_alice, now + 2 * MINUTE)
        .await
        .unwrap();
    assert!(third.removed.is_empty(), "{third:?}");
    let fourth = store
        .repair(MEETING, &zoom, now + 3 * MINUTE)
        .await
        .unwrap();
    assert!(
        fourth.removed.is_empty() && fourth.added.is_empty(),
        "{fourth:?}"
    );
    assert_eq!(store.read(MEETING).await.unwrap().count, 3);
}

/// The dashboard lags: a webhook that arrived after the previous snapshot
/// (here more than the 120 s grace ago) knows better than both snapshots.
#[tokio::test]
async fn repair_never_overwrites_a_webhook_newer_than_the_previous_snapshot() {
    let store = store().await;
    let now = now_ms();
    store
        .apply(MEETING, &joined(BOB, now - 15 * MINUTE))
        .await
        .unwrap();
    let first = now - 5 * MINUTE;
    store
        .repair(MEETING, &dashboard(&[BOB]), first)
        .await
        .unwrap();
    // After that snapshot: Bob leaves, Carol joins. The dashboard shows neither.
    store
        .apply(MEETING, &left(BOB, now - 3 * MINUTE))
        .await
        .unwrap();
    let carol = ("carol@example.com", "C-1", "Carol");
    store
        .apply(MEETING, &joined(carol, now - 3 * MINUTE))
        .await
        .unwrap();
    let repair = store
        .repair(MEETING, &dashboard(&[BOB]), now)
        .await
        .unwrap();
    assert_eq!(
        (repair.added.len(), repair.removed.len()),
        (0, 0),
        "{repair:?}"
    );
    let room = store.read(MEETING).await.unwrap();
    assert_eq!(room.names, vec!["Carol".to_owned()]);
}

/// Reconcile's clock has milliseconds, Zoom's event times whole seconds:
/// reconcile writes whole seconds with `event_ts = 0`, so a webhook from the
/// same second is still newer.
#[tokio::test]
async fn reconcile_loses_a_tie_with_a_webhook_in_the_same_second() {
    let store = store().await;
    let second = now_ms() / 1000 * 1000 - 10 * MINUTE;
    store
        .apply(MEETING, &joined(BOB, second - 400_000))
        .await
        .unwrap();
    store
        .repair(MEETING, &dashboard(&[]), second - 300_000)
        .await
        .unwrap();
    let repair = store
        .repair(MEETING, &dashboard(&[]), second + 500)
        .await
        .unwrap();
    assert_eq!(repair.removed, vec!["Bob".to_owned()]);
    let bob = store.read(MEETING).await.unwrap().sessions[0].clone();
    assert_eq!(
        (bob.state, bob.at_ms, bob.event_ts),
        (SessionState::Out, second, 0)
    );
    // Bob rejoined in that very second; the webhook arrives after the repair.
    assert_eq!(
        store.apply(MEETING, &joined(BOB, second)).await.unwrap(),
        Applied::Stored
    );
    assert_eq!(count(&store).await, 1);
}

/// A session row expires 24 h after its event; reconcile keeps pushing the
/// expiry of everyone Zoom still shows, so a person in the room for days
/// never drops out.
#[tokio::test]
async fn people_in_the_room_for_days_keep_counting() {
    let store = store().await;
    let now = now_ms() / 1000 * 1000;
    let hour = 60 * MINUTE;
    store
        .apply(MEETING, &joined(ALICE_MAC, now - 23 * hour - 30 * MINUTE))
        .await
        .unwrap();
    let zoom = dashboard(&[ALICE_MAC]);
    let first = store.repair(MEETING, &zoom, now).await.unwrap();
    assert_eq!((first.refreshed, first.count), (1, 1));
    let row = store.read(MEETING).await.unwrap().sessions[0].clone();
    assert_eq!(row.expires_at_s, now / 1000 + SESSION_TTL_SECS);
    assert_eq!(row.state, SessionState::In, "the state is untouched");

    for hours_later in [20, 40, 60] {
        let repair = store
            .repair(MEETING, &zoom, now + hours_later * hour)
            .await
            .unwrap();
        assert_eq!(
            (repair.added.len(), repair.count),
            (0, 1),
            "{hours_later} h later: {repair:?}"
        );
    }
}

/// A meeting end newer than the previous snapshot outranks two snapshots that
/// still list people.
#[tokio::test]
async fn repair_adds_nobody_after_a_fresher_meeting_end() {
    let store = store().await;
    let now = now_ms();
    let zoom = dashboard(&[("carol@example.com", "C-1", "Carol")]);
    store
        .repair(MEETING, &zoom, now - 3 * MINUTE)
        .await
        .unwrap();
    store
        .apply(
            MEETING,
            &meeting_event("meeting.ended", "end_time", now - 2 * MINUTE),
        )
        .await
        .unwrap();
    assert!(
        store
            .repair(MEETING, &zoom, now)
            .await
            .unwrap()
            .added
            .is_empty(),
        "the end is fresher than the dashboard"
    );
    assert_eq!(count(&store).await, 0);
}

#[tokio::test]
async fn failures_are_typed_and_name_no_table_contents() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let closed = PresenceStore::new(
        &sdk_config(&format!("http://127.0.0.1:{port}")).await,
        "presence",
    );
    assert_eq!(
        closed.read(MEETING).await.unwrap_err(),
        TableError::Unavailable {
            table: "presence",
            why: "unreachable"
        }
    );
    let event = joined(ALICE_MAC, now_ms());
    assert!(matches!(
        closed.apply(MEETING, &event).await,
        Err(TableError::Unavailable { .. })
    ));

    let missing = PresenceStore::new(&sdk_config(&moto_endpoint()).await, unique("no-such-table"));
    let err = missing.apply(MEETING, &event).await.unwrap_err();
    assert_eq!(
        err,
        TableError::Rejected {
            table: "presence",
            code: "ResourceNotFoundException".into()
        }
    );
    assert!(!err.to_string().contains("alice"));
}

const LOUNGE: &str = "86190237415";

/// Two rooms in one table: each room's events, meeting end and repair stay in
/// its own partition, and freshness is the room's own.
#[tokio::test]
async fn rooms_are_kept_apart() {
    let store = store().await;
    let t = ten_minutes_ago();
    let in_lounge =
        |who, at_ms| participant_event_in(LOUNGE, "meeting.participant_joined", who, at_ms, 100);
    store.apply(MEETING, &joined(ALICE_MAC, t)).await.unwrap();
    store.apply(LOUNGE, &in_lounge(BOB, t)).await.unwrap();
    store
        .apply(LOUNGE, &in_lounge(XAVIER, t + 1_000))
        .await
        .unwrap();
    let (kitchen, lounge) = (
        store.read(MEETING).await.unwrap(),
        store.read(LOUNGE).await.unwrap(),
    );
    assert_eq!(kitchen.names, ["Alice"]);
    assert_eq!(lounge.names, ["Bob", "Xavier"]);
    assert_eq!(
        (kitchen.last_event_at_ms, lounge.last_event_at_ms),
        (Some(t), Some(t + 1_000))
    );

    // The lounge's meeting ends; the kitchen's people stay.
    let end = meeting_event_in(LOUNGE, "meeting.ended", "end_time", t + 2_000);
    assert_eq!(store.apply(LOUNGE, &end).await.unwrap(), Applied::Stored);
    assert_eq!(count(&store).await, 1);
    assert_eq!(store.read(LOUNGE).await.unwrap().count, 0);

    // Reconcile in the kitchen touches only the kitchen (Bob on the kitchen's
    // dashboard is not the lounge's Bob).
    let now = now_ms();
    store
        .repair(MEETING, &dashboard(&[ALICE_MAC, BOB]), now - MINUTE)
        .await
        .unwrap();
    let repaired = store
        .repair(MEETING, &dashboard(&[ALICE_MAC, BOB]), now)
        .await
        .unwrap();
    assert_eq!(repaired.added, ["Bob"]);
    let lounge = store.read(LOUNGE).await.unwrap();
    assert_eq!((lounge.count, &lounge.verified), (0, &None));
    assert!(
        lounge
            .sessions
            .iter()
            .all(|s| s.state == SessionState::In && s.event_ts != 0),
        "the lounge's rows are the webhooks' own: {lounge:?}"
    );

    // Freshness is per room: the lounge heard a webhook 10 minutes ago.
    let fresh_for = Duration::from_secs(15 * 60);
    let later = t + 14 * MINUTE;
    assert!(store.read(LOUNGE).await.unwrap().is_fresh(fresh_for, later));
    // A room only reconcile has seen is never fresh: reconcile keeps
    // running when the webhooks have stopped.
    store
        .repair("123456789", &dashboard(&[RITA]), now)
        .await
        .unwrap();
    let quiet = store.read("123456789").await.unwrap();
    assert!(quiet.verified.is_some());
    assert!(
        !quiet.is_fresh(fresh_for, now),
        "a room with no webhook is never fresh"
    );
    assert!(
        !store
            .read(LOUNGE)
            .await
            .unwrap()
            .is_fresh(fresh_for, t + 20 * MINUTE)
    );
}
