use std::os::unix::fs::PermissionsExt;

use app::server::testing::TestDb;

use crate::binary::{Server, run, stdout};

#[tokio::test]
async fn first_start_creates_the_database_secrets_and_admin_and_a_restart_reuses_them() {
    let d = tempfile::tempdir().unwrap();
    let server = Server::start(d.path(), &[], &[]).await;
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.get("/healthz").await.0, 200);

    let data = d.path().join("data");
    assert!(
        data.join("portcullis.db").is_file(),
        "SQLite file under ./data"
    );
    let secrets = data.join("secrets.toml");
    let mode = std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o600,
        "generated secrets are readable by their owner only"
    );
    let first_secrets = std::fs::read_to_string(&secrets).unwrap();
    // The database too, whatever the umask: the directory 0700, the files 0600.
    let mode_of = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode_of(&data), 0o700, "the data directory");
    for file in ["portcullis.db", "portcullis.db-wal", "portcullis.db-shm"] {
        let path = data.join(file);
        if path.exists() {
            assert_eq!(mode_of(&path), 0o600, "{file}");
        }
    }

    let (exit, out) = server.stop().await;
    assert!(
        exit.success(),
        "graceful shutdown on SIGTERM exits 0, got {exit:?}"
    );
    let password = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("One-time password: "))
        .unwrap_or_else(|| panic!("one-time password printed on first start:\n{out}"));
    assert_eq!(password.len(), 24);
    assert!(
        !first_secrets.contains(password),
        "the password is not written to a file"
    );

    let server = Server::start(d.path(), &[], &[]).await;
    assert_eq!(server.get("/readyz").await.0, 200);
    let (exit, out) = server.stop().await;
    assert!(exit.success());
    assert!(
        !out.contains("One-time password"),
        "no second admin on restart:\n{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&secrets).unwrap(),
        first_secrets,
        "secrets reused"
    );

    let users = stdout(&run(d.path(), &["user", "list", "--json"], "").await);
    let users: serde_json::Value = serde_json::from_str(&users).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["username"], "admin");
    assert_eq!(users[0]["must_change_password"], true);
}

#[tokio::test]
async fn generated_secrets_readable_by_others_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let path = data.join("secrets.toml");
    std::fs::write(&path, "jwt_secret = \"x\"\nencryption_keys = \"y\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(d.path(), &["serve", "--listen", "127.0.0.1:0"], "").await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("chmod 600"), "{err}");
}

#[tokio::test]
async fn serves_from_postgres_with_explicit_secrets() {
    let pg = TestDb::postgres().await;
    pg.db.close().await;
    let d = tempfile::tempdir().unwrap();
    let jwt = "j".repeat(48);
    let keys = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let server = Server::start(
        d.path(),
        &[],
        &[
            ("PORTCULLIS_DATABASE_URL", pg.url.expose()),
            ("PORTCULLIS_JWT_SECRET", &jwt),
            ("PORTCULLIS_ENCRYPTION_KEYS", keys),
        ],
    )
    .await;
    assert_eq!(server.get("/readyz").await.0, 200);
    let (exit, out) = server.stop().await;
    assert!(exit.success());
    assert!(
        out.contains("One-time password"),
        "admin created in PostgreSQL too"
    );
    assert!(
        !d.path().join("data").exists(),
        "nothing written locally for PostgreSQL"
    );
    pg.drop_db().await;
}
