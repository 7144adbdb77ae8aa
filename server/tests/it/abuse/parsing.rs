//! The gateway and the upstream read the same request: keys a case-insensitive reader takes for
//! ours, and values a lax reader coerces, are refused before anything is reserved or sent.

use axum::http::StatusCode;
use serde_json::Value;

use crate::{
    mock_upstream::MockUpstream,
    proxy::{gateway, post},
};

#[tokio::test]
async fn a_second_model_key_in_another_case_is_refused_before_the_upstream() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    // `llama` is allowed; Go's decoder would run `secret-model`, the last match, instead.
    for (body, param) in [
        (
            r#"{"model":"llama","MODEL":"secret-model","messages":[]}"#,
            "MODEL",
        ),
        (
            r#"{"model":"llama","stream":true,"Stream_Options":{"include_usage":false}}"#,
            "Stream_Options",
        ),
        (
            r#"{"model":"llama","stream":true,"stream_options":{"include_usage":true,"include_USAGE":false}}"#,
            "stream_options.include_USAGE",
        ),
    ] {
        let (s, text) = post(&app, "/v1/chat/completions", &key, body.to_owned()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["param"], param, "{text}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{text}");
    }
    assert!(up.received().is_empty(), "nothing reached the upstream");
}

#[tokio::test]
async fn values_a_lax_reader_would_coerce_are_refused() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    for (body, param) in [
        (r#"{"model":"llama","stream":1}"#, "stream"),
        (r#"{"model":"llama","stream":"true"}"#, "stream"),
        (r#"{"model":"llama","max_tokens":"100000"}"#, "max_tokens"),
        (r#"{"model":"llama","max_tokens":1e5}"#, "max_tokens"),
        (r#"{"model":"llama","n":"4"}"#, "n"),
    ] {
        let (s, text) = post(&app, "/v1/chat/completions", &key, body.to_owned()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["param"], param, "{text}");
    }
    // The same through Anthropic's API, whose answer is in its own shape.
    let (s, text) = crate::anthropic::messages(
        &app,
        &key,
        true,
        serde_json::json!({ "model": "llama", "max_tokens": "9", "messages": [] }),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("max_tokens"), "{text}");
    assert!(up.received().is_empty(), "nothing reached the upstream");
}
