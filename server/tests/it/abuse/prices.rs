//! A spending limit holds on every model: one without a price is refused to those who have one.

use app::server::{Backend, GatewaySettings};
use axum::http::StatusCode;
use serde_json::json;

use crate::{
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
