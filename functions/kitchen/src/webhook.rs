//! Zoom webhooks, as three pure steps — no I/O and no clock (the caller passes
//! `now`), so all of it is testable without AWS:
//!
//! 1. [`verify`] the signature over the raw body bytes (before anything else,
//!    and before revealing anything about this side's configuration);
//! 2. [`parse_event`] them into a [`WebhookEvent`] (identities by
//!    [`crate::people`], names bounded by [`display_name`]);
//! 3. [`decide`]: answer the URL validation, ignore other meetings, bound
//!    event times; what a recorded event changes is [`crate::presence::plan`].
//!
//! Nothing here ever formats the secret, the signature or the body into an error.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use lambda_http::http::HeaderMap;
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::headers::{HeaderError, at_most_one};
use crate::people::{Identity, display_name};
use crate::rooms::{Room, Rooms};
use crate::secret::Secret;
use crate::time::{parse_rfc3339, unix_millis};

type HmacSha256 = Hmac<Sha256>;

pub const SIGNATURE_HEADER: &str = "x-zm-signature";
pub const TIMESTAMP_HEADER: &str = "x-zm-request-timestamp";
/// How far the request timestamp may be from now, either way.
pub const MAX_SKEW_SECS: u64 = 300;

/// Why a delivery was refused. Names the reason only: never the secret, the
/// signature or the body; and nothing about this side's configuration (a
/// missing secret token reads as a signature that does not match).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookReject {
    #[error("the x-zm-signature header is missing")]
    MissingSignature,
    #[error("the x-zm-request-timestamp header is missing")]
    MissingTimestamp,
    #[error("the {0} header appears more than once")]
    DuplicateHeader(&'static str),
    #[error("the x-zm-signature header is not \"v0=\" followed by 64 hex digits")]
    MalformedSignature,
    #[error("the x-zm-request-timestamp header is not a unix time in seconds")]
    MalformedTimestamp,
    #[error("the request timestamp is more than {MAX_SKEW_SECS} s away from now")]
    StaleTimestamp,
    #[error("the signature does not match the body")]
    BadSignature,
}

/// Checks Zoom's `x-zm-signature` over the raw body: `v0=` + hex(HMAC-SHA256(secret,
/// "v0:" + timestamp + ":" + body)), with the timestamp within [`MAX_SKEW_SECS`]
/// of `now`. Fails closed on anything missing, repeated (API Gateway's
/// comma-joined form, see [`crate::headers`]) or malformed; the MAC is compared
/// in constant time. An empty `secret` (none configured) goes through the same
/// steps and fails as [`WebhookReject::BadSignature`], so a caller cannot tell
/// it from a wrong signature.
pub fn verify(
    secret: &Secret,
    headers: &HeaderMap,
    raw_body: &[u8],
    now: SystemTime,
) -> Result<(), WebhookReject> {
    let signature =
        single_header(headers, SIGNATURE_HEADER)?.ok_or(WebhookReject::MissingSignature)?;
    let timestamp =
        single_header(headers, TIMESTAMP_HEADER)?.ok_or(WebhookReject::MissingTimestamp)?;
    let sent_at = parse_timestamp(timestamp)?;
    let now_s = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    if sent_at.abs_diff(now_s) > MAX_SKEW_SECS {
        return Err(WebhookReject::StaleTimestamp);
    }
    let expected = decode_signature(signature)?;
    let mut mac = hmac(secret);
    mac.update(b"v0:");
    mac.update(timestamp);
    mac.update(b":");
    mac.update(raw_body);
    let matches = mac.verify_slice(&expected).is_ok();
    if matches && !secret.is_empty() {
        Ok(())
    } else {
        Err(WebhookReject::BadSignature)
    }
}

/// The answer to `endpoint.url_validation`:
/// `{"plainToken": p, "encryptedToken": hex(HMAC-SHA256(secret, p))}` (lowercase hex).
pub fn url_validation_response(secret: &Secret, plain_token: &str) -> Value {
    let mut mac = hmac(secret);
    mac.update(plain_token.as_bytes());
    json!({ "plainToken": plain_token, "encryptedToken": hex::encode(mac.finalize().into_bytes()) })
}

fn hmac(secret: &Secret) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    <HmacSha256 as Mac>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

/// The header's bytes when it is there exactly once; blank counts as missing.
fn single_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a [u8]>, WebhookReject> {
    match at_most_one(headers, name) {
        Ok(value) => Ok(value
            .map(str::as_bytes)
            .filter(|v| !v.trim_ascii().is_empty())),
        Err(HeaderError::Duplicated) => Err(WebhookReject::DuplicateHeader(name)),
        Err(HeaderError::Missing) => Ok(None),
        Err(HeaderError::Invalid) if name == SIGNATURE_HEADER => {
            Err(WebhookReject::MalformedSignature)
        }
        Err(HeaderError::Invalid) => Err(WebhookReject::MalformedTimestamp),
    }
}

fn parse_timestamp(raw: &[u8]) -> Result<u64, WebhookReject> {
    // Seconds: 10 digits until 2286. Signed over exactly these bytes, so no trimming.
    if raw.is_empty() || raw.len() > 12 || !raw.iter().all(u8::is_ascii_digit) {
        return Err(WebhookReject::MalformedTimestamp);
    }
    Ok(raw
        .iter()
        .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0')))
}

fn decode_signature(raw: &[u8]) -> Result<[u8; 32], WebhookReject> {
    let hex_part = raw
        .strip_prefix(b"v0=")
        .ok_or(WebhookReject::MalformedSignature)?;
    let mut out = [0u8; 32];
    if hex_part.len() != 64 {
        return Err(WebhookReject::MalformedSignature);
    }
    hex::decode_to_slice(hex_part, &mut out).map_err(|_| WebhookReject::MalformedSignature)?;
    Ok(out)
}

/// What a participant event says about one session (one device, one join).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `meeting.participant_joined`: in the kitchen.
    Joined,
    /// `meeting.participant_left`: gone.
    Left,
    /// `meeting.participant_joined_waiting_room`: waiting, not in the kitchen.
    WaitingRoomJoined,
    /// `meeting.participant_put_in_waiting_room`: the host moved a present person out.
    PutInWaitingRoom,
    /// `meeting.participant_left_waiting_room`: either admitted (a
    /// `participant_joined` follows) or gave up; neither changes who is in.
    WaitingRoomLeft,
    /// `meeting.participant_admitted`: `participant_joined` follows and decides.
    Admitted,
}

impl Change {
    fn from_event(event: &str) -> Option<Self> {
        Some(match event {
            "meeting.participant_joined" => Self::Joined,
            "meeting.participant_left" => Self::Left,
            "meeting.participant_joined_waiting_room" => Self::WaitingRoomJoined,
            "meeting.participant_put_in_waiting_room" => Self::PutInWaitingRoom,
            "meeting.participant_left_waiting_room" => Self::WaitingRoomLeft,
            "meeting.participant_admitted" => Self::Admitted,
            _ => return None,
        })
    }

    pub fn event_type(self) -> &'static str {
        match self {
            Self::Joined => "meeting.participant_joined",
            Self::Left => "meeting.participant_left",
            Self::WaitingRoomJoined => "meeting.participant_joined_waiting_room",
            Self::PutInWaitingRoom => "meeting.participant_put_in_waiting_room",
            Self::WaitingRoomLeft => "meeting.participant_left_waiting_room",
            Self::Admitted => "meeting.participant_admitted",
        }
    }

    /// The payload field holding the time of the change.
    fn time_field(self) -> &'static str {
        match self {
            Self::Joined => "join_time",
            Self::Left => "leave_time",
            _ => "date_time",
        }
    }
}

/// A verified delivery, reduced to what the presence store needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    UrlValidation {
        plain_token: String,
    },
    MeetingStarted {
        meeting_id: String,
        at_ms: u64,
    },
    MeetingEnded {
        meeting_id: String,
        at_ms: u64,
    },
    Participant {
        meeting_id: String,
        change: Change,
        /// [`Identity::person_key`], as for dashboard entries.
        person_key: String,
        /// [`Identity::session_key`]: one device/join.
        session_key: String,
        /// [`display_name`]: bounded, no control characters.
        name: Option<String>,
        /// When the change happened (`join_time` / `leave_time` / `date_time`),
        /// else `event_ts`; whole seconds, as Zoom's times are.
        at_ms: u64,
        /// When Zoom emitted the event (ms, never 0); breaks ties between
        /// changes within one second.
        event_ts: u64,
    },
    /// Not about presence, or unusable; answered 200 so Zoom does not retry.
    Ignored {
        event: String,
        reason: &'static str,
    },
}

impl WebhookEvent {
    /// The Zoom event type, for logs.
    pub fn event_type(&self) -> &str {
        match self {
            Self::UrlValidation { .. } => "endpoint.url_validation",
            Self::MeetingStarted { .. } => "meeting.started",
            Self::MeetingEnded { .. } => "meeting.ended",
            Self::Participant { change, .. } => change.event_type(),
            Self::Ignored { event, .. } => event,
        }
    }

    pub fn meeting_id(&self) -> Option<&str> {
        match self {
            Self::MeetingStarted { meeting_id, .. }
            | Self::MeetingEnded { meeting_id, .. }
            | Self::Participant { meeting_id, .. } => Some(meeting_id),
            Self::UrlValidation { .. } | Self::Ignored { .. } => None,
        }
    }
}

/// The body cannot be read as a Zoom event at all (answered 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not a JSON object")]
    NotJson,
    #[error("the body has no \"event\" field")]
    NoEventType,
    #[error("endpoint.url_validation without payload.plainToken")]
    NoPlainToken,
}

/// Parses a delivery that [`verify`] has accepted. Known event types missing
/// what presence needs (meeting id, identity, time) become [`WebhookEvent::Ignored`]:
/// Zoom's retries would not fix them.
pub fn parse_event(raw_body: &[u8]) -> Result<WebhookEvent, ParseError> {
    let value: Value = serde_json::from_slice(raw_body).map_err(|_| ParseError::NotJson)?;
    let root = value.as_object().ok_or(ParseError::NotJson)?;
    let event = root
        .get("event")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
        .ok_or(ParseError::NoEventType)?;
    let payload = root.get("payload").and_then(Value::as_object);
    let event_ts = root.get("event_ts").and_then(millis);
    let object = payload
        .and_then(|p| p.get("object"))
        .and_then(Value::as_object);
    let ignored = |reason| {
        Ok(WebhookEvent::Ignored {
            event: event.to_owned(),
            reason,
        })
    };

    if event == "endpoint.url_validation" {
        // Echoed and hashed exactly as sent: no trimming.
        let token = payload
            .and_then(|p| p.get("plainToken"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or(ParseError::NoPlainToken)?;
        return Ok(WebhookEvent::UrlValidation {
            plain_token: token.to_owned(),
        });
    }
    let change = Change::from_event(event);
    if change.is_none() && !matches!(event, "meeting.started" | "meeting.ended") {
        return ignored("not a presence event");
    }
    let Some(object) = object else {
        return ignored("no payload.object");
    };
    let Some(meeting_id) = object.get("id").and_then(meeting_id) else {
        return ignored("no meeting id");
    };
    let time = |field: &str| object_time(object, field).or(event_ts).map(whole_second);

    match (event, change) {
        ("meeting.started", _) => match time("start_time") {
            Some(at_ms) => Ok(WebhookEvent::MeetingStarted { meeting_id, at_ms }),
            None => ignored("no time"),
        },
        ("meeting.ended", _) => match time("end_time") {
            Some(at_ms) => Ok(WebhookEvent::MeetingEnded { meeting_id, at_ms }),
            None => ignored("no time"),
        },
        (_, Some(change)) => {
            let Some(p) = object.get("participant").and_then(Value::as_object) else {
                return ignored("no participant");
            };
            let Some(at_ms) = object_time(p, change.time_field())
                .or(event_ts)
                .map(whole_second)
            else {
                return ignored("no time");
            };
            let (account, email, uuid, user_id) = (
                text(p, "participant_user_id").or_else(|| text(p, "id")),
                text(p, "email"),
                text(p, "participant_uuid"),
                text(p, "user_id"),
            );
            let identity = Identity {
                account_id: account.as_deref(),
                email: email.as_deref(),
                participant_uuid: uuid.as_deref(),
                user_id: user_id.as_deref(),
            };
            let (Some(person), Some(session)) = (identity.person_key(), identity.session_key())
            else {
                return ignored("participant has no identity");
            };
            Ok(WebhookEvent::Participant {
                meeting_id,
                change,
                session_key: session,
                person_key: person,
                name: text(p, "user_name").as_deref().and_then(display_name),
                at_ms,
                // Never 0: that marks reconcile's writes in the presence table.
                event_ts: event_ts.unwrap_or(at_ms).max(1),
            })
        }
        _ => ignored("not a presence event"),
    }
}

/// How far ahead of this side's clock an event time may be; later ones are
/// clamped to now, so no row becomes unbeatable and no room fresh forever.
pub const MAX_FUTURE_MS: u64 = MAX_SKEW_SECS * 1000;

/// What to do with a verified, parsed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'r> {
    /// Answer Zoom's URL validation with this body.
    Answer(Value),
    /// Nothing to store; answered 200 so Zoom does not retry.
    Ignore { reason: &'static str },
    /// Record this event for the room whose meeting it is (its times bounded
    /// by `now`).
    Record { room: &'r Room, event: WebhookEvent },
}

/// The last pure step: URL validation is answered, events for meetings that
/// are none of `rooms`' and unusable ones ignored, and times more than
/// [`MAX_FUTURE_MS`] ahead of `now` clamped to `now` (whole seconds;
/// `event_ts` to the millisecond).
pub fn decide<'r>(
    event: WebhookEvent,
    secret: &Secret,
    rooms: &'r Rooms,
    now: SystemTime,
) -> Decision<'r> {
    let now_ms = unix_millis(now);
    let bound = |t: u64| {
        if t > now_ms.saturating_add(MAX_FUTURE_MS) {
            tracing::warn!(
                ahead_ms = t - now_ms,
                "webhook event time in the future; clamped to now"
            );
            now_ms
        } else {
            t
        }
    };
    match event {
        WebhookEvent::UrlValidation { plain_token } => {
            Decision::Answer(url_validation_response(secret, &plain_token))
        }
        WebhookEvent::Ignored { reason, .. } => Decision::Ignore { reason },
        e => match e.meeting_id().and_then(|id| rooms.by_meeting_id(id)) {
            None => Decision::Ignore {
                reason: "another meeting",
            },
            Some(room) => Decision::Record {
                room,
                event: bounded(e, bound),
            },
        },
    }
}

/// `event` with its times passed through `bound`, in whole seconds
/// (`event_ts` to the millisecond, at least 1).
fn bounded(mut event: WebhookEvent, bound: impl Fn(u64) -> u64) -> WebhookEvent {
    match &mut event {
        WebhookEvent::MeetingStarted { at_ms, .. } | WebhookEvent::MeetingEnded { at_ms, .. } => {
            *at_ms = whole_second(bound(*at_ms));
        }
        WebhookEvent::Participant {
            at_ms, event_ts, ..
        } => {
            *at_ms = whole_second(bound(*at_ms));
            *event_ts = bound(*event_ts).max(1);
        }
        WebhookEvent::UrlValidation { .. } | WebhookEvent::Ignored { .. } => {}
    }
    event
}

/// Zoom's event times have whole seconds; so has everything compared with
/// them (the presence table's one precision).
pub fn whole_second(ms: u64) -> u64 {
    ms / 1000 * 1000
}

/// A non-empty string, or a number as text (Zoom sends some ids either way).
fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Zoom sends the meeting id as a number or as a string.
fn meeting_id(v: &Value) -> Option<String> {
    let raw = match v {
        Value::Number(n) => n.as_u64()?.to_string(),
        Value::String(s) => s.chars().filter(|c| !c.is_whitespace()).collect(),
        _ => return None,
    };
    (!raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit())).then_some(raw)
}

fn millis(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn object_time(obj: &Map<String, Value>, field: &str) -> Option<u64> {
    obj.get(field)
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
        .map(unix_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn participant_body(event: &str, participant: Value) -> Vec<u8> {
        json!({
            "event": event,
            "event_ts": 1_795_464_332_123_u64,
            "payload": {"account_id": "acc", "object": {"id": 85_746_065_432_u64, "uuid": "u==", "participant": participant}},
        })
        .to_string()
        .into_bytes()
    }

    // Epoch values checked with python3 `calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))`:
    // 2026-11-22T20:05:30Z = 1795377930, 2026-11-22T20:00:00Z = 1795377600.

    #[test]
    fn joined_with_numeric_meeting_id_and_signed_in_user() {
        let body = participant_body(
            "meeting.participant_joined",
            json!({"user_id": "16778240", "user_name": " Alice ", "id": "", "participant_user_id": "zoom-alice",
                   "participant_uuid": "P-1", "email": "Alice@Example.com", "join_time": "2026-11-22T20:05:30Z"}),
        );
        let WebhookEvent::Participant {
            meeting_id,
            change,
            person_key,
            session_key,
            name,
            at_ms,
            event_ts,
        } = parse_event(&body).unwrap()
        else {
            panic!("expected a participant event")
        };
        assert_eq!(meeting_id, "85746065432");
        assert_eq!(change, Change::Joined);
        assert_eq!(person_key, "user:zoom-alice");
        assert_eq!(session_key, "P-1");
        assert_eq!(name.as_deref(), Some("Alice"));
        assert_eq!(at_ms, 1_795_377_930_000);
        assert_eq!(event_ts, 1_795_464_332_123);
    }

    #[test]
    fn left_uses_leave_time_and_falls_back_to_email_then_join_id() {
        let body = participant_body(
            "meeting.participant_left",
            json!({"user_id": 16778240, "id": "", "email": "Bob@Example.com",
                   "join_time": "2026-11-22T19:00:00Z", "leave_time": "2026-11-22T20:00:00Z"}),
        );
        let WebhookEvent::Participant {
            person_key,
            session_key,
            at_ms,
            change,
            ..
        } = parse_event(&body).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (change, person_key.as_str(), session_key.as_str()),
            (Change::Left, "email:bob@example.com", "16778240")
        );
        assert_eq!(at_ms, 1_795_377_600_000);

        let body = participant_body(
            "meeting.participant_left",
            json!({"participant_uuid": "P-9", "user_name": "Guest"}),
        );
        let WebhookEvent::Participant {
            person_key, at_ms, ..
        } = parse_event(&body).unwrap()
        else {
            panic!()
        };
        assert_eq!(person_key, "join:P-9");
        assert_eq!(
            at_ms, 1_795_464_332_000,
            "no leave_time: event_ts, in whole seconds like every stored time"
        );
    }

    #[test]
    fn meeting_events_and_string_ids() {
        let body = json!({"event": "meeting.ended", "event_ts": 5, "payload": {"object": {"id": "857 4606 5432", "end_time": "2026-11-22T20:00:00Z"}}});
        assert_eq!(
            parse_event(body.to_string().as_bytes()).unwrap(),
            WebhookEvent::MeetingEnded {
                meeting_id: "85746065432".into(),
                at_ms: 1_795_377_600_000
            }
        );
        let body = json!({"event": "meeting.started", "event_ts": 7_500, "payload": {"object": {"id": 123456789}}});
        assert_eq!(
            parse_event(body.to_string().as_bytes()).unwrap(),
            WebhookEvent::MeetingStarted {
                meeting_id: "123456789".into(),
                at_ms: 7_000
            }
        );
    }

    #[test]
    fn waiting_room_events_use_date_time() {
        let body = participant_body(
            "meeting.participant_joined_waiting_room",
            json!({"participant_uuid": "W-1", "user_name": "Dave", "date_time": "2026-11-22T20:00:00Z"}),
        );
        let WebhookEvent::Participant { change, at_ms, .. } = parse_event(&body).unwrap() else {
            panic!()
        };
        assert_eq!(
            (change, at_ms),
            (Change::WaitingRoomJoined, 1_795_377_600_000)
        );
        for (event, change) in [
            (
                "meeting.participant_put_in_waiting_room",
                Change::PutInWaitingRoom,
            ),
            (
                "meeting.participant_left_waiting_room",
                Change::WaitingRoomLeft,
            ),
            ("meeting.participant_admitted", Change::Admitted),
        ] {
            let parsed =
                parse_event(&participant_body(event, json!({"participant_uuid": "W-1"}))).unwrap();
            assert!(
                matches!(parsed, WebhookEvent::Participant { change: c, .. } if c == change),
                "{event}"
            );
            assert_eq!(parsed.event_type(), event);
        }
    }

    #[test]
    fn unusable_or_unknown_events_are_ignored_not_errors() {
        let cases = [
            participant_body("meeting.participant_joined", json!({"user_name": "Nobody"})),
            json!({"event": "meeting.participant_joined", "payload": {"object": {"participant": {"participant_uuid": "x"}}}}).to_string().into_bytes(),
            json!({"event": "meeting.participant_joined", "payload": {"object": {"id": "12ab", "participant": {"participant_uuid": "x"}}}}).to_string().into_bytes(),
            json!({"event": "meeting.participant_joined", "payload": {"object": {"id": 1, "participant": {"participant_uuid": "x"}}}}).to_string().into_bytes(),
            json!({"event": "recording.completed", "payload": {}}).to_string().into_bytes(),
        ];
        for body in cases {
            assert!(
                matches!(parse_event(&body), Ok(WebhookEvent::Ignored { .. })),
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn malformed_bodies() {
        assert_eq!(parse_event(b"not json"), Err(ParseError::NotJson));
        assert_eq!(parse_event(b"[1]"), Err(ParseError::NotJson));
        assert_eq!(parse_event(b"{}"), Err(ParseError::NoEventType));
        assert_eq!(
            parse_event(br#"{"event":"endpoint.url_validation","payload":{}}"#),
            Err(ParseError::NoPlainToken)
        );
        assert_eq!(
            parse_event(br#"{"event":"endpoint.url_validation","payload":{"plainToken":"abc"}}"#),
            Ok(WebhookEvent::UrlValidation {
                plain_token: "abc".into()
            })
        );
    }

    #[test]
    fn names_are_bounded_and_stripped_of_control_characters() {
        let long = format!("Eve\u{1b}[2J\n{}", "x".repeat(500));
        let body = participant_body(
            "meeting.participant_joined",
            json!({"participant_uuid": "P-1", "user_name": long}),
        );
        let WebhookEvent::Participant { name, .. } = parse_event(&body).unwrap() else {
            panic!()
        };
        let name = name.unwrap();
        assert_eq!(name.chars().count(), crate::people::MAX_NAME_CHARS);
        assert!(name.starts_with("Eve[2Jxxx"), "{name}");
        let body = participant_body(
            "meeting.participant_joined",
            json!({"participant_uuid": "P-1", "user_name": "\u{7}\t "}),
        );
        assert!(matches!(
            parse_event(&body).unwrap(),
            WebhookEvent::Participant { name: None, .. }
        ));
    }

    fn joined_at(at_ms: u64, event_ts: u64, meeting_id: &str) -> WebhookEvent {
        WebhookEvent::Participant {
            meeting_id: meeting_id.into(),
            change: Change::Joined,
            person_key: "join:P-1".into(),
            session_key: "P-1".into(),
            name: None,
            at_ms,
            event_ts,
        }
    }

    #[test]
    fn decide_clamps_future_times_and_finds_the_room() {
        let secret = Secret::new("s");
        let rooms = Rooms::parse(r#"{"kitchen":"111111111","lounge":"222222222"}"#).unwrap();
        let (kitchen, lounge) = (rooms.get("kitchen").unwrap(), rooms.get("lounge").unwrap());
        let now_ms = 1_795_464_332_456;
        let now = UNIX_EPOCH + std::time::Duration::from_millis(now_ms);
        // A year ahead: clamped to now, whole seconds.
        let far = now_ms + 365 * 86_400_000;
        assert_eq!(
            decide(joined_at(far, far, "111111111"), &secret, &rooms, now),
            Decision::Record {
                room: kitchen,
                event: joined_at(1_795_464_332_000, now_ms, "111111111")
            }
        );
        // Within the clock-skew allowance: kept; the lounge's meeting is the lounge.
        let near = 1_795_464_332_000 + MAX_FUTURE_MS;
        assert_eq!(
            decide(joined_at(near, near, "222222222"), &secret, &rooms, now),
            Decision::Record {
                room: lounge,
                event: joined_at(near, near, "222222222")
            }
        );
        let ended = WebhookEvent::MeetingEnded {
            meeting_id: "222222222".into(),
            at_ms: u64::MAX,
        };
        assert_eq!(
            decide(ended, &secret, &rooms, now),
            Decision::Record {
                room: lounge,
                event: WebhookEvent::MeetingEnded {
                    meeting_id: "222222222".into(),
                    at_ms: 1_795_464_332_000
                }
            }
        );
        assert_eq!(
            decide(joined_at(5_000, 5_001, "333333333"), &secret, &rooms, now),
            Decision::Ignore {
                reason: "another meeting"
            }
        );
        let validation = WebhookEvent::UrlValidation {
            plain_token: "p".into(),
        };
        assert_eq!(
            decide(validation, &secret, &rooms, now),
            Decision::Answer(url_validation_response(&secret, "p"))
        );
    }
}
