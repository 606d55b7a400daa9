use kitchen::config::Env;
use lambda_runtime::{Error, run, service_fn, tracing};

mod config;
mod handler;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod template_tests;
#[cfg(test)]
mod tests;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config =
        config::NotifyConfig::from_env(&Env::process()).inspect_err(|e| tracing::error!("{e}"))?;
    let state = handler::Notify::new(config).await?;
    run(service_fn(|event| handler::handle(&state, event))).await
}
