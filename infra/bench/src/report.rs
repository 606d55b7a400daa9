//! The Markdown report: measured figures and the targets beside them.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::proxy::Counts;
use crate::{Args, Served, VariantResult, zoom_calls};

const COLD_TARGET: Duration = Duration::from_millis(20);
const WARM_OVERHEAD_TARGET: Duration = Duration::from_millis(1);
const RSS_TARGET_BYTES: u64 = 20_000_000;
const ZIP_TARGET_BYTES: u64 = 5_000_000;
/// A function's init (spawn → first `/next`) against the floor's, same run.
const INIT_RATIO_TARGET: f64 = 2.5;
/// index.html + app.js + app.css.
const PAGE_WEIGHT_TARGET_BYTES: usize = 30 * 1024;
/// The floor's function name (`infra/bench/floor`).
pub const FLOOR: &str = "floor";

/// Nearest-rank percentile of an unsorted sample.
pub fn percentile(sample: &[Duration], p: f64) -> Option<Duration> {
    if sample.is_empty() {
        return None;
    }
    let mut s = sample.to_vec();
    s.sort_unstable();
    // The epsilon keeps e.g. 99.9 % of 1000 at rank 999 despite float rounding.
    let rank = (p * s.len() as f64 / 100.0 - 1e-9).ceil() as usize;
    Some(s[rank.clamp(1, s.len()) - 1])
}

fn ms(d: Option<Duration>, decimals: usize) -> String {
    d.map_or_else(
        || "–".into(),
        |d| format!("{:.*} ms", decimals, d.as_secs_f64() * 1e3),
    )
}

fn mb(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "–".into(), |b| format!("{:.2} MB", b as f64 / 1e6))
}

fn per_1k(n: u64, requests: u64) -> String {
    if requests == 0 {
        return "–".into();
    }
    let v = n as f64 * 1000.0 / requests as f64;
    if v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

fn file_size(args: &Args, function: &str, name: &str) -> Option<u64> {
    let dir = args.artifact_dir.as_ref()?;
    std::fs::metadata(dir.join(function).join(name))
        .ok()
        .map(|m| m.len())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn cold_excl(r: &VariantResult) -> Vec<Duration> {
    r.cold
        .iter()
        .map(|c| c.total.saturating_sub(c.upstream))
        .collect()
}

fn median_init(r: &VariantResult) -> Option<Duration> {
    let s: Vec<_> = r.cold.iter().map(|c| c.init).collect();
    percentile(&s, 50.0)
}

fn median_cold(r: &VariantResult) -> Option<Duration> {
    let s: Vec<_> = r.cold.iter().map(|c| c.total).collect();
    percentile(&s, 50.0)
}

/// `12.3 ms (3.51×)`: a figure and its ratio to the floor's.
fn against(d: Option<Duration>, floor: Option<Duration>) -> String {
    match (d, floor) {
        (Some(d), Some(f)) if !f.is_zero() => format!(
            "{} ({:.2}×)",
            ms(Some(d), 2),
            d.as_secs_f64() / f.as_secs_f64()
        ),
        (d, _) => ms(d, 2),
    }
}

fn ratio(d: Duration, floor: Duration) -> Option<f64> {
    (!floor.is_zero()).then(|| d.as_secs_f64() / floor.as_secs_f64())
}

const DYNAMODB: &str = "DynamoDB_20120810.";
const SECRETS: &str = "secretsmanager.";

/// `UpdateItem 1, GetItem 0.5` per request, by operation, for one service.
fn by_op(c: &Counts, service: &str, requests: u64) -> String {
    let parts: Vec<String> = c
        .by_target
        .iter()
        .filter_map(|(t, n)| t.strip_prefix(service).map(|op| (op, *n)))
        .map(|(op, n)| format!("{op} {}", per_request(n, requests)))
        .collect();
    if parts.is_empty() {
        "–".into()
    } else {
        parts.join(", ")
    }
}

fn per_request(n: u64, requests: u64) -> String {
    if requests == 0 {
        return "–".into();
    }
    let v = n as f64 / requests as f64;
    if v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

fn service_calls(c: &Counts, service: &str) -> u64 {
    c.by_target
        .iter()
        .filter(|(t, _)| t.starts_with(service))
        .map(|(_, n)| n)
        .sum()
}

pub fn render(
    args: &Args,
    results: &[VariantResult],
    page: Option<&[Served]>,
    took: Duration,
    proxy_hop: Duration,
) -> String {
    let mut o = String::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        o,
        "# Coffee Kitchen benchmark ({})\n",
        zoom_sim::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(now))
    );
    let _ = writeln!(
        o,
        "Host: {}, {cores} cores, shared with the peers. Timings: `cargo lambda build --release` x86_64 \
         bootstraps run under a local Lambda Runtime API (128 MB env vars, JSON logs to a file); sizes: the \
         arm64 build that is deployed. Peers on loopback: Zoom simulator (release build), moto behind a \
         counting proxy (its own cost, {:.0} µs per AWS call measured against direct calls, is counted \
         as upstream). {} cold starts per function; {} sequential warm invocations per container. \
         Harness run took {:.0} s.\n",
        cpu_model(),
        proxy_hop.as_secs_f64() * 1e6,
        args.cold,
        args.warm,
        took.as_secs_f64()
    );
    for n in &args.notes {
        let _ = writeln!(o, "- {n}");
    }
    for r in results.iter().filter(|r| r.error.is_some()) {
        let _ = writeln!(
            o,
            "- **{} not measured**: {}",
            r.variant.label,
            r.error.as_deref().unwrap_or("")
        );
    }
    if !args.notes.is_empty() || results.iter().any(|r| r.error.is_some()) {
        o.push('\n');
    }

    let floor = results
        .iter()
        .find(|r| r.variant.function == FLOOR && r.error.is_none());
    let _ = writeln!(o, "## Against the floor\n");
    match floor {
        None => {
            let _ = writeln!(
                o,
                "The floor (`infra/bench/floor`) was not measured in this run: no ratios.\n"
            );
        }
        Some(_) => {
            let _ = writeln!(
                o,
                "The floor is a `lambda_http` function that answers 200 and does nothing else, built and run \
                 exactly as the functions (`infra/bench/floor`). Each figure, then its ratio to the floor's in \
                 this run. Init: spawn → first `GET /next` (median); cold: spawn → first response (median, \
                 upstream included); warm: latency of the sequential warm calls; RSS: peak after 1+{} calls.\n",
                args.warm
            );
        }
    }
    if let Some(f) = floor {
        let f_init = median_init(f);
        let f_cold = median_cold(f);
        let f_p50 = percentile(&f.warm.latency, 50.0);
        let f_p99 = percentile(&f.warm.latency, 99.0);
        let f_rss = f.peak_rss_kib;
        let _ = writeln!(
            o,
            "| function | init | cold start | warm p50 | warm p99 | peak RSS |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|");
        for r in results.iter().filter(|r| r.error.is_none()) {
            let cold = r.variant.cold_runs && !r.cold.is_empty();
            let rss = match (r.peak_rss_kib, f_rss) {
                (Some(k), Some(fk)) if fk > 0 => {
                    format!("{} ({:.2}×)", mb(Some(k * 1024)), k as f64 / fk as f64)
                }
                (k, _) => mb(k.map(|k| k * 1024)),
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {rss} |",
                r.variant.label,
                if cold {
                    against(median_init(r), f_init)
                } else {
                    "–".into()
                },
                if cold {
                    against(median_cold(r), f_cold)
                } else {
                    "–".into()
                },
                against(percentile(&r.warm.latency, 50.0), f_p50),
                against(percentile(&r.warm.latency, 99.0), f_p99),
            );
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## Size, cold start, memory\n");
    let _ = writeln!(
        o,
        "| function | bootstrap (arm64) | zip (arm64) | init: spawn → 1st /next, median (min) | cold: spawn → 1st response, median (min) | upstream in 1st call, median | cold excl. upstream, median (min) | peak RSS after 1+{} calls |",
        args.warm
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let v = &r.variant;
        let show_cold = v.cold_runs && !r.cold.is_empty();
        let init: Vec<_> = r.cold.iter().map(|c| c.init).collect();
        let total: Vec<_> = r.cold.iter().map(|c| c.total).collect();
        let up: Vec<_> = r.cold.iter().map(|c| c.upstream).collect();
        let excl = cold_excl(r);
        let both = |s: &[Duration], d| {
            if show_cold {
                format!(
                    "{} ({})",
                    ms(percentile(s, 50.0), d),
                    ms(percentile(s, 0.0), d)
                )
            } else {
                "–".into()
            }
        };
        let (bootstrap, zip) = if v.cold_runs {
            (
                mb(file_size(args, &v.function, "bootstrap")),
                mb(file_size(args, &v.function, "bootstrap.zip")),
            )
        } else {
            ("same".into(), "same".into())
        };
        let _ = writeln!(
            o,
            "| {} | {bootstrap} | {zip} | {} | {} | {} | {} | {} |",
            v.label,
            both(&init, 1),
            both(&total, 1),
            if show_cold {
                ms(percentile(&up, 50.0), 1)
            } else {
                "–".into()
            },
            both(&excl, 1),
            r.peak_rss_kib
                .map_or_else(|| "–".into(), |k| mb(Some(k * 1024))),
        );
    }

    let _ = writeln!(o, "\n## Warm latency (one container, sequential)\n");
    let _ = writeln!(
        o,
        "Latency: `/next` answered → `/response` received. Upstream: the simulator's own handler time \
         (`/_sim/stats` delta) plus moto's answer time at the proxy (and the proxy's own cost), per \
         invocation. Overhead = latency − upstream: the function's own work, its HTTP clients and the \
         loopback hops to the simulator.\n"
    );
    let _ = writeln!(
        o,
        "| function | n | p50 | p99 | p99.9 | max | Zoom calls / call | sim handler mean | AWS calls / call | overhead p50 | overhead p99 | errors |"
    );
    let _ = writeln!(
        o,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in results.iter().filter(|r| !r.warm.latency.is_empty()) {
        let w = &r.warm;
        let n = w.latency.len() as u64;
        let sim_mean = if w.sim.handled == 0 {
            "–".into()
        } else {
            format!(
                "{:.1} µs",
                w.sim.handler_nanos_total as f64 / w.sim.handled as f64 / 1e3
            )
        };
        let aws_calls: u64 = w.aws.by_target.values().sum();
        let errors = match (&w.first_error, w.errors) {
            (Some(e), n) => format!("{n} ({})", e.replace('|', "\\|")),
            (None, 0) => "0".into(),
            (None, n) => n.to_string(),
        };
        let _ = writeln!(
            o,
            "| {} | {n} | {} | {} | {} | {} | {:.3} | {sim_mean} | {:.3} | {} | {} | {errors} |",
            r.variant.label,
            ms(percentile(&w.latency, 50.0), 3),
            ms(percentile(&w.latency, 99.0), 3),
            ms(percentile(&w.latency, 99.9), 3),
            ms(percentile(&w.latency, 100.0), 3),
            zoom_calls(&w.sim) as f64 / n as f64,
            aws_calls as f64 / n as f64,
            ms(percentile(&w.overhead, 50.0), 3),
            ms(percentile(&w.overhead, 99.0), 3),
        );
    }

    let _ = writeln!(
        o,
        "\n## Upstream calls per 1,000 requests (one container: 1 cold + {} warm calls)\n",
        args.warm
    );
    let _ = writeln!(
        o,
        "| function | requests | Zoom token | Zoom meeting | Zoom dashboard | Zoom chat | secret reads | store reads | store writes | other AWS |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results.iter().filter(|r| r.lifetime.requests > 0) {
        let l = &r.lifetime;
        let n = l.requests;
        let secret = l.aws.ops(&["GetSecretValue"]);
        let reads = l.aws.ops(&["Query", "GetItem", "Scan", "BatchGetItem"]);
        let writes = l.aws.ops(&[
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchWriteItem",
            "TransactWriteItems",
        ]);
        let all: u64 = l.aws.by_target.values().sum();
        let _ = writeln!(
            o,
            "| {} | {n} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.variant.label,
            per_1k(l.sim.token_requests, n),
            per_1k(l.sim.meeting_requests, n),
            per_1k(l.sim.dashboard_requests, n),
            per_1k(l.sim.chat_requests, n),
            per_1k(secret, n),
            per_1k(reads, n),
            per_1k(writes, n),
            per_1k(all - secret - reads - writes, n),
        );
    }

    let _ = writeln!(o, "\n## AWS calls per request, by operation\n");
    let _ = writeln!(
        o,
        "Counted at the proxy in front of moto by `X-Amz-Target`. Warm: mean per call over the {} \
         sequential warm calls of one container; first: the first call of a fresh container (it also \
         reads the secret).\n",
        args.warm
    );
    let _ = writeln!(
        o,
        "| function | DynamoDB / call (warm) | by operation (warm) | DynamoDB, first call | Secrets Manager / call (warm) |"
    );
    let _ = writeln!(o, "|---|---:|---|---|---:|");
    for r in results
        .iter()
        .filter(|r| !r.warm.latency.is_empty() && r.variant.function != FLOOR)
    {
        let n = r.warm.latency.len() as u64;
        let first = r.cold.first().map_or_else(
            || "–".into(),
            |c| {
                format!(
                    "{} ({})",
                    service_calls(&c.aws, DYNAMODB),
                    by_op(&c.aws, DYNAMODB, 1)
                )
            },
        );
        let _ = writeln!(
            o,
            "| {} | {} | {} | {first} | {} |",
            r.variant.label,
            per_request(service_calls(&r.warm.aws, DYNAMODB), n),
            by_op(&r.warm.aws, DYNAMODB, n),
            per_request(service_calls(&r.warm.aws, SECRETS), n),
        );
    }

    if let Some(files) = page {
        let total: usize = files.iter().map(|f| f.bytes).sum();
        let _ = writeln!(o, "\n## The page's weight\n");
        let _ = writeln!(
            o,
            "Bodies as the page function serves them (one request each, no compression).\n"
        );
        let _ = writeln!(o, "| file | status | content type | bytes |");
        let _ = writeln!(o, "|---|---:|---|---:|");
        for f in files {
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} |",
                f.path, f.status, f.content_type, f.bytes
            );
        }
        let _ = writeln!(o, "| total | | | {total} |");
    }

    let _ = writeln!(o, "\n## Targets\n");
    let _ = writeln!(o, "| target | function | measured | |");
    let _ = writeln!(o, "|---|---|---:|---|");
    if let Some(f_init) = floor.and_then(median_init) {
        for r in results
            .iter()
            .filter(|r| r.variant.cold_runs && !r.cold.is_empty() && r.variant.function != FLOOR)
        {
            let Some(init) = median_init(r) else { continue };
            let Some(x) = ratio(init, f_init) else {
                continue;
            };
            let _ = writeln!(
                o,
                "| init ≤ {INIT_RATIO_TARGET}× the floor's (median, same run) | {} | {} vs {} = {x:.2}× | {} |",
                r.variant.label,
                ms(Some(init), 2),
                ms(Some(f_init), 2),
                verdict(x <= INIT_RATIO_TARGET)
            );
        }
    }
    if let Some(files) = page {
        let total: usize = files.iter().map(|f| f.bytes).sum();
        let _ = writeln!(
            o,
            "| page weight ≤ 30 KB (index.html + app.js + app.css) | page | {total} B | {} |",
            verdict(total <= PAGE_WEIGHT_TARGET_BYTES && files.iter().all(|f| f.status == 200))
        );
    }
    for r in results
        .iter()
        .filter(|r| r.variant.cold_runs && !r.cold.is_empty())
    {
        let excl = percentile(&cold_excl(r), 50.0).unwrap_or_default();
        let _ = writeln!(
            o,
            "| cold start ≤ 20 ms excl. network (median spawn → 1st response − upstream) | {} | {} | {} |",
            r.variant.label,
            ms(Some(excl), 1),
            verdict(excl <= COLD_TARGET)
        );
    }
    for r in results.iter().filter(|r| !r.warm.overhead.is_empty()) {
        let p50 = percentile(&r.warm.overhead, 50.0).unwrap_or_default();
        let _ = writeln!(
            o,
            "| warm overhead p50 ≤ 1 ms | {} | {} | {} |",
            r.variant.label,
            ms(Some(p50), 3),
            verdict(p50 <= WARM_OVERHEAD_TARGET)
        );
    }
    for r in results.iter().filter(|r| r.peak_rss_kib.is_some()) {
        let b = r.peak_rss_kib.unwrap_or(0) * 1024;
        let _ = writeln!(
            o,
            "| peak memory ≤ 20 MB | {} | {} | {} |",
            r.variant.label,
            mb(Some(b)),
            verdict(b <= RSS_TARGET_BYTES)
        );
    }
    for r in results.iter().filter(|r| r.variant.cold_runs) {
        match file_size(args, &r.variant.function, "bootstrap.zip") {
            Some(b) => {
                let _ = writeln!(
                    o,
                    "| zip ≤ 5 MB (arm64) | {} | {} | {} |",
                    r.variant.function,
                    mb(Some(b)),
                    verdict(b <= ZIP_TARGET_BYTES)
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "| zip ≤ 5 MB (arm64) | {} | not built | – |",
                    r.variant.function
                );
            }
        }
    }
    for r in results.iter().filter(|r| r.lifetime.requests > 0) {
        let t = r.max_tokens_per_container;
        let _ = writeln!(
            o,
            "| one token request per container per token lifetime (3599 s) | {} | max {t} per container | {} |",
            r.variant.label,
            verdict(t <= 1)
        );
    }
    for r in results.iter().filter(|r| r.lifetime.requests > 0) {
        let Some(cache) = r.variant.cache_secs else {
            continue;
        };
        let calls = r.lifetime.sim.dashboard_requests;
        if cache == 0 {
            let _ = writeln!(
                o,
                "| ≤ 1 dashboard call per cache period per container | {} | {calls} in {} calls (cache off) | n/a |",
                r.variant.label, r.lifetime.requests
            );
            continue;
        }
        let span = r.lifetime.span.as_secs_f64();
        let allowed = (span / cache as f64).floor() as u64 + 1;
        let _ = writeln!(
            o,
            "| ≤ 1 dashboard call per cache period per container | {} | {calls} in {span:.1} s (≤ {allowed} allowed) | {} |",
            r.variant.label,
            verdict(calls <= allowed)
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let s: Vec<Duration> = (1..=1000).map(Duration::from_micros).collect();
        assert_eq!(percentile(&s, 50.0), Some(Duration::from_micros(500)));
        assert_eq!(percentile(&s, 99.0), Some(Duration::from_micros(990)));
        assert_eq!(percentile(&s, 99.9), Some(Duration::from_micros(999)));
        assert_eq!(percentile(&s, 100.0), Some(Duration::from_micros(1000)));
        assert_eq!(percentile(&s, 0.0), Some(Duration::from_micros(1)));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(per_1k(1, 1001), "1.0");
        assert_eq!(per_1k(0, 1001), "0");
    }
}
