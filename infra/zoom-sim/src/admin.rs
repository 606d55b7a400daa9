//! The `/_sim/` admin endpoints (documented in the crate docs).

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::routes::json_response;
use crate::{Endpoint, Fault, JoinSpec, LeaveSpec, MeetingUpdate, Sim, SimError};

pub(crate) fn router(sim: Sim) -> Router {
    Router::new()
        .route("/_sim/health", get(admin_health))
        .route("/_sim/stats", get(admin_stats))
        .route("/_sim/stats/reset", post(admin_stats_reset))
        .route("/_sim/messages", get(admin_messages))
        .route("/_sim/messages/clear", post(admin_messages_clear))
        .route("/_sim/fault", post(admin_fault))
        .route("/_sim/fault/clear", post(admin_fault_clear))
        .route("/_sim/chat/rate-limit", post(admin_chat_rate_limit))
        .route("/_sim/revoke", post(admin_revoke))
        .route("/_sim/token-ttl", post(admin_token_ttl))
        .route("/_sim/scopes", get(admin_scopes_get).post(admin_scopes_set))
        .route("/_sim/latency", post(admin_latency))
        .route("/_sim/rooms", get(admin_rooms))
        .route("/_sim/channels", post(admin_channels))
        .route("/_sim/meetings/{meeting_id}", post(admin_meeting_update))
        .route(
            "/_sim/participants/{meeting_id}",
            get(admin_participants_get).put(admin_participants_put),
        )
        .route("/_sim/running/{meeting_id}", post(admin_running))
        .route("/_sim/end", post(admin_end))
        .route("/_sim/ended", get(admin_ended))
        .route("/_sim/users", post(admin_users))
        .route("/_sim/join", post(admin_join))
        .route("/_sim/leave", post(admin_leave))
        .route("/_sim/webhook", post(admin_webhook_target))
        .route("/_sim/webhook/send", post(admin_webhook_send))
        .route("/_sim/webhook/validate", post(admin_webhook_validate))
        .with_state(sim)
}

fn admin_error(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, json!({"error": message.into()}))
}

fn ok() -> Response {
    json_response(StatusCode::OK, json!({"ok": true}))
}

/// A bad admin request body (answered 400 `{"error": ...}`).
struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        admin_error(StatusCode::BAD_REQUEST, self.0)
    }
}

/// Parses an admin JSON body; an empty body is parsed as `{}`.
fn parse_admin<T: DeserializeOwned>(body: &Bytes) -> Result<T, BadRequest> {
    let raw: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(raw).map_err(|e| BadRequest(format!("invalid JSON body: {e}")))
}

async fn admin_health() -> Response {
    ok()
}

async fn admin_stats(State(sim): State<Sim>) -> Response {
    json_response(StatusCode::OK, json!(sim.stats()))
}

async fn admin_stats_reset(State(sim): State<Sim>) -> Response {
    sim.reset_stats();
    ok()
}

async fn admin_messages(State(sim): State<Sim>) -> Response {
    json_response(StatusCode::OK, json!(sim.messages()))
}

async fn admin_messages_clear(State(sim): State<Sim>) -> Response {
    sim.clear_messages();
    ok()
}

#[derive(Deserialize)]
struct FaultBody {
    endpoint: Endpoint,
    #[serde(default)]
    fault: Option<Fault>,
    #[serde(default)]
    sticky: bool,
    /// Push the fault this many times (non-sticky only). Default 1.
    #[serde(default)]
    count: Option<u32>,
}

async fn admin_fault(State(sim): State<Sim>, body: Bytes) -> Response {
    let req: FaultBody = match parse_admin(&body) {
        Ok(r) => r,
        Err(bad) => return bad.into_response(),
    };
    if let Some(Fault::Status { status, .. }) = &req.fault
        && StatusCode::from_u16(*status).is_err()
    {
        return admin_error(StatusCode::BAD_REQUEST, format!("invalid status {status}"));
    }
    match (req.sticky, req.fault) {
        (true, fault) => sim.set_sticky_fault(req.endpoint, fault),
        (false, Some(fault)) => {
            for _ in 0..req.count.unwrap_or(1) {
                sim.push_fault(req.endpoint, fault.clone());
            }
        }
        (false, None) => {
            return admin_error(
                StatusCode::BAD_REQUEST,
                "\"fault\" is required unless \"sticky\" is true (null clears the sticky fault)",
            );
        }
    }
    ok()
}

#[derive(Deserialize)]
struct ClearBody {
    #[serde(default)]
    endpoint: Option<Endpoint>,
}

async fn admin_fault_clear(State(sim): State<Sim>, body: Bytes) -> Response {
    match parse_admin::<ClearBody>(&body) {
        Ok(req) => {
            sim.clear_faults(req.endpoint);
            ok()
        }
        Err(bad) => bad.into_response(),
    }
}

async fn admin_revoke(State(sim): State<Sim>) -> Response {
    sim.revoke_tokens();
    ok()
}

#[derive(Deserialize)]
struct TtlBody {
    secs: u64,
}

async fn admin_token_ttl(State(sim): State<Sim>, body: Bytes) -> Response {
    match parse_admin::<TtlBody>(&body) {
        Ok(req) => {
            sim.set_token_ttl(req.secs);
            ok()
        }
        Err(bad) => bad.into_response(),
    }
}

#[derive(Deserialize)]
struct LatencyBody {
    ms: u64,
}

async fn admin_latency(State(sim): State<Sim>, body: Bytes) -> Response {
    match parse_admin::<LatencyBody>(&body) {
        Ok(req) => {
            sim.set_latency(Duration::from_millis(req.ms));
            ok()
        }
        Err(bad) => bad.into_response(),
    }
}

async fn admin_participants_get(
    State(sim): State<Sim>,
    Path(meeting_id): Path<String>,
) -> Response {
    json_response(StatusCode::OK, json!(sim.participants(&meeting_id)))
}

async fn admin_participants_put(
    State(sim): State<Sim>,
    Path(meeting_id): Path<String>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<Vec<Value>>(&body) {
        Ok(entries) => {
            sim.set_participants(&meeting_id, entries);
            ok()
        }
        Err(e) => admin_error(
            StatusCode::BAD_REQUEST,
            format!("body must be a JSON array of participant entries: {e}"),
        ),
    }
}

#[derive(Deserialize)]
struct RunningBody {
    running: bool,
}

async fn admin_running(
    State(sim): State<Sim>,
    Path(meeting_id): Path<String>,
    body: Bytes,
) -> Response {
    match parse_admin::<RunningBody>(&body) {
        Ok(req) => {
            sim.set_meeting_running(&meeting_id, req.running);
            ok()
        }
        Err(bad) => bad.into_response(),
    }
}

#[derive(Deserialize)]
struct UserBody {
    email: String,
    #[serde(default)]
    is_contact: bool,
}

async fn admin_users(State(sim): State<Sim>, body: Bytes) -> Response {
    match parse_admin::<UserBody>(&body) {
        Ok(req) => {
            sim.add_user(&req.email, req.is_contact);
            ok()
        }
        Err(bad) => bad.into_response(),
    }
}

fn sim_error(e: &SimError) -> Response {
    let status = match e {
        SimError::RoomAndMeeting => StatusCode::BAD_REQUEST,
        SimError::NotRunning(_) => StatusCode::CONFLICT,
        _ => StatusCode::NOT_FOUND,
    };
    admin_error(status, e.to_string())
}

async fn admin_join(State(sim): State<Sim>, body: Bytes) -> Response {
    let spec: JoinSpec = match parse_admin(&body) {
        Ok(s) => s,
        Err(bad) => return bad.into_response(),
    };
    if spec.name.trim().is_empty() {
        return admin_error(StatusCode::BAD_REQUEST, "\"name\" is required");
    }
    match sim.join(spec).await {
        Ok(event) => json_response(StatusCode::OK, json!(event)),
        Err(e) => sim_error(&e),
    }
}

async fn admin_leave(State(sim): State<Sim>, body: Bytes) -> Response {
    let spec: LeaveSpec = match parse_admin(&body) {
        Ok(s) => s,
        Err(bad) => return bad.into_response(),
    };
    if spec.name.is_none() && spec.email.is_none() {
        return admin_error(StatusCode::BAD_REQUEST, "\"name\" or \"email\" is required");
    }
    match sim.leave(spec).await {
        Ok(event) => json_response(StatusCode::OK, json!(event)),
        Err(e) => sim_error(&e),
    }
}

async fn admin_rooms(State(sim): State<Sim>) -> Response {
    json_response(StatusCode::OK, json!(sim.rooms()))
}

async fn admin_meeting_update(
    State(sim): State<Sim>,
    Path(meeting_id): Path<String>,
    body: Bytes,
) -> Response {
    let update: MeetingUpdate = match parse_admin(&body) {
        Ok(u) => u,
        Err(bad) => return bad.into_response(),
    };
    if sim.update_meeting(&meeting_id, &update) {
        ok()
    } else {
        sim_error(&SimError::UnknownMeeting(meeting_id))
    }
}

#[derive(Deserialize)]
struct EndBody {
    #[serde(default)]
    room: Option<String>,
    #[serde(default)]
    meeting_id: Option<String>,
}

async fn admin_end(State(sim): State<Sim>, body: Bytes) -> Response {
    let req: EndBody = match parse_admin(&body) {
        Ok(r) => r,
        Err(bad) => return bad.into_response(),
    };
    let id = match sim.target_meeting(req.room.as_deref(), req.meeting_id.as_deref()) {
        Ok(id) => id,
        Err(e) => return sim_error(&e),
    };
    match sim.end_meeting(&id).await {
        Ok(ended) => json_response(StatusCode::OK, json!(ended)),
        Err(e) => sim_error(&e),
    }
}

async fn admin_ended(State(sim): State<Sim>) -> Response {
    json_response(StatusCode::OK, json!(sim.ended()))
}

/// `{"scopes": "a b"}` or `{"scopes": ["a", "b"]}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeList {
    Text(String),
    List(Vec<String>),
}

#[derive(Deserialize)]
struct ScopesBody {
    scopes: ScopeList,
}

async fn admin_scopes_get(State(sim): State<Sim>) -> Response {
    json_response(StatusCode::OK, json!({"scopes": sim.scopes()}))
}

async fn admin_scopes_set(State(sim): State<Sim>, body: Bytes) -> Response {
    let req: ScopesBody = match parse_admin(&body) {
        Ok(r) => r,
        Err(bad) => return bad.into_response(),
    };
    let scopes = match req.scopes {
        ScopeList::Text(t) => t.split_whitespace().map(str::to_owned).collect(),
        ScopeList::List(l) => l,
    };
    sim.set_scopes(scopes);
    ok()
}

#[derive(Deserialize)]
struct ChannelBody {
    id: String,
    #[serde(default)]
    name: String,
}

async fn admin_channels(State(sim): State<Sim>, body: Bytes) -> Response {
    match parse_admin::<ChannelBody>(&body) {
        Ok(req) if !req.id.trim().is_empty() => {
            sim.add_channel(req.id.trim(), &req.name);
            ok()
        }
        Ok(_) => admin_error(StatusCode::BAD_REQUEST, "\"id\" is required"),
        Err(bad) => bad.into_response(),
    }
}

#[derive(Deserialize)]
struct ChatLimitBody {
    #[serde(default)]
    after: Option<u64>,
}

async fn admin_chat_rate_limit(State(sim): State<Sim>, body: Bytes) -> Response {
    match parse_admin::<ChatLimitBody>(&body) {
        Ok(req) => {
            sim.rate_limit_chat_after(req.after);
            ok()
        }
        Err(bad) => bad.into_response(),
    }
}

#[derive(Deserialize)]
struct WebhookTargetBody {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    secret: Option<String>,
}

async fn admin_webhook_target(State(sim): State<Sim>, body: Bytes) -> Response {
    match parse_admin::<WebhookTargetBody>(&body) {
        Ok(req) => {
            sim.set_webhook_target(req.url, req.secret);
            ok()
        }
        Err(bad) => bad.into_response(),
    }
}

#[derive(Deserialize)]
struct WebhookSendBody {
    event: String,
    #[serde(default)]
    object: Value,
}

async fn admin_webhook_send(State(sim): State<Sim>, body: Bytes) -> Response {
    let req: WebhookSendBody = match parse_admin(&body) {
        Ok(r) => r,
        Err(bad) => return bad.into_response(),
    };
    match sim.deliver_webhook(&req.event, req.object).await {
        Some(delivery) => json_response(StatusCode::OK, json!(delivery)),
        None => admin_error(StatusCode::CONFLICT, "no webhook target configured"),
    }
}

async fn admin_webhook_validate(State(sim): State<Sim>) -> Response {
    match sim.validate_webhook_endpoint().await {
        Ok(()) => ok(),
        Err(e) => json_response(StatusCode::OK, json!({"ok": false, "error": e})),
    }
}
