use kitchen::config::Env;
use kitchen::lambda_http::{Error, run, service_fn, tracing};

mod assets;
mod config;
mod handler;
#[cfg(test)]
mod tests;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config =
        config::PageConfig::from_env(&Env::process()).inspect_err(|e| tracing::error!("{e}"))?;
    let state = handler::Page::new(config).await?;
    run(service_fn(|req| handler::handle(&state, req))).await
}
