//! Once its caches are warm, a `/v1` request never waits on the database: keys, permissions,
//! routes and leased limit allowance are all in memory, and usage is written behind it.
//! Counted, not assumed: every connection a request takes from the pool is counted.

use std::time::Duration;

use app::server::{Backend, GatewaySettings, testing::count_db_uses};
use axum::http::StatusCode;
use serde_json::json;

use crate::{
    common::TestApp,
    limits::limited,
    mock_upstream::MockUpstream,
    on_both_backends,
    proxy::{gateway_in, post},
};

/// Every `/v1` call a program makes, each sent `rounds` times; returns the connections taken.
async fn calls(app: &TestApp, key: &str, rounds: usize) -> usize {
    let (_, uses) = count_db_uses(async {
        for _ in 0..rounds {
            for (path, body) in [
                (
                    "/v1/chat/completions",
                    json!({ "model": "llama", "max_tokens": 4 }),
                ),
                (
                    "/v1/chat/completions",
                    json!({ "model": "llama", "max_tokens": 4, "stream": true }),
                ),
                (
                    "/v1/completions",
                    json!({ "model": "llama", "max_tokens": 4, "prompt": "hi" }),
                ),
                ("/v1/embeddings", json!({ "model": "llama", "input": "hi" })),
            ] {
                let (status, text) = post(app, path, key, body.to_string()).await;
                assert_eq!(status, StatusCode::OK, "{path}: {text}");
            }
            let models = app.v1_get("/v1/models", key, "127.0.0.1:40000").await;
            assert_eq!(models.status, StatusCode::OK);
        }
    })
    .await;
    uses
}

async fn warm_requests_take_no_database_connection(backend: Backend) {
    let up = MockUpstream::start("up").await;
    let (app, key) = gateway_in(TestApp::new(backend).await, &[&up], Duration::from_secs(5)).await;
    calls(&app, &key, 1).await;
    assert_eq!(calls(&app, &key, 10).await, 0);

    // The counter does see what does use the database: a management call.
    let (_, admin) = app.admin().await;
    let (_, uses) = count_db_uses(app.call("/api/users/list", json!({}), Some(&admin))).await;
    assert!(
        uses > 0,
        "a management call took no connection: the count is broken"
    );
    app.services.shutdown().await;
    app.db.drop_db().await;
}

async fn limited_keys_spend_leased_allowance_from_memory(backend: Backend) {
    let up = MockUpstream::start("up").await;
    // Leases come in twentieths of a limit: 500 requests and 50,000 tokens at a time.
    let limits = json!({ "requests_per_minute": 10_000, "tokens_per_minute": 1_000_000 });
    let (app, key, _) = limited(backend, &up, limits, GatewaySettings::default()).await;
    // The first request leases on its own path: the count sees the ledger.
    assert!(
        calls(&app, &key, 1).await > 0,
        "the first lease took no connection"
    );
    assert_eq!(calls(&app, &key, 10).await, 0);
    app.services.shutdown().await;
    app.db.drop_db().await;
}

on_both_backends!(
    warm_requests_take_no_database_connection,
    limited_keys_spend_leased_allowance_from_memory
);
