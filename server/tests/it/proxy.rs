//! `/v1` forwarding: body passthrough, model rewrite, credentials, streaming, fail-over, errors.

use std::{collections::HashMap, time::Duration};

use app::server::{
    Backend,
    upstreams::config::{self, ModelSpec, TargetSpec, UpstreamSpec},
};
use app::types::{Role, UpstreamApi};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt;
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{
    common::TestApp,
    mock_upstream::{Behaviour, MockUpstream},
};

const HERE: &str = "127.0.0.1:40000";

/// A gateway whose model `llama` is served by the given upstreams, in order, each knowing it as
/// `upstream-llama`; and a key for it.
pub async fn gateway(upstreams: &[&MockUpstream]) -> (TestApp, String) {
    gateway_with(upstreams, Duration::from_secs(5)).await
}

/// [`gateway`], with upstreams that give up after `idle_timeout` of silence.
pub async fn gateway_with(
    upstreams: &[&MockUpstream],
    idle_timeout: Duration,
) -> (TestApp, String) {
    gateway_in(TestApp::new(Backend::Sqlite).await, upstreams, idle_timeout).await
}

/// [`gateway_with`] on an app built by the caller.
pub async fn gateway_in(
    app: TestApp,
    upstreams: &[&MockUpstream],
    idle_timeout: Duration,
) -> (TestApp, String) {
    let upstreams: Vec<(&str, UpstreamApi)> = upstreams
        .iter()
        .map(|u| (u.base_url.as_str(), UpstreamApi::Openai))
        .collect();
    gateway_speaking(app, &upstreams, idle_timeout).await
}

/// [`gateway_in`] for upstreams given by base URL and the API each speaks.
pub async fn gateway_speaking(
    app: TestApp,
    upstreams: &[(&str, UpstreamApi)],
    idle_timeout: Duration,
) -> (TestApp, String) {
    let specs: Vec<UpstreamSpec> = upstreams
        .iter()
        .enumerate()
        .map(|(i, (base_url, api))| UpstreamSpec {
            name: format!("up{i}"),
            base_url: (*base_url).to_owned(),
            api: *api,
            credential: Some(SecretString::from(format!("upstream-secret-{i}"))),
            headers: HashMap::from([("x-extra".to_owned(), "yes".to_owned())]),
            connect_timeout: Duration::from_secs(2),
            idle_timeout,
            discover_models: false,
            extra_paths: Vec::new(),
        })
        .collect();
    let targets = (0..upstreams.len())
        .map(|i| TargetSpec {
            upstream: format!("up{i}"),
            model: Some("upstream-llama".into()),
            weight: 1,
        })
        .collect();
    let models = vec![
        ModelSpec {
            name: "llama".into(),
            targets,
            ..ModelSpec::default()
        },
        ModelSpec {
            name: "secret-model".into(),
            targets: vec![TargetSpec {
                upstream: "up0".into(),
                model: None,
                weight: 1,
            }],
            ..ModelSpec::default()
        },
    ];
    config::apply(&app.db.db, &app.services.secrets.keyring, &specs, &models)
        .await
        .unwrap();
    app.services
        .registry
        .reload(&app.db.db, &app.services.secrets.keyring)
        .await
        .unwrap();
    app.user("pat", Role::User, "pat's long password", false)
        .await;
    let (pat, _) = app.login("pat", "pat's long password").await;
    let key = app
        .call(
            "/api/keys/create",
            json!({ "name": "k", "models": ["llama"] }),
            Some(&pat),
        )
        .await
        .str("secret");
    (app, key)
}

pub async fn post(app: &TestApp, path: &str, key: &str, body: String) -> (StatusCode, String) {
    let (status, _, text) = post_with_headers(app, path, key, body).await;
    (status, text)
}

pub async fn post_with_headers(
    app: &TestApp,
    path: &str,
    key: &str,
    body: String,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let req = Request::post(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let mut req = req;
    req.extensions_mut().insert(axum::extract::ConnectInfo(
        HERE.parse::<std::net::SocketAddr>().unwrap(),
    ));
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[tokio::test]
async fn a_chat_request_is_forwarded_as_sent_with_the_model_rewritten_and_the_upstream_credential()
{
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let body = json!({ "model": "llama", "messages": [{ "role": "user", "content": "hi" }], "temperature": 0.2, "vendor_extension": { "x": 1 } });
    let (status, headers, text) =
        post_with_headers(&app, "/v1/chat/completions", &key, body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let overhead: u64 = headers["x-portcullis-overhead-us"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(overhead < 1_000_000, "{overhead}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "hello from alpha"
    );
    assert_eq!(
        answer["served_by"], "alpha",
        "unknown response fields pass through"
    );

    let got = up.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/v1/chat/completions");
    assert_eq!(got[0].body["model"], "upstream-llama");
    assert_eq!(got[0].body["vendor_extension"], json!({ "x": 1 }));
    assert_eq!(got[0].body["temperature"], 0.2);
    assert_eq!(
        got[0].authorization.as_deref(),
        Some("Bearer upstream-secret-0"),
        "the client's key is never forwarded"
    );

    for path in ["/v1/completions", "/v1/embeddings"] {
        let (status, text) = post(
            &app,
            path,
            &key,
            json!({ "model": "llama", "input": "x", "prompt": "x" }).to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}: {text}");
    }
    assert_eq!(up.received().last().unwrap().path, "/v1/embeddings");
    // Credentials are sealed at rest.
    let plain = app
        .db
        .scalar(
            "select count(*) from upstream where credential_sealed like '%upstream-secret%'",
            &[],
        )
        .await;
    assert_eq!(plain, 0);
}

#[tokio::test]
async fn a_streamed_answer_is_relayed_as_server_sent_events() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let (status, text) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama", "stream": true, "messages": [] }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 3, "{text}");
    assert!(
        events[0].contains(r#""content":"Hel""#) && events[1].contains(r#""content":"lo""#),
        "{text}"
    );
    assert_eq!(events[2], "data: [DONE]");
}

#[tokio::test]
async fn a_failing_target_is_skipped_and_cooled_down() {
    let (a, b) = (
        MockUpstream::start("alpha").await,
        MockUpstream::start("beta").await,
    );
    let (app, key) = gateway(&[&a, &b]).await;
    a.set(Behaviour::Fail(503));
    for _ in 0..4 {
        let (status, text) = post(
            &app,
            "/v1/chat/completions",
            &key,
            json!({ "model": "llama", "messages": [] }).to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert!(text.contains("hello from beta"), "{text}");
    }
    assert!(
        a.received().len() <= 1,
        "a failed target is left alone while it cools down: {}",
        a.received().len()
    );

    b.set(Behaviour::Fail(429));
    let (status, text) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama", "messages": [] }).to_string(),
    )
    .await;
    assert!(
        status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS,
        "{status} {text}"
    );
    let err: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        err["error"]["code"], "mock_failure",
        "an upstream's own error passes through: {text}"
    );
}

#[tokio::test]
async fn bad_requests_and_unreachable_upstreams_get_openai_errors() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let big = format!(
        r#"{{"model":"llama","pad":"{}"}}"#,
        "x".repeat(app::server::services::DEFAULT_V1_BODY_LIMIT)
    );
    let cases = [
        (
            key.as_str(),
            "{not json".to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            &key,
            json!({ "model": "secret-model" }).to_string(),
            StatusCode::FORBIDDEN,
            "model_not_allowed",
        ),
        (
            "sk-pc-nope",
            json!({ "model": "llama" }).to_string(),
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
        ),
        (
            &key,
            big,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (k, body, status, code) in cases {
        let (s, t) = post(&app, "/v1/chat/completions", k, body).await;
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{t}"
        );
    }
    let (s, t) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "messages": [] }).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        serde_json::from_str::<Value>(&t).unwrap()["error"]["param"],
        "model"
    );
    assert!(up.received().is_empty(), "nothing reached the upstream");

    // An upstream nobody listens on any more.
    up.stop().await;
    let (s, t) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama" }).to_string(),
    )
    .await;
    let v: Value = serde_json::from_str(&t).unwrap();
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_GATEWAY, Some("upstream_unreachable")),
        "{t}"
    );
}

fn streamed_request(key: &str, body: Value) -> Request<Body> {
    let mut req = Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {key}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(
        HERE.parse::<std::net::SocketAddr>().unwrap(),
    ));
    req
}

#[tokio::test]
async fn the_first_chunk_reaches_the_client_before_the_upstream_sends_the_next() {
    let up = MockUpstream::start("alpha").await;
    up.set(Behaviour::Gated);
    let (app, key) = gateway(&[&up]).await;
    let req = streamed_request(&key, json!({ "model": "llama", "stream": true }));
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body();
    // The upstream holds its second chunk until the gate opens: the first must arrive anyway.
    let first = tokio::time::timeout(Duration::from_secs(2), body.frame())
        .await
        .expect("the first chunk was held back")
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("first"));
    up.open_gate();
    let rest = body.collect().await.unwrap().to_bytes();
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        rest.contains("second") && rest.ends_with("data: [DONE]\n\n"),
        "{rest}"
    );
}

#[tokio::test]
async fn an_upstream_that_falls_silent_mid_stream_times_out_with_an_error_event() {
    let up = MockUpstream::start("alpha").await;
    up.set(Behaviour::Stall);
    let (app, key) = gateway_with(&[&up], Duration::from_millis(400)).await;
    let started = std::time::Instant::now();
    let (status, text) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama", "stream": true }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "headers were already sent");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the stream ended"
    );
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 2, "{text}");
    let error: Value = serde_json::from_str(events[1].strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(error["error"]["code"], "upstream_timeout", "{text}");
    assert_eq!(error["error"]["type"], "upstream_error", "{text}");
}

#[tokio::test]
async fn an_upstream_that_never_answers_gets_504_and_a_cool_down() {
    let (slow, fine) = (
        MockUpstream::start("slow").await,
        MockUpstream::start("fine").await,
    );
    slow.set(Behaviour::Hang);
    let (app, key) = gateway_with(&[&slow], Duration::from_millis(400)).await;
    let (status, text) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama", "messages": [] }).to_string(),
    )
    .await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::GATEWAY_TIMEOUT, Some("upstream_timeout")),
        "{text}"
    );

    // With a second target, the hanging one is skipped after its timeout and cooled down.
    let (app, key) = gateway_with(&[&slow, &fine], Duration::from_millis(400)).await;
    // Ties between idle targets are broken at random: go on until the hanging one was tried.
    let tried = slow.received().len();
    for _ in 0..20 {
        if slow.received().len() > tried {
            break;
        }
        let (status, text) = post(
            &app,
            "/v1/chat/completions",
            &key,
            json!({ "model": "llama", "messages": [] }).to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert!(text.contains("hello from fine"), "{text}");
    }
    let health = app
        .services
        .registry
        .model("llama")
        .unwrap()
        .ordered()
        .into_iter()
        .map(|t| (t.upstream.name.clone(), t.health.snapshot()))
        .collect::<HashMap<_, _>>();
    assert_eq!(
        slow.received().len(),
        tried + 1,
        "the hanging target was tried once"
    );
    assert!(
        health["up0"].failures == 1 && health["up0"].cooling_down_ms.is_some(),
        "{health:?}"
    );
    assert!(
        health["up0"]
            .last_failure
            .as_deref()
            .unwrap()
            .contains("timed out"),
        "{health:?}"
    );
    assert!(health["up1"].successes >= 1, "{health:?}");
}

#[tokio::test]
async fn the_body_limit_is_the_deployments_choice() {
    let up = MockUpstream::start("alpha").await;
    let settings = app::server::GatewaySettings {
        v1_body_limit: 1024,
        ..Default::default()
    };
    let app = TestApp::with_settings(
        app::server::testing::TestDb::new(Backend::Sqlite).await,
        settings,
    )
    .await;
    let (app, key) = gateway_in(app, &[&up], Duration::from_secs(5)).await;
    let body = |pad: usize| json!({ "model": "llama", "pad": "x".repeat(pad) }).to_string();
    let (status, text) = post(&app, "/v1/chat/completions", &key, body(900)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, text) = post(&app, "/v1/chat/completions", &key, body(2000)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert_eq!(up.received().len(), 1, "the large body never left");
}

/// The body leaves as the client wrote it, the model aside: key order, spacing and number digits
/// an upstream may care about (a seed past 2^63, a temperature of 0.70) are not re-encoded. A
/// field the gateway reads that appears twice is refused: it could be read one way here (the
/// allowlist) and another way upstream.
#[tokio::test]
async fn the_body_goes_out_byte_for_byte_but_the_model() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let body = r#"{"temperature": 0.70, "model": "llama", "seed": 18446744073709551615, "messages": [{"role": "user", "content": "hi"}]}"#;
    let (status, text) = post(&app, "/v1/chat/completions", &key, body.to_owned()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        up.received()[0].raw,
        body.replace(r#""model": "llama""#, r#""model": "upstream-llama""#)
    );

    let twice = r#"{"model": "llama", "model": "secret-model"}"#;
    let (status, text) = post(&app, "/v1/chat/completions", &key, twice.to_owned()).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{text}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("duplicate field `model`"),
        "{text}"
    );
    assert_eq!(up.received().len(), 1, "the refused body never left");
}
