//! `POST /zoom/webhook`: Zoom's event notifications keep the presence table,
//! for every configured room (the event's meeting id names the room; other
//! meetings are acknowledged as ignored).
//!
//! The pure steps live in the library ([`kitchen::webhook`]: verify → parse →
//! decide; [`kitchen::presence::plan`]: what to store); this handler reads the
//! secret, runs them, and makes the one conditional table write, all under one
//! deadline. The signature is checked before anything about the configuration
//! shows: without a secret token every delivery gets the same 401 as a wrong
//! signature. Every outcome is a JSON response; a store failure answers 503 so
//! Zoom retries. Logs carry the event type, the meeting id and the outcome —
//! never the body, the signature or the secret.

use std::time::{Duration, SystemTime};

use kitchen::app::{AppState, DEFAULT_DEADLINE};
use kitchen::deadline::Deadline;
use kitchen::http::{ApiError, json_response, respond};
use kitchen::lambda_http::http::{Method, StatusCode};
use kitchen::lambda_http::{Body, Error, Request, RequestExt, Response};
use kitchen::metrics::{Metric, incr};
use kitchen::presence::{Applied, PresenceConfig, PresenceStore};
use kitchen::secret::Secret;
use kitchen::webhook::{Decision, decide, parse_event, verify};
use serde_json::json;

/// Zoom waits 3 s for an answer; everything here ends before that (or before
/// the Lambda's own deadline, if that comes first).
pub const DEADLINE: Duration = Duration::from_millis(2500);

pub struct Webhook {
    pub app: AppState,
    pub store: PresenceStore,
    pub(crate) deadline: Duration,
    clock: fn() -> SystemTime,
}

impl Webhook {
    pub async fn new(config: PresenceConfig) -> Result<Self, Error> {
        // DynamoDB always needs the SDK, whatever holds the credentials.
        let (app, sdk) = AppState::with_aws(config.common, DEFAULT_DEADLINE).await?;
        Ok(Self::with_parts(
            app,
            PresenceStore::new(&sdk, config.table),
        ))
    }

    pub fn with_parts(app: AppState, store: PresenceStore) -> Self {
        Self {
            app,
            store,
            deadline: DEADLINE,
            clock: SystemTime::now,
        }
    }

    /// The clock the signature timestamp is checked against (tests replay old deliveries).
    #[cfg(test)]
    pub(crate) fn with_clock(self, clock: fn() -> SystemTime) -> Self {
        Self { clock, ..self }
    }
}

pub async fn handle(state: &Webhook, req: Request) -> Result<Response<Body>, Error> {
    // One deadline for the secret read and the table writes: Zoom's 3 s, or the
    // Lambda's own deadline less a margin when that is sooner.
    let lambda = Deadline::from_context(req.lambda_context_ref(), state.deadline);
    let deadline = Deadline::after(lambda.remaining().min(state.deadline));
    let outcome = deadline
        .run(receive(state, &req))
        .await
        .unwrap_or_else(|_| {
            tracing::warn!(
                deadline_ms = state.deadline.as_millis() as u64,
                "webhook not handled in time; Zoom will retry"
            );
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the event could not be recorded in time; retry later",
            ))
        });
    respond(outcome)
}

async fn receive(state: &Webhook, req: &Request) -> Result<Response<Body>, ApiError> {
    if req.method() != Method::POST {
        return Err(ApiError::method_not_allowed("POST"));
    }
    // Which part of the secret is wrong is the operator's business, not the
    // caller's: any failure to read it is the same retryable 503.
    let creds = state.app.credentials.get().await.map_err(|e| {
        tracing::error!(error = %e, "the credentials secret cannot be read; webhooks cannot be verified");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the delivery cannot be checked right now; retry later",
        )
    })?;
    let no_secret = Secret::new("");
    let secret = creds.webhook_secret_token.as_ref().unwrap_or_else(|| {
        tracing::error!("a webhook arrived but the secret has no webhook_secret_token; every delivery is refused");
        &no_secret
    });
    // The raw bytes as Zoom sent them (lambda_http has already undone base64).
    let raw = req.body().as_ref();
    let now = (state.clock)();
    if let Err(reason) = verify(secret, req.headers(), raw, now) {
        incr(Metric::WebhookRejectedSignature);
        tracing::warn!(%reason, "webhook rejected");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            format!("the request is not a valid Zoom delivery: {reason}"),
        ));
    }
    let event = parse_event(raw).map_err(|e| {
        tracing::warn!(error = %e, "signed webhook with an unreadable body");
        ApiError::bad_request("invalid_payload", e.to_string())
    })?;
    let event_type = event.event_type().to_owned();
    let (room, event) = match decide(event, secret, &state.app.config.rooms, now) {
        Decision::Answer(body) => {
            tracing::info!(event = event_type, "answered Zoom's URL validation");
            return Ok(json_response(StatusCode::OK, &body));
        }
        Decision::Ignore { reason } => {
            incr(Metric::WebhookIgnored);
            tracing::info!(event = event_type, reason, outcome = "ignored", "webhook");
            return Ok(status("ignored"));
        }
        Decision::Record { room, event } => (room, event),
    };
    match state.store.apply(&room.meeting_id, &event).await {
        Ok(applied) => {
            let outcome = match applied {
                Applied::Stored => "stored",
                Applied::DuplicateOrStale => "duplicate_or_stale",
                Applied::NotTracked => "ignored",
            };
            incr(match applied {
                Applied::NotTracked => Metric::WebhookIgnored,
                Applied::Stored | Applied::DuplicateOrStale => Metric::WebhookAccepted,
            });
            tracing::info!(event = event_type, room = %room.name, meeting_id = %room.meeting_id, outcome, "webhook");
            Ok(status(outcome))
        }
        Err(e) => {
            tracing::error!(event = event_type, room = %room.name, meeting_id = %room.meeting_id, error = %e, "recording the webhook failed; Zoom will retry");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "presence_unavailable",
                "the presence table could not be updated; retry later",
            ))
        }
    }
}

fn status(outcome: &str) -> Response<Body> {
    json_response(StatusCode::OK, &json!({ "status": outcome }))
}
