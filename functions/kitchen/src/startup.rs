//! What every function's `main` does before it serves: Lambda's default log
//! subscriber, the function's configuration from the process environment, and
//! the state built from it once per container.

use std::future::Future;

use lambda_http::Error;

use crate::config::{ConfigError, Env};

/// Starts the log subscriber (`lambda_http::tracing::init_default_subscriber`),
/// reads the configuration with `from_env` (a bad one is logged as an error)
/// and builds the state with `new`. An error is for `main` to return before it
/// serves anything, so that Lambda reports the failed init.
pub async fn start<C, S, F>(
    from_env: impl FnOnce(&Env) -> Result<C, ConfigError>,
    new: impl FnOnce(C) -> F,
) -> Result<S, Error>
where
    F: Future<Output = Result<S, Error>>,
{
    lambda_http::tracing::init_default_subscriber();
    let config = from_env(&Env::process()).inspect_err(|e| tracing::error!("{e}"))?;
    new(config).await
}
