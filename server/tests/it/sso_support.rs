//! Driving an external sign-in through the real router and the mock provider, as a browser
//! would: start, the provider's authorization endpoint, the callback, the hand-off.

use app::server::{
    Backend, GatewaySettings,
    sso::{ProviderKind, ProviderSpec, SsoSettings},
    testing,
};
use app::types::Registration;
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::{
    common::TestApp,
    mock_idp::{CLIENT_ID, CLIENT_SECRET, MockIdp},
};

pub const PUBLIC_URL: &str = "http://127.0.0.1:8080";

pub fn provider(idp: &MockIdp, name: &str) -> ProviderSpec {
    provider_with_kind(
        name,
        ProviderKind::Oidc {
            issuer: idp.issuer.clone(),
        },
    )
}

pub fn provider_with_kind(name: &str, kind: ProviderKind) -> ProviderSpec {
    ProviderSpec {
        name: name.into(),
        display_name: format!("Mock {name}"),
        scopes: ProviderSpec::default_scopes(&kind),
        kind,
        client_id: CLIENT_ID.into(),
        client_secret: Some(SecretString::from(CLIENT_SECRET)),
        link_verified_email: false,
        groups_claim: "groups".into(),
        admin_groups: vec![],
        allowed_groups: vec![],
        models_claim: None,
        bearer: None,
    }
}

pub fn settings(registration: Registration, providers: Vec<ProviderSpec>) -> SsoSettings {
    SsoSettings {
        public_url: PUBLIC_URL.into(),
        registration,
        providers,
        ..SsoSettings::default()
    }
}

pub async fn app_with(backend: Backend, sso: SsoSettings) -> TestApp {
    let db = testing::TestDb::new(backend).await;
    TestApp::with_settings(
        db,
        GatewaySettings {
            sso,
            ..GatewaySettings::default()
        },
    )
    .await
}

/// A browser's part of one attempt.
pub struct Attempt {
    /// The provider's authorization URL we were sent to.
    pub authorize: String,
    /// `name=value` of the cookie that binds the attempt to this browser.
    pub cookie: String,
}

pub async fn begin(app: &TestApp, provider: &str, query: &str) -> Attempt {
    let req = Request::get(format!("/auth/sso/{provider}/start{query}"))
        .body(Body::empty())
        .unwrap();
    let r = app.send(req, "127.0.0.1:40000").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{:?}", r.headers);
    let set_cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    Attempt {
        authorize: r.headers[header::LOCATION].to_str().unwrap().to_owned(),
        cookie: set_cookie.split(';').next().unwrap().to_owned(),
    }
}

/// The provider signs the person in and sends the browser back: the callback's path and query.
pub async fn at_provider(authorize: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http.get(authorize).send().await.unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    back.strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("sent back elsewhere: {back}"))
        .to_owned()
}

/// The browser arrives at the callback; returns where it is sent next.
pub async fn arrive(app: &TestApp, callback: &str, cookie: Option<&str>) -> String {
    let mut req = Request::get(callback);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let r = app
        .send(req.body(Body::empty()).unwrap(), "127.0.0.1:40000")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{:?}", r.headers);
    r.headers[header::LOCATION].to_str().unwrap().to_owned()
}

/// The web app trades the hand-off code for a session.
pub async fn hand_off(app: &TestApp, location: &str) -> crate::common::Reply {
    let code = location
        .strip_prefix("/login/sso#code=")
        .unwrap_or_else(|| panic!("not a hand-off: {location}"));
    app.call("/api/auth/sso_finish", json!({ "code": code }), None)
        .await
}

/// A whole sign-in: the session on success, else the error code the sign-in page gets.
pub async fn sign_in(app: &TestApp, provider: &str, query: &str) -> Result<Value, String> {
    let a = begin(app, provider, query).await;
    let callback = at_provider(&a.authorize).await;
    let location = arrive(app, &callback, Some(&a.cookie)).await;
    if let Some(code) = location.strip_prefix("/login?sso_error=") {
        return Err(code.to_owned());
    }
    let r = hand_off(app, &location).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    Ok(r.body)
}

/// The reason the audit log gives for the last failed external sign-in.
pub async fn last_failure(app: &TestApp) -> String {
    app.db
        .text(
            "select details from audit_log where action = 'auth.sso' and not success \
             order by audit_id desc limit 1",
            &[],
        )
        .await
        .unwrap_or_default()
}

/// A gateway whose provider `mock` vouches for its own JWTs (audience `portcullis-api`) on `/v1`
/// too, with one model, `llama`.
pub async fn bearer_on_v1(idp: &MockIdp, registration: Registration) -> TestApp {
    use app::server::sso::settings::BearerSpec;
    let mut p = provider(idp, "mock");
    p.bearer = Some(BearerSpec {
        audience: "portcullis-api".into(),
        on_v1: true,
    });
    let app = app_with(Backend::Sqlite, settings(registration, vec![p])).await;
    app.models(&["llama"]).await;
    app
}
