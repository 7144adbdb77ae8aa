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
             [[models]]\nname = \"llama\"\ntargets = [{{ upstream = \"local\", model = \"upstream-llama\" }}]\n\
             input_price_micros = 1000000\noutput_price_micros = 2000000\nunit_price_micros = 10\n\n\
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

/// Runs `tests/sdk/<script>` against `server` (at `base_path` under its address) with `key`,
/// and asserts it passed.
async fn run_script(script: &str, server: &Server, base_path: &str, key: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(script);
    let result = tokio::process::Command::new(python())
        .arg(&script)
        .env(
            "PORTCULLIS_BASE_URL",
            format!("http://{}{base_path}", server.addr),
        )
        .env("PORTCULLIS_KEY", key)
        .env("PORTCULLIS_MODEL", "llama")
        .env("PORTCULLIS_CLAUDE_MODEL", "claude")
        .output()
        .await
        .expect("run python");
    assert!(
        result.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// Runs `tests/sdk/<script>` against a fresh gateway (at `base_path` under its address) and
/// asserts it passed and that each upstream only ever saw its own credential (and, with
/// `uses_claude`, that the Anthropic one was used).
pub async fn sdk_check(script: &str, base_path: &str, uses_claude: bool) {
    let up = MockUpstream::start("alpha").await;
    let claude = MockAnthropic::start("claude").await;
    let (_dir, server, key) = sdk_gateway(&up, &claude).await;
    run_script(script, &server, base_path, &key).await;
    server.stop().await;
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

/// The usage the SDK user's requests left, by endpoint, read through the management API as
/// the user sees it: (endpoint, units, cost) of each request, once the writer has stored the
/// one to `last_endpoint` (the script's last).
async fn usage_of_sdk_user(server: &Server, last_endpoint: &str) -> Vec<(String, i64, i64)> {
    let client = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let login: serde_json::Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({ "username": "sdk", "password": "sdk user's long password" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = login["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("sign-in: {login}"));
    // A user made on the console changes the one-time password first.
    let session: serde_json::Value = client
        .post(format!("{base}/api/auth/change_password"))
        .bearer_auth(first)
        .json(&serde_json::json!({ "current_password": "sdk user's long password", "new_password": "the sdk user's own new password" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("password change: {session}"))
        .to_owned();
    let mut last = serde_json::Value::Null;
    for _ in 0..100 {
        let page: serde_json::Value = client
            .post(format!("{base}/api/usage/events"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "limit": 500 }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let events = page["events"].as_array().cloned().unwrap_or_default();
        last = page;
        if events.iter().any(|e| e["endpoint"] == last_endpoint) {
            return events
                .iter()
                .map(|e| {
                    (
                        e["endpoint"].as_str().unwrap_or_default().to_owned(),
                        e["units"].as_i64().unwrap_or_default(),
                        e["cost_micros"].as_i64().unwrap_or_default(),
                    )
                })
                .collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the usage of the SDK's requests was not recorded: {last}");
}

/// Each endpoint's requests in the usage, with their units and costs, after the SDK script.
#[tokio::test]
async fn the_openai_packages_requests_are_recorded_with_their_units_and_costs() {
    let up = MockUpstream::start("alpha").await;
    let claude = MockAnthropic::start("claude").await;
    let (_dir, server, key) = sdk_gateway(&up, &claude).await;
    run_script("openai_check.py", &server, "/v1", &key).await;
    let usage = usage_of_sdk_user(&server, "embeddings").await;
    server.stop().await;
    let of = |endpoint: &str| {
        usage
            .iter()
            .filter(|(e, _, _)| e == endpoint)
            .cloned()
            .collect::<Vec<_>>()
    };
    // 102,400 bytes the mock hears in 2.5 s: 3 seconds at 10 each.
    assert!(
        of("audio/transcriptions").contains(&("audio/transcriptions".into(), 3, 30)),
        "{usage:?}"
    );
    // "Hello": 5 characters at 10 per 1,000, rounded up.
    assert_eq!(of("audio/speech"), vec![("audio/speech".into(), 5, 1)]);
    // Two images, and one edit, at 10 each, and the mock's 5 + 50 tokens at 1 and 2 each.
    let images = of("images/generations");
    assert_eq!(
        images,
        vec![("images/generations".into(), 2, 20 + 5 + 100)],
        "{usage:?}"
    );
    assert_eq!(
        of("images/edits"),
        vec![("images/edits".into(), 1, 10 + 5 + 100)]
    );
    assert!(
        of("moderations")
            .iter()
            .all(|(_, units, cost)| *units == 0 && *cost > 0)
    );
    // Priced where its model is ("llama"); the Claude model here has no prices.
    assert!(
        of("responses").iter().any(|(_, _, cost)| *cost > 0),
        "{usage:?}"
    );
}

#[tokio::test]
async fn the_official_cohere_python_package_reranks_through_the_gateway() {
    sdk_check("cohere_check.py", "", false).await;
}
