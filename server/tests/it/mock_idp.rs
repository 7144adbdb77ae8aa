//! A mock OpenID Connect provider on loopback: discovery, authorization, token, userinfo and
//! JWKS endpoints, RS256 ID tokens. It checks what a real provider checks (single-use codes,
//! the redirect URI, the PKCE verifier, the client's credentials) and can be told to misbehave
//! the ways a hostile or broken provider would.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
};

use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::{RsaPrivateKey, pkcs1::EncodeRsaPrivateKey, traits::PublicKeyParts};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "portcullis-test";
pub const CLIENT_SECRET: &str = "mock-client-secret-0123456789";

/// A signing key: the private half for the mock, the public half as a JWK.
struct Key {
    kid: &'static str,
    encoding: EncodingKey,
    jwk: Value,
}

fn key(kid: &'static str) -> Key {
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key");
    let der = private.to_pkcs1_der().expect("DER");
    let b64 = |b: Vec<u8>| URL_SAFE_NO_PAD.encode(b);
    Key {
        kid,
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        jwk: json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64(private.n().to_bytes_be()), "e": b64(private.e().to_bytes_be()),
        }),
    }
}

/// Made once per test process: RSA key generation is slow.
static PUBLISHED: LazyLock<Key> = LazyLock::new(|| key("k1"));
static UNPUBLISHED: LazyLock<Key> = LazyLock::new(|| key("k2"));

/// Who signs in next, as the provider describes them.
#[derive(Debug, Clone)]
pub struct Person {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub preferred_username: Option<String>,
    pub groups: Vec<String>,
    /// Extra claims, merged into the ID token.
    pub extra: Value,
}

impl Person {
    pub fn new(sub: &str, email: &str) -> Self {
        Self {
            sub: sub.into(),
            email: Some(email.into()),
            email_verified: true,
            preferred_username: email.split('@').next().map(str::to_owned),
            groups: Vec::new(),
            extra: json!({}),
        }
    }
}

/// Ways to break the next ID token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    None,
    WrongNonce,
    WrongIssuer,
    WrongAudience,
    Expired,
    /// Signed by a key the JWKS does not list.
    UnknownKey,
    /// Signed by an unlisted key that claims a listed key's id.
    ForgedSignature,
}

struct Code {
    person: Person,
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

struct Inner {
    issuer: String,
    person: Person,
    tamper: Tamper,
    codes: HashMap<String, Code>,
    publish_second_key: bool,
    jwks_fetches: usize,
    token_requests: usize,
}

#[derive(Clone)]
pub struct MockIdp {
    pub issuer: String,
    inner: Arc<Mutex<Inner>>,
}

impl MockIdp {
    pub async fn start() -> Self {
        LazyLock::force(&PUBLISHED);
        LazyLock::force(&UNPUBLISHED);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Mutex::new(Inner {
            issuer: issuer.clone(),
            person: Person::new("sub-alice", "alice@example.com"),
            tamper: Tamper::None,
            codes: HashMap::new(),
            publish_second_key: false,
            jwks_fetches: 0,
            token_requests: 0,
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .route("/userinfo", get(userinfo))
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { issuer, inner }
    }

    pub fn person(&self, p: Person) {
        self.inner.lock().unwrap().person = p;
    }

    pub fn tamper(&self, t: Tamper) {
        self.inner.lock().unwrap().tamper = t;
    }

    /// Rotates keys: the second key joins the published set.
    pub fn publish_second_key(&self) {
        self.inner.lock().unwrap().publish_second_key = true;
    }

    pub fn jwks_fetches(&self) -> usize {
        self.inner.lock().unwrap().jwks_fetches
    }

    pub fn token_requests(&self) -> usize {
        self.inner.lock().unwrap().token_requests
    }

    /// A JWT the provider issued for `aud`, about `sub`, expiring in `ttl_secs` (negative: in
    /// the past), signed by the published key, or by `UnknownKey`'s.
    pub fn bearer(&self, sub: &str, aud: &str, ttl_secs: i64, key: Tamper) -> String {
        let now = chrono::Utc::now().timestamp();
        let (issuer, email) = {
            let inner = self.inner.lock().unwrap();
            (inner.issuer.clone(), format!("{sub}@example.com"))
        };
        let claims = json!({
            "iss": issuer, "aud": aud, "sub": sub, "iat": now, "exp": now + ttl_secs,
            "email": email, "email_verified": true, "preferred_username": sub,
        });
        let signer = if key == Tamper::UnknownKey {
            &*UNPUBLISHED
        } else {
            &*PUBLISHED
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(signer.kid.to_owned());
        jsonwebtoken::encode(&header, &claims, &signer.encoding).unwrap()
    }
}

type Shared = Arc<Mutex<Inner>>;

async fn discovery(State(s): State<Shared>) -> Json<Value> {
    let issuer = s.lock().unwrap().issuer.clone();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

/// Signs the person in at once (no login page) and sends the browser back with a code.
async fn authorize(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("response_type") != "code" {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").is_empty() {
        return (StatusCode::BAD_REQUEST, "PKCE S256 is required").into_response();
    }
    let code = format!("code-{}", uuid_like());
    let mut inner = s.lock().unwrap();
    let person = inner.person.clone();
    inner.codes.insert(
        code.clone(),
        Code {
            person,
            nonce: get("nonce"),
            challenge: get("code_challenge"),
            redirect_uri: get("redirect_uri"),
        },
    );
    let sep = if get("redirect_uri").contains('?') {
        '&'
    } else {
        '?'
    };
    Redirect::to(&format!(
        "{}{sep}code={code}&state={}",
        get("redirect_uri"),
        get("state")
    ))
    .into_response()
}

fn uuid_like() -> String {
    let mut b = [0u8; 16];
    rsa::rand_core::RngCore::fill_bytes(&mut rsa::rand_core::OsRng, &mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn oauth_error(code: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": code, "error_description": code })),
    )
        .into_response()
}

async fn token(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let mut inner = s.lock().unwrap();
    inner.token_requests += 1;
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&expected)
    {
        return oauth_error("invalid_client");
    }
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    if get("grant_type") != "authorization_code" {
        return oauth_error("unsupported_grant_type");
    }
    // Codes are single-use, as RFC 6749 4.1.2 demands.
    let Some(code) = inner.codes.remove(&get("code")) else {
        return oauth_error("invalid_grant");
    };
    if code.redirect_uri != get("redirect_uri") {
        return oauth_error("invalid_grant");
    }
    let verifier_ok =
        URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes())) == code.challenge;
    if !verifier_ok {
        return oauth_error("invalid_grant");
    }
    let now = chrono::Utc::now().timestamp();
    let p = &code.person;
    let mut claims = json!({
        "iss": inner.issuer, "aud": CLIENT_ID, "sub": p.sub, "iat": now, "exp": now + 300,
        "nonce": code.nonce, "email": p.email, "email_verified": p.email_verified,
        "preferred_username": p.preferred_username, "groups": p.groups,
    });
    if let (Value::Object(c), Value::Object(extra)) = (&mut claims, &p.extra) {
        c.extend(extra.clone());
    }
    let (kid, key) = match inner.tamper {
        Tamper::WrongNonce => {
            claims["nonce"] = json!("another-nonce");
            (PUBLISHED.kid, &PUBLISHED.encoding)
        }
        Tamper::WrongIssuer => {
            claims["iss"] = json!("https://evil.example.com");
            (PUBLISHED.kid, &PUBLISHED.encoding)
        }
        Tamper::WrongAudience => {
            claims["aud"] = json!("another-client");
            (PUBLISHED.kid, &PUBLISHED.encoding)
        }
        Tamper::Expired => {
            claims["iat"] = json!(now - 3600);
            claims["exp"] = json!(now - 600);
            (PUBLISHED.kid, &PUBLISHED.encoding)
        }
        Tamper::UnknownKey => (UNPUBLISHED.kid, &UNPUBLISHED.encoding),
        Tamper::ForgedSignature => (PUBLISHED.kid, &UNPUBLISHED.encoding),
        Tamper::None => (PUBLISHED.kid, &PUBLISHED.encoding),
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let id_token = jsonwebtoken::encode(&header, &claims, key).unwrap();
    Json(json!({
        "access_token": format!("at-{}", p.sub), "token_type": "Bearer", "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

async fn jwks(State(s): State<Shared>) -> Json<Value> {
    let mut inner = s.lock().unwrap();
    inner.jwks_fetches += 1;
    let mut keys = vec![PUBLISHED.jwk.clone()];
    if inner.publish_second_key {
        keys.push(UNPUBLISHED.jwk.clone());
    }
    Json(json!({ "keys": keys }))
}

async fn userinfo(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let inner = s.lock().unwrap();
    let p = &inner.person;
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer at-{}", p.sub))
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({ "sub": p.sub, "email": p.email, "email_verified": p.email_verified }))
        .into_response()
}
