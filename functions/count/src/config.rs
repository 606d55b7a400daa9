//! The count's configuration, read once at cold start. Every error names its
//! variable. Where counts come from and how they are served is the library's
//! [`OccupancyConfig`], shared with the page.

use kitchen::config::{CommonConfig, ConfigError, Env};
use kitchen::occupancy::OccupancyConfig;

#[derive(Debug)]
pub struct CountConfig {
    pub common: CommonConfig,
    /// `KITCHEN_COUNT_SOURCE`, `KITCHEN_PRESENCE_TABLE`, the cache, stale and
    /// freshness periods and `KITCHEN_SHOW_NAMES`.
    pub occupancy: OccupancyConfig,
}

impl CountConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            occupancy: OccupancyConfig::from_env(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use kitchen::occupancy::SourceConfig;

    use super::*;

    #[test]
    fn reads_the_rooms_and_the_occupancy_settings() {
        let c = CountConfig::from_env(&Env::from_pairs(&[
            ("ZOOM_MEETING_ID", "85746065432"),
            ("ZOOM_SECRET_ID", "s"),
            ("KITCHEN_PRESENCE_TABLE", "t"),
            ("KITCHEN_SHOW_NAMES", "true"),
        ]))
        .unwrap();
        assert_eq!(c.common.rooms.len(), 1);
        assert_eq!(c.occupancy.source, SourceConfig::Auto { table: "t".into() });
        assert!(c.occupancy.settings.show_names);
        let e = CountConfig::from_env(&Env::from_pairs(&[
            ("ZOOM_MEETING_ID", "85746065432"),
            ("ZOOM_SECRET_ID", "s"),
            ("KITCHEN_COUNT_SOURCE", "psychic"),
        ]))
        .unwrap_err();
        assert_eq!(e.var, "KITCHEN_COUNT_SOURCE");
    }
}
