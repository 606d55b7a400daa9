use invite::config::InviteConfig;
use invite::handler::{Invite, handle};
use kitchen::config::Env;
use kitchen::lambda_http::{Error, run, service_fn, tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = InviteConfig::from_env(&Env::process()).inspect_err(|e| tracing::error!("{e}"))?;
    let state = Invite::new(config).await?;
    run(service_fn(|req| handle(&state, req))).await
}
