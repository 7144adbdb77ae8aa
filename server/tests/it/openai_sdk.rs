//! The final compatibility check: the official `openai` Python package (pinned in
//! `tools/requirements-sdk.txt`, installed by `scripts/setup.sh --test`) against the real
//! `portcullis serve`, with upstreams and models from a configuration file.

use std::path::{Path, PathBuf};

use crate::{
    binary::{Server, run, stderr, stdout},
    mock_anthropic::MockAnthropic,
    mock_upstream::MockUpstream,
};

pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("PORTCULLIS_TEST_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/sdk-venv/bin/python");
    assert!(
        venv.is_file(),
        "no Python with the openai package at {}: run scripts/setup.sh --test \
         (or set PORTCULLIS_TEST_PYTHON)",
        venv.display()
    );
    venv
}

/// `portcullis serve` with `up` as upstream `local` serving `llama`, its upstream model name
/// discovered too, `claude` as an Anthropic upstream serving `claude`, and a key for user
/// `sdk`: (data directory, server, key).
pub async fn sdk_gateway(
    up: &MockUpstream,
    claude: &MockAnthropic,
) -> (tempfile::TempDir, Server, String) {
    sdk_gateway_with(up, claude, "openai").await
}

/// [`sdk_gateway`] with the OpenAI-compatible upstream speaking `api`.
pub async fn sdk_gateway_with(
    up: &MockUpstream,
    claude: &MockAnthropic,
    api: &str,
) -> (tempfile::TempDir, Server, String) {
    let d = tempfile::tempdir().unwrap();
    let config = d.path().join("portcullis.toml");
    std::fs::write(
        &config,
        format!(
            "[[upstreams]]\nname = \"local\"\nbase_url = \"{}\"\napi = \"{api}\"\n\
             credential_env = \"UPSTREAM_KEY\"\ndiscover_models = true\n\n\
             [[upstreams]]\nname = \"anthropic\"\napi = \"anthropic\"\nbase_url = \"{}\"\n\
             credential_env = \"ANTHROPIC_KEY\"\n\n\
             [[models]]\nname = \"llama\"\ntargets = [{{ upstream = \"local\", model = \"upstream-llama\" }}]\n\n\
             [[models]]\nname = \"claude\"\ntargets = [{{ upstream = \"anthropic\", model = \"claude-mock\" }}]\n",
            up.base_url, claude.base_url
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let out = run(
        d.path(),
        &["--config", config, "user", "create", "--username", "sdk"],
        "sdk user's long password\n",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        d.path(),
        &[
            "--config", config, "key", "create", "--user", "sdk", "--name", "sdk",
        ],
        "",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let key = stdout(&out).trim().to_owned();

    let server = Server::start(
        d.path(),
        &["--config", config],
        &[("UPSTREAM_KEY", "sk-up"), ("ANTHROPIC_KEY", "sk-ant-up")],
    )
    .await;
    // Discovery runs at start: the upstream's own name for its model is offered too.
    let started = std::time::Instant::now();
    loop {
        let (_, body) = server.get_with_key("/v1/models", Some(&key)).await;
        if body.contains(r#""upstream-llama""#) {
            break;
        }
        assert!(started.elapsed().as_secs() < 10, "never discovered: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (d, server, key)
}

/// Runs `tests/sdk/<script>` against a fresh gateway (at `base_path` under its address) and
/// asserts it passed and that each upstream only ever saw its own credential (and, with
/// `uses_claude`, that the Anthropic one was used).
pub async fn sdk_check(script: &str, base_path: &str, uses_claude: bool) {
    let python = python();
    let up = MockUpstream::start("alpha").await;
    let claude = MockAnthropic::start("claude").await;
    let (_dir, server, key) = sdk_gateway(&up, &claude).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(script);
    let result = tokio::process::Command::new(&python)
        .arg(&script)
        .env(
            "PORTCULLIS_BASE_URL",
            format!("http://{}{base_path}", server.addr),
        )
        .env("PORTCULLIS_KEY", &key)
        .env("PORTCULLIS_MODEL", "llama")
        .env("PORTCULLIS_CLAUDE_MODEL", "claude")
        .output()
        .await
        .expect("run python");
    server.stop().await;
    assert!(
        result.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(
        up.received()
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer sk-up")),
        "the upstream only ever saw its own credential"
    );
    let seen = claude.received();
    assert!(
        (!seen.is_empty() || !uses_claude)
            && seen
                .iter()
                .all(|r| r.header("x-api-key") == Some("sk-ant-up")
                    && r.header("authorization").is_none()),
        "the Anthropic upstream was used and only ever saw its own credential"
    );
}

#[tokio::test]
async fn the_official_openai_python_package_works_against_the_gateway() {
    sdk_check("openai_check.py", "/v1", true).await;
}

#[tokio::test]
async fn the_official_cohere_python_package_reranks_through_the_gateway() {
    sdk_check("cohere_check.py", "", false).await;
}
