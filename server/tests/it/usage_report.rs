//! Reading usage back through `/api/usage/*`: series and top models from the rollups, single
//! requests, CSV; users see only their own.

use app::server::{
    Backend,
    usage::{Endpoint, Outcome, UsageEvent},
};
use app::types::Role;
use axum::http::StatusCode;
use serde_json::json;

use crate::{common::TestApp, on_both_backends};

on_both_backends!(usage_reads_back_by_user_model_and_time);

fn event(user_id: &str, model: &str, minutes_ago: i64, tokens: (i64, i64)) -> UsageEvent {
    UsageEvent {
        created_ms: chrono::Utc::now().timestamp_millis() - minutes_ago * 60_000,
        user_id: user_id.to_owned(),
        api_key_id: None,
        model: model.to_owned(),
        target_id: None,
        endpoint: Endpoint::ChatCompletions,
        status: 200,
        outcome: Outcome::Completed,
        streamed: false,
        prompt_tokens: tokens.0,
        completion_tokens: tokens.1,
        total_ms: 12,
        ttfb_ms: Some(3),
        cost_micros: 0,
        estimated: false,
        units: 0,
    }
}

async fn usage_reads_back_by_user_model_and_time(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (admin_id, admin) = app.admin().await;
    let pat_id = app
        .user("pat", Role::User, "pat's long password", false)
        .await;
    let (pat, _) = app.login("pat", "pat's long password").await;
    app.services
        .usage
        .record(event(&pat_id, "llama", 5, (10, 5)));
    app.services
        .usage
        .record(event(&pat_id, "llama", 4, (1, 1)));
    app.services
        .usage
        .record(event(&pat_id, "=cmd|evil", 3, (2, 2)));
    app.services
        .usage
        .record(event(&admin_id, "qwen", 2, (100, 100)));
    app.services.shutdown().await;

    let mine = app.call("/api/usage/summary", json!({}), Some(&pat)).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["requests"], 3, "{}", mine.body);
    assert_eq!(mine.body["prompt_tokens"], 13);
    assert_eq!(mine.body["bucket"], "day", "seven days by default, by day");
    assert_eq!(mine.body["top_models"][0]["model"], "llama");
    assert_eq!(mine.body["top_models"][0]["tokens"], 17);

    let everyone = app
        .call("/api/usage/summary", json!({}), Some(&admin))
        .await;
    assert_eq!(everyone.body["requests"], 4);
    let hour = app
        .call(
            "/api/usage/summary",
            json!({ "model": "llama", "since": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339() }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        (hour.body["bucket"].as_str(), hour.body["requests"].as_i64()),
        (Some("hour"), Some(2)),
        "{}",
        hour.body
    );

    // A range that starts inside an hour counts that whole hour, and says where it started:
    // the admin's request two minutes ago is found from one minute before it, whatever the
    // minute of the hour.
    let since = chrono::Utc::now() - chrono::Duration::minutes(3);
    let r = app
        .call(
            "/api/usage/summary",
            json!({ "model": "qwen", "since": since.to_rfc3339() }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.body["requests"], 1, "{}", r.body);
    let started: chrono::DateTime<chrono::Utc> = r.body["since"].as_str().unwrap().parse().unwrap();
    assert!(
        started <= since && started.timestamp() % 3600 == 0,
        "{}",
        r.body
    );

    app.call(
        "/api/usage/summary",
        json!({ "user_id": admin_id }),
        Some(&pat),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.call(
        "/api/usage/events",
        json!({ "since": "2030-01-01T00:00:00Z", "until": "2029-01-01T00:00:00Z" }),
        Some(&pat),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid");

    let page = app
        .call("/api/usage/events", json!({ "limit": 2 }), Some(&pat))
        .await;
    assert_eq!(page.body["total"], 3, "{}", page.body);
    let events = page.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["model"], "=cmd|evil", "newest first");
    assert_eq!(events[0]["username"], "pat");
    assert_eq!(events[0]["outcome"], "completed");
    assert_eq!(events[0]["endpoint"], "chat/completions");

    let csv = app.call("/api/usage/export", json!({}), Some(&pat)).await;
    let csv = csv.body.as_str().unwrap().to_owned();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("time,user,key,model"), "{csv}");
    assert!(
        lines[1].contains(",'=cmd|evil,"),
        "formulas are defused: {csv}"
    );
    assert!(!csv.contains("qwen"), "only pat's own: {csv}");
    app.db.drop_db().await;
}
