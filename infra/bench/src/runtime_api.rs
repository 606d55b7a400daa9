//! A minimal Lambda Runtime API (2018-06-01), as Lambda serves it to a
//! `provided.al2023` bootstrap: long-poll `GET /invocation/next`, then
//! `POST /invocation/{id}/response` or `/error`; `POST /init/error`.
//! One server per execution environment (container).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::Res;

/// The function's timeout (template.yaml Globals): the deadline handed to each invocation.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

/// What the function posted for one invocation, with the harness's timestamps.
#[derive(Debug)]
pub struct Outcome {
    /// When `/next` handed the event over.
    pub answered: Instant,
    /// When the `/response` (or `/error`) body had been received.
    pub received: Instant,
    pub ok: bool,
    pub body: Bytes,
}

impl Outcome {
    pub fn latency(&self) -> Duration {
        self.received.saturating_duration_since(self.answered)
    }
}

struct Invocation {
    event: Bytes,
    reply: oneshot::Sender<Outcome>,
}

struct Pending {
    answered: Instant,
    reply: oneshot::Sender<Outcome>,
}

struct Shared {
    function_arn: String,
    queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, Pending>>,
    first_next: watch::Sender<Option<Instant>>,
    init_error: watch::Sender<Option<String>>,
    seq: AtomicU64,
    seed: u64,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    /// Dropping it ends every long-polling `/next` (its queue closes).
    tx: mpsc::Sender<Invocation>,
    server: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    pub async fn start(function_name: &str) -> Res<RuntimeApi> {
        let (tx, rx) = mpsc::channel(1);
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        let shared = Arc::new(Shared {
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            queue: tokio::sync::Mutex::new(rx),
            pending: Mutex::new(HashMap::new()),
            first_next: watch::Sender::new(None),
            init_error: watch::Sender::new(None),
            seq: AtomicU64::new(0),
            seed,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RuntimeApi {
            addr,
            shared,
            tx,
            server,
        })
    }

    /// Waits for the bootstrap's first `GET /next` (end of init). Fails on
    /// `/init/error` or after `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) -> Res<Instant> {
        let mut first = self.shared.first_next.subscribe();
        let mut init_err = self.shared.init_error.subscribe();
        let wait = async {
            loop {
                if let Some(t) = *first.borrow_and_update() {
                    return Ok(t);
                }
                if let Some(e) = init_err.borrow_and_update().clone() {
                    return Err(format!("init error: {e}"));
                }
                tokio::select! {
                    r = first.changed() => r.map_err(|e| e.to_string())?,
                    r = init_err.changed() => r.map_err(|e| e.to_string())?,
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(format!("no GET /next within {timeout:?}").into()),
        }
    }

    /// Hands `event` to the function and waits for its response or error.
    pub async fn invoke(&self, event: Bytes, timeout: Duration) -> Res<Outcome> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Invocation { event, reply })
            .await
            .map_err(|_| "runtime API closed")?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(o)) => Ok(o),
            Ok(Err(_)) => Err("invocation dropped".into()),
            Err(_) => Err(format!("no response within {timeout:?}").into()),
        }
    }
}

/// A fresh UUID-shaped request id, plus two random words for the trace id.
fn request_id(s: &Shared) -> (String, u64, u64) {
    let n = s.seq.fetch_add(1, Ordering::Relaxed);
    let x = splitmix(s.seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let y = splitmix(x);
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        x >> 32,
        (x >> 16) & 0xffff,
        x & 0xfff,
        (y >> 52) & 0xfff,
        y & 0xffff_ffff_ffff
    );
    (id, y, splitmix(y))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

async fn next(State(s): State<Arc<Shared>>) -> Response {
    s.first_next.send_if_modified(|t| {
        if t.is_none() {
            *t = Some(Instant::now());
            true
        } else {
            false
        }
    });
    let invocation = s.queue.lock().await.recv().await;
    let Some(inv) = invocation else {
        // The harness is done with this environment; the process is being killed.
        return (StatusCode::GONE, "environment shut down").into_response();
    };
    let (id, r1, r2) = request_id(&s);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let deadline_ms = (now + FUNCTION_TIMEOUT).as_millis();
    let trace = format!(
        "Root=1-{:08x}-{:08x}{:016x};Parent={:016x};Sampled=0",
        now.as_secs() & 0xffff_ffff,
        r1 >> 32,
        r2,
        splitmix(r2)
    );
    let builder = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", id.as_str())
        .header("lambda-runtime-deadline-ms", deadline_ms.to_string())
        .header(
            "lambda-runtime-invoked-function-arn",
            s.function_arn.as_str(),
        )
        .header("lambda-runtime-trace-id", trace);
    let answered = Instant::now();
    lock(&s.pending).insert(
        id,
        Pending {
            answered,
            reply: inv.reply,
        },
    );
    builder
        .body(axum::body::Body::from(inv.event))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn finish(s: &Shared, id: &str, ok: bool, body: Bytes) -> Response {
    let received = Instant::now();
    let Some(p) = lock(&s.pending).remove(id) else {
        return (StatusCode::BAD_REQUEST, "unknown request id").into_response();
    };
    let _ = p.reply.send(Outcome {
        answered: p.answered,
        received,
        ok,
        body,
    });
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

async fn response(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&s, &id, true, body)
}

async fn error(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&s, &id, false, body)
}

async fn init_error(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body).into_owned();
    s.init_error.send_replace(Some(text));
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
