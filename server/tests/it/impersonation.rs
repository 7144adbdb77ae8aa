//! An administrator acting as another user: what the session is, what it may not do, how it
//! is audited and how it ends.

use app::server::Backend;
use app::types::Role;
use axum::http::StatusCode;
use serde_json::json;

use crate::{common::TestApp, on_both_backends};

on_both_backends!(
    an_administrator_sees_what_the_user_sees_and_every_step_is_audited,
    an_impersonated_session_cannot_reach_the_administrators_own_account,
);

async fn an_administrator_sees_what_the_user_sees_and_every_step_is_audited(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, admin) = app.admin().await;
    let alice = app
        .user("alice", Role::User, "alice's long password", false)
        .await;
    let r = app
        .call(
            "/api/auth/impersonate",
            json!({ "user_id": alice }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["user"]["username"], "alice");
    let (access, refresh) = (r.str("access_token"), r.str("refresh_token"));

    let me = app.call("/api/auth/me", json!({}), Some(&access)).await;
    assert_eq!(me.body["user"]["username"], "alice");
    assert_eq!(me.body["impersonated_by"], "root");
    assert_eq!(
        me.body["permissions"],
        json!(["create_keys", "view_own_usage"])
    );
    // Alice's things, alice's limits: administration stays out of reach.
    app.call("/api/users/list", json!({}), Some(&access))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let key = app
        .call(
            "/api/keys/create",
            json!({ "name": "made-by-root" }),
            Some(&access),
        )
        .await;
    assert_eq!(key.status, StatusCode::OK, "{}", key.body);
    let by = app
        .db
        .text(
            "select impersonator_username from audit_log where action = 'key.create'",
            &[],
        )
        .await;
    assert_eq!(by.as_deref(), Some("root"));

    // The person's own secrets stay theirs.
    app.call(
        "/api/auth/change_password",
        json!({ "current_password": "alice's long password", "new_password": "a brand new password" }),
        Some(&access),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");
    app.call("/api/auth/logout_all", json!({}), Some(&access))
        .await
        .assert_error(StatusCode::CONFLICT, "refused");
    // Acting as someone does not nest.
    app.call(
        "/api/auth/impersonate",
        json!({ "user_id": alice }),
        Some(&access),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Returning: the impersonated session ends; the administrator's goes on.
    let r = app
        .call(
            "/api/auth/logout",
            json!({ "refresh_token": refresh }),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.call("/api/auth/me", json!({}), Some(&access))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let me = app.call("/api/auth/me", json!({}), Some(&admin)).await;
    assert_eq!(me.body["user"]["username"], "root");
    assert_eq!(me.body["impersonated_by"], json!(null));
    let started = app
        .db
        .text(
            "select target_id from audit_log where action = 'auth.impersonate_start' \
             and actor_username = 'root'",
            &[],
        )
        .await;
    assert_eq!(started.as_deref(), Some(alice.as_str()));
    let ended = app
        .db
        .text(
            "select impersonator_username from audit_log where action = 'auth.impersonate_end'",
            &[],
        )
        .await;
    assert_eq!(ended.as_deref(), Some("root"));
}

async fn an_impersonated_session_cannot_reach_the_administrators_own_account(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (root, admin) = app.admin().await;
    let ops = app
        .user("ops", Role::Admin, "ops's long password", false)
        .await;
    let plain = app
        .user("plain", Role::User, "plain long password", false)
        .await;
    let r = app
        .call(
            "/api/auth/impersonate",
            json!({ "user_id": ops }),
            Some(&admin),
        )
        .await;
    let access = r.str("access_token");
    // An administrator as ops may administer, but not make administrators...
    let r = app
        .call(
            "/api/users/create",
            json!({ "username": "newadmin", "role": "admin" }),
            Some(&access),
        )
        .await;
    r.assert_error(StatusCode::CONFLICT, "refused");
    app.call(
        "/api/users/update",
        json!({ "user_id": plain, "role": "admin" }),
        Some(&access),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");
    let ok = app
        .call(
            "/api/users/update",
            json!({ "user_id": plain, "enabled": false }),
            Some(&access),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // ...nor touch root's own account or keys.
    for (path, body) in [
        (
            "/api/users/update",
            json!({ "user_id": root, "enabled": false }),
        ),
        ("/api/users/delete", json!({ "user_id": root })),
        ("/api/users/reset_password", json!({ "user_id": root })),
        ("/api/keys/create", json!({ "name": "x", "user_id": root })),
    ] {
        app.call(path, body, Some(&access))
            .await
            .assert_error(StatusCode::CONFLICT, "refused");
    }
    app.call(
        "/api/auth/impersonate",
        json!({ "user_id": root }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");
    // Nobody else may act as anyone.
    let (ops_token, _) = app.login("ops", "ops's long password").await;
    app.call(
        "/api/users/update",
        json!({ "user_id": ops, "role": "user" }),
        Some(&admin),
    )
    .await;
    app.call(
        "/api/auth/impersonate",
        json!({ "user_id": plain }),
        Some(&ops_token),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // When root stops being an administrator, root's acting session ends with it.
    app.user("second", Role::Admin, "second long password", false)
        .await;
    let (second, _) = app.login("second", "second long password").await;
    let r = app
        .call(
            "/api/auth/impersonate",
            json!({ "user_id": plain }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "plain is disabled: {}",
        r.body
    );
    let r = app
        .call(
            "/api/auth/impersonate",
            json!({ "user_id": ops }),
            Some(&admin),
        )
        .await;
    let acting = r.str("access_token");
    app.call("/api/auth/me", json!({}), Some(&acting)).await;
    let r = app
        .call(
            "/api/users/update",
            json!({ "user_id": root, "role": "user" }),
            Some(&second),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.call("/api/auth/me", json!({}), Some(&acting))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
}
