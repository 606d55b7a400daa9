//! The kitchen page of every room of the deployment: `GET /` (with `/app.js` and `/app.css`), `GET /api/rooms`
//! for viewers, `POST /api/rooms/{room}/end` and `POST /api/rooms/{room}/announce` for admins. Viewers sign in
//! with `Authorization: Bearer <key>` (the secret's `viewers`); no cookies, so
//! no cross-site request can end a meeting. Counts come from where the
//! device's count comes from, read the same way ([`kitchen::occupancy`]).
//!
//! `GET /api/rooms` answers 200 `{"rooms": [...], "viewer": {"name", "admin"}}`
//! once the viewer is signed in, one entry per room, live rooms first:
//! `room`, `meeting_id`, `live`, `count`, `names` (only with
//! `KITCHEN_SHOW_NAMES`), `join_url` (null while Zoom cannot give it),
//! `occupied_since` (the earliest join of those in the room; null when empty
//! or unknown), `as_of`, `stale` (an older count, served while its source
//! fails) and `source` (`dashboard` or `webhook`). A room whose count cannot be
//! read at all does not fail the others: it carries `"error": "<code>"` and
//! `"message"` (the codes the device's count would answer with, e.g.
//! `presence_unavailable`, `zoom_rate_limited`), with `live`, `count`,
//! `occupied_since`, `as_of` and `source` null and `stale` false.

use std::sync::Arc;

use kitchen::announce::{Options, message_from_json};
use kitchen::app::AppState;
use kitchen::credentials::Credentials;
use kitchen::deadline::Deadline;
use kitchen::device_auth::AuthFailure;
use kitchen::http::{ApiError, json_response, respond};
use kitchen::join_links::JoinLinks;
use kitchen::lambda_http::http::{Method, StatusCode};
use kitchen::lambda_http::{Body, Error, Request, Response};
use kitchen::occupancy::{Occupancy, Reading};
use kitchen::request::content_type;
use kitchen::rooms::Room;
use kitchen::time::format_rfc3339;
use kitchen::viewers::{Viewer, authenticate};
use kitchen::zoom::{ZoomError, codes};
use serde::Serialize;

use crate::assets;
use crate::config::PageConfig;

/// `{"message"}` of at most 1024 characters, escaped: far below this.
const MAX_ANNOUNCE_BODY: usize = 16 * 1024;

/// The Zoom scope ending a meeting needs (granular; classic `meeting:write:admin`).
pub const END_SCOPE: &str = "meeting:update:status:admin";

pub struct Page {
    pub app: AppState,
    occupancy: Occupancy,
    join_links: JoinLinks,
    /// Who sends announcements (`ZOOM_TECH_USER`).
    tech_user: Option<String>,
}

impl Page {
    pub async fn new(config: PageConfig) -> Result<Self, Error> {
        let (app, occupancy) = Occupancy::with_app(config.common, config.occupancy).await?;
        let page = Self::with_occupancy(app, occupancy);
        Ok(match config.tech_user {
            Some(u) => page.with_tech_user(u),
            None => page,
        })
    }

    /// The page for the state's rooms, counted from `source` (tests).
    #[cfg(test)]
    pub fn with_parts(
        app: AppState,
        source: kitchen::occupancy::Source,
        settings: kitchen::occupancy::Settings,
    ) -> Self {
        let occupancy = Occupancy::new(source, settings, &app.config.rooms);
        Self::with_occupancy(app, occupancy)
    }

    fn with_occupancy(app: AppState, occupancy: Occupancy) -> Self {
        Self {
            join_links: JoinLinks::new(&app.config.rooms),
            app,
            occupancy,
            tech_user: None,
        }
    }

    /// Announcements are sent as this Zoom user (`ZOOM_TECH_USER`).
    pub fn with_tech_user(mut self, tech_user: impl Into<String>) -> Self {
        self.tech_user = Some(tech_user.into());
        self
    }

    fn room(&self, name: &str) -> Result<&Room, ApiError> {
        self.app
            .config
            .rooms
            .get(name)
            .ok_or_else(|| unknown_room(name))
    }

    /// The room's join link (a failure is logged and not kept; `None` until
    /// Zoom answers).
    async fn join_url(
        &self,
        room: &Room,
        creds: &Credentials,
        deadline: &Deadline,
    ) -> Option<String> {
        let link = deadline
            .run(self.join_links.get(&self.app.zoom, creds, room))
            .await
            .unwrap_or(Err(ZoomError::Timeout));
        link.inspect_err(|e| tracing::warn!(room = %room.name, error = %e, "the room's join URL could not be read"))
            .ok()
    }
}

pub async fn handle(state: &Page, req: Request) -> Result<Response<Body>, Error> {
    let outcome = route(state, &req).await;
    Ok(assets::with_security_headers(respond(outcome)?))
}

async fn route(state: &Page, req: &Request) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path();
    if let Some((content_type, body)) = assets::find(path) {
        only(req, &Method::GET)?;
        reject_input(req)?;
        return Ok(assets::serve(content_type, body));
    }
    if path == "/api/rooms" {
        only(req, &Method::GET)?;
        return rooms(state, req).await;
    }
    if let Some((room, action)) = path
        .strip_prefix("/api/rooms/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(room, _)| !room.is_empty())
    {
        match action {
            "end" => {
                only(req, &Method::POST)?;
                return end(state, req, room).await;
            }
            "announce" => {
                only(req, &Method::POST)?;
                return announce(state, req, room).await;
            }
            _ => {}
        }
    }
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such page; the kitchen page is at /",
    ))
}

fn only(req: &Request, method: &Method) -> Result<(), ApiError> {
    if req.method() == method {
        Ok(())
    } else if *method == Method::GET {
        Err(ApiError::method_not_allowed("GET"))
    } else {
        Err(ApiError::method_not_allowed("POST"))
    }
}

/// None of the routes takes input beyond the path: a body or a query string
/// is refused, not ignored.
fn reject_input(req: &Request) -> Result<(), ApiError> {
    if !req.body().as_ref().is_empty() {
        return Err(ApiError::bad_request(
            "unexpected_body",
            format!("{} {} takes no body", req.method(), req.uri().path()),
        ));
    }
    if req.uri().query().is_some_and(|q| !q.is_empty()) {
        return Err(ApiError::bad_request(
            "unexpected_query",
            format!(
                "{} {} takes no query parameters",
                req.method(),
                req.uri().path()
            ),
        ));
    }
    Ok(())
}

/// The signed-in viewer. A device key, a wrong key and a revoked key all
/// look the same to the caller. A key the copy of the secret at hand does not
/// know makes it read again early (at most once a minute per container), so
/// a viewer just added with `kitchenctl viewer add` gets in at once; a revoked
/// one is out when the copy is older than `KITCHEN_SECRET_TTL_SECONDS`.
async fn viewer(state: &Page, req: &Request, deadline: &Deadline) -> Result<Viewer, ApiError> {
    let creds = state.app.credentials_within(deadline).await?;
    let mut found = authenticate(&creds.viewers, req.headers()).cloned();
    if found == Err(AuthFailure::Unknown)
        && let Ok(Some(fresh)) = deadline.run(state.app.credentials.reread_early()).await
    {
        found = authenticate(&fresh.viewers, req.headers()).cloned();
    }
    found.map_err(|failure| {
        if creds.viewers.is_empty() {
            // For the operator only: the caller is told what a wrong key gets.
            tracing::error!("the secret has no viewers: nobody can open the page (kitchenctl viewer add NAME)");
        }
        tracing::warn!(reason = ?failure, "viewer authentication failed");
        let message = match failure {
            AuthFailure::Missing => "sign in: send your viewer key as 'Authorization: Bearer <key>'",
            AuthFailure::Malformed => "the Authorization header must be 'Bearer <key>'",
            AuthFailure::Duplicated => "send exactly one Authorization header",
            _ => "this key is not valid (wrong, or revoked); ask the kitchen's admin for a viewer key",
        };
        ApiError::new(StatusCode::UNAUTHORIZED, "invalid_viewer_key", message)
    })
}

#[derive(Serialize)]
struct RoomsBody<'a> {
    rooms: Vec<RoomBody<'a>>,
    viewer: ViewerBody<'a>,
}

#[derive(Serialize)]
struct ViewerBody<'a> {
    name: &'a str,
    admin: bool,
}

#[derive(Serialize)]
struct RoomBody<'a> {
    room: &'a str,
    meeting_id: &'a str,
    live: Option<bool>,
    count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    names: Option<Vec<String>>,
    join_url: Option<String>,
    occupied_since: Option<String>,
    as_of: Option<String>,
    stale: bool,
    source: Option<&'static str>,
    /// Only on a room whose count could not be read: the error's code and message.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl<'a> RoomBody<'a> {
    fn new(
        room: &'a Room,
        join_url: Option<String>,
        read: Result<Reading, ApiError>,
        show_names: bool,
    ) -> Self {
        let mut body = Self {
            room: &room.name,
            meeting_id: &room.meeting_id,
            live: None,
            count: None,
            names: None,
            join_url,
            occupied_since: None,
            as_of: None,
            stale: false,
            source: None,
            error: None,
            message: None,
        };
        match read {
            Ok(Reading {
                snapshot: snap,
                stale,
            }) => {
                body.live = Some(snap.live);
                body.count = Some(snap.count);
                body.names = show_names.then(|| snap.names.clone());
                body.occupied_since = snap.occupied_since().map(format_rfc3339);
                body.as_of = Some(format_rfc3339(snap.as_of));
                body.stale = stale;
                body.source = Some(snap.source);
            }
            Err(e) => {
                tracing::warn!(room = %room.name, error = e.code, "the room's count could not be read; the other rooms are served");
                body.error = Some(e.code);
                body.message = Some(e.message);
            }
        }
        body
    }
}

async fn rooms(state: &Page, req: &Request) -> Result<Response<Body>, ApiError> {
    let deadline = state.app.deadline_for(req);
    let who = viewer(state, req, &deadline).await?;
    reject_input(req)?;
    let creds: Arc<Credentials> = state.app.credentials_within(&deadline).await?;
    let show_names = state.occupancy.settings().show_names;
    // The rooms side by side: a slow room costs its own wait, not the sum of
    // every room's, within the one deadline.
    let reads = state.app.config.rooms.iter().map(|room| async {
        let (read, join_url) = tokio::join!(
            state.occupancy.read(&state.app, room, &deadline),
            state.join_url(room, &creds, &deadline)
        );
        RoomBody::new(room, join_url, read, show_names)
    });
    let mut out = futures_util::future::join_all(reads).await;
    // Live rooms first, then by name.
    out.sort_by(|a, b| {
        (b.live == Some(true))
            .cmp(&(a.live == Some(true)))
            .then(a.room.cmp(b.room))
    });
    tracing::debug!(viewer = %who.name, rooms = out.len(), "rooms served");
    Ok(json_response(
        StatusCode::OK,
        &RoomsBody {
            rooms: out,
            viewer: ViewerBody {
                name: &who.name,
                admin: who.admin,
            },
        },
    ))
}

async fn end(state: &Page, req: &Request, room_name: &str) -> Result<Response<Body>, ApiError> {
    let deadline = state.app.deadline_for(req);
    let who = viewer(state, req, &deadline).await?;
    reject_input(req)?;
    admin_only(&who, "end a meeting")?;
    let room = state.room(room_name)?;
    let creds = state.app.credentials_within(&deadline).await?;
    let ended = deadline
        .run(state.app.zoom.end_meeting(&creds, &room.meeting_id))
        .await
        .unwrap_or(Err(ZoomError::Timeout))
        .map_err(|e| end_error(&e))?;
    if !ended {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "room_not_live",
            format!("no meeting is running in the {room_name}; there is nothing to end"),
        ));
    }
    tracing::info!(room = %room_name, viewer = %who.name, "meeting ended from the page");
    state.occupancy.mark_ended(room, &deadline).await;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "ended": true }),
    ))
}

fn admin_only(who: &Viewer, what: &str) -> Result<(), ApiError> {
    if who.admin {
        return Ok(());
    }
    tracing::warn!(viewer = %who.name, action = what, "a viewer who is not an admin tried an admin action");
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "admin_only",
        format!("only admins can {what}; this key is a viewer's"),
    ))
}

/// `{"message": "<text>"}` to everyone in the room with an email, as Team
/// Chat direct messages from the tech user (issue 11; [`kitchen::announce`]).
async fn announce(
    state: &Page,
    req: &Request,
    room_name: &str,
) -> Result<Response<Body>, ApiError> {
    let deadline = state.app.deadline_for(req);
    let who = viewer(state, req, &deadline).await?;
    if req.uri().query().is_some_and(|q| !q.is_empty()) {
        return Err(ApiError::bad_request(
            "unexpected_query",
            "POST /api/rooms/{room}/announce takes no query parameters",
        ));
    }
    admin_only(&who, "send an announcement")?;
    let room = state.room(room_name)?;
    let body = req.body().as_ref();
    if body.len() > MAX_ANNOUNCE_BODY {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body must be at most {MAX_ANNOUNCE_BODY} bytes"),
        ));
    }
    let media_type = content_type(req.headers())?.map(|c| {
        c.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    if media_type.as_deref() != Some("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the announcement as application/json: {\"message\": \"<text>\"}",
        ));
    }
    let message = message_from_json(body)?;
    let tech_user = state.tech_user.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "announce_not_configured",
            "announcements need ZOOM_TECH_USER, the Zoom user who sends them",
        )
    })?;
    let creds = state.app.credentials_within(&deadline).await?;
    let outcome = kitchen::announce::announce(
        &state.app.zoom,
        &creds,
        tech_user,
        &room.meeting_id,
        &message,
        &Options::within(deadline),
    )
    .await;
    if let Ok(report) = &outcome {
        tracing::info!(room = %room_name, viewer = %who.name, sent = report.sent.len(), failed = report.failed.len(), skipped = report.skipped, "announcement sent from the page");
    }
    Ok(kitchen::announce::respond(outcome))
}

fn unknown_room(name: &str) -> ApiError {
    // Echo the name only when it could be a room name at all.
    let plausible = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let message = if plausible {
        format!("there is no room named {name:?} in this deployment")
    } else {
        "there is no such room in this deployment".to_owned()
    };
    ApiError::new(StatusCode::NOT_FOUND, "unknown_room", message)
}

/// Zoom's failures as elsewhere, with the scope this call needs named.
fn end_error(e: &ZoomError) -> ApiError {
    let mut error = ApiError::from_zoom(e);
    if error.code == "zoom_missing_scope" || e.code() == Some(codes::MISSING_SCOPE) {
        error.code = "zoom_missing_scope";
        error.message = format!(
            "the Zoom app lacks the scope {END_SCOPE} (classic: meeting:write:admin) needed to end a meeting, \
or meeting:read:meeting:admin to check it is running; add it in the Zoom Marketplace"
        );
    }
    error
}
