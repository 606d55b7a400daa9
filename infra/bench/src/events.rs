//! The events each function receives, built from the fixtures in `infra/events`.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use serde_json::{Value, json};

use crate::Res;

pub const DEVICE_KEY: &str = "demo-device-key-0001";
/// A viewer's key (the secret's `viewers`): opens the page's `/api/rooms`.
pub const VIEWER_KEY: &str = "demo-viewer-key-0001";
pub const WEBHOOK_SECRET: &str = "demo-webhook-secret-token";
pub const MEETING_ID: &str = "85746065432";

const JOIN_FORM: &str = include_str!("../../events/join-meeting-form.json");
const COUNT: &str = include_str!("../../events/participant-count.json");
const WEBHOOK: &str = include_str!("../../events/webhook-url-validation.json");
const SCHEDULE: &str = include_str!("../../events/reconcile-schedule.json");
const STREAM: &str = include_str!("../../events/dynamodb-stream-join.json");

/// The page's three files, fetched once through the page function for its weight.
pub const PAGE_FILES: [&str; 3] = ["/", "/app.js", "/app.css"];

/// Produces the event of each invocation (the webhook's is signed with the current time).
pub enum EventSource {
    Fixed(Bytes),
    Webhook(Value),
}

impl EventSource {
    pub fn for_function(function: &str) -> Res<EventSource> {
        Ok(match function {
            // POST /join-meeting, form body `email=alice%40example.com` (base64, as HTTP APIs deliver it).
            "invite" => EventSource::Fixed(with_device_key(JOIN_FORM)?),
            // GET /participant-count, plain-text answer.
            "count" => EventSource::Fixed(with_device_key(COUNT)?),
            // POST /zoom/webhook, a signed meeting.participant_joined.
            "webhook" => EventSource::Webhook(serde_json::from_str(WEBHOOK)?),
            // EventBridge rule "Scheduled Event".
            "reconcile" => EventSource::Fixed(Bytes::from_static(SCHEDULE.as_bytes())),
            // GET /api/rooms with a viewer's key.
            "page" => EventSource::Fixed(get(COUNT, "/api/rooms", Some(VIEWER_KEY))?),
            // The presence table's stream, one record (a person joined).
            "notify" => EventSource::Fixed(one_stream_record()?),
            // Any HTTP API event: the floor answers 200 to everything.
            "floor" => EventSource::Fixed(with_device_key(COUNT)?),
            other => return Err(format!("no event defined for function {other}").into()),
        })
    }

    pub fn next(&self) -> Res<Bytes> {
        match self {
            EventSource::Fixed(b) => Ok(b.clone()),
            EventSource::Webhook(template) => signed_webhook(template.clone(), SystemTime::now()),
        }
    }
}

fn with_device_key(fixture: &str) -> Res<Bytes> {
    let mut v: Value = serde_json::from_str(fixture)?;
    v["headers"]["authorization"] = json!(format!("Bearer {DEVICE_KEY}"));
    Ok(serde_json::to_vec(&v)?.into())
}

/// An HTTP API `GET path` event, built from the count's fixture.
pub fn get(fixture: &str, path: &str, bearer: Option<&str>) -> Res<Bytes> {
    let mut v: Value = serde_json::from_str(fixture)?;
    v["rawPath"] = json!(path);
    v["routeKey"] = json!(format!("GET {path}"));
    v["requestContext"]["routeKey"] = json!(format!("GET {path}"));
    v["requestContext"]["http"]["path"] = json!(path);
    let headers = v["headers"]
        .as_object_mut()
        .ok_or("fixture without headers")?;
    headers.remove("authorization");
    if let Some(key) = bearer {
        headers.insert("authorization".into(), json!(format!("Bearer {key}")));
    }
    Ok(serde_json::to_vec(&v)?.into())
}

/// `GET path` of one of the page's files, as a browser asks for it.
pub fn page_file(path: &str) -> Res<Bytes> {
    get(COUNT, path, None)
}

fn one_stream_record() -> Res<Bytes> {
    let mut v: Value = serde_json::from_str(STREAM)?;
    let records = v["Records"]
        .as_array_mut()
        .ok_or("stream fixture without Records")?;
    records.truncate(1);
    Ok(serde_json::to_vec(&v)?.into())
}

fn signed_webhook(mut event: Value, now: SystemTime) -> Res<Bytes> {
    let since_epoch = now.duration_since(UNIX_EPOCH)?;
    let ts = since_epoch.as_secs().to_string();
    let join_time = zoom_sim::rfc3339(now);
    let body = json!({
        "event": "meeting.participant_joined",
        "event_ts": since_epoch.as_millis() as u64,
        "payload": {
            "account_id": zoom_sim::DEMO_ACCOUNT_ID,
            "object": {
                "id": MEETING_ID,
                "uuid": "4444AAAiAAAAAiAiAiiAii==",
                "host_id": "z8yAAAAA8bbbQ",
                "topic": "Coffee Kitchen",
                "type": 3,
                "start_time": "2026-11-22T08:00:00Z",
                "timezone": "Europe/Berlin",
                "duration": 0,
                "participant": {
                    "user_id": "16778240",
                    "user_name": "Alice",
                    "id": "alice-zoom-id",
                    "participant_uuid": "55555AAAiAAAAAiAiAiiAii==",
                    "participant_user_id": "alice-zoom-id",
                    "email": "alice@example.com",
                    "registrant_id": "",
                    "customer_key": "",
                    "phone_number": "",
                    "join_time": join_time,
                }
            }
        }
    })
    .to_string();
    let signature = zoom_sim::sign_webhook(WEBHOOK_SECRET, &ts, body.as_bytes());
    let headers = &mut event["headers"];
    headers["content-length"] = json!(body.len().to_string());
    headers["x-zm-request-timestamp"] = json!(ts);
    headers["x-zm-signature"] = json!(signature);
    event["body"] = json!(body);
    event["isBase64Encoded"] = json!(false);
    event["requestContext"]["timeEpoch"] = json!(since_epoch.as_millis() as u64);
    Ok(serde_json::to_vec(&event)?.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_build_and_webhook_is_signed() {
        for f in [
            "invite",
            "count",
            "webhook",
            "reconcile",
            "page",
            "notify",
            "floor",
        ] {
            let e = EventSource::for_function(f).unwrap().next().unwrap();
            let v: Value = serde_json::from_slice(&e).unwrap();
            assert!(v.is_object());
        }
        let e = EventSource::for_function("webhook")
            .unwrap()
            .next()
            .unwrap();
        let v: Value = serde_json::from_slice(&e).unwrap();
        let body = v["body"].as_str().unwrap();
        let ts = v["headers"]["x-zm-request-timestamp"].as_str().unwrap();
        assert_eq!(
            v["headers"]["x-zm-signature"],
            zoom_sim::sign_webhook(WEBHOOK_SECRET, ts, body.as_bytes())
        );
        let count = EventSource::for_function("count").unwrap().next().unwrap();
        assert!(String::from_utf8_lossy(&count).contains(DEVICE_KEY));
        let page: Value =
            serde_json::from_slice(&EventSource::for_function("page").unwrap().next().unwrap())
                .unwrap();
        assert_eq!(page["rawPath"], "/api/rooms");
        assert_eq!(page["requestContext"]["http"]["path"], "/api/rooms");
        assert_eq!(
            page["headers"]["authorization"],
            format!("Bearer {VIEWER_KEY}")
        );
        let css: Value = serde_json::from_slice(&page_file("/app.css").unwrap()).unwrap();
        assert_eq!(css["rawPath"], "/app.css");
        assert!(css["headers"].get("authorization").is_none());
        let notify: Value =
            serde_json::from_slice(&EventSource::for_function("notify").unwrap().next().unwrap())
                .unwrap();
        assert_eq!(notify["Records"].as_array().unwrap().len(), 1);
    }
}
