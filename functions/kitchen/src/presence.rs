//! Who is in the kitchen according to Zoom's webhooks, kept in DynamoDB (the
//! presence table of template.yaml: `pk` S, `sk` S, TTL on `expires_at`).
//!
//! One partition per room, `pk = room#<meeting_id>`:
//! * `sk = meta`: `started_at`, `ended_at`, `last_event_at`, `verified_at` (ms)
//!   and `expires_at` (s, 30 days after the last write);
//! * `sk = session#<session_key>`, one row per device/join: `person`, `name`,
//!   `state` (`in` | `out` | `waiting`), `at` and `event_ts` (ms), `expires_at`
//!   (s, 24 h after `at`).
//!
//! Every change is ONE conditional UpdateItem that only lands when it is newer
//! than what is stored: `at`, then Zoom's `event_ts` to break ties within one
//! second (Zoom's times have second precision). So a duplicate counts once, a
//! `left` overtaken by its older `joined` stays left, and an old retry never
//! overwrites a newer state. A failed condition is an expected outcome, not an
//! error. Meta times only ever rise, by the same kind of condition.
//!
//! Counted: sessions `in`, newer than the last `meeting.ended`, not expired,
//! grouped into people by [`crate::people`] (two devices are one person).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::SystemTime;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::participants::{Participant, present_people};
use crate::people::{People, Person, Sighting, group};
use crate::time::unix_millis;
use crate::webhook::{Change, WebhookEvent};

/// Session rows expire this long after their `at`.
pub const SESSION_TTL_SECS: u64 = 24 * 3600;
/// The room's meta row expires this long after its last write.
pub const META_TTL_SECS: u64 = 30 * 24 * 3600;
/// [`PresenceStore::repair`] leaves sessions alone that changed this recently:
/// Zoom's dashboard lags behind its webhooks, and a fresh webhook is the better witness.
pub const REPAIR_GRACE_MS: u64 = 120_000;

const META_SK: &str = "meta";
const SESSION_PREFIX: &str = "session#";
/// 1 MB per page: far more rows than one room has in a day.
const MAX_PAGES: usize = 100;
/// Lands only when newer: by `at`, then by `event_ts`.
const IF_NEWER: &str = "attribute_not_exists(#at) OR #at < :at OR (#at = :at AND #ts < :ts)";

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
    pub event_ts: u64,
    /// Part of the count: `in`, newer than the last meeting end, not expired.
    pub counted: bool,
}

/// The room as the presence table sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomPresence {
    /// Distinct people counted.
    pub count: usize,
    /// One display name per person counted, sorted.
    pub names: Vec<String>,
    /// The newest of `last_event_at` and `verified_at`: how fresh this view is.
    pub last_activity_ms: Option<u64>,
    pub last_event_at_ms: Option<u64>,
    pub verified_at_ms: Option<u64>,
    pub started_at_ms: Option<u64>,
    pub ended_at_ms: Option<u64>,
    /// Every unexpired session row, counted or not, by session key.
    pub sessions: Vec<SessionRow>,
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

/// What [`PresenceStore::repair`] changed, by display name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repair {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// People counted after the repair.
    pub count: usize,
}

/// A presence-table failure. Names the kind and AWS's error code only, never
/// keys or values from the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the presence table could not be reached ({0})")]
    Unavailable(&'static str),
    #[error("the presence table is throttling requests")]
    Throttled,
    #[error("DynamoDB refused the request ({code})")]
    Rejected { code: String },
}

impl StoreError {
    fn from_sdk<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Self {
        match err {
            SdkError::TimeoutError(_) => Self::Unavailable("timed out"),
            SdkError::DispatchFailure(_) => Self::Unavailable("unreachable"),
            SdkError::ResponseError(_) => Self::Unavailable("unreadable response"),
            SdkError::ServiceError(s) => match s.err().code() {
                Some(
                    "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
                    | "LimitExceededException",
                ) => Self::Throttled,
                code => Self::Rejected {
                    code: code.unwrap_or("unknown").to_owned(),
                },
            },
            _ => Self::Unavailable("the request could not be built"),
        }
    }
}

/// One session write: the state of one device/join at one moment.
struct SessionWrite<'a> {
    session_key: &'a str,
    person: &'a str,
    name: Option<&'a str>,
    state: SessionState,
    at_ms: u64,
    event_ts: u64,
}

#[derive(Debug, Clone)]
pub struct PresenceStore {
    client: Client,
    table: String,
}

impl PresenceStore {
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: Client::new(sdk),
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Records a verified event for `meeting_id` (the caller checks it is the
    /// kitchen's). Safe to call with duplicates and in any order.
    pub async fn apply(
        &self,
        meeting_id: &str,
        event: &WebhookEvent,
    ) -> Result<Applied, StoreError> {
        let pk = room_pk(meeting_id);
        let (stored, at_ms) = match event {
            WebhookEvent::MeetingStarted { at_ms, .. } => {
                (self.raise_meta(&pk, "started_at", *at_ms).await?, *at_ms)
            }
            WebhookEvent::MeetingEnded { at_ms, .. } => {
                (self.raise_meta(&pk, "ended_at", *at_ms).await?, *at_ms)
            }
            WebhookEvent::Participant {
                change,
                person_key,
                session_key,
                name,
                at_ms,
                event_ts,
                ..
            } => {
                let Some(state) = SessionState::after(*change) else {
                    return Ok(Applied::NotTracked);
                };
                let write = SessionWrite {
                    session_key,
                    person: person_key,
                    name: name.as_deref(),
                    state,
                    at_ms: *at_ms,
                    event_ts: *event_ts,
                };
                (self.write_session(&pk, &write).await?, *at_ms)
            }
            WebhookEvent::UrlValidation { .. } | WebhookEvent::Ignored { .. } => {
                return Ok(Applied::NotTracked);
            }
        };
        // Also for duplicates: the bump only ever rises, so a retry after a
        // failed bump converges.
        self.raise_meta(&pk, "last_event_at", at_ms).await?;
        Ok(if stored {
            Applied::Stored
        } else {
            Applied::DuplicateOrStale
        })
    }

    /// The room now: one strongly consistent Query on its partition.
    pub async fn read(&self, meeting_id: &str) -> Result<RoomPresence, StoreError> {
        self.load(&room_pk(meeting_id), unix_millis(SystemTime::now()))
            .await
    }

    /// Brings the table in line with Zoom's live dashboard `live` (taken at
    /// `now_ms`, best the moment the fetch started): people counted here but not
    /// live in Zoom get their sessions marked `out`; people live in Zoom but not
    /// counted here get an `in` session per live entry (session key
    /// `participant_uuid`). Both at `now_ms` through the same conditional write,
    /// so a newer webhook always wins. Sessions that changed within
    /// [`REPAIR_GRACE_MS`] are left alone, as are additions within that time of a
    /// `meeting.ended`. Finally sets `verified_at`.
    pub async fn repair(
        &self,
        meeting_id: &str,
        live: &[Participant],
        now_ms: u64,
    ) -> Result<Repair, StoreError> {
        let pk = room_pk(meeting_id);
        let room = self.load(&pk, now_ms).await?;
        let recent = |at_ms: u64| at_ms.saturating_add(REPAIR_GRACE_MS) > now_ms;

        // Zoom's view. An entry without identity cannot be tracked by key.
        let live_people = present_people(live);
        let live_people: BTreeMap<&str, &Person> = live_people
            .iter()
            .filter_map(|p| Some((p.key.as_deref()?, p)))
            .collect();
        let live_sessions: HashSet<&str> = live_people
            .values()
            .flat_map(|p| p.sessions.iter().map(String::as_str))
            .collect();

        // The table's view: person → counted sessions.
        let mut counted: BTreeMap<&str, Vec<&SessionRow>> = BTreeMap::new();
        for s in room.sessions.iter().filter(|s| s.counted) {
            counted.entry(s.person.as_str()).or_default().push(s);
        }
        let counted_sessions: HashSet<&str> = counted
            .values()
            .flatten()
            .map(|s| s.session_key.as_str())
            .collect();

        let mut removed = Vec::new();
        for (person, sessions) in &counted {
            if live_people.contains_key(*person) {
                continue;
            }
            let mut still_in = false;
            for s in sessions {
                // Live under another identity, or too fresh to judge: keep.
                if live_sessions.contains(s.session_key.as_str()) || recent(s.at_ms) {
                    still_in = true;
                    continue;
                }
                let out = SessionWrite {
                    session_key: &s.session_key,
                    person: &s.person,
                    name: None,
                    state: SessionState::Out,
                    at_ms: now_ms,
                    event_ts: now_ms,
                };
                // A failed condition means a newer event landed meanwhile: trust it.
                still_in |= !self.write_session(&pk, &out).await?;
            }
            if !still_in {
                removed.push(people_of(sessions.iter().copied()).names().concat());
            }
        }

        let mut added = Vec::new();
        let just_ended = room.ended_at_ms.is_some_and(recent);
        for (person, live) in &live_people {
            let known = counted.contains_key(person)
                || live
                    .sessions
                    .iter()
                    .any(|s| counted_sessions.contains(s.as_str()));
            let seen_recently = room.sessions.iter().any(|s| {
                (s.person == *person || live.sessions.contains(&s.session_key)) && recent(s.at_ms)
            });
            if known || seen_recently || just_ended {
                continue;
            }
            let mut wrote = false;
            for session in &live.sessions {
                let write = SessionWrite {
                    session_key: session,
                    person,
                    name: Some(&live.name),
                    state: SessionState::In,
                    at_ms: now_ms,
                    event_ts: now_ms,
                };
                wrote |= self.write_session(&pk, &write).await?;
            }
            if wrote {
                added.push(live.name.clone());
            }
        }

        self.raise_meta(&pk, "verified_at", now_ms).await?;
        added.sort();
        removed.sort();
        let count = (room.count + added.len()).saturating_sub(removed.len());
        Ok(Repair {
            added,
            removed,
            count,
        })
    }

    /// Creates the table with the template's key schema (tests and local runs).
    #[cfg(feature = "testing")]
    pub async fn create_table(&self) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let invalid = |_| StoreError::Unavailable("invalid table definition");
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(attr("pk").map_err(invalid)?)
            .attribute_definitions(attr("sk").map_err(invalid)?)
            .key_schema(key("pk", KeyType::Hash).map_err(invalid)?)
            .key_schema(key("sk", KeyType::Range).map_err(invalid)?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(())
    }

    async fn write_session(&self, pk: &str, w: &SessionWrite<'_>) -> Result<bool, StoreError> {
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
            .condition_expression(IF_NEWER)
            .expression_attribute_names("#person", "person")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#at", "at")
            .expression_attribute_names("#ts", "event_ts")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":person", s(w.person))
            .expression_attribute_values(":state", s(w.state.as_str()))
            .expression_attribute_values(":at", n(w.at_ms))
            .expression_attribute_values(":ts", n(w.event_ts))
            .expression_attribute_values(":exp", n(w.at_ms / 1000 + SESSION_TTL_SECS));
        if let Some(name) = w.name {
            set.push("#name = :name");
            req = req
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name));
        }
        conditional(
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
    ) -> Result<bool, StoreError> {
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
        conditional(result)
    }

    async fn load(&self, pk: &str, now_ms: u64) -> Result<RoomPresence, StoreError> {
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
                .map_err(|e| StoreError::from_sdk(&e))?;
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(k) => start = Some(k),
                None => return Ok(assemble(&items, now_ms)),
            }
        }
        Err(StoreError::Unavailable(
            "the room has too many rows to read",
        ))
    }
}

type Item = HashMap<String, AttributeValue>;

fn room_pk(meeting_id: &str) -> String {
    format!("room#{meeting_id}")
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn text<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    match item.get(key)? {
        AttributeValue::S(v) => Some(v),
        _ => None,
    }
}

fn number(item: &Item, key: &str) -> Option<u64> {
    match item.get(key)? {
        AttributeValue::N(v) => v.parse().ok(),
        _ => None,
    }
}

/// `Ok(true)`: written; `Ok(false)`: the condition failed (duplicate or stale).
fn conditional<T, E>(result: Result<T, SdkError<E>>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata,
{
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e))
            if e.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(StoreError::from_sdk(&e)),
    }
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
        if number(item, "expires_at").is_some_and(|exp| exp <= now_s) {
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
    let (last_event_at_ms, verified_at_ms) = (meta_time("last_event_at"), meta_time("verified_at"));
    RoomPresence {
        count: people.count(),
        names: people.names(),
        last_activity_ms: last_event_at_ms.max(verified_at_ms),
        last_event_at_ms,
        verified_at_ms,
        started_at_ms: meta_time("started_at"),
        ended_at_ms,
        sessions,
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(room.last_activity_ms, Some(now - 1_000));
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

    #[test]
    fn waiting_room_exits_say_nothing_about_presence() {
        assert_eq!(SessionState::after(Change::Joined), Some(SessionState::In));
        assert_eq!(
            SessionState::after(Change::PutInWaitingRoom),
            Some(SessionState::Waiting)
        );
        assert_eq!(SessionState::after(Change::WaitingRoomLeft), None);
        assert_eq!(SessionState::after(Change::Admitted), None);
    }
}
