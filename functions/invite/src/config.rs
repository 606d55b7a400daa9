//! The invite's configuration, read once at cold start. Every error names its variable.

use kitchen::config::{CommonConfig, ConfigError, DEFAULT_MESSAGE_TEMPLATE, Env};
use kitchen::limits::LimitSettings;
use kitchen::rooms::MAX_NAME_LEN;

/// Where the room's join link goes in the message (required).
pub const JOIN_URL: &str = "{join_url}";
/// Where the room's name goes (optional).
pub const ROOM: &str = "{room}";
/// Zoom's limit for `message` (team-chat.json, sendaChatMessage).
pub const MAX_MESSAGE_CHARS: usize = 1024;
/// The longest join link a message makes room for.
pub const MAX_JOIN_URL_CHARS: usize = 500;

#[derive(Debug)]
pub struct InviteConfig {
    pub common: CommonConfig,
    /// `ZOOM_TECH_USER`: the account that sends the message.
    pub tech_user: String,
    /// `KITCHEN_MESSAGE_TEMPLATE`: `{join_url}` required, `{room}` optional.
    pub template: String,
    /// `KITCHEN_LIMITS_TABLE` with `KITCHEN_INVITE_INTERVAL_SECONDS` and
    /// `KITCHEN_INVITES_PER_DAY`; `None`: no per-device limits (warned at start).
    pub limits: Option<(String, LimitSettings)>,
}

impl InviteConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let template = env
            .get("KITCHEN_MESSAGE_TEMPLATE")
            .unwrap_or_else(|| DEFAULT_MESSAGE_TEMPLATE.to_owned());
        check_template(&template)?;
        let limits = match env.get("KITCHEN_LIMITS_TABLE") {
            Some(table) => Some((table, LimitSettings::from_env(env)?)),
            None => None,
        };
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            tech_user: env.required("ZOOM_TECH_USER")?,
            template,
            limits,
        })
    }
}

/// `{join_url}` is required; the message, with the longest room name and
/// join link, must fit Zoom's 1024 characters.
pub fn check_template(template: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| ConfigError::new("KITCHEN_MESSAGE_TEMPLATE", why);
    if !template.contains(JOIN_URL) {
        return Err(bad("must contain {join_url}"));
    }
    let urls = template.matches(JOIN_URL).count();
    let rooms = template.matches(ROOM).count();
    let longest = template.chars().count() - urls * JOIN_URL.len() - rooms * ROOM.len()
        + urls * MAX_JOIN_URL_CHARS
        + rooms * MAX_NAME_LEN;
    if template.chars().count() > MAX_MESSAGE_CHARS / 2 || longest > MAX_MESSAGE_CHARS {
        return Err(bad(
            "must be at most 512 characters, and fit 1024 with the join link (500) and room name (32) in place",
        ));
    }
    Ok(())
}

/// The message for `room` with its `join_url`.
pub fn render(template: &str, room: &str, join_url: &str) -> String {
    template.replace(ROOM, room).replace(JOIN_URL, join_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(extra: &[(&str, &str)]) -> Result<InviteConfig, ConfigError> {
        let base = [
            ("ZOOM_MEETING_ID", "85746065432"),
            ("ZOOM_SECRET_ID", "s"),
            ("ZOOM_TECH_USER", "bot@x.com"),
        ];
        let all: Vec<_> = base.iter().chain(extra).copied().collect();
        InviteConfig::from_env(&Env::from_pairs(&all))
    }

    #[test]
    fn config_names_each_bad_variable() {
        let var = |extra: &[(&str, &str)]| load(extra).unwrap_err().var;
        assert_eq!(
            InviteConfig::from_env(&Env::from_pairs(&[
                ("ZOOM_MEETING_ID", "85746065432"),
                ("ZOOM_SECRET_ID", "s")
            ]))
            .unwrap_err()
            .var,
            "ZOOM_TECH_USER"
        );
        assert_eq!(
            var(&[("KITCHEN_MESSAGE_TEMPLATE", "no placeholder {room}")]),
            "KITCHEN_MESSAGE_TEMPLATE"
        );
        let long = format!("{} {{join_url}} {{join_url}}", "x".repeat(100));
        assert_eq!(
            var(&[("KITCHEN_MESSAGE_TEMPLATE", &long)]),
            "KITCHEN_MESSAGE_TEMPLATE"
        );
        assert_eq!(var(&[("ZOOM_JOIN_URL", "zoom.us/j/1")]), "ZOOM_JOIN_URL");
        assert_eq!(
            var(&[
                ("KITCHEN_LIMITS_TABLE", "t"),
                ("KITCHEN_INVITES_PER_DAY", "0")
            ]),
            "KITCHEN_INVITES_PER_DAY"
        );
    }

    #[test]
    fn limits_only_with_a_table_and_old_templates_keep_working() {
        assert_eq!(load(&[]).unwrap().limits, None);
        let c = load(&[
            ("KITCHEN_LIMITS_TABLE", "limits"),
            ("KITCHEN_MESSAGE_TEMPLATE", "Coffee? {join_url}"),
        ])
        .unwrap();
        let (table, settings) = c.limits.unwrap();
        assert_eq!((table.as_str(), settings.per_day), ("limits", 50));
        assert_eq!(
            render(&c.template, "lounge", "https://z/j/1"),
            "Coffee? https://z/j/1"
        );
        assert_eq!(
            render(DEFAULT_MESSAGE_TEMPLATE, "lounge", "https://z/j/1"),
            "This is your coffee lounge join URL: https://z/j/1"
        );
    }
}
