//! The plain loads (chat completions, embeddings) are driven by `oha`, a well-known HTTP load
//! generator from crates.io, and read from its JSON report.

use std::{collections::BTreeMap, path::Path, time::Duration};

use anyhow::{Context, bail};
use serde::Deserialize;
use tokio::process::Command;

use crate::stream_load::Target;

/// What a plain run measured; latencies in microseconds.
#[derive(Debug, Clone)]
pub struct PlainRun {
    pub requests_per_second: f64,
    pub p50: f64,
    pub p99: f64,
    pub failed: u64,
}

#[derive(Deserialize)]
struct Report {
    summary: Summary,
    #[serde(rename = "latencyPercentiles")]
    latency_percentiles: BTreeMap<String, Option<f64>>,
    #[serde(rename = "statusCodeDistribution", default)]
    status_codes: BTreeMap<String, u64>,
    #[serde(rename = "errorDistribution", default)]
    errors: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct Summary {
    #[serde(rename = "requestsPerSec")]
    requests_per_sec: f64,
}

pub async fn run(
    oha: &Path,
    target: &Target,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<PlainRun> {
    let mut command = Command::new(oha);
    command
        .args([
            "--no-tui",
            "--output-format",
            "json",
            "--worker-threads",
            "1",
        ])
        .args(["-z", &format!("{}ms", duration.as_millis())])
        .args(["-c", &concurrency.to_string()])
        // Requests still running at the deadline are waited for, not counted as failures.
        .arg("--wait-ongoing-requests-after-deadline")
        .args(["-m", "POST", "-T", "application/json"])
        .arg("-d")
        .arg(std::str::from_utf8(&target.body)?);
    if let Some(key) = &target.bearer {
        command.args(["-H", &format!("authorization: Bearer {key}")]);
    }
    let out = command
        .arg(target.url())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("cannot run {}", oha.display()))?;
    if !out.status.success() {
        bail!("oha failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let report: Report =
        serde_json::from_slice(&out.stdout).context("oha's JSON report is not as expected")?;
    let percentile = |name: &str| -> anyhow::Result<f64> {
        let seconds = report
            .latency_percentiles
            .get(name)
            .copied()
            .flatten()
            .with_context(|| format!("oha reported no {name} (no request succeeded?)"))?;
        Ok(seconds * 1e6)
    };
    let ok = report.status_codes.get("200").copied().unwrap_or(0);
    let failed = report
        .status_codes
        .iter()
        .filter(|(code, _)| code.as_str() != "200")
        .map(|(_, n)| n)
        .sum::<u64>()
        + report.errors.values().sum::<u64>();
    if ok == 0 {
        bail!("no request succeeded ({failed} failed)");
    }
    Ok(PlainRun {
        requests_per_second: report.summary.requests_per_sec,
        p50: percentile("p50")?,
        p99: percentile("p99")?,
        failed,
    })
}
