//! Usage capture on `/v1`: one event per request, tokens from plain and streamed answers,
//! the usage-only chunk kept from clients that did not ask for it, nothing lost.

use app::server::{
    testing::Arg,
    usage::{Endpoint, Outcome, UsageEvent, UsageRecorder},
};
use axum::http::StatusCode;
use serde_json::json;

use crate::{
    mock_upstream::MockUpstream,
    proxy::{gateway, post},
};

#[tokio::test]
async fn plain_and_streamed_answers_each_yield_one_event_with_their_tokens() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let (s, _) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama", "messages": [] }).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // The client did not ask for usage: Portcullis asks upstream anyway and keeps the chunk.
    let (s, text) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama", "stream": true }).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!text.contains("usage"), "usage chunk hidden: {text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert_eq!(
        up.received().last().unwrap().body["stream_options"]["include_usage"],
        true
    );

    // Asked for, it is passed on.
    let body =
        json!({ "model": "llama", "stream": true, "stream_options": { "include_usage": true } });
    let (_, text) = post(&app, "/v1/chat/completions", &key, body.to_string()).await;
    assert!(text.contains(r#""prompt_tokens":5"#), "{text}");

    app.services.shutdown().await;
    let count = |sql: &'static str| app.db.scalar(sql, &[]);
    assert_eq!(count("select count(*) from usage_event").await, 3);
    assert_eq!(count("select count(*) from usage_event where streamed and outcome = 0 and prompt_tokens = 5 and completion_tokens = 2").await, 2);
    assert_eq!(count("select count(*) from usage_event where not streamed and prompt_tokens = 3 and completion_tokens = 4 and status = 200").await, 1);
    assert_eq!(count("select count(*) from usage_event where api_key_id is null or target_id is null or model <> 'llama'").await, 0);
    for rollup in [
        "select sum(requests) from usage_hourly",
        "select sum(requests) from usage_daily",
    ] {
        assert_eq!(app.db.scalar(rollup, &[]).await, 3);
    }
    assert_eq!(
        count("select sum(prompt_tokens) from usage_daily").await,
        count("select sum(prompt_tokens) from usage_event").await
    );
    assert_eq!(
        count("select sum(completion_tokens) from usage_hourly").await,
        8
    );
    let endpoint = app
        .db
        .scalar(
            "select count(*) from usage_event where endpoint = $1",
            &[Arg::Int(Endpoint::ChatCompletions as i64)],
        )
        .await;
    assert_eq!(endpoint, 3);
}

#[tokio::test]
async fn a_burst_of_concurrent_requests_loses_no_event() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let calls = (0..64).map(|i| {
        let stream = i % 2 == 0;
        post(
            &app,
            "/v1/chat/completions",
            &key,
            json!({ "model": "llama", "stream": stream }).to_string(),
        )
    });
    for (status, _) in futures_util::future::join_all(calls).await {
        assert_eq!(status, StatusCode::OK);
    }
    app.services.shutdown().await;
    assert_eq!(
        app.db.scalar("select count(*) from usage_event", &[]).await,
        64
    );
    assert_eq!(
        app.db
            .scalar("select sum(requests) from usage_hourly", &[])
            .await,
        64
    );
}

#[tokio::test]
async fn failures_are_recorded_too() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    up.set(crate::mock_upstream::Behaviour::Fail(500));
    let (s, _) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama" }).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    app.services.shutdown().await;
    let failed = app
        .db
        .scalar(
            "select count(*) from usage_event where status = 500 and outcome = $1",
            &[Arg::Int(Outcome::UpstreamError as i64)],
        )
        .await;
    assert_eq!(failed, 1);
    assert_eq!(
        app.db
            .scalar("select sum(errors) from usage_daily", &[])
            .await,
        1
    );
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let (recorder, _rx): (UsageRecorder, _) = UsageRecorder::detached(4);
    let ev = UsageEvent {
        created_ms: 0,
        user_id: "u".into(),
        api_key_id: None,
        model: "m".into(),
        target_id: None,
        endpoint: Endpoint::Embeddings,
        status: 200,
        outcome: Outcome::Completed,
        streamed: false,
        prompt_tokens: 0,
        completion_tokens: 0,
        total_ms: 1,
        ttfb_ms: None,
        cost_micros: 0,
        estimated: false,
        units: 0,
    };
    for _ in 0..7 {
        recorder.record(ev.clone());
    }
    assert_eq!((recorder.queued(), recorder.dropped()), (4, 3));
}

#[tokio::test]
async fn a_client_that_hangs_up_cancels_the_upstream_and_is_charged_for_what_it_used() {
    use axum::{body::Body, http::Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let up = MockUpstream::start("alpha").await;
    up.set(crate::mock_upstream::Behaviour::Slow);
    let (app, key) = gateway(&[&up]).await;
    let mut req = Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {key}"))
        .body(Body::from(
            json!({ "model": "llama", "stream": true }).to_string(),
        ))
        .unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(
        "127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap(),
    ));
    let res = app.router.clone().oneshot(req).await.unwrap();
    let mut body = res.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(
        String::from_utf8_lossy(&first).starts_with("data: "),
        "chunks flow before the end"
    );
    drop(body);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while !up.hung_up() {
        assert!(
            std::time::Instant::now() < deadline,
            "the upstream never saw the client leave"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.services.shutdown().await;
    // Charged what it used, not nothing: the prompt (estimated) and the one chunk it got.
    let cancelled = app
        .db
        .scalar(
            "select count(*) from usage_event where outcome = $1 and streamed and estimated \
             and prompt_tokens > 0 and completion_tokens = 1",
            &[Arg::Int(Outcome::ClientCancelled as i64)],
        )
        .await;
    assert_eq!(cancelled, 1);
}

#[tokio::test]
async fn an_upstream_that_breaks_mid_stream_ends_with_an_error_event() {
    let up = MockUpstream::start("alpha").await;
    up.set(crate::mock_upstream::Behaviour::Cut);
    let (app, key) = gateway(&[&up]).await;
    let (status, text) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama", "stream": true }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "headers were already sent");
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 2, "{text}");
    let error: serde_json::Value =
        serde_json::from_str(events[1].strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(error["error"]["code"], "upstream_stream_error", "{text}");
    app.services.shutdown().await;
    let failed = app
        .db
        .scalar(
            "select count(*) from usage_event where outcome = $1",
            &[Arg::Int(Outcome::UpstreamError as i64)],
        )
        .await;
    assert_eq!(failed, 1);
}
