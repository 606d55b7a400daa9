use kitchen::lambda_http::{Error, run, service_fn};
use kitchen::presence::PresenceConfig;

mod handler;
#[cfg(test)]
mod tests;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let state = kitchen::startup::start(PresenceConfig::from_env, handler::Webhook::new).await?;
    run(service_fn(|req| handler::handle(&state, req))).await
}
