//! API keys: management through `/api/keys/*`, and their check on `/v1`.

use std::time::{Duration, Instant};

use app::server::{Backend, GatewaySettings, background};
use app::types::Role;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{
    common::{Reply, TestApp},
    on_both_backends,
};

on_both_backends!(
    a_key_is_created_used_revealed_rotated_with_grace_and_revoked,
    expiry_disabling_and_address_ranges_are_enforced,
    users_see_and_change_only_their_own_keys,
    model_permissions_narrow_keys_at_once,
    keys_and_access_tokens_each_open_only_their_own_door,
);

const HERE: &str = "127.0.0.1:40000";

async fn create(app: &TestApp, token: &str, body: Value) -> Reply {
    app.call("/api/keys/create", body, Some(token)).await
}

async fn a_key_is_created_used_revealed_rotated_with_grace_and_revoked(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.models(&["llama", "mistral"]).await;
    app.user("alice", Role::User, "alice's long password", false)
        .await;
    let (alice, _) = app.login("alice", "alice's long password").await;

    let created = create(&app, &alice, json!({ "name": "ci", "models": ["llama"] })).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let secret = created.str("secret");
    let id = created.body["key"]["api_key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("sk-pc-"), "{secret}");
    assert_eq!(
        created.body["key"]["display"],
        format!("{}…", &secret[..19])
    );
    assert_eq!(created.body["key"]["models"], json!(["llama"]));
    // Neither the secret nor any part of it is stored in plain text.
    let tail: &'static str = Box::leak(secret[19..].to_owned().into_boxed_str());
    let leaked = app
        .db
        .scalar(
            "select count(*) from api_key where secret_digest like '%' || $1 || '%' or secret_sealed like '%' || $1 || '%'",
            &[app::server::testing::Arg::Text(tail)],
        )
        .await;
    assert_eq!(leaked, 0);

    let models = app.v1_get("/v1/models", &secret, HERE).await;
    assert_eq!(models.status, StatusCode::OK, "{}", models.body);
    assert_eq!(models.body["object"], "list");
    assert_eq!(models.model_ids(), ["llama"]);
    assert_eq!(
        app.v1_get("/v1/models/llama", &secret, HERE).await.body["id"],
        "llama"
    );
    app.v1_get("/v1/models/mistral", &secret, HERE)
        .await
        .assert_openai_error(StatusCode::FORBIDDEN, "model_not_allowed");
    // A name that does not exist looks the same as one that does: no enumeration by status.
    app.v1_get("/v1/models/gpt-9", &secret, HERE)
        .await
        .assert_openai_error(StatusCode::FORBIDDEN, "model_not_allowed");

    let revealed = app
        .call(
            "/api/keys/reveal",
            json!({ "api_key_id": id }),
            Some(&alice),
        )
        .await;
    assert_eq!(revealed.str("secret"), secret);

    let rotated = app
        .call(
            "/api/keys/rotate",
            json!({ "api_key_id": id, "grace_seconds": 300 }),
            Some(&alice),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let second = rotated.str("secret");
    assert_ne!(second, secret);
    assert!(rotated.body["key"]["previous_valid_until"].is_string());
    assert_eq!(
        app.v1_get("/v1/models", &second, HERE).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.v1_get("/v1/models", &secret, HERE).await.status,
        StatusCode::OK,
        "old secret works during the grace"
    );
    let third = app
        .call(
            "/api/keys/rotate",
            json!({ "api_key_id": id }),
            Some(&alice),
        )
        .await
        .str("secret");
    app.v1_get("/v1/models", &second, HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    app.v1_get("/v1/models", &secret, HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    assert_eq!(
        app.v1_get("/v1/models", &third, HERE).await.status,
        StatusCode::OK
    );

    let revoked = app
        .call(
            "/api/keys/revoke",
            json!({ "api_key_id": id }),
            Some(&alice),
        )
        .await;
    assert!(revoked.body["revoked_at"].is_string(), "{}", revoked.body);
    app.v1_get("/v1/models", &third, HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    app.call(
        "/api/keys/reveal",
        json!({ "api_key_id": id }),
        Some(&alice),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");
    app.call(
        "/api/keys/update",
        json!({ "api_key_id": id, "enabled": true }),
        Some(&alice),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");

    assert_eq!(
        app.call(
            "/api/keys/delete",
            json!({ "api_key_id": id }),
            Some(&alice)
        )
        .await
        .status,
        StatusCode::OK
    );
    app.call("/api/keys/get", json!({ "api_key_id": id }), Some(&alice))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let actions = app
        .db
        .scalar("select count(*) from audit_log where action in ('key.create', 'key.reveal', 'key.rotate', 'key.revoke', 'key.delete')", &[])
        .await;
    assert_eq!(actions, 6);
    app.db.drop_db().await;
}

async fn expiry_disabling_and_address_ranges_are_enforced(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.models(&["llama"]).await;
    app.user("bea", Role::User, "bea's long password", false)
        .await;
    let (bea, _) = app.login("bea", "bea's long password").await;
    let k = create(
        &app,
        &bea,
        json!({ "name": "office", "allowed_cidrs": ["10.1.0.0/16", "192.0.2.7"] }),
    )
    .await;
    assert_eq!(
        k.body["key"]["allowed_cidrs"],
        json!(["10.1.0.0/16", "192.0.2.7/32"]),
        "{}",
        k.body
    );
    let (id, secret) = (
        k.body["key"]["api_key_id"].as_str().unwrap().to_owned(),
        k.str("secret"),
    );
    assert_eq!(
        app.v1_get("/v1/models", &secret, "10.1.2.3:999")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.v1_get("/v1/models", &secret, "192.0.2.7:999")
            .await
            .status,
        StatusCode::OK
    );
    app.v1_get("/v1/models", &secret, "192.0.2.8:999")
        .await
        .assert_openai_error(StatusCode::FORBIDDEN, "address_not_allowed");
    create(
        &app,
        &bea,
        json!({ "name": "x", "allowed_cidrs": ["nope"] }),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid");

    let update = |body: Value| app.call("/api/keys/update", body, Some(&bea));
    update(json!({ "api_key_id": id, "allowed_cidrs": [] })).await;
    update(json!({ "api_key_id": id, "enabled": false })).await;
    app.v1_get("/v1/models", &secret, HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "api_key_disabled");
    update(json!({ "api_key_id": id, "enabled": true })).await;
    assert_eq!(
        app.v1_get("/v1/models", &secret, HERE).await.status,
        StatusCode::OK
    );

    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    create(&app, &bea, json!({ "name": "old", "expires_at": past }))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid");
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let r = update(json!({ "api_key_id": id, "expires_at": soon })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.v1_get("/v1/models", &secret, HERE).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    app.v1_get("/v1/models", &secret, HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "api_key_expired");
    let r = update(json!({ "api_key_id": id, "expires_at": "never" })).await;
    assert_eq!(r.body["expires_at"], Value::Null, "{}", r.body);
    assert_eq!(
        app.v1_get("/v1/models", &secret, HERE).await.status,
        StatusCode::OK
    );

    app.v1_get("/v1/models", "sk-pc-nothing", HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    let mut other = secret.clone();
    other.pop();
    other.push(if secret.ends_with('A') { 'B' } else { 'A' });
    app.v1_get("/v1/models", &other, HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    app.db.drop_db().await;
}

async fn users_see_and_change_only_their_own_keys(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, admin) = app.admin().await;
    app.user("cyd", Role::User, "cyd's long password", false)
        .await;
    let dan_id = app
        .user("dan", Role::User, "dan's long password", false)
        .await;
    let (cyd, _) = app.login("cyd", "cyd's long password").await;
    let (dan, _) = app.login("dan", "dan's long password").await;
    let cyd_key = create(&app, &cyd, json!({ "name": "cyd's" })).await;
    let cyd_key_id = cyd_key.body["key"]["api_key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    create(&app, &dan, json!({ "name": "dan's" })).await;

    for path in [
        "/api/keys/get",
        "/api/keys/reveal",
        "/api/keys/rotate",
        "/api/keys/revoke",
        "/api/keys/delete",
        "/api/keys/update",
    ] {
        app.call(
            path,
            json!({ "api_key_id": cyd_key_id, "name": "mine now" }),
            Some(&dan),
        )
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    let listed = app.call("/api/keys/list", json!({}), Some(&dan)).await;
    let names: Vec<_> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dan's"]);
    app.call(
        "/api/keys/list",
        json!({ "user_id": cyd_key.body["key"]["user_id"] }),
        Some(&dan),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    create(
        &app,
        &dan,
        json!({ "name": "for cyd", "user_id": cyd_key.body["key"]["user_id"] }),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        app.v1_get("/v1/models", &cyd_key.str("secret"), HERE)
            .await
            .status,
        StatusCode::OK,
        "untouched"
    );

    let all = app.call("/api/keys/list", json!({}), Some(&admin)).await;
    assert_eq!(all.body.as_array().unwrap().len(), 2);
    let made = create(
        &app,
        &admin,
        json!({ "name": "for dan", "user_id": dan_id }),
    )
    .await;
    assert_eq!(made.body["key"]["owner"], "dan", "{}", made.body);
    let dans = app
        .call("/api/keys/list", json!({ "user_id": dan_id }), Some(&admin))
        .await;
    assert_eq!(dans.body.as_array().unwrap().len(), 2);
    assert_eq!(
        app.call(
            "/api/keys/reveal",
            json!({ "api_key_id": cyd_key_id }),
            Some(&admin)
        )
        .await
        .str("secret"),
        cyd_key.str("secret")
    );
    app.db.drop_db().await;
}

async fn model_permissions_narrow_keys_at_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.models(&["llama", "mistral", "qwen"]).await;
    let (_, admin) = app.admin().await;
    let eve_id = app
        .user("eve", Role::User, "eve's long password", false)
        .await;
    let (eve, _) = app.login("eve", "eve's long password").await;
    let any = create(&app, &eve, json!({ "name": "any" }))
        .await
        .str("secret");
    let two = create(
        &app,
        &eve,
        json!({ "name": "two", "models": ["mistral", "qwen"] }),
    )
    .await
    .str("secret");
    assert_eq!(
        app.v1_get("/v1/models", &any, HERE).await.model_ids(),
        ["llama", "mistral", "qwen"]
    );

    let set = |body: Value| app.call("/api/users/set_permissions", body, Some(&admin));
    let r = set(json!({ "user_id": eve_id, "all_models": false, "models": ["qwen", "llama"], "may_create_keys": true })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["models"], json!(["llama", "qwen"]));
    assert_eq!(
        app.v1_get("/v1/models", &any, HERE).await.model_ids(),
        ["llama", "qwen"]
    );
    assert_eq!(
        app.v1_get("/v1/models", &two, HERE).await.model_ids(),
        ["qwen"]
    );
    app.v1_get("/v1/models/mistral", &two, HERE)
        .await
        .assert_openai_error(StatusCode::FORBIDDEN, "model_not_allowed");
    let me = app.call("/api/auth/me", json!({}), Some(&eve)).await;
    assert_eq!(me.body["models"], json!(["llama", "qwen"]));
    let r = create(&app, &eve, json!({ "name": "bad", "models": ["mistral"] })).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid");
    assert_eq!(
        r.body["message"],
        "models: `mistral` is not among the models eve may use"
    );

    set(json!({ "user_id": eve_id, "all_models": false, "models": [], "may_create_keys": false }))
        .await;
    assert!(
        app.v1_get("/v1/models", &any, HERE)
            .await
            .model_ids()
            .is_empty()
    );
    create(&app, &eve, json!({ "name": "no" }))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.call(
        "/api/users/set_permissions",
        json!({ "user_id": eve_id, "all_models": true, "may_create_keys": true }),
        Some(&eve),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Disabling the owner disables their keys; deleting removes them.
    set(json!({ "user_id": eve_id, "all_models": true, "models": [], "may_create_keys": true }))
        .await;
    app.call(
        "/api/users/update",
        json!({ "user_id": eve_id, "enabled": false }),
        Some(&admin),
    )
    .await;
    app.v1_get("/v1/models", &any, HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "api_key_disabled");
    app.call(
        "/api/users/update",
        json!({ "user_id": eve_id, "enabled": true }),
        Some(&admin),
    )
    .await;
    assert_eq!(
        app.v1_get("/v1/models", &any, HERE).await.status,
        StatusCode::OK
    );
    app.call(
        "/api/users/delete",
        json!({ "user_id": eve_id }),
        Some(&admin),
    )
    .await;
    app.v1_get("/v1/models", &any, HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    app.db.drop_db().await;
}

async fn keys_and_access_tokens_each_open_only_their_own_door(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.models(&["llama"]).await;
    app.user("fox", Role::User, "fox's long password", false)
        .await;
    let (fox, _) = app.login("fox", "fox's long password").await;
    let key = create(&app, &fox, json!({ "name": "k" }))
        .await
        .str("secret");
    for path in ["/api/auth/me", "/api/keys/list", "/api/keys/create"] {
        app.call(path, json!({ "name": "x" }), Some(&key))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    app.v1_get("/v1/models", &fox, HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");

    // X-API-Key works as well as Authorization.
    let req = axum::http::Request::get("/v1/models")
        .header("x-api-key", &key)
        .body(axum::body::Body::empty())
        .unwrap();
    let res = tower::ServiceExt::oneshot(app.router.clone(), req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // A deployment that allows it takes access tokens on /v1 too, with the user's permissions.
    let open = TestApp::with_settings(
        app.db.attach().await,
        GatewaySettings {
            allow_jwt_on_v1: true,
            ..Default::default()
        },
    )
    .await;
    app.db
        .exec("update app_user set all_models = true", &[])
        .await
        .unwrap();
    let (token, _) = open.login("fox", "fox's long password").await;
    let r = open.v1_get("/v1/models", &token, HERE).await;
    assert_eq!(
        (r.status, r.model_ids()),
        (StatusCode::OK, vec!["llama".to_owned()]),
        "{}",
        r.body
    );
    open.v1_get("/v1/models", "not.a.token", HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    app.db.drop_db().await;
}

#[tokio::test]
async fn a_revocation_reaches_another_instance_on_the_same_postgres_within_two_seconds() {
    let a = TestApp::new(Backend::Postgres).await;
    a.models(&["llama"]).await;
    a.user("gia", Role::User, "gia's long password", false)
        .await;
    let (gia, _) = a.login("gia", "gia's long password").await;
    let b = TestApp::with_settings(a.db.attach().await, GatewaySettings::default()).await;
    let watcher = background::spawn(
        &b.services,
        background::POLL_INTERVAL,
        Duration::from_secs(3600),
    );

    let k = create(&a, &gia, json!({ "name": "shared" })).await;
    let (id, secret) = (
        k.body["key"]["api_key_id"].as_str().unwrap().to_owned(),
        k.str("secret"),
    );
    let created = Instant::now();
    while b.v1_get("/v1/models", &secret, HERE).await.status != StatusCode::OK {
        assert!(
            created.elapsed() < Duration::from_secs(2),
            "instance B never learnt of the new key"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    a.call("/api/keys/revoke", json!({ "api_key_id": id }), Some(&gia))
        .await;
    let revoked = Instant::now();
    a.v1_get("/v1/models", &secret, HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    while b.v1_get("/v1/models", &secret, HERE).await.status == StatusCode::OK {
        assert!(
            revoked.elapsed() < Duration::from_secs(2),
            "instance B still accepts the revoked key"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    watcher.stop(&b.services).await;
    a.db.drop_db().await;
}

#[tokio::test]
async fn last_use_is_recorded_off_the_request_path() {
    let app = TestApp::new(Backend::Sqlite).await;
    app.user("hob", Role::User, "hob's long password", false)
        .await;
    let (hob, _) = app.login("hob", "hob's long password").await;
    let k = create(&app, &hob, json!({ "name": "k" })).await;
    let id = k.body["key"]["api_key_id"].as_str().unwrap().to_owned();
    app.v1_get("/v1/models", &k.str("secret"), HERE).await;
    let before = app
        .call("/api/keys/get", json!({ "api_key_id": id }), Some(&hob))
        .await;
    assert_eq!(
        before.body["last_used_at"],
        Value::Null,
        "not written by the request itself"
    );
    app.services.keys.flush_uses(&app.db.db).await.unwrap();
    let after = app
        .call("/api/keys/get", json!({ "api_key_id": id }), Some(&hob))
        .await;
    assert!(after.body["last_used_at"].is_string(), "{}", after.body);
}

#[tokio::test]
async fn the_reveal_policy_decides_who_sees_a_secret_again() {
    use app::server::keys::RevealPolicy;
    let admins_only = GatewaySettings {
        key_reveal: RevealPolicy::Admins,
        ..Default::default()
    };
    let app =
        TestApp::with_settings(app::server::testing::TestDb::sqlite().await, admins_only).await;
    let (_, admin) = app.admin().await;
    app.user("ivy", Role::User, "ivy's long password", false)
        .await;
    let (ivy, _) = app.login("ivy", "ivy's long password").await;
    let k = create(&app, &ivy, json!({ "name": "k" })).await;
    let id = k.body["key"]["api_key_id"].as_str().unwrap().to_owned();
    app.call("/api/keys/reveal", json!({ "api_key_id": id }), Some(&ivy))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        app.call(
            "/api/keys/reveal",
            json!({ "api_key_id": id }),
            Some(&admin)
        )
        .await
        .str("secret"),
        k.str("secret")
    );

    let off = GatewaySettings {
        key_reveal: RevealPolicy::Off,
        ..Default::default()
    };
    let app = TestApp::with_settings(app::server::testing::TestDb::sqlite().await, off).await;
    let (_, admin) = app.admin().await;
    let k = create(&app, &admin, json!({ "name": "k" })).await;
    let id = k.body["key"]["api_key_id"].as_str().unwrap().to_owned();
    let r = app
        .call(
            "/api/keys/reveal",
            json!({ "api_key_id": id }),
            Some(&admin),
        )
        .await;
    r.assert_error(StatusCode::CONFLICT, "refused");
    assert_eq!(
        r.body["detail"],
        "revealing keys is turned off on this gateway"
    );
    let sealed = app
        .db
        .scalar(
            "select count(*) from api_key where secret_sealed is not null",
            &[],
        )
        .await;
    assert_eq!(sealed, 0, "with reveal off, no ciphertext is kept at all");
    assert_eq!(
        app.v1_get("/v1/models", &k.str("secret"), HERE)
            .await
            .status,
        StatusCode::OK
    );
}
