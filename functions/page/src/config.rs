//! The page's configuration, read once at cold start. It reads the count's
//! variables with the count's meaning (`KITCHEN_COUNT_SOURCE`,
//! `KITCHEN_PRESENCE_TABLE`, `KITCHEN_COUNT_CACHE_SECONDS`, ...), so the page
//! and the devices always agree on where a number comes from.

use std::time::Duration;

use kitchen::config::{CommonConfig, ConfigError, Env};

/// Where a room's count comes from. Each variant carries what it needs, so a
/// source and its table cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceConfig {
    /// Zoom's live dashboard, at most one call per room per cache period.
    Dashboard,
    /// The presence table kept by the webhook: no Zoom call.
    Presence { table: String },
    /// Presence while the room's webhook activity is fresh, else the dashboard.
    Auto { table: String },
}

#[derive(Debug)]
pub struct PageConfig {
    /// Its `rooms` are the page's: `KITCHEN_ROOMS`, or `ZOOM_MEETING_ID` as one
    /// room named `kitchen` (with `ZOOM_JOIN_URL` as its link).
    pub common: CommonConfig,
    pub source: SourceConfig,
    pub settings: Settings,
    /// `ZOOM_TECH_USER`: who sends announcements; without it the page works
    /// but `POST /api/rooms/{room}/announce` answers 503 `announce_not_configured`.
    pub tech_user: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// A dashboard count is reused for this long (default 10 s).
    pub cache_for: Duration,
    /// When the source fails, the last count is served marked stale while
    /// it is younger than this (default 300 s).
    pub stale_for: Duration,
    /// `names` in `/api/rooms` (off by default, for privacy).
    pub show_names: bool,
    /// `auto`: presence is fresh while its last activity is younger than this.
    pub presence_fresh_for: Duration,
}

impl PageConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_env(env)?;
        Ok(Self {
            source: source(env)?,
            settings: Settings {
                cache_for: env.seconds("KITCHEN_COUNT_CACHE_SECONDS", 10)?,
                stale_for: env.seconds("KITCHEN_STALE_SECONDS", 300)?,
                show_names: env.flag("KITCHEN_SHOW_NAMES", false)?,
                presence_fresh_for: env.seconds("KITCHEN_PRESENCE_FRESH_SECONDS", 1800)?,
            },
            tech_user: env.get("ZOOM_TECH_USER"),
            common,
        })
    }
}

fn source(env: &Env) -> Result<SourceConfig, ConfigError> {
    let table = env.get("KITCHEN_PRESENCE_TABLE");
    let chosen = env
        .get("KITCHEN_COUNT_SOURCE")
        .map(|v| v.to_ascii_lowercase());
    let needs_table = || {
        ConfigError::new(
            "KITCHEN_PRESENCE_TABLE",
            "is required when KITCHEN_COUNT_SOURCE is webhook or auto",
        )
    };
    match (chosen.as_deref(), table) {
        (None, None) | (Some("dashboard"), _) => Ok(SourceConfig::Dashboard),
        (None, Some(table)) | (Some("auto"), Some(table)) => Ok(SourceConfig::Auto { table }),
        (Some("webhook"), Some(table)) => Ok(SourceConfig::Presence { table }),
        (Some("auto" | "webhook"), None) => Err(needs_table()),
        (Some(other), _) => Err(ConfigError::new(
            "KITCHEN_COUNT_SOURCE",
            format!("must be dashboard, webhook or auto, got {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<PageConfig, ConfigError> {
        let map: HashMap<String, String> = [
            ("ZOOM_MEETING_ID", "857 4606 5432"),
            ("ZOOM_SECRET_ID", "s"),
        ]
        .iter()
        .chain(pairs)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        PageConfig::from_env(&Env::from_fn(|k| map.get(k).cloned()))
    }

    #[test]
    fn the_rooms_are_the_deployment_rooms() {
        let c = load(&[]).unwrap();
        let rooms: Vec<_> = c
            .common
            .rooms
            .iter()
            .map(|r| (r.name.as_str(), r.meeting_id.as_str()))
            .collect();
        assert_eq!(rooms, [("kitchen", "85746065432")]);
        assert_eq!(c.source, SourceConfig::Dashboard);
        assert!(!c.settings.show_names);
        let c = load(&[("ZOOM_JOIN_URL", "https://zoom.example/j/1")]).unwrap();
        assert_eq!(
            c.common.rooms.iter().next().unwrap().join_url.as_deref(),
            Some("https://zoom.example/j/1")
        );
    }

    #[test]
    fn the_count_source_means_what_it_means_for_the_count() {
        let t = ("KITCHEN_PRESENCE_TABLE", "presence");
        assert_eq!(
            load(&[t]).unwrap().source,
            SourceConfig::Auto {
                table: "presence".into()
            }
        );
        assert_eq!(
            load(&[t, ("KITCHEN_COUNT_SOURCE", "webhook")])
                .unwrap()
                .source,
            SourceConfig::Presence {
                table: "presence".into()
            }
        );
        assert_eq!(
            load(&[t, ("KITCHEN_COUNT_SOURCE", "dashboard")])
                .unwrap()
                .source,
            SourceConfig::Dashboard
        );
        assert_eq!(
            load(&[("KITCHEN_COUNT_SOURCE", "auto")]).unwrap_err().var,
            "KITCHEN_PRESENCE_TABLE"
        );
        assert_eq!(
            load(&[("KITCHEN_COUNT_SOURCE", "magic")]).unwrap_err().var,
            "KITCHEN_COUNT_SOURCE"
        );
        assert_eq!(
            load(&[("ZOOM_JOIN_URL", "javascript:x")]).unwrap_err().var,
            "ZOOM_JOIN_URL"
        );
        assert_eq!(
            load(&[("KITCHEN_SHOW_NAMES", "maybe")]).unwrap_err().var,
            "KITCHEN_SHOW_NAMES"
        );
    }
}
