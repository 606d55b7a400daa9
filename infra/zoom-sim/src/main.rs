//! `zoom-sim [--port 9100] [--host 127.0.0.1] [--token-ttl 3599]
//!           [--webhook-url URL] [--webhook-secret TOKEN] [--quiet]`
//!
//! Serves `Sim::demo()`; prints `zoom-sim listening on http://HOST:PORT` once ready.

use std::io::Write;
use std::process::ExitCode;

use zoom_sim::{DEFAULT_TOKEN_TTL_SECS, Sim};

const USAGE: &str = "usage: zoom-sim [--port 9100] [--host 127.0.0.1] [--token-ttl 3599] \
[--webhook-url URL] [--webhook-secret TOKEN] [--quiet]";

struct Args {
    host: String,
    port: u16,
    token_ttl: u64,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    quiet: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        host: "127.0.0.1".to_owned(),
        port: 9100,
        token_ttl: DEFAULT_TOKEN_TTL_SECS,
        webhook_url: None,
        webhook_secret: None,
        quiet: false,
    };
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--host" => args.host = value()?,
            "--port" => {
                let v = value()?;
                args.port = v.parse().map_err(|_| format!("bad --port {v}"))?;
            }
            "--token-ttl" => {
                let v = value()?;
                args.token_ttl = v.parse().map_err(|_| format!("bad --token-ttl {v}"))?;
            }
            "--webhook-url" => args.webhook_url = Some(value()?),
            "--webhook-secret" => args.webhook_secret = Some(value()?),
            "--quiet" | "-q" => args.quiet = true,
            "--help" | "-h" => return Ok(None),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Some(args))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("zoom-sim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let default_level = if args.quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let sim = Sim::demo();
    sim.set_token_ttl(args.token_ttl);
    sim.set_webhook_target(args.webhook_url.clone(), args.webhook_secret.clone());
    sim.set_echo_messages(!args.quiet);

    let listener = match tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "zoom-sim: cannot listen on {}:{}: {e}",
                args.host, args.port
            );
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("zoom-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("zoom-sim listening on http://{addr}");
    let _ = std::io::stdout().flush();

    tokio::select! {
        res = sim.serve(listener) => {
            if let Err(e) = res {
                eprintln!("zoom-sim: server error: {e}");
                return ExitCode::FAILURE;
            }
        }
        _ = zoom_sim::shutdown_signal() => {}
    }
    ExitCode::SUCCESS
}
