//! The page's configuration, read once at cold start. Where counts come from
//! is the library's [`OccupancyConfig`], the very one the device's count reads
//! (`KITCHEN_COUNT_SOURCE`, `KITCHEN_PRESENCE_TABLE`,
//! `KITCHEN_COUNT_CACHE_SECONDS`, ...), so the page and the devices always
//! agree on where a number comes from.

use kitchen::config::{CommonConfig, ConfigError, Env};
use kitchen::occupancy::OccupancyConfig;

#[derive(Debug)]
pub struct PageConfig {
    /// Its `rooms` are the page's: `KITCHEN_ROOMS`, or `ZOOM_MEETING_ID` as one
    /// room named `kitchen` (with `ZOOM_JOIN_URL` as its link).
    pub common: CommonConfig,
    pub occupancy: OccupancyConfig,
    /// `ZOOM_TECH_USER`: who sends announcements; without it the page works
    /// but `POST /api/rooms/{room}/announce` answers 503 `announce_not_configured`.
    pub tech_user: Option<String>,
}

impl PageConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            occupancy: OccupancyConfig::from_env(env)?,
            tech_user: env.get("ZOOM_TECH_USER"),
        })
    }
}

#[cfg(test)]
mod tests {
    use kitchen::occupancy::SourceConfig;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<PageConfig, ConfigError> {
        let mut all = vec![
            ("ZOOM_MEETING_ID", "857 4606 5432"),
            ("ZOOM_SECRET_ID", "s"),
        ];
        all.extend_from_slice(pairs);
        PageConfig::from_env(&Env::from_pairs(&all))
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
        assert_eq!(c.occupancy.source, SourceConfig::Dashboard);
        assert!(!c.occupancy.settings.show_names);
        assert_eq!(c.tech_user, None);
        let c = load(&[("ZOOM_JOIN_URL", "https://zoom.example/j/1")]).unwrap();
        assert_eq!(
            c.common.rooms.iter().next().unwrap().join_url.as_deref(),
            Some("https://zoom.example/j/1")
        );
    }

    /// The source rules themselves are `kitchen::occupancy`'s tests.
    #[test]
    fn errors_name_their_variable() {
        for (var, value) in [
            ("KITCHEN_COUNT_SOURCE", "magic"),
            ("ZOOM_JOIN_URL", "javascript:x"),
            ("KITCHEN_SHOW_NAMES", "maybe"),
        ] {
            assert_eq!(load(&[(var, value)]).unwrap_err().var, var);
        }
        assert_eq!(
            load(&[("KITCHEN_COUNT_SOURCE", "auto")]).unwrap_err().var,
            "KITCHEN_PRESENCE_TABLE"
        );
    }
}
