//! The credentials secret in Secrets Manager, changed by read-modify-write
//! with a check that nobody changed it in between.
//!
//! Scheme: read `AWSCURRENT` (text and version id); compute the new text;
//! right before writing, ask which version is `AWSCURRENT` (DescribeSecret) and
//! stop with a conflict when it is no longer the one read; write with a
//! `ClientRequestToken` of our own (so our version id is known); then ask
//! again: our version must be `AWSCURRENT` with the version read as
//! `AWSPREVIOUS`. Anything else means another write landed in the few
//! milliseconds between the check and the write (or right after it): that is
//! reported as a conflict naming the versions, and the other change is still
//! in the secret's history (`AWSPREVIOUS`), never lost without a word.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use kitchen::credentials::describe_sdk_error;

use crate::aws;
use crate::outcome::CtlError;

pub struct SecretStore {
    client: Client,
    pub id: String,
}

/// One version of the secret as read.
pub struct Current {
    pub text: String,
    pub version_id: String,
}

/// What `write` did.
pub struct Written {
    pub version_id: String,
}

impl SecretStore {
    pub fn new(sdk: &aws_config::SdkConfig, id: impl Into<String>) -> Self {
        Self {
            client: Client::new(sdk),
            id: id.into(),
        }
    }

    /// The current version, `None` when the secret does not exist.
    pub async fn read_if_exists(&self) -> Result<Option<Current>, CtlError> {
        match self
            .client
            .get_secret_value()
            .secret_id(&self.id)
            .send()
            .await
        {
            Ok(out) => {
                let text = out.secret_string().ok_or_else(|| {
                    CtlError::new(
                        "secret_malformed",
                        format!("the secret {:?} has no SecretString (binary secrets are not supported)", self.id),
                    )
                })?;
                let version_id = out.version_id().unwrap_or_default().to_owned();
                Ok(Some(Current {
                    text: text.to_owned(),
                    version_id,
                }))
            }
            Err(e) => {
                let (code, reason) = describe_sdk_error(&e);
                match code {
                    Some("ResourceNotFoundException") => Ok(None),
                    Some("AccessDeniedException") => Err(CtlError::new(
                        "aws_access_denied",
                        format!("reading the secret {:?} was refused: {reason}", self.id),
                    )
                    .fix(
                        "use AWS credentials allowed secretsmanager:GetSecretValue on the secret",
                    )),
                    _ => Err(aws::unreachable(SERVICE, &reason)),
                }
            }
        }
    }

    pub async fn read(&self) -> Result<Current, CtlError> {
        self.read_if_exists().await?.ok_or_else(|| {
            CtlError::new("secret_not_found", format!("the secret {:?} does not exist", self.id))
                .fix("create it with `kitchenctl secret init` (Zoom credentials in ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET)")
        })
    }

    pub async fn create(&self, text: &str) -> Result<Written, CtlError> {
        let token = request_token()?;
        self.client
            .create_secret()
            .name(&self.id)
            .description("Coffee Kitchen: Zoom credentials, devices and viewers (kitchenctl)")
            .secret_string(text)
            .client_request_token(&token)
            .send()
            .await
            .map_err(|e| {
                let (code, reason) = describe_sdk_error(&e);
                match code {
                    Some("ResourceExistsException") => CtlError::conflict(format!(
                        "the secret {:?} was created by someone else while this command ran",
                        self.id
                    ))
                    .fix("run the command again"),
                    Some(_) => CtlError::new(
                        "aws_refused",
                        format!("creating the secret {:?} failed: {reason}", self.id),
                    ),
                    None => aws::unreachable(SERVICE, &reason),
                }
            })?;
        Ok(Written { version_id: token })
    }

    /// Writes `text` as a new version if `read` is still the current one.
    pub async fn write(&self, read: &Current, text: &str) -> Result<Written, CtlError> {
        let (current, _) = self.stages().await?;
        if current.as_deref() != Some(read.version_id.as_str()) {
            return Err(CtlError::conflict(format!(
                "the secret {:?} changed while this command ran (version {} was read, {} is current); nothing was written",
                self.id,
                read.version_id,
                current.as_deref().unwrap_or("none")
            ))
            .fix("run the command again: it will start from the current version"));
        }
        let token = request_token()?;
        self.client
            .put_secret_value()
            .secret_id(&self.id)
            .secret_string(text)
            .client_request_token(&token)
            .send()
            .await
            .map_err(|e| service_unreachable(&e))?;
        let (current, previous) = self.stages().await?;
        if current.as_deref() == Some(token.as_str())
            && previous.as_deref() == Some(read.version_id.as_str())
        {
            return Ok(Written { version_id: token });
        }
        let other = if current.as_deref() == Some(token.as_str()) {
            previous.unwrap_or_else(|| "unknown".into())
        } else {
            current.unwrap_or_else(|| "unknown".into())
        };
        Err(CtlError::conflict(format!(
            "the secret {:?} changed while this command wrote it: version {token} (this change) and version {other} (another change) were written one right after the other, so one of them may lack the other's change",
            self.id
        ))
        .fix("check with `kitchenctl device list` / `viewer list` and repeat whatever is missing; both versions are in the secret's history (aws secretsmanager list-secret-version-ids)"))
    }

    /// The version ids labelled `AWSCURRENT` and `AWSPREVIOUS`.
    async fn stages(&self) -> Result<(Option<String>, Option<String>), CtlError> {
        let out = self
            .client
            .describe_secret()
            .secret_id(&self.id)
            .send()
            .await
            .map_err(|e| service_unreachable(&e))?;
        let mut current = None;
        let mut previous = None;
        if let Some(map) = out.version_ids_to_stages() {
            for (version, stages) in map {
                if stages.iter().any(|s| s == "AWSCURRENT") {
                    current = Some(version.clone());
                }
                if stages.iter().any(|s| s == "AWSPREVIOUS") {
                    previous = Some(version.clone());
                }
            }
        }
        Ok((current, previous))
    }
}

/// The service, as failures name it.
const SERVICE: &str = "Secrets Manager";

/// A Secrets Manager failure the command has no particular answer for.
fn service_unreachable<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> CtlError {
    let (_, reason) = describe_sdk_error(err);
    aws::unreachable(SERVICE, &reason)
}

/// A fresh version id (32 hex digits from the OS's secure random source).
fn request_token() -> Result<String, CtlError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        CtlError::new(
            "no_randomness",
            format!("the OS's random source failed: {e}"),
        )
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
