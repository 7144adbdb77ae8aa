//! What is kept only for a while goes: old audit entries, ended sessions, spent refresh tokens.

use app::server::{Backend, testing::Arg, usage::retention};
use app::types::Role;
use chrono::{Duration, Utc};
use serde_json::json;

use crate::{common::TestApp, on_both_backends};

on_both_backends!(old_audit_entries_and_ended_sessions_are_deleted);

async fn old_audit_entries_and_ended_sessions_are_deleted(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.user("bea", Role::User, "bea's long password", false)
        .await;
    // Two sign-ins: one stays, one ends (signed out) long ago.
    let (kept, _) = app.login("bea", "bea's long password").await;
    let (ended, refresh) = app.login("bea", "bea's long password").await;
    let out = app
        .call(
            "/api/auth/logout",
            json!({ "refresh_token": refresh }),
            Some(&ended),
        )
        .await;
    assert_eq!(out.status, axum::http::StatusCode::OK, "{}", out.body);
    let long_ago = Utc::now() - Duration::days(500);
    app.db
        .exec(
            "update refresh_family set revoked_at = $1 where revoked_at is not null",
            &[Arg::Time(long_ago)],
        )
        .await
        .unwrap();
    app.db
        .exec(
            "update audit_log set created_at = $1 where action = 'auth.logout'",
            &[Arg::Time(long_ago)],
        )
        .await
        .unwrap();
    let audit_before = app.db.scalar("select count(*) from audit_log", &[]).await;
    let purged = retention::purge_records(&app.services, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        (purged.audit_entries, purged.sessions),
        (1, 1),
        "{purged:?}"
    );
    assert_eq!(
        app.db.scalar("select count(*) from audit_log", &[]).await,
        audit_before - 1
    );
    assert_eq!(
        app.db
            .scalar("select count(*) from refresh_family", &[])
            .await,
        1
    );
    // The session that goes on is untouched.
    let me = app.call("/api/auth/me", json!({}), Some(&kept)).await;
    assert_eq!(me.status, axum::http::StatusCode::OK);
    app.db.drop_db().await;
}
