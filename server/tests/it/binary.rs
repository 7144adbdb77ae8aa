//! Runs the real `portcullis` binary, as an operator would.

use std::{
    path::{Path, PathBuf},
    process::{ExitStatus, Output, Stdio},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    process::{Child, Command},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

pub fn leptos_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../Leptos.toml")
}

/// `portcullis ARGS` in `cwd`, with no `PORTCULLIS_*` settings inherited from the caller.
pub fn command(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(cwd).kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("PORTCULLIS_") && !key.starts_with("PORTCULLIS_TEST_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Runs to completion with `stdin` as standard input.
pub async fn run(cwd: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = command(cwd, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn portcullis");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("portcullis finished in time")
        .expect("portcullis ran")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A running `portcullis serve`.
pub struct Server {
    child: Child,
    pub addr: String,
    stdout: tokio::task::JoinHandle<String>,
}

impl Server {
    /// Starts `portcullis serve` on a free port and waits until it listens.
    pub async fn start(cwd: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let leptos = leptos_config();
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--leptos-config",
            leptos.to_str().expect("UTF-8 path"),
        ];
        args.extend_from_slice(extra);
        let mut cmd = command(cwd, &args);
        cmd.envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn portcullis serve");
        let mut out = child.stdout.take().expect("stdout");
        let stdout = tokio::spawn(async move {
            let mut s = String::new();
            out.read_to_string(&mut s).await.ok();
            s
        });
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut log = String::new();
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("read stderr") {
                log.push_str(&line);
                log.push('\n');
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    return rest.split_whitespace().next().map(str::to_owned);
                }
            }
            None
        })
        .await
        .unwrap_or_else(|_| panic!("server did not listen within 60 s:\n{log}"))
        .unwrap_or_else(|| panic!("server exited before listening:\n{log}"));
        // Keep draining the log so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            addr,
            stdout,
        }
    }

    /// A GET over a fresh connection: status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        self.get_with_key(path, None).await
    }

    /// A GET with `Authorization: Bearer <key>`.
    pub async fn get_with_key(&self, path: &str, key: Option<&str>) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).await.expect("connect");
        let auth = key
            .map(|k| format!("Authorization: Bearer {k}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n",
            self.addr
        );
        stream
            .write_all(req.as_bytes())
            .await
            .expect("send request");
        let mut raw = String::new();
        stream
            .read_to_string(&mut raw)
            .await
            .expect("read response");
        let status = raw
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {raw}"));
        let body = raw
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// A figure of the process's memory from `/proc/<pid>/status`, in KiB: `VmRSS` (now) or
    /// `VmHWM` (the most it ever held).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let pid = self.child.id().expect("server still running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
    }

    /// Sends SIGTERM, as an orchestrator does, and returns the exit status and standard output.
    pub async fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().expect("server still running");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("server stopped within 20 s of SIGTERM")
            .expect("wait for server");
        let stdout = self.stdout.await.expect("stdout task");
        (status, stdout)
    }
}
