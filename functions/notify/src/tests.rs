//! notify against the real peers: the presence table in moto, Zoom as the
//! simulator over HTTP. Presence changes go in through the webhook's own store
//! (`PresenceStore::apply`); each change's stream record is the JSON Lambda
//! delivers (`KEYS_ONLY`, as the template configures the stream), parsed by
//! `aws_lambda_events`.

use std::time::Duration;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use kitchen::deadline::Deadline;
use kitchen::dynamo::create_table;
use kitchen::metrics::{self, Metric};
use kitchen::notices::{NoticeConfig, Post, QuietHours, room_pk};
use kitchen::presence::PresenceStore;
use kitchen::rooms::Rooms;
use kitchen::testing::{LogCapture, kitchen, moto_endpoint, sdk_config, unique};
use kitchen::webhook::parse_event;
use serde_json::{Value, json};
use zoom_sim::{
    DEMO_KITCHEN_CHANNEL, DEMO_LOUNGE_CHANNEL, DEMO_LOUNGE_MEETING_ID as LOUNGE, DEMO_MEETING_ID,
    DEMO_TECH_USER, Endpoint, Fault, Sim, SimHandle,
};

use crate::handler::{Notify, process, room_of};

struct Setup {
    sim: SimHandle,
    notify: Notify,
    presence: PresenceStore,
    table: String,
    seq: std::cell::Cell<u64>,
}

fn rooms(lounge_channel: &str) -> Rooms {
    Rooms::parse(
        &json!({
            "kitchen": {"meeting_id": DEMO_MEETING_ID, "channel": DEMO_KITCHEN_CHANNEL},
            "lounge": {"meeting_id": LOUNGE, "channel": lounge_channel},
        })
        .to_string(),
    )
    .expect("rooms")
}

async fn setup_with(config: NoticeConfig, lounge_channel: &str) -> Setup {
    let sim = Sim::demo().spawn().await;
    let sdk = sdk_config(&moto_endpoint()).await;
    let table = unique("presence");
    let db = aws_sdk_dynamodb::Client::new(&sdk);
    create_table(&db, &table)
        .await
        .expect("create the presence table");
    let notify = Notify::from_parts(
        kitchen(&sim),
        &sdk,
        &table,
        rooms(lounge_channel),
        DEMO_TECH_USER.to_owned(),
        config,
    );
    Setup {
        presence: PresenceStore::new(&sdk, &table),
        sim,
        notify,
        table,
        seq: std::cell::Cell::new(100),
    }
}

async fn setup() -> Setup {
    setup_with(NoticeConfig::default(), DEMO_LOUNGE_CHANNEL).await
}

impl Setup {
    /// Someone joins (`joined: true`) or leaves the room: the webhook's event
    /// stored, and the stream record of the session row it wrote.
    async fn person(&self, meeting_id: &str, name: &str, uuid: &str, joined: bool) -> EventRecord {
        let now_ms = kitchen::time::unix_millis(std::time::SystemTime::now());
        let at = kitchen::time::format_rfc3339(std::time::SystemTime::now());
        let (event, time_key) = if joined {
            ("meeting.participant_joined", "join_time")
        } else {
            ("meeting.participant_left", "leave_time")
        };
        let body = json!({
            "event": event,
            "event_ts": now_ms,
            "payload": {"account_id": "demo-account", "object": {
                "id": meeting_id, "uuid": "m-uuid", "host_id": "h",
                "participant": {"user_id": "1", "user_name": name, "participant_uuid": uuid,
                                "email": format!("{}@example.com", name.to_lowercase()), time_key: at}
            }}
        });
        let parsed = parse_event(body.to_string().as_bytes()).expect("a Zoom participant event");
        self.presence
            .apply(meeting_id, &parsed)
            .await
            .expect("stored");
        self.record(meeting_id, &format!("session#{uuid}"))
    }

    /// The stream record (`KEYS_ONLY`, as the template's stream delivers it)
    /// of a row that was just written.
    fn record(&self, meeting_id: &str, sk: &str) -> EventRecord {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        stream_record(&room_pk(meeting_id), sk, seq, &self.table)
    }

    fn channel_posts(&self) -> Vec<(String, String)> {
        self.sim
            .sim
            .messages()
            .into_iter()
            .filter(|m| !m.to_channel.is_empty())
            .map(|m| (m.to_channel, m.message))
            .collect()
    }

    async fn notice_post(&self, meeting_id: &str) -> Option<Post> {
        self.notify
            .notices
            .store
            .get(meeting_id)
            .await
            .expect("notice row")
            .and_then(|r| r.post)
    }
}

/// One DynamoDB stream record in the shape Lambda delivers (the Streams API's
/// record plus `eventSourceARN`) for a change of the row `pk`/`sk`.
fn stream_record(pk: &str, sk: &str, seq: u64, table: &str) -> EventRecord {
    let record = json!({
        "eventID": format!("c4ca4238a0b923820dcc509a6f75849b-{seq}"),
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-central-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_795_469_400.0,
            "Keys": {"pk": {"S": pk}, "sk": {"S": sk}},
            "SequenceNumber": format!("{seq:0>21}"),
            "SizeBytes": 60,
            "StreamViewType": "KEYS_ONLY"
        },
        "eventSourceARN": format!("arn:aws:dynamodb:eu-central-1:123456789012:table/{table}/stream/2026-11-22T20:00:00.000")
    });
    let event: Event =
        serde_json::from_value(json!({ "Records": [record] })).expect("a DynamoDB stream event");
    event.records.into_iter().next().expect("one record")
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(8))
}

fn failed_ids(resp: &aws_lambda_events::event::streams::DynamoDbEventResponse) -> Vec<String> {
    resp.batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn empty_to_occupied_posts_once_and_a_second_person_posts_nothing() {
    let t = setup().await;
    let posted = metrics::testing::total(Metric::NoticePosted);
    let ann = t.person(LOUNGE, "Ann", "P-ann", true).await;
    let resp = process(&t.notify, &[ann], deadline()).await;
    assert!(failed_ids(&resp).is_empty());
    // Other tests count too (one process): at least this one's post.
    assert!(metrics::testing::total(Metric::NoticePosted) > posted);
    let join_url = t
        .sim
        .sim
        .rooms()
        .into_iter()
        .find(|r| r.room == "lounge")
        .unwrap()
        .join_url;
    assert_eq!(
        t.channel_posts(),
        vec![(
            DEMO_LOUNGE_CHANNEL.to_owned(),
            format!("☕ Someone is in the lounge — join: {join_url}")
        )]
    );
    assert_eq!(t.sim.sim.messages()[0].user_id, DEMO_TECH_USER);
    assert_eq!(t.notice_post(LOUNGE).await, Some(Post::Posted));

    let bob = t.person(LOUNGE, "Bob", "P-bob", true).await;
    let resp = process(&t.notify, &[bob], deadline()).await;
    assert!(failed_ids(&resp).is_empty());
    assert_eq!(t.channel_posts().len(), 1, "a second person is no news");
}

#[tokio::test]
async fn the_same_stream_record_twice_posts_once() {
    let t = setup().await;
    let ann = t.person(LOUNGE, "Ann", "P-ann", true).await;
    // Twice in one batch, then the whole batch redelivered.
    let batch = [ann.clone(), ann];
    process(&t.notify, &batch, deadline()).await;
    process(&t.notify, &batch, deadline()).await;
    assert_eq!(t.channel_posts().len(), 1, "{:?}", t.channel_posts());
}

#[tokio::test]
async fn leave_and_rejoin_within_the_cooldown_posts_nothing_after_it_posts_again() {
    let config = NoticeConfig {
        cooldown: Duration::from_millis(1500),
        ..NoticeConfig::default()
    };
    let t = setup_with(config, DEMO_LOUNGE_CHANNEL).await;
    let r = t.person(LOUNGE, "Ann", "P-1", true).await;
    process(&t.notify, &[r], deadline()).await;
    assert_eq!(t.channel_posts().len(), 1);

    // Her connection drops and she is back at once: the same episode.
    let r = t.person(LOUNGE, "Ann", "P-1", false).await;
    process(&t.notify, &[r], deadline()).await;
    let r = t.person(LOUNGE, "Ann", "P-2", true).await;
    process(&t.notify, &[r], deadline()).await;
    assert_eq!(t.channel_posts().len(), 1, "rejoined within the cooldown");
    assert_eq!(t.notice_post(LOUNGE).await, Some(Post::Skipped));

    // She leaves for longer than the cooldown: her return is news again.
    let r = t.person(LOUNGE, "Ann", "P-2", false).await;
    process(&t.notify, &[r], deadline()).await;
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let r = t.person(LOUNGE, "Ann", "P-3", true).await;
    process(&t.notify, &[r], deadline()).await;
    assert_eq!(t.channel_posts().len(), 2, "{:?}", t.channel_posts());
}

#[tokio::test]
async fn with_names_shown_the_post_names_the_people() {
    let config = NoticeConfig {
        show_names: true,
        ..NoticeConfig::default()
    };
    let t = setup_with(config, DEMO_LOUNGE_CHANNEL).await;
    let a = t.person(LOUNGE, "Ann", "P-ann", true).await;
    let b = t.person(LOUNGE, "Bob", "P-bob", true).await;
    process(&t.notify, &[a, b], deadline()).await;
    let posts = t.channel_posts();
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0]
            .1
            .starts_with("☕ Ann and Bob are in the lounge — join: https://"),
        "{}",
        posts[0].1
    );
}

#[tokio::test]
async fn zoom_down_answers_a_batch_item_failure_and_the_retry_posts() {
    let t = setup().await;
    t.sim.sim.set_sticky_fault(
        Endpoint::Chat,
        Some(Fault::Status {
            status: 503,
            body: Value::Null,
        }),
    );
    let (logs, _guard) = LogCapture::start();
    let not_posted = metrics::testing::total_because(Metric::NoticeNotPosted, "zoom_unavailable");
    let ann = t.person(LOUNGE, "Ann", "P-ann", true).await;
    let later = t.person(LOUNGE, "Bob", "P-bob", true).await;
    let batch = [ann.clone(), later];
    let resp = process(&t.notify, &batch, deadline()).await;
    assert_eq!(
        failed_ids(&resp),
        vec![ann.change.sequence_number.clone().unwrap()]
    );
    assert!(t.channel_posts().is_empty());
    assert_eq!(
        t.notice_post(LOUNGE).await,
        Some(Post::Due),
        "handed back for the retry"
    );
    assert!(logs.text().contains("zoom_unavailable"), "{}", logs.text());
    assert!(
        metrics::testing::total_because(Metric::NoticeNotPosted, "zoom_unavailable") > not_posted,
        "the metric carries the reason"
    );

    // Lambda retries from the failed record; Zoom is back.
    t.sim.sim.clear_faults(None);
    let resp = process(&t.notify, &batch, deadline()).await;
    assert!(failed_ids(&resp).is_empty());
    assert_eq!(t.channel_posts().len(), 1);
    assert_eq!(t.notice_post(LOUNGE).await, Some(Post::Posted));
}

#[tokio::test]
async fn a_rate_limit_is_retried() {
    let t = setup().await;
    t.sim.sim.push_fault(
        Endpoint::Chat,
        Fault::RateLimit {
            retry_after: Some("1".into()),
        },
    );
    let (logs, _guard) = LogCapture::start();
    let ann = t.person(LOUNGE, "Ann", "P-ann", true).await;
    let resp = process(&t.notify, std::slice::from_ref(&ann), deadline()).await;
    assert_eq!(failed_ids(&resp).len(), 1);
    assert!(logs.text().contains("rate_limited"), "{}", logs.text());
    let resp = process(&t.notify, &[ann], deadline()).await;
    assert!(failed_ids(&resp).is_empty());
    assert_eq!(t.channel_posts().len(), 1);
}

#[tokio::test]
async fn a_missing_scope_or_an_unknown_channel_is_reported_not_retried() {
    let t = setup_with(NoticeConfig::default(), "no-such-channel").await;
    let (logs, _guard) = LogCapture::start();
    let unknown = metrics::testing::total_because(Metric::NoticeNotPosted, "unknown_channel");
    let scope = metrics::testing::total_because(Metric::NoticeNotPosted, "missing_scope");
    let ann = t.person(LOUNGE, "Ann", "P-ann", true).await;
    let resp = process(&t.notify, &[ann], deadline()).await;
    assert!(failed_ids(&resp).is_empty(), "retrying cannot help");
    assert!(metrics::testing::total_because(Metric::NoticeNotPosted, "unknown_channel") > unknown);
    assert_eq!(t.notice_post(LOUNGE).await, Some(Post::Failed));
    assert!(logs.text().contains("unknown_channel"), "{}", logs.text());

    let scopes: Vec<String> = t
        .sim
        .sim
        .scopes()
        .into_iter()
        .filter(|s| !s.starts_with("team_chat"))
        .collect();
    t.sim.sim.set_scopes(scopes);
    t.sim.sim.revoke_tokens();
    let cy = t.person(DEMO_MEETING_ID, "Cy", "P-cy", true).await;
    let resp = process(&t.notify, &[cy], deadline()).await;
    assert!(failed_ids(&resp).is_empty());
    assert!(t.channel_posts().is_empty());
    let text = logs.text();
    assert!(
        text.contains("missing_scope") && text.contains("team_chat:write:user_message:admin"),
        "{text}"
    );
    assert!(metrics::testing::total_because(Metric::NoticeNotPosted, "missing_scope") > scope);
    logs.assert_no_secrets(&[]);
}

#[tokio::test]
async fn rooms_are_noticed_independently_and_other_rows_are_ignored() {
    let t = setup().await;
    let lounge = t.person(LOUNGE, "Ann", "P-ann", true).await;
    let kitchen = t.person(DEMO_MEETING_ID, "Cy", "P-cy", true).await;
    // The notice row notify writes comes back through the stream: ignored.
    let notice = t.record(LOUNGE, "notice");
    assert!(room_of(&t.notify.rooms, &notice).is_none());
    process(&t.notify, &[lounge, kitchen, notice], deadline()).await;
    let mut channels: Vec<String> = t.channel_posts().into_iter().map(|(c, _)| c).collect();
    channels.sort();
    assert_eq!(channels, [DEMO_KITCHEN_CHANNEL, DEMO_LOUNGE_CHANNEL]);
}

#[test]
fn the_sample_event_parses_and_names_its_room() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/events/dynamodb-stream-join.json"
    );
    let text = std::fs::read_to_string(path).expect("the sample stream event");
    let event: Event = serde_json::from_str(&text).expect("a DynamoDB stream event");
    let rooms = rooms(DEMO_LOUNGE_CHANNEL);
    let named: Vec<_> = event
        .records
        .iter()
        .map(|r| room_of(&rooms, r).map(|room| room.name.as_str()))
        .collect();
    assert_eq!(named, [Some("kitchen"), Some("kitchen"), None]);
}

#[tokio::test]
async fn an_episode_beginning_in_quiet_hours_posts_nothing() {
    let minute = (kitchen::time::unix_millis(std::time::SystemTime::now()) / 60_000 % 1440) as u32;
    let clock = |m: u32| format!("{:02}:{:02}", m % 1440 / 60, m % 60);
    let quiet = QuietHours::parse(
        &format!("{}-{}", clock(minute + 1439), clock(minute + 3)),
        0,
    )
    .expect("quiet hours around now");
    let config = NoticeConfig {
        quiet_hours: Some(quiet),
        ..NoticeConfig::default()
    };
    let t = setup_with(config, DEMO_LOUNGE_CHANNEL).await;
    let r = t.person(LOUNGE, "Ann", "P-ann", true).await;
    let resp = process(&t.notify, &[r], deadline()).await;
    assert!(failed_ids(&resp).is_empty());
    assert!(t.channel_posts().is_empty());
    assert_eq!(t.notice_post(LOUNGE).await, Some(Post::Skipped));
}

#[tokio::test]
async fn records_of_other_tables_rooms_or_rows_are_ignored() {
    let t = setup().await;
    let foreign = [
        stream_record("room#99999999999", "session#x", 1, &t.table),
        stream_record("limits#demo-desk", "day#2026-11-22", 2, &t.table),
        stream_record(&room_pk(LOUNGE), "notice", 3, &t.table),
    ];
    let mut no_keys = foreign[0].clone();
    no_keys.change.keys = Default::default();
    let resp = process(
        &t.notify,
        &[
            foreign[0].clone(),
            foreign[1].clone(),
            foreign[2].clone(),
            no_keys,
        ],
        deadline(),
    )
    .await;
    assert!(failed_ids(&resp).is_empty());
    assert!(t.sim.sim.messages().is_empty());
    assert_eq!(
        t.notify.notices.store.get(LOUNGE).await.expect("row"),
        None,
        "not even looked at"
    );
}
