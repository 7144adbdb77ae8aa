//! The key cache at scale: two gateway instances on one PostgreSQL database holding a hundred
//! thousand keys (imported from a Xinference file, as an operator moving over would), then key
//! changes made through the management API of the first, one after another. For each change it
//! times the answer, how long until the new key works on the instance that made it and on the
//! other one, and it follows both instances' resident memory.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::json;
use tokio::process::{Child, Command};

use crate::{gateway, http, report::percentile};

#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// Keys in the database before the changes
    #[arg(long, default_value_t = 100_000)]
    pub keys: usize,
    /// Key changes to make, one after another
    #[arg(long, default_value_t = 100)]
    pub changes: usize,
    /// The PostgreSQL database both instances share; it is written to, so use a throw-away one
    /// (`scripts/bench.sh keys` starts one)
    #[arg(long, env = "PORTCULLIS_TEST_POSTGRES_URL")]
    pub database_url: String,
    /// The `portcullis` binary [default: the one next to this benchmark]
    #[arg(long)]
    pub gateway: Option<PathBuf>,
    /// Also write the report as JSON here
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Exit with status 3 when a target is missed
    #[arg(long)]
    pub check: bool,
}

const MIB: f64 = 1024.0 * 1024.0;
/// Keys imported at once to make every instance load everything again (more than one catch-up).
const BATCH: usize = 1500;
const FULL_LOADS: usize = 5;
const ADMIN: &str = "churn";
const PASSWORD: &str = "a long benchmark password";

#[derive(Debug, Serialize)]
pub struct KeyReport {
    pub keys: usize,
    pub changes: usize,
    pub import_seconds: f64,
    pub first_start_seconds: f64,
    /// Milliseconds: p50, p99, max.
    pub create_ms: [f64; 3],
    pub visible_here_ms: [f64; 3],
    pub visible_elsewhere_ms: [f64; 3],
    /// MiB of instance A (which made the changes) and B.
    pub rss_idle_mib: [f64; 2],
    pub rss_after_first_mib: [f64; 2],
    pub rss_after_last_mib: [f64; 2],
    pub rss_peak_mib: [f64; 2],
    /// After each of [`FULL_LOADS`] imports of [`BATCH`] keys, more changes than one catch-up
    /// applies, so that each instance loads every key again.
    pub rss_after_full_loads_mib: Vec<[f64; 2]>,
    pub targets: Vec<(String, bool)>,
}

struct Instance {
    child: Child,
    addr: SocketAddr,
}

impl Instance {
    fn rss(&self) -> anyhow::Result<(f64, f64)> {
        let (now, peak) = gateway::memory(self.child.id().context("the gateway has exited")?)?;
        Ok((now as f64 / MIB, peak as f64 / MIB))
    }
}

pub async fn run(args: &KeyArgs) -> anyhow::Result<KeyReport> {
    let binary = args.gateway.clone().unwrap_or_else(gateway::default_binary);
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("portcullis.toml");
    std::fs::write(&config, "")?;
    let data = dir.path().join("data");
    // Instances sharing PostgreSQL must share secrets, which they never generate: fresh ones.
    let secret = |len: usize| {
        use base64::Engine;
        let mut bytes = vec![0u8; len];
        rand::fill(&mut bytes[..]);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let (jwt, keyring) = (secret(48), format!("k1:{}", secret(32)));
    let command = || {
        let mut c = Command::new(&binary);
        c.arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .arg("--database-url")
            .arg(&args.database_url)
            .env("PORTCULLIS_JWT_SECRET", &jwt)
            .env("PORTCULLIS_ENCRYPTION_KEYS", &keyring)
            .env("PORTCULLIS_LOG", "warn")
            .kill_on_drop(true);
        c
    };

    let file = dir.path().join("xinference.json");
    write_import(&file, "fleet", args.keys)?;
    let started = Instant::now();
    gateway::run(command().arg("import-auth").arg(&file).stdin(Stdio::null())).await?;
    let import_seconds = started.elapsed().as_secs_f64();
    let mut create = command();
    create
        .args(["user", "create", "--username", ADMIN, "--role", "admin"])
        .arg("--no-password-change")
        .stdin(Stdio::piped());
    create_with_password(&mut create).await?;

    let serve = |addr: SocketAddr| -> anyhow::Result<Child> {
        let cap = (args.changes + 1).to_string();
        Ok(command()
            .args([
                "serve",
                "--listen",
                &addr.to_string(),
                "--max-keys-per-user",
                &cap,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()?)
    };
    let started = Instant::now();
    let a_addr = gateway::free_port()?;
    let mut a = Instance {
        child: serve(a_addr)?,
        addr: a_addr,
    };
    gateway::wait_ready(&mut a.child, a.addr).await?;
    let first_start_seconds = started.elapsed().as_secs_f64();
    let b_addr = gateway::free_port()?;
    let mut b = Instance {
        child: serve(b_addr)?,
        addr: b_addr,
    };
    gateway::wait_ready(&mut b.child, b.addr).await?;

    let mut result = churn(args, &a, &b, import_seconds, first_start_seconds).await;
    if let Ok(report) = &mut result {
        let import = |user: &str| -> anyhow::Result<Command> {
            let file = dir.path().join(format!("{user}.json"));
            write_import(&file, user, BATCH)?;
            let mut c = command();
            c.arg("import-auth").arg(file).stdin(Stdio::null());
            Ok(c)
        };
        match full_loads(&a, &b, import).await {
            Ok(rss) => {
                report.rss_after_full_loads_mib = rss;
                report.judge();
            }
            Err(e) => result = Err(e),
        }
    }
    for mut i in [a, b] {
        let _ = i.child.kill().await;
    }
    result
}

async fn churn(
    args: &KeyArgs,
    a: &Instance,
    b: &Instance,
    import_seconds: f64,
    first_start_seconds: f64,
) -> anyhow::Result<KeyReport> {
    let rss_idle = [a.rss()?.0, b.rss()?.0];
    let (status, login) = http::post_json(
        a.addr,
        "/api/auth/login",
        &json!({ "username": ADMIN, "password": PASSWORD }),
        None,
    )
    .await?;
    if status != 200 {
        bail!("sign-in failed with {status}: {login}");
    }
    let token = login["access_token"]
        .as_str()
        .context("no access token")?
        .to_owned();

    let (mut create_ms, mut here_ms, mut elsewhere_ms) = (vec![], vec![], vec![]);
    let mut rss_after_first = [0.0; 2];
    for i in 0..args.changes {
        let started = Instant::now();
        let (status, created) = http::post_json(
            a.addr,
            "/api/keys/create",
            &json!({ "name": format!("churn {i}") }),
            Some(&token),
        )
        .await?;
        create_ms.push(us(started));
        if status != 200 {
            bail!("keys/create answered {status}: {created}");
        }
        let secret = created["secret"].as_str().context("no secret")?.to_owned();
        here_ms.push(ms_until_accepted(a.addr, &secret, started, Duration::from_secs(5)).await?);
        elsewhere_ms
            .push(ms_until_accepted(b.addr, &secret, started, Duration::from_secs(10)).await?);
        if i == 0 {
            rss_after_first = [a.rss()?.0, b.rss()?.0];
        }
    }
    let (a_now, a_peak) = a.rss()?;
    let (b_now, b_peak) = b.rss()?;
    let stats = |v: &mut Vec<u64>| {
        let ms = |us: f64| us / 1000.0;
        [
            ms(percentile(v, 50.0)),
            ms(percentile(v, 99.0)),
            ms(v.iter().max().copied().unwrap_or(0) as f64),
        ]
    };
    let mut report = KeyReport {
        keys: args.keys,
        changes: args.changes,
        import_seconds,
        first_start_seconds,
        create_ms: stats(&mut create_ms),
        visible_here_ms: stats(&mut here_ms),
        visible_elsewhere_ms: stats(&mut elsewhere_ms),
        rss_idle_mib: rss_idle,
        rss_after_first_mib: rss_after_first,
        rss_after_last_mib: [a_now, b_now],
        rss_peak_mib: [a_peak, b_peak],
        rss_after_full_loads_mib: vec![],
        targets: vec![],
    };
    report.judge();
    Ok(report)
}

impl KeyReport {
    fn judge(&mut self) {
        let growth = |i: usize| self.rss_after_last_mib[i] / self.rss_after_first_mib[i];
        self.targets = vec![
            (
                "keys/create answers within 100 ms (max)".into(),
                self.create_ms[2] <= 100.0,
            ),
            (
                "a new key works on the instance that made it within 50 ms (max)".into(),
                self.visible_here_ms[2] <= 50.0,
            ),
            (
                "and on the other instance within 2 s (max)".into(),
                self.visible_elsewhere_ms[2] <= 2000.0,
            ),
            (
                "resident memory after the last change within 10% of after the first".into(),
                growth(0) <= 1.10 && growth(1) <= 1.10,
            ),
            (
                "resident memory under 150 MiB".into(),
                self.rss_after_last_mib.iter().all(|m| *m < 150.0),
            ),
        ];
        // Two indexes' worth (the live one, and the freed one the next load reuses), no more.
        if let [_, second, .., last] = self.rss_after_full_loads_mib[..] {
            self.targets.push((
                "full loads level off: memory after the last within 10% of after the second".into(),
                (0..2).all(|i| last[i] <= second[i] * 1.10),
            ));
        }
    }

    pub fn markdown(&self) -> String {
        let trio = |v: [f64; 3]| format!("{:.1} / {:.1} / {:.1}", v[0], v[1], v[2]);
        let pair = |v: [f64; 2]| format!("{:.1} / {:.1}", v[0], v[1]);
        let mut out = format!(
            "Key cache: {} keys (imported in {:.1} s; first start {:.1} s), {} keys/create in a row\n\n\
             | what | p50 / p99 / max ms |\n|---|---:|\n\
             | keys/create answered | {} |\n\
             | new key works on the instance that made it | {} |\n\
             | new key works on the other instance | {} |\n\n\
             | resident memory, MiB | A (made the changes) / B |\n|---|---:|\n\
             | idle after start | {} |\n| after the first change | {} |\n\
             | after the last change | {} |\n| peak | {} |\n",
            self.keys,
            self.import_seconds,
            self.first_start_seconds,
            self.changes,
            trio(self.create_ms),
            trio(self.visible_here_ms),
            trio(self.visible_elsewhere_ms),
            pair(self.rss_idle_mib),
            pair(self.rss_after_first_mib),
            pair(self.rss_after_last_mib),
            pair(self.rss_peak_mib),
        );
        for (i, rss) in self.rss_after_full_loads_mib.iter().enumerate() {
            out.push_str(&format!(
                "| after full load {} (an import of {BATCH} keys) | {} |\n",
                i + 1,
                pair(*rss)
            ));
        }
        out.push('\n');
        for (what, met) in &self.targets {
            out.push_str(&format!(
                "- {} {what}\n",
                if *met { "met:" } else { "MISSED:" }
            ));
        }
        out
    }
}

/// Imports [`BATCH`] keys [`FULL_LOADS`] times; each time, once a key of the batch works on both
/// instances (which took a full load), their resident memory.
async fn full_loads(
    a: &Instance,
    b: &Instance,
    import: impl Fn(&str) -> anyhow::Result<Command>,
) -> anyhow::Result<Vec<[f64; 2]>> {
    let mut rss = Vec::new();
    for round in 1..=FULL_LOADS {
        let user = format!("batch{round}");
        gateway::run(&mut import(&user)?).await?;
        let key = imported_key(&user, BATCH - 1);
        let since = Instant::now();
        ms_until_accepted(a.addr, &key, since, Duration::from_secs(10)).await?;
        ms_until_accepted(b.addr, &key, since, Duration::from_secs(10)).await?;
        rss.push([a.rss()?.0, b.rss()?.0]);
    }
    Ok(rss)
}

fn us(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Microseconds from `since` until `addr` accepts `secret` on `/v1/models`.
async fn ms_until_accepted(
    addr: SocketAddr,
    secret: &str,
    since: Instant,
    give_up: Duration,
) -> anyhow::Result<u64> {
    loop {
        if http::status(addr, "/v1/models", Some(secret)).await == Some(200) {
            return Ok(us(since));
        }
        if since.elapsed() > give_up {
            bail!("{addr} did not accept a new key within {give_up:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn imported_key(user: &str, i: usize) -> String {
    format!("sk-{user}-{i:09}")
}

/// A Xinference auth file with one user holding `keys` keys.
fn write_import(path: &Path, user: &str, keys: usize) -> anyhow::Result<()> {
    let api_keys: Vec<String> = (0..keys).map(|i| imported_key(user, i)).collect();
    let file = json!({ "user_config": [{
        "username": user,
        "password": "the fleet's long password",
        "permissions": ["models:list"],
        "api_keys": api_keys,
    }]});
    std::fs::write(path, serde_json::to_vec(&file)?)?;
    Ok(())
}

async fn create_with_password(command: &mut Command) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().context("no stdin")?;
    stdin.write_all(format!("{PASSWORD}\n").as_bytes()).await?;
    drop(stdin);
    let out = child.wait_with_output().await?;
    if !out.status.success() {
        bail!(
            "user create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
