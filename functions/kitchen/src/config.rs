//! Typed configuration read once at cold start. Every failure names the variable.

use std::time::Duration;

use crate::credentials::{CredentialSource, Credentials, DEFAULT_SECRET_TTL, Rotation};
use crate::rooms::Rooms;

pub const DEFAULT_API_URL: &str = "https://api.zoom.us/v2";
pub const DEFAULT_OAUTH_URL: &str = "https://zoom.us/oauth/token";
/// Names the room: for the single-room setting (room `kitchen`) the message
/// reads as it always did.
pub const DEFAULT_MESSAGE_TEMPLATE: &str = "This is your coffee {room} join URL: {join_url}";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error: {var} {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(var: &'static str, problem: impl Into<String>) -> Self {
        Self {
            var,
            problem: problem.into(),
        }
    }
}

/// Where configuration values come from: the process environment in production,
/// a closure over a map in tests (so tests never mutate the shared environment).
type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

pub struct Env<'a>(Box<Lookup<'a>>);

impl<'a> Env<'a> {
    pub fn process() -> Env<'static> {
        Env(Box::new(|k| std::env::var(k).ok()))
    }

    pub fn from_fn(f: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Env(Box::new(f))
    }

    /// Fixed values, for tests: `Env::from_pairs(&[("ZOOM_MEETING_ID", "123456789")])`.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env<'static> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Env(Box::new(move |k| map.get(k).cloned()))
    }

    /// The value, with surrounding whitespace trimmed; empty counts as unset
    /// (SAM passes empty strings for unset optional parameters).
    pub fn get(&self, var: &str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.get(var)
            .ok_or_else(|| ConfigError::new(var, "is required but not set"))
    }

    pub fn seconds(&self, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
        match self.get(var) {
            None => Ok(Duration::from_secs(default)),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|s| *s <= 86_400)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    ConfigError::new(
                        var,
                        format!("must be a whole number of seconds between 0 and 86400, got {v:?}"),
                    )
                }),
        }
    }

    pub fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) => match v.as_str() {
                "true" | "on" | "1" | "yes" => Ok(true),
                "false" | "off" | "0" | "no" => Ok(false),
                _ => Err(ConfigError::new(
                    var,
                    format!("must be on/off (or true/false), got {v:?}"),
                )),
            },
        }
    }
}

/// Where Zoom lives; overridable so the stack can talk to the local simulator.
#[derive(Debug, Clone)]
pub struct ZoomEndpoints {
    pub api_url: String,
    pub oauth_url: String,
}

/// Settings every function shares.
#[derive(Debug)]
pub struct CommonConfig {
    /// `KITCHEN_ROOMS`, or `ZOOM_MEETING_ID` as one room named `kitchen`.
    pub rooms: Rooms,
    pub zoom: ZoomEndpoints,
    pub credentials: CredentialSource,
    pub device_auth: bool,
}

impl CommonConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let rooms = Rooms::from_env(env)?;
        Ok(Self {
            rooms,
            zoom: ZoomEndpoints {
                api_url: url(env, "ZOOM_API_URL", DEFAULT_API_URL)?,
                oauth_url: url(env, "ZOOM_OAUTH_URL", DEFAULT_OAUTH_URL)?,
            },
            credentials: credential_source(env)?,
            device_auth: env.flag("KITCHEN_DEVICE_AUTH", true)?,
        })
    }
}

fn url(env: &Env, var: &'static str, default: &str) -> Result<String, ConfigError> {
    let v = env.get(var).unwrap_or_else(|| default.to_owned());
    match reqwest::Url::parse(&v) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(v.trim_end_matches('/').to_owned())
        }
        _ => Err(ConfigError::new(
            var,
            format!("must be an http(s) URL, got {v:?}"),
        )),
    }
}

fn credential_source(env: &Env) -> Result<CredentialSource, ConfigError> {
    if let Some(secret_id) = env.get("ZOOM_SECRET_ID") {
        let rotation = Rotation {
            ttl: env.seconds("KITCHEN_SECRET_TTL_SECONDS", DEFAULT_SECRET_TTL.as_secs())?,
            ..Rotation::default()
        };
        return Ok(CredentialSource::SecretsManager {
            secret_id,
            rotation,
        });
    }
    let any_env = ["ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET"]
        .iter()
        .any(|v| env.get(v).is_some());
    if !any_env {
        return Err(ConfigError::new(
            "ZOOM_SECRET_ID",
            "is required but not set (or set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET for a local run)",
        ));
    }
    let creds = Credentials::from_env(env)?;
    Ok(CredentialSource::Inline(std::sync::Arc::new(creds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<CommonConfig, ConfigError> {
        CommonConfig::from_env(&Env::from_pairs(pairs))
    }

    #[test]
    fn minimal_secret_config() {
        let c = load(&[
            ("ZOOM_MEETING_ID", "857 4606 5432"),
            ("ZOOM_SECRET_ID", "kitchen"),
        ])
        .unwrap();
        assert_eq!(c.rooms, Rooms::single("85746065432"));
        assert_eq!(c.zoom.api_url, DEFAULT_API_URL);
        assert_eq!(c.zoom.oauth_url, DEFAULT_OAUTH_URL);
        assert!(c.device_auth);
        assert!(
            matches!(c.credentials, CredentialSource::SecretsManager { ref secret_id, rotation } if secret_id == "kitchen" && rotation == Rotation::default())
        );
    }

    #[test]
    fn several_rooms_and_the_secret_ttl() {
        let c = load(&[
            (
                "KITCHEN_ROOMS",
                r#"{"lounge":"86190237415","kitchen":"85746065432"}"#,
            ),
            ("ZOOM_SECRET_ID", "kitchen"),
            ("KITCHEN_SECRET_TTL_SECONDS", "60"),
        ])
        .unwrap();
        assert_eq!(c.rooms.len(), 2);
        assert_eq!(c.rooms.default_room().unwrap().meeting_id, "85746065432");
        let CredentialSource::SecretsManager { rotation, .. } = c.credentials else {
            panic!("expected the secret")
        };
        assert_eq!(rotation.ttl, Duration::from_secs(60));
        assert_eq!(rotation.early_every, Duration::from_secs(60));
        let e = load(&[
            ("ZOOM_MEETING_ID", "123456789"),
            ("ZOOM_SECRET_ID", "x"),
            ("KITCHEN_SECRET_TTL_SECONDS", "soon"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "KITCHEN_SECRET_TTL_SECONDS");
    }

    #[test]
    fn each_error_names_its_variable() {
        assert_eq!(
            load(&[("ZOOM_SECRET_ID", "x")]).unwrap_err().var,
            "KITCHEN_ROOMS"
        );
        assert_eq!(
            load(&[("ZOOM_MEETING_ID", "12ab"), ("ZOOM_SECRET_ID", "x")])
                .unwrap_err()
                .var,
            "ZOOM_MEETING_ID"
        );
        assert_eq!(
            load(&[("ZOOM_MEETING_ID", "123456789")]).unwrap_err().var,
            "ZOOM_SECRET_ID"
        );
        let e = load(&[
            ("ZOOM_MEETING_ID", "123456789"),
            ("ZOOM_SECRET_ID", "x"),
            ("ZOOM_API_URL", "ftp://x"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "ZOOM_API_URL");
        let e = load(&[
            ("ZOOM_MEETING_ID", "123456789"),
            ("ZOOM_SECRET_ID", "x"),
            ("KITCHEN_DEVICE_AUTH", "maybe"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "KITCHEN_DEVICE_AUTH");
        let e = load(&[("ZOOM_MEETING_ID", "123456789"), ("ZOOM_ACCOUNT_ID", "a")]).unwrap_err();
        assert_eq!(e.var, "ZOOM_CLIENT_ID");
        assert!(e.to_string().contains("ZOOM_CLIENT_ID"));
    }

    #[test]
    fn env_credentials_and_device_keys() {
        let c = load(&[
            ("ZOOM_MEETING_ID", "123456789"),
            ("ZOOM_ACCOUNT_ID", "acc"),
            ("ZOOM_CLIENT_ID", "cid"),
            ("ZOOM_CLIENT_SECRET", "csecret"),
            ("KITCHEN_DEVICE_KEYS", r#"{"desk-1":"k1-0123456789abcdef"}"#),
            ("KITCHEN_DEVICE_AUTH", "off"),
        ])
        .unwrap();
        assert!(!c.device_auth);
        let CredentialSource::Inline(creds) = c.credentials else {
            panic!("expected inline credentials")
        };
        assert_eq!(creds.account_id, "acc");
        assert_eq!(creds.devices.len(), 1);
    }

    #[test]
    fn bad_device_keys_name_the_variable_not_the_value() {
        let e = load(&[
            ("ZOOM_MEETING_ID", "123456789"),
            ("ZOOM_ACCOUNT_ID", "acc"),
            ("ZOOM_CLIENT_ID", "cid"),
            ("ZOOM_CLIENT_SECRET", "csecret"),
            (
                "KITCHEN_DEVICE_KEYS",
                r#"{"desk-1": 42, "x": "supersecretkey"}"#,
            ),
        ])
        .unwrap_err();
        assert_eq!(e.var, "KITCHEN_DEVICE_KEYS");
        assert!(!e.to_string().contains("supersecretkey"));
    }

    #[test]
    fn seconds_and_flags() {
        let env = Env::from_pairs(&[("A", "15"), ("B", "-1"), ("C", "true"), ("D", "")]);
        assert_eq!(env.seconds("A", 10).unwrap(), Duration::from_secs(15));
        assert_eq!(env.seconds("B", 10).unwrap_err().var, "B");
        assert_eq!(env.seconds("D", 10).unwrap(), Duration::from_secs(10));
        assert!(env.flag("C", false).unwrap());
    }
}
