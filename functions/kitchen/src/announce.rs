//! Announcements: one Team Chat direct message from the tech user to every
//! person in a room who has an email ("cake in the real kitchen in five
//! minutes"). Shared by the page's `POST /api/rooms/{room}/announce` and
//! `kitchenctl announce ROOM MESSAGE`.
//!
//! Who is there comes from Zoom's live dashboard (one HEAVY call): its entries
//! carry the email the presence table does not keep for signed-in people.
//! Entries are grouped into people by [`crate::people`]'s rule, so someone on
//! a laptop and a phone gets one message. People without an email (guests,
//! people outside the account) are counted in `skipped`.
//!
//! Sends are spaced ([`DEFAULT_SPACING`]: 10 a second, half of the Pro plan's
//! MEDIUM limit, which every app of the account shares). A 429 stops the run:
//! the person it refused and everyone after are listed in `failed` with
//! `rate_limited`, so nobody is dropped silently; so are the people left when
//! the caller's deadline comes.
//!
//! ```text
//! announce(...) -> Ok(Report) | Err(ApiError)
//!   Report::status(): 200 when at least one was sent, 502 when every send failed
//!   Err: 400 invalid_message, 409 room_empty, 409 no_recipients, Zoom's own mapping
//! message_from_json(body) -> the validated message of {"message": "<text>"}
//! respond(result) -> the HTTP response (Report as JSON, ApiError as {"error","message"})
//! ```

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::credentials::Credentials;
use crate::deadline::Deadline;
use crate::http::{ApiError, json_response};
use crate::participants::{Participant, present_people};
use crate::zoom::{ZoomClient, ZoomError, codes};

/// Zoom's limit for one chat message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1024;
/// Pause between two sends.
pub const DEFAULT_SPACING: Duration = Duration::from_millis(100);
/// A send is not started with less time than this left.
const SEND_BUDGET: Duration = Duration::from_millis(800);

/// One person in the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sent {
    pub email: String,
    pub message_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failed {
    pub email: String,
    /// `rate_limited`, `not_a_contact`, `user_not_found`, `cannot_chat`,
    /// `zoom_unavailable`, `out_of_time`, `zoom_error`.
    pub error: String,
}

/// What happened to each person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub sent: Vec<Sent>,
    pub failed: Vec<Failed>,
    /// People in the room without an email.
    pub skipped: usize,
}

impl Report {
    /// 200 when at least one was sent, else 502 (every send failed).
    pub fn status(&self) -> StatusCode {
        if self.sent.is_empty() {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::OK
        }
    }

    /// The answer: the report, plus `error`/`message` when nothing was sent.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        if status.is_success() {
            return json_response(status, &self);
        }
        #[derive(Serialize)]
        struct Failure<'a> {
            error: &'static str,
            message: String,
            #[serde(flatten)]
            report: &'a Report,
        }
        let message = format!(
            "no message could be sent ({} failed); see \"failed\"",
            self.failed.len()
        );
        json_response(
            status,
            &Failure {
                error: "announce_failed",
                message,
                report: &self,
            },
        )
    }
}

/// Pacing and time bounds of one announcement.
#[derive(Debug, Clone)]
pub struct Options {
    pub spacing: Duration,
    pub deadline: Deadline,
}

impl Options {
    pub fn within(deadline: Deadline) -> Self {
        Self {
            spacing: DEFAULT_SPACING,
            deadline,
        }
    }
}

/// The message, trimmed; 400 `invalid_message` when empty or too long.
pub fn validate_message(raw: &str) -> Result<String, ApiError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_message",
            "\"message\" is empty",
        ));
    }
    let chars = text.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(ApiError::bad_request(
            "invalid_message",
            format!("\"message\" has {chars} characters; at most {MAX_MESSAGE_CHARS}"),
        ));
    }
    Ok(text.to_owned())
}

/// The request body of `POST /api/rooms/{room}/announce`: `{"message": "<text>"}`,
/// validated by [`validate_message`]. 400 `invalid_json` for anything else
/// (an unknown field is named, not ignored).
pub fn message_from_json(body: &[u8]) -> Result<String, ApiError> {
    let invalid = |why: String| ApiError::bad_request("invalid_json", why);
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| invalid("the body must be JSON: {\"message\": \"<text>\"}".into()))?;
    let obj = value
        .as_object()
        .ok_or_else(|| invalid("the body must be a JSON object with \"message\"".into()))?;
    if let Some(other) = obj.keys().find(|k| *k != "message") {
        return Err(invalid(format!(
            "unknown field {:?}; the body has only \"message\"",
            other.chars().take(40).collect::<String>()
        )));
    }
    match obj.get("message") {
        Some(serde_json::Value::String(m)) => validate_message(m),
        Some(_) => Err(ApiError::bad_request(
            "invalid_message",
            "\"message\" must be a string",
        )),
        None => Err(ApiError::bad_request(
            "invalid_message",
            "\"message\" is missing",
        )),
    }
}

/// One recipient per person present in the dashboard `entries`, with the email
/// of one of their entries (lowercased), if any; sorted by name.
pub fn recipients(entries: &[Participant]) -> Vec<Recipient> {
    let people = present_people(entries);
    let mut out: Vec<Recipient> = people
        .iter()
        .map(|person| {
            let email = entries
                .iter()
                .filter(|e| e.is_present())
                .filter(|e| {
                    let id = e.identity();
                    let same_key = person.key.is_some() && id.person_key() == person.key;
                    let same_session = id
                        .session_key()
                        .is_some_and(|s| person.sessions.contains(&s));
                    same_key || same_session
                })
                .find_map(|e| {
                    e.email
                        .as_deref()
                        .map(str::trim)
                        .filter(|m| m.contains('@'))
                })
                .map(str::to_lowercase);
            Recipient {
                name: person.name.clone(),
                email,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Sends `message` to everyone in the meeting who has an email.
pub async fn announce(
    zoom: &ZoomClient,
    creds: &Credentials,
    tech_user: &str,
    meeting_id: &str,
    message: &str,
    options: &Options,
) -> Result<Report, ApiError> {
    let message = validate_message(message)?;
    let entries = options
        .deadline
        .run(zoom.live_participants(creds, meeting_id))
        .await
        .unwrap_or(Err(ZoomError::Timeout))
        .map_err(|e| ApiError::from_zoom(&e))?;
    let people = recipients(&entries);
    if people.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "room_empty",
            "nobody is in the room",
        ));
    }
    if people.iter().all(|p| p.email.is_none()) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_recipients",
            format!(
                "{} people are in the room and none has an email Zoom shows; nothing was sent",
                people.len()
            ),
        ));
    }
    Ok(send_all(zoom, creds, tech_user, &people, &message, options).await)
}

/// Sends one direct message per recipient with an email, spaced by
/// `options.spacing`; stops at a 429 or the deadline, listing who was not reached.
pub async fn send_all(
    zoom: &ZoomClient,
    creds: &Credentials,
    tech_user: &str,
    people: &[Recipient],
    message: &str,
    options: &Options,
) -> Report {
    let mut report = Report {
        skipped: people.iter().filter(|p| p.email.is_none()).count(),
        ..Report::default()
    };
    let emails: Vec<&str> = people.iter().filter_map(|p| p.email.as_deref()).collect();
    let mut stopped: Option<&'static str> = None;
    for (i, email) in emails.iter().enumerate() {
        if let Some(why) = stopped {
            report.failed.push(failed(email, why));
            continue;
        }
        if i > 0 {
            tokio::time::sleep(options.spacing).await;
        }
        if options.deadline.remaining() < SEND_BUDGET {
            stopped = Some("out_of_time");
            report.failed.push(failed(email, "out_of_time"));
            continue;
        }
        let sent = options
            .deadline
            .run(zoom.send_chat_message(creds, tech_user, email, message))
            .await
            .unwrap_or(Err(ZoomError::Timeout));
        match sent {
            Ok(message_id) => report.sent.push(Sent {
                email: (*email).to_owned(),
                message_id,
            }),
            Err(e) => {
                let why = reason(&e);
                if why == "rate_limited" {
                    stopped = Some(why);
                }
                report.failed.push(failed(email, why));
            }
        }
    }
    tracing::info!(
        sent = report.sent.len(),
        failed = report.failed.len(),
        skipped = report.skipped,
        stopped = stopped.unwrap_or("no"),
        "announcement sent"
    );
    report
}

fn failed(email: &str, why: &str) -> Failed {
    Failed {
        email: email.to_owned(),
        error: why.to_owned(),
    }
}

/// A word for one failed direct message (never Zoom's raw text: it may echo input).
fn reason(e: &ZoomError) -> &'static str {
    match e {
        ZoomError::RateLimited { .. } => "rate_limited",
        ZoomError::Timeout | ZoomError::Unreachable | ZoomError::InvalidResponse(_) => {
            "zoom_unavailable"
        }
        ZoomError::CredentialsRejected(_) => "zoom_credentials_rejected",
        ZoomError::Api { status, code, .. } => match (*status, *code) {
            (_, Some(codes::MISSING_SCOPE)) | (403, _) => "zoom_missing_scope",
            (_, Some(codes::USER_NOT_FOUND)) => "user_not_found",
            (_, Some(codes::MESSAGE_FAILED | codes::BLOCKED_CONTACT)) => "not_a_contact",
            (_, Some(codes::USER_CANNOT_CHAT)) => "cannot_chat",
            (s, _) if s >= 500 => "zoom_unavailable",
            _ => "zoom_error",
        },
    }
}

/// The HTTP answer for an announcement's outcome (page route, and the shape
/// `kitchenctl announce` prints).
pub fn respond(result: Result<Report, ApiError>) -> Response<Body> {
    match result {
        Ok(report) => report.into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn messages_are_trimmed_and_bounded() {
        assert_eq!(validate_message("  cake!  ").unwrap(), "cake!");
        assert_eq!(validate_message(" \n").unwrap_err().code, "invalid_message");
        assert!(validate_message(&"é".repeat(1024)).is_ok());
        let e = validate_message(&"é".repeat(1025)).unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "invalid_message")
        );
        assert!(e.message.contains("1025"), "{}", e.message);
    }

    #[test]
    fn the_request_body_is_one_message_field() {
        assert_eq!(
            message_from_json(br#"{"message": " cake "}"#).unwrap(),
            "cake"
        );
        for (body, code) in [
            (&b"cake"[..], "invalid_json"),
            (br#"["cake"]"#, "invalid_json"),
            (br#"{"message": "cake", "to": "all"}"#, "invalid_json"),
            (br#"{"message": 5}"#, "invalid_message"),
            (br#"{}"#, "invalid_message"),
            (br#"{"message": ""}"#, "invalid_message"),
        ] {
            let e = message_from_json(body).unwrap_err();
            assert_eq!(
                (e.status, e.code),
                (StatusCode::BAD_REQUEST, code),
                "{body:?}"
            );
        }
    }

    #[test]
    fn one_recipient_per_person_with_any_of_their_emails() {
        let entries: Vec<Participant> = serde_json::from_value(json!([
            {"id": "u-ann", "participant_uuid": "P1", "user_name": "Ann", "email": "", "status": "in_meeting"},
            {"id": "u-ann", "participant_uuid": "P2", "user_name": "Ann", "email": "Ann@Example.com", "status": "in_meeting"},
            {"participant_uuid": "P3", "user_name": "Guest Gus", "email": "", "status": "in_meeting"},
            {"participant_uuid": "P4", "user_name": "Wendy", "email": "wendy@example.com", "status": "in_waiting_room"},
            {"participant_uuid": "P5", "user_name": "Lou", "email": "lou@example.com", "status": "in_meeting", "leave_time": "2026-11-22T20:00:00Z"},
        ]))
        .unwrap();
        assert_eq!(
            recipients(&entries),
            vec![
                Recipient {
                    name: "Ann".into(),
                    email: Some("ann@example.com".into())
                },
                Recipient {
                    name: "Guest Gus".into(),
                    email: None
                },
            ]
        );
    }

    #[test]
    fn status_follows_what_was_sent() {
        let mut r = Report {
            skipped: 1,
            ..Report::default()
        };
        r.failed.push(failed("a@example.com", "rate_limited"));
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        r.sent.push(Sent {
            email: "b@example.com".into(),
            message_id: "m".into(),
        });
        assert_eq!(r.status(), StatusCode::OK);
    }
}
