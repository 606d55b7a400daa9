use count::config::CountConfig;
use count::handler::{Count, handle};
use kitchen::config::Env;
use kitchen::lambda_http::{Error, run, service_fn, tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = CountConfig::from_env(&Env::process()).inspect_err(|e| tracing::error!("{e}"))?;
    let state = Count::new(config).await?;
    run(service_fn(|req| handle(&state, req))).await
}
