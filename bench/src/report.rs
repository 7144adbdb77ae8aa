//! Turning runs into the figures the README quotes: the gateway's added latency (its
//! percentile minus the direct one), its throughput as a share of direct, and whether each
//! target is met.

use serde::Serialize;

/// One load at one concurrency, measured both ways; latencies in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub workload: &'static str,
    pub concurrency: usize,
    pub direct: Figures,
    pub gateway: Figures,
    /// Streams only: (direct, gateway) time to the end, and each chunk's delivery delay.
    pub stream: Option<StreamFigures>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Figures {
    pub requests_per_second: f64,
    /// For streams: the time to first byte.
    pub p50_us: f64,
    pub p99_us: f64,
    pub failed: u64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct StreamFigures {
    pub end_p50_us: (f64, f64),
    pub chunk_delay_p50_us: (f64, f64),
    pub chunk_delay_p99_us: (f64, f64),
}

impl Comparison {
    pub fn added_p50(&self) -> f64 {
        self.gateway.p50_us - self.direct.p50_us
    }

    pub fn added_p99(&self) -> f64 {
        self.gateway.p99_us - self.direct.p99_us
    }

    pub fn throughput_ratio(&self) -> f64 {
        self.gateway.requests_per_second / self.direct.requests_per_second.max(f64::EPSILON)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub seconds_per_run: f64,
    pub rounds: usize,
    pub pinned: bool,
    pub comparisons: Vec<Comparison>,
    pub idle_rss_mib: f64,
    pub idle_rss_after_mib: f64,
    pub peak_rss_mib: f64,
    pub targets: Vec<Verdict>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub what: String,
    pub measured: String,
    pub target: String,
    pub met: bool,
}

/// The nearest-rank percentile of `values` (sorted in place).
pub fn percentile(values: &mut [u64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_unstable();
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1] as f64
}

/// The median of per-round figures, so one disturbed round does not move the result.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

impl Report {
    pub fn judge(&mut self) {
        let mut targets = Vec::new();
        let mut check = |what: String, measured: f64, unit: &str, bound: f64, at_most: bool| {
            let met = if at_most {
                measured <= bound
            } else {
                measured >= bound
            };
            targets.push(Verdict {
                what,
                measured: format!("{measured:.2}{unit}"),
                target: format!("{} {bound}{unit}", if at_most { "≤" } else { "≥" }),
                met,
            });
        };
        for c in &self.comparisons {
            let name = format!("{} c={}", c.workload, c.concurrency);
            match (c.workload, c.concurrency) {
                ("stream", _) => {
                    check(
                        format!("{name}: added time to first byte, p50"),
                        c.added_p50() / 1000.0,
                        " ms",
                        0.5,
                        true,
                    );
                    if let Some(s) = c.stream {
                        check(
                            format!("{name}: added delay per chunk, p50"),
                            (s.chunk_delay_p50_us.1 - s.chunk_delay_p50_us.0) / 1000.0,
                            " ms",
                            0.5,
                            true,
                        );
                    }
                }
                (_, 1) => check(
                    format!("{name}: added latency p99"),
                    c.added_p99() / 1000.0,
                    " ms",
                    0.3,
                    true,
                ),
                (_, 16) => {
                    check(
                        format!("{name}: added latency p50"),
                        c.added_p50() / 1000.0,
                        " ms",
                        0.2,
                        true,
                    );
                    check(
                        format!("{name}: added latency p99"),
                        c.added_p99() / 1000.0,
                        " ms",
                        1.0,
                        true,
                    );
                }
                (_, 64) => check(
                    format!("{name}: throughput / direct"),
                    c.throughput_ratio() * 100.0,
                    " %",
                    70.0,
                    false,
                ),
                _ => {}
            }
        }
        check(
            "resident memory at idle".into(),
            self.idle_rss_mib,
            " MiB",
            30.0,
            true,
        );
        check(
            "resident memory under load (peak)".into(),
            self.peak_rss_mib,
            " MiB",
            80.0,
            true,
        );
        self.targets = targets;
    }

    /// The report as Markdown tables, ready for the README.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let ms = |us: f64| format!("{:.3}", us / 1000.0);
        out.push_str(&format!(
            "{} mode, {} s per run, {} round(s), {}\n\n",
            self.mode,
            self.seconds_per_run,
            self.rounds,
            if self.pinned {
                "gateway pinned to CPU 0, mock and load generator to CPU 1"
            } else {
                "not pinned"
            }
        ));
        out.push_str(
            "| load | conc. | direct req/s | gateway req/s | ratio | direct p50 / p99 ms | gateway p50 / p99 ms | added p50 / p99 ms |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for c in &self.comparisons {
            let label = if c.workload == "stream" {
                "stream (first byte)"
            } else {
                c.workload
            };
            out.push_str(&format!(
                "| {label} | {} | {:.0} | {:.0} | {:.0}% | {} / {} | {} / {} | {} / {} |\n",
                c.concurrency,
                c.direct.requests_per_second,
                c.gateway.requests_per_second,
                c.throughput_ratio() * 100.0,
                ms(c.direct.p50_us),
                ms(c.direct.p99_us),
                ms(c.gateway.p50_us),
                ms(c.gateway.p99_us),
                ms(c.added_p50()),
                ms(c.added_p99()),
            ));
        }
        let streams: Vec<_> = self
            .comparisons
            .iter()
            .filter_map(|c| c.stream.map(|s| (c.concurrency, s)))
            .collect();
        if !streams.is_empty() {
            out.push_str(
                "\n| stream | conc. | to the end p50 ms (direct / gateway) | chunk delay p50 ms | chunk delay p99 ms |\n\
                 |---|---:|---:|---:|---:|\n",
            );
            for (conc, s) in streams {
                out.push_str(&format!(
                    "| chat, streamed | {conc} | {} / {} | {} / {} | {} / {} |\n",
                    ms(s.end_p50_us.0),
                    ms(s.end_p50_us.1),
                    ms(s.chunk_delay_p50_us.0),
                    ms(s.chunk_delay_p50_us.1),
                    ms(s.chunk_delay_p99_us.0),
                    ms(s.chunk_delay_p99_us.1),
                ));
            }
        }
        out.push_str(&format!(
            "\nResident memory: {:.1} MiB at idle after start, {:.1} MiB peak under load, {:.1} MiB idle afterwards.\n\n",
            self.idle_rss_mib, self.peak_rss_mib, self.idle_rss_after_mib
        ));
        out.push_str("| target | measured | bound | |\n|---|---:|---:|---|\n");
        for t in &self.targets {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                t.what,
                t.measured,
                t.target,
                if t.met { "met" } else { "**missed**" }
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut v, 50.0), 50.0);
        assert_eq!(percentile(&mut v, 99.0), 99.0);
        assert_eq!(percentile(&mut v, 100.0), 100.0);
        assert_eq!(percentile(&mut [7], 99.0), 7.0);
        assert!(percentile(&mut [], 50.0).is_nan());
    }

    #[test]
    fn median_of_rounds() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0]), 2.5);
    }
}
