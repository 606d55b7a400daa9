//! Zoom through the functions' own client (token cache, 401 retry, typed
//! errors, timeouts), with the credentials from the secret or the environment.

use kitchen::credentials::Credentials;
use kitchen::zoom::{Timeouts, ZoomClient, ZoomError, codes};

use crate::outcome::CtlError;
use crate::secret_store::SecretStore;
use crate::settings::{SecretSource, Settings};

pub struct Zoom {
    pub client: ZoomClient,
    pub creds: Credentials,
}

/// The credentials, and the secret's text when they came from Secrets Manager.
pub async fn credentials(settings: &Settings) -> Result<(Credentials, Option<String>), CtlError> {
    match settings.secret_source()? {
        SecretSource::SecretsManager(id) => {
            let store = SecretStore::new(settings.sdk().await, id);
            let current = store.read().await?;
            let creds = Credentials::from_secret_json(&current.text).map_err(|e| {
                CtlError::new(
                    "secret_malformed",
                    format!("the secret {:?}: {e}", store.id),
                )
                .fix("kitchenctl secret init fills missing Zoom credentials; fix other fields in the AWS console")
            })?;
            Ok((creds, Some(current.text)))
        }
        SecretSource::Environment => Ok((Credentials::from_env(&settings.env())?, None)),
    }
}

pub fn client(settings: &Settings) -> Result<ZoomClient, CtlError> {
    ZoomClient::new(&settings.zoom_endpoints(), Timeouts::default()).map_err(|e| {
        CtlError::usage(
            "config",
            format!("configuration error: ZOOM_API_URL or ZOOM_OAUTH_URL: {e}"),
        )
    })
}

pub async fn connect(settings: &Settings) -> Result<Zoom, CtlError> {
    let client = client(settings)?;
    let (creds, _) = credentials(settings).await?;
    Ok(Zoom { client, creds })
}

/// A Zoom failure as an error naming what was being done.
pub fn error(e: &ZoomError, doing: &str) -> CtlError {
    match e {
        ZoomError::CredentialsRejected(why) => CtlError::new(
            "zoom_credentials_rejected",
            format!("Zoom refused the app's credentials ({why}) while {doing}"),
        )
        .fix("check account_id, client_id and client_secret against the Server-to-Server OAuth app's App Credentials, and that the app is activated"),
        ZoomError::Api { code: Some(codes::MISSING_SCOPE), message, .. } => CtlError::new(
            "zoom_missing_scope",
            format!("Zoom refused {doing}: the app lacks a scope ({message})"),
        )
        .fix("add the scope to the app in the Zoom App Marketplace (Scopes), then run kitchenctl doctor"),
        ZoomError::Api { code: Some(codes::USER_NOT_FOUND), .. } => CtlError::new(
            "zoom_user_not_found",
            format!("Zoom has no such user ({doing})"),
        )
        .fix("use the email or id of a user of the app's Zoom account"),
        ZoomError::Api { code: Some(codes::MEETING_NOT_FOUND), .. } => CtlError::new(
            "zoom_meeting_not_found",
            format!("Zoom has no such meeting ({doing})"),
        ),
        ZoomError::RateLimited { .. } => CtlError::new("zoom_rate_limited", format!("Zoom rate-limited {doing}"))
            .fix("wait a minute and run it again"),
        ZoomError::Timeout | ZoomError::Unreachable => {
            CtlError::new("zoom_unreachable", format!("Zoom could not be reached while {doing}: {e}"))
                .fix("check the network, and ZOOM_API_URL / ZOOM_OAUTH_URL if set")
        }
        _ => CtlError::new("zoom_error", format!("{e} while {doing}")),
    }
}
