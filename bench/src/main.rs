//! `portcullis-bench`: what the gateway costs. It starts a mock upstream and the release
//! gateway in front of it, then drives the same loads straight at the mock and through the
//! gateway, alternating, and prints the difference. `scripts/bench.sh` builds and pins it.

mod gateway;
mod http;
mod key_churn;
mod mock;
mod oha;
mod report;
mod run;
mod stream_load;

use std::{path::PathBuf, time::Duration};

use clap::Parser;

#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    scenario: Option<Scenario>,
    #[command(flatten)]
    load: Args,
}

#[derive(Debug, clap::Subcommand)]
enum Scenario {
    /// The key cache at scale: key changes on two instances sharing PostgreSQL with 100,000 keys
    Keys(key_churn::KeyArgs),
}

/// The load benchmark (no scenario named): the gateway against direct calls to the mock.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One short round (about 1 s a run): a check that everything works, in under a minute
    #[arg(long)]
    pub quick: bool,
    /// How long each run lasts [default: 5s; 1s with --quick]
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// How many times every run is repeated (direct and gateway alternate) [default: 2; 1 with --quick]
    #[arg(long)]
    pub rounds: Option<usize>,
    /// The loads to run: chat, stream, embeddings
    #[arg(long, value_delimiter = ',', default_value = "chat,stream,embeddings")]
    pub workloads: Vec<String>,
    /// Concurrency levels
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub concurrency: Vec<usize>,
    /// The `portcullis` binary [default: the one next to this benchmark]
    #[arg(long)]
    pub gateway: Option<PathBuf>,
    /// The CPU to pin the gateway to (with `taskset`); the benchmark itself should run pinned to another
    #[arg(long)]
    pub gateway_cpu: Option<String>,
    /// The `oha` load generator
    #[arg(long, default_value = "oha")]
    pub oha: PathBuf,
    /// Content chunks in each streamed answer
    #[arg(long, default_value_t = 16)]
    pub chunks: usize,
    /// The mock's pause before each streamed chunk
    #[arg(long, default_value = "1ms", value_parser = humantime::parse_duration)]
    pub chunk_gap: Duration,
    /// Dimensions of the mock's embeddings
    #[arg(long, default_value_t = 1024)]
    pub dims: usize,
    /// Also write the report as JSON here
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Exit with status 3 when a target is missed
    #[arg(long)]
    pub check: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // One thread: the benchmark shares its core with the mock and must not steal the gateway's.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Some(Scenario::Keys(keys)) = &cli.scenario {
        let report = runtime.block_on(key_churn::run(keys))?;
        finish(
            &report.markdown(),
            &report,
            keys.json.as_deref(),
            keys.check && report.targets.iter().any(|t| !t.1),
        )
    } else {
        let args = cli.load;
        let report = runtime.block_on(run::all(&args))?;
        let missed = args.check && report.targets.iter().any(|t| !t.met);
        finish(&report.markdown(), &report, args.json.as_deref(), missed)
    }
}

/// Prints the report, writes it as JSON where asked, and exits 3 when a checked target was missed.
fn finish(
    text: &str,
    report: &impl serde::Serialize,
    json: Option<&std::path::Path>,
    missed: bool,
) -> anyhow::Result<()> {
    #[allow(clippy::print_stdout)] // the report is what this program is for
    {
        println!("{text}");
    }
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_vec_pretty(report)?)?;
    }
    if missed {
        std::process::exit(3);
    }
    Ok(())
}
