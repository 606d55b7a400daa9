//! The simulated Zoom endpoints (shapes from Zoom's OpenAPI specs, facts from ZOOM.md).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kitchen::time::format_rfc3339;
use serde_json::{Map, Value, json};

use crate::conn::ConnInfo;
use crate::state::{Meeting, Recipient};
use crate::util;
use crate::{Endpoint, Fault, MeetingSettings, SentMessage, Sim, SimError};

/// How long a `Hang` fault sleeps before giving up.
const HANG: Duration = Duration::from_secs(3600);
/// Page tokens expire after 15 minutes, as Zoom documents.
const PAGE_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
const MAX_PAGE_SIZE: usize = 300;
const DEFAULT_PAGE_SIZE: usize = 30;
const MAX_MESSAGE_CHARS: usize = 1024;
const RATE_LIMIT_MESSAGE: &str =
    "You have reached the maximum per-second rate limit for this API. Try again later.";
pub(crate) const TIMEZONE: &str = "Europe/Berlin";
/// Creating meetings needs a write scope; listing them a read scope (`Endpoint::scopes`).
const CREATE_MEETING_SCOPES: &[&str] = &["meeting:write:meeting:admin", "meeting:write:admin"];

pub(crate) fn router(sim: Sim) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/v2/meetings/{meeting_id}", get(meeting))
        .route("/v2/meetings/{meeting_id}/status", put(meeting_status))
        .route(
            "/v2/metrics/meetings/{meeting_id}/participants",
            get(dashboard),
        )
        .route("/v2/chat/users/{user_id}/messages", post(chat))
        .route("/v2/users/{user_id}", get(user))
        .route(
            "/v2/users/{user_id}/meetings",
            get(list_meetings).post(create_meeting),
        )
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

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Zoom's API error body `{"code", "message"}`.
pub(crate) fn zoom_error(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
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
        Endpoint::Token | Endpoint::Meeting | Endpoint::MeetingStatus | Endpoint::User => "Light",
        Endpoint::Chat | Endpoint::UserMeetings => "Medium",
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

/// Common wrapper of the Zoom endpoints: count, fault, auth and scope, handle,
/// record timing, add latency. `needs`: scopes of which the token must hold one.
async fn zoom_call(
    sim: &Sim,
    ep: Endpoint,
    needs: &[&str],
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
        None if ep == Endpoint::Token => handle(sim),
        None => match token_scopes(sim, headers) {
            None => {
                st.stats.count_unauthorized();
                invalid_token()
            }
            Some(granted) if !needs.iter().any(|n| granted.iter().any(|g| g == n)) => {
                st.stats.count_missing_scope();
                missing_scope(needs)
            }
            Some(_) => handle(sim),
        },
    };
    busy += t.elapsed();
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

/// The scopes of the request's bearer token, if it is valid.
fn token_scopes(sim: &Sim, headers: &HeaderMap) -> Option<Arc<[String]>> {
    auth_param(headers, "Bearer").and_then(|t| sim.state.token_scopes(t))
}

/// Zoom's answer to a token without the scope an API needs (reported as HTTP
/// 400 with code 4711, naming the scopes that would do).
fn missing_scope(needs: &[&str]) -> Response {
    zoom_error(
        StatusCode::BAD_REQUEST,
        4711,
        format!(
            "Invalid access token, does not contain scopes:[{}].",
            needs.join(", ")
        ),
    )
}

/// A page of `items` for a listing; `None` when the page token is not valid for it.
/// Returns (page, next_page_token).
fn paginate<'a, T>(
    sim: &Sim,
    listing: &str,
    items: &'a [T],
    page_size: usize,
    token: Option<&str>,
) -> Option<(&'a [T], String)> {
    let offset = match token {
        None | Some("") => 0,
        Some(t) => sim.state.page(t, listing)?,
    };
    let start = offset.min(items.len());
    let end = start.saturating_add(page_size).min(items.len());
    let next = if end < items.len() {
        sim.state.new_page(listing, end, PAGE_TOKEN_TTL)
    } else {
        String::new()
    };
    Some((&items[start..end], next))
}

/// `page_size` as Zoom reads it: default 30, at most 300.
/// `Err`: the message of Zoom's 300 answer.
fn page_size(q: &[(String, String)]) -> Result<usize, &'static str> {
    match query_get(q, "page_size").map(str::trim) {
        None | Some("") => Ok(DEFAULT_PAGE_SIZE),
        Some(s) => match s.parse::<usize>() {
            Ok(0) => Ok(DEFAULT_PAGE_SIZE),
            Ok(n) if n <= MAX_PAGE_SIZE => Ok(n),
            Ok(_) => Err("Invalid field: page_size. The maximum is 300."),
            Err(_) => Err("Invalid field: page_size."),
        },
    }
}

fn user_not_found(user_id: &str) -> Response {
    zoom_error(
        StatusCode::NOT_FOUND,
        1001,
        format!("User does not exist: {user_id}."),
    )
}

fn meeting_not_found(meeting_id: &str) -> Response {
    zoom_error(
        StatusCode::NOT_FOUND,
        3001,
        format!("Meeting does not exist: {meeting_id}."),
    )
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
    zoom_call(&sim, Endpoint::Token, &[], conn, &headers, |sim| {
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
    let scopes = sim.state.store_token(access_token.clone(), ttl);
    json_response(
        StatusCode::OK,
        json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": ttl,
            "scope": scopes.join(" "),
            "api_url": "https://api.zoom.us",
        }),
    )
}

/// A JWT-shaped token like Zoom's; its random signature part makes it unguessable.
fn new_access_token(sim: &Sim, ttl: u64) -> String {
    let cfg = &sim.state.cfg;
    let iat = util::unix_secs(SystemTime::now());
    let header = json!({"alg": "HS512", "v": "2.0"});
    let payload = json!({
        "aud": "https://oauth.zoom.us",
        "uid": sim.state.tech_user_id(),
        "iss": format!("zm:cid:{}", cfg.client_id),
        "aid": cfg.account_id,
        "iat": iat,
        "exp": iat.saturating_add(ttl),
    });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        util::random_token(48)
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
    let needs = Endpoint::Meeting.scopes();
    zoom_call(
        &sim,
        Endpoint::Meeting,
        needs,
        conn,
        &headers,
        |sim| match sim.state.meeting(&meeting_id) {
            Some(m) => json_response(StatusCode::OK, meeting_json(sim, &m)),
            None => meeting_not_found(&meeting_id),
        },
    )
    .await
}

fn meeting_id_value(id: &str) -> Value {
    id.parse::<i64>().map_or_else(|_| json!(id), |n| json!(n))
}

/// A meeting as `GET /meetings/{id}` (and `POST /users/{id}/meetings`) answer it.
fn meeting_json(sim: &Sim, m: &Meeting) -> Value {
    let id = &m.id;
    let zak = util::stable_hex("zak", id, 40);
    let host_id = sim
        .state
        .user_by_email(&m.host)
        .map(|u| u.id)
        .unwrap_or_default();
    let mut v = json!({
        "uuid": m.uuid,
        "id": meeting_id_value(id),
        "host_id": host_id,
        "host_email": m.host,
        "assistant_id": "",
        "topic": m.topic,
        "type": m.kind,
        "status": if m.running { "started" } else { "waiting" },
        "timezone": TIMEZONE,
        "agenda": m.agenda,
        "created_at": format_rfc3339(m.created_at),
        "start_url": format!("https://us02web.zoom.us/s/{id}?zak={zak}"),
        "join_url": util::join_url(id),
        "password": "coffee",
        "h323_password": "264833",
        "pstn_password": "264833",
        "encrypted_password": util::stable_hex("pwd", id, 32),
        "pre_schedule": false,
        "creation_source": "open_api",
        "settings": settings_json(&m.settings),
    });
    // Scheduled meetings (types 2 and 8) have a start time and a duration.
    if matches!(m.kind, 2 | 8)
        && let Some(o) = v.as_object_mut()
    {
        o.insert("start_time".into(), json!(format_rfc3339(m.start_time)));
        o.insert("duration".into(), json!(60));
    }
    v
}

fn settings_json(s: &MeetingSettings) -> Value {
    json!({
        "host_video": false,
        "participant_video": true,
        "cn_meeting": false,
        "in_meeting": false,
        "join_before_host": s.join_before_host,
        "jbh_time": s.jbh_time,
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
        "waiting_room": s.waiting_room,
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
// PUT /v2/meetings/{meetingId}/status

async fn meeting_status(
    State(sim): State<Sim>,
    conn: Conn,
    headers: HeaderMap,
    Path(meeting_id): Path<String>,
    body: Bytes,
) -> Response {
    let needs = Endpoint::MeetingStatus.scopes();
    zoom_call(
        &sim,
        Endpoint::MeetingStatus,
        needs,
        conn,
        &headers,
        |sim| update_status(sim, &meeting_id, &body),
    )
    .await
}

fn update_status(sim: &Sim, meeting_id: &str, body: &Bytes) -> Response {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(body) else {
        return invalid_field("Request Body should be a valid JSON object.");
    };
    match req.get("action").and_then(Value::as_str) {
        Some("end") => {}
        // Nothing is ever deleted in the sim, so there is nothing to recover.
        Some("recover") => return StatusCode::NO_CONTENT.into_response(),
        _ => return invalid_field("Invalid field: action. It must be \"end\" or \"recover\"."),
    }
    match crate::webhook::end(sim, meeting_id) {
        Ok(ended) => {
            // Zoom delivers webhooks on its own schedule, not within the API call.
            let sim = sim.clone();
            tokio::spawn(async move {
                if let Some(d) = crate::webhook::deliver_ended(&sim, &ended).await {
                    sim.state.record_end_webhook(&ended.meeting_id, d);
                }
            });
            StatusCode::NO_CONTENT.into_response()
        }
        Err(SimError::NotRunning(id)) => zoom_error(
            // The endpoint documents only 3001 for a meeting it cannot end (ZOOM.md:
            // what Zoom answers for one not running is uncertain).
            StatusCode::NOT_FOUND,
            3001,
            format!("Meeting {id} is not in progress."),
        ),
        Err(_) => meeting_not_found(meeting_id),
    }
}

// ---------------------------------------------------------------------------
// GET /v2/users/{userId}

async fn user(
    State(sim): State<Sim>,
    conn: Conn,
    headers: HeaderMap,
    Path(user_id): Path<String>,
) -> Response {
    let needs = Endpoint::User.scopes();
    zoom_call(&sim, Endpoint::User, needs, conn, &headers, |sim| {
        let Some(u) = sim.state.user(&user_id) else {
            return user_not_found(&user_id);
        };
        let local = u.email.split('@').next().unwrap_or_default();
        let cfg = &sim.state.cfg;
        json_response(
            StatusCode::OK,
            json!({
                "id": u.id,
                "email": u.email,
                "first_name": local,
                "last_name": "",
                "display_name": local,
                "type": 2,
                "role_name": if sim.state.is_tech_user(&u.email) { "Admin" } else { "Member" },
                "pmi": 3_542_471_135_u64,
                "use_pmi": false,
                "timezone": TIMEZONE,
                "verified": 1,
                "dept": "",
                "created_at": format_rfc3339(sim.state.created),
                "user_created_at": format_rfc3339(sim.state.created),
                "last_login_time": format_rfc3339(sim.state.created),
                "language": "en-US",
                "status": "active",
                "account_id": cfg.account_id,
                "login_types": [100],
                "cluster": "us02",
            }),
        )
    })
    .await
}

// ---------------------------------------------------------------------------
// GET and POST /v2/users/{userId}/meetings

async fn list_meetings(
    State(sim): State<Sim>,
    conn: Conn,
    headers: HeaderMap,
    uri: Uri,
    Path(user_id): Path<String>,
) -> Response {
    let needs = Endpoint::UserMeetings.scopes();
    zoom_call(&sim, Endpoint::UserMeetings, needs, conn, &headers, |sim| {
        meetings_page(sim, &user_id, &uri)
    })
    .await
}

fn meetings_page(sim: &Sim, user_id: &str, uri: &Uri) -> Response {
    let Some(host) = sim.state.user(user_id) else {
        return user_not_found(user_id);
    };
    let q = query_pairs(uri);
    let live_only = match query_get(&q, "type") {
        None | Some("scheduled" | "upcoming" | "upcoming_meetings") => false,
        Some("live") => true,
        // The sim keeps no history.
        Some("previous_meetings") => return meetings_list_json(0, 30, "", Vec::new()),
        Some(other) => return invalid_field(format!("Invalid field: type '{other}'.")),
    };
    let size = match page_size(&q) {
        Ok(n) => n,
        Err(invalid) => return invalid_field(invalid),
    };
    let host_email = host.email.to_ascii_lowercase();
    let meetings: Vec<Meeting> = sim
        .state
        .meetings_of(&host_email)
        .into_iter()
        .filter(|m| !live_only || m.running)
        .collect();
    let listing = format!("meetings:{host_email}:{live_only}");
    let Some((page, next)) = paginate(
        sim,
        &listing,
        &meetings,
        size,
        query_get(&q, "next_page_token"),
    ) else {
        return invalid_field("The next page token is invalid or expired.");
    };
    let items = page.iter().map(|m| list_item(sim, m)).collect();
    meetings_list_json(meetings.len(), size, &next, items)
}

fn meetings_list_json(total: usize, size: usize, next: &str, items: Vec<Value>) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "page_size": size,
            "total_records": total,
            "next_page_token": next,
            "meetings": items,
        }),
    )
}

/// An item of a user's meeting list: the meeting's summary (no `status`, no settings).
fn list_item(sim: &Sim, m: &Meeting) -> Value {
    let full = meeting_json(sim, m);
    let keep = [
        "uuid",
        "id",
        "host_id",
        "topic",
        "type",
        "start_time",
        "duration",
        "timezone",
        "created_at",
        "join_url",
        "agenda",
    ];
    let item: Map<String, Value> = keep
        .iter()
        .filter_map(|k| full.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
    Value::Object(item)
}

async fn create_meeting(
    State(sim): State<Sim>,
    conn: Conn,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Response {
    zoom_call(
        &sim,
        Endpoint::UserMeetings,
        CREATE_MEETING_SCOPES,
        conn,
        &headers,
        |sim| new_meeting(sim, &user_id, &body),
    )
    .await
}

fn new_meeting(sim: &Sim, user_id: &str, body: &Bytes) -> Response {
    let Some(host) = sim.state.user(user_id) else {
        return user_not_found(user_id);
    };
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(body) else {
        return invalid_field("Request Body should be a valid JSON object.");
    };
    match parse_new_meeting(&req) {
        Ok((kind, topic, agenda, settings)) => {
            let host = host.email.to_ascii_lowercase();
            let m = sim
                .state
                .create_meeting(&host, kind, &topic, &agenda, settings);
            json_response(StatusCode::CREATED, meeting_json(sim, &m))
        }
        Err(invalid) => invalid_field(invalid),
    }
}

/// (type, topic, agenda, settings) of a meeting to create; `Err`: the invalid field.
fn parse_new_meeting(
    req: &Map<String, Value>,
) -> Result<(u8, String, String, MeetingSettings), String> {
    let kind = match req.get("type").map(Value::as_u64) {
        None => 2,
        Some(Some(k @ (1 | 2 | 3 | 8))) => k as u8,
        Some(_) => return Err("Invalid field: type.".into()),
    };
    let text = |key: &str, default: &str, max: usize| match req.get(key) {
        None => Ok(default.to_owned()),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(s.clone()),
        Some(_) => Err(format!("Invalid field: {key}.")),
    };
    let topic = text("topic", "Zoom meeting", 200)?;
    let agenda = text("agenda", "", 2000)?;
    // Zoom's usual account defaults: the host lets people in, guests wait.
    let mut settings = MeetingSettings {
        join_before_host: false,
        jbh_time: 0,
        waiting_room: true,
    };
    let Some(given) = req.get("settings") else {
        return Ok((kind, topic, agenda, settings));
    };
    let Value::Object(given) = given else {
        return Err("Invalid field: settings.".into());
    };
    let flag = |key: &str, current: bool| match given.get(key) {
        None => Ok(current),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("Invalid field: settings.{key}.")),
    };
    settings.join_before_host = flag("join_before_host", settings.join_before_host)?;
    settings.waiting_room = flag("waiting_room", settings.waiting_room)?;
    settings.jbh_time = match given.get("jbh_time").map(Value::as_u64) {
        None => 0,
        Some(Some(t @ (0 | 5 | 10 | 15))) => t as u32,
        Some(_) => return Err("Invalid field: settings.jbh_time.".into()),
    };
    Ok((kind, topic, agenda, settings))
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
    let needs = Endpoint::Dashboard.scopes();
    zoom_call(&sim, Endpoint::Dashboard, needs, conn, &headers, |sim| {
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
    let size = match page_size(&q) {
        Ok(n) => n,
        Err(invalid) => return invalid_field(invalid),
    };
    let Some(m) = sim.state.meeting(meeting_id).filter(|m| m.running) else {
        return meeting_not_live();
    };
    let listing = format!("dashboard:{}", m.id);
    let total = m.participants.len();
    let Some((page, next)) = paginate(
        sim,
        &listing,
        &m.participants,
        size,
        query_get(&q, "next_page_token"),
    ) else {
        return invalid_field("The next page token is invalid or expired.");
    };
    json_response(
        StatusCode::OK,
        json!({
            "page_count": total.div_ceil(size),
            "page_size": size,
            "total_records": total,
            "next_page_token": next,
            "participants": page,
        }),
    )
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
    let needs = Endpoint::Chat.scopes();
    zoom_call(&sim, Endpoint::Chat, needs, conn, &headers, |sim| {
        send_chat(sim, &user_id, &body)
    })
    .await
}

/// A non-empty string field; `Err` (the 300 message) if present but not a string.
fn opt_text<'a>(req: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(format!("Invalid field: {key}. It must be a string.")),
    }
}

fn send_chat(sim: &Sim, user_id: &str, body: &Bytes) -> Response {
    let st = &sim.state;
    if !st.is_tech_user(user_id) {
        return user_not_found(user_id);
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
    let (to_contact, to_channel) =
        match (opt_text(&req, "to_contact"), opt_text(&req, "to_channel")) {
            (Err(invalid), _) | (_, Err(invalid)) => return invalid_field(invalid),
            (Ok(c), Ok(ch)) => (c, ch),
        };
    match (to_contact, to_channel) {
        (None, None) => invalid_field("Invalid field: to_contact. It is required."),
        (Some(_), Some(_)) => {
            invalid_field("Invalid field: to_contact and to_channel cannot both be set.")
        }
        (None, Some(channel)) if !st.channel_exists(channel) => zoom_error(
            StatusCode::NOT_FOUND,
            4130,
            format!("Channel does not exist: {channel}."),
        ),
        (Some(contact), None) => match st.recipient(contact) {
            Recipient::Unknown => user_not_found(contact),
            Recipient::NotContact => {
                zoom_error(StatusCode::BAD_REQUEST, 5301, "Message sending failed.")
            }
            Recipient::Contact => deliver(sim, user_id, contact, "", message),
        },
        (None, Some(channel)) => deliver(sim, user_id, "", channel, message),
    }
}

fn deliver(
    sim: &Sim,
    user_id: &str,
    to_contact: &str,
    to_channel: &str,
    message: &str,
) -> Response {
    let st = &sim.state;
    if !st.take_chat_send() {
        return rate_limit_response(Endpoint::Chat, Some("1"));
    }
    let id = util::uuid_v4();
    if st.echo() {
        let to = if to_channel.is_empty() {
            to_contact.to_owned()
        } else {
            format!("channel {to_channel}")
        };
        println!("[zoom-sim] chat to {to}: {message}");
    }
    st.record_message(SentMessage {
        user_id: user_id.to_owned(),
        to_contact: to_contact.to_owned(),
        to_channel: to_channel.to_owned(),
        message: message.to_owned(),
        id: id.clone(),
    });
    st.stats.count_delivered();
    json_response(StatusCode::CREATED, json!({"id": id}))
}

// ---------------------------------------------------------------------------
// fallback

async fn not_found(State(sim): State<Sim>, headers: HeaderMap, uri: Uri) -> Response {
    if uri.path().starts_with("/v2/") && token_scopes(&sim, &headers).is_none() {
        sim.state.stats.count_unauthorized();
        return invalid_token();
    }
    zoom_error(
        StatusCode::NOT_FOUND,
        404,
        format!("zoom-sim: no such endpoint: {}", uri.path()),
    )
}
