//! The key cache follows the access change log: every change to a key or its owner reaches a
//! second instance of the deployment by loading what the change touched, never every key, and
//! an instance that fell behind the log loads everything once.

use app::server::{
    Backend, GatewaySettings,
    db::key_cache,
    keys::{KeyCache, cache::CATCH_UP_LIMIT},
    limits::LimitHolder,
};
use app::types::Role;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{
    common::{Reply, TestApp},
    on_both_backends,
};

on_both_backends!(
    every_access_change_reaches_another_instance_without_a_full_load,
    an_instance_behind_the_log_loads_everything_once,
    the_log_keeps_what_a_catch_up_needs_and_no_more,
);

const HERE: &str = "127.0.0.1:40000";

/// What instance `b` answers for `secret` after applying the changes other instances made.
async fn after_catch_up(b: &TestApp, secret: &str, path: &str) -> Reply {
    b.services.keys.catch_up(&b.db.db).await.expect("catch up");
    b.v1_get(path, secret, HERE).await
}

async fn created(app: &TestApp, token: &str, body: Value) -> (String, String) {
    let r = app.call("/api/keys/create", body, Some(token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (
        r.body["key"]["api_key_id"].as_str().unwrap().to_owned(),
        r.str("secret"),
    )
}

async fn every_access_change_reaches_another_instance_without_a_full_load(backend: Backend) {
    let a = TestApp::new(backend).await;
    a.models(&["llama", "mistral"]).await;
    let (_, admin) = a.admin().await;
    let ivy_id = a
        .user("ivy", Role::User, "ivy's long password", false)
        .await;
    let (ivy, _) = a.login("ivy", "ivy's long password").await;
    let b = a.replica(GatewaySettings::default()).await;
    let loads = (
        a.services.keys.stats().full_loads,
        b.services.keys.stats().full_loads,
    );

    // A new key works at once where it was made, and on the other instance once it catches up.
    let (any_id, any) = created(&a, &ivy, json!({ "name": "any" })).await;
    let (_, llama) = created(&a, &ivy, json!({ "name": "llama", "models": ["llama"] })).await;
    assert_eq!(
        a.v1_get("/v1/models", &any, HERE).await.status,
        StatusCode::OK
    );
    b.v1_get("/v1/models", &any, HERE)
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    let listed = after_catch_up(&b, &any, "/v1/models").await;
    assert_eq!(listed.model_ids(), ["llama", "mistral"]);
    assert_eq!(
        b.v1_get("/v1/models", &llama, HERE).await.model_ids(),
        ["llama"]
    );

    // The key's own state and limits.
    let update = |body: Value| a.call("/api/keys/update", body, Some(&ivy));
    update(json!({ "api_key_id": any_id, "enabled": false })).await;
    after_catch_up(&b, &any, "/v1/models")
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "api_key_disabled");
    update(json!({ "api_key_id": any_id, "enabled": true, "allowed_cidrs": ["10.0.0.0/8"] })).await;
    after_catch_up(&b, &any, "/v1/models")
        .await
        .assert_openai_error(StatusCode::FORBIDDEN, "address_not_allowed");
    update(json!({ "api_key_id": any_id, "allowed_cidrs": [] })).await;
    let r = a
        .call(
            "/api/limits/set",
            json!({ "holder": "key", "id": any_id, "limits": { "requests_per_minute": 7 } }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        after_catch_up(&b, &any, "/v1/models").await.status,
        StatusCode::OK
    );
    let who = b
        .services
        .keys
        .check(&any, None, chrono::Utc::now())
        .expect("the key works on b");
    let limits: Vec<_> = who
        .limits()
        .map(|(h, _, l)| (h, l.requests_per_minute))
        .collect();
    assert_eq!(limits, [(LimitHolder::Key, Some(7))]);

    // The owner's permissions and state, which every one of their keys carries.
    let set = |body: Value| a.call("/api/users/set_permissions", body, Some(&admin));
    set(json!({ "user_id": ivy_id, "all_models": false, "models": ["mistral"], "may_create_keys": true }))
        .await;
    assert_eq!(
        after_catch_up(&b, &any, "/v1/models").await.model_ids(),
        ["mistral"]
    );
    assert!(
        b.v1_get("/v1/models", &llama, HERE)
            .await
            .model_ids()
            .is_empty()
    );
    a.call(
        "/api/users/update",
        json!({ "user_id": ivy_id, "enabled": false }),
        Some(&admin),
    )
    .await;
    after_catch_up(&b, &llama, "/v1/models")
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "api_key_disabled");
    a.call(
        "/api/users/update",
        json!({ "user_id": ivy_id, "enabled": true }),
        Some(&admin),
    )
    .await;
    // Disabling her ended her sessions.
    let (ivy, _) = a.login("ivy", "ivy's long password").await;

    // Rotation keeps the old secret for its grace period; revocation ends a key.
    let rotated = a
        .call(
            "/api/keys/rotate",
            json!({ "api_key_id": any_id, "grace_seconds": 300 }),
            Some(&ivy),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new = rotated.str("secret");
    assert_eq!(
        after_catch_up(&b, &new, "/v1/models").await.status,
        StatusCode::OK
    );
    assert_eq!(
        b.v1_get("/v1/models", &any, HERE).await.status,
        StatusCode::OK
    );
    a.call(
        "/api/keys/revoke",
        json!({ "api_key_id": any_id }),
        Some(&ivy),
    )
    .await;
    after_catch_up(&b, &new, "/v1/models")
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    assert_eq!(b.services.keys.stats().keys, 1);

    // Deleting the owner takes their keys and their entry.
    a.call(
        "/api/users/delete",
        json!({ "user_id": ivy_id }),
        Some(&admin),
    )
    .await;
    after_catch_up(&b, &llama, "/v1/models")
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    let stats = b.services.keys.stats();
    assert_eq!((stats.keys, stats.owners), (0, 0));

    assert_eq!(stats.revision, a.services.keys.revision());
    assert_eq!(
        (a.services.keys.stats().full_loads, stats.full_loads),
        loads,
        "a change must be applied by itself, not by loading every key"
    );
    a.db.drop_db().await;
}

async fn an_instance_behind_the_log_loads_everything_once(backend: Backend) {
    let a = TestApp::new(backend).await;
    a.models(&["llama"]).await;
    let ivy = a.signed_in("ivy").await;
    let b = a.replica(GatewaySettings::default()).await;
    let loads = b.services.keys.stats().full_loads;
    let (_, secret) = created(&a, &ivy, json!({ "name": "k" })).await;

    // The log lost the change b needs (pruned while b was away): b cannot apply it alone.
    key_cache::prune_changes(&a.db.db, a.services.keys.revision())
        .await
        .expect("prune");
    assert_eq!(
        after_catch_up(&b, &secret, "/v1/models").await.status,
        StatusCode::OK
    );
    assert_eq!(b.services.keys.stats().full_loads, loads + 1);
    // And from there it follows the log again.
    let (_, second) = created(&a, &ivy, json!({ "name": "k2" })).await;
    assert_eq!(
        after_catch_up(&b, &second, "/v1/models").await.status,
        StatusCode::OK
    );
    assert_eq!(b.services.keys.stats().full_loads, loads + 1);
    a.db.drop_db().await;
}

async fn the_log_keeps_what_a_catch_up_needs_and_no_more(backend: Backend) {
    let a = TestApp::new(backend).await;
    let ivy = a.signed_in("ivy").await;
    let logged = "select count(*) from access_change";
    let before = a.db.scalar(logged, &[]).await;
    for i in 0..3 {
        a.new_key(&ivy, &format!("k{i}")).await;
    }
    assert_eq!(
        a.db.scalar(logged, &[]).await,
        before + 3,
        "one entry per change"
    );
    assert_eq!(KeyCache::prune_log(&a.db.db).await.expect("prune"), 0);
    a.db.exec(
        "update change_counter set value = value + $1 where name = 'access'",
        &[app::server::testing::Arg::Int(CATCH_UP_LIMIT)],
    )
    .await
    .expect("move the counter");
    a.new_key(&ivy, "k3").await;
    assert_eq!(
        KeyCache::prune_log(&a.db.db).await.expect("prune"),
        u64::try_from(before + 3).unwrap()
    );
    assert_eq!(a.db.scalar(logged, &[]).await, 1);
    a.db.drop_db().await;
}
