//! Usage that cannot be dodged: a client that hangs up, an answer without usage, a stream cut
//! short are charged what they used, never nothing.

use std::time::Duration;

use app::server::{testing::Arg, usage::Outcome};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::json;
use tower::ServiceExt;

use crate::{
    anthropic::messages,
    common::TestApp,
    mock_upstream::{Behaviour, MockUpstream},
    proxy::{gateway, post},
};

/// The one usage event's outcome, tokens and whether they are estimated.
async fn only_event(app: &TestApp) -> (i64, i64, i64, bool) {
    app.services.shutdown().await;
    assert_eq!(
        app.db.scalar("select count(*) from usage_event", &[]).await,
        1
    );
    let get = |sql: &'static str| app.db.scalar(sql, &[]);
    (
        get("select outcome from usage_event").await,
        get("select prompt_tokens from usage_event").await,
        get("select completion_tokens from usage_event").await,
        get("select count(*) from usage_event where estimated").await == 1,
    )
}

#[tokio::test]
async fn a_client_that_leaves_before_a_plain_answer_is_still_charged_for_it() {
    let up = MockUpstream::start("alpha").await;
    up.set_delay(Duration::from_millis(300));
    let (app, key) = gateway(&[&up]).await;
    let mut req = Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {key}"))
        .body(Body::from(
            json!({ "model": "llama", "max_tokens": 40 }).to_string(),
        ))
        .unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(
        "127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap(),
    ));
    let pending = tokio::spawn(app.router.clone().oneshot(req));
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The client hangs up while the upstream is still working.
    pending.abort();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (outcome, prompt, completion, estimated) = only_event(&app).await;
    assert_eq!(outcome, Outcome::Completed as i64);
    assert_eq!((prompt, completion, estimated), (3, 40, false));
}

#[tokio::test]
async fn an_answer_without_usage_is_charged_as_reserved() {
    let up = MockUpstream::start("alpha").await;
    up.set(Behaviour::NoUsage);
    let (app, key) = gateway(&[&up]).await;
    let body = json!({ "model": "llama", "max_tokens": 50 }).to_string();
    let prompt_estimate = i64::try_from(body.len().div_ceil(4)).unwrap();
    let (s, _) = post(&app, "/v1/chat/completions", &key, body).await;
    assert_eq!(s, StatusCode::OK);
    let (outcome, prompt, completion, estimated) = only_event(&app).await;
    assert_eq!(outcome, Outcome::Completed as i64);
    assert_eq!((prompt, completion, estimated), (prompt_estimate, 50, true));
}

#[tokio::test]
async fn a_stream_without_usage_is_charged_for_what_it_relayed() {
    let up = MockUpstream::start("alpha").await;
    up.set(Behaviour::NoUsage);
    let (app, key) = gateway(&[&up]).await;
    let body = json!({ "model": "llama", "stream": true }).to_string();
    let (s, text) = post(&app, "/v1/chat/completions", &key, body).await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let (outcome, prompt, completion, estimated) = only_event(&app).await;
    assert_eq!(outcome, Outcome::Completed as i64);
    assert!(prompt > 0, "the prompt is estimated: {prompt}");
    // "Hello": one event, five bytes of text.
    assert_eq!((completion, estimated), (2, true));
}

#[tokio::test]
async fn a_stream_closed_before_its_end_marker_is_an_upstream_failure() {
    let up = MockUpstream::start("alpha").await;
    up.set(Behaviour::Truncated);
    let (app, key) = gateway(&[&up]).await;
    let body = json!({ "model": "llama", "stream": true }).to_string();
    let (s, text) = post(&app, "/v1/chat/completions", &key, body).await;
    assert_eq!(s, StatusCode::OK, "headers were already sent");
    assert!(!text.contains("[DONE]"), "{text}");
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    let error: serde_json::Value =
        serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(error["error"]["code"], "upstream_stream_error", "{text}");
    let (outcome, _, completion, estimated) = only_event(&app).await;
    assert_eq!(outcome, Outcome::UpstreamError as i64);
    assert_eq!(
        (completion, estimated),
        (2, true),
        "what reached the client"
    );
}

#[tokio::test]
async fn a_translated_stream_closed_before_its_end_marker_ends_in_anthropics_error() {
    let up = MockUpstream::start("alpha").await;
    up.set(Behaviour::Truncated);
    let (app, key) = gateway(&[&up]).await;
    let body = json!({ "model": "llama", "max_tokens": 20, "stream": true, "messages": [{ "role": "user", "content": "hi" }] });
    let (s, text) = messages(&app, &key, true, body).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!text.contains("message_stop"), "{text}");
    assert!(text.trim_end().ends_with("}"), "{text}");
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    assert!(last.starts_with("event: error\n"), "{text}");
    app.services.shutdown().await;
    let failed = app
        .db
        .scalar(
            "select count(*) from usage_event where outcome = $1 and estimated",
            &[Arg::Int(Outcome::UpstreamError as i64)],
        )
        .await;
    assert_eq!(failed, 1);
}
