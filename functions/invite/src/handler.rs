//! `POST /join-meeting` (and the legacy `/join-meetings`): send the device's owner
//! the kitchen's join link as a Zoom Team Chat message from the tech user.

use kitchen::app::Kitchen;
use kitchen::config::{CommonConfig, ConfigError, DEFAULT_MESSAGE_TEMPLATE, Env};
use kitchen::http::{ApiError, json_response};
use kitchen::lambda_http::http::{Method, StatusCode};
use kitchen::lambda_http::{Body, Error, Request, Response};
use kitchen::request::{content_type, email_from_body};
use kitchen::zoom::{ZoomError, codes};
use serde::Serialize;
use tokio::sync::OnceCell;

const PLACEHOLDER: &str = "{join_url}";
/// Zoom's limit for `message` (team-chat.json, sendaChatMessage).
const MAX_MESSAGE_CHARS: usize = 1024;

#[derive(Debug)]
pub struct InviteConfig {
    pub common: CommonConfig,
    pub tech_user: String,
    pub join_url: Option<String>,
    pub template: String,
}

impl InviteConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let template = env.get("KITCHEN_MESSAGE_TEMPLATE").unwrap_or_else(|| DEFAULT_MESSAGE_TEMPLATE.to_owned());
        if !template.contains(PLACEHOLDER) {
            return Err(ConfigError::new("KITCHEN_MESSAGE_TEMPLATE", "must contain {join_url}"));
        }
        if template.chars().count() > MAX_MESSAGE_CHARS / 2 {
            return Err(ConfigError::new("KITCHEN_MESSAGE_TEMPLATE", "must be at most 512 characters"));
        }
        let join_url = env.get("ZOOM_JOIN_URL");
        if let Some(u) = &join_url {
            if !(u.starts_with("https://") || u.starts_with("http://")) || u.chars().count() > 500 {
                return Err(ConfigError::new("ZOOM_JOIN_URL", "must be an http(s) URL of at most 500 characters"));
            }
        }
        Ok(Self { common: CommonConfig::from_env(env)?, tech_user: env.required("ZOOM_TECH_USER")?, join_url, template })
    }
}

pub struct Invite {
    pub kitchen: Kitchen,
    pub tech_user: String,
    pub template: String,
    /// Configured, or fetched from Zoom once per container.
    join_url: OnceCell<String>,
}

impl Invite {
    pub async fn new(config: InviteConfig) -> Result<Self, Error> {
        let kitchen = Kitchen::from_config(config.common).await?;
        Ok(Self::with_kitchen(kitchen, config.tech_user, config.template, config.join_url))
    }

    pub fn with_kitchen(kitchen: Kitchen, tech_user: String, template: String, join_url: Option<String>) -> Self {
        let cell = join_url.map_or_else(OnceCell::new, |u| OnceCell::new_with(Some(u)));
        Self { kitchen, tech_user, template, join_url: cell }
    }
}

#[derive(Serialize)]
struct Sent<'a> {
    sent: bool,
    recipient: &'a str,
    message_id: &'a str,
}

pub async fn handle(state: &Invite, req: Request) -> Result<Response<Body>, Error> {
    Ok(match invite(state, &req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    })
}

async fn invite(state: &Invite, req: &Request) -> Result<Response<Body>, ApiError> {
    if req.method() != Method::POST {
        return Err(ApiError::method_not_allowed("POST"));
    }
    let device = state.kitchen.authorize(req.headers()).await?;
    let email = email_from_body(content_type(req.headers())?, req.body().as_ref())?;
    let creds = state.kitchen.credentials().await?;
    let k = &state.kitchen;
    let message_id = k
        .within_deadline(async {
            let join_url = state.join_url.get_or_try_init(|| k.zoom.join_url(&creds, &k.config.meeting_id)).await?;
            let message = state.template.replace(PLACEHOLDER, join_url);
            k.zoom.send_chat_message(&creds, &state.tech_user, &email, &message).await
        })
        .await
        .map_err(|e| map_zoom_error(&e, &email, &state.tech_user))?;
    tracing::info!(device = device.as_deref().unwrap_or("-"), recipient = %email, message_id = %message_id, "join link sent");
    Ok(json_response(StatusCode::OK, &Sent { sent: true, recipient: &email, message_id: &message_id }))
}

/// The chat endpoint's own failures first, then the generic mapping.
fn map_zoom_error(e: &ZoomError, recipient: &str, tech_user: &str) -> ApiError {
    let ZoomError::Api { status, code, message } = e else { return ApiError::from_zoom(e) };
    match (*status, *code) {
        // "User does not exist: $to_contact" — unless it names the tech user.
        (404, Some(codes::USER_NOT_FOUND)) if message.contains(tech_user) && !message.contains(recipient) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "tech_user_not_found",
            format!("the tech user {tech_user} does not exist in this Zoom account; fix ZOOM_TECH_USER"),
        ),
        (404, Some(codes::USER_NOT_FOUND)) => ApiError::new(
            StatusCode::NOT_FOUND,
            "recipient_not_found",
            format!("{recipient} is not a Zoom user this account can reach; check the email configured on the device"),
        ),
        (_, Some(codes::MESSAGE_FAILED | codes::BLOCKED_CONTACT)) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "recipient_not_a_contact",
            format!("{recipient} is not a chat contact of the tech user {tech_user}; add them as a contact and accept the request"),
        ),
        (_, Some(codes::USER_CANNOT_CHAT)) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "recipient_cannot_chat",
            format!("Zoom does not allow {recipient} to receive chat messages"),
        ),
        _ => ApiError::from_zoom(e),
    }
}
