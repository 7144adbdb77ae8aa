//! Requests without credentials cost bounded resources: no unbounded audit rows, no hashing
//! beyond the throttle, no table a single network can fill.

use app::server::{
    Backend,
    auth::throttle::ThrottleSettings,
    sso::flow::{self, MAX_ATTEMPTS_PER_PREFIX},
};
use app::types::{Registration, Role};
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use serde_json::json;

use crate::{
    common::TestApp,
    mock_idp::MockIdp,
    sso_support::{app_with, provider, settings},
};

async fn audit_rows(app: &TestApp, action: &'static str) -> i64 {
    app.db
        .scalar(
            "select count(*) from audit_log where action = $1",
            &[app::server::testing::Arg::Text(action)],
        )
        .await
}

async fn get_from(app: &TestApp, path: &str, addr: &str) -> crate::common::Reply {
    let req = Request::get(path).body(Body::empty()).unwrap();
    app.send(req, addr).await
}

#[tokio::test]
async fn a_callback_for_a_provider_that_does_not_exist_is_a_plain_404() {
    let app = TestApp::new(Backend::Sqlite).await;
    let name = "p".repeat(20_000);
    let r = get_from(
        &app,
        &format!("/auth/sso/{name}/callback?state=x&code=y"),
        "192.0.2.1:1",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.db.scalar("select count(*) from audit_log", &[]).await,
        0
    );
}

#[tokio::test]
async fn callbacks_are_rate_limited_and_what_they_carry_is_clipped() {
    let idp = MockIdp::start().await;
    let app = app_with(
        Backend::Sqlite,
        settings(Registration::Open, vec![provider(&idp, "mock")]),
    )
    .await;
    let huge = "e".repeat(20_000);
    let path = format!("/auth/sso/mock/callback?error={huge}");
    let first = get_from(&app, &path, "192.0.2.1:1").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let details = app
        .db
        .text(
            "select details from audit_log where action = 'auth.sso'",
            &[],
        )
        .await
        .unwrap();
    assert!(
        details.len() < 1_000,
        "clipped to a bounded size: {}",
        details.len()
    );
    let allowed = server::routes::sso_start_limit::STARTS_PER_MINUTE.get();
    for _ in 1..allowed {
        get_from(&app, &path, "192.0.2.1:2").await;
    }
    // The next one from the same address is turned away.
    let refused = get_from(&app, &path, "192.0.2.1:3").await;
    assert_eq!(
        refused.headers[header::LOCATION],
        "/login?sso_error=too_many"
    );
    assert_eq!(audit_rows(&app, "auth.sso").await, i64::from(allowed));
}

#[tokio::test]
async fn one_ipv6_network_counts_as_one_address_for_sign_in_starts() {
    let idp = MockIdp::start().await;
    let app = app_with(
        Backend::Sqlite,
        settings(Registration::Open, vec![provider(&idp, "mock")]),
    )
    .await;
    let allowed = server::routes::sso_start_limit::STARTS_PER_MINUTE.get();
    for i in 0..allowed {
        let r = get_from(
            &app,
            "/auth/sso/mock/start",
            &format!("[2001:db8:7:7::{i:x}]:1"),
        )
        .await;
        assert!(
            r.headers[header::LOCATION]
                .to_str()
                .unwrap()
                .starts_with(&idp.issuer)
        );
    }
    let r = get_from(&app, "/auth/sso/mock/start", "[2001:db8:7:7:ffff::1]:1").await;
    assert_eq!(r.headers[header::LOCATION], "/login?sso_error=too_many");
    let other = get_from(&app, "/auth/sso/mock/start", "[2001:db8:7:8::1]:1").await;
    assert!(
        other.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with(&idp.issuer)
    );
}

#[tokio::test]
async fn sign_ins_in_flight_are_capped_per_client_network_not_for_everyone() {
    let idp = MockIdp::start().await;
    let app = app_with(
        Backend::Sqlite,
        settings(Registration::Open, vec![provider(&idp, "mock")]),
    )
    .await;
    let busy: std::net::IpAddr = "2001:db8:9:9::".parse().unwrap();
    for _ in 0..MAX_ATTEMPTS_PER_PREFIX {
        flow::start(&app.services, "mock", None, None, Some(busy))
            .await
            .unwrap();
    }
    let refused = flow::start(&app.services, "mock", None, None, Some(busy)).await;
    assert!(refused.is_err(), "that network is at its cap");
    let elsewhere = flow::start(
        &app.services,
        "mock",
        None,
        None,
        Some("2001:db8:9:a::".parse().unwrap()),
    )
    .await;
    assert!(elsewhere.is_ok(), "everyone else still signs in");
}

#[tokio::test]
async fn a_burst_of_sign_ins_is_held_like_a_sequence_and_recorded_once() {
    let throttle = ThrottleSettings {
        max_failures_per_user: 5,
        max_failures_per_addr: 1_000,
        window: std::time::Duration::from_secs(600),
    };
    let app = TestApp::with(Backend::Sqlite, Default::default(), throttle).await;
    app.user("bea", Role::User, "bea's long password", false)
        .await;
    let attempts = (0..30).map(|i| {
        let app = &app;
        async move {
            app.call_from(
                "/api/auth/login",
                json!({ "username": "bea", "password": "not her password!" }),
                None,
                &format!("198.51.100.{i}:1"),
            )
            .await
            .status
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(checked, 5, "only five passwords were checked: {statuses:?}");
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        25
    );
    assert_eq!(audit_rows(&app, "auth.login").await, 5);
    // One row per address refused in the window, however often it tried.
    for _ in 0..10 {
        app.call_from(
            "/api/auth/login",
            json!({ "username": "bea", "password": "not her password!" }),
            None,
            "198.51.100.250:2",
        )
        .await;
    }
    assert_eq!(audit_rows(&app, "auth.login_throttled").await, 25 + 1);
    // A name no account can have is refused before it costs anything.
    let long = app
        .call_from(
            "/api/auth/login",
            json!({ "username": "u".repeat(200_000), "password": "whatever it is" }),
            None,
            "198.51.100.200:1",
        )
        .await;
    assert_eq!(long.status, StatusCode::UNAUTHORIZED);
    assert_eq!(audit_rows(&app, "auth.login").await, 5);
}
