//! The Zoom REST client: Server-to-Server OAuth, one retry on 401, typed errors.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config::ZoomEndpoints;
use crate::credentials::Credentials;
use crate::metrics::{self, Metric};
use crate::participants::Participant;
use crate::secret::Secret;
use crate::token::{AccessToken, TokenCache};

/// Zoom error codes this code branches on (../shared/ZOOM.md).
pub mod codes {
    pub const USER_NOT_FOUND: i64 = 1001;
    pub const MEETING_NOT_FOUND: i64 = 3001;
    pub const MISSING_SCOPE: i64 = 4711;
    pub const MESSAGE_FAILED: i64 = 5301;
    pub const USER_CANNOT_CHAT: i64 = 5418;
    pub const BLOCKED_CONTACT: i64 = 5421;
}

/// Hard cap on dashboard pages per count (300 entries each): a repeating or
/// endless `next_page_token` can never loop.
pub const MAX_PAGES: usize = 40;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// Per HTTP request, including reading the body.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(3),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ZoomError {
    #[error("Zoom answered {status} (code {code:?}): {message}")]
    Api {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    #[error("Zoom rate-limited the request")]
    RateLimited { retry_after: Option<Duration> },
    #[error("Zoom did not answer in time")]
    Timeout,
    #[error("Zoom could not be reached")]
    Unreachable,
    #[error("Zoom sent an unreadable response: {0}")]
    InvalidResponse(String),
    #[error("Zoom rejected the app's credentials ({0})")]
    CredentialsRejected(String),
}

impl ZoomError {
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => *code,
            _ => None,
        }
    }

    /// Worth serving a cached answer instead: Zoom is busy or broken, not us.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Api { status, .. } => *status >= 500,
            Self::RateLimited { .. }
            | Self::Timeout
            | Self::Unreachable
            | Self::InvalidResponse(_) => true,
            Self::CredentialsRejected(_) => false,
        }
    }

    fn from_transport(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else if e.is_connect() || e.is_request() {
            Self::Unreachable
        } else {
            Self::InvalidResponse("the connection failed mid-response".into())
        }
    }
}

#[derive(Deserialize)]
struct ApiErrorBody {
    code: Option<i64>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
    /// Space-separated scopes granted to the app.
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct MeetingResponse {
    join_url: Option<String>,
    /// `waiting` or `started`.
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct MessageResponse {
    id: String,
}

#[derive(Deserialize)]
struct ParticipantsPage {
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    participants: Vec<Participant>,
}

/// A Zoom user (`GET /users/{userId}`), the fields this code reads.
#[derive(Debug, Clone, Deserialize)]
pub struct ZoomUser {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    /// `active`, `inactive` or `pending`.
    #[serde(default)]
    pub status: Option<String>,
}

/// A meeting as `GET /meetings/{id}`, `POST /users/{id}/meetings` and (without
/// settings) the user's meeting list describe it.
#[derive(Debug, Clone, Deserialize)]
pub struct MeetingInfo {
    pub id: u64,
    #[serde(default)]
    pub topic: Option<String>,
    /// 1 instant, 2 scheduled, 3 recurring with no fixed time, 8 recurring.
    #[serde(default, rename = "type")]
    pub kind: Option<u8>,
    #[serde(default)]
    pub join_url: Option<String>,
    #[serde(default)]
    pub host_email: Option<String>,
    #[serde(default)]
    pub settings: Option<MeetingSettings>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MeetingSettings {
    #[serde(default)]
    pub join_before_host: Option<bool>,
    /// Minutes before the start people may join (0: any time).
    #[serde(default)]
    pub jbh_time: Option<u32>,
    #[serde(default)]
    pub waiting_room: Option<bool>,
}

#[derive(Deserialize)]
struct MeetingsPage {
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    meetings: Vec<MeetingInfo>,
}

pub struct ZoomClient {
    http: reqwest::Client,
    api_url: Url,
    oauth_url: Url,
    tokens: TokenCache,
    /// The `scope` of the last token response (see [`ZoomClient::granted_scopes`]).
    scopes: std::sync::Mutex<Option<String>>,
}

impl ZoomClient {
    pub fn new(endpoints: &ZoomEndpoints, timeouts: Timeouts) -> Result<Self, String> {
        // Trust anchors compiled in: no OS store read at init (crate::tls).
        let http = crate::tls::with_roots(reqwest::Client::builder())?
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .user_agent(concat!("coffee-kitchen/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the HTTP client failed: {e}"))?;
        let parse = |s: &str| Url::parse(s).map_err(|e| format!("invalid URL {s:?}: {e}"));
        Ok(Self {
            http,
            api_url: parse(&endpoints.api_url)?,
            oauth_url: parse(&endpoints.oauth_url)?,
            tokens: TokenCache::default(),
            scopes: std::sync::Mutex::new(None),
        })
    }

    /// `POST /chat/users/{tech_user}/messages` → Zoom's message id.
    pub async fn send_chat_message(
        &self,
        creds: &Credentials,
        tech_user: &str,
        to_contact: &str,
        message: &str,
    ) -> Result<String, ZoomError> {
        let body = serde_json::json!({ "message": message, "to_contact": to_contact });
        self.post_message(creds, tech_user, &body).await
    }

    /// A post to a Team Chat channel: the same `POST /chat/users/{tech_user}/messages`
    /// with `to_channel` (the channel id) → Zoom's message id. Zoom answers
    /// 404/4130 for an unknown channel and 400/5419–5420 for an encrypted or
    /// archived one (team-chat.json, `sendaChatMessage`; MEDIUM).
    pub async fn post_to_channel(
        &self,
        creds: &Credentials,
        tech_user: &str,
        channel: &str,
        message: &str,
    ) -> Result<String, ZoomError> {
        let body = serde_json::json!({ "message": message, "to_channel": channel });
        self.post_message(creds, tech_user, &body).await
    }

    /// `POST /chat/users/{tech_user}/messages` with `body` → Zoom's message id.
    async fn post_message(
        &self,
        creds: &Credentials,
        tech_user: &str,
        body: &serde_json::Value,
    ) -> Result<String, ZoomError> {
        let url = self.api(&["chat", "users", tech_user, "messages"]);
        let sent: MessageResponse = self.call(creds, Method::POST, url, Some(body)).await?;
        Ok(sent.id)
    }

    /// The room's `join_url` from `GET /meetings/{id}`.
    pub async fn join_url(
        &self,
        creds: &Credentials,
        meeting_id: &str,
    ) -> Result<String, ZoomError> {
        let meeting: MeetingResponse = self.get_meeting(creds, meeting_id).await?;
        meeting
            .join_url
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .ok_or_else(|| ZoomError::InvalidResponse("the meeting has no join_url".into()))
    }

    /// Ends the meeting for everyone if it is running: `GET /meetings/{id}` for
    /// its `status`, then `PUT /meetings/{id}/status` `{"action": "end"}`.
    /// `Ok(false)`: it was not running (what Zoom answers to ending a meeting
    /// that is not running is uncertain, so it is not asked). Scopes:
    /// `meeting:update:status:admin` (classic `meeting:write:admin`).
    pub async fn end_meeting(
        &self,
        creds: &Credentials,
        meeting_id: &str,
    ) -> Result<bool, ZoomError> {
        let meeting: MeetingResponse = self.get_meeting(creds, meeting_id).await?;
        if meeting.status.as_deref() != Some("started") {
            return Ok(false);
        }
        let url = self.api(&["meetings", meeting_id, "status"]);
        let body = serde_json::json!({ "action": "end" });
        match self.call::<()>(creds, Method::PUT, url, Some(&body)).await {
            Ok(()) => Ok(true),
            // Ended by someone else between the two calls.
            Err(e) if e.code() == Some(codes::MEETING_NOT_FOUND) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The scopes granted to the app's token (the token response's `scope`),
    /// fetching a token when none has been fetched yet; `None` when Zoom did
    /// not say. Used by `kitchenctl doctor`.
    pub async fn granted_scopes(
        &self,
        creds: &Credentials,
    ) -> Result<Option<Vec<String>>, ZoomError> {
        self.token(creds).await?;
        let scope = self
            .scopes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(scope.map(|s| s.split_whitespace().map(str::to_owned).collect()))
    }

    /// `GET /users/{userId}` (404/1001: no such user).
    pub async fn user(&self, creds: &Credentials, user_id: &str) -> Result<ZoomUser, ZoomError> {
        let url = self.api(&["users", user_id]);
        self.call(creds, Method::GET, url, None).await
    }

    /// `GET /meetings/{meetingId}`: type, topic, host, join link and settings.
    pub async fn meeting(
        &self,
        creds: &Credentials,
        meeting_id: &str,
    ) -> Result<MeetingInfo, ZoomError> {
        self.get_meeting(creds, meeting_id).await
    }

    /// `GET /meetings/{meetingId}`, read as the fields `T` needs.
    async fn get_meeting<T: DeserializeOwned>(
        &self,
        creds: &Credentials,
        meeting_id: &str,
    ) -> Result<T, ZoomError> {
        let url = self.api(&["meetings", meeting_id]);
        self.call(creds, Method::GET, url, None).await
    }

    /// `POST /users/{userId}/meetings` with `body` (meetings.json `meetingCreate`).
    pub async fn create_meeting(
        &self,
        creds: &Credentials,
        user_id: &str,
        body: &serde_json::Value,
    ) -> Result<MeetingInfo, ZoomError> {
        let url = self.api(&["users", user_id, "meetings"]);
        self.call(creds, Method::POST, url, Some(body)).await
    }

    /// `GET /users/{userId}/meetings?type=scheduled`, every page (items carry
    /// no settings).
    pub async fn user_meetings(
        &self,
        creds: &Credentials,
        user_id: &str,
    ) -> Result<Vec<MeetingInfo>, ZoomError> {
        let path = ["users", user_id, "meetings"];
        self.every_page(creds, &path, "scheduled", "meetings", |p: MeetingsPage| {
            (p.next_page_token, p.meetings)
        })
        .await
    }

    /// Every live dashboard entry of the meeting, following `next_page_token`.
    /// A meeting that is not running (404/3001) has no one in it.
    pub async fn live_participants(
        &self,
        creds: &Credentials,
        meeting_id: &str,
    ) -> Result<Vec<Participant>, ZoomError> {
        let path = ["metrics", "meetings", meeting_id, "participants"];
        let pages = self.every_page(
            creds,
            &path,
            "live",
            "participants",
            |p: ParticipantsPage| (p.next_page_token, p.participants),
        );
        match pages.await {
            Err(e) if e.code() == Some(codes::MEETING_NOT_FOUND) => Ok(Vec::new()),
            read => read,
        }
    }

    /// Every item of a list endpoint (`?type=<kind>`), following
    /// `next_page_token` for at most [`MAX_PAGES`] pages; `split` gives a page's
    /// token and items, `what` names the items in errors.
    async fn every_page<P: DeserializeOwned, I>(
        &self,
        creds: &Credentials,
        path: &[&str],
        kind: &str,
        what: &str,
        split: impl Fn(P) -> (Option<String>, Vec<I>),
    ) -> Result<Vec<I>, ZoomError> {
        let mut items = Vec::new();
        let mut seen_tokens = HashSet::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.api(path);
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("type", kind).append_pair("page_size", "300");
                if let Some(t) = &next {
                    q.append_pair("next_page_token", t);
                }
            }
            let (token, page) = split(self.call(creds, Method::GET, url, None).await?);
            items.extend(page);
            match token.filter(|t| !t.is_empty()) {
                Some(t) if seen_tokens.insert(t.clone()) => next = Some(t),
                Some(_) => {
                    return Err(ZoomError::InvalidResponse(
                        "next_page_token repeated".into(),
                    ));
                }
                None => return Ok(items),
            }
        }
        Err(ZoomError::InvalidResponse(format!(
            "more than {MAX_PAGES} pages of {what}"
        )))
    }

    fn api(&self, segments: &[&str]) -> Url {
        let mut url = self.api_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn token(&self, creds: &Credentials) -> Result<AccessToken, ZoomError> {
        self.tokens.get(|| self.fetch_token(creds)).await
    }

    async fn fetch_token(&self, creds: &Credentials) -> Result<AccessToken, ZoomError> {
        let mut url = self.oauth_url.clone();
        url.query_pairs_mut()
            .append_pair("grant_type", "account_credentials")
            .append_pair("account_id", &creds.account_id);
        let req = self
            .http
            .post(url)
            .basic_auth(&creds.client_id, Some(creds.client_secret.expose()));
        let (status, body) = send(req).await?;
        if status.is_server_error() {
            return Err(ZoomError::Api {
                status: status.as_u16(),
                code: None,
                message: "the token endpoint failed".into(),
            });
        }
        if !status.is_success() {
            let why = serde_json::from_slice::<OAuthErrorBody>(&body)
                .ok()
                .and_then(|b| b.error.or(b.reason))
                .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
            tracing::error!(status = status.as_u16(), error = %why, "Zoom refused to issue a token");
            return Err(ZoomError::CredentialsRejected(why));
        }
        let token: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| ZoomError::InvalidResponse("unreadable token response".into()))?;
        if token.access_token.is_empty() {
            return Err(ZoomError::InvalidResponse("empty access_token".into()));
        }
        let ttl = Duration::from_secs(token.expires_in.unwrap_or(3599).min(86_400));
        tracing::info!(expires_in = ttl.as_secs(), "fetched a Zoom access token");
        metrics::incr(Metric::TokenFetched);
        *self.scopes.lock().unwrap_or_else(|p| p.into_inner()) = token.scope;
        Ok(AccessToken::new(Secret::new(token.access_token), ttl))
    }

    /// One authorized call. On 401 the token is dropped, a new one fetched, and
    /// the call retried exactly once. 429 is returned, never retried here.
    async fn call<T: DeserializeOwned>(
        &self,
        creds: &Credentials,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ZoomError> {
        let mut retried = false;
        loop {
            let token = self.token(creds).await?;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.value.expose());
            if let Some(b) = body {
                req = req.json(b);
            }
            let (status, bytes) = send(req).await?;
            if status == StatusCode::UNAUTHORIZED && !retried {
                tracing::info!("Zoom rejected the cached token; fetching a new one");
                self.tokens.invalidate(&token);
                retried = true;
                continue;
            }
            if !status.is_success() {
                let parsed = serde_json::from_slice::<ApiErrorBody>(&bytes).ok();
                let err = ZoomError::Api {
                    status: status.as_u16(),
                    code: parsed.as_ref().and_then(|b| b.code),
                    message: parsed.and_then(|b| b.message).unwrap_or_default(),
                };
                tracing::warn!(path = url.path(), error = %err, "Zoom call failed");
                return Err(err);
            }
            // 204 No Content (ending a meeting): read as JSON `null`.
            let bytes: &[u8] = if bytes.is_empty() && status == StatusCode::NO_CONTENT {
                b"null"
            } else {
                &bytes
            };
            return serde_json::from_slice(bytes).map_err(|e| {
                ZoomError::InvalidResponse(format!(
                    "{} response: {}",
                    url.path(),
                    e.classify_name()
                ))
            });
        }
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}

/// Sends one request to Zoom (any endpoint, token included) and reads the
/// whole answer: its status and body. A 429 is [`ZoomError::RateLimited`], with
/// its `Retry-After`; 429s and 5xx are counted for the operator's metrics.
async fn send(req: reqwest::RequestBuilder) -> Result<(StatusCode, Vec<u8>), ZoomError> {
    let resp = req
        .send()
        .await
        .map_err(|e| ZoomError::from_transport(&e))?;
    let status = resp.status();
    record_status(status);
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry_after = retry_after(&resp);
        tracing::warn!(
            path = resp.url().path(),
            retry_after_s = retry_after.map(|d| d.as_secs()),
            "Zoom rate limit"
        );
        // Read to the end all the same, so the connection can be reused.
        let _ = resp.bytes().await;
        return Err(ZoomError::RateLimited { retry_after });
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| ZoomError::from_transport(&e))?;
    Ok((status, body.into()))
}

/// Zoom's 429s and 5xx, for the operator's metrics (any endpoint, token included).
fn record_status(status: StatusCode) {
    if status == StatusCode::TOO_MANY_REQUESTS {
        metrics::incr(Metric::Zoom429);
    } else if status.is_server_error() {
        metrics::incr(Metric::Zoom5xx);
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let value = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// The longest wait a `Retry-After` can ask for: Zoom's daily limits reset
/// within a day. Capped so no caller's `Instant + Duration` can overflow.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// `Retry-After` as delta-seconds, an HTTP date, or an RFC 3339 timestamp
/// (Zoom uses a timestamp for daily limits). A time in the past means now;
/// anything beyond [`MAX_RETRY_AFTER`] is that.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    let wait = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = httpdate::parse_http_date(v)
            .ok()
            .or_else(|| crate::time::parse_rfc3339(v))?;
        when.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        // 1700000000 = Tue, 14 Nov 2023 22:13:20 GMT
        assert_eq!(
            parse_retry_after("Tue, 14 Nov 2023 22:14:20 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("2023-11-14T23:13:20Z", now),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            parse_retry_after("2020-01-01T00:00:00Z", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        // Huge values are capped, so `Instant::now() + d` cannot overflow.
        for huge in ["18446744073709551615", "9999-12-31T23:59:59Z"] {
            let d = parse_retry_after(huge, now).unwrap();
            assert_eq!(d, MAX_RETRY_AFTER, "{huge}");
            assert!(std::time::Instant::now().checked_add(d).is_some());
        }
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
