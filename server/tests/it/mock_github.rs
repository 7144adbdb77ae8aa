//! A mock of GitHub's OAuth and REST endpoints: authorize, access_token (which, like GitHub,
//! answers errors with status 200), /user, /user/emails and /user/orgs.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "Iv1.mockgithub";
pub const CLIENT_SECRET: &str = "mock-github-secret-0123456789";

#[derive(Debug, Clone)]
pub struct GithubUser {
    pub id: u64,
    pub login: String,
    pub email: String,
    pub verified: bool,
    pub orgs: Vec<String>,
}

struct Inner {
    user: GithubUser,
    /// code -> PKCE challenge
    codes: HashMap<String, String>,
    next: u64,
}

#[derive(Clone)]
pub struct MockGithub {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl MockGithub {
    pub async fn start(user: GithubUser) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Mutex::new(Inner {
            user,
            codes: HashMap::new(),
            next: 0,
        }));
        let app = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/api/user", get(profile))
            .route("/api/user/emails", get(emails))
            .route("/api/user/orgs", get(orgs))
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, inner }
    }

    pub fn user(&self, u: GithubUser) {
        self.inner.lock().unwrap().user = u;
    }
}

type Shared = Arc<Mutex<Inner>>;

async fn authorize(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID {
        return (StatusCode::BAD_REQUEST, "unknown client").into_response();
    }
    let mut inner = s.lock().unwrap();
    inner.next += 1;
    let code = format!("ghcode{}", inner.next);
    inner.codes.insert(code.clone(), get("code_challenge"));
    Redirect::to(&format!(
        "{}?code={code}&state={}",
        get("redirect_uri"),
        get("state")
    ))
    .into_response()
}

async fn access_token(
    State(s): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut inner = s.lock().unwrap();
    let challenge = inner.codes.remove(&get("code"));
    let verifier = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return Json(json!({ "error": "incorrect_client_credentials" }));
    }
    if challenge.as_deref() != Some(verifier.as_str()) {
        return Json(json!({ "error": "bad_verification_code" }));
    }
    Json(
        json!({ "access_token": format!("gho_{}", inner.user.id), "token_type": "bearer", "scope": "read:user,user:email" }),
    )
}

fn authorised(inner: &Inner, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer gho_{}", inner.user.id))
}

async fn profile(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let inner = s.lock().unwrap();
    if !authorised(&inner, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let u = &inner.user;
    Json(json!({ "id": u.id, "login": u.login, "name": null, "email": null })).into_response()
}

async fn emails(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let inner = s.lock().unwrap();
    if !authorised(&inner, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let u = &inner.user;
    Json(json!([
        { "email": "noreply@users.example", "primary": false, "verified": true },
        { "email": u.email, "primary": true, "verified": u.verified },
    ]))
    .into_response()
}

async fn orgs(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let inner = s.lock().unwrap();
    if !authorised(&inner, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let orgs: Vec<Value> = inner
        .user
        .orgs
        .iter()
        .map(|o| json!({ "login": o }))
        .collect();
    Json(json!(orgs)).into_response()
}
