//! `kitchen-bench criterion --dir target/criterion --out FILE [--since UNIX_SECS] [--group hot_paths]`:
//! appends criterion's figures (`*/new/estimates.json`) as a Markdown table.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde::Deserialize;

use crate::Res;

#[derive(Deserialize)]
struct Benchmark {
    full_id: String,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
    median: Estimate,
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") && p.join("estimates.json").is_file() {
                out.push(p);
            } else {
                collect(&p, out);
            }
        }
    }
}

fn ns(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.3} ms", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.2} µs", v / 1e3)
    } else {
        format!("{v:.1} ns")
    }
}

pub fn main(mut it: impl Iterator<Item = String>) -> Res<()> {
    let (mut dir, mut out, mut since, mut group) = (None, None, 0u64, "hot_paths".to_owned());
    let mut seconds = None;
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--since" => since = value()?.parse()?,
            "--group" => group = value()?,
            "--measurement-time" => seconds = Some(value()?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (dir, out) = (
        dir.ok_or("--dir is required")?,
        out.ok_or("--out is required")?,
    );
    let mut found = Vec::new();
    collect(&dir, &mut found);
    let mut rows = Vec::new();
    for new in found {
        let fresh = std::fs::metadata(new.join("estimates.json"))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .is_some_and(|t| t >= Duration::from_secs(since));
        if !fresh {
            continue;
        }
        let bench: Benchmark = serde_json::from_slice(&std::fs::read(new.join("benchmark.json"))?)?;
        if !bench.full_id.starts_with(&format!("{group}/")) {
            continue;
        }
        let est: Estimates = serde_json::from_slice(&std::fs::read(new.join("estimates.json"))?)?;
        rows.push((bench.full_id, est));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\n## Micro-benchmarks (criterion, `cargo bench -p kitchen --bench hot_paths`{})\n",
        seconds.map_or_else(String::new, |s| format!(", {s} s measurement"))
    );
    if rows.is_empty() {
        let _ = writeln!(md, "No fresh criterion results under {}.", dir.display());
    } else {
        let _ = writeln!(md, "| benchmark | median | mean | mean 95% CI |");
        let _ = writeln!(md, "|---|---:|---:|---:|");
        for (id, e) in &rows {
            let _ = writeln!(
                md,
                "| {id} | {} | {} | {} – {} |",
                ns(e.median.point_estimate),
                ns(e.mean.point_estimate),
                ns(e.mean.confidence_interval.lower_bound),
                ns(e.mean.confidence_interval.upper_bound)
            );
        }
    }
    print!("{md}");
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&out)?
        .write_all(md.as_bytes())?;
    Ok(())
}
