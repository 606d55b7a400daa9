//! Who is in the kitchen according to Zoom's webhooks, kept in DynamoDB (the
//! presence table of template.yaml: `pk` S, `sk` S, TTL on `expires_at`), and
//! repaired by reconcile from Zoom's live dashboard.
//!
//! One partition per room, `pk = room#<meeting_id>`:
//! * `sk = meta`: `started_at`, `ended_at`, `last_event_at` (webhooks only),
//!   `verified_at` and `verified_people` (reconcile's last dashboard snapshot:
//!   its time and the person keys present in it), `expires_at` (s, 30 days
//!   after the last write);
//! * `sk = session#<session_key>`, one row per device/join: `person`, `name`,
//!   `state` (`in` | `out` | `waiting`), `at` and `event_ts` (ms), `expires_at`
//!   (s, 24 h after `at`, pushed forward by reconcile while the person is in).
//!
//! **One precision.** Every stored time (`at`, the meta times) is a whole second
//! in ms, as Zoom's event times are; `event_ts` (Zoom's emission time, ms)
//! breaks ties within one second. Reconcile writes `event_ts = 0`, so a webhook
//! in the same second always beats it.
//!
//! **Webhooks** ([`PresenceStore::apply`]): [`plan`] decides without I/O what an
//! event changes; the change is ONE conditional UpdateItem that only lands when
//! newer than what is stored (`at`, then `event_ts`). So a duplicate counts
//! once, a `left` overtaken by its older `joined` stays left, and an old retry
//! never overwrites a newer state. A failed condition is an expected outcome,
//! not an error. Meta times only ever rise, by the same kind of condition.
//!
//! **Reconcile** ([`PresenceStore::repair`], in [`repair`]) changes a person's
//! state only when its dashboard snapshot and the previous one agree, and never
//! a row a webhook wrote after the previous snapshot (or within
//! [`REPAIR_GRACE_MS`]); it refreshes the expiry of everyone both Zoom and the
//! table see present.
//!
//! Counted: sessions `in`, newer than the last `meeting.ended`, not expired,
//! grouped into people by [`crate::people`] (two devices are one person).

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

pub mod repair;

pub use repair::Repair;

use crate::config::{CommonConfig, ConfigError, Env};
use crate::deadline::Deadline;
use crate::dynamo::{Item, TableError, conditional, n, number, s, text};
use crate::people::{People, Sighting, group};
use crate::time::unix_millis;
use crate::webhook::{Change, WebhookEvent, whole_second};

/// Session rows expire this long after their `at` (or reconcile's last sighting).
pub const SESSION_TTL_SECS: u64 = 24 * 3600;
/// The room's meta row expires this long after its last write.
pub const META_TTL_SECS: u64 = 30 * 24 * 3600;
/// Zoom's dashboard lags behind its webhooks: [`PresenceStore::repair`] leaves
/// rows alone that a webhook wrote this recently, whatever the snapshots say.
pub const REPAIR_GRACE_MS: u64 = 120_000;

const ROOM_PREFIX: &str = "room#";
const META_SK: &str = "meta";
const SESSION_PREFIX: &str = "session#";
/// 1 MB per page: far more rows than one room has in a day.
const MAX_PAGES: usize = 100;
/// A webhook's write lands only when newer: by `at`, then by `event_ts`.
const IF_NEWER: &str = "attribute_not_exists(#at) OR #at < :at OR (#at = :at AND #ts < :ts)";
/// A repair lands only on a row no webhook wrote after the cutoff: older than
/// the cutoff, or written by reconcile itself (`event_ts = 0`); and only forward.
const IF_REPAIRABLE: &str =
    "attribute_not_exists(#at) OR (#at < :at AND (#at <= :cutoff OR #ts = :zero))";

/// `KITCHEN_PRESENCE_FRESH_SECONDS` when unset: how long after the last
/// webhook event the presence table speaks for a room under `auto`.
pub const DEFAULT_FRESH_SECS: u64 = 1800;

/// `KITCHEN_PRESENCE_FRESH_SECONDS` (default [`DEFAULT_FRESH_SECS`]): see
/// [`RoomPresence::is_fresh`].
pub fn fresh_for(env: &Env) -> Result<Duration, ConfigError> {
    env.seconds("KITCHEN_PRESENCE_FRESH_SECONDS", DEFAULT_FRESH_SECS)
}

/// The configuration the webhook and reconcile share.
#[derive(Debug)]
pub struct PresenceConfig {
    pub common: CommonConfig,
    /// `KITCHEN_PRESENCE_TABLE`: the DynamoDB presence table.
    pub table: String,
}

impl PresenceConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            table: env.required("KITCHEN_PRESENCE_TABLE")?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    In,
    Out,
    Waiting,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
            Self::Waiting => "waiting",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "in" => Some(Self::In),
            "out" => Some(Self::Out),
            "waiting" => Some(Self::Waiting),
            _ => None,
        }
    }

    /// The session's state after `change`; `None` when the change says nothing
    /// about presence (leaving the waiting room, being admitted: the
    /// `participant_joined` that follows decides).
    pub fn after(change: Change) -> Option<Self> {
        match change {
            Change::Joined => Some(Self::In),
            Change::Left => Some(Self::Out),
            Change::WaitingRoomJoined | Change::PutInWaitingRoom => Some(Self::Waiting),
            Change::WaitingRoomLeft | Change::Admitted => None,
        }
    }
}

/// One stored session (device/join), as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub session_key: String,
    pub person: String,
    pub name: Option<String>,
    pub state: SessionState,
    pub at_ms: u64,
    /// Zoom's emission time; 0 when reconcile wrote the row.
    pub event_ts: u64,
    /// When DynamoDB may delete the row (s).
    pub expires_at_s: u64,
    /// Part of the count: `in`, newer than the last meeting end, not expired.
    pub counted: bool,
}

/// Reconcile's last look at Zoom's dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    pub at_ms: u64,
    /// Person keys present in that snapshot.
    pub people: BTreeSet<String>,
}

/// The room as the presence table sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomPresence {
    /// Distinct people counted.
    pub count: usize,
    /// One display name per person counted, sorted.
    pub names: Vec<String>,
    /// The newest webhook event (only webhooks write it): whether the webhooks
    /// are alive. Reconcile's runs do not move it.
    pub last_event_at_ms: Option<u64>,
    /// Reconcile's last snapshot time.
    pub verified_at_ms: Option<u64>,
    pub started_at_ms: Option<u64>,
    pub ended_at_ms: Option<u64>,
    /// Every unexpired session row, counted or not, by session key.
    pub sessions: Vec<SessionRow>,
    /// Reconcile's last snapshot, when there was one.
    pub verified: Option<Verified>,
}

impl RoomPresence {
    /// `auto`'s rule, per room: the table speaks for the room while its last
    /// webhook event is at most `fresh_for` old at `now_ms`. Reconcile's runs
    /// do not count: they keep going when the webhooks have stopped.
    pub fn is_fresh(&self, fresh_for: Duration, now_ms: u64) -> bool {
        let fresh_ms = u64::try_from(fresh_for.as_millis()).unwrap_or(u64::MAX);
        self.last_event_at_ms
            .is_some_and(|t| now_ms.saturating_sub(t) <= fresh_ms)
    }
}

/// What [`PresenceStore::apply`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Stored,
    /// Already stored, or older than what is stored: nothing changed.
    DuplicateOrStale,
    /// The event carries no presence fact (URL validation, ignored events,
    /// leaving the waiting room, admission).
    NotTracked,
}

/// A meta time a webhook raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaTime {
    Started,
    Ended,
}

impl MetaTime {
    fn attr(self) -> &'static str {
        match self {
            Self::Started => "started_at",
            Self::Ended => "ended_at",
        }
    }
}

/// One session write: the state of one device/join at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionWrite {
    pub session_key: String,
    pub person: String,
    pub name: Option<String>,
    pub state: SessionState,
    pub at_ms: u64,
    pub event_ts: u64,
}

/// What one verified event changes in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Meta { time: MetaTime, at_ms: u64 },
    Session(SessionWrite),
}

impl Write {
    fn at_ms(&self) -> u64 {
        match self {
            Self::Meta { at_ms, .. } => *at_ms,
            Self::Session(w) => w.at_ms,
        }
    }
}

/// What `event` changes, decided without I/O; `None` when it carries no
/// presence fact (see [`Applied::NotTracked`]). Times are taken to whole
/// seconds and `event_ts` to at least 1 (0 marks reconcile's writes), whoever
/// built the event.
pub fn plan(event: &WebhookEvent) -> Option<Write> {
    match event {
        WebhookEvent::MeetingStarted { at_ms, .. } => Some(Write::Meta {
            time: MetaTime::Started,
            at_ms: whole_second(*at_ms),
        }),
        WebhookEvent::MeetingEnded { at_ms, .. } => Some(Write::Meta {
            time: MetaTime::Ended,
            at_ms: whole_second(*at_ms),
        }),
        WebhookEvent::Participant {
            change,
            person_key,
            session_key,
            name,
            at_ms,
            event_ts,
            ..
        } => Some(Write::Session(SessionWrite {
            session_key: session_key.clone(),
            person: person_key.clone(),
            name: name.clone(),
            state: SessionState::after(*change)?,
            at_ms: whole_second(*at_ms),
            event_ts: (*event_ts).max(1),
        })),
        WebhookEvent::UrlValidation { .. } | WebhookEvent::Ignored { .. } => None,
    }
}

/// Which condition a session write carries.
#[derive(Debug, Clone, Copy)]
enum Guard {
    /// A webhook: lands when newer.
    IfNewer,
    /// Reconcile: lands on rows no webhook wrote after `cutoff_ms`.
    Repair { cutoff_ms: u64 },
}

#[derive(Debug, Clone)]
pub struct PresenceStore {
    client: Client,
    table: String,
}

impl PresenceStore {
    /// The table's role in [`TableError`]s.
    pub const ROLE: &'static str = "presence";

    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: Client::new(sdk),
            table: table.into(),
        }
    }

    /// Records a verified event for `meeting_id` (the caller checks it is the
    /// kitchen's). Safe to call with duplicates and in any order.
    pub async fn apply(
        &self,
        meeting_id: &str,
        event: &WebhookEvent,
    ) -> Result<Applied, TableError> {
        let Some(write) = plan(event) else {
            return Ok(Applied::NotTracked);
        };
        let pk = room_pk(meeting_id);
        let stored = match &write {
            Write::Meta { time, at_ms } => self.raise_meta(&pk, time.attr(), *at_ms).await?,
            Write::Session(w) => self.write_session(&pk, w, Guard::IfNewer).await?,
        };
        // Also for duplicates: the bump only ever rises, so a retry after a
        // failed bump converges.
        self.raise_meta(&pk, "last_event_at", write.at_ms()).await?;
        Ok(if stored {
            Applied::Stored
        } else {
            Applied::DuplicateOrStale
        })
    }

    /// The room now: one strongly consistent Query on its partition.
    pub async fn read(&self, meeting_id: &str) -> Result<RoomPresence, TableError> {
        self.load(&room_pk(meeting_id), unix_millis(SystemTime::now()))
            .await
    }

    /// [`Self::read`] under `deadline`; running out reads as the table timing out.
    pub async fn read_within(
        &self,
        meeting_id: &str,
        deadline: &Deadline,
    ) -> Result<RoomPresence, TableError> {
        deadline
            .run(self.read(meeting_id))
            .await
            .unwrap_or_else(|_| Err(TableError::timed_out(Self::ROLE)))
    }

    /// Creates the table with the template's key schema (tests and local runs).
    #[cfg(feature = "testing")]
    pub async fn create_table(&self) -> Result<(), TableError> {
        crate::dynamo::create_table(&self.client, &self.table).await
    }

    async fn write_session(
        &self,
        pk: &str,
        w: &SessionWrite,
        guard: Guard,
    ) -> Result<bool, TableError> {
        let mut set = vec![
            "#person = :person",
            "#state = :state",
            "#at = :at",
            "#ts = :ts",
            "#exp = :exp",
        ];
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(format!("{SESSION_PREFIX}{}", w.session_key)))
            .expression_attribute_names("#person", "person")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#at", "at")
            .expression_attribute_names("#ts", "event_ts")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":person", s(&w.person))
            .expression_attribute_values(":state", s(w.state.as_str()))
            .expression_attribute_values(":at", n(w.at_ms))
            .expression_attribute_values(":ts", n(w.event_ts))
            .expression_attribute_values(":exp", n(w.at_ms / 1000 + SESSION_TTL_SECS));
        req = match guard {
            Guard::IfNewer => req.condition_expression(IF_NEWER),
            Guard::Repair { cutoff_ms } => req
                .condition_expression(IF_REPAIRABLE)
                .expression_attribute_values(":cutoff", n(cutoff_ms))
                .expression_attribute_values(":zero", n(0)),
        };
        if let Some(name) = &w.name {
            set.push("#name = :name");
            req = req
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name));
        }
        conditional(
            Self::ROLE,
            req.update_expression(format!("SET {}", set.join(", ")))
                .send()
                .await,
        )
    }

    /// Raises a meta time to `value_ms` unless it is already at or past it.
    async fn raise_meta(
        &self,
        pk: &str,
        attr: &'static str,
        value_ms: u64,
    ) -> Result<bool, TableError> {
        let now_s = unix_millis(SystemTime::now()) / 1000;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(META_SK))
            .update_expression("SET #v = :v, #exp = :exp")
            .condition_expression("attribute_not_exists(#v) OR #v < :v")
            .expression_attribute_names("#v", attr)
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":v", n(value_ms))
            .expression_attribute_values(":exp", n(now_s + META_TTL_SECS))
            .send()
            .await;
        conditional(Self::ROLE, result)
    }

    async fn load(&self, pk: &str, now_ms: u64) -> Result<RoomPresence, TableError> {
        let mut items = Vec::new();
        let mut start = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_values(":pk", s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| TableError::from_sdk(Self::ROLE, &e))?;
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(k) => start = Some(k),
                None => return Ok(assemble(&items, now_ms)),
            }
        }
        Err(TableError::Unavailable {
            table: Self::ROLE,
            why: "the room has too many rows to read",
        })
    }
}

/// The room's partition in the presence table (presence and notice rows).
pub fn room_pk(meeting_id: &str) -> String {
    format!("{ROOM_PREFIX}{meeting_id}")
}

/// The meeting id of a room's partition key; `None` for any other key.
pub fn meeting_of_pk(pk: &str) -> Option<&str> {
    pk.strip_prefix(ROOM_PREFIX)
}

/// The rows' people, by [`crate::people`]'s rule.
fn people_of<'a>(rows: impl IntoIterator<Item = &'a SessionRow>) -> People {
    group(rows.into_iter().map(|r| {
        Sighting::new(
            Some(r.person.clone()),
            Some(r.session_key.clone()),
            r.name.as_deref(),
            (r.at_ms, r.event_ts),
        )
    }))
}

/// The display name of one person's rows.
fn name_of(rows: &[&SessionRow]) -> String {
    people_of(rows.iter().copied())
        .iter()
        .next()
        .map_or_else(|| crate::people::GUEST.to_owned(), |p| p.name.clone())
}

fn assemble(items: &[Item], now_ms: u64) -> RoomPresence {
    let now_s = now_ms / 1000;
    let meta = items.iter().find(|i| text(i, "sk") == Some(META_SK));
    let meta_time = |key| meta.and_then(|m| number(m, key));
    let ended_at_ms = meta_time("ended_at");
    let mut malformed = 0usize;
    let mut sessions = Vec::new();
    for item in items {
        let Some(session_key) = text(item, "sk").and_then(|sk| sk.strip_prefix(SESSION_PREFIX))
        else {
            continue;
        };
        // DynamoDB deletes expired rows lazily (within days): skip them here.
        let expires_at_s = number(item, "expires_at").unwrap_or(u64::MAX);
        if expires_at_s <= now_s {
            continue;
        }
        let (Some(person), Some(state), Some(at_ms)) = (
            text(item, "person"),
            text(item, "state").and_then(SessionState::parse),
            number(item, "at"),
        ) else {
            malformed += 1;
            continue;
        };
        sessions.push(SessionRow {
            session_key: session_key.to_owned(),
            person: person.to_owned(),
            name: text(item, "name").map(str::to_owned),
            state,
            at_ms,
            event_ts: number(item, "event_ts").unwrap_or(at_ms),
            expires_at_s,
            counted: state == SessionState::In && ended_at_ms.is_none_or(|end| at_ms > end),
        });
    }
    if malformed > 0 {
        tracing::warn!(
            rows = malformed,
            "skipped presence rows without person, state or time"
        );
    }
    let people = people_of(sessions.iter().filter(|r| r.counted));
    let verified_at_ms = meta_time("verified_at");
    // Both parts or none: a row from before snapshots were kept has no people.
    let verified = match (verified_at_ms, meta.and_then(|m| m.get("verified_people"))) {
        (Some(at_ms), Some(AttributeValue::L(list))) => Some(Verified {
            at_ms,
            people: list.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
        }),
        _ => None,
    };
    RoomPresence {
        count: people.count(),
        names: people.names(),
        last_event_at_ms: meta_time("last_event_at"),
        verified_at_ms,
        started_at_ms: meta_time("started_at"),
        ended_at_ms,
        sessions,
        verified,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn row(sk: &str, person: &str, state: &str, at: u64) -> Item {
        HashMap::from([
            ("pk".into(), s("room#1")),
            ("sk".into(), s(sk)),
            ("person".into(), s(person)),
            ("name".into(), s(person.to_uppercase())),
            ("state".into(), s(state)),
            ("at".into(), n(at)),
            ("expires_at".into(), n(at / 1000 + SESSION_TTL_SECS)),
        ])
    }

    #[test]
    fn counts_people_not_sessions_and_respects_the_end_and_expiry() {
        let now = 10 * 86_400_000;
        let meta = HashMap::from([
            ("sk".into(), s("meta")),
            ("ended_at".into(), n(now - 60_000)),
            ("last_event_at".into(), n(now - 1_000)),
            ("verified_at".into(), n(now - 5_000)),
            (
                "verified_people".into(),
                AttributeValue::L(vec![s("alice")]),
            ),
        ]);
        let items = vec![
            meta,
            row("session#a1", "alice", "in", now - 10_000),
            row("session#a2", "alice", "in", now - 9_000),
            row("session#b1", "bob", "in", now - 120_000),
            row("session#c1", "carol", "waiting", now - 10_000),
            row("session#d1", "dave", "in", now - 2 * 86_400_000),
            row("session#e1", "eve", "out", now - 10_000),
            HashMap::from([("sk".into(), s("session#broken"))]),
        ];
        let room = assemble(&items, now);
        assert_eq!(room.count, 1);
        assert_eq!(room.names, vec!["ALICE".to_owned()]);
        assert_eq!(
            (room.last_event_at_ms, room.verified_at_ms),
            (Some(now - 1_000), Some(now - 5_000)),
            "webhook and reconcile activity apart"
        );
        assert_eq!(
            room.verified.unwrap().people,
            BTreeSet::from(["alice".to_owned()])
        );
        assert_eq!(
            room.sessions.len(),
            5,
            "expired and malformed rows are skipped"
        );
        assert!(
            !room
                .sessions
                .iter()
                .find(|r| r.person == "bob")
                .unwrap()
                .counted,
            "before the end"
        );
    }

    fn participant(change: Change) -> WebhookEvent {
        WebhookEvent::Participant {
            meeting_id: "1".into(),
            change,
            person_key: "email:a@b.c".into(),
            session_key: "P-1".into(),
            name: Some("Ann".into()),
            at_ms: 5_400,
            event_ts: 5_123,
        }
    }

    #[test]
    fn plan_decides_what_each_event_stores() {
        let Some(Write::Session(w)) = plan(&participant(Change::Joined)) else {
            panic!("a join writes its session")
        };
        assert_eq!(
            (
                w.session_key.as_str(),
                w.person.as_str(),
                w.state,
                w.at_ms,
                w.event_ts
            ),
            ("P-1", "email:a@b.c", SessionState::In, 5_000, 5_123),
            "whole seconds"
        );
        for (change, state) in [
            (Change::Left, Some(SessionState::Out)),
            (Change::WaitingRoomJoined, Some(SessionState::Waiting)),
            (Change::PutInWaitingRoom, Some(SessionState::Waiting)),
            (Change::WaitingRoomLeft, None),
            (Change::Admitted, None),
        ] {
            let planned = plan(&participant(change));
            assert_eq!(
                planned.map(|w| match w {
                    Write::Session(s) => s.state,
                    Write::Meta { .. } => panic!("{change:?} wrote meta"),
                }),
                state,
                "{change:?}"
            );
        }
        let ended = WebhookEvent::MeetingEnded {
            meeting_id: "1".into(),
            at_ms: 9_000,
        };
        assert_eq!(
            plan(&ended),
            Some(Write::Meta {
                time: MetaTime::Ended,
                at_ms: 9_000
            })
        );
        let ignored = WebhookEvent::Ignored {
            event: "recording.completed".into(),
            reason: "not a presence event",
        };
        assert_eq!(plan(&ignored), None);
    }

    #[test]
    fn a_rooms_partition_key_names_its_meeting() {
        assert_eq!(room_pk("85746065432"), "room#85746065432");
        assert_eq!(meeting_of_pk(&room_pk("85746065432")), Some("85746065432"));
        assert_eq!(meeting_of_pk("device#desk"), None);
    }

    #[test]
    fn presence_config_requires_the_table() {
        let common = [
            ("ZOOM_MEETING_ID", "85746065432"),
            ("ZOOM_SECRET_ID", "kitchen"),
        ];
        assert_eq!(
            PresenceConfig::from_env(&Env::from_pairs(&common))
                .unwrap_err()
                .var,
            "KITCHEN_PRESENCE_TABLE"
        );
        let with_table = [common[0], common[1], ("KITCHEN_PRESENCE_TABLE", "presence")];
        assert_eq!(
            PresenceConfig::from_env(&Env::from_pairs(&with_table))
                .unwrap()
                .table,
            "presence"
        );
    }
}
