use lambda_runtime::{Error, run, service_fn};

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
    let state =
        kitchen::startup::start(config::NotifyConfig::from_env, handler::Notify::new).await?;
    run(service_fn(|event| handler::handle(&state, event))).await
}
