//! The client's address, which key address ranges and per-address limits rest on, cannot be
//! chosen by the client.

use app::server::{Backend, GatewaySettings, testing::TestDb};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn a_forged_first_forwarded_for_line_does_not_choose_the_clients_address() {
    let settings = GatewaySettings {
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
        ..GatewaySettings::default()
    };
    let app = TestApp::with_settings(TestDb::new(Backend::Sqlite).await, settings).await;
    app.models(&["llama"]).await;
    let bea = app.signed_in("bea").await;
    let key = app
        .call(
            "/api/keys/create",
            json!({ "name": "office", "allowed_cidrs": ["192.0.2.0/24"] }),
            Some(&bea),
        )
        .await
        .str("secret");
    let from = |lines: &[&str]| {
        let mut req = Request::get("/v1/models").header("authorization", format!("Bearer {key}"));
        for line in lines {
            req = req.header("x-forwarded-for", *line);
        }
        req.body(Body::empty()).unwrap()
    };
    // Through the proxy from inside the range: allowed.
    let ok = app.send(from(&["192.0.2.5"]), "10.0.0.2:4000").await;
    assert_eq!(ok.status, StatusCode::OK);
    // The client sent its own line; the proxy added the real address as a second line.
    app.send(from(&["192.0.2.5", "203.0.113.9"]), "10.0.0.2:4000")
        .await
        .assert_openai_error(StatusCode::FORBIDDEN, "address_not_allowed");
    // An IPv4-mapped spelling of an outside address is the outside address.
    app.send(from(&["::ffff:203.0.113.9"]), "10.0.0.2:4000")
        .await
        .assert_openai_error(StatusCode::FORBIDDEN, "address_not_allowed");
    // And a mapped spelling of an inside address is inside.
    let mapped = app.send(from(&[]), "[::ffff:192.0.2.77]:4000").await;
    assert_eq!(mapped.status, StatusCode::OK);
}
