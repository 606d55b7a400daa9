//! `announce ROOM MESSAGE`: the library's announcement (issue 11), as the
//! page's `POST /api/rooms/{room}/announce` sends it — one Team Chat direct
//! message from the tech user to each person in the room with an email.

use std::time::Duration;

use kitchen::announce::{Options, announce};
use kitchen::deadline::Deadline;
use serde_json::json;

use crate::outcome::{CtlError, Report, exit};
use crate::settings::Settings;
use crate::zoom;

/// A terminal can wait longer than a Lambda: ten minutes of spaced sends.
const BUDGET: Duration = Duration::from_secs(600);

pub async fn run(settings: &Settings, room: &str, message: &str) -> Result<Report, CtlError> {
    let rooms = settings.rooms()?;
    let Some(target) = rooms.get(room) else {
        let names: Vec<&str> = rooms.iter().map(|r| r.name.as_str()).collect();
        return Err(CtlError::usage(
            "unknown_room",
            format!(
                "{room:?} is not a room of this deployment (rooms: {})",
                names.join(", ")
            ),
        ));
    };
    let tech_user = settings.tech_user().ok_or_else(|| {
        CtlError::usage("config", "configuration error: ZOOM_TECH_USER is required but not set")
            .fix("set ZOOM_TECH_USER to the Zoom user whose Team Chat sends the messages, or pass --stack")
    })?;
    let z = zoom::connect(settings).await?;
    let options = Options::within(Deadline::after(BUDGET));
    let report = announce(
        &z.client,
        &z.creds,
        &tech_user,
        &target.meeting_id,
        message,
        &options,
    )
    .await
    .map_err(|e| {
        let err = CtlError::new(e.code, format!("announce to {room}: {}", e.message));
        if e.status.as_u16() == 400 {
            CtlError {
                exit: exit::USAGE,
                ..err
            }
        } else {
            err
        }
    })?;
    let mut text = format!(
        "Sent to {} in {room}{}\n",
        report.sent.len(),
        if report.sent.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                report
                    .sent
                    .iter()
                    .map(|s| s.email.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    for f in &report.failed {
        text.push_str(&format!("Not sent to {}: {}\n", f.email, f.error));
    }
    if report.skipped > 0 {
        text.push_str(&format!(
            "Skipped {} without an email Zoom shows\n",
            report.skipped
        ));
    }
    let mut out = Report::new(
        json!({ "room": room, "sent": report.sent, "failed": report.failed, "skipped": report.skipped }),
        text,
    );
    // Everyone with an email reached, or it failed for somebody.
    if !report.failed.is_empty() {
        out.exit = exit::FAILED;
    }
    Ok(out)
}
