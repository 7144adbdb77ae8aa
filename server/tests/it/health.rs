use app::server::Backend;
use axum::http::StatusCode;
use serde_json::json;

use crate::common::{TestApp, body_json, body_text};

async fn probes_answer_and_readiness_follows_the_database(backend: Backend) {
    let app = TestApp::new(backend).await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_json(res).await, json!({ "status": "ok" }));

    let res = app.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_json(res).await, json!({ "status": "ok" }));

    app.db.db.close().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_json(res).await["status"], "unavailable");
    // Alive is not ready: the process still answers.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    app.db.drop_db().await;
}

#[tokio::test]
async fn probes_answer_and_readiness_follows_the_database_on_sqlite() {
    probes_answer_and_readiness_follows_the_database(Backend::Sqlite).await;
}

#[tokio::test]
async fn probes_answer_and_readiness_follows_the_database_on_postgres() {
    probes_answer_and_readiness_follows_the_database(Backend::Postgres).await;
}

#[tokio::test]
async fn readiness_fails_while_a_migration_is_missing() {
    let app = TestApp::new(Backend::Sqlite).await;
    app.db
        .exec("delete from _sqlx_migrations", &[])
        .await
        .expect("forget the applied migrations");
    assert_eq!(
        app.get("/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn pages_are_server_rendered_with_security_headers() {
    let app = TestApp::new(Backend::Sqlite).await;
    let res = app.get("/").await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    // The policy's nonce is the one on the inline hydration script, and differs per response.
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"),
        "{csp}"
    );
    let html = body_text(res).await;
    assert!(html.contains(&format!(r#"nonce="{nonce}""#)), "{html}");
    // The server renders no user data: pages load it after hydration.
    assert!(html.contains("Loading…"), "{html}");
    let again = app.get("/").await;
    assert!(
        !again.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(&nonce)
    );
    assert!(
        body_text(app.get("/login").await)
            .await
            .contains("<h1>Sign in</h1>")
    );
    assert!(
        html.contains("/pkg/portcullis.js"),
        "hydration script is referenced"
    );
    assert!(html.contains(r#"href="/pkg/portcullis.css""#));

    let res = app.get("/does-not-exist").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(body_text(res).await.contains("Page not found"));
}

#[tokio::test]
async fn the_status_server_function_reports_readiness() {
    let app = TestApp::new(Backend::Sqlite).await;
    let res = app.get("/api/status").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = body_json(res).await;
    assert_eq!(body["ready"], true);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}
