//! Rerank, audio, images and moderations through the real router to the mock upstream: what
//! the upstream receives (only the model renamed, uploads part for part), what the client gets
//! back (audio as it arrives), and the usage recorded in each endpoint's unit.

use std::time::Duration;

use app::server::{GatewaySettings, db::Backend, testing};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{
    common::TestApp,
    mock_anthropic::MockAnthropic,
    mock_media::SPEECH,
    mock_upstream::MockUpstream,
    openai_sdk::sdk_gateway,
    proxy::{gateway, gateway_in, post_with_headers},
};

const BOUNDARY: &str = "portcullis-test-boundary";

/// A multipart body: `(name, Some(file name), bytes)` for files, `(name, None, text)` for fields.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file, bytes) in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some(f) => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: audio/wav\r\n\r\n").as_bytes(),
            ),
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// A silent WAV recording: 16 kHz, mono, 16-bit, `seconds` long.
fn wav(seconds: u32) -> Vec<u8> {
    let data = 32_000 * seconds;
    let mut w = Vec::new();
    for part in [
        &b"RIFF"[..],
        &(36 + data).to_le_bytes(),
        b"WAVEfmt ",
        &16u32.to_le_bytes(),
        &1u16.to_le_bytes(),
        &1u16.to_le_bytes(),
        &16_000u32.to_le_bytes(),
        &32_000u32.to_le_bytes(),
        &2u16.to_le_bytes(),
        &16u16.to_le_bytes(),
        b"data",
        &data.to_le_bytes(),
    ] {
        w.extend_from_slice(part);
    }
    w.resize(w.len() + data as usize, 0);
    w
}

async fn upload(app: &TestApp, path: &str, key: &str, body: Vec<u8>) -> (StatusCode, String) {
    let mut req = Request::post(path)
        .header("authorization", format!("Bearer {key}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(
        "127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
    ));
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Every usage event: (endpoint, prompt tokens, completion tokens, units).
async fn events(app: &TestApp) -> Vec<(i64, i64, i64, i64)> {
    app.services.shutdown().await;
    let mut out = Vec::new();
    let n = app.db.scalar("select count(*) from usage_event", &[]).await;
    for i in 0..n {
        let at = [testing::Arg::Int(i)];
        let q = |sql: &'static str| app.db.scalar(sql, &at);
        out.push((
            q("select cast(endpoint as bigint) from usage_event order by usage_event_id limit 1 offset $1").await,
            q("select prompt_tokens from usage_event order by usage_event_id limit 1 offset $1").await,
            q("select completion_tokens from usage_event order by usage_event_id limit 1 offset $1").await,
            q("select units from usage_event order by usage_event_id limit 1 offset $1").await,
        ));
    }
    out
}

#[tokio::test]
async fn rerank_is_served_where_each_client_looks_for_it() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let body = json!({ "model": "llama", "query": "which?", "documents": ["a", "b", "c"], "top_n": 2, "return_documents": true });
    for path in ["/v1/rerank", "/rerank", "/v2/rerank"] {
        let (status, _, text) = post_with_headers(&app, path, &key, body.to_string()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["results"].as_array().unwrap().len(), 2, "{v}");
        assert_eq!(v["results"][0]["document"]["text"], "a");
        // Jina's clients read `usage`, Cohere's `meta`: both are there.
        assert_eq!(v["usage"]["total_tokens"], 12, "{v}");
        assert_eq!(v["meta"]["billed_units"]["search_units"], 1);
    }
    let sent = up.received();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|r| r.path == "/v1/rerank"));
    // Strings pass as they came, but for the model.
    assert_eq!(
        sent[0].raw,
        body.to_string().replace("\"llama\"", "\"upstream-llama\"")
    );
    // Jina's object documents reach a server that takes only strings as their text, and come
    // back with the results, as Jina's clients expect without asking.
    let jina = json!({ "model": "llama", "query": "which?", "documents": [{ "text": "x" }, { "text": "y" }] });
    let (status, _, text) = post_with_headers(&app, "/rerank", &key, jina.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["results"][1]["document"]["text"], "y", "{v}");
    assert_eq!(up.received()[3].body["documents"], json!(["x", "y"]));
    // Not a model this key may use: refused before anything is sent.
    let refused = json!({ "model": "secret-model", "query": "q", "documents": ["a"] });
    let (status, _, _) = post_with_headers(&app, "/rerank", &key, refused.to_string()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(up.received().len(), 4);
    assert_eq!(events(&app).await, vec![(6, 12, 0, 1); 4]);
}

#[tokio::test]
async fn speech_streams_back_as_it_is_made_and_counts_characters() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let body = json!({ "model": "llama", "input": "Hello, wörld", "voice": "alloy", "response_format": "mp3" });
    let (status, headers, text) =
        post_with_headers(&app, "/v1/audio/speech", &key, body.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "audio/mpeg");
    assert_eq!(text.as_bytes(), SPEECH);
    assert_eq!(up.received()[0].body["model"], "upstream-llama");
    let chat = json!({ "model": "llama", "messages": [{ "role": "user", "content": "hi" }] });
    let (status, _, _) =
        post_with_headers(&app, "/v1/chat/completions", &key, chat.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events(&app).await, vec![(9, 0, 0, 12), (1, 3, 4, 0)]);

    // The usage page's request list, by endpoint, with each request's units.
    let (pat, _) = app.login("pat", "pat's long password").await;
    let page = app
        .call(
            "/api/usage/events",
            json!({ "endpoint": "audio/speech" }),
            Some(&pat),
        )
        .await;
    assert_eq!(page.body["total"], 1, "{}", page.body);
    let spoken = &page.body["events"][0];
    assert_eq!(spoken["endpoint"], "audio/speech");
    assert_eq!(
        (spoken["units"].clone(), spoken["unit"].clone()),
        (json!(12), json!("characters"))
    );
    let all = app.call("/api/usage/events", json!({}), Some(&pat)).await;
    assert_eq!(all.body["total"], 2);
    assert_eq!(all.body["events"][0]["unit"], "", "tokens need no unit");
    app.call(
        "/api/usage/events",
        json!({ "endpoint": "nonsense" }),
        Some(&pat),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid");
    let csv = app.call("/api/usage/export", json!({}), Some(&pat)).await;
    assert!(
        csv.body.as_str().unwrap().contains(",12,characters,"),
        "{}",
        csv.body
    );
}

#[tokio::test]
async fn images_and_moderations_pass_back_unchanged() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let body = json!({ "model": "llama", "prompt": "a cat", "n": 2, "size": "256x256", "response_format": "b64_json" });
    let (status, _, text) =
        post_with_headers(&app, "/v1/images/generations", &key, body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    let body = json!({ "model": "llama", "input": "hello" });
    let (status, _, text) =
        post_with_headers(&app, "/v1/moderations", &key, body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["results"][0]["flagged"],
        false
    );
    // A moderation reports no usage: its prompt is charged as estimated.
    assert_eq!(events(&app).await, vec![(10, 5, 50, 2), (13, 9, 0, 0)]);
}

#[tokio::test]
async fn uploads_reach_the_upstream_part_for_part_with_the_model_renamed() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let audio: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    // The model after the file, as some clients send it.
    let body = multipart(&[
        ("file", Some("talk.wav"), &audio),
        ("model", None, b"llama"),
        ("language", None, b"en"),
    ]);
    let (status, text) = upload(&app, "/v1/audio/transcriptions", &key, body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["text"], "heard 300000 bytes");
    let sent = &up.received()[0];
    assert_eq!(sent.path, "/v1/audio/transcriptions");
    assert_eq!(sent.body["model"], "upstream-llama");
    assert_eq!(sent.body["language"], "en");
    assert_eq!(sent.body["file"]["file_name"], "talk.wav");
    assert_eq!(sent.body["file"]["len"], 300_000);

    // A text answer says nothing of the audio's length: the WAV header does (2 s).
    let recording = wav(2);
    let text_format = multipart(&[
        ("model", None, b"llama"),
        ("file", Some("a.wav"), &recording),
        ("response_format", None, b"text"),
    ]);
    let (status, text) = upload(&app, "/v1/audio/translations", &key, text_format).await;
    assert_eq!(
        (status, text),
        (StatusCode::OK, format!("heard {} bytes", recording.len()))
    );

    let streamed = multipart(&[
        ("model", None, b"llama"),
        ("file", Some("a.wav"), &wav(3)),
        ("stream", None, b"true"),
    ]);
    let (status, text) = upload(&app, "/v1/audio/transcriptions", &key, streamed).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("transcript.text.done"), "{text}");
    assert!(!text.contains("error"), "{text}");

    let image = multipart(&[
        ("model", None, b"llama"),
        ("image", Some("cat.png"), b"\x89PNG"),
        ("prompt", None, b"a hat"),
        ("n", None, b"3"),
    ]);
    let (status, text) = upload(&app, "/v1/images/edits", &key, image).await;
    assert_eq!(status, StatusCode::OK, "{text}");

    for (body, words) in [
        (multipart(&[("file", Some("a.wav"), b"x")]), "model"),
        (
            multipart(&[
                ("model", None, b"llama"),
                ("model", None, b"secret-model"),
                ("file", Some("a.wav"), b"x"),
            ]),
            "twice",
        ),
        (b"not multipart".to_vec(), "malformed"),
    ] {
        let (status, text) = upload(&app, "/v1/audio/transcriptions", &key, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains(words), "{text}");
    }
    let (status, _) = upload(
        &app,
        "/v1/audio/transcriptions",
        &key,
        multipart(&[
            ("model", None, b"secret-model"),
            ("file", Some("a.wav"), b"x"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(up.received().len(), 4);
    assert_eq!(
        events(&app).await,
        vec![(7, 0, 0, 3), (8, 0, 0, 2), (7, 20, 4, 3), (11, 5, 50, 3)]
    );
}

#[tokio::test]
async fn an_upload_past_its_limit_is_refused() {
    let up = MockUpstream::start("alpha").await;
    let settings = GatewaySettings {
        upload_limit: 1 << 16,
        ..GatewaySettings::default()
    };
    let app = TestApp::with_settings(testing::TestDb::new(Backend::Sqlite).await, settings).await;
    let (app, key) = gateway_in(app, &[&up], Duration::from_secs(5)).await;
    let big = vec![7u8; 1 << 17];
    let body = multipart(&[("model", None, b"llama"), ("file", Some("a.wav"), &big)]);
    let (status, text) = upload(&app, "/v1/audio/transcriptions", &key, body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert!(up.received().is_empty());
}

#[tokio::test]
async fn ten_large_uploads_at_once_leave_memory_flat() {
    const UPLOAD: usize = 25 << 20;
    let up = MockUpstream::start("alpha").await;
    let claude = MockAnthropic::start("claude").await;
    let (_dir, server, key) = sdk_gateway(&up, &claude).await;
    let before = server.memory_kib("VmRSS");
    let audio = bytes::Bytes::from(vec![0x5au8; UPLOAD]);
    let client = reqwest::Client::new();
    let uploads = (0..10).map(|_| {
        let form = reqwest::multipart::Form::new().text("model", "llama").part(
            "file",
            reqwest::multipart::Part::stream(audio.clone()).file_name("long.wav"),
        );
        client
            .post(format!("http://{}/v1/audio/transcriptions", server.addr))
            .bearer_auth(&key)
            .multipart(form)
            .send()
    });
    for res in futures_util::future::join_all(uploads).await {
        let res = res.expect("sent");
        let status = res.status();
        let answer = res.json::<Value>().await.unwrap();
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["text"], format!("heard {UPLOAD} bytes"));
    }
    let peak = server.memory_kib("VmHWM");
    server.stop().await;
    // Held in memory, 250 MiB would have passed through; spooled, a few buffers did.
    let grown_mib = peak.saturating_sub(before) / 1024;
    assert!(
        grown_mib < 64,
        "resident memory grew by {grown_mib} MiB for ten 25 MiB uploads"
    );
}

#[tokio::test]
async fn declared_extra_paths_reach_their_upstream_under_a_key_and_nothing_else_does() {
    let up = MockUpstream::start("alpha").await;
    let (app, pat_key) = gateway(&[&up]).await;
    let (_, admin) = app.admin().await;
    let refused = app
        .call(
            "/api/upstreams/create",
            json!({ "name": "bad", "base_url": up.base_url, "extra_paths": ["/v1/chat/completions"] }),
            Some(&admin),
        )
        .await;
    refused.assert_error(StatusCode::BAD_REQUEST, "invalid");
    let created = app
        .call(
            "/api/upstreams/create",
            json!({ "name": "scorer-host", "base_url": up.base_url, "extra_paths": ["/tokenize", "/v1/score"] }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        created.body["extra_paths"],
        json!(["/tokenize", "/v1/score"]),
        "{}",
        created.body
    );
    let model = app
        .call(
            "/api/models/create",
            json!({ "name": "scorer", "targets": [{ "upstream_id": created.body["upstream_id"] }] }),
            Some(&admin),
        )
        .await;
    assert_eq!(model.status, StatusCode::OK, "{}", model.body);
    let key = app
        .call(
            "/api/keys/create",
            json!({ "name": "admin's" }),
            Some(&admin),
        )
        .await
        .str("secret");

    let body = |model: &str| json!({ "model": model, "prompt": "hi" }).to_string();
    let (status, _, text) = post_with_headers(&app, "/tokenize", &key, body("scorer")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, _, text) = post_with_headers(&app, "/v1/score", &key, body("scorer")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["data"][0]["score"],
        0.5
    );
    let sent = up.received();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        (sent[0].path.as_str(), sent[1].path.as_str()),
        ("/tokenize", "/v1/score")
    );
    assert_eq!(sent[0].body["model"], "scorer");

    // A key whose models do not include it, a model not served there, no model, no key, an
    // undeclared path: refused, and nothing reaches the upstream.
    let (status, _, _) = post_with_headers(&app, "/tokenize", &pat_key, body("scorer")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, text) = post_with_headers(&app, "/tokenize", &key, body("llama")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let (status, _, _) = post_with_headers(&app, "/tokenize", &key, "{}".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = post_with_headers(&app, "/tokenize", "sk-pc-wrong", body("scorer")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for path in ["/detokenize", "/v1/pooling"] {
        let (status, _, _) = post_with_headers(&app, path, &key, body("scorer")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(up.received().len(), 2);
    // Declared later, at once: the upstream's client is rebuilt with its new paths.
    let updated = app
        .call(
            "/api/upstreams/update",
            json!({ "upstream_id": created.body["upstream_id"], "extra_paths": ["/detokenize"] }),
            Some(&admin),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    let (status, _, _) = post_with_headers(&app, "/detokenize", &key, body("scorer")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = post_with_headers(&app, "/tokenize", &key, body("scorer")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        events(&app).await,
        vec![(14, 0, 0, 1), (14, 7, 0, 1), (14, 0, 0, 1)]
    );
}
