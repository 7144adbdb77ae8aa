//! Dates and durations from a request are checked, never panicked on: 400, not 500.

use app::server::Backend;
use axum::http::StatusCode;
use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn durations_and_dates_out_of_range_are_bad_requests() {
    let app = TestApp::new(Backend::Sqlite).await;
    let bea = app.signed_in("bea").await;
    let id = app.new_key(&bea, "k").await;
    app.call(
        "/api/keys/rotate",
        json!({ "api_key_id": id, "grace_seconds": i64::MAX }),
        Some(&bea),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid");
    for body in [
        json!({ "until": "-262143-01-01T00:00:00Z" }),
        json!({ "since": "-262143-01-01T00:00:00Z" }),
        json!({ "until": "+262142-12-31T23:59:59Z" }),
    ] {
        app.call("/api/usage/summary", body.clone(), Some(&bea))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid");
        app.call("/api/usage/events", body, Some(&bea))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid");
    }
    app.call(
        "/api/keys/create",
        json!({ "name": "far", "expires_at": "+262142-12-31T23:59:59Z" }),
        Some(&bea),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid");
    let (_, admin) = app.admin().await;
    app.call(
        "/api/audit/list",
        json!({ "since": "-262143-01-01T00:00:00Z" }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid");
}
