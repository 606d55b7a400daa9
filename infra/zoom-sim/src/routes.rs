//! The simulated Zoom endpoints (shapes from Zoom's OpenAPI specs, facts from
//! ZOOM.md): the router, what every call goes through ([`ZoomCall`]), OAuth,
//! the dashboard and chat. Meetings and users: [`crate::meetings`].

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
use serde_json::{Map, Value, json};

use crate::conn::ConnInfo;
use crate::meetings;
use crate::state::Recipient;
use crate::util;
use crate::{Endpoint, Fault, SentMessage, Sim};

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

pub(crate) fn router(sim: Sim) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/v2/meetings/{meeting_id}", get(meetings::meeting))
        .route(
            "/v2/meetings/{meeting_id}/status",
            put(meetings::meeting_status),
        )
        .route(
            "/v2/metrics/meetings/{meeting_id}/participants",
            get(dashboard),
        )
        .route("/v2/chat/users/{user_id}/messages", post(chat))
        .route("/v2/users/{user_id}", get(meetings::user))
        .route(
            "/v2/users/{user_id}/meetings",
            get(meetings::list_meetings).post(meetings::create_meeting),
        )
        .fallback(not_found)
        .with_state(sim)
}

// ---------------------------------------------------------------------------
// helpers

/// What every Zoom endpoint's handler takes from the request: the simulator,
/// the connection the request came on (when served by `Sim::serve`/`spawn`)
/// and the headers. [`ZoomCall::answer`] runs the endpoint through it.
pub(crate) struct ZoomCall {
    sim: Sim,
    conn: Option<ConnInfo>,
    headers: HeaderMap,
}

impl FromRequestParts<Sim> for ZoomCall {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, sim: &Sim) -> Result<Self, Self::Rejection> {
        Ok(ZoomCall {
            sim: sim.clone(),
            conn: parts
                .extensions
                .get::<ConnectInfo<ConnInfo>>()
                .map(|c| c.0.clone()),
            headers: parts.headers.clone(),
        })
    }
}

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Zoom's API error body `{"code", "message"}`.
pub(crate) fn zoom_error(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    json_response(status, json!({"code": code, "message": message.into()}))
}

pub(crate) fn invalid_field(message: impl Into<String>) -> Response {
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

pub(crate) fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub(crate) fn query_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
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
fn drop_connection(conn: Option<&ConnInfo>) -> Response {
    match conn {
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

impl ZoomCall {
    /// [`Self::answer_needing`] the endpoint's own scopes ([`Endpoint::scopes`]).
    pub(crate) async fn answer(
        &self,
        ep: Endpoint,
        handle: impl FnOnce(&Sim) -> Response,
    ) -> Response {
        self.answer_needing(ep, ep.scopes(), handle).await
    }

    /// Common wrapper of the Zoom endpoints: count, fault, auth and scope,
    /// handle, record timing, add latency. `needs`: scopes of which the token
    /// must hold one.
    pub(crate) async fn answer_needing(
        &self,
        ep: Endpoint,
        needs: &[&str],
        handle: impl FnOnce(&Sim) -> Response,
    ) -> Response {
        let sim = &self.sim;
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
            Some(Fault::Drop) => return drop_connection(self.conn.as_ref()),
            Some(Fault::Status { status, body }) => {
                answer = Some(status_fault_response(status, body))
            }
            Some(Fault::RateLimit { retry_after }) => {
                answer = Some(rate_limit_response(ep, retry_after.as_deref()));
            }
        }
        let t = Instant::now();
        let resp = match answer {
            Some(r) => r,
            None if ep == Endpoint::Token => handle(sim),
            None => match token_scopes(sim, &self.headers) {
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
pub(crate) fn paginate<'a, T>(
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
pub(crate) fn page_size(q: &[(String, String)]) -> Result<usize, &'static str> {
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

pub(crate) fn user_not_found(user_id: &str) -> Response {
    zoom_error(
        StatusCode::NOT_FOUND,
        1001,
        format!("User does not exist: {user_id}."),
    )
}

pub(crate) fn meeting_not_found(meeting_id: &str) -> Response {
    zoom_error(
        StatusCode::NOT_FOUND,
        3001,
        format!("Meeting does not exist: {meeting_id}."),
    )
}

// ---------------------------------------------------------------------------
// OAuth

async fn token(call: ZoomCall, uri: Uri, body: Bytes) -> Response {
    call.answer(Endpoint::Token, |sim| {
        issue_token(sim, &call.headers, &uri, &body)
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
// GET /v2/metrics/meetings/{meetingId}/participants

async fn dashboard(call: ZoomCall, uri: Uri, Path(meeting_id): Path<String>) -> Response {
    call.answer(Endpoint::Dashboard, |sim| {
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

async fn chat(call: ZoomCall, Path(user_id): Path<String>, body: Bytes) -> Response {
    call.answer(Endpoint::Chat, |sim| send_chat(sim, &user_id, &body))
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
