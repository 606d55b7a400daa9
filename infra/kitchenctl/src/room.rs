//! `room create` and `status`.

use std::time::SystemTime;

use kitchen::presence::PresenceStore;
use kitchen::rooms::Rooms;
use serde_json::{Map, Value, json};

use crate::doctor::ago;
use crate::outcome::{CtlError, Report};
use crate::settings::Settings;
use crate::zoom;

/// What a permanent room needs (ZOOM.md): recurring with no fixed time, join
/// before the host at any time, no waiting room (which would disable it).
fn create_body(topic: &str, room: &str) -> Value {
    json!({
        "topic": topic,
        "type": 3,
        "agenda": format!("The Coffee Kitchen room \"{room}\": drop in any time."),
        "settings": { "join_before_host": true, "jbh_time": 0, "waiting_room": false },
    })
}

pub async fn create(
    settings: &Settings,
    name: &str,
    host: &str,
    topic: Option<String>,
) -> Result<Report, CtlError> {
    kitchen::rooms::validate_name(name)
        .map_err(|why| CtlError::usage("invalid_room", format!("room name {name:?}: {why}")))?;
    let topic = topic.unwrap_or_else(|| format!("Coffee Kitchen: {name}"));
    // Rooms already configured, to print the whole value to deploy with.
    let env = settings.env();
    let configured = if env.get("KITCHEN_ROOMS").is_some() || env.get("ZOOM_MEETING_ID").is_some() {
        Some(settings.rooms()?)
    } else {
        None
    };
    let z = zoom::connect(settings).await?;
    let existing = z
        .client
        .user_meetings(&z.creds, host)
        .await
        .map_err(|e| zoom::error(&e, &format!("listing the meetings of {host}")))?
        .into_iter()
        .find(|m| m.kind == Some(3) && m.topic.as_deref() == Some(topic.as_str()));
    let (meeting, created) = match existing {
        Some(m) => {
            let full = z
                .client
                .meeting(&z.creds, &m.id.to_string())
                .await
                .map_err(|e| zoom::error(&e, &format!("reading meeting {}", m.id)))?;
            (full, false)
        }
        None => {
            let m = z
                .client
                .create_meeting(&z.creds, host, &create_body(&topic, name))
                .await
                .map_err(|e| zoom::error(&e, &format!("creating a meeting for {host}")))?;
            (m, true)
        }
    };
    let id = meeting.id.to_string();
    let join_url = meeting.join_url.clone().unwrap_or_default();
    let rooms_value = rooms_value(configured.as_ref(), name, &id);
    let mut text = if created {
        format!("Created the meeting for room {name:?}: {id} (host {host}, topic {topic:?}).\n")
    } else {
        format!(
            "Room {name:?} already has its meeting: {id} (host {host}, topic {topic:?}); nothing was created.\n"
        )
    };
    text.push_str(&format!("Join URL: {join_url}\n"));
    text.push_str(&format!("Deploy with Rooms='{rooms_value}'\n"));
    text.push_str(
        "  (make deploy asks for Rooms; or: sam deploy --parameter-overrides Rooms='…')\n",
    );
    Ok(Report::new(
        json!({
            "room": name,
            "created": created,
            "meeting_id": id,
            "join_url": join_url,
            "topic": topic,
            "host": host,
            "rooms": rooms_value,
        }),
        text,
    ))
}

/// The `Rooms` parameter: the configured rooms (same form as given) with this
/// room's meeting id set.
fn rooms_value(configured: Option<&Rooms>, name: &str, meeting_id: &str) -> String {
    let mut map = Map::new();
    for r in configured.into_iter().flat_map(|r| r.iter()) {
        let mut extra = Map::new();
        if let Some(u) = &r.join_url {
            extra.insert("join_url".into(), json!(u));
        }
        if let Some(c) = &r.channel {
            extra.insert("channel".into(), json!(c));
        }
        let v = if extra.is_empty() {
            json!(r.meeting_id)
        } else {
            extra.insert("meeting_id".into(), json!(r.meeting_id));
            Value::Object(extra)
        };
        map.insert(r.name.clone(), v);
    }
    match map.get_mut(name) {
        Some(Value::Object(o)) => {
            o.insert("meeting_id".into(), json!(meeting_id));
        }
        _ => {
            map.insert(name.to_owned(), json!(meeting_id));
        }
    }
    Value::Object(map).to_string()
}

pub async fn status(settings: &Settings) -> Result<Report, CtlError> {
    let rooms = settings.rooms()?;
    let source = settings.count_source()?;
    let fresh_for = kitchen::presence::fresh_for(&settings.env())?;
    let store = match settings.presence_table() {
        Some(t) => Some(PresenceStore::new(settings.sdk().await, t)),
        None => None,
    };
    let mut zoom_conn = None;
    let now = SystemTime::now();
    let now_ms = kitchen::time::unix_millis(now);
    let mut rows = Vec::new();
    let mut text = String::new();
    for room in rooms.iter() {
        let presence = match (&store, source.as_str()) {
            (Some(store), "presence" | "webhook" | "auto") => {
                Some(store.read(&room.meeting_id).await.map_err(|e| {
                    CtlError::new("presence_unavailable", format!("the presence table: {e}"))
                })?)
            }
            _ => None,
        };
        let fresh = presence
            .as_ref()
            .is_some_and(|p| p.is_fresh(fresh_for, now_ms));
        let use_presence =
            matches!(source.as_str(), "presence" | "webhook") || (source == "auto" && fresh);
        let (count, from) = match (&presence, use_presence) {
            (Some(p), true) => (p.count, "presence"),
            _ => {
                if zoom_conn.is_none() {
                    zoom_conn = Some(zoom::connect(settings).await?);
                }
                let z = zoom_conn.as_ref().expect("connected above");
                let live = z
                    .client
                    .live_participants(&z.creds, &room.meeting_id)
                    .await
                    .map_err(|e| {
                        zoom::error(&e, &format!("reading the dashboard of room {}", room.name))
                    })?;
                (
                    kitchen::participants::present_people(&live).count(),
                    "dashboard",
                )
            }
        };
        let last_webhook = presence.as_ref().and_then(|p| p.last_event_at_ms);
        let last_reconcile = presence.as_ref().and_then(|p| p.verified_at_ms);
        let staleness = match (from, last_webhook) {
            ("dashboard", _) => "live from Zoom".to_owned(),
            (_, Some(_)) if fresh => "fresh".to_owned(),
            (_, Some(_)) => format!(
                "STALE (no webhook in the last {} min)",
                fresh_for.as_secs() / 60
            ),
            (_, None) => "STALE (no webhook yet)".to_owned(),
        };
        let activity = match &presence {
            Some(_) => format!(
                "last webhook {}, last reconcile {}",
                ago(last_webhook, now),
                ago(last_reconcile, now)
            ),
            None => "presence not used".to_owned(),
        };
        text.push_str(&format!(
            "{:<12} {:>3} people  from {:<9}  {staleness}; {activity}\n",
            room.name, count, from
        ));
        rows.push(json!({
            "room": room.name,
            "meeting_id": room.meeting_id,
            "count": count,
            "source": from,
            "stale": from != "dashboard" && !fresh,
            "last_webhook_ms": last_webhook,
            "last_reconcile_ms": last_reconcile,
        }));
    }
    Ok(Report::new(
        json!({ "count_source": source, "rooms": rows }),
        text,
    ))
}
