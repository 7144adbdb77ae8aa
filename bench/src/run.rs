//! The course of a benchmark: mock and gateway up, a short warm-up, then every load at every
//! concurrency straight at the mock and through the gateway, in alternating order round after
//! round so that drift on the machine falls on both alike; memory sampled all along.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, bail};
use bytes::Bytes;

use crate::{
    Args,
    gateway::{self, CHAT_MODEL, EMBED_MODEL, Gateway, Pinning},
    mock::{self, MockOptions},
    oha::{self, PlainRun},
    report::{Comparison, Figures, Report, StreamFigures, median, percentile},
    stream_load::{self, StreamRun, Target},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Workload {
    Chat,
    Stream,
    Embeddings,
}

impl Workload {
    const ALL: [Self; 3] = [Self::Chat, Self::Stream, Self::Embeddings];

    fn chosen(args: &Args) -> anyhow::Result<Vec<Self>> {
        args.workloads
            .iter()
            .map(|name| {
                Self::ALL
                    .into_iter()
                    .find(|w| w.name() == name.trim())
                    .with_context(|| {
                        format!("unknown load `{name}`: use chat, stream or embeddings")
                    })
            })
            .collect()
    }

    fn name(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Stream => "stream",
            Self::Embeddings => "embeddings",
        }
    }

    fn target(self, addr: SocketAddr, bearer: Option<&str>) -> Target {
        // A short conversation of about 1 KiB: the size of a typical chat request.
        let messages = serde_json::json!([
            {"role": "system", "content": "You are a concise assistant for a software team. Answer in plain English, cite the documentation you rely on, and say so when you are not sure."},
            {"role": "user", "content": "Our gateway sits in front of three vLLM servers and one hosted API. What should we watch to know that it is healthy?"},
            {"role": "assistant", "content": "Watch the error rate by upstream, the time to first token of streamed answers, the queue depth of each inference server, and the share of requests refused by rate limits. Alert on sustained changes, not single spikes."},
            {"role": "user", "content": "And which of those tells us first that one server is overloaded?"},
        ]);
        let (path, body) = match self {
            Self::Chat => (
                "/v1/chat/completions",
                serde_json::json!({"model": CHAT_MODEL, "messages": messages, "max_tokens": 64, "temperature": 0.7}),
            ),
            Self::Stream => (
                "/v1/chat/completions",
                serde_json::json!({"model": CHAT_MODEL, "messages": messages, "max_tokens": 64, "temperature": 0.7,
                    "stream": true, "stream_options": {"include_usage": true}}),
            ),
            Self::Embeddings => (
                "/v1/embeddings",
                serde_json::json!({"model": EMBED_MODEL, "input": "The quick brown fox jumps over the lazy dog."}),
            ),
        };
        Target {
            addr,
            path: path.to_owned(),
            bearer: bearer.map(str::to_owned),
            body: Bytes::from(body.to_string()),
        }
    }
}

enum Measured {
    Plain(PlainRun),
    Stream(StreamRun),
}

async fn measure(
    args: &Args,
    workload: Workload,
    target: &Target,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Measured> {
    Ok(match workload {
        Workload::Stream => Measured::Stream(
            stream_load::run(Arc::new(target.clone()), concurrency, duration).await?,
        ),
        _ => Measured::Plain(oha::run(&args.oha, target, concurrency, duration).await?),
    })
}

pub async fn all(args: &Args) -> anyhow::Result<Report> {
    let duration = args
        .duration
        .unwrap_or(Duration::from_secs(if args.quick { 1 } else { 5 }));
    let rounds = args.rounds.unwrap_or(if args.quick { 1 } else { 2 }).max(1);
    let mock_addr = start_mock(MockOptions {
        chunks: args.chunks,
        gap: args.chunk_gap,
        dims: args.dims,
    })?;
    let binary = args.gateway.clone().unwrap_or_else(gateway::default_binary);
    let pinning = Pinning {
        gateway: args.gateway_cpu.clone(),
    };
    let gw = Gateway::start(&binary, mock_addr, &pinning).await?;
    let result = course(args, &gw, mock_addr, duration, rounds).await;
    let stopped = gw.stop().await;
    let mut report = result?;
    stopped?;
    report.mode = if args.quick { "quick" } else { "full" };
    report.pinned = pinning.gateway.is_some();
    report.judge();
    Ok(report)
}

async fn course(
    args: &Args,
    gw: &Gateway,
    mock_addr: SocketAddr,
    duration: Duration,
    rounds: usize,
) -> anyhow::Result<Report> {
    const MIB: f64 = 1024.0 * 1024.0;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = gw.memory()?.0;

    let targets = |w: Workload| (w.target(mock_addr, None), w.target(gw.addr, Some(&gw.key)));
    let warm_up = Duration::from_millis(if args.quick { 300 } else { 1000 });
    let workloads = Workload::chosen(args)?;
    for &w in &workloads {
        let (direct, through) = targets(w);
        measure(args, w, &direct, 16, warm_up).await?;
        measure(args, w, &through, 16, warm_up).await?;
    }

    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = tokio::spawn(sample_memory(gw.pid()?, sampling.clone(), peak.clone()));

    let mut runs: BTreeMap<(Workload, usize), (Vec<Measured>, Vec<Measured>)> = BTreeMap::new();
    for round in 0..rounds {
        for (wi, &w) in workloads.iter().enumerate() {
            let (direct, through) = targets(w);
            for (ci, &c) in args.concurrency.iter().enumerate() {
                let gateway_first = (round + wi + ci) % 2 == 1;
                let entry = runs.entry((w, c)).or_default();
                for is_gateway in [gateway_first, !gateway_first] {
                    let target = if is_gateway { &through } else { &direct };
                    let m = measure(args, w, target, c, duration)
                        .await
                        .with_context(|| {
                            format!(
                                "{} at concurrency {c} {}",
                                w.name(),
                                if is_gateway {
                                    "through the gateway"
                                } else {
                                    "direct"
                                }
                            )
                        })?;
                    if is_gateway {
                        entry.1.push(m);
                    } else {
                        entry.0.push(m);
                    }
                }
            }
        }
    }
    sampling.store(false, Ordering::Relaxed);
    sampler.await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (idle_after, high_water) = gw.memory()?;
    let peak = peak.load(Ordering::Relaxed).max(high_water);

    let mut comparisons = Vec::new();
    for ((w, c), (direct, through)) in runs {
        comparisons.push(compare(w, c, direct, through)?);
    }
    Ok(Report {
        mode: "",
        seconds_per_run: duration.as_secs_f64(),
        rounds,
        pinned: false,
        comparisons,
        idle_rss_mib: idle as f64 / MIB,
        idle_rss_after_mib: idle_after as f64 / MIB,
        peak_rss_mib: peak as f64 / MIB,
        targets: Vec::new(),
    })
}

fn compare(
    w: Workload,
    concurrency: usize,
    direct: Vec<Measured>,
    through: Vec<Measured>,
) -> anyhow::Result<Comparison> {
    let (direct, d_stream) = combine(direct)?;
    let (gateway, g_stream) = combine(through)?;
    let stream = match (d_stream, g_stream) {
        (Some(mut d), Some(mut g)) => Some(StreamFigures {
            end_p50_us: (percentile(&mut d.end, 50.0), percentile(&mut g.end, 50.0)),
            chunk_delay_p50_us: (
                percentile(&mut d.chunk_delay, 50.0),
                percentile(&mut g.chunk_delay, 50.0),
            ),
            chunk_delay_p99_us: (
                percentile(&mut d.chunk_delay, 99.0),
                percentile(&mut g.chunk_delay, 99.0),
            ),
        }),
        _ => None,
    };
    if gateway.failed > 0 || direct.failed > 0 {
        bail!(
            "{} at concurrency {concurrency}: {} requests failed direct and {} through the gateway",
            w.name(),
            direct.failed,
            gateway.failed
        );
    }
    Ok(Comparison {
        workload: w.name(),
        concurrency,
        direct,
        gateway,
        stream,
    })
}

/// Per-round figures of plain runs become their medians; streamed runs pool their samples.
fn combine(runs: Vec<Measured>) -> anyhow::Result<(Figures, Option<StreamRun>)> {
    let mut plain = Vec::new();
    let mut pooled: Option<StreamRun> = None;
    let mut stream_rates = Vec::new();
    for m in runs {
        match m {
            Measured::Plain(p) => plain.push(p),
            Measured::Stream(s) => {
                stream_rates.push(s.requests_per_second());
                let all = pooled.get_or_insert_with(StreamRun::default);
                all.first_byte.extend(s.first_byte);
                all.end.extend(s.end);
                all.chunk_delay.extend(s.chunk_delay);
                all.errors += s.errors;
            }
        }
    }
    if let Some(mut s) = pooled {
        if s.first_byte.is_empty() {
            bail!("no streamed request completed");
        }
        let figures = Figures {
            requests_per_second: median(stream_rates),
            p50_us: percentile(&mut s.first_byte, 50.0),
            p99_us: percentile(&mut s.first_byte, 99.0),
            failed: s.errors,
        };
        return Ok((figures, Some(s)));
    }
    Ok((
        Figures {
            requests_per_second: median(plain.iter().map(|p| p.requests_per_second).collect()),
            p50_us: median(plain.iter().map(|p| p.p50).collect()),
            p99_us: median(plain.iter().map(|p| p.p99).collect()),
            failed: plain.iter().map(|p| p.failed).sum(),
        },
        None,
    ))
}

async fn sample_memory(pid: u32, running: Arc<AtomicBool>, peak: Arc<AtomicU64>) {
    let path = format!("/proc/{pid}/statm");
    while running.load(Ordering::Relaxed) {
        // statm's second field: resident pages.
        if let Ok(statm) = std::fs::read_to_string(&path)
            && let Some(pages) = statm
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        {
            peak.fetch_max(pages * 4096, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The mock on a runtime and thread of its own, for as long as the benchmark runs.
fn start_mock(options: MockOptions) -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("mock-upstream".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                mock::serve(listener, options).await
            })
        })?;
    Ok(addr)
}
