//! The simulator's public data: what the admin endpoints take and answer,
//! what tests inspect, and the dashboard entry shape.
//!
//! Shapes that mirror Zoom's spec are written here independently of the
//! client's (`kitchen::zoom`) on purpose: the simulator answers as the spec
//! says, not as the client happens to read it.

use serde::{Deserialize, Serialize};

/// What varies between live dashboard entries; [`dashboard_entry`] fills in the rest.
pub struct EntryFields<'a> {
    /// The Zoom account id (`id` and `participant_user_id`); empty for guests.
    pub zoom_user_id: &'a str,
    pub user_id: &'a str,
    pub participant_uuid: &'a str,
    pub user_name: &'a str,
    pub email: &'a str,
    pub device: &'a str,
    pub join_time: &'a str,
    /// `in_meeting` or `in_waiting_room`.
    pub status: &'a str,
    /// `audio_quality` and `video_quality` ("good", or "" before Zoom has scored them).
    pub quality: &'a str,
}

/// One entry of `GET /metrics/meetings/{id}/participants?type=live`, shaped as
/// accounts.json's `dashboardMeetingParticipants` documents it.
pub fn dashboard_entry(f: &EntryFields) -> serde_json::Value {
    serde_json::json!({
        "id": f.zoom_user_id,
        "user_id": f.user_id,
        "participant_uuid": f.participant_uuid,
        "participant_user_id": f.zoom_user_id,
        "user_name": f.user_name,
        "email": f.email,
        "device": f.device,
        "ip_address": "192.0.2.10",
        "location": "Berlin (DE)",
        "network_type": "Wifi",
        "data_center": "Germany (FR)",
        "full_data_center": "Germany (FR);",
        "connection_type": "UDP",
        "join_time": f.join_time,
        "share_application": false,
        "share_desktop": false,
        "share_whiteboard": false,
        "recording": false,
        "status": f.status,
        "role": "attendee",
        "version": "6.2.5.38312",
        "audio_quality": f.quality,
        "video_quality": f.quality,
        "screen_share_quality": "",
    })
}

/// The simulated endpoints that can be counted and faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /oauth/token`
    Token,
    /// `GET /v2/meetings/{id}`
    Meeting,
    /// `GET /v2/metrics/meetings/{id}/participants`
    Dashboard,
    /// `POST /v2/chat/users/{userId}/messages` (direct messages and channel posts)
    Chat,
    /// `PUT /v2/meetings/{id}/status`
    MeetingStatus,
    /// `GET /v2/users/{userId}`
    User,
    /// `GET` and `POST /v2/users/{userId}/meetings`
    UserMeetings,
}

impl Endpoint {
    pub const ALL: [Endpoint; 7] = [
        Endpoint::Token,
        Endpoint::Meeting,
        Endpoint::Dashboard,
        Endpoint::Chat,
        Endpoint::MeetingStatus,
        Endpoint::User,
        Endpoint::UserMeetings,
    ];

    /// The scopes of which a token needs one (granular and classic names, ZOOM.md);
    /// empty for the token endpoint.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Endpoint::Token => &[],
            Endpoint::Meeting => &["meeting:read:meeting:admin", "meeting:read:admin"],
            Endpoint::Dashboard => &[
                "dashboard:read:list_meeting_participants:admin",
                "dashboard_meetings:read:admin",
            ],
            Endpoint::Chat => &[
                "team_chat:write:user_message:admin",
                "chat_message:write:admin",
            ],
            Endpoint::MeetingStatus => &["meeting:update:status:admin", "meeting:write:admin"],
            Endpoint::User => &["user:read:user:admin", "user:read:admin"],
            // Listing and creating differ: see `routes::user_meetings_scopes`.
            Endpoint::UserMeetings => &["meeting:read:list_meetings:admin", "meeting:read:admin"],
        }
    }
}

/// An injected failure. JSON: `{"kind":"status","status":503,"body":{...}}`,
/// `{"kind":"rate_limit","retry_after":"1"}`, `{"kind":"delay","ms":200}`,
/// `{"kind":"hang"}`, `{"kind":"drop"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer this status with this JSON body (`null` body: `{"code": status, "message": reason}`).
    Status {
        status: u16,
        #[serde(default)]
        body: serde_json::Value,
    },
    /// 429 with Zoom's per-second rate-limit body; `Retry-After` verbatim if given.
    RateLimit {
        #[serde(default)]
        retry_after: Option<String>,
    },
    /// Sleep, then answer normally.
    Delay { ms: u64 },
    /// Never answer (sleeps an hour, then answers 504).
    Hang,
    /// Close the connection without an answer (see the crate docs).
    Drop,
}

/// Request counters. `handler_nanos_total / handled` is the mean sim-side
/// processing time, excluding injected latency and delays.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub token_requests: u64,
    pub meeting_requests: u64,
    /// Every page counts.
    pub dashboard_requests: u64,
    pub chat_requests: u64,
    /// Direct messages and channel posts accepted (201).
    pub chat_delivered: u64,
    pub meeting_status_requests: u64,
    pub user_requests: u64,
    /// Lists and creations of a user's meetings.
    pub user_meetings_requests: u64,
    /// API (`/v2`) calls answered 401.
    pub unauthorized: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
    /// API calls refused for a missing scope (4711).
    pub missing_scope: u64,
    pub handler_nanos_total: u64,
    pub handled: u64,
    /// Webhook deliveries answered 2xx.
    pub webhooks_sent: u64,
}

/// A chat message the sim accepted (201): a direct message (`to_contact`) or a
/// channel post (`to_channel`); the other field is empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessage {
    /// The `{userId}` path segment as the caller sent it.
    pub user_id: String,
    /// `to_contact` as the caller sent it; empty for a channel post.
    pub to_contact: String,
    /// `to_channel` (a channel id); empty for a direct message.
    #[serde(default)]
    pub to_channel: String,
    pub message: String,
    /// The id answered to the caller.
    pub id: String,
}

/// Someone joins a meeting (body of `POST /_sim/join`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinSpec {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Dashboard `device` ("Mac", "Windows", "iOS", "Android", "Phone", ...); default "Mac".
    #[serde(default)]
    pub device: Option<String>,
    /// Put them in the waiting room (`status: in_waiting_room`).
    #[serde(default)]
    pub waiting_room: bool,
    /// A room by name (`kitchen`, `lounge`). Default: the configured meeting.
    #[serde(default)]
    pub room: Option<String>,
    /// A meeting by id instead of a room.
    #[serde(default)]
    pub meeting_id: Option<String>,
}

/// Someone leaves (body of `POST /_sim/leave`): matched by name or email, case-insensitive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// A room by name. Default: the configured meeting.
    #[serde(default)]
    pub room: Option<String>,
    #[serde(default)]
    pub meeting_id: Option<String>,
}

/// Why a join/leave/end could not happen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SimError {
    UnknownRoom(String),
    UnknownMeeting(String),
    /// Both `room` and `meeting_id` were given.
    RoomAndMeeting,
    /// Nobody in the meeting matches the leave.
    NoSuchParticipant,
    /// The meeting exists but is not running.
    NotRunning(String),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::UnknownRoom(r) => write!(f, "no room named {r:?}"),
            SimError::UnknownMeeting(m) => write!(f, "no meeting {m}"),
            SimError::RoomAndMeeting => f.write_str("give \"room\" or \"meeting_id\", not both"),
            SimError::NoSuchParticipant => f.write_str("no participant in the meeting matches"),
            SimError::NotRunning(m) => write!(f, "meeting {m} is not running"),
        }
    }
}

impl std::error::Error for SimError {}

/// Outcome of a join/leave: the dashboard entry and the webhook delivery, if any.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParticipantEvent {
    pub event: String,
    pub participant: serde_json::Value,
    /// `None`: no webhook target configured.
    pub webhook: Option<WebhookDelivery>,
}

/// Result of one webhook delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// HTTP status answered by the receiver, if it answered.
    pub status: Option<u16>,
    /// Connection/protocol error, if any.
    pub error: Option<String>,
    /// Raw response body (lossy UTF-8).
    pub body: String,
}

/// A meeting ended through `PUT /v2/meetings/{id}/status` or [`crate::Sim::end_meeting`]
/// (listed by `GET /_sim/ended`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedMeeting {
    pub meeting_id: String,
    /// The room whose meeting it is, if any.
    pub room: Option<String>,
    /// RFC 3339.
    pub ended_at: String,
    /// Dashboard entries still in the meeting (or its waiting room) when it ended.
    pub participants_removed: usize,
    /// The `meeting.ended` delivery; `None` without a webhook target (or, through the
    /// API, until the delivery, which runs in the background as Zoom's does, finishes).
    pub webhook: Option<WebhookDelivery>,
}

/// The settings of a meeting that the backend reads or sets (meetings.json).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingSettings {
    pub join_before_host: bool,
    /// Minutes before the start time people may join (0: any time; 5, 10, 15).
    pub jbh_time: u32,
    pub waiting_room: bool,
}

impl Default for MeetingSettings {
    /// What the permanent room should have: join before the host at any time, no waiting room.
    fn default() -> Self {
        MeetingSettings {
            join_before_host: true,
            jbh_time: 0,
            waiting_room: false,
        }
    }
}

/// A change to a meeting (body of `POST /_sim/meetings/{id}`); absent fields stay.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingUpdate {
    /// Zoom's meeting type: 1 instant, 2 scheduled, 3 recurring with no fixed time, 8 recurring.
    #[serde(default, rename = "type")]
    pub kind: Option<u8>,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub join_before_host: Option<bool>,
    #[serde(default)]
    pub jbh_time: Option<u32>,
    #[serde(default)]
    pub waiting_room: Option<bool>,
}

/// A room as `GET /_sim/rooms` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub room: String,
    pub meeting_id: String,
    pub topic: String,
    pub join_url: String,
    /// The room's Team Chat channel id, if it has one.
    pub channel: Option<String>,
    pub running: bool,
}
