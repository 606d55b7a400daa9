//! The count's configuration, read once at cold start. Every error names its variable.

use std::time::Duration;

use kitchen::config::{CommonConfig, ConfigError, Env};

/// Where counts come from (`KITCHEN_COUNT_SOURCE`), with the presence table
/// wherever one is needed, so the two can never disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceConfig {
    /// `dashboard`: Zoom's live dashboard only.
    Dashboard,
    /// `presence` (also accepted: `webhook`, its first name): the presence table only.
    Presence { table: String },
    /// `auto`: presence while webhooks keep the room fresh, else the dashboard.
    Auto { table: String },
}

#[derive(Debug)]
pub struct CountConfig {
    pub common: CommonConfig,
    /// Serve the last dashboard count without asking Zoom for this long (default 10 s).
    pub cache_for: Duration,
    /// When the source fails, serve the last count marked stale while it is younger than this (default 300 s).
    pub stale_for: Duration,
    /// List display names in the JSON form (off by default, for privacy).
    pub show_names: bool,
    pub source: SourceConfig,
    /// `auto`: presence counts as fresh while its last webhook event is younger than this (default 1800 s).
    pub presence_fresh_for: Duration,
}

impl CountConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            cache_for: env.seconds("KITCHEN_COUNT_CACHE_SECONDS", 10)?,
            stale_for: env.seconds("KITCHEN_STALE_SECONDS", 300)?,
            show_names: env.flag("KITCHEN_SHOW_NAMES", false)?,
            source: source(env)?,
            presence_fresh_for: kitchen::presence::fresh_for(env)?,
        })
    }
}

/// Unset means `auto` when a presence table is configured, else `dashboard`.
fn source(env: &Env) -> Result<SourceConfig, ConfigError> {
    let table = env.get("KITCHEN_PRESENCE_TABLE");
    let chosen = env
        .get("KITCHEN_COUNT_SOURCE")
        .map(|v| v.to_ascii_lowercase());
    let needs_table = || {
        table.clone().ok_or_else(|| {
            ConfigError::new(
                "KITCHEN_PRESENCE_TABLE",
                "is required when KITCHEN_COUNT_SOURCE is presence (webhook) or auto",
            )
        })
    };
    match chosen.as_deref() {
        None => Ok(match table {
            Some(table) => SourceConfig::Auto { table },
            None => SourceConfig::Dashboard,
        }),
        Some("dashboard") => Ok(SourceConfig::Dashboard),
        Some("presence" | "webhook") => Ok(SourceConfig::Presence {
            table: needs_table()?,
        }),
        Some("auto") => Ok(SourceConfig::Auto {
            table: needs_table()?,
        }),
        Some(other) => Err(ConfigError::new(
            "KITCHEN_COUNT_SOURCE",
            format!("must be dashboard, presence (or webhook) or auto, got {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn load(pairs: &[(&str, &str)]) -> Result<CountConfig, ConfigError> {
        let mut all = vec![("ZOOM_MEETING_ID", "85746065432"), ("ZOOM_SECRET_ID", "s")];
        all.extend_from_slice(pairs);
        CountConfig::from_env(&Env::from_pairs(&all))
    }

    #[test]
    fn source_selection() {
        let table = || "t".to_owned();
        assert_eq!(load(&[]).unwrap().source, SourceConfig::Dashboard);
        assert_eq!(
            load(&[("KITCHEN_PRESENCE_TABLE", "t")]).unwrap().source,
            SourceConfig::Auto { table: table() }
        );
        for name in ["webhook", "presence", "Presence"] {
            assert_eq!(
                load(&[
                    ("KITCHEN_PRESENCE_TABLE", "t"),
                    ("KITCHEN_COUNT_SOURCE", name)
                ])
                .unwrap()
                .source,
                SourceConfig::Presence { table: table() },
                "{name}"
            );
        }
        assert_eq!(
            load(&[
                ("KITCHEN_PRESENCE_TABLE", "t"),
                ("KITCHEN_COUNT_SOURCE", "dashboard")
            ])
            .unwrap()
            .source,
            SourceConfig::Dashboard
        );
        for name in ["webhook", "auto"] {
            assert_eq!(
                load(&[("KITCHEN_COUNT_SOURCE", name)]).unwrap_err().var,
                "KITCHEN_PRESENCE_TABLE"
            );
        }
        assert_eq!(
            load(&[("KITCHEN_COUNT_SOURCE", "psychic")])
                .unwrap_err()
                .var,
            "KITCHEN_COUNT_SOURCE"
        );
    }

    #[test]
    fn defaults_and_errors() {
        let c = load(&[]).unwrap();
        assert_eq!(
            (c.cache_for, c.stale_for, c.show_names, c.presence_fresh_for),
            (10 * SECOND, 300 * SECOND, false, 1800 * SECOND)
        );
        assert_eq!(
            load(&[("KITCHEN_COUNT_CACHE_SECONDS", "ten")])
                .unwrap_err()
                .var,
            "KITCHEN_COUNT_CACHE_SECONDS"
        );
    }
}
