//! A local HTTP server that answers like Zoom for the endpoints the
//! coffee-kitchen backend uses, and admin endpoints under `/_sim/` to drive it.
//! Use it in-process from tests ([`Sim::spawn`]; a [`SimHandle`] is its base
//! URL for `kitchen::testing`) or run the `zoom-sim` binary.
//!
//! Response shapes follow Zoom's OpenAPI specs; error bodies are
//! `{"code": int, "message": str}` (OAuth errors: `{"reason", "error"}`).
//!
//! ## Zoom endpoints
//! * `POST /oauth/token` — Server-to-Server OAuth (`account_credentials`); the
//!   answer's `scope` lists the granted scopes (default [`DEMO_SCOPES`]).
//! * `GET /v2/meetings/{meetingId}` — `type`, `status`, `join_url`, `settings`
//!   (`join_before_host`, `jbh_time`, `waiting_room`, …); unknown: 404/3001.
//! * `PUT /v2/meetings/{meetingId}/status` `{"action": "end"}` — 204; everyone
//!   leaves, the end is recorded (`GET /_sim/ended`) and `meeting.ended` is
//!   delivered in the background when a webhook target is set. A meeting that
//!   is not running: 404/3001 "Meeting {id} is not in progress." (the code the
//!   endpoint documents; ZOOM.md calls Zoom's real answer uncertain); unknown:
//!   404/3001. `recover`: 204, no effect.
//! * `GET /v2/metrics/meetings/{meetingId}/participants?type=live` — dashboard
//!   entries, paged (`page_size` ≤ 300, `next_page_token` valid 15 min); a
//!   meeting not running: 404/3001.
//! * `POST /v2/chat/users/{userId}/messages` — `message` with `to_contact` (a
//!   direct message: unknown user 404/1001, not a contact 400/5301) or
//!   `to_channel` (a channel post: unknown channel 404/4130); 201 `{"id"}`.
//! * `GET /v2/users/{userId}` — the tech user and every added user (`me` is the
//!   tech user); others 404/1001.
//! * `POST /v2/users/{userId}/meetings` — creates a meeting (`type` default 2;
//!   `settings.join_before_host` default false, `jbh_time` 0, `waiting_room`
//!   default true, as a Zoom account usually has them); 201 with the meeting.
//! * `GET /v2/users/{userId}/meetings?type=scheduled|live|upcoming` — the
//!   user's meetings (items without `status` or `settings`), paged.
//!
//! Every `/v2` call needs a valid token (else 401/124) holding one of the
//! endpoint's scopes, granular or classic ([`Endpoint::scopes`]; creating a
//! meeting needs `meeting:write:meeting:admin` or `meeting:write:admin`), else
//! 400/4711 "Invalid access token, does not contain scopes:[…]." (the status
//! public reports show). A token keeps the scopes it was issued with.
//!
//! ## Demo data ([`Sim::demo`], what the binary serves)
//! | room | meeting | channel | state |
//! |---|---|---|---|
//! | `kitchen` | [`DEMO_MEETING_ID`] | [`DEMO_KITCHEN_CHANNEL`] | running: Alice, Bob (rejoined), Carol in; Dave (guest, no email) waiting: 3 people; waiting room on |
//! | `lounge` | [`DEMO_LOUNGE_MEETING_ID`] | [`DEMO_LOUNGE_CHANNEL`] | not running, empty |
//!
//! Both meetings: type 3, join before host at any time, hosted by the tech user
//! [`DEMO_TECH_USER`]. Users alice, bob, carol, erin @example.com are chat
//! contacts; stranger@example.com is a user but not a contact.
//!
//! ## Admin endpoints (`/_sim/`, JSON, no auth; errors `{"error"}`)
//! * `GET /_sim/health` — `{"ok": true}`.
//! * `GET /_sim/stats`, `POST /_sim/stats/reset` — [`Stats`] counters.
//! * `GET /_sim/rooms` — `[{"room", "meeting_id", "topic", "join_url", "channel", "running"}]`.
//! * `POST /_sim/join` `{"name", "email"?, "device"?, "waiting_room"?, "room"? | "meeting_id"?}`
//!   — someone joins (default: the `kitchen` room); answers the dashboard entry
//!   and the webhook delivery. Unknown room: 404.
//! * `POST /_sim/leave` `{"name"? , "email"?, "room"? | "meeting_id"?}` — the
//!   newest open entry matching name or email leaves; nobody matches: 404.
//! * `POST /_sim/end` `{"room"? | "meeting_id"?}` — ends a meeting as the API
//!   does, delivering `meeting.ended` before answering the [`EndedMeeting`];
//!   not running: 409.
//! * `GET /_sim/ended` — every [`EndedMeeting`] so far (`meeting_id`, `room`,
//!   `ended_at`, `participants_removed`, `webhook`).
//! * `POST /_sim/meetings/{meetingId}` `{"type"?, "topic"?, "join_before_host"?,
//!   "jbh_time"?, "waiting_room"?}` — changes a meeting (e.g. a wrong type).
//! * `GET /_sim/participants/{meetingId}`, `PUT` (a JSON array) — the raw
//!   dashboard entries.
//! * `POST /_sim/running/{meetingId}` `{"running": bool}` — start/stop without
//!   events.
//! * `POST /_sim/users` `{"email", "is_contact"?}` — adds a user.
//! * `POST /_sim/channels` `{"id", "name"?}` — adds a Team Chat channel.
//! * `GET /_sim/messages` — accepted messages `[{"user_id", "to_contact",
//!   "to_channel", "message", "id"}]` (DMs have `to_channel` "", channel posts
//!   `to_contact` ""); `POST /_sim/messages/clear`.
//! * `GET /_sim/scopes`, `POST /_sim/scopes` `{"scopes": "a b" | ["a", "b"]}` —
//!   the scopes granted to tokens issued from now on.
//! * `POST /_sim/revoke` — every issued token becomes invalid (401/124).
//! * `POST /_sim/token-ttl` `{"secs"}` — `expires_in` of new tokens.
//! * `POST /_sim/latency` `{"ms"}` — added to every Zoom answer.
//! * `POST /_sim/fault` `{"endpoint", "fault", "sticky"?, "count"?}` — see
//!   [`Fault`] and [`Endpoint`] (names `token`, `meeting`, `dashboard`, `chat`,
//!   `meeting_status`, `user`, `user_meetings`); `POST /_sim/fault/clear`
//!   `{"endpoint"?}`.
//! * `POST /_sim/chat/rate-limit` `{"after": N}` — after N more accepted
//!   messages every chat request answers 429 (`Retry-After: 1`); `{"after":
//!   null}` or a fault clear lifts it.
//! * `POST /_sim/webhook` `{"url"?, "secret"?}` — the webhook target;
//!   `POST /_sim/webhook/send` `{"event", "object"}` — any signed event;
//!   `POST /_sim/webhook/validate` — Zoom's URL validation round trip.
//!
//! ## Fault `Drop`
//! When served through [`Sim::spawn`] / [`Sim::serve`] each connection is
//! wrapped so a handler can kill it: a `Drop` fault closes the TCP connection
//! without writing a single byte of response. When the [`Sim::router`] is served
//! by other code (no connection wrapper available) the sim instead answers with
//! headers announcing a body that never comes, so hyper aborts the connection
//! mid-response (the client sees a truncated/failed response).

// serde_json's `json!` of the full meeting settings object nests deeply.
#![recursion_limit = "256"]

mod admin;
mod conn;
mod demo;
mod meetings;
mod routes;
mod state;
mod types;
mod util;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// RFC 3339 in UTC, second precision, as Zoom formats date-times: the
/// library's formatter (kept under this name for the bench harness).
pub use kitchen::time::format_rfc3339 as rfc3339;
pub use types::{
    EndedMeeting, Endpoint, EntryFields, Fault, JoinSpec, LeaveSpec, MeetingSettings,
    MeetingUpdate, ParticipantEvent, RoomInfo, SentMessage, SimError, Stats, WebhookDelivery,
    dashboard_entry,
};
pub use webhook::sign_webhook;

/// Resolves on Ctrl-C or SIGTERM: how the simulator and the bench harness stop.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub const DEMO_ACCOUNT_ID: &str = "demo-account";
pub const DEMO_CLIENT_ID: &str = "demo-client-id";
pub const DEMO_CLIENT_SECRET: &str = "demo-client-secret";
pub const DEMO_TECH_USER: &str = "kitchen-bot@example.com";
/// The default room's name: `/_sim/join` without a room joins it.
pub const DEFAULT_ROOM: &str = "kitchen";
/// The `kitchen` room's meeting (the configured [`SimConfig::meeting_id`] by default).
pub const DEMO_MEETING_ID: &str = "85746065432";
pub const DEMO_KITCHEN_CHANNEL: &str = "c0ffee00kitchen0channel000000001";
/// The demo's second room.
pub const DEMO_LOUNGE_ROOM: &str = "lounge";
pub const DEMO_LOUNGE_MEETING_ID: &str = "86190237415";
pub const DEMO_LOUNGE_CHANNEL: &str = "c0ffee00lounge00channel000000002";
/// Topic of the default room's meeting.
pub const DEFAULT_TOPIC: &str = "Coffee Kitchen";

/// Scopes granted by default: the granular names of everything the backend
/// calls (ZOOM.md). Set others with [`Sim::set_scopes`] or `POST /_sim/scopes`.
pub const DEMO_SCOPES: [&str; 7] = [
    "meeting:read:meeting:admin",
    "meeting:read:list_meetings:admin",
    "meeting:write:meeting:admin",
    "meeting:update:status:admin",
    "dashboard:read:list_meeting_participants:admin",
    "team_chat:write:user_message:admin",
    "user:read:user:admin",
];

/// Default `expires_in` of issued tokens (what Zoom answers).
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 3599;

/// Configuration of a [`Sim`]. `Default` gives the demo values and no webhook target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimConfig {
    pub account_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// Email of the Zoom user the backend acts as (chat sender, meeting host).
    pub tech_user: String,
    /// The default room's (`kitchen`) meeting: `/_sim/join` without a room joins it.
    pub meeting_id: String,
    pub token_ttl_secs: u64,
    /// Scopes granted to issued tokens (the token response's `scope`).
    pub scopes: Vec<String>,
    /// URL that receives signed Zoom webhooks (join/leave/ended events).
    pub webhook_url: Option<String>,
    /// The app's webhook "secret token" used for `x-zm-signature`.
    pub webhook_secret_token: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            account_id: DEMO_ACCOUNT_ID.to_owned(),
            client_id: DEMO_CLIENT_ID.to_owned(),
            client_secret: DEMO_CLIENT_SECRET.to_owned(),
            tech_user: DEMO_TECH_USER.to_owned(),
            meeting_id: DEMO_MEETING_ID.to_owned(),
            token_ttl_secs: DEFAULT_TOKEN_TTL_SECS,
            scopes: DEMO_SCOPES.map(str::to_owned).to_vec(),
            webhook_url: None,
            webhook_secret_token: None,
        }
    }
}

/// The simulator. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Sim {
    pub(crate) state: Arc<state::State>,
}

/// A running simulator.
pub struct SimHandle {
    pub sim: Sim,
    /// "http://127.0.0.1:PORT"
    pub base_url: String,
}

/// A running simulator is named by its base URL (what `kitchen::testing`'s
/// helpers take).
impl AsRef<str> for SimHandle {
    fn as_ref(&self) -> &str {
        &self.base_url
    }
}

impl SimHandle {
    /// `base_url + "/v2"`
    pub fn api_url(&self) -> String {
        format!("{}/v2", self.base_url)
    }

    /// `base_url + "/oauth/token"`
    pub fn oauth_url(&self) -> String {
        format!("{}/oauth/token", self.base_url)
    }
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("config", &self.state.cfg)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// The demo account: rooms `kitchen` (meeting [`DEMO_MEETING_ID`], channel
    /// [`DEMO_KITCHEN_CHANNEL`]) and `lounge` ([`DEMO_LOUNGE_MEETING_ID`],
    /// [`DEMO_LOUNGE_CHANNEL`]). The kitchen is running with Alice, Bob (rejoined),
    /// Carol in the meeting and Dave (a guest, no email) in the waiting room:
    /// 3 people. The lounge is empty and not running. Users alice, bob, carol and
    /// erin @example.com are chat contacts of the tech user; stranger@example.com
    /// is a user but not a contact.
    pub fn demo() -> Sim {
        let sim = Sim::new(SimConfig::default());
        sim.state.load_demo_data();
        sim
    }

    /// A sim with `cfg`: the default room `kitchen` is its meeting, running with
    /// nobody in it; no channels; the only user is the tech user.
    pub fn new(cfg: SimConfig) -> Sim {
        let state = state::State::new(cfg);
        let id = state.cfg.meeting_id.clone();
        state.add_room(DEFAULT_ROOM, &id, None, DEFAULT_TOPIC);
        Sim {
            state: Arc::new(state),
        }
    }

    /// Binds 127.0.0.1:0 and serves on a tokio task; returns once listening.
    pub async fn spawn(self) -> SimHandle {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("zoom-sim: bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("zoom-sim: local address of a bound listener");
        let sim = self.clone();
        tokio::spawn(async move {
            if let Err(e) = sim.serve(listener).await {
                tracing::error!("zoom-sim server stopped: {e}");
            }
        });
        SimHandle {
            sim: self,
            base_url: format!("http://{addr}"),
        }
    }

    /// Serves on `listener` until the future is dropped or an I/O error occurs.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let app = self
            .router()
            .into_make_service_with_connect_info::<conn::ConnInfo>();
        axum::serve(conn::SimListener::new(listener), app).await
    }

    /// The axum router (Zoom endpoints + `/_sim/` admin endpoints).
    pub fn router(self) -> axum::Router {
        routes::router(self.clone()).merge(admin::router(self))
    }

    /// The configuration the sim was created with (webhook target: see [`Sim::set_webhook_target`]).
    pub fn config(&self) -> SimConfig {
        self.state.cfg.clone()
    }

    // ---- rooms and meetings ----

    /// Adds (or replaces) a room; its meeting is created (not running) if unknown,
    /// and its channel, if any, becomes a known channel.
    pub fn add_room(&self, name: &str, meeting_id: &str, channel: Option<&str>) {
        self.state
            .add_room(name, meeting_id, channel, &format!("Coffee {name}"));
    }

    /// Every room, by name.
    pub fn rooms(&self) -> Vec<RoomInfo> {
        self.state
            .rooms()
            .into_iter()
            .map(|r| {
                let m = self.state.meeting(&r.meeting_id);
                RoomInfo {
                    join_url: util::join_url(&r.meeting_id),
                    topic: m.as_ref().map(|m| m.topic.clone()).unwrap_or_default(),
                    running: m.is_some_and(|m| m.running),
                    room: r.name,
                    meeting_id: r.meeting_id,
                    channel: r.channel,
                }
            })
            .collect()
    }

    /// The meeting id of a room.
    pub fn room_meeting_id(&self, room: &str) -> Option<String> {
        self.state.room(room).map(|r| r.meeting_id)
    }

    /// A Team Chat channel `POST /chat/users/{userId}/messages` accepts as `to_channel`.
    pub fn add_channel(&self, id: &str, name: &str) {
        self.state.add_channel(id, name);
    }

    /// Changes a meeting's type, topic or settings (to test "wrong type flagged").
    /// `false` if the meeting is unknown.
    pub fn update_meeting(&self, meeting_id: &str, update: &MeetingUpdate) -> bool {
        self.state
            .update_meeting(meeting_id, |m| m.apply(update))
            .is_some()
    }

    /// Replaces the dashboard entries of `meeting_id` (created, running, if unknown).
    /// Entries are returned verbatim by the dashboard endpoint.
    pub fn set_participants(&self, meeting_id: &str, participants: Vec<serde_json::Value>) {
        self.state.set_participants(meeting_id, participants);
    }

    /// Current dashboard entries of a meeting (empty if unknown).
    pub fn participants(&self, meeting_id: &str) -> Vec<serde_json::Value> {
        self.state.participants(meeting_id)
    }

    /// Not running: dashboard answers 404/3001 and the meeting's status is "waiting".
    /// Participants are kept. Unknown meetings are created.
    pub fn set_meeting_running(&self, meeting_id: &str, running: bool) {
        self.state.set_running(meeting_id, running);
    }

    /// Ends a running meeting as `PUT /meetings/{id}/status {"action":"end"}` does:
    /// everyone still in it (or waiting) leaves, it stops running, the end is
    /// recorded ([`Sim::ended`]) and `meeting.ended` is delivered (awaited here)
    /// when a webhook target is set.
    pub async fn end_meeting(&self, meeting_id: &str) -> Result<EndedMeeting, SimError> {
        let ended = webhook::end(self, meeting_id)?;
        let mut record = ended.clone();
        if let Some(delivery) = webhook::deliver_ended(self, &ended).await {
            record.webhook = Some(delivery.clone());
            self.state.record_end_webhook(meeting_id, delivery);
        }
        Ok(record)
    }

    /// Meetings ended so far, oldest first.
    pub fn ended(&self) -> Vec<EndedMeeting> {
        self.state.ended()
    }

    // ---- users, scopes and chat ----

    /// A Zoom user of the account, optionally an (approved) chat contact of the tech user.
    pub fn add_user(&self, email: &str, is_contact: bool) {
        self.state.add_user(email, is_contact);
    }

    /// Scopes granted to tokens issued from now on (issued tokens keep theirs:
    /// [`Sim::revoke_tokens`] makes the backend fetch a new one).
    pub fn set_scopes(&self, scopes: Vec<String>) {
        self.state.set_scopes(scopes);
    }

    pub fn scopes(&self) -> Vec<String> {
        self.state.scopes()
    }

    /// Chat messages delivered so far (direct messages and channel posts), oldest first.
    pub fn messages(&self) -> Vec<SentMessage> {
        self.state.messages()
    }

    pub fn clear_messages(&self) {
        self.state.clear_messages();
    }

    /// Print `[zoom-sim] chat to <email or channel>: <message>` on stdout for each delivered message.
    pub fn set_echo_messages(&self, on: bool) {
        self.state.set_echo(on);
    }

    /// After `sends` more accepted chat messages, every chat request answers 429
    /// (Medium, `Retry-After: 1`) until cleared with `None` (or a fault clear):
    /// "a 429 part-way".
    pub fn rate_limit_chat_after(&self, sends: Option<u64>) {
        self.state.set_chat_budget(sends);
    }

    // ---- faults ----

    /// Queued for the next request to `ep` (FIFO; queued faults win over a sticky one).
    pub fn push_fault(&self, ep: Endpoint, fault: Fault) {
        self.state.push_fault(ep, fault);
    }

    /// Applies to every request to `ep` until cleared with `None`.
    pub fn set_sticky_fault(&self, ep: Endpoint, fault: Option<Fault>) {
        self.state.set_sticky_fault(ep, fault);
    }

    /// Removes queued and sticky faults (and the chat rate limit) of `ep`, or of every endpoint if `None`.
    pub fn clear_faults(&self, ep: Option<Endpoint>) {
        self.state.clear_faults(ep);
    }

    /// Every issued token becomes invalid (401 code 124).
    pub fn revoke_tokens(&self) {
        self.state.revoke_tokens();
    }

    /// `expires_in` of tokens issued from now on; they really expire after that.
    pub fn set_token_ttl(&self, secs: u64) {
        self.state.set_token_ttl(secs);
    }

    /// Added to every Zoom-endpoint response (not to `/_sim/` admin calls).
    pub fn set_latency(&self, d: Duration) {
        self.state.set_latency(d);
    }

    // ---- counters ----

    pub fn stats(&self) -> Stats {
        self.state.stats.snapshot()
    }

    pub fn reset_stats(&self) {
        self.state.stats.reset();
    }

    // ---- webhooks ----

    /// Where webhooks go and the secret token that signs them.
    /// A URL without a secret is signed with an empty secret.
    pub fn set_webhook_target(&self, url: Option<String>, secret: Option<String>) {
        self.state.set_webhook_target(url, secret);
    }

    /// Adds a live participant to a room or meeting (rejoin keeps their
    /// `participant_uuid`), starts the meeting, and delivers
    /// `meeting.participant_joined` (or `meeting.participant_joined_waiting_room`)
    /// if a webhook target is set.
    pub async fn join(&self, spec: JoinSpec) -> Result<ParticipantEvent, SimError> {
        webhook::join(self, spec).await
    }

    /// Sets `leave_time` on the newest open entry matching name/email and delivers
    /// `meeting.participant_left` (or `..._left_waiting_room`).
    pub async fn leave(&self, spec: LeaveSpec) -> Result<ParticipantEvent, SimError> {
        webhook::leave(self, spec).await
    }

    /// Delivers any signed event `{"event", "event_ts", "payload": {"account_id", "object"}}`
    /// to the webhook target. `None` if no target is configured.
    pub async fn deliver_webhook(
        &self,
        event: &str,
        object: serde_json::Value,
    ) -> Option<WebhookDelivery> {
        webhook::deliver_event(self, event, object).await
    }

    /// Sends Zoom's `endpoint.url_validation` challenge to the webhook target and
    /// checks the answer. `Ok(())` when `encryptedToken` is right.
    pub async fn validate_webhook_endpoint(&self) -> Result<(), String> {
        webhook::validate_endpoint(self).await
    }

    /// The meeting a join/leave names: its `meeting_id`, else its room's, else the default.
    pub(crate) fn target_meeting(
        &self,
        room: Option<&str>,
        meeting_id: Option<&str>,
    ) -> Result<String, SimError> {
        match (room, meeting_id) {
            (Some(_), Some(_)) => Err(SimError::RoomAndMeeting),
            (None, Some(id)) => Ok(id.to_owned()),
            (Some(r), None) => self
                .room_meeting_id(r)
                .ok_or_else(|| SimError::UnknownRoom(r.to_owned())),
            (None, None) => Ok(self.state.cfg.meeting_id.clone()),
        }
    }
}
