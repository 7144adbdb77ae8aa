//! Session lifecycle: rotation, reuse detection, logout, revocation by an administrator.

use app::server::Backend;
use app::types::Role;
use axum::http::StatusCode;
use serde_json::json;

use crate::{common::TestApp, on_both_backends};

on_both_backends!(
    every_refresh_rotates_and_a_reused_token_revokes_its_family,
    two_concurrent_refreshes_of_one_token_cannot_both_win,
    logout_ends_the_session_and_logout_all_ends_every_session,
    disabling_or_deleting_a_user_stops_their_tokens_at_once,
);

async fn every_refresh_rotates_and_a_reused_token_revokes_its_family(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.user("erin", Role::User, "erin's long password", false)
        .await;
    let (_, r1) = app.login("erin", "erin's long password").await;
    let (other_access, other_refresh) = app.login("erin", "erin's long password").await;

    let s2 = app
        .call("/api/auth/refresh", json!({ "refresh_token": r1 }), None)
        .await;
    assert_eq!(s2.status, StatusCode::OK, "{}", s2.body);
    let (a2, r2) = (s2.str("access_token"), s2.str("refresh_token"));
    assert_ne!(r1, r2);
    assert_eq!(s2.body["user"]["username"], "erin");
    assert_eq!(
        app.call("/api/auth/me", json!({}), Some(&a2)).await.status,
        StatusCode::OK
    );

    // r1 again: a theft signal. The family ends: r2 and its access token with it.
    app.call("/api/auth/refresh", json!({ "refresh_token": r1 }), None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.call("/api/auth/refresh", json!({ "refresh_token": r2 }), None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.call("/api/auth/me", json!({}), Some(&a2))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let reuse = app
        .db
        .scalar(
            "select count(*) from audit_log where action = 'auth.refresh_reuse'",
            &[],
        )
        .await;
    assert_eq!(reuse, 1);

    // Another sign-in of the same user is a different family and carries on.
    assert_eq!(
        app.call("/api/auth/me", json!({}), Some(&other_access))
            .await
            .status,
        StatusCode::OK
    );
    let s = app
        .call(
            "/api/auth/refresh",
            json!({ "refresh_token": other_refresh }),
            None,
        )
        .await;
    assert_eq!(s.status, StatusCode::OK);
    app.call(
        "/api/auth/refresh",
        json!({ "refresh_token": "pcr_not-a-token" }),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.db.drop_db().await;
}

async fn two_concurrent_refreshes_of_one_token_cannot_both_win(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.user("fay", Role::User, "fay's long password", false)
        .await;
    for _ in 0..5 {
        let (_, r) = app.login("fay", "fay's long password").await;
        let body = json!({ "refresh_token": r });
        let (a, b) = tokio::join!(
            app.call("/api/auth/refresh", body.clone(), None),
            app.call("/api/auth/refresh", body.clone(), None)
        );
        let wins = [&a, &b]
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count();
        assert!(
            wins <= 1,
            "both refreshes succeeded: {} / {}",
            a.body,
            b.body
        );
        for r in [&a, &b] {
            assert!(
                matches!(r.status, StatusCode::OK | StatusCode::UNAUTHORIZED),
                "{}",
                r.body
            );
        }
    }
    app.db.drop_db().await;
}

async fn logout_ends_the_session_and_logout_all_ends_every_session(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.user("gus", Role::User, "gus's long password", false)
        .await;
    let (a1, r1) = app.login("gus", "gus's long password").await;
    let (a2, r2) = app.login("gus", "gus's long password").await;
    let (a3, r3) = app.login("gus", "gus's long password").await;

    assert_eq!(
        app.call("/api/auth/logout", json!({ "refresh_token": r1 }), None)
            .await
            .status,
        StatusCode::OK
    );
    app.call("/api/auth/refresh", json!({ "refresh_token": r1 }), None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.call("/api/auth/me", json!({}), Some(&a1))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    // Signing out twice is harmless; the other sessions go on.
    assert_eq!(
        app.call("/api/auth/logout", json!({ "refresh_token": r1 }), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.call("/api/auth/me", json!({}), Some(&a2)).await.status,
        StatusCode::OK
    );

    assert_eq!(
        app.call("/api/auth/logout_all", json!({}), Some(&a2))
            .await
            .status,
        StatusCode::OK
    );
    for (a, r) in [(&a2, &r2), (&a3, &r3)] {
        app.call("/api/auth/me", json!({}), Some(a))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
        app.call("/api/auth/refresh", json!({ "refresh_token": r }), None)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    app.call("/api/auth/logout_all", json!({}), None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let logouts = app
        .db
        .scalar(
            "select count(*) from audit_log where action in ('auth.logout', 'auth.logout_all')",
            &[],
        )
        .await;
    assert_eq!(logouts, 2);
    app.login("gus", "gus's long password").await;
    app.db.drop_db().await;
}

async fn disabling_or_deleting_a_user_stops_their_tokens_at_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, admin) = app.admin().await;
    let hal = app
        .user("hal", Role::User, "hal's long password", false)
        .await;
    let ida = app
        .user("ida", Role::User, "ida's long password", false)
        .await;
    let (hal_access, hal_refresh) = app.login("hal", "hal's long password").await;
    let (ida_access, ida_refresh) = app.login("ida", "ida's long password").await;

    let r = app
        .call(
            "/api/users/update",
            json!({ "user_id": hal, "enabled": false }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["enabled"], false);
    // The very next request is refused: the bound is zero seconds, on every replica, because
    // each management call checks the user in the database.
    app.call("/api/auth/me", json!({}), Some(&hal_access))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.call(
        "/api/auth/refresh",
        json!({ "refresh_token": hal_refresh }),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.call(
        "/api/auth/login",
        json!({ "username": "hal", "password": "hal's long password" }),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // Enabled again, old tokens stay dead; a new sign-in works.
    app.call(
        "/api/users/update",
        json!({ "user_id": hal, "enabled": true }),
        Some(&admin),
    )
    .await;
    app.call("/api/auth/me", json!({}), Some(&hal_access))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.login("hal", "hal's long password").await;

    assert_eq!(
        app.call("/api/users/delete", json!({ "user_id": ida }), Some(&admin))
            .await
            .status,
        StatusCode::OK
    );
    app.call("/api/auth/me", json!({}), Some(&ida_access))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.call(
        "/api/auth/refresh",
        json!({ "refresh_token": ida_refresh }),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let left = app.db.scalar("select count(*) from refresh_family f join app_user u on u.user_id = f.user_id where u.username = 'ida'", &[]).await;
    assert_eq!(left, 0);
    app.db.drop_db().await;
}
