//! The configuration every command reads: the same variables as the functions,
//! or, with `--stack NAME`, the secret, rooms, table and API URL of a deployed
//! stack (its outputs and parameters) laid over the environment.

use std::collections::HashMap;

use kitchen::config::{DEFAULT_API_URL, DEFAULT_OAUTH_URL, Env, ZoomEndpoints};
use kitchen::credentials::describe_sdk_error;
use kitchen::rooms::Rooms;
use tokio::sync::OnceCell;

use crate::outcome::CtlError;

/// Where the Zoom credentials (and devices, viewers) live.
pub enum SecretSource {
    /// A Secrets Manager secret name or ARN.
    SecretsManager(String),
    /// `ZOOM_ACCOUNT_ID` / `ZOOM_CLIENT_ID` / `ZOOM_CLIENT_SECRET` (local run).
    Environment,
}

pub struct Settings {
    /// Values taken from `--stack`, by the variable they stand for; they win
    /// over the environment. An empty value hides the variable.
    stack: HashMap<&'static str, String>,
    pub stack_name: Option<String>,
    sdk: OnceCell<aws_config::SdkConfig>,
}

impl Settings {
    pub fn from_env() -> Self {
        Self {
            stack: HashMap::new(),
            stack_name: None,
            sdk: OnceCell::new(),
        }
    }

    /// The stack's outputs and parameters (CloudFormation `DescribeStacks`).
    pub async fn with_stack(name: &str) -> Result<Self, CtlError> {
        let mut settings = Self::from_env();
        settings.stack_name = Some(name.to_owned());
        let cfn = aws_sdk_cloudformation::Client::new(settings.sdk().await);
        let out = cfn
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| {
                let (code, reason) = describe_sdk_error(&e);
                if code == Some("ValidationError") {
                    CtlError::usage(
                        "stack_not_found",
                        format!("the stack {name:?} does not exist in this account and region"),
                    )
                    .fix("check --stack and AWS_REGION (or AWS_PROFILE)")
                } else {
                    crate::aws::unreachable("CloudFormation", &reason)
                }
            })?;
        let stack = out.stacks().first().ok_or_else(|| {
            CtlError::usage(
                "stack_not_found",
                format!("the stack {name:?} does not exist"),
            )
        })?;
        let outputs: HashMap<&str, &str> = stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?, o.output_value()?)))
            .collect();
        let params: HashMap<&str, &str> = stack
            .parameters()
            .iter()
            .filter_map(|p| Some((p.parameter_key()?, p.parameter_value()?)))
            .collect();
        let mut map = HashMap::new();
        let secret = outputs.get("SecretArn").ok_or_else(|| {
            CtlError::usage(
                "stack_incomplete",
                format!("the stack {name:?} has no SecretArn output"),
            )
            .fix("deploy the current template.yaml (make deploy)")
        })?;
        map.insert("ZOOM_SECRET_ID", secret.to_string());
        for (var, key) in [
            ("KITCHEN_PRESENCE_TABLE", outputs.get("PresenceTableName")),
            ("KITCHEN_API_URL", outputs.get("ApiUrl")),
            ("ZOOM_TECH_USER", params.get("ZoomTechUser")),
            ("KITCHEN_COUNT_SOURCE", params.get("CountSource")),
        ] {
            if let Some(v) = key {
                map.insert(var, v.to_string());
            }
        }
        match (
            params.get("Rooms").filter(|r| !r.trim().is_empty()),
            params.get("ZoomMeetingId"),
        ) {
            (Some(rooms), _) => {
                map.insert("KITCHEN_ROOMS", rooms.to_string());
                map.insert("ZOOM_MEETING_ID", String::new());
                map.insert("ZOOM_JOIN_URL", String::new());
            }
            (None, Some(id)) if !id.trim().is_empty() => {
                map.insert("ZOOM_MEETING_ID", id.to_string());
                map.insert("KITCHEN_ROOMS", String::new());
            }
            _ => {}
        }
        settings.stack = map;
        Ok(settings)
    }

    pub fn env(&self) -> Env<'_> {
        Env::from_fn(|k| match self.stack.get(k) {
            Some(v) => Some(v.clone()),
            None => std::env::var(k).ok(),
        })
    }

    pub async fn sdk(&self) -> &aws_config::SdkConfig {
        self.sdk.get_or_init(kitchen::aws_config).await
    }

    pub fn secret_source(&self) -> Result<SecretSource, CtlError> {
        let env = self.env();
        if let Some(id) = env.get("ZOOM_SECRET_ID") {
            return Ok(SecretSource::SecretsManager(id));
        }
        if ["ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET"]
            .iter()
            .any(|v| env.get(v).is_some())
        {
            return Ok(SecretSource::Environment);
        }
        Err(no_credentials())
    }

    /// The Secrets Manager secret's id; commands that write devices need one.
    pub fn secret_id(&self) -> Result<String, CtlError> {
        match self.secret_source() {
            Ok(SecretSource::SecretsManager(id)) => Ok(id),
            Ok(SecretSource::Environment) | Err(_) => Err(CtlError::usage(
                "no_secret",
                "no secret configured: ZOOM_SECRET_ID is not set",
            )
            .fix("set ZOOM_SECRET_ID to the secret's name or ARN, or pass --stack NAME")),
        }
    }

    pub fn rooms(&self) -> Result<Rooms, CtlError> {
        Ok(Rooms::from_env(&self.env())?)
    }

    pub fn tech_user(&self) -> Option<String> {
        self.env().get("ZOOM_TECH_USER")
    }

    pub fn presence_table(&self) -> Option<String> {
        self.env().get("KITCHEN_PRESENCE_TABLE")
    }

    /// `KITCHEN_COUNT_SOURCE`: `dashboard`, `presence` (`webhook`) or `auto` (the
    /// template's default; `dashboard` when there is no presence table).
    pub fn count_source(&self) -> Result<String, CtlError> {
        match self
            .env()
            .get("KITCHEN_COUNT_SOURCE")
            .map(|s| s.to_ascii_lowercase())
        {
            None if self.presence_table().is_none() => Ok("dashboard".into()),
            None => Ok("auto".into()),
            Some(s) if matches!(s.as_str(), "dashboard" | "presence" | "webhook" | "auto") => Ok(s),
            Some(s) => Err(CtlError::usage(
                "config",
                format!(
                    "configuration error: KITCHEN_COUNT_SOURCE must be dashboard, presence (or webhook) or auto, got {s:?}"
                ),
            )),
        }
    }

    /// The deployed API's base URL (`KITCHEN_API_URL`, or the stack's `ApiUrl`).
    pub fn api_url(&self) -> Option<String> {
        self.env()
            .get("KITCHEN_API_URL")
            .map(|u| u.trim_end_matches('/').to_owned())
    }

    pub fn zoom_endpoints(&self) -> ZoomEndpoints {
        let env = self.env();
        let get = |var: &str, default: &str| {
            env.get(var)
                .unwrap_or_else(|| default.to_owned())
                .trim_end_matches('/')
                .to_owned()
        };
        ZoomEndpoints {
            api_url: get("ZOOM_API_URL", DEFAULT_API_URL),
            oauth_url: get("ZOOM_OAUTH_URL", DEFAULT_OAUTH_URL),
        }
    }
}

pub fn no_credentials() -> CtlError {
    CtlError::usage(
        "no_credentials",
        "no Zoom credentials configured: neither ZOOM_SECRET_ID nor ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET are set",
    )
    .fix("set ZOOM_SECRET_ID to the secret's name or ARN (or pass --stack NAME); for a local run set the three ZOOM_* credential variables")
}
