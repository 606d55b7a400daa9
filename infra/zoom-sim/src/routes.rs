//! HTTP routes: the simulated Zoom endpoints and the `/_sim/` admin endpoints.

use std::convert::Infallible;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::conn::ConnInfo;
use crate::state::{Meeting, Recipient};
use crate::util;
use crate::{Endpoint, Fault, JoinSpec, LeaveSpec, SentMessage, Sim};

/// How long a `Hang` fault sleeps before giving up.
const HANG: Duration = Duration::from_secs(3600);
/// Dashboard page tokens expire after 15 minutes, as Zoom documents.
const PAGE_TOKEN_TTL_SECS: u64 = 15 * 60;
const MAX_PAGE_SIZE: usize = 300;
const DEFAULT_PAGE_SIZE: usize = 30;
const MAX_MESSAGE_CHARS: usize = 1024;
const SCOPE: &str = "meeting:read:admin dashboard_meetings:read:admin chat_message:write:admin";
const RATE_LIMIT_MESSAGE: &str =
    "You have reached the maximum per-second rate limit for this API. Try again later.";
pub(crate) const TOPIC: &str = "Coffee Kitchen";
pub(crate) const TIMEZONE: &str = "Europe/Berlin";

pub(crate) fn router(sim: Sim) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/v2/meetings/{meeting_id}", get(meeting))
        .route(
            "/v2/metrics/meetings/{meeting_id}/participants",
            get(dashboard),
        )
        .route("/v2/chat/users/{user_id}/messages", post(chat))
        .route("/_sim/health", get(admin_health))
        .route("/_sim/stats", get(admin_stats))
        .route("/_sim/stats/reset", post(admin_stats_reset))
        .route("/_sim/messages", get(admin_messages))
        .route("/_sim/messages/clear", post(admin_messages_clear))
        .route("/_sim/fault", post(admin_fault))
        .route("/_sim/fault/clear", post(admin_fault_clear))
        .route("/_sim/revoke", post(admin_revoke))
        .route("/_sim/token-ttl", post(admin_token_ttl))
        .route("/_sim/latency", post(admin_latency))
        .route(
            "/_sim/participants/{meeting_id}",
            get(admin_participants_get).put(admin_participants_put),
        )
        .route("/_sim/running/{meeting_id}", post(admin_running))
        .route("/_sim/users", post(admin_users))
        .route("/_sim/join", post(admin_join))
        .route("/_sim/leave", post(admin_leave))
        .route("/_sim/webhook", post(admin_webhook_target))
        .route("/_sim/webhook/send", post(admin_webhook_send))
        .route("/_sim/webhook/validate", post(admin_webhook_validate))
        .fallback(not_found)
        .with_state(sim)
}

// ---------------------------------------------------------------------------
// helpers

/// The connection the request came on, when served by `Sim::serve`/`spawn`.
pub(crate) struct Conn(Option<ConnInfo>);

impl<S: Send + Sync> FromRequestParts<S> for Conn {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Conn(
            parts
                .extensions
                .get::<ConnectInfo<ConnInfo>>()
                .map(|c| c.0.clone()),
        ))
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Zoom's API error body `{"code", "message"}`.
fn zoom_error(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    json_response(status, json!({"code": code, "message": message.into()}))
}

fn invalid_field(message: impl Into<String>) -> Response {
    zoom_error(StatusCode::BAD_REQUEST, 300, message)
}

fn invalid_token() -> Response {
    zoom_error(StatusCode::UNAUTHORIZED, 124, "Invalid access token.")
}

fn oauth_error(error: &str, reason: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({"reason": reason, "error": error}),
    )
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

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn query_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn auth_param<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (s, rest) = value.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// Answers without answering: see the crate docs on `Fault::Drop`.
fn drop_connection(conn: Conn) -> Response {
    match conn.0 {
        Some(info) => {
            tracing::debug!("zoom-sim: dropping connection from {}", info.remote);
            info.kill();
            // Never written: the connection fails on the first write.
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        None => {
            // No connection handle (router served by foreign code): announce a
            // body that never comes, so hyper aborts the connection mid-response.
            // (A streamed body has no exact size, so hyper keeps our Content-Length.)
            let mut resp = Response::new(Body::from_stream(Body::empty().into_data_stream()));
            *resp.status_mut() = StatusCode::OK;
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from_static("1048576"));
            resp
        }
    }
}

fn rate_limit_response(ep: Endpoint, retry_after: Option<&str>) -> Response {
    let mut resp = zoom_error(StatusCode::TOO_MANY_REQUESTS, 429, RATE_LIMIT_MESSAGE);
    let headers = resp.headers_mut();
    let category = match ep {
        Endpoint::Token | Endpoint::Meeting => "Light",
        Endpoint::Chat => "Medium",
        Endpoint::Dashboard => "Heavy",
    };
    headers.insert("x-ratelimit-category", HeaderValue::from_static(category));
    let daily = retry_after.is_some_and(|r| r.trim().parse::<u64>().is_err());
    headers.insert(
        "x-ratelimit-type",
        HeaderValue::from_static(if daily { "Daily-limit" } else { "QPS" }),
    );
    if let Some(value) = retry_after.and_then(|r| HeaderValue::from_str(r).ok()) {
        headers.insert(RETRY_AFTER, value);
    }
    resp
}

fn status_fault_response(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = if body.is_null() {
        json!({
            "code": status.as_u16(),
            "message": status.canonical_reason().unwrap_or("Error"),
        })
    } else {
        body
    };
    json_response(status, body)
}

/// Common wrapper of the four Zoom endpoints: count, fault, auth, handle,
/// record timing, add latency.
async fn zoom_call(
    sim: &Sim,
    ep: Endpoint,
    conn: Conn,
    headers: &HeaderMap,
    handle: impl FnOnce(&Sim) -> Response,
) -> Response {
    let st = &sim.state;
    st.stats.count_request(ep);
    let started = Instant::now();
    let fault = st.take_fault(ep);
    let mut busy = started.elapsed();
    let mut answer = None;
    match fault {
        None => {}
        Some(Fault::Delay { ms }) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(Fault::Hang) => {
            tokio::time::sleep(HANG).await;
            return zoom_error(StatusCode::GATEWAY_TIMEOUT, 504, "zoom-sim: hang elapsed");
        }
        Some(Fault::Drop) => return drop_connection(conn),
        Some(Fault::Status { status, body }) => answer = Some(status_fault_response(status, body)),
        Some(Fault::RateLimit { retry_after }) => {
            answer = Some(rate_limit_response(ep, retry_after.as_deref()));
        }
    }
    let t = Instant::now();
    let resp = match answer {
        Some(r) => r,
        None if ep != Endpoint::Token && !authorized(sim, headers) => invalid_token(),
        None => handle(sim),
    };
    busy += t.elapsed();
    if ep != Endpoint::Token && resp.status() == StatusCode::UNAUTHORIZED {
        st.stats.count_unauthorized();
    }
    if resp.status() == StatusCode::TOO_MANY_REQUESTS {
        st.stats.count_rate_limited();
    }
    st.stats.record_handled(busy);
    let latency = st.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    resp
}

fn authorized(sim: &Sim, headers: &HeaderMap) -> bool {
    auth_param(headers, "Bearer").is_some_and(|t| sim.state.token_valid(t))
}

// ---------------------------------------------------------------------------
// OAuth

async fn token(
    State(sim): State<Sim>,
    conn: Conn,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    zoom_call(&sim, Endpoint::Token, conn, &headers, |sim| {
        issue_token(sim, &headers, &uri, &body)
    })
    .await
}

fn issue_token(sim: &Sim, headers: &HeaderMap, uri: &Uri, body: &Bytes) -> Response {
    let cfg = &sim.state.cfg;
    let credentials = auth_param(headers, "Basic")
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let credentials_ok = credentials
        .as_deref()
        .and_then(|c| c.split_once(':'))
        .is_some_and(|(id, secret)| id == cfg.client_id && secret == cfg.client_secret);
    if !credentials_ok {
        return oauth_error("invalid_client", "Invalid client_id or client_secret");
    }
    // Parameters in the query string (documented) or a form body (also accepted by Zoom).
    let mut params = query_pairs(uri);
    params.extend(form_urlencoded::parse(body).into_owned());
    match query_get(&params, "grant_type") {
        Some("account_credentials") => {}
        Some(_) => return oauth_error("invalid_request", "Unsupported grant_type"),
        None => return oauth_error("invalid_request", "Missing grant_type"),
    }
    if query_get(&params, "account_id") != Some(cfg.account_id.as_str()) {
        return oauth_error("invalid_request", "Invalid account_id");
    }
    let ttl = sim.state.token_ttl();
    let access_token = new_access_token(sim, ttl);
    sim.state.store_token(access_token.clone(), ttl);
    json_response(
        StatusCode::OK,
        json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": ttl,
            "scope": SCOPE,
            "api_url": "https://api.zoom.us",
        }),
    )
}

/// A JWT-shaped token like Zoom's; its random `jti` and signature make it unguessable.
fn new_access_token(sim: &Sim, ttl: u64) -> String {
    let cfg = &sim.state.cfg;
    let iat = util::unix_secs(SystemTime::now());
    let header = json!({"alg": "HS512", "v": "2.0", "kid": util::uuid_v4()});
    let payload = json!({
        "aud": "https://oauth.zoom.us",
        "uid": sim.state.tech_user_id(),
        "ver": 10,
        "auid": util::random_b64url::<24>(),
        "nbf": iat,
        "code": util::random_b64url::<24>(),
        "iss": format!("zm:cid:{}", cfg.client_id),
        "gno": 0,
        "exp": iat.saturating_add(ttl),
        "type": 3,
        "iat": iat,
        "aid": cfg.account_id,
        "jti": util::uuid_v4(),
    });
    format!(
        "{}.{}.{}",
        util::b64url(header.to_string().as_bytes()),
        util::b64url(payload.to_string().as_bytes()),
        util::random_b64url::<64>()
    )
}

// ---------------------------------------------------------------------------
// GET /v2/meetings/{meetingId}

async fn meeting(
    State(sim): State<Sim>,
    conn: Conn,
    headers: HeaderMap,
    Path(meeting_id): Path<String>,
) -> Response {
    zoom_call(&sim, Endpoint::Meeting, conn, &headers, |sim| {
        match sim.state.meeting(&meeting_id) {
            Some(m) => json_response(StatusCode::OK, meeting_json(sim, &m)),
            None => zoom_error(
                StatusCode::NOT_FOUND,
                3001,
                format!("Meeting does not exist: {meeting_id}."),
            ),
        }
    })
    .await
}

fn meeting_id_value(id: &str) -> Value {
    id.parse::<i64>().map_or_else(|_| json!(id), |n| json!(n))
}

pub(crate) fn meeting_json(sim: &Sim, m: &Meeting) -> Value {
    let cfg = &sim.state.cfg;
    let id = &m.id;
    let pwd = util::stable_alnum("pwd", id, 32);
    let zak = util::stable_alnum("zak", id, 40);
    json!({
        "uuid": m.uuid,
        "id": meeting_id_value(id),
        "host_id": sim.state.tech_user_id(),
        "host_email": cfg.tech_user,
        "assistant_id": "",
        "topic": TOPIC,
        "type": 3,
        "status": if m.running { "started" } else { "waiting" },
        "timezone": TIMEZONE,
        "agenda": "Drop in for a coffee.",
        "created_at": util::rfc3339(sim.state.created),
        "start_url": format!("https://us02web.zoom.us/s/{id}?zak={zak}"),
        "join_url": format!("https://us02web.zoom.us/j/{id}?pwd={pwd}"),
        "password": "coffee",
        "h323_password": "264833",
        "pstn_password": "264833",
        "encrypted_password": pwd,
        "pre_schedule": false,
        "creation_source": "open_api",
        "settings": meeting_settings(),
    })
}

fn meeting_settings() -> Value {
    json!({
        "host_video": false,
        "participant_video": true,
        "cn_meeting": false,
        "in_meeting": false,
        "join_before_host": true,
        "jbh_time": 0,
        "mute_upon_entry": true,
        "watermark": false,
        "use_pmi": false,
        "approval_type": 2,
        "audio": "voip",
        "auto_recording": "none",
        "enforce_login": false,
        "enforce_login_domains": "",
        "alternative_hosts": "",
        "alternative_hosts_email_notification": true,
        "alternative_host_update_polls": false,
        "close_registration": false,
        "show_share_button": false,
        "allow_multiple_devices": true,
        "registrants_confirmation_email": true,
        "waiting_room": true,
        "waiting_room_options": {
            "mode": "custom",
            "who_goes_to_waiting_room": "users_not_in_account",
        },
        "request_permission_to_unmute_participants": false,
        "global_dial_in_countries": ["DE"],
        "global_dial_in_numbers": [],
        "registrants_email_notification": true,
        "meeting_authentication": false,
        "encryption_type": "enhanced_encryption",
        "approved_or_denied_countries_or_regions": {"enable": false},
        "breakout_room": {"enable": false},
        "internal_meeting": false,
        "continuous_meeting_chat": {
            "enable": false,
            "auto_add_invited_external_users": false,
            "auto_add_meeting_participants": false,
        },
        "participant_focused_meeting": false,
        "push_change_to_calendar": false,
        "auto_start_meeting_summary": false,
        "auto_start_ai_companion_questions": false,
        "device_testing": false,
        "email_notification": true,
        "show_join_info": false,
        "host_save_video_order": false,
        "sign_language_interpretation": {"enable": false},
        "email_in_attendee_report": false,
        "focus_mode": false,
        "private_meeting": false,
    })
}

// ---------------------------------------------------------------------------
// GET /v2/metrics/meetings/{meetingId}/participants

async fn dashboard(
    State(sim): State<Sim>,
    conn: Conn,
    headers: HeaderMap,
    uri: Uri,
    Path(meeting_id): Path<String>,
) -> Response {
    zoom_call(&sim, Endpoint::Dashboard, conn, &headers, |sim| {
        dashboard_page(sim, &meeting_id, &uri)
    })
    .await
}

fn meeting_not_live() -> Response {
    zoom_error(
        StatusCode::NOT_FOUND,
        3001,
        "Meeting ID is invalid or has not ended.",
    )
}

fn dashboard_page(sim: &Sim, meeting_id: &str, uri: &Uri) -> Response {
    let q = query_pairs(uri);
    match query_get(&q, "type") {
        None | Some("live") => {}
        // Only live data exists in the sim.
        Some("past" | "pastOne") => return meeting_not_live(),
        Some(other) => return invalid_field(format!("Invalid field: type '{other}'.")),
    }
    let page_size = match query_get(&q, "page_size").map(str::trim) {
        None | Some("") => DEFAULT_PAGE_SIZE,
        Some(s) => match s.parse::<usize>() {
            Ok(0) => DEFAULT_PAGE_SIZE,
            Ok(n) if n <= MAX_PAGE_SIZE => n,
            Ok(_) => return invalid_field("Invalid field: page_size. The maximum is 300."),
            Err(_) => return invalid_field("Invalid field: page_size."),
        },
    };
    let Some(m) = sim.state.meeting(meeting_id).filter(|m| m.running) else {
        return meeting_not_live();
    };
    let offset = match query_get(&q, "next_page_token") {
        None | Some("") => 0,
        Some(t) => match decode_page_token(t, &m.id) {
            Some(o) => o,
            None => return invalid_field("The next page token is invalid or expired."),
        },
    };
    let total = m.participants.len();
    let start = offset.min(total);
    let end = start.saturating_add(page_size).min(total);
    let next = if end < total {
        encode_page_token(&m.id, end)
    } else {
        String::new()
    };
    json_response(
        StatusCode::OK,
        json!({
            "page_count": total.div_ceil(page_size),
            "page_size": page_size,
            "total_records": total,
            "next_page_token": next,
            "participants": &m.participants[start..end],
        }),
    )
}

const PAGE_MAC_LEN: usize = 12;

fn encode_page_token(meeting_id: &str, offset: usize) -> String {
    let expires = util::unix_secs(SystemTime::now()) + PAGE_TOKEN_TTL_SECS;
    let mut data = format!("{meeting_id}\n{offset}\n{expires}").into_bytes();
    let mac = util::seed_mac(&data);
    data.extend_from_slice(&mac[..PAGE_MAC_LEN]);
    util::b64url(&data)
}

fn decode_page_token(token: &str, meeting_id: &str) -> Option<usize> {
    let raw = util::b64url_decode(token)?;
    let split = raw.len().checked_sub(PAGE_MAC_LEN)?;
    let (data, mac) = raw.split_at(split);
    if util::seed_mac(data)[..PAGE_MAC_LEN] != *mac {
        return None;
    }
    let text = std::str::from_utf8(data).ok()?;
    let mut parts = text.split('\n');
    let (mid, offset, expires) = (parts.next()?, parts.next()?, parts.next()?);
    let expires: u64 = expires.parse().ok()?;
    if mid != meeting_id || util::unix_secs(SystemTime::now()) > expires {
        return None;
    }
    offset.parse().ok()
}

// ---------------------------------------------------------------------------
// POST /v2/chat/users/{userId}/messages

async fn chat(
    State(sim): State<Sim>,
    conn: Conn,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Response {
    zoom_call(&sim, Endpoint::Chat, conn, &headers, |sim| {
        send_chat(sim, &user_id, &body)
    })
    .await
}

fn send_chat(sim: &Sim, user_id: &str, body: &Bytes) -> Response {
    let st = &sim.state;
    if !st.is_tech_user(user_id) {
        return zoom_error(
            StatusCode::NOT_FOUND,
            1001,
            format!("User does not exist: {user_id}."),
        );
    }
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(body) else {
        return invalid_field("Request Body should be a valid JSON object.");
    };
    let message = match req.get("message") {
        Some(Value::String(m)) if !m.is_empty() => m,
        Some(Value::String(_)) | None => {
            return invalid_field("Invalid field: message. It is required.");
        }
        Some(_) => return invalid_field("Invalid field: message. It must be a string."),
    };
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return invalid_field("Invalid field: message. The maximum length is 1024 characters.");
    }
    let to_contact = match req.get("to_contact") {
        Some(Value::String(c)) if !c.trim().is_empty() => c.trim(),
        Some(Value::String(_)) | None => {
            if let Some(Value::String(channel)) = req.get("to_channel") {
                return zoom_error(
                    StatusCode::NOT_FOUND,
                    4130,
                    format!("Channel does not exist: {channel}."),
                );
            }
            return invalid_field("Invalid field: to_contact. It is required.");
        }
        Some(_) => return invalid_field("Invalid field: to_contact. It must be a string."),
    };
    match st.recipient(to_contact) {
        Recipient::Unknown => zoom_error(
            StatusCode::NOT_FOUND,
            1001,
            format!("User does not exist: {to_contact}."),
        ),
        Recipient::NotContact => {
            zoom_error(StatusCode::BAD_REQUEST, 5301, "Message sending failed.")
        }
        Recipient::Contact => {
            let id = util::uuid_v4();
            if st.echo() {
                println!("[zoom-sim] chat to {to_contact}: {message}");
            }
            st.record_message(SentMessage {
                user_id: user_id.to_owned(),
                to_contact: to_contact.to_owned(),
                message: message.clone(),
                id: id.clone(),
            });
            st.stats.count_delivered();
            json_response(StatusCode::CREATED, json!({"id": id}))
        }
    }
}

// ---------------------------------------------------------------------------
// fallback

async fn not_found(State(sim): State<Sim>, headers: HeaderMap, uri: Uri) -> Response {
    if uri.path().starts_with("/v2/") && !authorized(&sim, &headers) {
        sim.state.stats.count_unauthorized();
        return invalid_token();
    }
    zoom_error(
        StatusCode::NOT_FOUND,
        404,
        format!("zoom-sim: no such endpoint: {}", uri.path()),
    )
}

// ---------------------------------------------------------------------------
// admin

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

async fn admin_join(State(sim): State<Sim>, body: Bytes) -> Response {
    let spec: JoinSpec = match parse_admin(&body) {
        Ok(s) => s,
        Err(bad) => return bad.into_response(),
    };
    if spec.name.trim().is_empty() {
        return admin_error(StatusCode::BAD_REQUEST, "\"name\" is required");
    }
    json_response(StatusCode::OK, json!(sim.join(spec).await))
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
        Some(event) => json_response(StatusCode::OK, json!(event)),
        None => admin_error(
            StatusCode::NOT_FOUND,
            "no participant in the meeting matches",
        ),
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
