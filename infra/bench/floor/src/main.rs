//! The floor of `make bench`: a `lambda_http` function that answers 200 with an
//! empty body and does nothing else. It is wired as the functions are (the
//! runtime's default tracing subscriber, a multi-threaded tokio runtime,
//! `lambda_http::run`) and built by the same `cargo lambda build --release`, so
//! its init, cold start, latency and memory are what any function here costs
//! before its own work; the bench prints every function's figures as a ratio
//! to the floor's from the same run. Lives under `infra/bench`, so it is never
//! deployed.

use lambda_http::{Body, Error, Request, Response, run, service_fn, tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    run(service_fn(|_req: Request| async {
        Ok::<_, Error>(Response::new(Body::Empty))
    }))
    .await
}
