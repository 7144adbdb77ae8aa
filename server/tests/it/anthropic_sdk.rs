//! The final check of the Messages API: the official `anthropic` Python package (pinned in
//! `tools/requirements-sdk.txt`) against the real `portcullis serve`, translating for an
//! OpenAI-compatible upstream.

use std::path::Path;

use crate::{
    mock_upstream::MockUpstream,
    openai_sdk::{python, sdk_gateway},
};

#[tokio::test]
async fn the_official_anthropic_python_package_works_against_the_gateway() {
    let python = python();
    let up = MockUpstream::start("alpha").await;
    let (_dir, server, key) = sdk_gateway(&up).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/anthropic_check.py");
    let result = tokio::process::Command::new(&python)
        .arg(&script)
        .env("PORTCULLIS_BASE_URL", format!("http://{}", server.addr))
        .env("PORTCULLIS_KEY", &key)
        .env("PORTCULLIS_MODEL", "llama")
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
}
