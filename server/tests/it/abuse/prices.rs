//! A spending limit holds on every model: one without a price is refused to those who have one.

use app::server::{Backend, GatewaySettings};
use axum::http::StatusCode;
use serde_json::json;

use crate::{
    common::TestApp,
    limits::limited,
    mock_upstream::MockUpstream,
    proxy::{post, post_with_headers},
};

#[tokio::test]
async fn an_unpriced_model_is_refused_to_a_key_with_a_spending_limit() {
    let up = MockUpstream::start("alpha").await;
    let (app, key, _) = limited(
        Backend::Sqlite,
        &up,
        json!({ "cost_per_month_micros": 1_000_000 }),
        GatewaySettings::default(),
    )
    .await;
    let body = json!({ "model": "llama", "messages": [] }).to_string();
    let (status, text) = post(&app, "/v1/chat/completions", &key, body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("model_unpriced"), "{text}");
    assert!(up.received().is_empty(), "nothing was spent upstream");

    let (_, admin) = app.admin().await;
    let models = app.call("/api/models/list", json!({}), Some(&admin)).await;
    let llama = models
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "llama")
        .unwrap()
        .clone();
    let priced = app
        .call(
            "/api/models/set_prices",
            json!({ "model_id": llama["model_id"], "input_price_micros": 1, "output_price_micros": 1 }),
            Some(&admin),
        )
        .await;
    assert_eq!(priced.status, StatusCode::OK, "{}", priced.body);
    let (status, _, text) = post_with_headers(&app, "/v1/chat/completions", &key, body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

#[tokio::test]
async fn a_discovered_model_is_priced_by_an_administrator_and_then_charged() {
    let up = MockUpstream::start("ollama").await;
    up.set_models(&["qwen3:8b"]);
    let app = TestApp::new(Backend::Sqlite).await;
    let (_, admin) = app.admin().await;
    let created = app
        .call(
            "/api/upstreams/create",
            json!({ "name": "ollama", "base_url": up.base_url, "discover_models": true }),
            Some(&admin),
        )
        .await;
    let found = app
        .call(
            "/api/upstreams/discover",
            json!({ "upstream_id": created.str("upstream_id") }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        found.body["discovered_models"],
        json!(["qwen3:8b"]),
        "{}",
        found.body
    );
    let pat = app.signed_in("pat").await;
    app.db
        .exec("update app_user set all_models = true", &[])
        .await
        .unwrap();
    let key = app
        .call("/api/keys/create", json!({ "name": "k" }), Some(&pat))
        .await;
    let (key_id, key) = (
        key.body["key"]["api_key_id"].as_str().unwrap().to_owned(),
        key.str("secret"),
    );
    let budget = app
        .call(
            "/api/limits/set",
            json!({ "holder": "key", "id": key_id, "limits": { "cost_per_month_micros": 1_000_000 } }),
            Some(&pat),
        )
        .await;
    assert_eq!(budget.status, StatusCode::OK, "{}", budget.body);
    let body = json!({ "model": "qwen3:8b", "messages": [] }).to_string();
    let (status, text) = post(&app, "/v1/chat/completions", &key, body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");

    let set = |name: &str| {
        app.call(
            "/api/models/set_discovered_prices",
            json!({ "name": name, "input_price_micros": 1_000_000, "output_price_micros": 1_000_000 }),
            Some(&admin),
        )
    };
    set("no-such-model")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    set("qwen3:8b").await;
    let (status, text) = post(&app, "/v1/chat/completions", &key, body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    app.services.shutdown().await;
    assert!(
        app.db
            .scalar(
                "select cast(sum(cost_micros) as bigint) from usage_event",
                &[]
            )
            .await
            > 0,
        "charged at its prices"
    );
}
