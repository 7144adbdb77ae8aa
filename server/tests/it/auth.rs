//! Signing in: credentials, forced password change, throttling, token checks.

use std::time::Duration;

use app::server::{
    Backend,
    auth::{AuthSettings, access, throttle::ThrottleSettings},
    secrets::JwtSecret,
};
use app::types::Role;
use axum::http::StatusCode;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::json;

use crate::{common::TestApp, on_both_backends};

on_both_backends!(
    signing_in_returns_tokens_and_the_profile,
    a_required_password_change_blocks_everything_else_until_done,
    unknown_users_and_wrong_passwords_get_the_same_answer_and_are_throttled,
    forged_expired_and_misused_tokens_are_refused,
);

async fn signing_in_returns_tokens_and_the_profile(backend: Backend) {
    let app = TestApp::new(backend).await;
    let id = app
        .user("Alice", Role::User, "alice's long password", false)
        .await;
    let r = app
        .call(
            "/api/auth/login",
            json!({ "username": "alice", "password": "alice's long password" }),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert_eq!(r.body["must_change_password"], false);
    assert_eq!(r.body["user"]["user_id"], id.as_str());
    assert_eq!(r.body["user"]["username"], "Alice");
    assert!(r.body["user"].get("password_hash").is_none());
    assert!(r.str("refresh_token").starts_with("pcr_"));

    let me = app
        .call("/api/auth/me", json!({}), Some(&r.str("access_token")))
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["user"]["username"], "Alice");
    assert_eq!(
        me.body["permissions"],
        json!(["create_keys", "view_own_usage"])
    );
    assert_eq!(me.body["models"], json!(null));
    assert!(me.body["user"]["last_login_at"].is_string());

    let audit = app
        .db
        .scalar(
            "select count(*) from audit_log where action = 'auth.login' and success",
            &[],
        )
        .await;
    assert_eq!(audit, 1);
    app.db.drop_db().await;
}

async fn a_required_password_change_blocks_everything_else_until_done(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.user("boss", Role::Admin, "temporary password 1", true)
        .await;
    let r = app
        .call(
            "/api/auth/login",
            json!({ "username": "boss", "password": "temporary password 1" }),
            None,
        )
        .await;
    assert_eq!(r.body["must_change_password"], true);
    let (access, refresh) = (r.str("access_token"), r.str("refresh_token"));

    for path in ["/api/auth/me", "/api/users/list", "/api/audit/list"] {
        app.call(path, json!({}), Some(&access))
            .await
            .assert_error(StatusCode::FORBIDDEN, "password_change_required");
    }
    let wrong = app
        .call(
            "/api/auth/change_password",
            json!({ "current_password": "nope", "new_password": "a brand new password" }),
            Some(&access),
        )
        .await;
    wrong.assert_error(StatusCode::BAD_REQUEST, "invalid");
    assert_eq!(wrong.body["subject"], "current_password");
    let short = app
        .call(
            "/api/auth/change_password",
            json!({ "current_password": "temporary password 1", "new_password": "short" }),
            Some(&access),
        )
        .await;
    short.assert_error(StatusCode::BAD_REQUEST, "invalid");
    assert_eq!(
        short.body["message"],
        "password: must be at least 12 characters long"
    );

    let changed = app
        .call(
            "/api/auth/change_password",
            json!({ "current_password": "temporary password 1", "new_password": "a brand new password" }),
            Some(&access),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["must_change_password"], false);
    // Every earlier session ended; the answer is a new one.
    app.call("/api/auth/me", json!({}), Some(&access))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.call(
        "/api/auth/refresh",
        json!({ "refresh_token": refresh }),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let me = app
        .call(
            "/api/auth/me",
            json!({}),
            Some(&changed.str("access_token")),
        )
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(
        app.call(
            "/api/users/list",
            json!({}),
            Some(&changed.str("access_token"))
        )
        .await
        .status,
        StatusCode::OK
    );
    app.login("boss", "a brand new password").await;
    app.db.drop_db().await;
}

async fn unknown_users_and_wrong_passwords_get_the_same_answer_and_are_throttled(backend: Backend) {
    let throttle = ThrottleSettings {
        max_failures_per_user: 3,
        max_failures_per_addr: 5,
        window: Duration::from_secs(600),
    };
    let app = TestApp::with(backend, AuthSettings::default(), throttle).await;
    app.user("carol", Role::User, "carol's long password", false)
        .await;

    let wrong = app
        .call(
            "/api/auth/login",
            json!({ "username": "carol", "password": "guess one" }),
            None,
        )
        .await;
    let unknown = app
        .call(
            "/api/auth/login",
            json!({ "username": "nobody", "password": "guess one" }),
            None,
        )
        .await;
    wrong.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(
        wrong.body, unknown.body,
        "no way to tell an unknown user from a wrong password"
    );
    assert_eq!(wrong.status, unknown.status);

    for _ in 0..2 {
        app.call(
            "/api/auth/login",
            json!({ "username": "CAROL", "password": "guess" }),
            None,
        )
        .await;
    }
    // Now even the right password waits: the attacker learns nothing more.
    let blocked = app
        .call_from(
            "/api/auth/login",
            json!({ "username": "carol", "password": "carol's long password" }),
            None,
            "10.9.9.9:1",
        )
        .await;
    blocked.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    let retry: u64 = blocked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    assert_eq!(blocked.body["retry_after"], retry);

    // One address spraying many usernames is stopped too, other addresses are not.
    for name in ["u1", "u2", "u3", "u4", "u5"] {
        app.call_from(
            "/api/auth/login",
            json!({ "username": name, "password": "x" }),
            None,
            "192.0.2.1:5",
        )
        .await;
    }
    app.call_from(
        "/api/auth/login",
        json!({ "username": "u6", "password": "x" }),
        None,
        "192.0.2.1:6",
    )
    .await
    .assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    app.call_from(
        "/api/auth/login",
        json!({ "username": "u6", "password": "x" }),
        None,
        "192.0.2.2:6",
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");

    let failures = app
        .db
        .scalar(
            "select count(*) from audit_log where action = 'auth.login' and not success",
            &[],
        )
        .await;
    assert!(failures >= 10, "{failures}");
    let from_addr = app
        .db
        .scalar(
            "select count(*) from audit_log where client_addr = '192.0.2.1'",
            &[],
        )
        .await;
    assert_eq!(
        from_addr, 6,
        "failed and throttled attempts are audited with their address"
    );
    app.db.drop_db().await;
}

async fn forged_expired_and_misused_tokens_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let id = app
        .user("dave", Role::User, "dave's long password", false)
        .await;
    let (access, refresh) = app.login("dave", "dave's long password").await;
    let me = |token: String| {
        let app = &app;
        async move { app.call("/api/auth/me", json!({}), Some(&token)).await }
    };
    assert_eq!(me(access.clone()).await.status, StatusCode::OK);

    let family = access_family(&access);
    let forged_key = JwtSecret::parse(&JwtSecret::generate()).unwrap();
    let forged = access::issue(&forged_key, &id, 0, &family, Duration::from_secs(60))
        .unwrap()
        .token;
    me(forged)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");

    let payload = access.split('.').nth(1).unwrap();
    let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    me(format!("{none}.{payload}."))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let hs512 = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
    me(format!(
        "{hs512}.{payload}.{}",
        access.split('.').nth(2).unwrap()
    ))
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");

    let expired = access::issue(&app.services.secrets.jwt, &id, 0, &family, Duration::ZERO)
        .unwrap()
        .token;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = me(expired).await;
    r.assert_error(StatusCode::UNAUTHORIZED, "token_expired");
    assert_eq!(r.headers["www-authenticate"], "Bearer");

    me(refresh)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    me("garbage".into())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.call("/api/auth/me", json!({}), None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");

    // A well-signed token for a user that no longer exists is refused too.
    app.db
        .exec("delete from app_user where username = 'dave'", &[])
        .await
        .unwrap();
    me(access)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.db.drop_db().await;
}

/// The session (refresh family) an access token belongs to, read from its payload.
pub fn access_family(token: &str) -> String {
    let payload = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    claims["fam"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn malformed_requests_get_a_clear_json_error() {
    let app = TestApp::new(Backend::Sqlite).await;
    let r = app
        .call("/api/auth/login", json!({ "username": "x" }), None)
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid");
    assert!(
        r.body["detail"].as_str().unwrap().contains("password"),
        "{}",
        r.body
    );
}
