//! Usage limits on `/v1`: reservations that hold under a concurrent burst, on one instance and
//! across two sharing a PostgreSQL database; refunds; the 429 clients understand; fail modes;
//! and who may set limits.

use std::time::Duration;

use app::server::{Backend, GatewaySettings, background, limits::FailMode};
use axum::http::StatusCode;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::{
    common::TestApp,
    mock_upstream::{Behaviour, MockUpstream},
    on_both_backends,
    proxy::{gateway_in, post_with_headers},
};

/// Signs in as `pat` (the key's owner, made by `gateway_in`) and returns the key's id.
pub async fn pat_key_id(app: &TestApp) -> (String, String) {
    let (pat, _) = app.login("pat", "pat's long password").await;
    let keys = app.call("/api/keys/list", json!({}), Some(&pat)).await;
    (pat, keys.body[0]["api_key_id"].as_str().unwrap().to_owned())
}

/// A gateway over `backend` whose key has `limits`, its upstream answering after `delay` so a
/// burst is in flight at once.
pub async fn limited(
    backend: Backend,
    up: &MockUpstream,
    limits: Value,
    settings: GatewaySettings,
) -> (TestApp, String, String) {
    let db = app::server::testing::TestDb::new(backend).await;
    let app = TestApp::with_settings(db, settings).await;
    let (app, key) = gateway_in(app, &[up], Duration::from_secs(5)).await;
    let (pat, key_id) = pat_key_id(&app).await;
    let r = app
        .call(
            "/api/limits/set",
            json!({ "holder": "key", "id": key_id, "limits": limits }),
            Some(&pat),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (app, key, key_id)
}

fn chat(max_tokens: i64) -> String {
    json!({ "model": "llama", "messages": [{ "role": "user", "content": "hi" }], "max_tokens": max_tokens })
        .to_string()
}

/// Fixed windows: a burst must not straddle the start of a minute.
async fn clear_of_minute_boundary() {
    let s = chrono::Utc::now().timestamp_millis().rem_euclid(60_000);
    if s > 50_000 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(61_000 - s).unwrap())).await;
    }
}

async fn burst(
    apps: &[&TestApp],
    key: &str,
    n: usize,
    body: &str,
) -> Vec<(StatusCode, axum::http::HeaderMap, String)> {
    join_all((0..n).map(|i| {
        post_with_headers(
            apps[i % apps.len()],
            "/v1/chat/completions",
            key,
            body.to_owned(),
        )
    }))
    .await
}

fn count(replies: &[(StatusCode, axum::http::HeaderMap, String)], status: StatusCode) -> usize {
    replies.iter().filter(|r| r.0 == status).count()
}

on_both_backends!(
    a_concurrent_burst_never_takes_a_key_past_its_requests_per_minute,
    a_concurrent_burst_never_spends_more_tokens_than_the_limit_allows,
);

async fn a_concurrent_burst_never_takes_a_key_past_its_requests_per_minute(backend: Backend) {
    let up = MockUpstream::start("alpha").await;
    up.set_delay(Duration::from_millis(200));
    let (app, key, _) = limited(
        backend,
        &up,
        json!({ "requests_per_minute": 10 }),
        GatewaySettings::default(),
    )
    .await;
    clear_of_minute_boundary().await;
    let replies = burst(&[&app], &key, 40, &chat(5)).await;
    assert_eq!(count(&replies, StatusCode::OK), 10);
    assert_eq!(count(&replies, StatusCode::TOO_MANY_REQUESTS), 30);
    assert_eq!(
        up.received().len(),
        10,
        "refused requests never reach the upstream"
    );

    let (_, headers, text) = replies
        .iter()
        .find(|r| r.0 == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    let body: Value = serde_json::from_str(text).unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
    assert_eq!(body["error"]["type"], "requests", "{body}");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(headers["x-ratelimit-limit-requests"], "10");
    assert_eq!(headers["x-ratelimit-remaining-requests"], "0");
    let reset = headers["x-ratelimit-reset-requests"].to_str().unwrap();
    assert!(reset.ends_with('s'), "{reset}");
    // Admitted answers tell the client where it stands too.
    let ok = replies.iter().find(|r| r.0 == StatusCode::OK).unwrap();
    assert_eq!(ok.1["x-ratelimit-limit-requests"], "10");
    app.db.drop_db().await;
}

/// Each request reserves its prompt estimate plus `max_tokens` (the mock then uses exactly
/// `max_tokens` and 3 prompt tokens): with 10 in flight at once and room for 2 reservations,
/// exactly 2 get through. Counting usage only after the fact would let all 10 through.
async fn a_concurrent_burst_never_spends_more_tokens_than_the_limit_allows(backend: Backend) {
    let up = MockUpstream::start("alpha").await;
    up.set_delay(Duration::from_millis(300));
    let body = chat(100);
    let estimate = i64::try_from(body.len().div_ceil(4)).unwrap() + 100;
    let limit = 2 * estimate + estimate / 2;
    let (app, key, _) = limited(
        backend,
        &up,
        json!({ "tokens_per_day": limit }),
        GatewaySettings::default(),
    )
    .await;
    let replies = burst(&[&app], &key, 10, &body).await;
    assert_eq!(count(&replies, StatusCode::OK), 2);
    let (_, _, text) = replies
        .iter()
        .find(|r| r.0 == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    let err: Value = serde_json::from_str(text).unwrap();
    assert_eq!(err["error"]["code"], "insufficient_quota", "{err}");

    // The two settled with 103 tokens each: what their estimates held back is free again,
    // enough for a smaller request.
    let (status, _, text) = post_with_headers(&app, "/v1/chat/completions", &key, chat(10)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    app.services.shutdown().await;
    let spent = app
        .db
        .scalar(
            "select cast(coalesce(sum(prompt_tokens + completion_tokens), 0) as bigint) from usage_event",
            &[],
        )
        .await;
    assert_eq!(spent, 2 * 103 + 13, "two in the burst, one after it");
    assert!(spent <= limit, "spent {spent} of {limit}");
    app.db.drop_db().await;
}

#[tokio::test]
async fn two_instances_on_one_postgres_share_a_limit_instead_of_each_taking_it_whole() {
    let up = MockUpstream::start("alpha").await;
    up.set_delay(Duration::from_millis(200));
    let (a, key, _) = limited(
        Backend::Postgres,
        &up,
        json!({ "requests_per_minute": 10 }),
        GatewaySettings::default(),
    )
    .await;
    let b = a.replica(GatewaySettings::default()).await;
    clear_of_minute_boundary().await;
    let replies = burst(&[&a, &b], &key, 30, &chat(5)).await;
    assert_eq!(count(&replies, StatusCode::OK), 10);
    assert_eq!(count(&replies, StatusCode::TOO_MANY_REQUESTS), 20);
    assert_eq!(up.received().len(), 10);
    a.db.drop_db().await;
}

#[tokio::test]
async fn a_failed_request_gives_back_what_it_reserved() {
    let up = MockUpstream::start("alpha").await;
    let body = chat(100);
    let estimate = i64::try_from(body.len().div_ceil(4)).unwrap() + 100;
    let (app, key, _) = limited(
        Backend::Sqlite,
        &up,
        json!({ "tokens_per_day": estimate + estimate / 2 }),
        GatewaySettings::default(),
    )
    .await;
    up.set(Behaviour::Fail(500));
    for _ in 0..3 {
        let (status, _, _) =
            post_with_headers(&app, "/v1/chat/completions", &key, body.clone()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }
    up.set(Behaviour::Answer);
    let (status, _, text) =
        post_with_headers(&app, "/v1/chat/completions", &key, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    // Now 103 are spent, and another full reservation no longer fits.
    let (status, _, _) = post_with_headers(&app, "/v1/chat/completions", &key, body).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_request_larger_than_the_whole_limit_is_refused_without_a_retry_time() {
    let up = MockUpstream::start("alpha").await;
    let (app, key, _) = limited(
        Backend::Sqlite,
        &up,
        json!({ "tokens_per_minute": 500 }),
        GatewaySettings::default(),
    )
    .await;
    let (status, headers, text) =
        post_with_headers(&app, "/v1/chat/completions", &key, chat(1000)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.get("retry-after").is_none());
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["type"], "tokens");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens"),
        "{body}"
    );
    assert!(up.received().is_empty());
}

#[tokio::test]
async fn a_users_limit_covers_all_their_keys_and_only_administrators_set_it() {
    let up = MockUpstream::start("alpha").await;
    let app = TestApp::new(Backend::Sqlite).await;
    let (app, key) = gateway_in(app, &[&up], Duration::from_secs(5)).await;
    let (_, admin) = app.admin().await;
    let (pat, key_id) = pat_key_id(&app).await;
    let me = app.call("/api/auth/me", json!({}), Some(&pat)).await;
    let pat_id = me.body["user"]["user_id"].as_str().unwrap().to_owned();
    let set_user =
        json!({ "holder": "user", "id": pat_id, "limits": { "requests_per_minute": 2 } });

    app.call("/api/limits/set", set_user.clone(), Some(&pat))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let bad = json!({ "holder": "user", "id": pat_id, "limits": { "tokens_per_day": -5 } });
    let r = app.call("/api/limits/set", bad, Some(&admin)).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid");
    assert_eq!(r.body["subject"], "tokens_per_day", "{}", r.body);
    let r = app.call("/api/limits/set", set_user, Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["limits"]["requests_per_minute"], 2);

    // Pat sees their own limits and their key's, and nobody else's.
    let mine = app
        .call(
            "/api/limits/get",
            json!({ "holder": "user", "id": pat_id }),
            Some(&pat),
        )
        .await;
    assert_eq!(
        mine.body["limits"]["requests_per_minute"], 2,
        "{}",
        mine.body
    );
    let admin_me = app.call("/api/auth/me", json!({}), Some(&admin)).await;
    let admin_id = admin_me.body["user"]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        "/api/limits/get",
        json!({ "holder": "user", "id": admin_id }),
        Some(&pat),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    let r = app
        .call(
            "/api/limits/get",
            json!({ "holder": "key", "id": key_id }),
            Some(&pat),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    clear_of_minute_boundary().await;
    let second = app
        .call(
            "/api/keys/create",
            json!({ "name": "second", "models": ["llama"] }),
            Some(&pat),
        )
        .await
        .str("secret");
    let statuses = [
        post_with_headers(&app, "/v1/chat/completions", &key, chat(5)).await,
        post_with_headers(&app, "/v1/chat/completions", &second, chat(5)).await,
        post_with_headers(&app, "/v1/chat/completions", &second, chat(5)).await,
    ];
    assert_eq!(
        statuses.iter().map(|r| r.0).collect::<Vec<_>>(),
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert!(statuses[2].2.contains("on this user"), "{}", statuses[2].2);

    let audit = app
        .call(
            "/api/audit/list",
            json!({ "action": "user.set_limits" }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        audit.body["entries"].as_array().map(Vec::len),
        Some(1),
        "{}",
        audit.body
    );
}

#[tokio::test]
async fn when_the_database_is_down_limits_fail_closed_unless_told_to_fail_open() {
    let up = MockUpstream::start("alpha").await;
    for (mode, want) in [
        (FailMode::Closed, StatusCode::SERVICE_UNAVAILABLE),
        (FailMode::Open, StatusCode::OK),
    ] {
        let mut settings = GatewaySettings::default();
        settings.limits.on_database_error = mode;
        let (app, key, _) = limited(
            Backend::Sqlite,
            &up,
            json!({ "requests_per_minute": 100 }),
            settings,
        )
        .await;
        app.db.db.close().await;
        let (status, _, text) =
            post_with_headers(&app, "/v1/chat/completions", &key, chat(5)).await;
        assert_eq!(status, want, "{mode:?}: {text}");
        if mode == FailMode::Closed {
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["error"]["code"], "limits_unavailable");
        }
    }
}

#[tokio::test]
async fn an_idle_instance_gives_its_unspent_allowance_back_for_others() {
    let up = MockUpstream::start("alpha").await;
    let settings = GatewaySettings {
        default_max_tokens: 3000,
        ..GatewaySettings::default()
    };
    let (a, key, _) = limited(
        Backend::Postgres,
        &up,
        json!({ "tokens_per_day": 4000 }),
        settings,
    )
    .await;
    let b = a.replica(GatewaySettings::default()).await;
    // Without the give-back, B would be refused: A still holds about 3000.
    let follower = background::spawn(
        &a.services,
        Duration::from_millis(100),
        Duration::from_secs(3600),
    );
    // A leases more than it spends (the default estimate for an answer without max_tokens).
    let small = json!({ "model": "llama", "messages": [] }).to_string();
    let (status, _, _) = post_with_headers(&a, "/v1/chat/completions", &key, small).await;
    assert_eq!(status, StatusCode::OK);
    // Once A has been idle for a tick, B may use what A did not.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _, text) = post_with_headers(&b, "/v1/chat/completions", &key, chat(3900)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    follower.stop(&a.services).await;
    a.db.drop_db().await;
}

#[tokio::test]
async fn a_monthly_budget_is_charged_at_the_models_prices() {
    let up = MockUpstream::start("alpha").await;
    let (app, key, _) = limited(
        Backend::Sqlite,
        &up,
        json!({ "cost_per_month_micros": 500 }),
        GatewaySettings::default(),
    )
    .await;
    let (_, admin) = app.admin().await;
    let models = app.call("/api/models/list", json!({}), Some(&admin)).await;
    let llama = models
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "llama")
        .unwrap();
    // 1 micro-unit per prompt token, 2 per completion token.
    let priced = app
        .call(
            "/api/models/set_prices",
            json!({ "model_id": llama["model_id"], "input_price_micros": 1_000_000, "output_price_micros": 2_000_000 }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        priced.body["output_price_micros"], 2_000_000,
        "{}",
        priced.body
    );
    let negative = json!({ "model_id": llama["model_id"], "input_price_micros": -1, "output_price_micros": null });
    app.call("/api/models/set_prices", negative, Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid");

    // Each answer costs 3 × 1 + 100 × 2 = 203; a reservation holds about 220.
    let statuses: Vec<StatusCode> = join_all((0..3).map(|_| async {
        post_with_headers(&app, "/v1/chat/completions", &key, chat(100))
            .await
            .0
    }))
    .await;
    let mut sequential = Vec::new();
    for _ in 0..3 {
        sequential.push(post_with_headers(&app, "/v1/chat/completions", &key, chat(100)).await);
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count()
        + sequential.iter().filter(|r| r.0 == StatusCode::OK).count();
    assert_eq!(ok, 2, "{statuses:?}");
    let refused = sequential
        .iter()
        .find(|r| r.0 == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    assert!(refused.2.contains("insufficient_quota"), "{}", refused.2);

    app.services.shutdown().await;
    assert_eq!(
        app.db
            .scalar(
                "select cast(sum(cost_micros) as bigint) from usage_event",
                &[]
            )
            .await,
        2 * 203
    );
    assert_eq!(
        app.db
            .scalar(
                "select cast(sum(cost_micros) as bigint) from usage_daily",
                &[]
            )
            .await,
        2 * 203
    );
    let summary = app
        .call("/api/usage/summary", json!({}), Some(&admin))
        .await;
    assert_eq!(summary.body["cost_micros"], 2 * 203, "{}", summary.body);
}

#[tokio::test]
async fn a_budget_charges_images_at_the_models_unit_price_and_refuses_them_unpriced() {
    let up = MockUpstream::start("alpha").await;
    let (app, key, _) = limited(
        Backend::Sqlite,
        &up,
        json!({ "cost_per_month_micros": 1000 }),
        GatewaySettings::default(),
    )
    .await;
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
    let images = |n: u32| json!({ "model": "llama", "prompt": "a cat", "n": n }).to_string();
    // Token prices only: images have no price, so a budget could not hold on them.
    app.call(
        "/api/models/set_prices",
        json!({ "model_id": llama["model_id"], "input_price_micros": 1_000_000, "output_price_micros": 1_000_000 }),
        Some(&admin),
    )
    .await;
    let (status, _, text) =
        post_with_headers(&app, "/v1/images/generations", &key, images(1)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(
        text.contains("model_unpriced") && text.contains("unit price"),
        "{text}"
    );
    assert!(up.received().is_empty());

    let priced = app
        .call(
            "/api/models/set_prices",
            json!({ "model_id": llama["model_id"], "input_price_micros": 0, "output_price_micros": 0, "unit_price_micros": 300 }),
            Some(&admin),
        )
        .await;
    assert_eq!(priced.body["unit_price_micros"], 300, "{}", priced.body);
    let (status, _, text) =
        post_with_headers(&app, "/v1/images/generations", &key, images(2)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    // 600 spent of 1,000: two more images (600) do not fit, one (300) does.
    let (status, _, text) =
        post_with_headers(&app, "/v1/images/generations", &key, images(2)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{text}");
    assert!(text.contains("insufficient_quota"), "{text}");
    let (status, _, _) = post_with_headers(&app, "/v1/images/generations", &key, images(1)).await;
    assert_eq!(status, StatusCode::OK);
    // Priced by quality (and size): two high-quality images at 50 fit the last 100.
    let by_quality = json!({ "model_id": llama["model_id"], "input_price_micros": 0, "output_price_micros": 0,
        "unit_price_micros": 300, "image_prices": { "high": 50, "high/1792x1024": 90 } });
    let priced = app
        .call("/api/models/set_prices", by_quality, Some(&admin))
        .await;
    assert_eq!(priced.body["image_prices"]["high"], 50, "{}", priced.body);
    let high = json!({ "model": "llama", "prompt": "a cat", "n": 2, "quality": "high", "size": "1024x1024" });
    let (status, _, text) =
        post_with_headers(&app, "/v1/images/generations", &key, high.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let bad = json!({ "model_id": llama["model_id"], "image_prices": { "high": -1 } });
    app.call("/api/models/set_prices", bad, Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid");
    app.services.shutdown().await;
    assert_eq!(
        app.db
            .scalar(
                "select cast(sum(cost_micros) as bigint) from usage_event",
                &[]
            )
            .await,
        // The mock reports 5 + 50 tokens an answer too, at a price of 0.
        600 + 300 + 2 * 50
    );
}
