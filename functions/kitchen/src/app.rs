//! [`AppState`]: what every function builds once per container and borrows
//! into each call (configuration, credentials, the Zoom client).

use std::future::Future;
use std::time::Duration;

use lambda_http::Request;
use lambda_http::RequestExt;
use lambda_http::http::HeaderMap;

use crate::config::CommonConfig;
use crate::credentials::{CredentialError, CredentialStore, Credentials};
use crate::deadline::Deadline;
use crate::device_auth::{AuthFailure, authenticate};
use crate::devices::Device;
use crate::http::ApiError;
use crate::rooms::Room;
use crate::zoom::{Timeouts, ZoomClient, ZoomError};

/// The budget of a request whose Lambda context gives no deadline:
/// [`crate::deadline::FALLBACK_BUDGET`].
pub const DEFAULT_DEADLINE: Duration = crate::deadline::FALLBACK_BUDGET;

/// The state every function shares, built once per container.
pub struct AppState {
    pub config: CommonConfig,
    /// Reads the secret once per container; [`AppState::credentials_within`]
    /// reads it under a request's deadline.
    pub credentials: CredentialStore,
    pub zoom: ZoomClient,
    /// A request's budget when its Lambda context gives no deadline (tests,
    /// a local run), and the budget of [`AppState::within_deadline`].
    pub fallback_budget: Duration,
}

impl AppState {
    pub fn new(
        config: CommonConfig,
        sdk: Option<&aws_config::SdkConfig>,
        timeouts: Timeouts,
        fallback_budget: Duration,
    ) -> Result<Self, String> {
        let credentials = CredentialStore::new(config.credentials.clone(), sdk);
        let zoom = ZoomClient::new(&config.zoom, timeouts)?;
        if !config.device_auth {
            tracing::warn!(
                "device authentication is OFF (KITCHEN_DEVICE_AUTH=off): anyone who knows the URL can call this function"
            );
        }
        if config.rooms.default_room().is_none() {
            tracing::warn!(
                "several rooms and none named \"kitchen\": devices without a room (and every caller while device authentication is off) are refused with unknown_room"
            );
        }
        Ok(Self {
            config,
            credentials,
            zoom,
            fallback_budget,
        })
    }

    /// Production wiring: SDK config only when the secret lives in Secrets Manager.
    pub async fn from_config(config: CommonConfig) -> Result<Self, String> {
        let sdk = match config.credentials {
            crate::credentials::CredentialSource::SecretsManager { .. } => {
                Some(crate::aws_config().await)
            }
            crate::credentials::CredentialSource::Inline(_) => None,
        };
        Self::new(config, sdk.as_ref(), Timeouts::default(), DEFAULT_DEADLINE)
    }

    /// Production wiring for a function that also calls AWS itself (the
    /// presence table): the SDK configuration is loaded once and serves both
    /// the credentials secret and the caller's own clients.
    pub async fn with_aws(
        config: CommonConfig,
        deadline: Duration,
    ) -> Result<(Self, aws_config::SdkConfig), String> {
        let sdk = crate::aws_config().await;
        let state = Self::new(config, Some(&sdk), Timeouts::default(), deadline)?;
        Ok((state, sdk))
    }

    /// This request's deadline: the Lambda context's, less a margin; without a
    /// context (tests, a local run) `self.fallback_budget` from now.
    pub fn deadline_for(&self, req: &Request) -> Deadline {
        Deadline::from_context(req.lambda_context_ref(), self.fallback_budget)
    }

    /// The credentials, read under the request's deadline (the first read of a
    /// container goes to Secrets Manager).
    pub async fn credentials_within(
        &self,
        deadline: &Deadline,
    ) -> Result<std::sync::Arc<Credentials>, ApiError> {
        let read = deadline
            .run(self.credentials.get())
            .await
            .unwrap_or_else(|_| match self.credentials.last_good() {
                Some(good) => {
                    tracing::warn!("re-reading the credentials ran out of the request's time; serving the last good copy");
                    Ok(good)
                }
                None => {
                    tracing::warn!("reading the credentials ran out of the request's time");
                    Err(CredentialError::Unavailable("timed out".into()))
                }
            });
        read.map_err(|e| ApiError::from(&e))
    }

    /// The calling device, or `None` when device auth is switched off.
    /// Logs name the device, never the key.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        deadline: &Deadline,
    ) -> Result<Option<Device>, ApiError> {
        if !self.config.device_auth {
            return Ok(None);
        }
        let creds = self.credentials_within(deadline).await?;
        let mut found = authenticate(&creds.devices, headers).cloned();
        if matches!(
            found,
            Err(AuthFailure::Unknown | AuthFailure::NoKeysConfigured)
        ) {
            // Perhaps a device added since the copy was read: read it again
            // (at most once a minute per container).
            if let Ok(Some(fresh)) = deadline.run(self.credentials.reread_early()).await {
                found = authenticate(&fresh.devices, headers).cloned();
            }
        }
        match found {
            Ok(device) => Ok(Some(device)),
            Err(AuthFailure::NoKeysConfigured) => {
                // For the operator only: the caller is told what a wrong key gets.
                tracing::error!("{}", AuthFailure::NoKeysConfigured.message());
                Err(ApiError::unauthorized(&AuthFailure::NoKeysConfigured))
            }
            Err(failure) => {
                tracing::warn!(reason = ?failure, "device authentication failed");
                Err(ApiError::unauthorized(&failure))
            }
        }
    }

    /// The room a device belongs to: its own `room`, else the deployment's
    /// default room (also without device auth). A room this deployment does
    /// not serve is a 404 `unknown_room` naming it (only ever told to a caller
    /// whose key was accepted).
    pub fn room_for(&self, device: Option<&Device>) -> Result<&Room, ApiError> {
        let wanted = device.and_then(|d| d.room.as_deref());
        self.config.rooms.resolve(wanted).map_err(|e| {
            tracing::error!(device = device.map_or("-", |d| d.name.as_str()), error = %e, "the device's room is not served here");
            ApiError::new(
                lambda_http::http::StatusCode::NOT_FOUND,
                "unknown_room",
                format!("{e}; the device's room in the secret must be one of this deployment's rooms"),
            )
        })
    }

    /// Runs Zoom work under a fresh `self.fallback_budget` (for work that has
    /// no request deadline; HTTP handlers use [`Self::deadline_for`]).
    pub async fn within_deadline<T>(
        &self,
        work: impl Future<Output = Result<T, ZoomError>>,
    ) -> Result<T, ZoomError> {
        Deadline::after(self.fallback_budget)
            .run(work)
            .await
            .unwrap_or(Err(ZoomError::Timeout))
    }
}
