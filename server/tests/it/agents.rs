//! Real coding agents (pinned in `tools/agents/package.json`, installed by
//! `scripts/setup.sh --test`) run non-interactively against the real `portcullis serve`, with
//! the mock upstream playing a model that asks for one shell command: the agent must send its
//! first request as it does today, run the tool, send the result back and print the answer.

use std::path::{Path, PathBuf};

use crate::{
    binary::Server,
    mock_agent::OUTPUT,
    mock_anthropic::MockAnthropic,
    mock_upstream::{Behaviour, MockUpstream},
    openai_sdk::sdk_gateway,
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

/// Runs Claude Code once against `server` on `model`: its answer (stdout), or a panic with
/// what it printed.
async fn claude_code(server: &Server, dir: &Path, key: &str, model: &str) -> String {
    let home = dir.join("agent-home");
    let work = dir.join("agent-work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let out = tokio::process::Command::new(agent("claude"))
        .args(["-p", "Run the command you are asked for.", "--model", model])
        .args(["--allowedTools", "Bash"])
        .current_dir(&work)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("ANTHROPIC_BASE_URL", format!("http://{}", server.addr))
        .env("ANTHROPIC_API_KEY", key)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), out)
        .await
        .expect("Claude Code finished within 2 minutes")
        .expect("run Claude Code");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
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
