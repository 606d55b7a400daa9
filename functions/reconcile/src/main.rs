use kitchen::config::Env;
use kitchen::presence::PresenceConfig;
use lambda_runtime::{Error, run, service_fn, tracing};

mod handler;
#[cfg(test)]
mod tests;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config =
        PresenceConfig::from_env(&Env::process()).inspect_err(|e| tracing::error!("{e}"))?;
    let state = handler::Reconcile::new(config).await?;
    run(service_fn(|event| handler::handle(&state, event))).await
}
