//! `/metrics`: what it counts, that Prometheus' own parsers read it, and its optional token.

use std::{io::Write, process::Stdio, time::Duration};

use app::server::{Backend, GatewaySettings};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{
    common::{TestApp, body_text},
    mock_upstream::MockUpstream,
    openai_sdk::python,
    proxy::{gateway_in, post},
};

async fn scrape(app: &TestApp, token: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::get("/metrics");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = app
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, body_text(res).await)
}

/// Every sample, as the official Python client's OpenMetrics parser reads it (the script also
/// runs the classic text parser and fails if either rejects the text).
fn parse(text: &str) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/parse_metrics.py");
    let mut child = std::process::Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parsers rejected the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn value(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .and_then(|s| s["value"].as_f64())
}

#[tokio::test]
async fn metrics_count_traffic_errors_latency_tokens_refusals_and_target_health() {
    let up = MockUpstream::start("alpha").await;
    let app = TestApp::new(Backend::Sqlite).await;
    let (app, key) = gateway_in(app, &[&up], Duration::from_secs(5)).await;
    let chat = json!({ "model": "llama", "messages": [] }).to_string();
    for _ in 0..2 {
        assert_eq!(
            post(&app, "/v1/chat/completions", &key, chat.clone())
                .await
                .0,
            StatusCode::OK
        );
    }
    let streamed = json!({ "model": "llama", "stream": true, "messages": [] }).to_string();
    assert_eq!(
        post(&app, "/v1/chat/completions", &key, streamed).await.0,
        StatusCode::OK
    );
    assert_eq!(
        post(
            &app,
            "/v1/chat/completions",
            "sk-pc-nope-nope",
            chat.clone()
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    let unknown = json!({ "model": "made-up-by-a-client", "messages": [] }).to_string();
    assert_eq!(
        post(&app, "/v1/chat/completions", &key, unknown).await.0,
        StatusCode::FORBIDDEN
    );

    let (status, content_type, text) = scrape(&app, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let samples = parse(&text);
    let ok = [
        ("endpoint", "chat/completions"),
        ("model", "llama"),
        ("status", "200"),
    ];
    assert_eq!(value(&samples, "portcullis_requests_total", &ok), Some(3.0));
    assert_eq!(
        value(
            &samples,
            "portcullis_errors_total",
            &[("code", "invalid_api_key"), ("model", "")]
        ),
        Some(1.0)
    );
    assert!(
        !text.contains("made-up-by-a-client"),
        "a model the routing table does not know never becomes a label"
    );
    assert_eq!(
        value(
            &samples,
            "portcullis_overhead_seconds_count",
            &[("endpoint", "chat/completions")]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &samples,
            "portcullis_stream_first_byte_seconds_count",
            &[("model", "llama")]
        ),
        Some(1.0)
    );
    // 2 plain answers of 3 prompt tokens and a stream of 5.
    assert_eq!(
        value(
            &samples,
            "portcullis_tokens_total",
            &[("model", "llama"), ("kind", "prompt")]
        ),
        Some(11.0)
    );
    assert_eq!(
        value(&samples, "portcullis_usage_events_dropped_total", &[]),
        Some(0.0)
    );
    assert!(value(&samples, "portcullis_usage_queue_depth", &[]).is_some());
    // The key cache: the one key, the revision it applied, loaded whole only at start.
    assert_eq!(
        value(&samples, "portcullis_api_keys_cached", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "portcullis_access_revision", &[]),
        Some(app.services.keys.revision() as f64)
    );
    assert!(app.services.keys.revision() > 0);
    assert_eq!(
        value(&samples, "portcullis_key_cache_full_loads_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "portcullis_upstream_target_up",
            &[("model", "llama"), ("upstream", "up0")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn limit_refusals_are_counted_by_scope_and_limit() {
    let up = MockUpstream::start("alpha").await;
    let app = TestApp::new(Backend::Sqlite).await;
    let (app, key) = gateway_in(app, &[&up], Duration::from_secs(5)).await;
    let (pat, _) = app.login("pat", "pat's long password").await;
    let keys = app.call("/api/keys/list", json!({}), Some(&pat)).await;
    let id = keys.body[0]["api_key_id"].as_str().unwrap();
    let limits = json!({ "holder": "key", "id": id, "limits": { "tokens_per_minute": 100 } });
    assert_eq!(
        app.call("/api/limits/set", limits, Some(&pat)).await.status,
        StatusCode::OK
    );
    let big = json!({ "model": "llama", "messages": [], "max_tokens": 1000 }).to_string();
    assert_eq!(
        post(&app, "/v1/chat/completions", &key, big).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let samples = parse(&scrape(&app, None).await.2);
    assert_eq!(
        value(
            &samples,
            "portcullis_limit_refusals_total",
            &[("scope", "key"), ("limit", "tokens_per_minute")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "portcullis_requests_total",
            &[("status", "429"), ("model", "llama")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn with_a_metrics_token_metrics_want_it() {
    let db = app::server::testing::TestDb::new(Backend::Sqlite).await;
    let settings = GatewaySettings {
        metrics_token: Some(SecretString::from("scrape-token-0123456789")),
        ..GatewaySettings::default()
    };
    let app = TestApp::with_settings(db, settings).await;
    assert_eq!(scrape(&app, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        scrape(&app, Some("scrape-token-wrong")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _, text) = scrape(&app, Some("scrape-token-0123456789")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("portcullis_usage_queue_depth"), "{text}");
}
