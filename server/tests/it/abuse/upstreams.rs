//! An upstream's stored credential and headers stay with the server they were given for.

use app::server::Backend;
use axum::http::StatusCode;
use serde_json::json;

use crate::{common::TestApp, mock_upstream::MockUpstream};

#[tokio::test]
async fn pointing_an_upstream_at_another_server_drops_its_credential_and_headers() {
    let (first, other) = (
        MockUpstream::start("first").await,
        MockUpstream::start("other").await,
    );
    let app = TestApp::new(Backend::Sqlite).await;
    let (_, admin) = app.admin().await;
    let created = app
        .call(
            "/api/upstreams/create",
            json!({ "name": "up", "base_url": first.base_url, "credential": "sk-upstream-secret",
                    "headers": { "x-tenant": "tenant-secret" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let id = created.str("upstream_id");
    let update = |body: serde_json::Value| app.call("/api/upstreams/update", body, Some(&admin));
    let test = || {
        app.call(
            "/api/upstreams/test",
            json!({ "upstream_id": id }),
            Some(&admin),
        )
    };

    // The same server, spelled another way: the credential stays.
    let same =
        update(json!({ "upstream_id": id, "base_url": format!("{}/", first.base_url) })).await;
    assert_eq!(same.body["has_credential"], true, "{}", same.body);
    test().await;
    assert_eq!(
        first.received().last().unwrap().authorization.as_deref(),
        Some("Bearer sk-upstream-secret")
    );

    // Another server: neither the credential nor the headers follow.
    let moved = update(json!({ "upstream_id": id, "base_url": other.base_url })).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["has_credential"], false, "{}", moved.body);
    assert_eq!(moved.body["header_names"], json!([]), "{}", moved.body);
    assert_eq!(test().await.body["ok"], true);
    let got = other.received().last().unwrap().clone();
    assert_eq!(got.authorization, None, "the old credential went nowhere");
    let details = app
        .db
        .text(
            "select details from audit_log where action = 'upstream.update' order by audit_id desc limit 1",
            &[],
        )
        .await
        .unwrap();
    assert!(
        details.contains(r#""credential_and_headers_dropped":true"#),
        "{details}"
    );

    // Given again with the move, they are kept.
    let back = update(json!({ "upstream_id": id, "base_url": first.base_url,
                               "credential": { "set": "sk-new" } }))
    .await;
    assert_eq!(back.body["has_credential"], true, "{}", back.body);
}
