//! How many keys one person may hold, and how many one listing returns, are bounded.

use app::server::{Backend, GatewaySettings};
use axum::http::StatusCode;
use serde_json::json;

use crate::{common::TestApp, on_both_backends};

on_both_backends!(keys_per_user_are_capped_even_when_created_at_once);

async fn keys_per_user_are_capped_even_when_created_at_once(backend: Backend) {
    let db = app::server::testing::TestDb::new(backend).await;
    let settings = GatewaySettings {
        max_keys_per_user: 3,
        ..GatewaySettings::default()
    };
    let app = TestApp::with_settings(db, settings).await;
    let bea = app.signed_in("bea").await;
    let creates = (0..10).map(|i| {
        let (app, bea) = (&app, &bea);
        async move {
            app.call(
                "/api/keys/create",
                json!({ "name": format!("k{i}") }),
                Some(bea),
            )
            .await
        }
    });
    let replies = futures_util::future::join_all(creates).await;
    let made: Vec<String> = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .map(|r| r.body["key"]["api_key_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        made.len(),
        3,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        r.assert_error(StatusCode::CONFLICT, "refused");
    }
    // A revoked key no longer counts.
    let revoked = app
        .call(
            "/api/keys/revoke",
            json!({ "api_key_id": made[0] }),
            Some(&bea),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let again = app
        .call("/api/keys/create", json!({ "name": "again" }), Some(&bea))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);

    // Listings come a page at a time.
    let page = app
        .call(
            "/api/keys/list",
            json!({ "limit": 2, "offset": 1 }),
            Some(&bea),
        )
        .await;
    let names: Vec<&str> = page
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{}", page.body);
    let all = app.call("/api/keys/list", json!({}), Some(&bea)).await;
    assert_eq!(all.body.as_array().unwrap().len(), 4);
    assert_eq!(all.body[1]["name"], names[0]);
    app.db.drop_db().await;
}
