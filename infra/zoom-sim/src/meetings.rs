//! Meetings and users: `GET /v2/meetings/{id}`, `PUT /v2/meetings/{id}/status`,
//! `GET /v2/users/{id}`, `GET` and `POST /v2/users/{id}/meetings`.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kitchen::time::format_rfc3339;
use serde_json::{Map, Value, json};

use crate::routes::{
    TIMEZONE, ZoomCall, invalid_field, json_response, meeting_not_found, page_size, paginate,
    query_get, query_pairs, user_not_found, zoom_error,
};
use crate::state::Meeting;
use crate::util;
use crate::{Endpoint, MeetingSettings, Sim, SimError};

/// Creating meetings needs a write scope; listing them a read scope (`Endpoint::scopes`).
const CREATE_MEETING_SCOPES: &[&str] = &["meeting:write:meeting:admin", "meeting:write:admin"];

// GET /v2/meetings/{meetingId}

pub(crate) async fn meeting(call: ZoomCall, Path(meeting_id): Path<String>) -> Response {
    call.answer(Endpoint::Meeting, |sim| {
        match sim.state.meeting(&meeting_id) {
            Some(m) => json_response(StatusCode::OK, meeting_json(sim, &m)),
            None => meeting_not_found(&meeting_id),
        }
    })
    .await
}

fn meeting_id_value(id: &str) -> Value {
    id.parse::<i64>().map_or_else(|_| json!(id), |n| json!(n))
}

/// A meeting as `GET /meetings/{id}` (and `POST /users/{id}/meetings`) answer it.
fn meeting_json(sim: &Sim, m: &Meeting) -> Value {
    let id = &m.id;
    let zak = util::stable_hex("zak", id, 40);
    let host_id = sim
        .state
        .user_by_email(&m.host)
        .map(|u| u.id)
        .unwrap_or_default();
    let mut v = json!({
        "uuid": m.uuid,
        "id": meeting_id_value(id),
        "host_id": host_id,
        "host_email": m.host,
        "assistant_id": "",
        "topic": m.topic,
        "type": m.kind,
        "status": if m.running { "started" } else { "waiting" },
        "timezone": TIMEZONE,
        "agenda": m.agenda,
        "created_at": format_rfc3339(m.created_at),
        "start_url": format!("https://us02web.zoom.us/s/{id}?zak={zak}"),
        "join_url": util::join_url(id),
        "password": "coffee",
        "h323_password": "264833",
        "pstn_password": "264833",
        "encrypted_password": util::stable_hex("pwd", id, 32),
        "pre_schedule": false,
        "creation_source": "open_api",
        "settings": settings_json(&m.settings),
    });
    // Scheduled meetings (types 2 and 8) have a start time and a duration.
    if matches!(m.kind, 2 | 8)
        && let Some(o) = v.as_object_mut()
    {
        o.insert("start_time".into(), json!(format_rfc3339(m.start_time)));
        o.insert("duration".into(), json!(60));
    }
    v
}

fn settings_json(s: &MeetingSettings) -> Value {
    json!({
        "host_video": false,
        "participant_video": true,
        "cn_meeting": false,
        "in_meeting": false,
        "join_before_host": s.join_before_host,
        "jbh_time": s.jbh_time,
        "mute_upon_entry": true,
        "watermark": false,
        "use_pmi": false,
        "approval_type": 2,
        "audio": "voip",
        "auto_recording": "none",
        "enforce_login": false,
        "enforce_login_domains": "",
        "alternative_hosts": "",
        "alternative_hosts_email_notification": true,
        "alternative_host_update_polls": false,
        "close_registration": false,
        "show_share_button": false,
        "allow_multiple_devices": true,
        "registrants_confirmation_email": true,
        "waiting_room": s.waiting_room,
        "waiting_room_options": {
            "mode": "custom",
            "who_goes_to_waiting_room": "users_not_in_account",
        },
        "request_permission_to_unmute_participants": false,
        "global_dial_in_countries": ["DE"],
        "global_dial_in_numbers": [],
        "registrants_email_notification": true,
        "meeting_authentication": false,
        "encryption_type": "enhanced_encryption",
        "approved_or_denied_countries_or_regions": {"enable": false},
        "breakout_room": {"enable": false},
        "internal_meeting": false,
        "continuous_meeting_chat": {
            "enable": false,
            "auto_add_invited_external_users": false,
            "auto_add_meeting_participants": false,
        },
        "participant_focused_meeting": false,
        "push_change_to_calendar": false,
        "auto_start_meeting_summary": false,
        "auto_start_ai_companion_questions": false,
        "device_testing": false,
        "email_notification": true,
        "show_join_info": false,
        "host_save_video_order": false,
        "sign_language_interpretation": {"enable": false},
        "email_in_attendee_report": false,
        "focus_mode": false,
        "private_meeting": false,
    })
}

// ---------------------------------------------------------------------------
// PUT /v2/meetings/{meetingId}/status

pub(crate) async fn meeting_status(
    call: ZoomCall,
    Path(meeting_id): Path<String>,
    body: Bytes,
) -> Response {
    call.answer(Endpoint::MeetingStatus, |sim| {
        update_status(sim, &meeting_id, &body)
    })
    .await
}

fn update_status(sim: &Sim, meeting_id: &str, body: &Bytes) -> Response {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(body) else {
        return invalid_field("Request Body should be a valid JSON object.");
    };
    match req.get("action").and_then(Value::as_str) {
        Some("end") => {}
        // Nothing is ever deleted in the sim, so there is nothing to recover.
        Some("recover") => return StatusCode::NO_CONTENT.into_response(),
        _ => return invalid_field("Invalid field: action. It must be \"end\" or \"recover\"."),
    }
    match crate::webhook::end(sim, meeting_id) {
        Ok(ended) => {
            // Zoom delivers webhooks on its own schedule, not within the API call.
            let sim = sim.clone();
            tokio::spawn(async move {
                if let Some(d) = crate::webhook::deliver_ended(&sim, &ended).await {
                    sim.state.record_end_webhook(&ended.meeting_id, d);
                }
            });
            StatusCode::NO_CONTENT.into_response()
        }
        Err(SimError::NotRunning(id)) => zoom_error(
            // The endpoint documents only 3001 for a meeting it cannot end (ZOOM.md:
            // what Zoom answers for one not running is uncertain).
            StatusCode::NOT_FOUND,
            3001,
            format!("Meeting {id} is not in progress."),
        ),
        Err(_) => meeting_not_found(meeting_id),
    }
}

// ---------------------------------------------------------------------------
// GET /v2/users/{userId}

pub(crate) async fn user(call: ZoomCall, Path(user_id): Path<String>) -> Response {
    call.answer(Endpoint::User, |sim| {
        let Some(u) = sim.state.user(&user_id) else {
            return user_not_found(&user_id);
        };
        let local = u.email.split('@').next().unwrap_or_default();
        let cfg = &sim.state.cfg;
        json_response(
            StatusCode::OK,
            json!({
                "id": u.id,
                "email": u.email,
                "first_name": local,
                "last_name": "",
                "display_name": local,
                "type": 2,
                "role_name": if sim.state.is_tech_user(&u.email) { "Admin" } else { "Member" },
                "pmi": 3_542_471_135_u64,
                "use_pmi": false,
                "timezone": TIMEZONE,
                "verified": 1,
                "dept": "",
                "created_at": format_rfc3339(sim.state.created),
                "user_created_at": format_rfc3339(sim.state.created),
                "last_login_time": format_rfc3339(sim.state.created),
                "language": "en-US",
                "status": "active",
                "account_id": cfg.account_id,
                "login_types": [100],
                "cluster": "us02",
            }),
        )
    })
    .await
}

// ---------------------------------------------------------------------------
// GET and POST /v2/users/{userId}/meetings

pub(crate) async fn list_meetings(
    call: ZoomCall,
    uri: Uri,
    Path(user_id): Path<String>,
) -> Response {
    call.answer(Endpoint::UserMeetings, |sim| {
        meetings_page(sim, &user_id, &uri)
    })
    .await
}

fn meetings_page(sim: &Sim, user_id: &str, uri: &Uri) -> Response {
    let Some(host) = sim.state.user(user_id) else {
        return user_not_found(user_id);
    };
    let q = query_pairs(uri);
    let live_only = match query_get(&q, "type") {
        None | Some("scheduled" | "upcoming" | "upcoming_meetings") => false,
        Some("live") => true,
        // The sim keeps no history.
        Some("previous_meetings") => return meetings_list_json(0, 30, "", Vec::new()),
        Some(other) => return invalid_field(format!("Invalid field: type '{other}'.")),
    };
    let size = match page_size(&q) {
        Ok(n) => n,
        Err(invalid) => return invalid_field(invalid),
    };
    let host_email = host.email.to_ascii_lowercase();
    let meetings: Vec<Meeting> = sim
        .state
        .meetings_of(&host_email)
        .into_iter()
        .filter(|m| !live_only || m.running)
        .collect();
    let listing = format!("meetings:{host_email}:{live_only}");
    let Some((page, next)) = paginate(
        sim,
        &listing,
        &meetings,
        size,
        query_get(&q, "next_page_token"),
    ) else {
        return invalid_field("The next page token is invalid or expired.");
    };
    let items = page.iter().map(|m| list_item(sim, m)).collect();
    meetings_list_json(meetings.len(), size, &next, items)
}

fn meetings_list_json(total: usize, size: usize, next: &str, items: Vec<Value>) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "page_size": size,
            "total_records": total,
            "next_page_token": next,
            "meetings": items,
        }),
    )
}

/// An item of a user's meeting list: the meeting's summary (no `status`, no settings).
fn list_item(sim: &Sim, m: &Meeting) -> Value {
    let full = meeting_json(sim, m);
    let keep = [
        "uuid",
        "id",
        "host_id",
        "topic",
        "type",
        "start_time",
        "duration",
        "timezone",
        "created_at",
        "join_url",
        "agenda",
    ];
    let item: Map<String, Value> = keep
        .iter()
        .filter_map(|k| full.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
    Value::Object(item)
}

pub(crate) async fn create_meeting(
    call: ZoomCall,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Response {
    call.answer_needing(Endpoint::UserMeetings, CREATE_MEETING_SCOPES, |sim| {
        new_meeting(sim, &user_id, &body)
    })
    .await
}

fn new_meeting(sim: &Sim, user_id: &str, body: &Bytes) -> Response {
    let Some(host) = sim.state.user(user_id) else {
        return user_not_found(user_id);
    };
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(body) else {
        return invalid_field("Request Body should be a valid JSON object.");
    };
    match parse_new_meeting(&req) {
        Ok((kind, topic, agenda, settings)) => {
            let host = host.email.to_ascii_lowercase();
            let m = sim
                .state
                .create_meeting(&host, kind, &topic, &agenda, settings);
            json_response(StatusCode::CREATED, meeting_json(sim, &m))
        }
        Err(invalid) => invalid_field(invalid),
    }
}

/// (type, topic, agenda, settings) of a meeting to create; `Err`: the invalid field.
fn parse_new_meeting(
    req: &Map<String, Value>,
) -> Result<(u8, String, String, MeetingSettings), String> {
    let kind = match req.get("type").map(Value::as_u64) {
        None => 2,
        Some(Some(k @ (1 | 2 | 3 | 8))) => k as u8,
        Some(_) => return Err("Invalid field: type.".into()),
    };
    let text = |key: &str, default: &str, max: usize| match req.get(key) {
        None => Ok(default.to_owned()),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(s.clone()),
        Some(_) => Err(format!("Invalid field: {key}.")),
    };
    let topic = text("topic", "Zoom meeting", 200)?;
    let agenda = text("agenda", "", 2000)?;
    // Zoom's usual account defaults: the host lets people in, guests wait.
    let mut settings = MeetingSettings {
        join_before_host: false,
        jbh_time: 0,
        waiting_room: true,
    };
    let Some(given) = req.get("settings") else {
        return Ok((kind, topic, agenda, settings));
    };
    let Value::Object(given) = given else {
        return Err("Invalid field: settings.".into());
    };
    let flag = |key: &str, current: bool| match given.get(key) {
        None => Ok(current),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("Invalid field: settings.{key}.")),
    };
    settings.join_before_host = flag("join_before_host", settings.join_before_host)?;
    settings.waiting_room = flag("waiting_room", settings.waiting_room)?;
    settings.jbh_time = match given.get("jbh_time").map(Value::as_u64) {
        None => 0,
        Some(Some(t @ (0 | 5 | 10 | 15))) => t as u32,
        Some(_) => return Err("Invalid field: settings.jbh_time.".into()),
    };
    Ok((kind, topic, agenda, settings))
}
