//! The network edge holds nobody's connection forever: a request head or body sent too slowly,
//! an idle kept-alive connection, a flood of connections, an upstream that never stops.

use std::time::{Duration, Instant};

use app::server::{Backend, GatewaySettings, testing::TestDb, usage::Outcome};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use futures_util::StreamExt;
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{
    binary::Server,
    common::TestApp,
    mock_upstream::{Behaviour, MockUpstream},
    proxy::{gateway, gateway_in, post},
};

/// How long until the server closes `stream`, reading (and dropping) whatever it sends.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn half_a_request_head_and_an_idle_connection_are_cut_off() {
    let d = tempfile::tempdir().unwrap();
    let server = Server::start(d.path(), &["--header-read-timeout", "1s"], &[]).await;

    let mut slow = TcpStream::connect(&server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut slow, Duration::from_secs(5))
            .await
            .is_some(),
        "a half-sent head is not held open"
    );

    let mut idle = TcpStream::connect(&server.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(5))
            .await
            .is_some(),
        "a kept-alive connection that stays idle is closed"
    );
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_to_be_accepted() {
    let d = tempfile::tempdir().unwrap();
    let server = Server::start(d.path(), &["--max-connections", "2"], &[]).await;
    let first = TcpStream::connect(&server.addr).await.unwrap();
    let _second = TcpStream::connect(&server.addr).await.unwrap();
    let waiting = tokio::spawn({
        let addr = server.addr.clone();
        async move {
            let mut third = TcpStream::connect(&addr).await.unwrap();
            third
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut answer = String::new();
            third.read_to_string(&mut answer).await.unwrap();
            answer
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "a third connection is not served");
    drop(first);
    let answer = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn a_v1_body_that_trickles_past_its_deadline_gets_408() {
    let up = MockUpstream::start("alpha").await;
    let settings = GatewaySettings {
        v1_body_timeout: Duration::from_millis(300),
        ..GatewaySettings::default()
    };
    let app = TestApp::with_settings(TestDb::new(Backend::Sqlite).await, settings).await;
    let (app, key) = gateway_in(app, &[&up], Duration::from_secs(5)).await;
    let start = futures_util::stream::iter([Ok::<_, std::io::Error>(
        axum::body::Bytes::from_static(b"{\"model\":\"llama\","),
    )]);
    let body = Body::from_stream(start.chain(futures_util::stream::pending()));
    let req = Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {key}"))
        .body(body)
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), app.send(req, "127.0.0.1:1"))
        .await
        .expect("answered at the deadline");
    reply.assert_openai_error(StatusCode::REQUEST_TIMEOUT, "request_timeout");
    assert!(up.received().is_empty());
}

#[tokio::test]
async fn an_upstream_event_without_end_is_cut_at_the_cap() {
    let up = MockUpstream::start("alpha").await;
    up.set(Behaviour::Flood);
    let (app, key) = gateway(&[&up]).await;
    let (status, text) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama", "stream": true }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.len() < 1 << 20, "the flood is not relayed");
    assert!(
        text.contains("upstream_stream_error"),
        "{}",
        &text[..text.len().min(300)]
    );
    app.services.shutdown().await;
    let failed = app
        .db
        .scalar(
            "select count(*) from usage_event where outcome = $1",
            &[app::server::testing::Arg::Int(
                Outcome::UpstreamError as i64,
            )],
        )
        .await;
    assert_eq!(failed, 1);
}
