//! `kitchen-bench`: runs each function's built `bootstrap` exactly as Lambda runs a
//! `provided.al2023` function (a local Runtime API, the Lambda environment
//! variables, the function's configuration) against the Zoom simulator and moto,
//! and reports cold start, warm latency, peak memory and upstream calls. The
//! `floor` (a do-nothing `lambda_http` function, `infra/bench/floor`) runs the
//! same way, and every figure is also given as a ratio to the floor's.
//!
//! ```text
//! kitchen-bench run --bin-dir DIR --sim URL --moto URL --functions floor,invite,count
//!                   [--artifact-dir DIR] [--table NAME] [--limits-table NAME]
//!                   [--cold 20] [--warm 1000]
//!                   [--log-dir .dev/bench] [--out bench-results.md]
//!                   [--env FUNCTION:KEY=VALUE]... [--note TEXT]...
//! kitchen-bench criterion --dir target/criterion --out bench-results.md [--since UNIX_SECS]
//! ```
//! `infra/bench.sh` (`make bench`) builds everything, starts the peers and calls both.

mod criterion_table;
mod events;
mod proxy;
mod report;
mod runtime_api;

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use zoom_sim::Stats;

use crate::events::EventSource;
use crate::proxy::{Counts, Proxy};
use crate::runtime_api::RuntimeApi;

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const INIT_TIMEOUT: Duration = Duration::from_secs(10);
const INVOKE_TIMEOUT: Duration = Duration::from_secs(15);
const SECRET_ID: &str = "coffee-kitchen/dev";

const USAGE: &str = "usage: kitchen-bench run --bin-dir DIR --sim URL --moto URL --functions a,b \
[--artifact-dir DIR] [--table NAME] [--limits-table NAME] [--cold 20] [--warm 1000] [--log-dir DIR] [--out FILE] \
[--env FUNCTION:KEY=VALUE]... [--note TEXT]...\n       kitchen-bench criterion --dir DIR --out FILE [--since UNIX_SECS]";

pub struct Args {
    pub bin_dir: PathBuf,
    pub artifact_dir: Option<PathBuf>,
    pub sim: String,
    pub moto: String,
    pub functions: Vec<String>,
    pub table: Option<String>,
    /// `KITCHEN_LIMITS_TABLE` of the invite (per-device invite limits).
    pub limits_table: Option<String>,
    pub cold: usize,
    pub warm: usize,
    pub log_dir: PathBuf,
    pub out: PathBuf,
    pub env: Vec<(String, String, String)>,
    pub notes: Vec<String>,
}

fn parse_run_args(mut it: impl Iterator<Item = String>) -> Res<Args> {
    let mut a = Args {
        bin_dir: PathBuf::new(),
        artifact_dir: None,
        sim: String::new(),
        moto: String::new(),
        functions: Vec::new(),
        table: None,
        limits_table: None,
        cold: 20,
        warm: 1000,
        log_dir: PathBuf::from(".dev/bench"),
        out: PathBuf::from("bench-results.md"),
        env: Vec::new(),
        notes: Vec::new(),
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bin-dir" => a.bin_dir = value()?.into(),
            "--artifact-dir" => a.artifact_dir = Some(value()?.into()),
            "--sim" => a.sim = value()?.trim_end_matches('/').to_owned(),
            "--moto" => a.moto = value()?,
            "--functions" => {
                a.functions = value()?
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            "--table" => a.table = Some(value()?).filter(|t| !t.is_empty()),
            "--limits-table" => a.limits_table = Some(value()?).filter(|t| !t.is_empty()),
            "--cold" => a.cold = value()?.parse()?,
            "--warm" => a.warm = value()?.parse()?,
            "--log-dir" => a.log_dir = value()?.into(),
            "--out" => a.out = value()?.into(),
            "--note" => a.notes.push(value()?),
            "--env" => {
                let v = value()?;
                let (function, kv) = v.split_once(':').ok_or("--env wants FUNCTION:KEY=VALUE")?;
                let (k, val) = kv.split_once('=').ok_or("--env wants FUNCTION:KEY=VALUE")?;
                a.env
                    .push((function.to_owned(), k.to_owned(), val.to_owned()));
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    if a.bin_dir.as_os_str().is_empty()
        || a.sim.is_empty()
        || a.moto.is_empty()
        || a.functions.is_empty()
    {
        return Err(
            format!("--bin-dir, --sim, --moto and --functions are required\n{USAGE}").into(),
        );
    }
    if a.cold == 0 || a.warm == 0 {
        return Err("--cold and --warm must be at least 1".into());
    }
    Ok(a)
}

/// One configuration of one function: what is started and measured.
pub struct Variant {
    pub label: String,
    pub function: String,
    pub env: Vec<(String, String)>,
    /// Repeat cold starts for this variant (once per function).
    pub cold_runs: bool,
    /// `KITCHEN_COUNT_CACHE_SECONDS` of a count variant.
    pub cache_secs: Option<u64>,
    /// The HTTP status every warm call must answer; `None`: any 2xx.
    pub warm_status: Option<u64>,
    /// The HTTP status the first call of a container must answer; `None`: any 2xx.
    pub first_status: Option<u64>,
}

/// The floor; invite; count from the dashboard (cache 10 s, then 0 s); webhook;
/// reconcile; then, with a presence table, count as deployed (`auto`: table
/// first), the page's `/api/rooms` and notify — after webhook and reconcile
/// have filled the table.
fn variants(args: &Args) -> Vec<Variant> {
    let mut out: Vec<(u8, Variant)> = Vec::new();
    for f in &args.functions {
        let mut env: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, v: &str| env.push((k.to_owned(), v.to_owned()));
        match f.as_str() {
            "invite" => {
                set("ZOOM_TECH_USER", zoom_sim::DEMO_TECH_USER);
                set("KITCHEN_DEVICE_AUTH", "on");
                if let Some(t) = &args.limits_table {
                    // The limits stay on (one conditional write per invite) but
                    // let one device send every invite of the run.
                    set("KITCHEN_LIMITS_TABLE", t);
                    set("KITCHEN_INVITE_INTERVAL_SECONDS", "0");
                    set("KITCHEN_INVITES_PER_DAY", "10000");
                }
            }
            "count" => {
                set("KITCHEN_DEVICE_AUTH", "on");
                set("KITCHEN_STALE_SECONDS", "300");
                set("KITCHEN_SHOW_NAMES", "false");
            }
            "webhook" | "reconcile" => {
                if let Some(t) = &args.table {
                    set("KITCHEN_PRESENCE_TABLE", t);
                }
            }
            // As deployed: auto (presence table first) when there is a table.
            "page" => {
                set("KITCHEN_SHOW_NAMES", "false");
                set("KITCHEN_COUNT_CACHE_SECONDS", "10");
                if let Some(t) = &args.table {
                    set("KITCHEN_PRESENCE_TABLE", t);
                    set("KITCHEN_COUNT_SOURCE", "auto");
                    set("KITCHEN_PRESENCE_FRESH_SECONDS", "1800");
                }
            }
            "notify" => {
                set("ZOOM_TECH_USER", zoom_sim::DEMO_TECH_USER);
                if let Some(t) = &args.table {
                    set("KITCHEN_PRESENCE_TABLE", t);
                }
            }
            _ => {}
        }
        let overrides = |mut env: Vec<(String, String)>| {
            for (func, k, v) in &args.env {
                if func == f {
                    set_var(&mut env, k, v);
                }
            }
            env
        };
        if f != "count" {
            let order = match f.as_str() {
                "floor" => 0,
                "invite" => 1,
                "webhook" => 3,
                "reconcile" => 4,
                "page" => 6,
                _ => 7,
            };
            if f == "invite" && args.limits_table.is_some() {
                // Invites refused, for the DynamoDB calls a refusal costs:
                // (label, variable, value, first call's status, warm calls' status).
                let refused = [
                    // The same device over its limit: the first call is granted,
                    // every warm one refused (429 too_many_invites, nothing sent).
                    (
                        "invite (over its limit: warm calls refused)",
                        "KITCHEN_INVITE_INTERVAL_SECONDS",
                        "3600",
                        None,
                        Some(429),
                    ),
                    // Zoom refuses every message (a tech user it does not know:
                    // 503 tech_user_not_found): each call takes a slot and
                    // gives it back.
                    (
                        "invite (Zoom refuses: slot given back)",
                        "ZOOM_TECH_USER",
                        "nobody-bot@example.com",
                        Some(503),
                        Some(503),
                    ),
                ];
                for (label, key, value, first_status, warm_status) in refused {
                    let mut e = env.clone();
                    set_var(&mut e, key, value);
                    let v = Variant {
                        label: label.into(),
                        function: f.clone(),
                        env: overrides(e),
                        cold_runs: false,
                        cache_secs: None,
                        warm_status,
                        first_status,
                    };
                    out.push((order, v));
                }
            }
            let env = overrides(env);
            let v = Variant {
                label: f.clone(),
                function: f.clone(),
                env,
                cold_runs: true,
                cache_secs: None,
                warm_status: None,
                first_status: None,
            };
            out.push((order, v));
            continue;
        }
        let mut count_variants = vec![
            (2, "count (dashboard, cache 10 s)", "dashboard", 10, true),
            (2, "count (dashboard, cache 0 s)", "dashboard", 0, false),
        ];
        if args.table.is_some() {
            count_variants.push((
                5,
                "count (auto = deployed default, cache 10 s)",
                "auto",
                10,
                false,
            ));
            count_variants.push((5, "count (auto, cache 0 s)", "auto", 0, false));
        }
        for (order, label, source, secs, cold_runs) in count_variants {
            let mut e = env.clone();
            e.push(("KITCHEN_COUNT_SOURCE".into(), source.into()));
            e.push(("KITCHEN_COUNT_CACHE_SECONDS".into(), secs.to_string()));
            if let (Some(t), "auto") = (&args.table, source) {
                e.push(("KITCHEN_PRESENCE_TABLE".into(), t.clone()));
                e.push(("KITCHEN_PRESENCE_FRESH_SECONDS".into(), "1800".into()));
            }
            let v = Variant {
                label: label.into(),
                function: f.clone(),
                env: overrides(e),
                cold_runs,
                cache_secs: Some(secs),
                warm_status: None,
                first_status: None,
            };
            out.push((order, v));
        }
    }
    out.sort_by_key(|(order, _)| *order);
    out.into_iter().map(|(_, v)| v).collect()
}

/// Sets `key` in `env`, replacing an earlier value.
fn set_var(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_owned(), value.to_owned()));
}

/// The Zoom simulator's admin API.
struct SimAdmin {
    base: String,
    client: reqwest::Client,
}

impl SimAdmin {
    async fn stats(&self) -> Res<Stats> {
        let r = self
            .client
            .get(format!("{}/_sim/stats", self.base))
            .send()
            .await?
            .error_for_status()?;
        Ok(r.json().await?)
    }
}

pub fn stats_since(after: &Stats, before: &Stats) -> Stats {
    let d = |a: u64, b: u64| a.saturating_sub(b);
    Stats {
        token_requests: d(after.token_requests, before.token_requests),
        meeting_requests: d(after.meeting_requests, before.meeting_requests),
        dashboard_requests: d(after.dashboard_requests, before.dashboard_requests),
        chat_requests: d(after.chat_requests, before.chat_requests),
        chat_delivered: d(after.chat_delivered, before.chat_delivered),
        unauthorized: d(after.unauthorized, before.unauthorized),
        rate_limited: d(after.rate_limited, before.rate_limited),
        handler_nanos_total: d(after.handler_nanos_total, before.handler_nanos_total),
        handled: d(after.handled, before.handled),
        webhooks_sent: d(after.webhooks_sent, before.webhooks_sent),
        // Counters of endpoints the functions under bench do not call.
        ..Stats::default()
    }
}

pub fn zoom_calls(s: &Stats) -> u64 {
    s.token_requests + s.meeting_requests + s.dashboard_requests + s.chat_requests
}

/// Upstream work of a span: Zoom-sim handler time, plus moto's time seen by the
/// proxy and the proxy's own calibrated cost per AWS call.
fn upstream_time(sim: &Stats, aws: &Counts, proxy_hop: Duration) -> Duration {
    Duration::from_nanos(sim.handler_nanos_total + aws.upstream_nanos)
        + proxy_hop * aws.calls() as u32
}

#[derive(Debug, Clone)]
pub struct ColdSample {
    /// Process spawn → first `GET /next`.
    pub init: Duration,
    /// Process spawn → first response received.
    pub total: Duration,
    /// Upstream time during the first invocation (sim handlers + moto).
    pub upstream: Duration,
    pub tokens: u64,
    /// AWS calls of the first invocation (secret read, table calls).
    pub aws: Counts,
}

#[derive(Debug, Default)]
pub struct Warm {
    pub latency: Vec<Duration>,
    pub overhead: Vec<Duration>,
    pub sim: Stats,
    pub aws: Counts,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// Calls made over one container's life (1 cold + `warm` invocations).
#[derive(Debug, Default)]
pub struct Lifetime {
    pub requests: u64,
    pub sim: Stats,
    pub aws: Counts,
    /// First invocation handed over → last response received.
    pub span: Duration,
}

pub struct VariantResult {
    pub variant: Variant,
    pub cold: Vec<ColdSample>,
    pub warm: Warm,
    pub lifetime: Lifetime,
    pub peak_rss_kib: Option<u64>,
    /// Largest token count any single container of this variant requested.
    pub max_tokens_per_container: u64,
    pub error: Option<String>,
}

struct Ctx<'a> {
    args: &'a Args,
    sim: SimAdmin,
    proxy: Proxy,
    proxy_hop: Duration,
}

/// A running execution environment: the bootstrap process and its Runtime API.
struct Container {
    child: Child,
    rt: RuntimeApi,
    spawned: Instant,
    ready: Instant,
}

impl Container {
    async fn start(ctx: &Ctx<'_>, v: &Variant) -> Res<Container> {
        let bootstrap = ctx.args.bin_dir.join(&v.function).join("bootstrap");
        let bootstrap = std::fs::canonicalize(&bootstrap)
            .map_err(|e| format!("{}: {e} (not built?)", bootstrap.display()))?;
        let rt = RuntimeApi::start(&v.function).await?;
        std::fs::create_dir_all(&ctx.args.log_dir)?;
        let log_path = ctx.args.log_dir.join(format!("{}.log", slug(&v.label)));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let mut cmd = Command::new(&bootstrap);
        cmd.env_clear()
            .envs(lambda_env(ctx, v, &rt, &bootstrap))
            .envs(v.env.iter().map(|(k, val)| (k.as_str(), val.as_str())))
            .current_dir(bootstrap.parent().unwrap_or(Path::new(".")))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        let spawned = Instant::now();
        let mut child = cmd.spawn()?;
        let ready = tokio::select! {
            r = rt.wait_ready(INIT_TIMEOUT) => r,
            status = child.wait() => Err(format!("bootstrap exited during init ({:?}); see {}", status.ok(), log_path.display()).into()),
        };
        match ready {
            Ok(ready) => Ok(Container {
                child,
                rt,
                spawned,
                ready,
            }),
            Err(e) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                Err(format!("{}: {e}; log: {}", v.label, log_path.display()).into())
            }
        }
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// What Lambda puts in a `provided.al2023` function's environment, with the
/// AWS endpoint pointing at the counting proxy in front of moto.
fn lambda_env(
    ctx: &Ctx<'_>,
    v: &Variant,
    rt: &RuntimeApi,
    bootstrap: &Path,
) -> Vec<(String, String)> {
    let dir = bootstrap
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let f = &v.function;
    [
        ("AWS_LAMBDA_RUNTIME_API", rt.addr.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", format!("coffee-kitchen-{f}")),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/coffee-kitchen/{f}"),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/22/[$LATEST]0123456789abcdef".into(),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_rapid".into()),
        ("LAMBDA_TASK_ROOT", dir.clone()),
        ("LAMBDA_RUNTIME_DIR", dir),
        ("_HANDLER", "bootstrap".into()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_SESSION_TOKEN", "testing".into()),
        ("AWS_ENDPOINT_URL", ctx.proxy.url.clone()),
        // Globals of template.yaml, the simulator in place of Zoom.
        ("RUST_LOG", "info".into()),
        ("ZOOM_SECRET_ID", SECRET_ID.into()),
        // One room, as the template's Rooms parameter passes it, with the
        // simulator's channel for notify's posts.
        (
            "KITCHEN_ROOMS",
            format!(
                r#"{{"kitchen":{{"meeting_id":"{}","channel":"{}"}}}}"#,
                events::MEETING_ID,
                zoom_sim::DEMO_KITCHEN_CHANNEL
            ),
        ),
        ("ZOOM_API_URL", format!("{}/v2", ctx.args.sim)),
        ("ZOOM_OAUTH_URL", format!("{}/oauth/token", ctx.args.sim)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// `None` if the invocation succeeded (`expected`, else 2xx, for HTTP events),
/// else what went wrong.
fn failure(function: &str, o: &runtime_api::Outcome, expected: Option<u64>) -> Option<String> {
    let text = || {
        String::from_utf8_lossy(&o.body)
            .chars()
            .take(300)
            .collect::<String>()
    };
    if !o.ok {
        return Some(format!("invocation error: {}", text()));
    }
    match function {
        "reconcile" => return None,
        // A stream batch: a record it could not handle is listed for a retry.
        "notify" => {
            let failed = serde_json::from_slice::<serde_json::Value>(&o.body)
                .ok()
                .and_then(|v| v.get("batchItemFailures").cloned())
                .and_then(|f| f.as_array().map(Vec::len))
                .unwrap_or(0);
            return (failed > 0).then(|| format!("batch item failures: {}", text()));
        }
        _ => {}
    }
    let status = serde_json::from_slice::<serde_json::Value>(&o.body)
        .ok()
        .and_then(|v| v.get("statusCode").and_then(serde_json::Value::as_u64));
    match (status, expected) {
        (Some(s), Some(e)) if s == e => None,
        (_, Some(e)) => Some(format!("expected {e}, got: {}", text())),
        (Some(s), None) if (200..300).contains(&s) => None,
        _ => Some(format!("non-2xx response: {}", text())),
    }
}

async fn measure(ctx: &Ctx<'_>, v: Variant) -> VariantResult {
    let mut result = VariantResult {
        variant: v,
        cold: Vec::new(),
        warm: Warm::default(),
        lifetime: Lifetime::default(),
        peak_rss_kib: None,
        max_tokens_per_container: 0,
        error: None,
    };
    if let Err(e) = measure_into(ctx, &mut result).await {
        eprintln!("kitchen-bench: {}: {e}", result.variant.label);
        result.error = Some(e.to_string());
    }
    result
}

async fn measure_into(ctx: &Ctx<'_>, r: &mut VariantResult) -> Res<()> {
    let v = &r.variant;
    let events = EventSource::for_function(&v.function)?;
    let n_cold = if v.cold_runs { ctx.args.cold } else { 1 };
    eprintln!(
        "kitchen-bench: {}: {n_cold} cold start(s), {} warm invocations",
        v.label, ctx.args.warm
    );
    for i in 0..n_cold {
        let sim0 = ctx.sim.stats().await?;
        let aws0 = ctx.proxy.counts();
        let c = Container::start(ctx, v).await?;
        let event = events.next()?;
        let first = c.rt.invoke(event, INVOKE_TIMEOUT).await?;
        if let Some(f) = failure(&v.function, &first, v.first_status) {
            c.stop().await;
            return Err(format!("first invocation failed: {f}").into());
        }
        let sim1 = ctx.sim.stats().await?;
        let aws1 = ctx.proxy.counts();
        let sim_d = stats_since(&sim1, &sim0);
        let aws_d = aws1.since(&aws0);
        r.cold.push(ColdSample {
            init: c.ready.saturating_duration_since(c.spawned),
            total: first.received.saturating_duration_since(c.spawned),
            upstream: upstream_time(&sim_d, &aws_d, ctx.proxy_hop),
            tokens: sim_d.token_requests,
            aws: aws_d,
        });
        if i > 0 {
            r.max_tokens_per_container = r.max_tokens_per_container.max(sim_d.token_requests);
            c.stop().await;
            continue;
        }
        // The first container stays warm for the sequential run.
        let mut last_received = first.received;
        let mut sim_prev = sim1.clone();
        let mut aws_prev = aws1.clone();
        for _ in 0..ctx.args.warm {
            let event = events.next()?;
            let o = c.rt.invoke(event, INVOKE_TIMEOUT).await?;
            let sim_now = ctx.sim.stats().await?;
            let aws_now = ctx.proxy.counts();
            let sim_d = stats_since(&sim_now, &sim_prev);
            let aws_d = aws_now.since(&aws_prev);
            let latency = o.latency();
            r.warm.latency.push(latency);
            r.warm.overhead.push(latency.saturating_sub(upstream_time(
                &sim_d,
                &aws_d,
                ctx.proxy_hop,
            )));
            if let Some(f) = failure(&v.function, &o, v.warm_status) {
                r.warm.errors += 1;
                r.warm.first_error.get_or_insert(f);
            }
            last_received = o.received;
            sim_prev = sim_now;
            aws_prev = aws_now;
        }
        r.warm.sim = stats_since(&sim_prev, &sim1);
        r.warm.aws = aws_prev.since(&aws1);
        r.lifetime = Lifetime {
            requests: 1 + ctx.args.warm as u64,
            sim: stats_since(&sim_prev, &sim0),
            aws: aws_prev.since(&aws0),
            span: last_received.saturating_duration_since(first.answered),
        };
        r.max_tokens_per_container = r
            .max_tokens_per_container
            .max(r.lifetime.sim.token_requests);
        r.peak_rss_kib = c.peak_rss_kib();
        c.stop().await;
    }
    Ok(())
}

/// One of the page's files as the page function serves it.
#[derive(Debug, Clone)]
pub struct Served {
    pub path: String,
    pub status: u64,
    pub content_type: String,
    pub bytes: usize,
}

/// The page's weight: `GET /`, `/app.js` and `/app.css` through the page's own
/// bootstrap (one container), each body's length as a browser receives it.
async fn page_weight(ctx: &Ctx<'_>) -> Res<Vec<Served>> {
    use base64::Engine as _;
    let v = variants(ctx.args)
        .into_iter()
        .find(|v| v.function == "page")
        .ok_or("page is not among the functions")?;
    let c = Container::start(ctx, &v).await?;
    let mut out = Vec::new();
    for path in events::PAGE_FILES {
        let o = c.rt.invoke(events::page_file(path)?, INVOKE_TIMEOUT).await;
        let o = match o {
            Ok(o) => o,
            Err(e) => {
                c.stop().await;
                return Err(e);
            }
        };
        let r: serde_json::Value = serde_json::from_slice(&o.body)?;
        let body = r["body"].as_str().unwrap_or_default();
        let bytes = if r["isBase64Encoded"].as_bool().unwrap_or(false) {
            base64::engine::general_purpose::STANDARD
                .decode(body)?
                .len()
        } else {
            body.len()
        };
        let header = |name: &str| {
            r["headers"]
                .as_object()
                .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .and_then(|(_, v)| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        out.push(Served {
            path: path.to_owned(),
            status: r["statusCode"].as_u64().unwrap_or(0),
            content_type: header("content-type"),
            bytes,
        });
    }
    c.stop().await;
    Ok(out)
}

async fn run(args: Args) -> Res<()> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let proxy = Proxy::start(&args.moto).await?;
    let proxy_hop = proxy
        .calibrate(200)
        .await
        .map_err(|e| format!("moto at {} not answering: {e}", args.moto))?;
    eprintln!(
        "kitchen-bench: counting proxy adds {:.0} µs per AWS call (subtracted as upstream)",
        proxy_hop.as_secs_f64() * 1e6
    );
    let ctx = Ctx {
        args: &args,
        sim: SimAdmin {
            base: args.sim.clone(),
            client,
        },
        proxy,
        proxy_hop,
    };
    ctx.sim
        .stats()
        .await
        .map_err(|e| format!("Zoom simulator at {} not answering: {e}", args.sim))?;
    let started = Instant::now();
    let mut results = Vec::new();
    for v in variants(&args) {
        results.push(measure(&ctx, v).await);
    }
    let page = if args.functions.iter().any(|f| f == "page") {
        match page_weight(&ctx).await {
            Ok(files) => Some(files),
            Err(e) => {
                eprintln!("kitchen-bench: page weight: {e}");
                None
            }
        }
    } else {
        None
    };
    let md = report::render(
        &args,
        &results,
        page.as_deref(),
        started.elapsed(),
        proxy_hop,
    );
    println!("{md}");
    std::fs::write(&args.out, md)?;
    eprintln!("kitchen-bench: wrote {}", args.out.display());
    if results.iter().any(|r| r.error.is_some()) {
        return Err("some functions could not be measured (see the table)".into());
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let outcome = match argv.next().as_deref() {
        Some("run") => match parse_run_args(argv) {
            // Dropping `run` on a signal kills the bootstraps (kill_on_drop).
            Ok(args) => tokio::select! {
                r = run(args) => r,
                _ = zoom_sim::shutdown_signal() => Err("interrupted".into()),
            },
            Err(e) => Err(e),
        },
        Some("criterion") => criterion_table::main(argv),
        _ => Err(USAGE.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kitchen-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_env(v: &Variant, k: &str, val: &str) -> bool {
        v.env.contains(&(k.into(), val.into()))
    }

    #[test]
    fn args_and_variants() {
        let argv = "--bin-dir b --sim http://s/ --moto http://m \
                    --functions count,invite,webhook,page,floor \
                    --env count:KITCHEN_SHOW_NAMES=true --cold 3 --table t --limits-table l";
        let a = parse_run_args(argv.split_whitespace().map(str::to_owned)).unwrap();
        assert_eq!(a.sim, "http://s");
        assert_eq!(a.cold, 3);
        let v = variants(&a);
        let labels: Vec<_> = v.iter().map(|v| v.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "floor",
                "invite (over its limit: warm calls refused)",
                "invite (Zoom refuses: slot given back)",
                "invite",
                "count (dashboard, cache 10 s)",
                "count (dashboard, cache 0 s)",
                "webhook",
                "count (auto = deployed default, cache 10 s)",
                "count (auto, cache 0 s)",
                "page"
            ]
        );
        // Refused before the plain invite runs: its first call is the device's
        // first invite, granted; every warm call is over the interval.
        assert!(has_env(&v[1], "KITCHEN_INVITE_INTERVAL_SECONDS", "3600"));
        assert_eq!((v[1].warm_status, v[1].cold_runs), (Some(429), false));
        // Then every call refused by Zoom, first one included.
        assert!(has_env(&v[2], "ZOOM_TECH_USER", "nobody-bot@example.com"));
        assert!(has_env(&v[2], "KITCHEN_INVITE_INTERVAL_SECONDS", "0"));
        assert_eq!(
            (v[2].first_status, v[2].warm_status),
            (Some(503), Some(503))
        );
        assert_eq!((v[3].first_status, v[3].warm_status), (None, None));
        let v: Vec<_> = v.into_iter().skip(3).collect();
        assert!(has_env(&v[1], "KITCHEN_SHOW_NAMES", "true"));
        assert!(has_env(&v[2], "KITCHEN_COUNT_CACHE_SECONDS", "0"));
        assert!(!v[1].env.iter().any(|(k, _)| k == "KITCHEN_PRESENCE_TABLE"));
        assert!(has_env(&v[4], "KITCHEN_PRESENCE_TABLE", "t"));
        assert!(has_env(&v[3], "KITCHEN_PRESENCE_TABLE", "t"));
        assert!(v[1].cold_runs && !v[2].cold_runs && v[3].cold_runs);
        assert!(has_env(&v[0], "KITCHEN_LIMITS_TABLE", "l"));
        assert!(has_env(&v[0], "KITCHEN_INVITE_INTERVAL_SECONDS", "0"));
        assert!(has_env(&v[6], "KITCHEN_PRESENCE_TABLE", "t"));
        assert!(has_env(&v[6], "KITCHEN_COUNT_SOURCE", "auto"));
        assert!(parse_run_args(["--bogus".to_owned()].into_iter()).is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("count (cache 10 s)"), "count-cache-10-s");
    }
}
