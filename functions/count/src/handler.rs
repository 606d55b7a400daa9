//! `GET /participant-count`: how many people are in the kitchen right now.
//! Plain-text integer for the device (read with `atoi`), JSON on request.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use kitchen::app::Kitchen;
use kitchen::config::{CommonConfig, ConfigError, Env};
use kitchen::http::{ApiError, json_response, text_response};
use kitchen::lambda_http::http::{HeaderValue, Method, StatusCode};
use kitchen::lambda_http::{Body, Error, Request, Response};
use kitchen::participants::{Headcount, headcount};
use kitchen::request::wants_json;
use kitchen::time::format_rfc3339;
use serde::Serialize;
use tokio::sync::Mutex;

pub const STALE_HEADER: &str = "x-kitchen-stale";

#[derive(Debug)]
pub struct CountConfig {
    pub common: CommonConfig,
    /// Serve the last count without asking Zoom for this long (default 10 s).
    pub cache_for: Duration,
    /// When Zoom fails, serve the last count marked stale while it is younger than this (default 300 s).
    pub stale_for: Duration,
    /// List display names in the JSON form (off by default, for privacy).
    pub show_names: bool,
}

impl CountConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            cache_for: env.seconds("KITCHEN_COUNT_CACHE_SECONDS", 10)?,
            stale_for: env.seconds("KITCHEN_STALE_SECONDS", 300)?,
            show_names: env.flag("KITCHEN_SHOW_NAMES", false)?,
        })
    }
}

#[derive(Debug)]
struct Snapshot {
    headcount: Headcount,
    taken: Instant,
    as_of: SystemTime,
}

pub struct Count {
    pub kitchen: Kitchen,
    cache_for: Duration,
    stale_for: Duration,
    show_names: bool,
    last: RwLock<Option<Arc<Snapshot>>>,
    refresh: Mutex<()>,
}

impl Count {
    pub async fn new(config: CountConfig) -> Result<Self, Error> {
        let kitchen = Kitchen::from_config(config.common).await?;
        Ok(Self::with_kitchen(kitchen, config.cache_for, config.stale_for, config.show_names))
    }

    pub fn with_kitchen(kitchen: Kitchen, cache_for: Duration, stale_for: Duration, show_names: bool) -> Self {
        Self { kitchen, cache_for, stale_for, show_names, last: RwLock::new(None), refresh: Mutex::new(()) }
    }

    fn last(&self) -> Option<Arc<Snapshot>> {
        self.last.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        self.last().filter(|s| s.taken.elapsed() < self.cache_for)
    }

    /// The current headcount and whether it is stale. At most one dashboard
    /// fetch per cache period per container, however many callers arrive.
    async fn headcount(&self) -> Result<(Arc<Snapshot>, bool), ApiError> {
        if let Some(s) = self.fresh() {
            return Ok((s, false));
        }
        let _single_flight = self.refresh.lock().await;
        if let Some(s) = self.fresh() {
            return Ok((s, false));
        }
        let creds = self.kitchen.credentials().await?;
        let k = &self.kitchen;
        match k.within_deadline(k.zoom.live_participants(&creds, &k.config.meeting_id)).await {
            Ok(entries) => {
                let snap = Arc::new(Snapshot { headcount: headcount(&entries), taken: Instant::now(), as_of: SystemTime::now() });
                *self.last.write().unwrap_or_else(|p| p.into_inner()) = Some(snap.clone());
                Ok((snap, false))
            }
            Err(e) => match self.last().filter(|s| e.is_transient() && s.taken.elapsed() < self.stale_for) {
                Some(s) => {
                    tracing::warn!(error = %e, age_s = s.taken.elapsed().as_secs(), "Zoom failed; serving the last count as stale");
                    Ok((s, true))
                }
                None => Err(ApiError::from_zoom(&e)),
            },
        }
    }
}

#[derive(Serialize)]
struct CountBody<'a> {
    count: usize,
    meeting_id: &'a str,
    as_of: String,
    stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    names: Option<&'a [String]>,
}

pub async fn handle(state: &Count, req: Request) -> Result<Response<Body>, Error> {
    Ok(match count(state, &req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    })
}

async fn count(state: &Count, req: &Request) -> Result<Response<Body>, ApiError> {
    if req.method() != Method::GET {
        return Err(ApiError::method_not_allowed("GET"));
    }
    let device = state.kitchen.authorize(req.headers()).await?;
    let (snap, stale) = state.headcount().await?;
    tracing::debug!(device = device.as_deref().unwrap_or("-"), count = snap.headcount.count, stale, "count served");
    let mut resp = if wants_json(req.headers()) {
        json_response(
            StatusCode::OK,
            &CountBody {
                count: snap.headcount.count,
                meeting_id: &state.kitchen.config.meeting_id,
                as_of: format_rfc3339(snap.as_of),
                stale,
                names: state.show_names.then_some(snap.headcount.names.as_slice()),
            },
        )
    } else {
        text_response(StatusCode::OK, snap.headcount.count.to_string())
    };
    resp.headers_mut().insert(STALE_HEADER, HeaderValue::from_static(if stale { "true" } else { "false" }));
    Ok(resp)
}
