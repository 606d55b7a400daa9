//! `GET /participant-count`: how many people are in the calling device's room
//! right now, read through [`kitchen::occupancy`] (shared with the page): Zoom's
//! live dashboard (cached per room, single-flight, stale while Zoom fails), the
//! presence table the webhook keeps (no Zoom call), or, with `auto`, presence
//! while webhooks are arriving for that room and the dashboard otherwise.
//! Plain-text integer for the device (read with `atoi`), JSON on request.

use kitchen::app::AppState;
use kitchen::http::{ApiError, json_response, respond, text_response};
use kitchen::lambda_http::http::{HeaderValue, Method, StatusCode};
use kitchen::lambda_http::{Body, Error, Request, Response};
use kitchen::metrics::{self, Metric};
use kitchen::occupancy::{Occupancy, Reading};
use kitchen::request::wants_json;
use kitchen::time::format_rfc3339;
use serde::Serialize;

use crate::config::CountConfig;

/// How counts are served, whatever their source.
pub use kitchen::occupancy::Settings;
/// Where this container's counts come from (an alias of the library's type,
/// under the name the count's tests know).
pub use kitchen::occupancy::Source as CountSource;

pub const STALE_HEADER: &str = "x-kitchen-stale";
pub const SOURCE_HEADER: &str = "x-kitchen-source";

pub struct Count {
    pub app: AppState,
    occupancy: Occupancy,
}

impl Count {
    pub async fn new(config: CountConfig) -> Result<Self, Error> {
        let (app, occupancy) = Occupancy::with_app(config.common, config.occupancy).await?;
        Ok(Self { app, occupancy })
    }

    pub fn new_with(app: AppState, settings: Settings, source: CountSource) -> Self {
        let occupancy = Occupancy::new(source, settings, &app.config.rooms);
        Self { app, occupancy }
    }
}

/// The count takes no input: a body or query string is refused, not ignored.
fn reject_input(req: &Request) -> Result<(), ApiError> {
    if !req.body().as_ref().is_empty() {
        return Err(ApiError::bad_request(
            "unexpected_body",
            "GET /participant-count takes no body",
        ));
    }
    if req.uri().query().is_some_and(|q| !q.is_empty()) {
        return Err(ApiError::bad_request(
            "unexpected_query",
            "GET /participant-count takes no query parameters",
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct CountBody<'a> {
    count: usize,
    room: &'a str,
    meeting_id: &'a str,
    as_of: String,
    stale: bool,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    names: Option<&'a [String]>,
}

pub async fn handle(state: &Count, req: Request) -> Result<Response<Body>, Error> {
    respond(count(state, &req).await)
}

async fn count(state: &Count, req: &Request) -> Result<Response<Body>, ApiError> {
    if req.method() != Method::GET {
        return Err(ApiError::method_not_allowed("GET"));
    }
    let deadline = state.app.deadline_for(req);
    let device = state.app.authorize(req.headers(), &deadline).await?;
    reject_input(req)?;
    let room = state.app.room_for(device.as_ref())?;
    let Reading {
        snapshot: snap,
        stale,
    } = state.occupancy.read(&state.app, room, &deadline).await?;
    if stale {
        metrics::incr(Metric::CountServedStale);
    }
    tracing::debug!(
        device = device.as_ref().map_or("-", |d| d.name.as_str()),
        room = %room.name,
        count = snap.count,
        stale,
        "count served"
    );
    let mut resp = if wants_json(req.headers()) {
        json_response(
            StatusCode::OK,
            &CountBody {
                count: snap.count,
                room: &room.name,
                meeting_id: &room.meeting_id,
                as_of: format_rfc3339(snap.as_of),
                stale,
                source: snap.source,
                names: state
                    .occupancy
                    .settings()
                    .show_names
                    .then_some(snap.names.as_slice()),
            },
        )
    } else {
        text_response(StatusCode::OK, snap.count.to_string())
    };
    resp.headers_mut().insert(
        STALE_HEADER,
        HeaderValue::from_static(if stale { "true" } else { "false" }),
    );
    resp.headers_mut()
        .insert(SOURCE_HEADER, HeaderValue::from_static(snap.source));
    Ok(resp)
}
