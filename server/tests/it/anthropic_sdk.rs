//! The final check of the Messages API: the official `anthropic` Python package (pinned in
//! `tools/requirements-sdk.txt`) against the real `portcullis serve`, translating for an
//! OpenAI-compatible upstream.

use crate::openai_sdk::sdk_check;

/// The package adds `/v1/messages` to the gateway's origin itself.
#[tokio::test]
async fn the_official_anthropic_python_package_works_against_the_gateway() {
    sdk_check("anthropic_check.py", "", true).await;
}
