//! notify's configuration, read once at cold start; every error names its variable.

use kitchen::config::{CommonConfig, ConfigError, Env};
use kitchen::notices::NoticeConfig;
use kitchen::rooms::Rooms;

#[derive(Debug)]
pub struct NotifyConfig {
    pub common: CommonConfig,
    /// `KITCHEN_ROOMS` (or `ZOOM_MEETING_ID`): rooms with a `channel` get notices.
    pub rooms: Rooms,
    /// `KITCHEN_PRESENCE_TABLE`: whose stream feeds this function, and where
    /// the episode record lives.
    pub table: String,
    /// `ZOOM_TECH_USER`: the account that posts.
    pub tech_user: String,
    pub notices: NoticeConfig,
}

impl NotifyConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let rooms = Rooms::from_env(env)?;
        // The shared settings (Zoom endpoints, the credentials' source) as
        // `CommonConfig` reads them today: it still wants one meeting id, so it
        // is shown the default room alone.
        // TODO(lead): drop this once CommonConfig reads `Rooms` itself.
        let first = rooms
            .default_room()
            .or_else(|| rooms.iter().next())
            .map(|r| r.meeting_id.clone());
        let single = Env::from_fn(|var| match var {
            "ZOOM_MEETING_ID" => first.clone(),
            "KITCHEN_ROOMS" | "ZOOM_JOIN_URL" => None,
            other => env.get(other),
        });
        let config = Self {
            common: CommonConfig::from_env(&single)?,
            table: env.required("KITCHEN_PRESENCE_TABLE")?,
            tech_user: env.required("ZOOM_TECH_USER")?,
            notices: NoticeConfig::from_env(env)?,
            rooms,
        };
        if config.rooms.iter().all(|r| r.channel.is_none()) {
            tracing::warn!("no room in KITCHEN_ROOMS has a \"channel\": notify will post nothing");
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_table_tech_user_and_notice_settings() {
        let c = NotifyConfig::from_env(&Env::from_pairs(&[
            (
                "KITCHEN_ROOMS",
                r#"{"kitchen": {"meeting_id": "85746065432", "channel": "ch-k"}, "lounge": "86190237415"}"#,
            ),
            ("KITCHEN_PRESENCE_TABLE", "presence"),
            ("ZOOM_TECH_USER", "bot@example.com"),
            ("ZOOM_SECRET_ID", "kitchen"),
            ("KITCHEN_NOTICE_COOLDOWN_SECONDS", "60"),
        ]))
        .unwrap();
        assert_eq!(c.rooms.len(), 2);
        assert_eq!(
            c.rooms.get("kitchen").unwrap().channel.as_deref(),
            Some("ch-k")
        );
        assert_eq!(c.notices.cooldown.as_secs(), 60);
        assert_eq!(
            (c.table.as_str(), c.tech_user.as_str()),
            ("presence", "bot@example.com")
        );
    }

    #[test]
    fn missing_settings_name_their_variable() {
        let base = [
            ("ZOOM_MEETING_ID", "85746065432"),
            ("KITCHEN_PRESENCE_TABLE", "presence"),
            ("ZOOM_TECH_USER", "bot@example.com"),
            ("ZOOM_SECRET_ID", "kitchen"),
        ];
        for missing in ["KITCHEN_PRESENCE_TABLE", "ZOOM_TECH_USER", "ZOOM_SECRET_ID"] {
            let pairs: Vec<_> = base
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            assert_eq!(
                NotifyConfig::from_env(&Env::from_pairs(&pairs))
                    .unwrap_err()
                    .var,
                missing
            );
        }
        let mut bad = base.to_vec();
        bad.push(("KITCHEN_NOTICE_QUIET_HOURS", "late"));
        assert_eq!(
            NotifyConfig::from_env(&Env::from_pairs(&bad))
                .unwrap_err()
                .var,
            "KITCHEN_NOTICE_QUIET_HOURS"
        );
    }
}
