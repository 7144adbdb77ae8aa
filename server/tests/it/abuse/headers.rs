//! What every answer tells the browser about how to treat the site.

use app::server::{Backend, GatewaySettings, testing::TestDb};

use crate::common::TestApp;

async fn app_at(public_url: &str) -> TestApp {
    let mut settings = GatewaySettings::default();
    settings.sso.public_url = public_url.to_owned();
    TestApp::with_settings(TestDb::new(Backend::Sqlite).await, settings).await
}

#[tokio::test]
async fn a_site_served_over_https_tells_browsers_to_stay_on_https() {
    let app = app_at("https://gateway.example").await;
    for path in ["/login", "/healthz", "/v1/models"] {
        let res = app.get(path).await;
        assert_eq!(
            res.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap().to_owned())
                .as_deref(),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    let plain = app_at("http://127.0.0.1:8080").await;
    assert!(
        plain
            .get("/login")
            .await
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
}
