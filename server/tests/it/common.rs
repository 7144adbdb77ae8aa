use std::sync::Arc;

use app::server::{Backend, Services, testing};
use axum::{
    Router,
    body::Body,
    http::{Request, Response},
};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use server::AppState;
use tower::ServiceExt;

/// The real router over a fresh, migrated database.
pub struct TestApp {
    pub router: Router,
    pub db: testing::TestDb,
}

impl TestApp {
    pub async fn new(backend: Backend) -> Self {
        let db = testing::TestDb::new(backend).await;
        let leptos_options = LeptosOptions::builder()
            .output_name("portcullis")
            .site_root(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site"))
            .build();
        let services = Services {
            db: db.db.clone(),
            secrets: Arc::new(testing::secrets()),
        };
        let router = server::router(AppState {
            leptos_options,
            services,
        });
        Self { router, db }
    }

    pub async fn get(&self, path: &str) -> Response<Body> {
        let req = Request::get(path).body(Body::empty()).expect("request");
        self.router
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible")
    }
}

pub async fn body_json(res: Response<Body>) -> serde_json::Value {
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

pub async fn body_text(res: Response<Body>) -> String {
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("UTF-8 body")
}
