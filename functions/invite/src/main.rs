use invite::config::InviteConfig;
use invite::handler::{Invite, handle};
use kitchen::lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let state = kitchen::startup::start(InviteConfig::from_env, Invite::new).await?;
    run(service_fn(|req| handle(&state, req))).await
}
