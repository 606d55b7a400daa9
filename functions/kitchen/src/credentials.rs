//! Zoom credentials, devices, viewers and the webhook secret token, from
//! Secrets Manager. Read on first use, then again when the copy is older than
//! `KITCHEN_SECRET_TTL_SECONDS` (default 300), so a revoked device stops
//! working within that time; a request with an unknown key may re-read it
//! early, at most once per [`EARLY_REREAD_EVERY`] per container, so a new
//! device works within a minute. A failed first read is not cached (the next
//! request tries again, the caller gets 503); a failed re-read keeps serving
//! the last good copy and is logged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::cache::Cached;

use crate::config::{ConfigError, Env};
use crate::devices::{self, Devices};
use crate::keyring::Skipped;
use crate::secret::Secret;

/// What the secret holds. Field values never appear in `Debug` or in errors.
#[derive(Debug)]
pub struct Credentials {
    pub account_id: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The desk devices (`devices`, and the older `device_keys`); a bad entry
    /// is skipped and logged by name at load, never fatal.
    pub devices: Devices,
    pub webhook_secret_token: Option<Secret>,
    /// Who may open the kitchen page (`viewers`); a bad entry is skipped.
    pub viewers: crate::viewers::Viewers,
}

#[derive(Debug, Clone)]
pub enum CredentialSource {
    /// Secrets Manager secret name or ARN (production and the local run).
    SecretsManager {
        secret_id: String,
        rotation: Rotation,
    },
    /// Read from environment variables at start (local run against real Zoom).
    Inline(Arc<Credentials>),
}

/// How often the secret is read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// A copy older than this is read again (`KITCHEN_SECRET_TTL_SECONDS`).
    pub ttl: Duration,
    /// At most one early re-read for an unknown key per this period.
    pub early_every: Duration,
}

pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(300);
pub const EARLY_REREAD_EVERY: Duration = Duration::from_secs(60);
/// A re-read while a good copy is at hand waits at most this long, so a slow
/// Secrets Manager does not eat the request's time.
pub const REREAD_BUDGET: Duration = Duration::from_millis(1500);
/// After a failed re-read, the last good copy is served this long (at most
/// the TTL) before the next attempt, so an outage does not slow every request.
pub const RETRY_FAILED_REREAD: Duration = Duration::from_secs(30);

impl Default for Rotation {
    fn default() -> Self {
        Self {
            ttl: DEFAULT_SECRET_TTL,
            early_every: EARLY_REREAD_EVERY,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("the credentials secret could not be read ({0})")]
    Unavailable(String),
    #[error("the credentials secret is malformed: {0}")]
    Malformed(String),
}

const PLACEHOLDER: &str = "REPLACE_ME";

impl Credentials {
    /// Parses the secret's JSON. Errors name the field, never a value: serde's own
    /// messages quote the offending input, so they are not used here.
    pub fn from_secret_json(text: &str) -> Result<Self, CredentialError> {
        let malformed = |what: &str| CredentialError::Malformed(what.to_owned());
        let value: Value =
            serde_json::from_str(text).map_err(|_| malformed("it is not valid JSON"))?;
        let obj = value
            .as_object()
            .ok_or_else(|| malformed("it is not a JSON object"))?;
        let text_field = |name: &str| -> Result<String, CredentialError> {
            match obj.get(name) {
                Some(Value::String(s)) if !s.trim().is_empty() && s != PLACEHOLDER => {
                    Ok(s.trim().to_owned())
                }
                Some(Value::String(_)) => Err(malformed(&format!(
                    "field \"{name}\" is empty or still a placeholder"
                ))),
                Some(_) => Err(malformed(&format!("field \"{name}\" must be a string"))),
                None => Err(malformed(&format!("field \"{name}\" is missing"))),
            }
        };
        let webhook_secret_token = match obj.get("webhook_secret_token") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() || s == PLACEHOLDER => None,
            Some(Value::String(s)) => Some(Secret::new(s.clone())),
            Some(_) => return Err(malformed("field \"webhook_secret_token\" must be a string")),
        };
        let account_id = text_field("account_id")?;
        let client_id = text_field("client_id")?;
        let client_secret = Secret::new(text_field("client_secret")?);
        let (devices, skipped_devices) = devices::from_secret(obj);
        let (viewers, skipped_viewers) = crate::viewers::from_secret(obj);
        skipped_devices
            .iter()
            .chain(&skipped_viewers)
            .for_each(Skipped::log);
        Ok(Self {
            account_id,
            client_id,
            client_secret,
            devices,
            webhook_secret_token,
            viewers,
        })
    }

    /// The same values from `ZOOM_ACCOUNT_ID`, `ZOOM_CLIENT_ID`, `ZOOM_CLIENT_SECRET`,
    /// `KITCHEN_DEVICE_KEYS` (JSON object) and `ZOOM_WEBHOOK_SECRET_TOKEN`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        // Read like the secret's `device_keys`, but checked at start: a bad
        // entry in the environment is a configuration error naming the device.
        let devices = match env.get("KITCHEN_DEVICE_KEYS") {
            None => Devices::default(),
            Some(raw) => {
                let bad = |why: String| ConfigError::new("KITCHEN_DEVICE_KEYS", why);
                let v: Value = serde_json::from_str(&raw)
                    .ok()
                    .filter(Value::is_object)
                    .ok_or_else(|| bad("must be a JSON object of device name to key".into()))?;
                let mut obj = serde_json::Map::new();
                obj.insert("device_keys".into(), v);
                let (devices, skipped) = devices::from_secret(&obj);
                if let Some(s) = skipped.first() {
                    return Err(bad(format!("device {:?}: {}", s.name, s.reason)));
                }
                devices
            }
        };
        Ok(Self {
            account_id: env.required("ZOOM_ACCOUNT_ID")?,
            client_id: env.required("ZOOM_CLIENT_ID")?,
            client_secret: Secret::new(env.required("ZOOM_CLIENT_SECRET")?),
            devices,
            webhook_secret_token: env.get("ZOOM_WEBHOOK_SECRET_TOKEN").map(Secret::new),
            viewers: Default::default(),
        })
    }
}

/// The credentials of a container: read once, re-read on expiry or early for
/// an unknown key; concurrent callers share one read (see [`Cached`]).
pub struct CredentialStore {
    source: CredentialSource,
    client: Option<aws_sdk_secretsmanager::Client>,
    copy: Cached<Held>,
    /// When the last early re-read was started.
    last_early: Mutex<Option<Instant>>,
}

#[derive(Clone)]
struct Held {
    creds: Arc<Credentials>,
    read_at: Instant,
    /// Served without reading again until then.
    fresh_until: Instant,
}

impl CredentialStore {
    /// `sdk` is required for [`CredentialSource::SecretsManager`]; pass the shared
    /// SDK config built once in `main`.
    pub fn new(source: CredentialSource, sdk: Option<&aws_config::SdkConfig>) -> Self {
        let client = match &source {
            CredentialSource::SecretsManager { .. } => sdk.map(aws_sdk_secretsmanager::Client::new),
            CredentialSource::Inline(_) => None,
        };
        Self {
            source,
            client,
            copy: Cached::default(),
            last_early: Mutex::new(None),
        }
    }

    /// The credentials: the copy at hand while it is younger than the TTL,
    /// else a fresh read (the last good copy when that read fails).
    pub async fn get(&self) -> Result<Arc<Credentials>, CredentialError> {
        let rotation = match &self.source {
            CredentialSource::Inline(c) => return Ok(c.clone()),
            CredentialSource::SecretsManager { rotation, .. } => rotation,
        };
        let copy = self
            .copy
            .get_or_refresh(
                |c| Instant::now() < c.fresh_until,
                || self.reread(rotation.ttl),
            )
            .await?;
        Ok(copy.creds)
    }

    /// Reads the secret again before its TTL, because a caller presented a
    /// key the copy at hand does not know. At most once per
    /// `rotation.early_every` per container; `None` when not allowed now or
    /// when nothing new could be read.
    pub async fn reread_early(&self) -> Option<Arc<Credentials>> {
        let CredentialSource::SecretsManager { rotation, .. } = &self.source else {
            return None;
        };
        let asked = Instant::now();
        {
            let mut last = self.last_early.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| asked.duration_since(t) < rotation.early_every) {
                return None;
            }
            *last = Some(asked);
        }
        tracing::info!("an unknown key was presented; reading the credentials secret early");
        let copy = self
            .copy
            // Someone else read it since we asked: that copy will do.
            .get_or_refresh(|c| c.read_at >= asked, || self.reread(rotation.ttl))
            .await
            .ok()?;
        (copy.read_at >= asked).then_some(copy.creds)
    }

    /// The last good copy, however old (for a request whose time ran out
    /// while the secret was being read again).
    pub fn last_good(&self) -> Option<Arc<Credentials>> {
        self.copy.last().map(|c| c.creds)
    }

    /// One read. With a good copy at hand, a failure (or a read slower than
    /// [`REREAD_BUDGET`]) keeps that copy for [`RETRY_FAILED_REREAD`] more.
    async fn reread(&self, ttl: Duration) -> Result<Held, CredentialError> {
        let Some(good) = self.copy.last() else {
            let creds = self.load().await?;
            let now = Instant::now();
            return Ok(Held {
                creds,
                read_at: now,
                fresh_until: now + ttl,
            });
        };
        let read = tokio::time::timeout(REREAD_BUDGET, self.load())
            .await
            .unwrap_or_else(|_| Err(CredentialError::Unavailable("timed out".into())));
        let now = Instant::now();
        match read {
            Ok(creds) => Ok(Held {
                creds,
                read_at: now,
                fresh_until: now + ttl,
            }),
            Err(e) => {
                let retry_in = RETRY_FAILED_REREAD.min(ttl);
                tracing::warn!(
                    error = %e,
                    copy_age_s = now.duration_since(good.read_at).as_secs(),
                    retry_in_s = retry_in.as_secs(),
                    "re-reading the credentials secret failed; serving the last good copy"
                );
                Ok(Held {
                    fresh_until: now + retry_in,
                    ..good
                })
            }
        }
    }

    async fn load(&self) -> Result<Arc<Credentials>, CredentialError> {
        match &self.source {
            CredentialSource::Inline(c) => Ok(c.clone()),
            CredentialSource::SecretsManager { secret_id, .. } => {
                let client = self
                    .client
                    .as_ref()
                    .ok_or_else(|| CredentialError::Unavailable("no AWS configuration".into()))?;
                let out = client.get_secret_value().secret_id(secret_id).send().await.map_err(|e| {
                    let (_, reason) = describe_sdk_error(&e);
                    tracing::warn!(secret_id = %secret_id, error = %reason, "reading the credentials secret failed");
                    CredentialError::Unavailable(reason)
                })?;
                let text = out
                    .secret_string()
                    .ok_or_else(|| CredentialError::Malformed("it has no SecretString".into()))?;
                let creds = Credentials::from_secret_json(text).inspect_err(|e| {
                    tracing::error!(secret_id = %secret_id, error = %e, "the credentials secret is malformed");
                })?;
                tracing::info!(secret_id = %secret_id, devices = creds.devices.len(), "credentials loaded");
                Ok(Arc::new(creds))
            }
        }
    }
}

/// An AWS SDK failure (any service: Secrets Manager, DynamoDB,
/// CloudFormation) as the service's error code, when AWS answered, and a short
/// description: the code and AWS's message, or the kind of transport failure.
/// AWS error messages carry no secret values. Used by the functions and
/// kitchenctl alike.
pub fn describe_sdk_error<E, R>(
    err: &aws_sdk_secretsmanager::error::SdkError<E, R>,
) -> (Option<&str>, String)
where
    E: aws_sdk_secretsmanager::error::ProvideErrorMetadata,
{
    use aws_sdk_secretsmanager::error::SdkError;
    match err {
        SdkError::ServiceError(s) => {
            let code = s.err().code();
            let text = match (code, s.err().message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_owned(),
                _ => "service error".to_owned(),
            };
            (code, text)
        }
        SdkError::TimeoutError(_) => (None, "timed out".into()),
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
            (None, "could not connect".into())
        }
        SdkError::DispatchFailure(_) => (
            None,
            "could not send the request (no AWS credentials or region?)".into(),
        ),
        SdkError::ResponseError(_) => (None, "unreadable response".into()),
        _ => (
            None,
            "the request could not be built (no AWS region configured?)".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_complete_secret() {
        let c = Credentials::from_secret_json(
            r#"{"account_id":"a","client_id":"c","client_secret":"s","device_keys":{"desk":"k-0123456789abcdef"},"webhook_secret_token":"w"}"#,
        )
        .unwrap();
        assert_eq!(c.account_id, "a");
        assert_eq!(c.client_secret.expose(), "s");
        assert_eq!(c.devices.len(), 1);
        assert_eq!(c.webhook_secret_token.unwrap().expose(), "w");
    }

    #[test]
    fn malformed_secrets_name_fields_not_values() {
        let cases = [
            ("not json at all topsecretvalue", "not valid JSON"),
            (r#"["topsecretvalue"]"#, "not a JSON object"),
            (r#"{"account_id":"a","client_id":"c"}"#, "client_secret"),
            (
                r#"{"account_id":"a","client_id":"c","client_secret":42}"#,
                "client_secret",
            ),
            (
                r#"{"account_id":"a","client_id":"c","client_secret":"REPLACE_ME"}"#,
                "placeholder",
            ),
        ];
        for (text, expected) in cases {
            let msg = Credentials::from_secret_json(text).unwrap_err().to_string();
            assert!(
                msg.contains(expected),
                "{msg:?} should mention {expected:?}"
            );
            assert!(!msg.contains("topsecretvalue"), "{msg:?} leaks a value");
        }
    }

    #[test]
    fn a_bad_device_entry_is_skipped_not_fatal() {
        let c = Credentials::from_secret_json(
            r#"{"account_id":"a","client_id":"c","client_secret":"s",
                "devices":{"short":{"key":"tiny"},"good":{"key":"good-key-0123456789","owner":"ann@example.com","room":"lounge"}},
                "device_keys":{"d":7,"legacy":"legacy-key-0123456789"}}"#,
        )
        .unwrap();
        let mut names: Vec<_> = c.devices.iter().map(|d| d.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["good", "legacy"]);
        let c = Credentials::from_secret_json(
            r#"{"account_id":"a","client_id":"c","client_secret":"s","device_keys":["x"]}"#,
        )
        .unwrap();
        assert!(c.devices.is_empty());
    }
}
