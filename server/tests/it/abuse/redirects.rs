//! Where a sign-in sends the browser afterwards is a path on this site, however it is spelled.

use app::server::Backend;
use app::types::Registration;
use serde_json::Value;

use crate::{
    mock_idp::MockIdp,
    sso_support::{app_with, provider, settings, sign_in},
};

#[tokio::test]
async fn a_next_that_a_browser_reads_as_another_host_is_dropped() {
    let idp = MockIdp::start().await;
    let app = app_with(
        Backend::Sqlite,
        settings(Registration::Open, vec![provider(&idp, "mock")]),
    )
    .await;
    // `/\evil.example` and `/<tab>/evil.example`: browsers take both for `//evil.example`.
    for next in ["/%5Cevil.example", "/%09/evil.example", "//evil.example"] {
        let session = sign_in(&app, "mock", &format!("?next={next}"))
            .await
            .unwrap();
        assert_eq!(session["next"], Value::Null, "{next}: {session}");
    }
    let session = sign_in(&app, "mock", "?next=/keys").await.unwrap();
    assert_eq!(session["next"], "/keys");
}
