//! A local HTTP server that answers like Zoom for the endpoints the
//! coffee-kitchen backend uses:
//!
//! * `POST /oauth/token` (Server-to-Server OAuth, `account_credentials`),
//! * `GET /v2/meetings/{meetingId}`,
//! * `GET /v2/metrics/meetings/{meetingId}/participants` (dashboard, live),
//! * `POST /v2/chat/users/{userId}/messages`,
//!
//! plus admin endpoints under `/_sim/` (stats, fault injection, data, webhook
//! delivery). Use it in-process from tests ([`Sim::spawn`]) or run the
//! `zoom-sim` binary.
//!
//! Response shapes follow Zoom's OpenAPI specs; error bodies are
//! `{"code": int, "message": str}` (OAuth errors: `{"reason", "error"}`).
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

mod conn;
mod routes;
mod state;
mod util;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use util::rfc3339;
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

pub const DEMO_ACCOUNT_ID: &str = "demo-account";
pub const DEMO_CLIENT_ID: &str = "demo-client-id";
pub const DEMO_CLIENT_SECRET: &str = "demo-client-secret";
pub const DEMO_TECH_USER: &str = "kitchen-bot@example.com";
pub const DEMO_MEETING_ID: &str = "85746065432";

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
    /// The kitchen's permanent meeting (the "demo room" for `/_sim/join`).
    pub meeting_id: String,
    pub token_ttl_secs: u64,
    /// `http://` URL that receives signed Zoom webhooks (join/leave events).
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
            webhook_url: None,
            webhook_secret_token: None,
        }
    }
}

/// The simulated endpoints that can be counted and faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    Token,
    Meeting,
    Dashboard,
    Chat,
}

impl Endpoint {
    pub const ALL: [Endpoint; 4] = [
        Endpoint::Token,
        Endpoint::Meeting,
        Endpoint::Dashboard,
        Endpoint::Chat,
    ];
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
    pub chat_delivered: u64,
    /// API (`/v2`) calls answered 401.
    pub unauthorized: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
    pub handler_nanos_total: u64,
    pub handled: u64,
    /// Webhook deliveries answered 2xx.
    pub webhooks_sent: u64,
}

/// A chat message the sim accepted (201).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessage {
    /// The `{userId}` path segment as the caller sent it.
    pub user_id: String,
    /// `to_contact` as the caller sent it.
    pub to_contact: String,
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
    /// Default: the configured meeting.
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
    #[serde(default)]
    pub meeting_id: Option<String>,
}

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
    /// Demo account: meeting [`DEMO_MEETING_ID`] running with Alice, Bob (rejoined),
    /// Carol in the meeting and Dave in the waiting room (live count 3); users
    /// alice/bob/carol@example.com (chat contacts) and stranger@example.com (not a contact).
    pub fn demo() -> Sim {
        let sim = Sim::new(SimConfig::default());
        sim.state.load_demo_data();
        sim
    }

    /// A sim with `cfg`: its meeting exists and is running with no participants;
    /// the only user is the tech user.
    pub fn new(cfg: SimConfig) -> Sim {
        Sim {
            state: Arc::new(state::State::new(cfg)),
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
        routes::router(self)
    }

    /// The configuration the sim was created with (webhook target: see [`Sim::set_webhook_target`]).
    pub fn config(&self) -> SimConfig {
        self.state.cfg.clone()
    }

    // ---- data ----

    /// Replaces the dashboard entries of `meeting_id` (created, running, if unknown).
    /// Entries are returned verbatim by the dashboard endpoint.
    pub fn set_participants(&self, meeting_id: &str, participants: Vec<serde_json::Value>) {
        self.state.set_participants(meeting_id, participants);
    }

    /// Current dashboard entries of a meeting (empty if unknown).
    pub fn participants(&self, meeting_id: &str) -> Vec<serde_json::Value> {
        self.state.participants(meeting_id)
    }

    /// A Zoom user of the account, optionally an (approved) chat contact of the tech user.
    pub fn add_user(&self, email: &str, is_contact: bool) {
        self.state.add_user(email, is_contact);
    }

    /// Not running: dashboard answers 404/3001 and the meeting's status is "waiting".
    /// Participants are kept. Unknown meetings are created.
    pub fn set_meeting_running(&self, meeting_id: &str, running: bool) {
        self.state.set_running(meeting_id, running);
    }

    /// Chat messages delivered so far, oldest first.
    pub fn messages(&self) -> Vec<SentMessage> {
        self.state.messages()
    }

    pub fn clear_messages(&self) {
        self.state.clear_messages();
    }

    /// Print `[zoom-sim] chat to <email>: <message>` on stdout for each delivered message.
    pub fn set_echo_messages(&self, on: bool) {
        self.state.set_echo(on);
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

    /// Removes queued and sticky faults of `ep`, or of every endpoint if `None`.
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

    /// Where join/leave webhooks go (`http://` only) and the secret token that signs them.
    /// A URL without a secret is signed with an empty secret.
    pub fn set_webhook_target(&self, url: Option<String>, secret: Option<String>) {
        self.state.set_webhook_target(url, secret);
    }

    /// Adds a live participant (rejoin keeps their `participant_uuid`), starts the
    /// meeting, and delivers `meeting.participant_joined` (or
    /// `meeting.participant_joined_waiting_room`) if a webhook target is set.
    pub async fn join(&self, spec: JoinSpec) -> ParticipantEvent {
        webhook::join(self, spec).await
    }

    /// Sets `leave_time` on the newest open entry matching name/email and delivers
    /// `meeting.participant_left` (or `..._left_waiting_room`). `None` if nobody matched.
    pub async fn leave(&self, spec: LeaveSpec) -> Option<ParticipantEvent> {
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
}
