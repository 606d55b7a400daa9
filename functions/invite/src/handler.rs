//! `POST /join-meeting` (and the legacy `/join-meetings`): send the calling
//! device's room link as a Zoom Team Chat message from the tech user — to the
//! device's owner when it has one (the body may then omit `email`; another
//! address is refused), else to the `email` sent. Per-device limits, shared by
//! every container through DynamoDB, are taken before Zoom is asked and given
//! back when nothing was delivered.
//!
//! DynamoDB calls per invite (with `KITCHEN_LIMITS_TABLE`): one UpdateItem when
//! granted (two on a device's first invite of a UTC day), plus one UpdateItem
//! to give the slot back when Zoom fails; a refusal costs one UpdateItem (two
//! when the device's last invite was on an earlier UTC day). None for requests
//! refused before that (bad key, bad body, another recipient).

use std::time::SystemTime;

use kitchen::app::AppState;
use kitchen::deadline::Deadline;
use kitchen::devices::Device;
use kitchen::http::{ApiError, json_response, respond};
use kitchen::join_links::JoinLinks;
use kitchen::lambda_http::http::{Method, StatusCode};
use kitchen::lambda_http::{Body, Error, Request, Response};
use kitchen::limits::{InviteLimits, Limit, Reservation, Ticket};
use kitchen::metrics::{self, Metric};
use kitchen::request::{content_type, email_from_body};
use kitchen::zoom::{ZoomError, codes};
use serde::Serialize;

use crate::config::{InviteConfig, render};

pub struct Invite {
    pub app: AppState,
    pub tech_user: String,
    pub template: String,
    /// Per-device limits; `None` when `KITCHEN_LIMITS_TABLE` is unset.
    limits: Option<InviteLimits>,
    /// Each room's join link: its configured override, or fetched from Zoom
    /// once per container.
    join_links: JoinLinks,
}

impl Invite {
    pub async fn new(config: InviteConfig) -> Result<Self, Error> {
        let InviteConfig {
            common,
            tech_user,
            template,
            limits,
        } = config;
        match limits {
            Some((table, settings)) => {
                let (app, sdk) = AppState::with_aws(common, kitchen::app::DEFAULT_DEADLINE).await?;
                let limits = InviteLimits::new(&sdk, table, settings);
                Ok(Self::with_app(app, tech_user, template, Some(limits)))
            }
            None => {
                let app = AppState::from_config(common).await?;
                Ok(Self::with_app(app, tech_user, template, None))
            }
        }
    }

    pub fn with_app(
        app: AppState,
        tech_user: String,
        template: String,
        limits: Option<InviteLimits>,
    ) -> Self {
        if limits.is_none() {
            tracing::warn!(
                "KITCHEN_LIMITS_TABLE is not set: invites are NOT limited per device (the stack always sets it)"
            );
        }
        let join_links = JoinLinks::new(&app.config.rooms);
        Self {
            app,
            tech_user,
            template,
            limits,
            join_links,
        }
    }
}

#[derive(Serialize)]
struct Sent<'a> {
    sent: bool,
    recipient: &'a str,
    room: &'a str,
    message_id: &'a str,
}

pub async fn handle(state: &Invite, req: Request) -> Result<Response<Body>, Error> {
    respond(invite(state, &req).await)
}

async fn invite(state: &Invite, req: &Request) -> Result<Response<Body>, ApiError> {
    if req.method() != Method::POST {
        return Err(ApiError::method_not_allowed("POST"));
    }
    let deadline = state.app.deadline_for(req);
    let device = state.app.authorize(req.headers(), &deadline).await?;
    // From here on every answer is an invite sent or refused.
    let outcome = send(state, req, &deadline, device.as_ref()).await;
    metrics::incr(match outcome {
        Ok(_) => Metric::InviteSent,
        Err(_) => Metric::InviteRefused,
    });
    outcome
}

/// Who gets the link. A device with an owner sends to its owner: `email` may
/// be left out, and any other address is refused. Addresses compare as
/// [`kitchen::request::validate_email`] leaves them: the domain
/// case-insensitively, the local part exactly.
fn recipient(device: Option<&Device>, sent: Result<String, ApiError>) -> Result<String, ApiError> {
    let owner = device.and_then(|d| d.owner.as_deref());
    match (sent, owner) {
        (Ok(email), Some(owner)) if email != owner => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "recipient_not_owner",
            "this device sends the link to its owner only; leave out email or send the owner's address",
        )),
        (Ok(email), _) => Ok(email),
        (Err(e), Some(owner)) if e.code == "missing_email" => Ok(owner.to_owned()),
        (Err(e), _) => Err(e),
    }
}

async fn send(
    state: &Invite,
    req: &Request,
    deadline: &Deadline,
    device: Option<&Device>,
) -> Result<Response<Body>, ApiError> {
    let k = &state.app;
    let sent = email_from_body(content_type(req.headers())?, req.body().as_ref());
    let email = recipient(device, sent)?;
    let room = k.room_for(device)?;
    let device_name = device.map_or("-", |d| d.name.as_str());
    let creds = k.credentials_within(deadline).await?;
    let ticket = reserve(state, device_name, deadline).await?;
    let delivered = deadline
        .run(async {
            let join_url = state.join_links.get(&state.app.zoom, &creds, room).await?;
            let message = render(&state.template, &room.name, &join_url);
            k.zoom
                .send_chat_message(&creds, &state.tech_user, &email, &message)
                .await
        })
        .await
        .unwrap_or(Err(ZoomError::Timeout));
    let message_id = match delivered {
        Ok(id) => id,
        Err(e) => {
            if let Some(ticket) = ticket {
                release(state, &ticket, deadline).await;
            }
            return Err(map_zoom_error(&e, &email, &state.tech_user));
        }
    };
    tracing::info!(device = device_name, room = %room.name, recipient = %email, message_id = %message_id, "join link sent");
    Ok(json_response(
        StatusCode::OK,
        &Sent {
            sent: true,
            recipient: &email,
            room: &room.name,
            message_id: &message_id,
        },
    ))
}

/// Takes one invite of the device's allowance, or refuses with 429
/// `too_many_invites` and `Retry-After`; an unreachable limits table is 503
/// `limits_unavailable` — never an unlimited send. `None`: no limits configured.
async fn reserve(
    state: &Invite,
    device: &str,
    deadline: &Deadline,
) -> Result<Option<Ticket>, ApiError> {
    let Some(limits) = &state.limits else {
        return Ok(None);
    };
    let reserved = deadline
        .run(limits.reserve(device, SystemTime::now()))
        .await
        .map_err(|_| "timed out".to_owned())
        .and_then(|r| r.map_err(|e| e.to_string()));
    match reserved {
        Ok(Reservation::Granted(ticket)) => Ok(Some(ticket)),
        Ok(Reservation::Refused { limit, retry_after }) => {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            let settings = limits.settings();
            let why = match limit {
                Limit::Interval => format!(
                    "this device may send one invite every {} s",
                    settings.interval.as_secs()
                ),
                Limit::Daily => format!(
                    "this device may send {} invites a day (UTC)",
                    settings.per_day
                ),
            };
            tracing::info!(device, limit = ?limit, retry_after_s = secs, "invite refused by the device's limit");
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_invites",
                format!("{why}; try again in {secs} s"),
            );
            e.retry_after = Some(secs);
            Err(e)
        }
        Err(why) => {
            tracing::error!(device, error = %why, "the invite limits table is unavailable; nothing sent");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "limits_unavailable",
                "the invite limits cannot be checked right now, so nothing was sent; try again shortly",
            ))
        }
    }
}

/// Gives the slot back: Zoom did not deliver. A failure here only costs the
/// device one invite of its allowance, so it is logged, not answered.
async fn release(state: &Invite, ticket: &Ticket, deadline: &Deadline) {
    let Some(limits) = &state.limits else {
        return;
    };
    // The request's own time may be gone (a Zoom timeout): allow a moment more.
    let budget = deadline
        .remaining()
        .max(std::time::Duration::from_millis(500));
    match tokio::time::timeout(budget, limits.release(ticket)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "giving back an invite slot failed"),
        Err(_) => tracing::warn!("giving back an invite slot timed out"),
    }
}

/// The chat endpoint's own failures first, then the generic mapping.
fn map_zoom_error(e: &ZoomError, recipient: &str, tech_user: &str) -> ApiError {
    let ZoomError::Api {
        status,
        code,
        message,
    } = e
    else {
        return ApiError::from_zoom(e);
    };
    match (*status, *code) {
        // "User does not exist: $to_contact" — unless it names the tech user.
        (404, Some(codes::USER_NOT_FOUND))
            if message.contains(tech_user) && !message.contains(recipient) =>
        {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "tech_user_not_found",
                format!(
                    "the tech user {tech_user} does not exist in this Zoom account; fix ZOOM_TECH_USER"
                ),
            )
        }
        (404, Some(codes::USER_NOT_FOUND)) => ApiError::new(
            StatusCode::NOT_FOUND,
            "recipient_not_found",
            format!(
                "{recipient} is not a Zoom user this account can reach; check the email configured on the device"
            ),
        ),
        (_, Some(codes::MESSAGE_FAILED | codes::BLOCKED_CONTACT)) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "recipient_not_a_contact",
            format!(
                "{recipient} is not a chat contact of the tech user {tech_user}; add them as a contact and accept the request"
            ),
        ),
        (_, Some(codes::USER_CANNOT_CHAT)) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "recipient_cannot_chat",
            format!("Zoom does not allow {recipient} to receive chat messages"),
        ),
        _ => ApiError::from_zoom(e),
    }
}

#[cfg(test)]
mod tests {
    use kitchen::config::DEFAULT_MESSAGE_TEMPLATE;
    use kitchen::testing::{DEVICE_KEY, LogCapture, body_json, event, fixture, kitchen};
    use serde_json::json;
    use zoom_sim::{DEMO_TECH_USER, Endpoint, Fault, Sim, SimHandle};

    use super::*;

    async fn setup() -> (SimHandle, Invite) {
        let sim = Sim::demo().spawn().await;
        let state = demo_invite(kitchen(&sim));
        (sim, state)
    }

    /// The simulator's tech user, the default message, no limits.
    fn demo_invite(app: AppState) -> Invite {
        Invite::with_app(
            app,
            DEMO_TECH_USER.into(),
            DEFAULT_MESSAGE_TEMPLATE.into(),
            None,
        )
    }

    async fn call(state: &Invite, req: Request) -> (u16, serde_json::Value) {
        body_json(handle(state, req).await.expect("handlers never return Err")).await
    }

    fn form(body: &str) -> kitchen::testing::Event {
        event("POST", "/join-meeting")
            .device_key(DEVICE_KEY)
            .header("content-type", "application/x-www-form-urlencoded")
            .base64(body.as_bytes())
    }

    #[tokio::test]
    async fn fixture_events_send_the_join_link() {
        let (logs, _guard) = LogCapture::start();
        let (sim, state) = setup().await;
        for name in ["join-meeting-form.json", "join-meeting-json.json"] {
            let (status, body) = call(&state, fixture(name)).await;
            assert_eq!(status, 200, "{name}: {body}");
            assert_eq!(body["recipient"], "alice@example.com");
            assert!(body["message_id"].as_str().is_some_and(|id| !id.is_empty()));
        }
        let sent = sim.sim.messages();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].user_id, DEMO_TECH_USER);
        assert!(
            sent[0]
                .message
                .starts_with("This is your coffee kitchen join URL: https://"),
            "{}",
            sent[0].message
        );
        // Join URL fetched once per container; one token for everything.
        let s = sim.sim.stats();
        assert_eq!((s.meeting_requests, s.token_requests), (1, 1));
        logs.assert_no_secrets(&[]);
        assert!(!logs.text().contains("Bearer"));
    }

    #[tokio::test]
    async fn device_forms_legacy_path_plain_and_json_bodies() {
        let (sim, state) = setup().await;
        let cases = [
            event("POST", "/join-meetings")
                .device_key(DEVICE_KEY)
                .header("content-type", "application/x-www-form-urlencoded")
                .text("email=bob%40example.com"),
            event("POST", "/join-meeting")
                .device_key(DEVICE_KEY)
                .text("email=bob@example.com"),
            event("POST", "/join-meeting")
                .device_key(DEVICE_KEY)
                .header("content-type", "application/json")
                .text(r#"{"email":"bob@example.com"}"#),
            form("email=bob@example.com"),
        ];
        for e in cases {
            let (status, body) = call(&state, e.request()).await;
            assert_eq!(
                (status, body["recipient"].as_str()),
                (200, Some("bob@example.com")),
                "{body}"
            );
        }
        assert_eq!(sim.sim.messages().len(), 4);
    }

    #[tokio::test]
    async fn configured_join_url_and_template_skip_the_meeting_lookup() {
        let sim = Sim::demo().spawn().await;
        let rooms = kitchen::rooms::Rooms::parse(
            &json!({"kitchen": {"meeting_id": kitchen::testing::DEMO_MEETING_ID, "join_url": "https://example.zoom.us/j/1"}}).to_string(),
        )
        .unwrap();
        let app = kitchen::testing::kitchen_with(
            &sim,
            rooms,
            json!({"device_keys": {"demo-desk": DEVICE_KEY}}),
        );
        let state = Invite::with_app(
            app,
            DEMO_TECH_USER.into(),
            "Coffee? {join_url}".into(),
            None,
        );
        assert_eq!(
            call(&state, form("email=carol@example.com").request())
                .await
                .0,
            200
        );
        assert_eq!(
            sim.sim.messages()[0].message,
            "Coffee? https://example.zoom.us/j/1"
        );
        assert_eq!(sim.sim.stats().meeting_requests, 0);
    }

    #[tokio::test]
    async fn bad_input_gets_4xx_json_and_reaches_no_one() {
        let (sim, state) = setup().await;
        let huge = format!("email={}@example.com", "a".repeat(100_000));
        let cases: Vec<(kitchen::testing::Event, u16, &str)> = vec![
            (form(""), 400, "missing_email"),
            (form("email="), 400, "invalid_email"),
            (form("email=not-an-email"), 400, "invalid_email"),
            (form("\u{0}\u{1}garbage"), 400, "unknown_field"),
            (form(&huge), 413, "body_too_large"),
            (
                event("POST", "/join-meeting")
                    .device_key(DEVICE_KEY)
                    .base64(&[0xff, 0xfe, 0xfd]),
                400,
                "unreadable_body",
            ),
            (
                event("POST", "/join-meeting")
                    .device_key(DEVICE_KEY)
                    .header("content-type", "application/json")
                    .text("{\"email\": \"a@example.com\""),
                400,
                "unreadable_body",
            ),
            (
                event("POST", "/join-meeting")
                    .device_key(DEVICE_KEY)
                    .header("content-type", "application/xml")
                    .text("<email/>"),
                415,
                "unsupported_media_type",
            ),
            (
                event("GET", "/join-meeting").device_key(DEVICE_KEY),
                405,
                "method_not_allowed",
            ),
            (
                event("PUT", "/join-meeting")
                    .device_key(DEVICE_KEY)
                    .text("email=a@example.com"),
                405,
                "method_not_allowed",
            ),
            (
                event("POST", "/join-meeting").text("email=a@example.com"),
                401,
                "invalid_device_key",
            ),
            (
                event("POST", "/join-meeting")
                    .device_key("wrong-key-but-long-enough")
                    .text("email=a@example.com"),
                401,
                "invalid_device_key",
            ),
            (
                event("POST", "/join-meeting")
                    .header("authorization", "Basic Zm9vOmJhcg==")
                    .text("email=a@example.com"),
                401,
                "invalid_device_key",
            ),
            (
                event("POST", "/join-meeting")
                    .device_key(DEVICE_KEY)
                    .device_key(DEVICE_KEY)
                    .text("email=a@example.com"),
                401,
                "invalid_device_key",
            ),
        ];
        for (e, want_status, want_code) in cases {
            let (status, body) = call(&state, e.request()).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (want_status, Some(want_code)),
                "{body}"
            );
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        assert!(sim.sim.messages().is_empty());
        assert_eq!(sim.sim.stats().chat_requests, 0);
    }

    #[tokio::test]
    async fn wrong_method_says_which_is_allowed() {
        let (_sim, state) = setup().await;
        let resp = handle(&state, event("DELETE", "/join-meeting").request())
            .await
            .unwrap();
        assert_eq!(
            (
                resp.status().as_u16(),
                resp.headers()["allow"].to_str().unwrap()
            ),
            (405, "POST")
        );
    }

    /// An invite whose state is built from `config` (the simulator's, adjusted).
    fn invite_with(config: kitchen::config::CommonConfig, tech_user: &str) -> Invite {
        let app = kitchen::testing::app(config);
        Invite::with_app(app, tech_user.into(), DEFAULT_MESSAGE_TEMPLATE.into(), None)
    }

    fn demo_config(
        sim: &SimHandle,
        creds: kitchen::credentials::Credentials,
    ) -> kitchen::config::CommonConfig {
        kitchen::testing::common_config(
            sim,
            kitchen::credentials::CredentialSource::Inline(std::sync::Arc::new(creds)),
        )
    }

    /// The remaining upstream failures, each with its status and JSON code.
    #[tokio::test]
    async fn every_upstream_failure_has_its_status_and_code() {
        let (sim, state) = setup().await;
        sim.sim.push_fault(
            Endpoint::Chat,
            Fault::Status {
                status: 400,
                body: json!({"code": 5418, "message": "The user can not chat with others."}),
            },
        );
        assert_eq!(send(&state).await, (422, json!("recipient_cannot_chat")));

        sim.sim.set_sticky_fault(
            Endpoint::Chat,
            Some(Fault::Status {
                status: 401,
                body: json!({"code": 124, "message": "Invalid access token."}),
            }),
        );
        assert_eq!(send(&state).await, (502, json!("zoom_unauthorized")));
        sim.sim.set_sticky_fault(Endpoint::Chat, None);

        sim.sim.push_fault(
            Endpoint::Chat,
            Fault::Status {
                status: 201,
                body: json!({"not_an_id": true}),
            },
        );
        assert_eq!(send(&state).await, (502, json!("zoom_bad_response")));

        let ghost = invite_with(
            demo_config(&sim, kitchen::testing::credentials()),
            "ghost-bot@example.com",
        );
        assert_eq!(send(&ghost).await, (503, json!("tech_user_not_found")));

        let wrong_secret = kitchen::credentials::Credentials {
            client_secret: kitchen::secret::Secret::new("not-the-client-secret"),
            ..kitchen::testing::credentials()
        };
        let rejected = invite_with(demo_config(&sim, wrong_secret), DEMO_TECH_USER);
        assert_eq!(
            send(&rejected).await,
            (503, json!("zoom_credentials_rejected"))
        );

        let mut nowhere = demo_config(&sim, kitchen::testing::credentials());
        nowhere.zoom.api_url = "http://127.0.0.1:1/v2".into();
        nowhere.zoom.oauth_url = "http://127.0.0.1:1/oauth/token".into();
        assert_eq!(
            send(&invite_with(nowhere, DEMO_TECH_USER)).await,
            (502, json!("zoom_unreachable"))
        );

        assert!(
            sim.sim.messages().is_empty(),
            "none of these may be reported or delivered as a success"
        );
    }

    /// Sends one valid invite: its status and JSON `error`, the message checked non-empty.
    async fn send(state: &Invite) -> (u16, serde_json::Value) {
        let (status, body) = call(state, form("email=alice@example.com").request()).await;
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        (status, body["error"].clone())
    }

    #[tokio::test]
    async fn zoom_refusals_map_to_fitting_statuses() {
        let (sim, state) = setup().await;
        let (s, b) = call(&state, form("email=nobody@example.com").request()).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (404, Some("recipient_not_found")),
            "{b}"
        );
        let (s, b) = call(&state, form("email=stranger@example.com").request()).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (422, Some("recipient_not_a_contact")),
            "{b}"
        );
        assert!(b["message"].as_str().unwrap().contains("contact"));

        sim.sim.push_fault(
            Endpoint::Chat,
            Fault::RateLimit {
                retry_after: Some("30".into()),
            },
        );
        let resp = handle(&state, form("email=alice@example.com").request())
            .await
            .unwrap();
        assert_eq!(
            (
                resp.status().as_u16(),
                resp.headers()["retry-after"].to_str().unwrap()
            ),
            (429, "30")
        );

        sim.sim.push_fault(
            Endpoint::Chat,
            Fault::Status {
                status: 500,
                body: json!({"code": 500, "message": "oops"}),
            },
        );
        assert_eq!(
            call(&state, form("email=alice@example.com").request())
                .await
                .0,
            502
        );

        sim.sim.push_fault(Endpoint::Chat, Fault::Hang);
        let (s, b) = call(&state, form("email=alice@example.com").request()).await;
        assert_eq!((s, b["error"].as_str()), (502, Some("zoom_timeout")));

        sim.sim.push_fault(Endpoint::Chat, Fault::Status { status: 400, body: json!({"code": 4711, "message": "Invalid access token, does not contain scopes"}) });
        assert_eq!(
            call(&state, form("email=alice@example.com").request())
                .await
                .1["error"],
            "zoom_missing_scope"
        );
        // None of these was reported as a success, and only what Zoom accepted was delivered.
        assert!(sim.sim.messages().is_empty());
        assert_eq!(
            call(&state, form("email=alice@example.com").request())
                .await
                .0,
            200
        );
        assert_eq!(sim.sim.messages().len(), 1);
    }

    #[tokio::test]
    async fn revoked_token_mid_life_is_invisible_to_the_device() {
        let (sim, state) = setup().await;
        assert_eq!(
            call(&state, form("email=alice@example.com").request())
                .await
                .0,
            200
        );
        sim.sim.revoke_tokens();
        assert_eq!(
            call(&state, form("email=alice@example.com").request())
                .await
                .0,
            200
        );
        assert_eq!(sim.sim.stats().token_requests, 2);
    }

    #[tokio::test]
    async fn hostile_corpus_gets_4xx_json_and_the_function_keeps_serving() {
        let (logs, _guard) = LogCapture::start();
        let (sim, state) = setup().await;
        let corpus = kitchen::testing::hostile_requests("/join-meeting", "POST", true);
        assert!(corpus.len() >= 200, "only {} requests", corpus.len());
        for (label, e) in &corpus {
            let (status, body) = call(&state, e.request()).await;
            kitchen::testing::assert_refused(label, status, &body);
        }
        assert!(
            sim.sim.messages().is_empty(),
            "a hostile request got a message delivered"
        );
        assert_eq!(
            call(&state, form("email=alice@example.com").request())
                .await
                .0,
            200
        );
        logs.assert_no_secrets(&[]);
    }

    /// Faults injected at every step: a 200 is answered exactly when Zoom accepted
    /// the message, and every failure is a fitting status — never a false success.
    #[tokio::test]
    async fn under_faults_success_means_delivered() {
        let (sim, state) = setup().await;
        let faults = [
            (
                Endpoint::Token,
                Fault::Status {
                    status: 503,
                    body: json!({}),
                },
            ),
            (Endpoint::Token, Fault::Hang),
            (
                Endpoint::Token,
                Fault::RateLimit {
                    retry_after: Some("3".into()),
                },
            ),
            (
                Endpoint::Meeting,
                Fault::Status {
                    status: 500,
                    body: json!({}),
                },
            ),
            (Endpoint::Meeting, Fault::Drop),
            (Endpoint::Chat, Fault::RateLimit { retry_after: None }),
            (
                Endpoint::Chat,
                Fault::Status {
                    status: 502,
                    body: json!({"code": 5301, "message": "x"}),
                },
            ),
            (Endpoint::Chat, Fault::Delay { ms: 1500 }),
            (Endpoint::Chat, Fault::Drop),
            (
                Endpoint::Chat,
                Fault::Status {
                    status: 401,
                    body: json!({"code": 124, "message": "Invalid access token."}),
                },
            ),
        ];
        let mut succeeded = 0;
        for round in 0..3 {
            for (ep, fault) in &faults {
                sim.sim.push_fault(*ep, fault.clone());
                let before = sim.sim.messages().len();
                let (status, body) = call(&state, form("email=alice@example.com").request()).await;
                let delivered = sim.sim.messages().len() - before;
                match status {
                    200 => {
                        succeeded += 1;
                        assert_eq!(
                            delivered, 1,
                            "round {round} {ep:?} {fault:?}: 200 without delivery"
                        );
                        assert_eq!(
                            body["message_id"].as_str(),
                            sim.sim.messages().last().map(|m| m.id.as_str())
                        );
                    }
                    429 | 502 | 503 | 422 => assert_eq!(
                        delivered, 0,
                        "round {round} {ep:?} {fault:?}: failure after delivery"
                    ),
                    other => panic!("round {round} {ep:?} {fault:?}: unexpected {other} {body}"),
                }
                sim.sim.clear_faults(None);
            }
        }
        // A 401 on the chat call is retried with a new token, so that one succeeds.
        assert!(succeeded >= 3, "{succeeded}");
        assert_eq!(
            call(&state, form("email=alice@example.com").request())
                .await
                .0,
            200
        );
    }
}
