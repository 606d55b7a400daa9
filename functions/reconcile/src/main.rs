use kitchen::presence::PresenceConfig;
use lambda_runtime::{Error, run, service_fn};

mod handler;
#[cfg(test)]
mod tests;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let state = kitchen::startup::start(PresenceConfig::from_env, handler::Reconcile::new).await?;
    run(service_fn(|event| handler::handle(&state, event))).await
}
