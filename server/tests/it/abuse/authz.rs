//! Who may do what: what an administrator set stays set, and acting as someone reaches no
//! further than the web app.

use app::server::{Backend, GatewaySettings, testing::count_db_uses};
use app::types::{Registration, Role};
use axum::http::StatusCode;
use serde_json::json;

use crate::{
    common::TestApp,
    mock_idp::{MockIdp, Tamper},
    sso_support::{app_with, bearer_on_v1, provider, settings},
};

const HERE: &str = "127.0.0.1:40000";

#[tokio::test]
async fn what_an_administrator_set_on_a_key_only_an_administrator_lifts() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (_, admin) = app.admin().await;
    let bea = app.signed_in("bea").await;
    let id = app.new_key(&bea, "k").await;
    // Her own key, untouched by anyone: hers to change.
    let mine = app
        .call(
            "/api/keys/update",
            json!({ "api_key_id": id, "enabled": false }),
            Some(&bea),
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let on = json!({ "api_key_id": id, "enabled": true });
    let r = app.call("/api/keys/update", on.clone(), Some(&bea)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["managed_by_admin"], false);

    // An administrator turns it off and fences it in.
    let r = app
        .call(
            "/api/keys/update",
            json!({ "api_key_id": id, "enabled": false, "allowed_cidrs": ["10.0.0.0/8"] }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["managed_by_admin"], true);
    for lift in [
        on,
        json!({ "api_key_id": id, "allowed_cidrs": [] }),
        json!({ "api_key_id": id, "expires_at": "never" }),
        json!({ "api_key_id": id, "models": [] }),
    ] {
        app.call("/api/keys/update", lift.clone(), Some(&bea))
            .await
            .assert_error(StatusCode::CONFLICT, "refused");
    }
    // Deleting would take the administrator's settings with it.
    app.call("/api/keys/delete", json!({ "api_key_id": id }), Some(&bea))
        .await
        .assert_error(StatusCode::CONFLICT, "refused");
    // She may still rename it, and revoke it.
    let r = app
        .call(
            "/api/keys/update",
            json!({ "api_key_id": id, "name": "fenced" }),
            Some(&bea),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .call("/api/keys/revoke", json!({ "api_key_id": id }), Some(&bea))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let enabled = app
        .db
        .scalar("select count(*) from api_key where enabled", &[])
        .await;
    assert_eq!(enabled, 0);

    // A key an administrator set limits on is managed as well.
    let other = app.new_key(&bea, "k2").await;
    let r = app
        .call(
            "/api/limits/set",
            json!({ "holder": "key", "id": other, "limits": { "tokens_per_day": 1000 } }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.call(
        "/api/keys/delete",
        json!({ "api_key_id": other }),
        Some(&bea),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");
}

#[tokio::test]
async fn acting_as_another_administrator_does_not_reach_ones_own_keys() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (_, root) = app.admin().await;
    let own_key = app.new_key(&root, "root's").await;
    let ops = app
        .user("ops", Role::Admin, "ops's long password", false)
        .await;
    let acting = app
        .call(
            "/api/auth/impersonate",
            json!({ "user_id": ops }),
            Some(&root),
        )
        .await;
    assert_eq!(acting.status, StatusCode::OK, "{}", acting.body);
    let as_ops = acting.str("access_token");
    app.call(
        "/api/limits/set",
        json!({ "holder": "key", "id": own_key, "limits": { "tokens_per_day": 1_000_000 } }),
        Some(&as_ops),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");
}

#[tokio::test]
async fn an_impersonated_session_opens_nothing_on_v1() {
    let app = TestApp::with_settings(
        app::server::testing::TestDb::new(Backend::Sqlite).await,
        GatewaySettings {
            allow_jwt_on_v1: true,
            ..GatewaySettings::default()
        },
    )
    .await;
    app.models(&["llama"]).await;
    let (_, root) = app.admin().await;
    let alice = app
        .user("alice", Role::User, "alice's long password", false)
        .await;
    let (own, _) = app.login("alice", "alice's long password").await;
    assert_eq!(
        app.v1_get("/v1/models", &own, HERE).await.status,
        StatusCode::OK
    );
    let acting = app
        .call(
            "/api/auth/impersonate",
            json!({ "user_id": alice }),
            Some(&root),
        )
        .await
        .str("access_token");
    app.v1_get("/v1/models", &acting, HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
}

#[tokio::test]
async fn an_invite_cannot_link_a_sign_in_to_an_administrators_account() {
    let idp = MockIdp::start().await;
    let app = app_with(
        Backend::Sqlite,
        settings(Registration::Closed, vec![provider(&idp, "mock")]),
    )
    .await;
    let (_, root) = app.admin().await;
    let ops = app
        .user("ops", Role::Admin, "ops's long password", false)
        .await;
    app.call(
        "/api/invites/create",
        json!({ "invite": { "role": "user", "user_id": ops, "expires_in_hours": 24 } }),
        Some(&root),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");
}

#[tokio::test]
async fn unlinking_an_identity_ends_its_cached_provider_token_at_once() {
    let idp = MockIdp::start().await;
    let app = bearer_on_v1(&idp, Registration::Open).await;
    let token = idp.bearer("svc-bot", "portcullis-api", 300, Tamper::None);
    assert_eq!(
        app.v1_get("/v1/models", &token, HERE).await.status,
        StatusCode::OK
    );
    let (_, warm) = count_db_uses(app.v1_get("/v1/models", &token, HERE)).await;
    assert_eq!(warm, 0, "cached");
    let (_, admin) = app.admin().await;
    let bot = app
        .db
        .text(
            "select user_id from app_user where username = 'svc-bot'",
            &[],
        )
        .await
        .unwrap();
    let ids = app
        .call(
            "/api/users/identities",
            json!({ "user_id": bot }),
            Some(&admin),
        )
        .await;
    let subject = ids.body[0]["subject"].as_str().unwrap().to_owned();
    let r = app
        .call(
            "/api/users/unlink_identity",
            json!({ "user_id": bot, "provider": "mock", "subject": subject }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The next call is checked afresh: it no longer rides on the unlinked account.
    let (_, uses) = count_db_uses(app.v1_get("/v1/models", &token, HERE)).await;
    assert!(uses > 0, "the cached token was used after the unlink");
}
