//! `doctor`: is the kitchen healthy, and if not, what to do. Each check says
//! ok or failed, why, and the fix; secret values are never named, only fields.

use std::time::{Duration, SystemTime};

use kitchen::presence::PresenceStore;
use kitchen::zoom::{MeetingInfo, codes};
use serde_json::{Value, json};

use crate::outcome::{CtlError, Report, exit};
use crate::settings::{SecretSource, Settings};
use crate::zoom;

/// Reconcile runs every 10 minutes by default; older than this means it stopped.
const RECONCILE_OVERDUE: Duration = Duration::from_secs(3600);

/// One scope requirement: any of these names will do. The first is the
/// granular name, the second the classic one (ZOOM.md, the OpenAPI specs).
type Need = &'static [&'static str];

const CHAT: Need = &[
    "team_chat:write:user_message:admin",
    "chat_message:write:admin",
    "team_chat:write:user_message",
    "chat_message:write",
];
const MEETING_READ: Need = &[
    "meeting:read:meeting:admin",
    "meeting:read:admin",
    "meeting:read:meeting",
    "meeting:read",
];
const DASHBOARD: Need = &[
    "dashboard:read:list_meeting_participants:admin",
    "dashboard_meetings:read:admin",
    "dashboard:read:admin",
];
const END_MEETING: Need = &[
    "meeting:update:status:admin",
    "meeting:write:admin",
    "meeting:update:status",
    "meeting:write",
];

/// What each feature calls, and so which scopes it needs.
const FEATURES: [(&str, &[Need]); 5] = [
    ("invite (join link by Team Chat)", &[CHAT, MEETING_READ]),
    ("count from the dashboard", &[DASHBOARD]),
    ("reconcile", &[DASHBOARD]),
    ("the page's End button", &[END_MEETING]),
    ("notices and announce (Team Chat)", &[CHAT]),
];

#[derive(Debug)]
struct Check {
    name: String,
    ok: bool,
    detail: String,
    fix: Option<String>,
}

impl Check {
    fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    fn failed(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn from_error(name: impl Into<String>, e: &CtlError) -> Self {
        Self {
            name: name.into(),
            ok: false,
            detail: e.message.clone(),
            fix: e.fix.clone(),
        }
    }
}

pub async fn run(settings: &Settings) -> Result<Report, CtlError> {
    // Without any credentials configured there is nothing to check.
    let source = settings.secret_source()?;
    let mut checks = Vec::new();

    let rooms = match settings.rooms() {
        Ok(r) => {
            let names: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
            checks.push(Check::ok(
                "rooms",
                format!("{} configured: {}", names.len(), names.join(", ")),
            ));
            Some(r)
        }
        Err(e) => {
            checks.push(Check::failed(
                "rooms",
                e.message.clone(),
                "set KITCHEN_ROOMS (template parameter Rooms), e.g. from `kitchenctl room create`",
            ));
            None
        }
    };
    let count_source = match settings.count_source() {
        Ok(s) => s,
        Err(e) => {
            checks.push(Check::from_error("count source", &e));
            "auto".into()
        }
    };
    let uses_presence = count_source != "dashboard";

    // The secret.
    let creds = match zoom::credentials(settings).await {
        Ok((creds, text)) => {
            let where_ = match &source {
                SecretSource::SecretsManager(id) => format!("secret {id:?}"),
                SecretSource::Environment => {
                    "credentials from ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET".into()
                }
            };
            let mut detail = format!("{where_}: well formed");
            let mut problems = Vec::new();
            if let Some(text) = &text {
                summarise_entries(text, rooms.as_ref(), &mut detail, &mut problems);
            }
            if problems.is_empty() {
                checks.push(Check::ok("secret", detail));
            } else {
                checks.push(Check::failed(
                    "secret",
                    format!("{detail}; {}", problems.join("; ")),
                    "kitchenctl device add NAME --rotate gives an entry a usable key; revoke entries nobody uses",
                ));
            }
            Some(creds)
        }
        Err(e) => {
            checks.push(Check::from_error("secret", &e));
            None
        }
    };

    // The webhook secret token, needed when the count uses presence.
    if let Some(creds) = &creds {
        checks.push(match (&creds.webhook_secret_token, uses_presence) {
            (Some(_), _) => Check::ok("webhook secret token", "present"),
            (None, false) => Check::ok("webhook secret token", "not set; not needed while the count source is dashboard"),
            (None, true) => Check::failed(
                "webhook secret token",
                format!("field \"webhook_secret_token\" is missing or a placeholder, and the count source is {count_source}: webhooks are refused, so presence never updates"),
                "copy the Secret Token from the Zoom app's Feature → Event Subscriptions into ZOOM_WEBHOOK_SECRET_TOKEN and run kitchenctl secret init",
            ),
        });
    }

    // Zoom: token, scopes, tech user, rooms.
    if let Some(creds) = &creds {
        match zoom::client(settings) {
            Err(e) => checks.push(Check::from_error("zoom token", &e)),
            Ok(client) => zoom_checks(settings, &client, creds, rooms.as_ref(), &mut checks).await,
        }
    }

    // Presence.
    presence_checks(
        settings,
        rooms.as_ref(),
        uses_presence,
        &count_source,
        &mut checks,
    )
    .await;

    let ok = checks.iter().all(|c| c.ok);
    let mut text = String::new();
    for c in &checks {
        text.push_str(&format!(
            "{} {:<42} {}\n",
            if c.ok { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        ));
        if let Some(fix) = &c.fix {
            text.push_str(&format!("     {:<42} fix: {fix}\n", ""));
        }
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    text.push_str(&if ok {
        "All checks passed.\n".to_owned()
    } else {
        format!("{failed} check(s) failed.\n")
    });
    let doc = json!({
        "ok": ok,
        "checks": checks
            .iter()
            .map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail, "fix": c.fix}))
            .collect::<Vec<_>>(),
    });
    let mut report = Report::new(doc, text);
    if !ok {
        report.exit = exit::FAILED;
    }
    Ok(report)
}

/// Counts devices and viewers and names entries the functions will refuse
/// (by name and reason, never a key).
fn summarise_entries(
    text: &str,
    rooms: Option<&kitchen::rooms::Rooms>,
    detail: &mut String,
    problems: &mut Vec<String>,
) {
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let (devices, skipped_devices) = kitchen::devices::from_secret(&obj);
    let (viewers, skipped_viewers) = kitchen::viewers::from_secret(&obj);
    detail.push_str(&format!(
        ", {} device(s), {} viewer(s)",
        devices.len(),
        viewers.len()
    ));
    for s in skipped_devices.iter().chain(&skipped_viewers) {
        problems.push(format!(
            "{} entry {:?} is refused: {}",
            s.field, s.name, s.reason
        ));
    }
    if let (Some(rooms), Some(Value::Object(map))) = (rooms, obj.get("devices")) {
        for (name, entry) in map {
            if let Some(room) = entry.get("room").and_then(Value::as_str)
                && rooms.get(room).is_none()
            {
                problems.push(format!(
                    "device {name:?} names room {room:?}, which is not configured"
                ));
            }
        }
    }
}

async fn zoom_checks(
    settings: &Settings,
    client: &kitchen::zoom::ZoomClient,
    creds: &kitchen::credentials::Credentials,
    rooms: Option<&kitchen::rooms::Rooms>,
    checks: &mut Vec<Check>,
) {
    let scopes = match client.granted_scopes(creds).await {
        Ok(s) => {
            checks.push(Check::ok(
                "zoom token",
                "Zoom issued a token for the app's credentials",
            ));
            s
        }
        Err(e) => {
            checks.push(Check::from_error(
                "zoom token",
                &zoom::error(&e, "issuing a token"),
            ));
            return;
        }
    };
    match &scopes {
        None => checks.push(Check::ok(
            "scopes",
            "Zoom's token response named no scopes, so they could not be checked",
        )),
        Some(granted) => {
            for (feature, needs) in FEATURES {
                let missing: Vec<String> = needs
                    .iter()
                    .filter(|any_of| !any_of.iter().any(|s| granted.iter().any(|g| g == s)))
                    .map(|any_of| format!("{} (classic: {})", any_of[0], any_of[1]))
                    .collect();
                let name = format!("scopes: {feature}");
                if missing.is_empty() {
                    checks.push(Check::ok(name, "granted"));
                } else {
                    checks.push(Check::failed(
                        name,
                        format!("missing scope {}", missing.join(" and ")),
                        "add the scope to the app (Zoom App Marketplace → the app → Scopes), then run kitchenctl doctor again",
                    ));
                }
            }
        }
    }

    match settings.tech_user() {
        None => checks.push(Check::failed(
            "tech user",
            "ZOOM_TECH_USER is not set",
            "set ZOOM_TECH_USER (template parameter ZoomTechUser) to the Zoom user whose Team Chat sends the invites",
        )),
        Some(user) => checks.push(match client.user(creds, &user).await {
            Ok(u) => {
                let status = u.status.as_deref().unwrap_or("unknown");
                let check = Check::ok("tech user", format!("{user} exists (id {}, {status})", u.id));
                if status == "active" || status == "unknown" {
                    check
                } else {
                    Check::failed("tech user", format!("{user} exists but is {status}"), "activate the user in Zoom's admin console")
                }
            }
            Err(e) if e.code() == Some(codes::USER_NOT_FOUND) => Check::failed(
                "tech user",
                format!("Zoom has no user {user:?}"),
                "set ZOOM_TECH_USER to the email or id of a user of the app's Zoom account",
            ),
            Err(e) => Check::from_error("tech user", &zoom::error(&e, "looking up the tech user")),
        }),
    }

    if let Some(rooms) = rooms {
        for room in rooms.iter() {
            let name = format!("room {}", room.name);
            checks.push(match client.meeting(creds, &room.meeting_id).await {
                Ok(m) => room_check(name, &room.name, &m, settings),
                Err(e) if e.code() == Some(codes::MEETING_NOT_FOUND) => Check::failed(
                    name,
                    format!("meeting {} does not exist", room.meeting_id),
                    create_fix(&room.name, settings),
                ),
                Err(e) => Check::from_error(
                    name,
                    &zoom::error(&e, &format!("reading meeting {}", room.meeting_id)),
                ),
            });
        }
    }
}

fn create_fix(room: &str, settings: &Settings) -> String {
    let host = settings.tech_user().unwrap_or_else(|| "HOST_EMAIL".into());
    format!(
        "kitchenctl room create {room} --host {host}, then deploy with the Rooms value it prints"
    )
}

fn room_check(name: String, room: &str, m: &MeetingInfo, settings: &Settings) -> Check {
    let settings_ = m.settings.as_ref();
    let jbh = settings_.and_then(|s| s.join_before_host);
    let jbh_time = settings_.and_then(|s| s.jbh_time).unwrap_or(0);
    let waiting = settings_.and_then(|s| s.waiting_room);
    let mut problems = Vec::new();
    let kind = match m.kind {
        Some(3) => "type 3 (recurring, no fixed time)".to_owned(),
        Some(k) => {
            problems.push(format!(
                "it is type {k} ({}), not a recurring meeting with no fixed time (type 3): it can expire or close",
                meeting_type(k)
            ));
            format!("type {k}")
        }
        None => {
            problems.push("Zoom did not say its type".to_owned());
            "type unknown".into()
        }
    };
    match jbh {
        Some(true) if jbh_time == 0 => {}
        Some(true) => problems.push(format!(
            "people may join only {jbh_time} minutes before the start, not at any time"
        )),
        Some(false) => {
            problems.push("join before host is off: nobody gets in until the host starts it".into())
        }
        None => problems.push("Zoom did not say whether people may join before the host".into()),
    }
    let waiting_text = match waiting {
        Some(true) => "waiting room ON (people waiting are not counted until admitted)",
        Some(false) => "waiting room off",
        None => "waiting room unknown",
    };
    let detail = format!(
        "meeting {} {:?}: {kind}, join before host {}, {waiting_text}",
        m.id,
        m.topic.as_deref().unwrap_or(""),
        if jbh == Some(true) { "on" } else { "off" },
    );
    if problems.is_empty() {
        Check::ok(name, detail)
    } else {
        Check::failed(
            name,
            format!("{detail}; {}", problems.join("; ")),
            format!(
                "in Zoom set the meeting to recurring with no fixed time, join before host at any time and no waiting room — or {}",
                create_fix(room, settings)
            ),
        )
    }
}

fn meeting_type(k: u8) -> &'static str {
    match k {
        1 => "instant",
        2 => "scheduled",
        3 => "recurring, no fixed time",
        8 => "recurring with a fixed time",
        _ => "unknown",
    }
}

async fn presence_checks(
    settings: &Settings,
    rooms: Option<&kitchen::rooms::Rooms>,
    uses_presence: bool,
    count_source: &str,
    checks: &mut Vec<Check>,
) {
    let Some(table) = settings.presence_table() else {
        if uses_presence {
            checks.push(Check::failed(
                "presence table",
                format!("KITCHEN_PRESENCE_TABLE is not set but the count source is {count_source}"),
                "set KITCHEN_PRESENCE_TABLE (the stack's PresenceTableName output), or pass --stack",
            ));
        }
        return;
    };
    let Some(rooms) = rooms else { return };
    let store = PresenceStore::new(settings.sdk().await, &table);
    let now = SystemTime::now();
    let mut reachable = true;
    let mut room_checks = Vec::new();
    for room in rooms.iter() {
        let name = format!("presence {}", room.name);
        match store.read(&room.meeting_id).await {
            Err(e) => {
                reachable = false;
                checks.push(Check::failed(
                    "presence table",
                    format!("table {table:?}: {e}"),
                    "check KITCHEN_PRESENCE_TABLE, AWS_REGION and that your AWS credentials may read the table",
                ));
                break;
            }
            Ok(p) => {
                let webhook = ago(p.last_event_at_ms, now);
                let reconcile = ago(p.verified_at_ms, now);
                let detail = format!(
                    "{} counted; last webhook {webhook}; last reconcile {reconcile}",
                    p.count
                );
                let overdue = p
                    .verified_at_ms
                    .is_some_and(|ms| age(ms, now) > RECONCILE_OVERDUE);
                room_checks.push(if overdue {
                    Check::failed(
                        name,
                        format!("{detail}: reconcile has stopped"),
                        "check the reconcile function's logs and schedule (ReconcileSchedule); a missing scope shows there",
                    )
                } else {
                    Check::ok(name, detail)
                });
            }
        }
    }
    if reachable {
        checks.push(Check::ok(
            "presence table",
            format!("table {table:?} is reachable"),
        ));
        checks.extend(room_checks);
    }
}

fn age(ms: u64, now: SystemTime) -> Duration {
    let then = SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
    now.duration_since(then).unwrap_or_default()
}

/// "3 min ago", "never".
pub fn ago(ms: Option<u64>, now: SystemTime) -> String {
    let Some(ms) = ms else {
        return "never".into();
    };
    let s = age(ms, now).as_secs();
    match s {
        0..=59 => format!("{s} s ago"),
        60..=7199 => format!("{} min ago", s / 60),
        7200..=172_799 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}
