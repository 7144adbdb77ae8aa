use app::server::{
    Backend, GatewaySettings, Services,
    auth::{AuthSettings, throttle::ThrottleSettings},
    testing,
};
use std::net::SocketAddr;

use app::{
    server::{
        audit::Actor,
        users::{self, NewUser},
    },
    types::Role,
};
use axum::{
    Router,
    body::Body,
    extract::ConnectInfo,
    http::{HeaderMap, Request, Response, StatusCode},
};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use secrecy::SecretString;
use serde_json::{Value, json};
use server::AppState;
use tower::ServiceExt;

/// The real router over a fresh, migrated database.
pub struct TestApp {
    pub router: Router,
    pub db: testing::TestDb,
    pub services: Services,
    secrets: testing::RawSecrets,
}

impl TestApp {
    pub async fn new(backend: Backend) -> Self {
        Self::with(
            backend,
            AuthSettings::default(),
            ThrottleSettings::default(),
        )
        .await
    }

    pub async fn with(backend: Backend, auth: AuthSettings, throttle: ThrottleSettings) -> Self {
        let db = testing::TestDb::new(backend).await;
        let settings = GatewaySettings {
            auth,
            throttle,
            ..GatewaySettings::default()
        };
        Self::with_settings(db, settings).await
    }

    /// The real router over `db` with `settings`; a second one over the same PostgreSQL
    /// database is a second gateway instance.
    pub async fn with_settings(db: testing::TestDb, settings: GatewaySettings) -> Self {
        Self::with_secrets(db, settings, testing::RawSecrets::generate()).await
    }

    /// Another instance of the same deployment: the same database (PostgreSQL) and secrets.
    pub async fn replica(&self, settings: GatewaySettings) -> Self {
        Self::with_secrets(self.db.attach().await, settings, self.secrets.clone()).await
    }

    async fn with_secrets(
        db: testing::TestDb,
        settings: GatewaySettings,
        secrets: testing::RawSecrets,
    ) -> Self {
        let leptos_options = LeptosOptions::builder()
            .output_name("portcullis")
            .site_root(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site"))
            .build();
        let services = Services::start(db.db.clone(), secrets.secrets(), settings)
            .await
            .expect("services start");
        let router = server::router(AppState::new(leptos_options, services.clone()));
        Self {
            router,
            db,
            services,
            secrets,
        }
    }

    /// `POST path` with a JSON body, as the WASM client and curl send it.
    pub async fn call(&self, path: &str, body: Value, bearer: Option<&str>) -> Reply {
        self.call_from(path, body, bearer, "127.0.0.1:40000").await
    }

    /// Like [`TestApp::call`], from the given client address.
    pub async fn call_from(
        &self,
        path: &str,
        body: Value,
        bearer: Option<&str>,
        addr: &str,
    ) -> Reply {
        let mut req = Request::post(path)
            .header("content-type", "application/json")
            .header("accept", "application/json");
        if let Some(token) = bearer {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req.body(Body::from(body.to_string())).expect("request");
        self.send(req, addr).await
    }

    /// Sends a request from client address `addr` and reads a JSON answer.
    pub async fn send(&self, mut req: Request<Body>, addr: &str) -> Reply {
        let addr: SocketAddr = addr.parse().expect("socket address");
        req.extensions_mut().insert(ConnectInfo(addr));
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        Reply {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// `GET` on `/v1` with an API key (or any bearer) from `addr`.
    pub async fn v1_get(&self, path: &str, key: &str, addr: &str) -> Reply {
        let req = Request::get(path)
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .expect("request");
        self.send(req, addr).await
    }

    /// Adds public model names, each served by an upstream nobody listens on (enough to list
    /// and authorise them; forwarding tests use `proxy::gateway`).
    pub async fn models(&self, names: &[&'static str]) {
        self.db
            .exec(
                "insert into upstream (upstream_id, name, base_url, created_at, updated_at) \
                 values ('nowhere', 'nowhere', 'http://127.0.0.1:9/v1', $1, $1) \
                 on conflict (upstream_id) do nothing",
                &[testing::Arg::Now],
            )
            .await
            .expect("insert upstream");
        for name in names {
            self.db
                .exec(
                    "insert into model (model_id, name, created_at, updated_at) values ($1, $1, $2, $2)",
                    &[testing::Arg::Text(name), testing::Arg::Now],
                )
                .await
                .expect("insert model");
            self.db
                .exec(
                    "insert into model_target (target_id, model_id, upstream_id, upstream_model) \
                     values ($1, $1, 'nowhere', $1)",
                    &[testing::Arg::Text(name)],
                )
                .await
                .expect("insert target");
        }
        self.services
            .registry
            .reload(&self.db.db, &self.services.secrets.keyring)
            .await
            .expect("reload routing");
    }

    /// Creates a user straight in the database.
    pub async fn user(
        &self,
        username: &str,
        role: Role,
        password: &str,
        must_change: bool,
    ) -> String {
        let new = NewUser {
            username: username.to_owned(),
            email: None,
            role,
            password: Some(SecretString::from(password.to_owned())),
            must_change_password: must_change,
        };
        users::create(&self.db.db, Actor::Console, new)
            .await
            .expect("create user")
            .0
            .user_id
    }

    /// A user (role `user`) with a password of their own, signed in: their access token.
    pub async fn signed_in(&self, username: &str) -> String {
        let password = format!("{username}'s long password");
        self.user(username, Role::User, &password, false).await;
        self.login(username, &password).await.0
    }

    /// A new key named `name` for whoever holds `token`: its id.
    pub async fn new_key(&self, token: &str, name: &str) -> String {
        let r = self
            .call("/api/keys/create", json!({ "name": name }), Some(token))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["key"]["api_key_id"]
            .as_str()
            .expect("key id")
            .to_owned()
    }

    /// Signs in and returns (access token, refresh token).
    pub async fn login(&self, username: &str, password: &str) -> (String, String) {
        let r = self
            .call(
                "/api/auth/login",
                json!({ "username": username, "password": password }),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login of {username}: {}", r.body);
        (r.str("access_token"), r.str("refresh_token"))
    }

    /// A signed-in administrator (password already changed): (user id, access token).
    pub async fn admin(&self) -> (String, String) {
        let id = self.user("root", Role::Admin, ADMIN_PASSWORD, false).await;
        (id, self.login("root", ADMIN_PASSWORD).await.0)
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

pub const ADMIN_PASSWORD: &str = "root password for tests";

/// A JSON answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn str(&self, key: &str) -> String {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no `{key}` in {}", self.body))
            .to_owned()
    }

    /// Asserts an OpenAI-style error answer: its status and `error.code`.
    #[track_caller]
    pub fn assert_openai_error(&self, status: StatusCode, code: &str) {
        assert_eq!(
            (self.status, self.body["error"]["code"].as_str()),
            (status, Some(code)),
            "{}",
            self.body
        );
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            self.body
        );
        assert!(self.body["error"]["type"].is_string(), "{}", self.body);
    }

    /// The ids in an OpenAI model list.
    pub fn model_ids(&self) -> Vec<String> {
        self.body["data"]
            .as_array()
            .unwrap_or_else(|| panic!("not a list: {}", self.body))
            .iter()
            .map(|m| m["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Asserts an error answer: its status and machine-readable code.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(
            (self.status, self.body["code"].as_str()),
            (status, Some(code)),
            "{}",
            self.body
        );
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            self.body
        );
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
