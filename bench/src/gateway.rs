//! The gateway under test: the real `portcullis` binary on a fresh SQLite database in a
//! temporary directory, one upstream (the mock) and two models on it, and an API key for them
//! made with the console commands, as an operator would.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use crate::http;

pub const CHAT_MODEL: &str = "bench-chat";
pub const EMBED_MODEL: &str = "bench-embed";

pub struct Gateway {
    child: Child,
    pub addr: SocketAddr,
    pub key: String,
    _dir: tempfile::TempDir,
}

/// Where the processes run: `taskset -c CPU` in front of each, or nothing on machines with one core.
#[derive(Debug, Clone)]
pub struct Pinning {
    pub gateway: Option<String>,
}

impl Gateway {
    pub async fn start(
        binary: &Path,
        upstream: SocketAddr,
        pinning: &Pinning,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("portcullis.toml");
        std::fs::write(
            &config,
            format!(
                "[[upstreams]]\nname = \"mock\"\nbase_url = \"http://{upstream}/v1\"\n\n\
                 [[models]]\nname = \"{CHAT_MODEL}\"\ntargets = [{{ upstream = \"mock\" }}]\n\n\
                 [[models]]\nname = \"{EMBED_MODEL}\"\ntargets = [{{ upstream = \"mock\" }}]\n"
            ),
        )?;
        let addr = free_port()?;
        let data = dir.path().join("data");
        let command = |pin: Option<&str>| {
            let mut c = match pin {
                Some(cpu) => {
                    let mut c = Command::new("taskset");
                    c.args(["-c", cpu]).arg(binary);
                    c
                }
                None => Command::new(binary),
            };
            c.arg("--config")
                .arg(&config)
                .arg("--data-dir")
                .arg(&data)
                .env("PORTCULLIS_LOG", "warn")
                .stdin(Stdio::null())
                .kill_on_drop(true);
            c
        };
        let mut serve = command(pinning.gateway.as_deref());
        let child = serve
            .args(["serve", "--listen", &addr.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut gateway = Self {
            child,
            addr,
            key: String::new(),
            _dir: dir,
        };
        gateway.wait_ready().await?;
        run(command(None).args([
            "user",
            "create",
            "--username",
            "bench",
            "--role",
            "admin",
            "--no-password-change",
        ]))
        .await?;
        gateway.key = run(command(None).args([
            "key",
            "create",
            "--user",
            "bench",
            "--name",
            "bench",
            "--models",
            &format!("{CHAT_MODEL},{EMBED_MODEL}"),
        ]))
        .await?
        .trim()
        .to_owned();
        gateway.wait_for_key().await?;
        Ok(gateway)
    }

    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the gateway has exited")
    }

    /// Resident memory now, and the most it has had, in bytes.
    pub fn memory(&self) -> anyhow::Result<(u64, u64)> {
        memory(self.pid()?)
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            // SIGTERM: the gateway drains and writes its queued usage, as in production.
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!("the gateway exited with {status}");
                }
            }
            Err(_) => {
                self.child.kill().await?;
                bail!("the gateway did not stop within 10 s of SIGTERM");
            }
        }
        Ok(())
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        wait_ready(&mut self.child, self.addr).await
    }

    /// Keys made by the console reach the running gateway with its next revision poll.
    async fn wait_for_key(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if http::status(self.addr, "/v1/models", Some(&self.key)).await == Some(200) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the gateway did not accept the new API key within 10 s")
    }
}

pub async fn run(command: &mut Command) -> anyhow::Result<String> {
    let out = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "`portcullis` console command failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

pub fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Resident memory of process `pid` now, and the most it has had, in bytes.
pub fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/PID/status"))?;
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .context("malformed /proc/PID/status")?
            .parse()?;
        Ok(kib * 1024)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Waits until a gateway just started answers `/readyz`.
pub async fn wait_ready(child: &mut Child, addr: SocketAddr) -> anyhow::Result<()> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Some(status) = child.try_wait()? {
            bail!("the gateway exited at start with {status}");
        }
        if http::status(addr, "/readyz", None).await == Some(200) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the gateway was not ready within 60 s")
}

/// The release binary next to this one (`cargo build --release` puts both in one directory).
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("portcullis")))
        .unwrap_or_else(|| PathBuf::from("target/release/portcullis"))
}
