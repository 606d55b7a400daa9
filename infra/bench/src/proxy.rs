//! A counting HTTP reverse proxy in front of moto: the functions'
//! `AWS_ENDPOINT_URL` points here. Counts requests by `X-Amz-Target`
//! (`secretsmanager.GetSecretValue`, `DynamoDB_20120810.Query`, ...) and sums
//! the time moto took to answer them (request forwarded → response body read).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;

use crate::Res;

const MAX_BODY: usize = 16 << 20;

#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub by_target: BTreeMap<String, u64>,
    pub upstream_nanos: u64,
}

impl Counts {
    pub fn calls(&self) -> u64 {
        self.by_target.values().sum()
    }

    pub fn get(&self, target: &str) -> u64 {
        self.by_target.get(target).copied().unwrap_or(0)
    }

    /// Sum over targets whose operation (after the `.`) is one of `ops`.
    pub fn ops(&self, ops: &[&str]) -> u64 {
        self.by_target
            .iter()
            .filter(|(t, _)| ops.iter().any(|op| t.rsplit('.').next() == Some(op)))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn since(&self, before: &Counts) -> Counts {
        let by_target = self
            .by_target
            .iter()
            .map(|(k, v)| (k.clone(), v.saturating_sub(before.get(k))))
            .filter(|(_, v)| *v > 0)
            .collect();
        Counts {
            by_target,
            upstream_nanos: self.upstream_nanos.saturating_sub(before.upstream_nanos),
        }
    }
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    counts: Mutex<Counts>,
}

pub struct Proxy {
    pub url: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Proxy {
    pub async fn start(upstream: &str) -> Res<Proxy> {
        let client = reqwest::Client::builder().no_proxy().build()?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client,
            counts: Mutex::new(Counts::default()),
        });
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr: SocketAddr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Proxy {
            url: format!("http://{addr}"),
            shared,
            server,
        })
    }

    /// The proxy's own cost per request (loopback hop, parsing, copying) that
    /// `upstream_nanos` does not include: median of `n` cheap Secrets Manager
    /// calls through the proxy minus the median of the same calls made directly.
    pub async fn calibrate(&self, n: usize) -> Res<Duration> {
        let client = reqwest::Client::builder().no_proxy().build()?;
        let call = |base: String| {
            let client = client.clone();
            async move {
                let started = Instant::now();
                client
                    .post(format!("{base}/"))
                    .header("x-amz-target", "secretsmanager.ListSecrets")
                    .header("content-type", "application/x-amz-json-1.1")
                    .header("x-amz-date", "20261122T000000Z")
                    .header(
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=testing/20261122/us-east-1/secretsmanager/aws4_request, \
                         SignedHeaders=host;x-amz-date, Signature=00",
                    )
                    .body("{}")
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                Ok::<_, reqwest::Error>(started.elapsed())
            }
        };
        let (mut direct, mut proxied) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            direct.push(call(self.shared.upstream.clone()).await?);
            proxied.push(call(self.url.clone()).await?);
        }
        direct.sort_unstable();
        proxied.sort_unstable();
        Ok(proxied[n / 2].saturating_sub(direct[n / 2]))
    }

    pub fn counts(&self) -> Counts {
        self.shared
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

const HOP_BY_HOP: [header::HeaderName; 5] = [
    header::HOST,
    header::CONTENT_LENGTH,
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

fn strip(mut h: HeaderMap) -> HeaderMap {
    for name in HOP_BY_HOP {
        h.remove(name);
    }
    h
}

async fn forward(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map_or_else(
            || format!("{} {}", parts.method, parts.uri.path()),
            str::to_owned,
        );
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let started = Instant::now();
    let sent = s
        .client
        .request(parts.method.clone(), format!("{}{path}", s.upstream))
        .headers(strip(parts.headers))
        .body(body)
        .send()
        .await;
    let answer = match sent {
        Ok(r) => {
            let status = r.status();
            let headers = strip(r.headers().clone());
            r.bytes().await.map(|b| (status, headers, b))
        }
        Err(e) => Err(e),
    };
    let took = started.elapsed().as_nanos() as u64;
    {
        let mut c = s.counts.lock().unwrap_or_else(|p| p.into_inner());
        *c.by_target.entry(target).or_default() += 1;
        c.upstream_nanos += took;
    }
    match answer {
        Ok((status, headers, bytes)) => {
            let mut resp = Response::new(Body::from(bytes));
            *resp.status_mut() = status;
            *resp.headers_mut() = headers;
            resp
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("proxy: {e}")).into_response(),
    }
}
