//! Upstreams and models managed through `/api/upstreams/*` and `/api/models/*`: validation,
//! secrets kept secret, the routing table following every change (on this instance at once,
//! on another within the poll), discovery, target health, and what non-administrators see.

use std::time::{Duration, Instant};

use app::server::{
    Backend, GatewaySettings, background,
    upstreams::config::{self, ModelSpec, TargetSpec, UpstreamSpec},
};
use app::types::Role;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{
    common::{Reply, TestApp},
    mock_upstream::{Behaviour, MockUpstream},
    on_both_backends,
    proxy::post,
};

const HERE: &str = "127.0.0.1:40000";

on_both_backends!(
    the_file_prices_its_models_and_leaves_the_rest_to_the_api,
    an_admin_adds_an_upstream_and_a_model_and_traffic_flows,
    the_configuration_file_owns_its_rows_and_keeps_their_ids,
    bad_input_is_refused_field_by_field,
    discovery_offers_what_an_upstream_lists,
);

/// A user `pat` with a key for every model; returns (pat's token, key).
async fn user_with_key(app: &TestApp) -> (String, String) {
    app.user("pat", Role::User, "pat's long password", false)
        .await;
    let (pat, _) = app.login("pat", "pat's long password").await;
    let key = app
        .call("/api/keys/create", json!({ "name": "k" }), Some(&pat))
        .await
        .str("secret");
    (pat, key)
}

async fn create_upstream(app: &TestApp, admin: &str, body: Value) -> Reply {
    app.call("/api/upstreams/create", body, Some(admin)).await
}

async fn an_admin_adds_an_upstream_and_a_model_and_traffic_flows(backend: Backend) {
    let up = MockUpstream::start("alpha").await;
    let app = TestApp::new(backend).await;
    let (_, admin) = app.admin().await;
    let (pat, key) = user_with_key(&app).await;

    let created = create_upstream(
        &app,
        &admin,
        json!({ "name": "alpha", "base_url": format!("{}/", up.base_url), "credential": "sk-upstream-secret",
                "headers": { "x-tenant": "tenant-secret-value" } }),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let upstream_id = created.str("upstream_id");
    assert_eq!(
        created.body["base_url"], up.base_url,
        "stored without the trailing slash"
    );
    assert_eq!(created.body["has_credential"], true);
    assert_eq!(created.body["header_names"], json!(["x-tenant"]));
    assert_eq!(created.body["source"], "admin");
    let listed = app
        .call("/api/upstreams/list", json!({}), Some(&admin))
        .await;
    for text in [created.body.to_string(), listed.body.to_string()] {
        assert!(
            !text.contains("sk-upstream-secret") && !text.contains("tenant-secret-value"),
            "secrets are never shown: {text}"
        );
    }
    let sealed = app
        .db
        .scalar(
            "select count(*) from upstream where credential_sealed like '%sk-upstream%'",
            &[],
        )
        .await;
    assert_eq!(sealed, 0, "the credential is encrypted at rest");

    let tested = app
        .call(
            "/api/upstreams/test",
            json!({ "upstream_id": upstream_id }),
            Some(&admin),
        )
        .await;
    assert_eq!(tested.body["ok"], true, "{}", tested.body);
    assert_eq!(tested.body["models"], json!(["upstream-llama"]));
    assert_eq!(
        up.received().last().unwrap().authorization.as_deref(),
        Some("Bearer sk-upstream-secret"),
        "the test uses the stored credential"
    );

    // Nothing is routed until a model points at the upstream.
    app.v1_get("/v1/models/llama", &key, HERE)
        .await
        .assert_openai_error(StatusCode::NOT_FOUND, "model_not_found");
    let model = app
        .call(
            "/api/models/create",
            json!({ "name": "llama", "targets": [{ "upstream_id": upstream_id, "upstream_model": "upstream-llama" }] }),
            Some(&admin),
        )
        .await;
    assert_eq!(model.status, StatusCode::OK, "{}", model.body);
    let model_id = model.str("model_id");
    assert_eq!(
        app.v1_get("/v1/models", &key, HERE).await.model_ids(),
        ["llama"]
    );
    let (status, text) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama", "messages": [] }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let got = up.received().last().unwrap().clone();
    assert_eq!(got.body["model"], "upstream-llama");
    assert_eq!(
        got.authorization.as_deref(),
        Some("Bearer sk-upstream-secret")
    );

    // Health: a success, then a failure that cools the target down.
    up.set(Behaviour::Fail(500));
    let (status, _) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama", "messages": [] }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let models = app.call("/api/models/list", json!({}), Some(&admin)).await;
    let health = &models.body[0]["targets"][0]["health"];
    assert_eq!(
        (health["successes"].as_u64(), health["failures"].as_u64()),
        (Some(1), Some(1)),
        "{health}"
    );
    assert!(health["cooling_down_ms"].as_u64().is_some(), "{health}");
    assert_eq!(health["last_failure"], "answered 500 Internal Server Error");
    up.set(Behaviour::Answer);

    // Changing the credential reaches the next request; disabling the model takes it away.
    let changed = app
        .call(
            "/api/upstreams/update",
            json!({ "upstream_id": upstream_id, "credential": { "set": "sk-rotated" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let models_now = app.call("/api/models/list", json!({}), Some(&admin)).await;
    assert_eq!(
        models_now.body[0]["targets"][0]["health"]["failures"], 1,
        "a routing reload keeps each target's record"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    // The target is cooling down, but it is the only one: it is still tried.
    let (status, text) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "llama", "messages": [] }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        up.received().last().unwrap().authorization.as_deref(),
        Some("Bearer sk-rotated")
    );
    let disabled = app
        .call(
            "/api/models/update",
            json!({ "model_id": model_id, "enabled": false }),
            Some(&admin),
        )
        .await;
    assert_eq!(disabled.body["enabled"], false, "{}", disabled.body);
    assert!(
        app.v1_get("/v1/models", &key, HERE)
            .await
            .model_ids()
            .is_empty()
    );

    // Users see only what they may use, and none of the administration.
    app.call(
        "/api/models/update",
        json!({ "model_id": model_id, "enabled": true }),
        Some(&admin),
    )
    .await;
    let available = app
        .call("/api/models/available", json!({}), Some(&pat))
        .await;
    assert_eq!(available.body[0]["name"], "llama", "{}", available.body);
    for (path, body) in [
        ("/api/upstreams/list", json!({})),
        ("/api/models/list", json!({})),
        ("/api/upstreams/test", json!({ "upstream_id": upstream_id })),
        (
            "/api/upstreams/delete",
            json!({ "upstream_id": upstream_id }),
        ),
        ("/api/models/delete", json!({ "model_id": model_id })),
        (
            "/api/upstreams/create",
            json!({ "name": "mine", "base_url": "http://127.0.0.1:1/v1" }),
        ),
    ] {
        app.call(path, body, Some(&pat))
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
    }

    // Deleting the upstream takes its targets, and the model stops being served.
    let deleted = app
        .call(
            "/api/upstreams/delete",
            json!({ "upstream_id": upstream_id }),
            Some(&admin),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    app.v1_get("/v1/models/llama", &key, HERE)
        .await
        .assert_openai_error(StatusCode::NOT_FOUND, "model_not_found");
    let audit = app.call("/api/audit/list", json!({}), Some(&admin)).await;
    let actions: Vec<&str> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "upstream.create",
        "upstream.test",
        "model.create",
        "upstream.update",
        "model.update",
        "upstream.delete",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    assert!(
        !audit.body.to_string().contains("sk-rotated"),
        "no secret in the audit log"
    );
    app.db.drop_db().await;
}

async fn bad_input_is_refused_field_by_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, admin) = app.admin().await;
    let ok = create_upstream(
        &app,
        &admin,
        json!({ "name": "local", "base_url": "http://127.0.0.1:9/v1" }),
    )
    .await;
    let upstream_id = ok.str("upstream_id");
    let cases = [
        (
            json!({ "name": "", "base_url": "http://127.0.0.1:9/v1" }),
            "name",
        ),
        (
            json!({ "name": "x", "base_url": "ftp://host/v1" }),
            "base_url",
        ),
        (json!({ "name": "x", "base_url": "not a url" }), "base_url"),
        (
            json!({ "name": "x", "base_url": "http://user:pw@host/v1" }),
            "base_url",
        ),
        (
            json!({ "name": "x", "base_url": "http://host/v1", "headers": { "Host": "evil" } }),
            "headers",
        ),
        (
            json!({ "name": "x", "base_url": "http://host/v1", "headers": { "x-a": "line\nbreak" } }),
            "headers",
        ),
        (
            json!({ "name": "x", "base_url": "http://host/v1", "credential": "  " }),
            "credential",
        ),
        (
            json!({ "name": "x", "base_url": "http://host/v1", "connect_timeout_ms": 0 }),
            "connect_timeout_ms",
        ),
        (
            json!({ "name": "x", "base_url": "http://host/v1", "idle_timeout_ms": 999_999_999 }),
            "idle_timeout_ms",
        ),
    ];
    for (body, field) in cases {
        let r = create_upstream(&app, &admin, body.clone()).await;
        r.assert_error(StatusCode::BAD_REQUEST, "invalid");
        assert_eq!(r.body["subject"], field, "{body}: {}", r.body);
    }
    create_upstream(
        &app,
        &admin,
        json!({ "name": "local", "base_url": "http://127.0.0.1:9/v1" }),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "conflict");

    let model_cases = [
        (
            json!({ "name": "has space", "targets": [{ "upstream_id": upstream_id }] }),
            "name",
        ),
        (json!({ "name": "m", "targets": [] }), "targets"),
        (
            json!({ "name": "m", "targets": [{ "upstream_id": "nope" }] }),
            "targets",
        ),
        (
            json!({ "name": "m", "targets": [{ "upstream_id": upstream_id, "weight": 0 }] }),
            "targets",
        ),
        (
            json!({ "name": "m", "targets": [{ "upstream_id": upstream_id }, { "upstream_id": upstream_id }] }),
            "targets",
        ),
    ];
    for (body, field) in model_cases {
        let r = app
            .call("/api/models/create", body.clone(), Some(&admin))
            .await;
        r.assert_error(StatusCode::BAD_REQUEST, "invalid");
        assert_eq!(r.body["subject"], field, "{body}: {}", r.body);
    }
    let m = app
        .call(
            "/api/models/create",
            json!({ "name": "org/model:tag", "targets": [{ "upstream_id": upstream_id }] }),
            Some(&admin),
        )
        .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    app.call(
        "/api/models/create",
        json!({ "name": "org/model:tag", "targets": [{ "upstream_id": upstream_id }] }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "conflict");
    app.call(
        "/api/upstreams/update",
        json!({ "upstream_id": "nope", "enabled": false }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.call("/api/upstreams/test", json!({}), Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid");

    // A draft test against a closed port says why, in words.
    let t = app
        .call(
            "/api/upstreams/test",
            json!({ "draft": { "name": "d", "base_url": "http://127.0.0.1:9/v1" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(t.body["ok"], false, "{}", t.body);
    assert!(
        t.body["error"]
            .as_str()
            .unwrap()
            .starts_with("cannot connect"),
        "{}",
        t.body
    );

    // Rows from the configuration file are read-only here.
    app.db
        .exec(
            "update upstream set source = 'config' where name = 'local'",
            &[],
        )
        .await
        .unwrap();
    app.call(
        "/api/upstreams/delete",
        json!({ "upstream_id": upstream_id }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");
    app.db.drop_db().await;
}

async fn discovery_offers_what_an_upstream_lists(backend: Backend) {
    let up = MockUpstream::start("ollama").await;
    up.set_models(&["qwen3:8b", "llama3.2:3b", "shadowed"]);
    let app = TestApp::new(backend).await;
    let (_, admin) = app.admin().await;
    let (_, key) = user_with_key(&app).await;
    let created = create_upstream(
        &app,
        &admin,
        json!({ "name": "ollama", "base_url": up.base_url, "discover_models": true }),
    )
    .await;
    let upstream_id = created.str("upstream_id");
    // A declared model of the same name wins over the discovered one.
    let other = create_upstream(
        &app,
        &admin,
        json!({ "name": "other", "base_url": "http://127.0.0.1:9/v1" }),
    )
    .await;
    app.call(
        "/api/models/create",
        json!({ "name": "shadowed", "targets": [{ "upstream_id": other.str("upstream_id") }] }),
        Some(&admin),
    )
    .await;

    let found = app
        .call(
            "/api/upstreams/discover",
            json!({ "upstream_id": upstream_id }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        found.body["discovered_models"],
        json!(["llama3.2:3b", "qwen3:8b", "shadowed"]),
        "{}",
        found.body
    );
    assert!(found.body["discovered_at"].is_string(), "{}", found.body);
    assert_eq!(
        app.v1_get("/v1/models", &key, HERE).await.model_ids(),
        ["llama3.2:3b", "qwen3:8b", "shadowed"]
    );
    let (status, text) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "qwen3:8b", "messages": [] }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    // Not simply the last request: the discovery that creating the upstream set off in the
    // background may reach the mock after this one when the machine is busy.
    let chat = up
        .received()
        .into_iter()
        .rev()
        .find(|r| r.path == "/v1/chat/completions")
        .unwrap();
    assert_eq!(chat.body["model"], "qwen3:8b");
    let (status, _) = post(
        &app,
        "/v1/chat/completions",
        &key,
        json!({ "model": "shadowed", "messages": [] }).to_string(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_GATEWAY,
        "the declared model's upstream is unreachable"
    );
    let models = app.call("/api/models/list", json!({}), Some(&admin)).await;
    let sources: Vec<(&str, &str)> = models
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["source"].as_str().unwrap()))
        .collect();
    assert_eq!(
        sources,
        [
            ("llama3.2:3b", "discovered"),
            ("qwen3:8b", "discovered"),
            ("shadowed", "admin")
        ]
    );

    // A failed refresh keeps the list and says why; a new list replaces it.
    up.set(Behaviour::Fail(503));
    let failed = app
        .call(
            "/api/upstreams/discover",
            json!({ "upstream_id": upstream_id }),
            Some(&admin),
        )
        .await;
    assert!(
        failed.body["discovery_error"]
            .as_str()
            .unwrap()
            .contains("503"),
        "{}",
        failed.body
    );
    assert_eq!(
        app.v1_get("/v1/models", &key, HERE).await.model_ids().len(),
        3
    );
    up.set(Behaviour::Answer);
    up.set_models(&["qwen3:8b"]);
    let refreshed = app
        .call(
            "/api/upstreams/discover",
            json!({ "upstream_id": upstream_id }),
            Some(&admin),
        )
        .await;
    assert_eq!(refreshed.body["discovery_error"], Value::Null);
    assert_eq!(
        app.v1_get("/v1/models", &key, HERE).await.model_ids(),
        ["qwen3:8b", "shadowed"]
    );
    app.v1_get("/v1/models/llama3.2:3b", &key, HERE)
        .await
        .assert_openai_error(StatusCode::NOT_FOUND, "model_not_found");
    app.db.drop_db().await;
}

#[tokio::test]
async fn a_routing_change_reaches_another_instance_on_the_same_postgres_within_two_seconds() {
    let up = MockUpstream::start("alpha").await;
    let a = TestApp::new(Backend::Postgres).await;
    let (_, admin) = a.admin().await;
    let (_, key) = user_with_key(&a).await;
    let b = TestApp::with_settings(a.db.attach().await, GatewaySettings::default()).await;
    let follower = background::spawn(
        &b.services,
        background::POLL_INTERVAL,
        Duration::from_secs(3600),
    );
    let upstream = create_upstream(
        &a,
        &admin,
        json!({ "name": "alpha", "base_url": up.base_url }),
    )
    .await;
    let created = Instant::now();
    a.call(
        "/api/models/create",
        json!({ "name": "llama", "targets": [{ "upstream_id": upstream.str("upstream_id"), "upstream_model": "upstream-llama" }] }),
        Some(&admin),
    )
    .await;
    loop {
        let (status, _) = post(
            &b,
            "/v1/chat/completions",
            &key,
            json!({ "model": "llama", "messages": [] }).to_string(),
        )
        .await;
        if status == StatusCode::OK {
            break;
        }
        assert!(
            created.elapsed() < Duration::from_secs(2),
            "instance B never routed the new model"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    follower.stop(&b.services).await;
    a.db.drop_db().await;
}

fn spec(name: &str, base_url: &str) -> UpstreamSpec {
    UpstreamSpec {
        name: name.into(),
        base_url: base_url.into(),
        api: app::types::UpstreamApi::Openai,
        credential: None,
        headers: std::collections::HashMap::new(),
        connect_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(5),
        discover_models: false,
        extra_paths: Vec::new(),
    }
}

async fn the_configuration_file_owns_its_rows_and_keeps_their_ids(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, admin) = app.admin().await;
    let keyring = &app.services.secrets.keyring;
    let model = |name: &str, upstream: &str| ModelSpec {
        name: name.into(),
        targets: vec![TargetSpec {
            upstream: upstream.into(),
            model: None,
            weight: 1,
        }],
        ..ModelSpec::default()
    };
    config::apply(
        &app.db.db,
        keyring,
        &[
            spec("vllm", "http://127.0.0.1:9/v1"),
            spec("old", "http://127.0.0.1:9/v1"),
        ],
        &[model("from-file", "vllm"), model("stale", "old")],
    )
    .await
    .unwrap();
    let reload = || app.services.registry.reload(&app.db.db, keyring);
    reload().await.unwrap();
    let listed = app
        .call("/api/upstreams/list", json!({}), Some(&admin))
        .await;
    let vllm = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "vllm")
        .unwrap();
    assert_eq!(vllm["source"], "config");
    let vllm_id = vllm["upstream_id"].as_str().unwrap().to_owned();
    // An administrator's model may use the file's upstream.
    let mine = app
        .call(
            "/api/models/create",
            json!({ "name": "mine", "targets": [{ "upstream_id": vllm_id }] }),
            Some(&admin),
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    app.call(
        "/api/upstreams/update",
        json!({ "upstream_id": vllm_id, "enabled": false }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");

    // The next start: same upstream by name, one model gone.
    config::apply(
        &app.db.db,
        keyring,
        &[spec("vllm", "http://127.0.0.1:8/v1")],
        &[model("from-file", "vllm")],
    )
    .await
    .unwrap();
    reload().await.unwrap();
    let listed = app
        .call("/api/upstreams/list", json!({}), Some(&admin))
        .await;
    let names: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["vllm"], "an upstream no longer in the file is gone");
    assert_eq!(
        listed.body[0]["upstream_id"],
        vllm_id.as_str(),
        "the id survives a restart"
    );
    assert_eq!(listed.body[0]["base_url"], "http://127.0.0.1:8/v1");
    let models = app.call("/api/models/list", json!({}), Some(&admin)).await;
    let names: Vec<&str> = models
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["from-file", "mine"], "{}", models.body);
    assert_eq!(
        models.body[1]["targets"][0]["upstream_id"],
        vllm_id.as_str(),
        "the administrator's target survived"
    );

    // A name an administrator already uses is not taken over.
    let err = config::apply(
        &app.db.db,
        keyring,
        &[spec("vllm", "http://127.0.0.1:8/v1")],
        &[model("mine", "vllm")],
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("an administrator created one"),
        "{err}"
    );
    app.db.drop_db().await;
}

async fn the_file_prices_its_models_and_leaves_the_rest_to_the_api(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, admin) = app.admin().await;
    let keyring = &app.services.secrets.keyring;
    let upstreams = [spec("up", "http://127.0.0.1:9/v1")];
    let target = || {
        vec![TargetSpec {
            upstream: "up".into(),
            model: None,
            weight: 1,
        }]
    };
    let priced = ModelSpec {
        name: "whisper".into(),
        targets: target(),
        unit_price_micros: Some(100),
        image_prices: Some([("hd".to_owned(), 80)].into()),
        ..ModelSpec::default()
    };
    config::apply(
        &app.db.db,
        keyring,
        &upstreams,
        std::slice::from_ref(&priced),
    )
    .await
    .unwrap();
    let listed = |r: Reply| {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "whisper")
            .cloned()
            .unwrap()
    };
    let model = listed(app.call("/api/models/list", json!({}), Some(&admin)).await);
    assert_eq!(model["unit_price_micros"], 100, "{model}");
    assert_eq!(model["image_prices"], json!({ "hd": 80 }));
    assert!(model["input_price_micros"].is_null());
    // Token prices set through the API survive a start whose file names none.
    app.call(
        "/api/models/set_prices",
        json!({ "model_id": model["model_id"], "input_price_micros": 5, "output_price_micros": 6, "unit_price_micros": 7 }),
        Some(&admin),
    )
    .await;
    let bare = ModelSpec {
        unit_price_micros: Some(100),
        ..priced.clone()
    };
    config::apply(&app.db.db, keyring, &upstreams, &[bare])
        .await
        .unwrap();
    let model = listed(app.call("/api/models/list", json!({}), Some(&admin)).await);
    assert_eq!(
        (
            model["input_price_micros"].clone(),
            model["output_price_micros"].clone(),
            model["unit_price_micros"].clone()
        ),
        (json!(5), json!(6), json!(100)),
        "the file's own price wins; the others stay"
    );
    let negative = ModelSpec {
        input_price_micros: Some(-1),
        ..priced
    };
    assert!(
        config::apply(&app.db.db, keyring, &upstreams, &[negative])
            .await
            .is_err()
    );
    app.db.drop_db().await;
}
