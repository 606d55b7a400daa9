use kitchen::lambda_http::{Error, run, service_fn};

mod assets;
mod config;
mod handler;
#[cfg(test)]
mod tests;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let state = kitchen::startup::start(config::PageConfig::from_env, handler::Page::new).await?;
    run(service_fn(|req| handler::handle(&state, req))).await
}
