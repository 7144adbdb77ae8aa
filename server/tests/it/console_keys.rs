//! API keys from the console: `portcullis key create` and `portcullis import-auth`.

use std::path::Path;

use crate::binary::{Server, run, stderr, stdout};

/// A configuration file declaring `names`, served by an upstream nobody listens on: enough to
/// list them.
fn config_with_models(dir: &Path, names: &[&str]) -> String {
    let mut toml =
        String::from("[[upstreams]]\nname = \"nowhere\"\nbase_url = \"http://127.0.0.1:9/v1\"\n");
    for n in names {
        toml.push_str(&format!(
            "[[models]]\nname = \"{n}\"\ntargets = [{{ upstream = \"nowhere\" }}]\n"
        ));
    }
    let path = dir.join("portcullis.toml");
    std::fs::write(&path, toml).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn key_create_prints_a_working_key_for_scripts() {
    let d = tempfile::tempdir().unwrap();
    let out = run(
        d.path(),
        &["user", "create", "--username", "ci-bot"],
        "ci bot's long password\n",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let config = config_with_models(d.path(), &["llama", "mistral"]);
    let out = run(
        d.path(),
        &[
            "key", "create", "--user", "CI-BOT", "--models", "llama", "--name", "pipeline",
        ],
        "",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let key = stdout(&out).trim().to_owned();
    assert!(
        key.starts_with("sk-pc-") && !key.contains(' '),
        "only the key on stdout: {key}"
    );
    assert!(
        stderr(&out).contains("created key `pipeline`"),
        "{}",
        stderr(&out)
    );

    let out = run(d.path(), &["key", "create", "--user", "ghost"], "").await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("there is no user `ghost`"),
        "{}",
        stderr(&out)
    );
    let out = run(
        d.path(),
        &["key", "create", "--user", "ci-bot", "--name", "  "],
        "",
    )
    .await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("name: must be 1 to 100 characters long"),
        "{}",
        stderr(&out)
    );

    let server = Server::start(d.path(), &["--config", &config], &[]).await;
    let (status, body) = server.get_with_key("/v1/models", Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#""llama""#) && !body.contains("mistral"),
        "{body}"
    );
    assert_eq!(
        server
            .get_with_key("/v1/models", Some("sk-pc-wrong"))
            .await
            .0,
        401
    );
    server.stop().await;
}

#[tokio::test]
async fn import_auth_brings_over_a_xinference_deployment_or_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xinference_auth.json");
    let sample = sample.to_str().unwrap();

    let bad = d.path().join("bad.json");
    std::fs::write(&bad, r#"{"user_config": [{"username": "ok-user", "password": "pw-long-enough"}, {"username": "bad user", "password": "x"}]}"#).unwrap();
    let out = run(d.path(), &["import-auth", bad.to_str().unwrap()], "").await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nothing imported") && stderr(&out).contains("bad user"),
        "{}",
        stderr(&out)
    );
    let list = stdout(&run(d.path(), &["user", "list", "--json"], "").await);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&list).unwrap(),
        serde_json::json!([]),
        "nothing written"
    );

    let out = run(d.path(), &["import-auth", sample], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(
        report.contains("imported 3 user(s) and 3 API key(s)"),
        "{report}"
    );
    assert!(
        report.contains("reader (user, all models, 1 key(s); password too short here"),
        "{report}"
    );
    assert!(
        report.contains("nobody (user, no models yet, 0 key(s))"),
        "{report}"
    );

    let out = run(d.path(), &["import-auth", sample], "").await;
    assert!(!out.status.success(), "a second import clashes");
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    let config = config_with_models(d.path(), &["llama"]);
    let server = Server::start(d.path(), &["--config", &config], &[]).await;
    for key in ["sk-72tkvudyGLPMi", "sk-ZOTLIY4gt9w11", "sk-35tkasdyGLYMy"] {
        let (status, body) = server.get_with_key("/v1/models", Some(key)).await;
        assert_eq!(status, 200, "{key}: {body}");
        assert!(body.contains("llama"), "{body}");
    }
    assert_eq!(
        server
            .get_with_key("/v1/models", Some("sk-72tkvudyGLPMj"))
            .await
            .0,
        401
    );
    server.stop().await;
    // Passwords were hashed on import: the file's plain text is nowhere in the database.
    let db = std::fs::read(d.path().join("data/portcullis.db")).unwrap();
    assert!(!db.windows(17).any(|w| w == b"xadmin-password-1"));
    assert!(!db.windows(16).any(|w| w == b"sk-72tkvudyGLPMi"));
}
