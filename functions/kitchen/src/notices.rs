//! "Someone is in the room": when a room goes from empty to occupied, one post
//! to the room's Team Chat channel. The decision and its record live here; the
//! `notify` function wires it to the presence table's stream and to Zoom.
//!
//! ## The episode record
//! One row per room in the presence table, beside the room's sessions:
//! `pk = room#<meeting_id>`, `sk = notice`, with
//! * `state` (`empty` | `occupied`) and `since` (ms): what notify last saw;
//! * `episode` (ms): when the current occupied episode began;
//! * `post` (`due` | `sending` | `posted` | `skipped` | `failed`), `reason`,
//!   `claimed_at`, `posted_at` (ms), `message_id`: what became of its post;
//! * `expires_at` (s): 30 days after the last write (the table's TTL).
//!
//! Every change is one conditional UpdateItem, so however often the stream
//! delivers a record, and in whatever order, one episode opens once and posts at
//! most once: `empty → occupied` lands only while the row says `empty` (or does
//! not exist), and the post is claimed (`due → sending`) before Zoom is asked. A
//! retryable Zoom failure hands the claim back (`sending → due`), so the
//! stream's retry posts; a claim left behind by a crashed invocation can be
//! taken again after [`CLAIM_TIMEOUT_MS`].
//!
//! The decision reads the room itself ([`PresenceStore::read`], strongly
//! consistent), not the stream record's images: a record says what one session
//! did, the room says whether anybody is there now. So a late or repeated record
//! cannot invent an arrival.
//!
//! ## Cooldown and quiet hours
//! A room that fills again less than the cooldown after it emptied continues the
//! episode it had (nothing new is posted): someone whose connection dropped for a
//! minute is not news. An episode that begins in quiet hours is recorded as
//! `skipped` and never posted.
//!
//! Settings (all optional): `KITCHEN_NOTICE_TEMPLATE` (placeholders `{names}`,
//! `{is/are}`, `{room}`, `{join_url}`, `{count}`; default [`DEFAULT_TEMPLATE`]),
//! `KITCHEN_NOTICE_COOLDOWN_SECONDS` (default 1800), `KITCHEN_NOTICE_QUIET_HOURS`
//! (`HH:MM-HH:MM`, may span midnight), `KITCHEN_NOTICE_TIME_ZONE` (a fixed UTC
//! offset, `+01:00`, `-05:30` or `UTC`; default UTC), and `KITCHEN_SHOW_NAMES`
//! (names in the post; otherwise "Someone").

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

use crate::config::{ConfigError, Env};
use crate::dynamo::{Item, TableError, conditional, n, number, s, text};
use crate::presence::{PresenceStore, RoomPresence};
use crate::rooms::Room;
use crate::zoom::{ZoomError, codes};

/// `{names}` is "Someone" unless names are shown.
pub const DEFAULT_TEMPLATE: &str = "☕ {names} {is/are} in the {room} — join: {join_url}";
pub const DEFAULT_COOLDOWN_SECS: u64 = 30 * 60;
/// Zoom's limit for one chat message.
pub const MAX_MESSAGE_CHARS: usize = 1024;
/// The template's own text (without what the placeholders add) stays below this,
/// leaving room for the names and the link.
pub const MAX_TEMPLATE_CHARS: usize = 600;
/// A claim to post older than this is taken to have died with its invocation.
pub const CLAIM_TIMEOUT_MS: u64 = 60_000;
/// The notice row expires this long after its last write.
pub const NOTICE_TTL_SECS: u64 = 30 * 24 * 3600;
/// The row's sort key.
pub const NOTICE_SK: &str = "notice";
const TABLE: &str = "presence";
const PLACEHOLDERS: [&str; 5] = ["{names}", "{is/are}", "{room}", "{join_url}", "{count}"];

/// The scopes a channel post needs (granular, classic): named when Zoom says one is missing.
pub const CHAT_SCOPES: &str =
    "team_chat:write:user_message:admin (classic: chat_message:write:admin)";
/// The scopes `GET /meetings/{id}` needs, for rooms without a `join_url`.
pub const MEETING_SCOPES: &str = "meeting:read:meeting:admin (classic: meeting:read:admin)";

// ---------------------------------------------------------------- settings

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeConfig {
    pub template: Template,
    pub cooldown: Duration,
    pub quiet_hours: Option<QuietHours>,
    pub show_names: bool,
}

impl Default for NoticeConfig {
    fn default() -> Self {
        Self {
            template: Template(DEFAULT_TEMPLATE.to_owned()),
            cooldown: Duration::from_secs(DEFAULT_COOLDOWN_SECS),
            quiet_hours: None,
            show_names: false,
        }
    }
}

impl NoticeConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let template = match env.get("KITCHEN_NOTICE_TEMPLATE") {
            Some(t) => Template::parse(&t)
                .map_err(|why| ConfigError::new("KITCHEN_NOTICE_TEMPLATE", why))?,
            None => Template(DEFAULT_TEMPLATE.to_owned()),
        };
        let offset = match env.get("KITCHEN_NOTICE_TIME_ZONE") {
            Some(z) => {
                parse_offset(&z).map_err(|why| ConfigError::new("KITCHEN_NOTICE_TIME_ZONE", why))?
            }
            None => 0,
        };
        let quiet_hours = env
            .get("KITCHEN_NOTICE_QUIET_HOURS")
            .map(|q| QuietHours::parse(&q, offset))
            .transpose()
            .map_err(|why| ConfigError::new("KITCHEN_NOTICE_QUIET_HOURS", why))?;
        Ok(Self {
            template,
            cooldown: env.seconds("KITCHEN_NOTICE_COOLDOWN_SECONDS", DEFAULT_COOLDOWN_SECS)?,
            quiet_hours,
            show_names: env.flag("KITCHEN_SHOW_NAMES", false)?,
        })
    }
}

/// A message template whose placeholders are all known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(String);

impl Template {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rest = text;
        let mut fixed = 0usize;
        while let Some(open) = rest.find('{') {
            fixed += rest[..open].chars().count();
            let tail = &rest[open..];
            let Some(p) = PLACEHOLDERS.iter().find(|p| tail.starts_with(**p)) else {
                let shown: String = tail.chars().take(12).collect();
                return Err(format!(
                    "has an unknown placeholder at {shown:?} (known: {})",
                    PLACEHOLDERS.join(", ")
                ));
            };
            rest = &tail[p.len()..];
        }
        fixed += rest.chars().count();
        if fixed > MAX_TEMPLATE_CHARS {
            return Err(format!(
                "is {fixed} characters long; at most {MAX_TEMPLATE_CHARS} (a message has at most {MAX_MESSAGE_CHARS})"
            ));
        }
        if text.trim().is_empty() {
            return Err("is empty".into());
        }
        Ok(Self(text.to_owned()))
    }

    /// The post, at most [`MAX_MESSAGE_CHARS`] characters: when the names make
    /// it longer, they give way to the number of people.
    pub fn render(&self, room: &str, names: &[String], count: usize, join_url: &str) -> String {
        let fill = |who: &str, verb: &str| {
            self.0
                .replace("{names}", who)
                .replace("{is/are}", verb)
                .replace("{room}", room)
                .replace("{join_url}", join_url)
                .replace("{count}", &count.to_string())
        };
        let (who, verb) = who(names, count);
        let text = fill(&who, verb);
        if text.chars().count() <= MAX_MESSAGE_CHARS {
            return text;
        }
        let people = if count == 1 {
            "1 person".to_owned()
        } else {
            format!("{count} people")
        };
        let text = fill(&people, if count == 1 { "is" } else { "are" });
        text.chars().take(MAX_MESSAGE_CHARS).collect()
    }
}

/// "Someone" / "Ann" / "Ann and Bob" / "Ann, Bob and Cy", with its verb.
fn who(names: &[String], count: usize) -> (String, &'static str) {
    match names {
        [] => ("Someone".into(), "is"),
        [one] if count <= 1 => (one.clone(), "is"),
        [one] => (one.clone(), "are"),
        [init @ .., last] => (format!("{} and {last}", init.join(", ")), "are"),
    }
}

/// Local times (minutes after midnight) in a fixed offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start_min: u32,
    pub end_min: u32,
    /// Minutes east of UTC.
    pub offset_min: i32,
}

impl QuietHours {
    /// `22:00-07:00` (spanning midnight) or `12:00-13:00`.
    pub fn parse(text: &str, offset_min: i32) -> Result<Self, String> {
        let bad = || format!("must be HH:MM-HH:MM (e.g. 22:00-07:00), got {text:?}");
        let (a, b) = text.split_once('-').ok_or_else(bad)?;
        let (start_min, end_min) = (clock(a).ok_or_else(bad)?, clock(b).ok_or_else(bad)?);
        if start_min == end_min {
            return Err(format!("{text:?} starts and ends at the same time"));
        }
        Ok(Self {
            start_min,
            end_min,
            offset_min,
        })
    }

    pub fn contains(&self, now_ms: u64) -> bool {
        let local = (now_ms / 60_000) as i64 + i64::from(self.offset_min);
        let minute = local.rem_euclid(24 * 60) as u32;
        if self.start_min < self.end_min {
            (self.start_min..self.end_min).contains(&minute)
        } else {
            minute >= self.start_min || minute < self.end_min
        }
    }
}

fn clock(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.trim().len() == 5).then_some(h * 60 + m)
}

/// `UTC`, `Z`, `+01:00`, `-05:30`, `+0100` → minutes east of UTC.
fn parse_offset(text: &str) -> Result<i32, String> {
    let bad = || {
        format!("must be UTC or a fixed offset like +01:00 or -05:30 (no zone names), got {text:?}")
    };
    let t = text.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(0);
    }
    let sign = match t.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(bad()),
    };
    let digits: String = t[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (
        digits[..2].parse().map_err(|_| bad())?,
        digits[2..].parse().map_err(|_| bad())?,
    );
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

// ---------------------------------------------------------------- Zoom failures

/// Why a post (or the join URL it needs) failed, and whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A stable word for logs and metrics: `rate_limited`, `zoom_unavailable`,
    /// `missing_scope`, `unknown_channel`, `channel_unavailable`,
    /// `tech_user_not_found`, `credentials_rejected`, `zoom_refused`.
    pub reason: &'static str,
    pub retryable: bool,
    /// For people: what happened and what to fix (no secrets).
    pub detail: String,
}

impl Failure {
    /// A failed `POST /chat/users/{tech user}/messages` with `to_channel`.
    pub fn of_post(e: &ZoomError, channel: &str) -> Self {
        Self::classify(e, CHAT_SCOPES, Some(channel))
    }

    /// A failed `GET /meetings/{id}` for the join URL.
    pub fn of_join_url(e: &ZoomError) -> Self {
        Self::classify(e, MEETING_SCOPES, None)
    }

    fn classify(e: &ZoomError, scopes: &str, channel: Option<&str>) -> Self {
        let f = |reason, retryable, detail: String| Self {
            reason,
            retryable,
            detail,
        };
        match e {
            ZoomError::RateLimited { retry_after } => f(
                "rate_limited",
                true,
                format!(
                    "Zoom's rate limit (retry after {:?} s)",
                    retry_after.map(|d| d.as_secs())
                ),
            ),
            ZoomError::Timeout | ZoomError::Unreachable | ZoomError::InvalidResponse(_) => {
                f("zoom_unavailable", true, e.to_string())
            }
            ZoomError::CredentialsRejected(_) => f(
                "credentials_rejected",
                false,
                "Zoom rejected the app's credentials; fix the secret".into(),
            ),
            ZoomError::Api { status, code, .. } => match (*status, *code) {
                (_, Some(codes::MISSING_SCOPE)) | (403, _) => f(
                    "missing_scope",
                    false,
                    format!("the Zoom app lacks a scope: add {scopes}"),
                ),
                (_, Some(4130)) | (404, None) if channel.is_some() => f(
                    "unknown_channel",
                    false,
                    format!(
                        "Zoom knows no channel {:?}; fix the room's \"channel\" in KITCHEN_ROOMS",
                        channel.unwrap_or_default()
                    ),
                ),
                (_, Some(5419 | 5420)) => f(
                    "channel_unavailable",
                    false,
                    "the channel is encrypted or archived; the tech user cannot post there".into(),
                ),
                (_, Some(codes::USER_NOT_FOUND)) => f(
                    "tech_user_not_found",
                    false,
                    "the tech user does not exist in this Zoom account; fix ZOOM_TECH_USER".into(),
                ),
                (_, Some(codes::MESSAGE_FAILED)) => f("zoom_unavailable", true, e.to_string()),
                (s, _) if s >= 500 => f("zoom_unavailable", true, e.to_string()),
                (401, _) => f(
                    "credentials_rejected",
                    false,
                    "Zoom refused a fresh token".into(),
                ),
                _ => f("zoom_refused", false, e.to_string()),
            },
        }
    }
}

// ---------------------------------------------------------------- the record

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occupancy {
    Empty,
    Occupied,
}

/// What became of an episode's post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Post {
    Due,
    Sending,
    Posted,
    Skipped,
    Failed,
}

impl Post {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Due => "due",
            Self::Sending => "sending",
            Self::Posted => "posted",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "due" => Self::Due,
            "sending" => Self::Sending,
            "posted" => Self::Posted,
            "skipped" => Self::Skipped,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// The room's notice row, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    pub state: Occupancy,
    pub since_ms: u64,
    pub episode_ms: Option<u64>,
    pub post: Option<Post>,
    pub reason: Option<String>,
    pub claimed_at_ms: Option<u64>,
    pub posted_at_ms: Option<u64>,
    pub message_id: Option<String>,
}

impl NoticeRow {
    fn from_item(item: &Item) -> Option<Self> {
        let state = match text(item, "state")? {
            "empty" => Occupancy::Empty,
            "occupied" => Occupancy::Occupied,
            _ => return None,
        };
        Some(Self {
            state,
            since_ms: number(item, "since").unwrap_or(0),
            episode_ms: number(item, "episode"),
            post: text(item, "post").and_then(Post::parse),
            reason: text(item, "reason").map(str::to_owned),
            claimed_at_ms: number(item, "claimed_at"),
            posted_at_ms: number(item, "posted_at"),
            message_id: text(item, "message_id").map(str::to_owned),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// The presence table (its notice rows or the room's presence); the
    /// error names which table.
    #[error(transparent)]
    Table(#[from] TableError),
}

/// The notice rows of the presence table.
#[derive(Debug, Clone)]
pub struct NoticeStore {
    client: Client,
    table: String,
}

/// The partition of a room in the presence table (presence.rs's key rule).
pub use crate::presence::room_pk;

impl NoticeStore {
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: Client::new(sdk),
            table: table.into(),
        }
    }

    /// The room's row, strongly consistent; `None` before notify first saw the room.
    pub async fn get(&self, meeting_id: &str) -> Result<Option<NoticeRow>, TableError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(room_pk(meeting_id)))
            .key("sk", s(NOTICE_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| TableError::from_sdk(TABLE, &e))?;
        Ok(out.item.as_ref().and_then(NoticeRow::from_item))
    }

    fn update(
        &self,
        meeting_id: &str,
        now_ms: u64,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(room_pk(meeting_id)))
            .key("sk", s(NOTICE_SK))
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":exp", n(now_ms / 1000 + NOTICE_TTL_SECS))
    }

    /// `occupied → empty` (or a first sighting of an empty room).
    pub async fn mark_empty(&self, meeting_id: &str, now_ms: u64) -> Result<bool, TableError> {
        let r = self
            .update(meeting_id, now_ms)
            .update_expression("SET #state = :empty, #since = :now, #exp = :exp")
            .condition_expression("attribute_not_exists(#state) OR #state <> :empty")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#since", "since")
            .expression_attribute_values(":empty", s("empty"))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        conditional(TABLE, r)
    }

    /// `empty → occupied`: opens the episode beginning `now_ms` with its post
    /// `due` or `skipped` (with `reason`). Lands once, whoever tries.
    pub async fn open_episode(
        &self,
        meeting_id: &str,
        now_ms: u64,
        post: Post,
        reason: Option<&str>,
    ) -> Result<bool, TableError> {
        let mut set = "SET #state = :occ, #since = :now, #episode = :now, #post = :post, #exp = :exp REMOVE #claimed".to_owned();
        let mut req = self
            .update(meeting_id, now_ms)
            .condition_expression("attribute_not_exists(#state) OR #state = :empty")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#since", "since")
            .expression_attribute_names("#episode", "episode")
            .expression_attribute_names("#post", "post")
            .expression_attribute_names("#claimed", "claimed_at")
            .expression_attribute_values(":occ", s("occupied"))
            .expression_attribute_values(":empty", s("empty"))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":post", s(post.as_str()));
        match reason {
            Some(r) => {
                set = set.replace(", #exp = :exp", ", #reason = :reason, #exp = :exp");
                req = req.expression_attribute_values(":reason", s(r));
            }
            None => set.push_str(", #reason"),
        }
        let r = req
            .expression_attribute_names("#reason", "reason")
            .update_expression(set)
            .send()
            .await;
        conditional(TABLE, r)
    }

    /// `due → sending` for `episode_ms` (or a claim older than
    /// [`CLAIM_TIMEOUT_MS`] taken over). Only the winner posts.
    pub async fn claim(
        &self,
        meeting_id: &str,
        episode_ms: u64,
        now_ms: u64,
    ) -> Result<bool, TableError> {
        let r = self
            .update(meeting_id, now_ms)
            .update_expression("SET #post = :sending, #claimed = :now, #exp = :exp")
            .condition_expression(
                "#state = :occ AND #episode = :ep AND (#post = :due OR (#post = :sending AND #claimed < :stale))",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#episode", "episode")
            .expression_attribute_names("#post", "post")
            .expression_attribute_names("#claimed", "claimed_at")
            .expression_attribute_values(":occ", s("occupied"))
            .expression_attribute_values(":ep", n(episode_ms))
            .expression_attribute_values(":due", s("due"))
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":stale", n(now_ms.saturating_sub(CLAIM_TIMEOUT_MS)))
            .send()
            .await;
        conditional(TABLE, r)
    }

    /// Settles a claimed post: `posted` (with Zoom's message id), `failed`
    /// (with the reason), or back to `due` for the stream's retry.
    pub async fn settle(
        &self,
        meeting_id: &str,
        episode_ms: u64,
        now_ms: u64,
        outcome: &Result<String, Failure>,
    ) -> Result<bool, TableError> {
        let req = self
            .update(meeting_id, now_ms)
            .condition_expression("#episode = :ep AND #post = :sending")
            .expression_attribute_names("#episode", "episode")
            .expression_attribute_names("#post", "post")
            .expression_attribute_values(":ep", n(episode_ms))
            .expression_attribute_values(":sending", s("sending"))
            .return_values(ReturnValue::None);
        let req = match outcome {
            Ok(message_id) => req
                .update_expression(
                    "SET #post = :posted, #posted_at = :now, #mid = :mid, #exp = :exp REMOVE #reason",
                )
                .expression_attribute_names("#posted_at", "posted_at")
                .expression_attribute_names("#mid", "message_id")
                .expression_attribute_names("#reason", "reason")
                .expression_attribute_values(":posted", s("posted"))
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":mid", s(message_id.as_str())),
            Err(f) => req
                .update_expression("SET #post = :next, #reason = :reason, #exp = :exp")
                .expression_attribute_names("#reason", "reason")
                .expression_attribute_values(
                    ":next",
                    s(if f.retryable { "due" } else { "failed" }),
                )
                .expression_attribute_values(":reason", s(f.reason)),
        };
        conditional(TABLE, req.send().await)
    }
}

// ---------------------------------------------------------------- the decision

/// What to do about a room now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to post; the word says why (`empty`, `continues`, `cooldown`,
    /// `quiet_hours`, `already_posted`, `already_claimed`, `settled`).
    Nothing(&'static str),
    /// This invocation holds the claim: post, then [`Notices::settle`].
    Post(Claim),
}

/// The right to post an episode's notice, with what the post says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub meeting_id: String,
    pub episode_ms: u64,
    pub count: usize,
    /// Names of the people there, when names are shown; else empty.
    pub names: Vec<String>,
}

/// Whether a room that became occupied at `now_ms` gets a post, given its row.
pub fn opening(
    row: Option<&NoticeRow>,
    now_ms: u64,
    config: &NoticeConfig,
) -> (Post, Option<&'static str>) {
    let cooldown_ms = config.cooldown.as_millis() as u64;
    let emptied_recently = row.is_some_and(|r| {
        r.state == Occupancy::Empty
            && r.episode_ms.is_some()
            && now_ms.saturating_sub(r.since_ms) < cooldown_ms
    });
    if emptied_recently {
        return (Post::Skipped, Some("cooldown"));
    }
    if config.quiet_hours.is_some_and(|q| q.contains(now_ms)) {
        return (Post::Skipped, Some("quiet_hours"));
    }
    (Post::Due, None)
}

/// The decision over the presence table: read the room, move its notice row.
#[derive(Debug, Clone)]
pub struct Notices {
    pub presence: PresenceStore,
    pub store: NoticeStore,
    pub config: NoticeConfig,
}

impl Notices {
    pub fn new(sdk: &aws_config::SdkConfig, table: &str, config: NoticeConfig) -> Self {
        Self {
            presence: PresenceStore::new(sdk, table),
            store: NoticeStore::new(sdk, table),
            config,
        }
    }

    /// Looks at `room` now and moves its record: `Step::Post` when this caller
    /// must post. Idempotent: calling it again (a redelivered record) finds the
    /// episode opened and claimed and answers `Nothing`.
    pub async fn step(&self, room: &Room, now_ms: u64) -> Result<Step, NoticeError> {
        let presence: RoomPresence = self.presence.read(&room.meeting_id).await?;
        let row = self.store.get(&room.meeting_id).await?;
        let id = &room.meeting_id;
        if presence.count == 0 {
            if row.as_ref().is_none_or(|r| r.state == Occupancy::Occupied) {
                self.store.mark_empty(id, now_ms).await?;
            }
            return Ok(Step::Nothing("empty"));
        }
        let episode_ms = match row.as_ref() {
            Some(r) if r.state == Occupancy::Occupied => match (r.post, r.episode_ms) {
                (Some(Post::Due), Some(ep)) => ep,
                (Some(Post::Sending), Some(ep))
                    if r.claimed_at_ms.unwrap_or(0) + CLAIM_TIMEOUT_MS < now_ms =>
                {
                    ep
                }
                (Some(Post::Sending), _) => return Ok(Step::Nothing("already_claimed")),
                (Some(Post::Posted), _) => return Ok(Step::Nothing("already_posted")),
                _ => return Ok(Step::Nothing("settled")),
            },
            _ => {
                let (post, reason) = opening(row.as_ref(), now_ms, &self.config);
                if !self.store.open_episode(id, now_ms, post, reason).await? {
                    return Ok(Step::Nothing("continues"));
                }
                if let Some(reason) = reason {
                    tracing::info!(room = %room.name, reason, "room occupied; no notice");
                    return Ok(Step::Nothing(reason));
                }
                now_ms
            }
        };
        if !self.store.claim(id, episode_ms, now_ms).await? {
            return Ok(Step::Nothing("already_claimed"));
        }
        Ok(Step::Post(Claim {
            meeting_id: id.clone(),
            episode_ms,
            count: presence.count,
            names: if self.config.show_names {
                presence.names
            } else {
                Vec::new()
            },
        }))
    }

    /// The post's text for a claim.
    pub fn message(&self, room: &Room, claim: &Claim, join_url: &str) -> String {
        self.config
            .template
            .render(&room.name, &claim.names, claim.count, join_url)
    }

    /// Records what became of a claimed post (see [`NoticeStore::settle`]).
    pub async fn settle(
        &self,
        claim: &Claim,
        now_ms: u64,
        outcome: &Result<String, Failure>,
    ) -> Result<(), NoticeError> {
        if !self
            .store
            .settle(&claim.meeting_id, claim.episode_ms, now_ms, outcome)
            .await?
        {
            tracing::warn!(
                meeting_id = %claim.meeting_id,
                "the notice's claim was taken over before it settled"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
fn item(pairs: &[(&str, aws_sdk_dynamodb::types::AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<NoticeConfig, ConfigError> {
        NoticeConfig::from_env(&Env::from_pairs(pairs))
    }

    #[test]
    fn default_template_without_and_with_names() {
        let c = NoticeConfig::default();
        let url = "https://zoom.us/j/1";
        assert_eq!(
            c.template.render("kitchen", &[], 2, url),
            "☕ Someone is in the kitchen — join: https://zoom.us/j/1"
        );
        assert_eq!(
            c.template.render("kitchen", &["Ann".into()], 1, url),
            "☕ Ann is in the kitchen — join: https://zoom.us/j/1"
        );
        assert_eq!(
            c.template
                .render("lounge", &["Ann".into(), "Bob".into(), "Cy".into()], 3, url),
            "☕ Ann, Bob and Cy are in the lounge — join: https://zoom.us/j/1"
        );
    }

    #[test]
    fn long_names_give_way_to_the_count_and_the_message_fits() {
        let c = NoticeConfig::default();
        let names: Vec<String> = (0..100).map(|i| format!("Person number {i:03}")).collect();
        let text = c
            .template
            .render("kitchen", &names, 100, "https://zoom.us/j/1");
        assert!(text.chars().count() <= MAX_MESSAGE_CHARS);
        assert_eq!(
            text,
            "☕ 100 people are in the kitchen — join: https://zoom.us/j/1"
        );
    }

    #[test]
    fn settings_are_read_and_bad_ones_name_their_variable() {
        let c = config(&[
            ("KITCHEN_NOTICE_TEMPLATE", "{count} in {room}: {join_url}"),
            ("KITCHEN_NOTICE_COOLDOWN_SECONDS", "60"),
            ("KITCHEN_NOTICE_QUIET_HOURS", "22:00-07:00"),
            ("KITCHEN_NOTICE_TIME_ZONE", "+01:00"),
            ("KITCHEN_SHOW_NAMES", "on"),
        ])
        .unwrap();
        assert_eq!(c.cooldown, Duration::from_secs(60));
        assert!(c.show_names);
        assert_eq!(
            c.quiet_hours,
            Some(QuietHours {
                start_min: 22 * 60,
                end_min: 7 * 60,
                offset_min: 60
            })
        );
        assert_eq!(c.template.render("lounge", &[], 2, "u"), "2 in lounge: u");
        assert_eq!(config(&[]).unwrap(), NoticeConfig::default());
        for (var, value) in [
            ("KITCHEN_NOTICE_TEMPLATE", "hi {name}"),
            ("KITCHEN_NOTICE_TEMPLATE", &"x".repeat(700)),
            ("KITCHEN_NOTICE_COOLDOWN_SECONDS", "soon"),
            ("KITCHEN_NOTICE_QUIET_HOURS", "22-07"),
            ("KITCHEN_NOTICE_QUIET_HOURS", "07:00-07:00"),
            ("KITCHEN_NOTICE_TIME_ZONE", "Europe/Berlin"),
            ("KITCHEN_NOTICE_TIME_ZONE", "+15:00"),
        ] {
            assert_eq!(
                config(&[(var, value)]).unwrap_err().var,
                var,
                "{var}={value}"
            );
        }
    }

    #[test]
    fn quiet_hours_span_midnight_in_local_time() {
        // 2026-11-22T21:30:00Z
        let t = 1_795_469_400_000u64;
        let berlin = QuietHours::parse("22:00-07:00", 60).unwrap();
        assert!(berlin.contains(t), "22:30 in Berlin");
        assert!(!berlin.contains(t - 3_600_000), "21:30 in Berlin");
        assert!(berlin.contains(t + 8 * 3_600_000), "06:30 in Berlin");
        assert!(!berlin.contains(t + 9 * 3_600_000), "07:30 in Berlin");
        let lunch = QuietHours::parse("12:00-13:00", -300).unwrap();
        assert!(lunch.contains(t - 4 * 3_600_000), "12:30 in New York");
        assert!(!lunch.contains(t), "16:30 in New York");
    }

    #[test]
    fn an_opening_is_skipped_within_the_cooldown_after_emptying_and_in_quiet_hours() {
        let c = NoticeConfig::default();
        let now = 1_795_469_400_000u64;
        let empty_since = |ms| NoticeRow {
            state: Occupancy::Empty,
            since_ms: ms,
            episode_ms: Some(ms - 600_000),
            post: Some(Post::Posted),
            reason: None,
            claimed_at_ms: None,
            posted_at_ms: Some(ms - 600_000),
            message_id: None,
        };
        assert_eq!(opening(None, now, &c), (Post::Due, None));
        assert_eq!(
            opening(Some(&empty_since(now - 60_000)), now, &c),
            (Post::Skipped, Some("cooldown"))
        );
        assert_eq!(
            opening(Some(&empty_since(now - 1_800_000)), now, &c),
            (Post::Due, None)
        );
        let quiet = NoticeConfig {
            quiet_hours: Some(QuietHours::parse("22:00-07:00", 60).unwrap()),
            ..c
        };
        assert_eq!(
            opening(None, now, &quiet),
            (Post::Skipped, Some("quiet_hours"))
        );
    }

    #[test]
    fn zoom_failures_are_classified_for_retry() {
        let api = |status, code| ZoomError::Api {
            status,
            code,
            message: String::new(),
        };
        let cases = [
            (
                ZoomError::RateLimited { retry_after: None },
                "rate_limited",
                true,
            ),
            (ZoomError::Timeout, "zoom_unavailable", true),
            (api(503, None), "zoom_unavailable", true),
            (api(400, Some(codes::MISSING_SCOPE)), "missing_scope", false),
            (api(403, None), "missing_scope", false),
            (api(404, Some(4130)), "unknown_channel", false),
            (api(400, Some(5420)), "channel_unavailable", false),
            (
                api(404, Some(codes::USER_NOT_FOUND)),
                "tech_user_not_found",
                false,
            ),
            (
                ZoomError::CredentialsRejected("invalid_client".into()),
                "credentials_rejected",
                false,
            ),
            (api(400, Some(300)), "zoom_refused", false),
        ];
        for (e, reason, retryable) in cases {
            let f = Failure::of_post(&e, "ch-1");
            assert_eq!((f.reason, f.retryable), (reason, retryable), "{e}");
        }
        assert!(
            Failure::of_post(&api(400, Some(codes::MISSING_SCOPE)), "c")
                .detail
                .contains("team_chat:write:user_message:admin")
        );
        assert!(
            Failure::of_join_url(&api(400, Some(codes::MISSING_SCOPE)))
                .detail
                .contains("meeting:read:meeting:admin")
        );
    }

    #[test]
    fn rows_read_back() {
        let row = NoticeRow::from_item(&item(&[
            ("state", s("occupied")),
            ("since", n(5)),
            ("episode", n(5)),
            ("post", s("sending")),
            ("claimed_at", n(6)),
        ]))
        .unwrap();
        assert_eq!(
            (row.state, row.episode_ms, row.post),
            (Occupancy::Occupied, Some(5), Some(Post::Sending))
        );
        assert_eq!(NoticeRow::from_item(&item(&[("state", s("?"))])), None);
    }
}
