//! User administration and the audit log, through the management API.

use app::server::Backend;
use app::types::Role;
use axum::http::StatusCode;
use serde_json::json;

use crate::{common::TestApp, on_both_backends};

on_both_backends!(
    administrators_create_list_update_reset_and_delete_users,
    non_administrators_are_refused_every_admin_call,
    the_last_enabled_administrator_cannot_be_removed,
    two_admins_demoting_each_other_at_once_leave_one_admin,
    every_admin_action_is_in_the_audit_log_with_filters_and_paging,
);

async fn administrators_create_list_update_reset_and_delete_users(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, admin) = app.admin().await;

    let created = app
        .call(
            "/api/users/create",
            json!({ "username": "jane", "email": "jane@example.org" }),
            Some(&admin),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.body["user"]["role"], "user");
    assert_eq!(created.body["user"]["must_change_password"], true);
    let jane = created.body["user"]["user_id"].as_str().unwrap().to_owned();
    let one_time = created.str("password");
    let first = app
        .call(
            "/api/auth/login",
            json!({ "username": "jane", "password": one_time }),
            None,
        )
        .await;
    assert_eq!(first.body["must_change_password"], true);

    app.call(
        "/api/users/create",
        json!({ "username": "JANE" }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "conflict");
    app.call(
        "/api/users/create",
        json!({ "username": "bad name" }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid");
    let given = app
        .call(
            "/api/users/create",
            json!({ "username": "kim", "role": "admin", "password": "kim's chosen password" }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        given.body["password"],
        json!(null),
        "a given password is not echoed"
    );
    assert_eq!(given.body["user"]["role"], "admin");

    let page = app
        .call(
            "/api/users/list",
            json!({ "search": "J", "limit": 10 }),
            Some(&admin),
        )
        .await;
    assert_eq!(page.body["total"], 1, "{}", page.body);
    assert_eq!(page.body["users"][0]["username"], "jane");
    let page = app
        .call(
            "/api/users/list",
            json!({ "limit": 2, "offset": 1 }),
            Some(&admin),
        )
        .await;
    assert_eq!(page.body["total"], 3);
    let names: Vec<_> = page.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kim", "root"]);

    let updated = app
        .call(
            "/api/users/update",
            json!({ "user_id": jane, "role": "admin", "email": "" }),
            Some(&admin),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(
        (
            updated.body["role"].as_str(),
            updated.body["email"].as_str()
        ),
        (Some("admin"), None)
    );
    app.call(
        "/api/users/update",
        json!({ "user_id": jane, "email": "not-an-email" }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid");
    app.call(
        "/api/users/update",
        json!({ "user_id": "nope", "enabled": false }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");

    let reset = app
        .call(
            "/api/users/reset_password",
            json!({ "user_id": jane }),
            Some(&admin),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let fresh = reset.str("password");
    let s = app
        .call(
            "/api/auth/login",
            json!({ "username": "jane", "password": fresh }),
            None,
        )
        .await;
    assert_eq!(
        (s.status, s.body["must_change_password"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    app.call(
        "/api/auth/refresh",
        json!({ "refresh_token": first.str("refresh_token") }),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");

    assert_eq!(
        app.call(
            "/api/users/delete",
            json!({ "user_id": jane }),
            Some(&admin)
        )
        .await
        .status,
        StatusCode::OK
    );
    app.call(
        "/api/users/delete",
        json!({ "user_id": jane }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.call(
        "/api/auth/login",
        json!({ "username": "jane", "password": fresh }),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.db.drop_db().await;
}

async fn non_administrators_are_refused_every_admin_call(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (root, _) = app.admin().await;
    app.user("lee", Role::User, "lee's long password", false)
        .await;
    let (lee, _) = app.login("lee", "lee's long password").await;
    for (path, body) in [
        ("/api/users/list", json!({})),
        (
            "/api/users/create",
            json!({ "username": "mallory", "role": "admin" }),
        ),
        (
            "/api/users/update",
            json!({ "user_id": root, "enabled": false }),
        ),
        ("/api/users/reset_password", json!({ "user_id": root })),
        ("/api/users/delete", json!({ "user_id": root })),
        ("/api/audit/list", json!({})),
    ] {
        app.call(path, body.clone(), Some(&lee))
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
        app.call(path, body, None)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    assert_eq!(
        app.db
            .scalar("select count(*) from app_user where enabled", &[])
            .await,
        2,
        "nothing changed"
    );
    app.db.drop_db().await;
}

async fn the_last_enabled_administrator_cannot_be_removed(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (root, admin) = app.admin().await;
    for body in [
        json!({ "user_id": root, "role": "user" }),
        json!({ "user_id": root, "enabled": false }),
    ] {
        let r = app.call("/api/users/update", body, Some(&admin)).await;
        r.assert_error(StatusCode::CONFLICT, "refused");
        assert_eq!(
            r.body["message"],
            "that would leave no enabled administrator"
        );
    }
    app.call(
        "/api/users/delete",
        json!({ "user_id": root }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");
    assert_eq!(
        app.call("/api/auth/me", json!({}), Some(&admin))
            .await
            .status,
        StatusCode::OK,
        "still an admin, still signed in"
    );

    // A disabled second admin does not count.
    let other = app
        .user("backup", Role::Admin, "backup's long password", false)
        .await;
    app.call(
        "/api/users/update",
        json!({ "user_id": other, "enabled": false }),
        Some(&admin),
    )
    .await;
    app.call(
        "/api/users/update",
        json!({ "user_id": root, "role": "user" }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");
    // With another enabled admin, stepping down is fine.
    app.call(
        "/api/users/update",
        json!({ "user_id": other, "enabled": true }),
        Some(&admin),
    )
    .await;
    let r = app
        .call(
            "/api/users/update",
            json!({ "user_id": root, "role": "user" }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.call("/api/users/list", json!({}), Some(&admin))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.db.drop_db().await;
}

async fn two_admins_demoting_each_other_at_once_leave_one_admin(backend: Backend) {
    let app = TestApp::new(backend).await;
    for round in 0..4 {
        let a = app
            .user(
                &format!("a{round}"),
                Role::Admin,
                "first admin's password",
                false,
            )
            .await;
        let b = app
            .user(
                &format!("b{round}"),
                Role::Admin,
                "second admin's password",
                false,
            )
            .await;
        let (ta, _) = app
            .login(&format!("a{round}"), "first admin's password")
            .await;
        let (tb, _) = app
            .login(&format!("b{round}"), "second admin's password")
            .await;
        // Only these two are admins while they race.
        app.db
            .exec(
                "update app_user set role = 'user' where username not in ($1, $2)",
                &[
                    app::server::testing::Arg::Text(Box::leak(
                        format!("a{round}").into_boxed_str(),
                    )),
                    app::server::testing::Arg::Text(Box::leak(
                        format!("b{round}").into_boxed_str(),
                    )),
                ],
            )
            .await
            .unwrap();
        let (ra, rb) = tokio::join!(
            app.call(
                "/api/users/update",
                json!({ "user_id": b, "role": "user" }),
                Some(&ta)
            ),
            app.call(
                "/api/users/update",
                json!({ "user_id": a, "role": "user" }),
                Some(&tb)
            ),
        );
        let admins = app
            .db
            .scalar(
                "select count(*) from app_user where role = 'admin' and enabled",
                &[],
            )
            .await;
        assert_eq!(admins, 1, "round {round}: {} / {}", ra.body, rb.body);
    }
    app.db.drop_db().await;
}

async fn every_admin_action_is_in_the_audit_log_with_filters_and_paging(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (root, admin) = app.admin().await;
    let created = app
        .call(
            "/api/users/create",
            json!({ "username": "ned" }),
            Some(&admin),
        )
        .await;
    let ned = created.body["user"]["user_id"].as_str().unwrap().to_owned();
    app.call(
        "/api/users/update",
        json!({ "user_id": ned, "enabled": false }),
        Some(&admin),
    )
    .await;
    app.call(
        "/api/users/reset_password",
        json!({ "user_id": ned }),
        Some(&admin),
    )
    .await;
    app.call("/api/users/delete", json!({ "user_id": ned }), Some(&admin))
        .await;

    let page = app
        .call(
            "/api/audit/list",
            json!({ "actor_user_id": root, "target_id": ned }),
            Some(&admin),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let actions: Vec<_> = page.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.delete",
            "user.reset_password",
            "user.update",
            "user.create"
        ]
    );
    let entry = &page.body["entries"][2];
    assert_eq!(entry["actor_username"], "root");
    assert_eq!(entry["target_type"], "user");
    assert_eq!(entry["details"]["enabled"], false);

    let deletes = app
        .call(
            "/api/audit/list",
            json!({ "action": "user.delete" }),
            Some(&admin),
        )
        .await;
    assert_eq!(deletes.body["total"], 1);
    assert_eq!(deletes.body["entries"][0]["details"]["username"], "ned");
    let paged = app
        .call(
            "/api/audit/list",
            json!({ "limit": 2, "offset": 1 }),
            Some(&admin),
        )
        .await;
    assert_eq!(paged.body["entries"].as_array().unwrap().len(), 2);
    assert!(paged.body["total"].as_i64().unwrap() >= 6);
    let future = app
        .call(
            "/api/audit/list",
            json!({ "since": "2999-01-01T00:00:00Z" }),
            Some(&admin),
        )
        .await;
    assert_eq!(future.body["total"], 0, "{}", future.body);
    let all = app
        .call(
            "/api/audit/list",
            json!({ "since": "2000-01-01T00:00:00Z", "limit": 500 }),
            Some(&admin),
        )
        .await;
    assert_eq!(all.body["total"], paged.body["total"]);

    let log = serde_json::to_string(&all.body).unwrap();
    assert!(
        !log.contains(&created.str("password")),
        "no secret in the audit log"
    );
    assert!(!log.contains(crate::common::ADMIN_PASSWORD));
    app.db.drop_db().await;
}
