//! Participants joining and leaving, meetings ending, and the signed Zoom
//! webhooks that tell the app about it (delivered with reqwest).

use std::time::SystemTime;

use hmac::{Hmac, Mac};
use kitchen::secret::Secret;
use kitchen::time::{format_rfc3339, unix_millis};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::routes::TIMEZONE;
use crate::state::Meeting;
use crate::util;
use crate::{EndedMeeting, JoinSpec, LeaveSpec, ParticipantEvent, Sim, SimError, WebhookDelivery};

/// `"v0=" + hex(HMAC-SHA256(secret_token, "v0:{timestamp}:" + body))`, Zoom's `x-zm-signature`.
pub fn sign_webhook(secret_token: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_token.as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn is_open(entry: &Value) -> bool {
    entry
        .get("leave_time")
        .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
}

fn str_field<'a>(entry: &'a Value, key: &str) -> &'a str {
    entry.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `payload.object` of a meeting event; `extra` adds fields (participant, end_time).
fn meeting_object(sim: &Sim, m: &Meeting, extra: Value) -> Value {
    let mut o = json!({
        "id": m.id,
        "uuid": m.uuid,
        "host_id": sim.state.tech_user_id(),
        "topic": m.topic,
        "type": m.kind,
        "start_time": format_rfc3339(m.start_time),
        "timezone": TIMEZONE,
        "duration": 0,
    });
    if let (Some(o), Value::Object(extra)) = (o.as_object_mut(), extra) {
        o.extend(extra);
    }
    o
}

fn webhook_participant(entry: &Value, time_key: &str, time: &str) -> Value {
    let mut p = json!({
        "user_id": str_field(entry, "user_id"),
        "user_name": str_field(entry, "user_name"),
        "id": str_field(entry, "id"),
        "participant_uuid": str_field(entry, "participant_uuid"),
        "participant_user_id": str_field(entry, "participant_user_id"),
        "email": str_field(entry, "email"),
        "registrant_id": "",
        "customer_key": "",
        "phone_number": "",
    });
    if let Some(o) = p.as_object_mut() {
        o.insert(time_key.to_owned(), json!(time));
        if time_key == "leave_time" {
            o.insert(
                "leave_reason".to_owned(),
                json!(str_field(entry, "leave_reason")),
            );
        }
    }
    p
}

pub(crate) async fn join(sim: &Sim, spec: JoinSpec) -> Result<ParticipantEvent, SimError> {
    let st = &sim.state;
    let meeting_id = sim.target_meeting(spec.room.as_deref(), spec.meeting_id.as_deref())?;
    let email = spec.email.clone().unwrap_or_default();
    let zoom_id = if email.is_empty() {
        String::new()
    } else {
        st.user_by_email(&email).map(|u| u.id).unwrap_or_default()
    };
    let now = SystemTime::now();
    let join_time = format_rfc3339(now);
    let (entry, meeting) = st.with_meeting(&meeting_id, |m, next_user_id| {
        // Zoom keeps a participant_uuid across rejoins of the same person.
        let same_person = |e: &Value| {
            if email.is_empty() {
                str_field(e, "email").is_empty()
                    && str_field(e, "user_name").eq_ignore_ascii_case(&spec.name)
            } else {
                str_field(e, "email").eq_ignore_ascii_case(&email)
            }
        };
        let participant_uuid = m
            .participants
            .iter()
            .rev()
            .find(|e| same_person(e))
            .map(|e| str_field(e, "participant_uuid").to_owned())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(util::participant_uuid);
        let entry = crate::dashboard_entry(&crate::EntryFields {
            zoom_user_id: &zoom_id,
            user_id: &next_user_id().to_string(),
            participant_uuid: &participant_uuid,
            user_name: &spec.name,
            email: &email,
            device: spec.device.as_deref().unwrap_or("Mac"),
            join_time: &join_time,
            status: if spec.waiting_room {
                "in_waiting_room"
            } else {
                "in_meeting"
            },
            quality: "",
        });
        m.participants.push(entry.clone());
        if !m.running {
            m.running = true;
            m.start_time = now;
        }
        (entry, m.clone())
    });
    let event = if spec.waiting_room {
        "meeting.participant_joined_waiting_room"
    } else {
        "meeting.participant_joined"
    };
    Ok(participant_event(sim, event, entry, &meeting, ("join_time", &join_time)).await)
}

pub(crate) async fn leave(sim: &Sim, spec: LeaveSpec) -> Result<ParticipantEvent, SimError> {
    let st = &sim.state;
    let meeting_id = sim.target_meeting(spec.room.as_deref(), spec.meeting_id.as_deref())?;
    let leave_time = format_rfc3339(SystemTime::now());
    let matches = |e: &Value| {
        let by_email = spec
            .email
            .as_deref()
            .is_some_and(|x| !x.is_empty() && str_field(e, "email").eq_ignore_ascii_case(x));
        let by_name = spec
            .name
            .as_deref()
            .is_some_and(|x| !x.is_empty() && str_field(e, "user_name").eq_ignore_ascii_case(x));
        (by_email || by_name) && is_open(e)
    };
    let (entry, meeting) = st
        .update_meeting(&meeting_id, |m| {
            let entry = m.participants.iter_mut().rev().find(|e| matches(e))?;
            let name = str_field(entry, "user_name").to_owned();
            let obj = entry.as_object_mut()?;
            obj.insert("leave_time".to_owned(), json!(leave_time));
            obj.insert(
                "leave_reason".to_owned(),
                json!(format!("{name} left the meeting.")),
            );
            Some((entry.clone(), m.clone()))
        })
        .ok_or_else(|| SimError::UnknownMeeting(meeting_id.clone()))?
        .ok_or(SimError::NoSuchParticipant)?;
    let event = if str_field(&entry, "status") == "in_waiting_room" {
        "meeting.participant_left_waiting_room"
    } else {
        "meeting.participant_left"
    };
    Ok(participant_event(sim, event, entry, &meeting, ("leave_time", &leave_time)).await)
}

/// Delivers a participant's `event` (its entry with the event's `time` field)
/// and says what was sent.
async fn participant_event(
    sim: &Sim,
    event: &str,
    entry: Value,
    meeting: &Meeting,
    (time_field, time): (&str, &str),
) -> ParticipantEvent {
    let participant = webhook_participant(&entry, time_field, time);
    let object = meeting_object(sim, meeting, json!({ "participant": participant }));
    let webhook = deliver_event(sim, event, object).await;
    ParticipantEvent {
        event: event.to_owned(),
        participant: entry,
        webhook,
    }
}

/// Ends a running meeting: every open entry leaves, it stops running, the end is
/// recorded. The `meeting.ended` delivery is the caller's ([`deliver_ended`]).
pub(crate) fn end(sim: &Sim, meeting_id: &str) -> Result<EndedMeeting, SimError> {
    let now = SystemTime::now();
    let at = format_rfc3339(now);
    let removed = sim
        .state
        .update_meeting(meeting_id, |m| {
            if !m.running {
                return Err(SimError::NotRunning(m.id.clone()));
            }
            let mut removed = 0;
            for e in m.participants.iter_mut().filter(|e| is_open(e)) {
                if let Some(o) = e.as_object_mut() {
                    o.insert("leave_time".to_owned(), json!(at));
                    o.insert(
                        "leave_reason".to_owned(),
                        json!("The host ended the meeting."),
                    );
                    removed += 1;
                }
            }
            m.running = false;
            Ok((m.id.clone(), removed))
        })
        .ok_or_else(|| SimError::UnknownMeeting(meeting_id.to_owned()))??;
    let (id, participants_removed) = removed;
    let ended = EndedMeeting {
        room: sim.state.room_of(&id),
        meeting_id: id,
        ended_at: at,
        participants_removed,
        webhook: None,
    };
    sim.state.record_end(ended.clone());
    Ok(ended)
}

/// Delivers `meeting.ended` for an end; `None` without a webhook target.
pub(crate) async fn deliver_ended(sim: &Sim, ended: &EndedMeeting) -> Option<WebhookDelivery> {
    let m = sim.state.meeting(&ended.meeting_id)?;
    let object = meeting_object(sim, &m, json!({ "end_time": ended.ended_at }));
    deliver_event(sim, "meeting.ended", object).await
}

pub(crate) async fn deliver_event(
    sim: &Sim,
    event: &str,
    object: Value,
) -> Option<WebhookDelivery> {
    let (url, secret) = sim.state.webhook_target()?;
    let now = SystemTime::now();
    let body = json!({
        "event": event,
        "event_ts": unix_millis(now),
        "payload": {
            "account_id": sim.state.cfg.account_id,
            "object": object,
        },
    })
    .to_string();
    let delivery = post_signed(sim, &url, &secret, now, body).await;
    if delivery.status.is_some_and(|s| (200..300).contains(&s)) {
        sim.state.stats.count_webhook();
    }
    match (&delivery.status, &delivery.error) {
        (Some(status), _) => tracing::info!("zoom-sim: webhook {event} -> {url}: {status}"),
        (None, Some(e)) => tracing::warn!("zoom-sim: webhook {event} -> {url} failed: {e}"),
        (None, None) => {}
    }
    Some(delivery)
}

pub(crate) async fn validate_endpoint(sim: &Sim) -> Result<(), String> {
    let (url, secret) = sim
        .state
        .webhook_target()
        .ok_or_else(|| "no webhook target configured".to_owned())?;
    let now = SystemTime::now();
    let plain_token = util::random_token(16);
    let body = json!({
        "payload": {"plainToken": plain_token},
        "event_ts": unix_millis(now),
        "event": "endpoint.url_validation",
    })
    .to_string();
    let delivery = post_signed(sim, &url, &secret, now, body).await;
    if let Some(e) = delivery.error {
        return Err(e);
    }
    if delivery.status != Some(200) {
        return Err(format!(
            "expected 200, got {:?}: {}",
            delivery.status, delivery.body
        ));
    }
    let answer: Value = serde_json::from_str(&delivery.body)
        .map_err(|e| format!("answer is not JSON ({e}): {}", delivery.body))?;
    let expected = kitchen::webhook::url_validation_response(&Secret::new(secret), &plain_token);
    if answer != expected {
        return Err(format!("expected {expected}, got {}", delivery.body));
    }
    Ok(())
}

async fn post_signed(
    sim: &Sim,
    url: &str,
    secret: &str,
    now: SystemTime,
    body: String,
) -> WebhookDelivery {
    let ts = util::unix_secs(now).to_string();
    let sent = sim
        .state
        .http()
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .header("x-zm-signature", sign_webhook(secret, &ts, body.as_bytes()))
        .header("x-zm-request-timestamp", ts)
        .body(body)
        .send()
        .await;
    let answer = match sent {
        Ok(r) => {
            let status = r.status().as_u16();
            r.text().await.map(|body| (status, body))
        }
        Err(e) => Err(e),
    };
    match answer {
        Ok((status, body)) => WebhookDelivery {
            status: Some(status),
            error: None,
            body,
        },
        Err(e) => {
            // reqwest's own message names only the URL; the causes say what failed.
            let mut error = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                error.push_str(&format!(": {c}"));
                cause = c.source();
            }
            WebhookDelivery {
                status: None,
                error: Some(error),
                body: String::new(),
            }
        }
    }
}
