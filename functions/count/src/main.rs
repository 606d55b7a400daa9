use count::config::CountConfig;
use count::handler::{Count, handle};
use kitchen::lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let state = kitchen::startup::start(CountConfig::from_env, Count::new).await?;
    run(service_fn(|req| handle(&state, req))).await
}
