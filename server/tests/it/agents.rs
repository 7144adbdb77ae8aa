//! Real coding agents (pinned in `tools/agents/package.json`, installed by
//! `scripts/setup.sh --test`) run non-interactively against the real `portcullis serve`, with
//! the mock upstream playing a model that asks for one shell command: the agent must send its
//! first request as it does today, run the tool, send the result back and print the answer.
//! Claude Code speaks the Messages API, Codex CLI the Responses API; each runs on a translated
//! path and on the pass-through one.

use std::path::{Path, PathBuf};

use crate::{
    binary::Server,
    mock_agent::OUTPUT,
    mock_anthropic::MockAnthropic,
    mock_upstream::{Behaviour, MockUpstream},
    openai_sdk::{sdk_gateway, sdk_gateway_with},
};

/// An agent's entry point under `tools/agents/node_modules/.bin`.
fn agent(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tools/agents/node_modules/.bin")
        .join(name);
    assert!(
        path.exists(),
        "no {name} at {}: run scripts/setup.sh --test",
        path.display()
    );
    path
}

/// A scratch home and working directory for one agent run.
fn agent_dirs(dir: &Path) -> (PathBuf, PathBuf) {
    let home = dir.join("agent-home");
    let work = dir.join("agent-work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    (home, work)
}

/// Runs an agent to its end: its answer (stdout), or a panic with what it printed.
async fn run_agent(name: &str, command: &mut tokio::process::Command) -> String {
    let out = command
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), out)
        .await
        .unwrap_or_else(|_| panic!("{name} finished within 2 minutes"))
        .unwrap_or_else(|e| panic!("run {name}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs Claude Code once against `server` on `model`.
async fn claude_code(server: &Server, dir: &Path, key: &str, model: &str) -> String {
    let (home, work) = agent_dirs(dir);
    let mut command = tokio::process::Command::new(agent("claude"));
    command
        .args(["-p", "Run the command you are asked for.", "--model", model])
        .args(["--allowedTools", "Bash"])
        .current_dir(&work)
        .env_clear()
        .env("HOME", &home)
        .env("ANTHROPIC_BASE_URL", format!("http://{}", server.addr))
        .env("ANTHROPIC_API_KEY", key)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1");
    run_agent("Claude Code", &mut command).await
}

/// Runs Codex CLI once against `server` on `model`, configured as the README says.
async fn codex(server: &Server, dir: &Path, key: &str, model: &str) -> String {
    let (home, work) = agent_dirs(dir);
    std::fs::write(
        home.join("config.toml"),
        format!(
            "model = \"{model}\"\nmodel_provider = \"portcullis\"\nweb_search = \"disabled\"\n\n\
             [model_providers.portcullis]\nname = \"Portcullis\"\nbase_url = \"http://{}/v1\"\n\
             env_key = \"PORTCULLIS_API_KEY\"\nwire_api = \"responses\"\n",
            server.addr
        ),
    )
    .unwrap();
    let mut command = tokio::process::Command::new(agent("codex"));
    command
        .args(["exec", "--skip-git-repo-check", "--color", "never"])
        // Its sandbox (bubblewrap) is the machine's business, not the gateway's: what it sends
        // is the same either way.
        .arg("--dangerously-bypass-approvals-and-sandbox")
        .arg("Run the command you are asked for.")
        .current_dir(&work)
        .env_clear()
        .env("HOME", &home)
        .env("CODEX_HOME", &home)
        .env("PORTCULLIS_API_KEY", key);
    run_agent("Codex", &mut command).await
}

#[tokio::test]
async fn claude_code_makes_a_tool_round_trip_through_a_translated_upstream() {
    let up = MockUpstream::start("alpha").await;
    up.set(Behaviour::Agent);
    let claude = MockAnthropic::start("claude").await;
    let (dir, server, key) = sdk_gateway(&up, &claude).await;
    let answer = claude_code(&server, dir.path(), &key, "llama").await;
    server.stop().await;
    assert_eq!(answer.trim(), format!("done: {OUTPUT}"));

    let seen: Vec<_> = up
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .collect();
    assert_eq!(seen.len(), 2, "a tool call, then the answer");
    // The tool result is the command's real output: Claude Code ran it.
    let tool = seen[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .cloned()
        .expect("a tool message");
    assert_eq!(tool["tool_call_id"], "call_agent_1");
    assert!(tool["content"].as_str().unwrap().contains(OUTPUT), "{tool}");
}

#[tokio::test]
async fn claude_code_makes_a_tool_round_trip_through_an_anthropic_upstream() {
    let up = MockUpstream::start("alpha").await;
    let claude = MockAnthropic::start("claude").await;
    claude.agent();
    let (dir, server, key) = sdk_gateway(&up, &claude).await;
    let answer = claude_code(&server, dir.path(), &key, "claude").await;
    server.stop().await;
    assert_eq!(answer.trim(), format!("done: {OUTPUT}"));

    let seen: Vec<_> = claude
        .received()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/messages"))
        .collect();
    assert_eq!(seen.len(), 2, "a tool call, then the answer");
    // Passed through with Claude Code's betas.
    assert!(
        seen[0]
            .header("anthropic-beta")
            .is_some_and(|b| b.contains("claude-code-")),
        "the client's betas are passed on"
    );
    assert_eq!(seen[0].body["model"], "claude-mock");
    let result = seen[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .cloned()
        .unwrap();
    assert!(result.to_string().contains(OUTPUT), "{result}");
}

#[tokio::test]
async fn codex_makes_a_tool_round_trip_through_a_translated_upstream() {
    let up = MockUpstream::start("alpha").await;
    up.set(Behaviour::Agent);
    let claude = MockAnthropic::start("claude").await;
    let (dir, server, key) = sdk_gateway(&up, &claude).await;
    let answer = codex(&server, dir.path(), &key, "llama").await;
    server.stop().await;
    assert!(
        answer.trim_end().ends_with(&format!("done: {OUTPUT}")),
        "{answer}"
    );
    let seen: Vec<_> = up
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .collect();
    assert_eq!(seen.len(), 2, "a tool call, then the answer");
    let tool = seen[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .cloned()
        .expect("a tool message");
    assert_eq!(tool["tool_call_id"], "call_agent_1");
    assert!(tool["content"].as_str().unwrap().contains(OUTPUT), "{tool}");
}

#[tokio::test]
async fn codex_makes_a_tool_round_trip_through_an_anthropic_upstream() {
    let up = MockUpstream::start("alpha").await;
    let claude = MockAnthropic::start("claude").await;
    claude.agent();
    let (dir, server, key) = sdk_gateway(&up, &claude).await;
    let answer = codex(&server, dir.path(), &key, "claude").await;
    server.stop().await;
    assert!(
        answer.trim_end().ends_with(&format!("done: {OUTPUT}")),
        "{answer}"
    );
    let seen: Vec<_> = claude
        .received()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/messages"))
        .collect();
    assert_eq!(seen.len(), 2, "a tool call, then the answer");
    assert!(seen[1].body["messages"].to_string().contains(OUTPUT));
}

#[tokio::test]
async fn codex_makes_a_tool_round_trip_through_an_upstream_that_serves_responses() {
    let up = MockUpstream::start("alpha").await;
    up.set(Behaviour::Agent);
    let claude = MockAnthropic::start("claude").await;
    let (dir, server, key) = sdk_gateway_with(&up, &claude, "openai_responses").await;
    let answer = codex(&server, dir.path(), &key, "llama").await;
    server.stop().await;
    assert!(
        answer.trim_end().ends_with(&format!("done: {OUTPUT}")),
        "{answer}"
    );
    let seen: Vec<_> = up
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/responses")
        .collect();
    assert_eq!(seen.len(), 2, "a tool call, then the answer");
    // Passed through: Codex's own fields reach the upstream, the model renamed.
    assert_eq!(seen[0].body["model"], "upstream-llama");
    assert_eq!(seen[0].body["store"], false);
    assert!(seen[0].body.get("prompt_cache_key").is_some());
    let output = seen[1].body["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .cloned()
        .expect("the tool's output");
    assert!(output.to_string().contains(OUTPUT), "{output}");
}
