use crate::binary::{run, stderr, stdout};

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

#[tokio::test]
async fn help_describes_every_command_option_variable_and_default() {
    let d = dir();
    let top = run(d.path(), &["--help"], "").await;
    assert!(top.status.success());
    let text = stdout(&top);
    for expected in [
        "serve",
        "migrate",
        "user",
        "check-config",
        "--config",
        "--data-dir",
        "[default: ./data]",
        "--database-url",
        "[env: PORTCULLIS_DATABASE_URL",
        "--jwt-secret-file",
        "[env: PORTCULLIS_JWT_SECRET_FILE",
        "--encryption-keys",
        "--log-format",
        "[default: text]",
    ] {
        assert!(
            text.contains(expected),
            "`--help` lacks {expected:?}:\n{text}"
        );
    }
    for (args, expected) in [
        (
            &["serve", "--help"][..],
            &[
                "Run the gateway",
                "--listen",
                "PORTCULLIS_LISTEN",
                "--leptos-config",
                "[default: Leptos.toml]",
            ][..],
        ),
        (
            &["migrate", "--help"],
            &["Apply pending database migrations"],
        ),
        (&["check-config", "--help"], &["Check the configuration"]),
        (&["user", "--help"], &["create", "list", "reset-password"]),
        (
            &["user", "create", "--help"],
            &[
                "--username",
                "--role",
                "[default: user]",
                "--email",
                "standard input",
            ],
        ),
        (&["user", "list", "--help"], &["--search", "--json"]),
        (
            &["user", "reset-password", "--help"],
            &["<USERNAME>", "end all of the user's sessions"],
        ),
    ] {
        let out = run(d.path(), args, "").await;
        assert!(out.status.success(), "{args:?}");
        let text = stdout(&out);
        for e in expected {
            assert!(
                text.contains(e),
                "`{}` lacks {e:?}:\n{text}",
                args.join(" ")
            );
        }
    }
}

#[tokio::test]
async fn a_wrong_database_url_says_which_forms_are_accepted() {
    let d = dir();
    let out = run(
        d.path(),
        &["--database-url", "mysql://root@localhost/x", "migrate"],
        "",
    )
    .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_reported_without_its_password() {
    let d = dir();
    let out = run(
        d.path(),
        &[
            "--database-url",
            "postgres://portcullis:hunter2hunter2@127.0.0.1:1/db",
            "migrate",
        ],
        "",
    )
    .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("cannot connect to `postgres://portcullis:***@127.0.0.1:1/db`"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "password leaked: {err}");
}

#[tokio::test]
async fn postgres_without_explicit_secrets_refuses_to_start_and_says_what_to_set() {
    let d = dir();
    let out = run(
        d.path(),
        &["--database-url", "postgres://u@127.0.0.1:1/db", "serve"],
        "",
    )
    .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    for expected in [
        "every replica must use the same secrets",
        "PORTCULLIS_JWT_SECRET",
        "openssl rand -base64 48",
        "PORTCULLIS_ENCRYPTION_KEYS",
        "openssl rand -base64 32",
    ] {
        assert!(err.contains(expected), "lacks {expected:?}: {err}");
    }
    assert!(
        !d.path().join("data").exists(),
        "nothing generated for PostgreSQL"
    );

    // With one of them given, the message names only the other.
    let out = run(
        d.path(),
        &[
            "--database-url",
            "postgres://u@127.0.0.1:1/db",
            "--jwt-secret",
            &"x".repeat(40),
            "serve",
        ],
        "",
    )
    .await;
    let err = stderr(&out);
    assert!(
        !err.contains("PORTCULLIS_JWT_SECRET") && err.contains("PORTCULLIS_ENCRYPTION_KEYS"),
        "{err}"
    );
}

#[tokio::test]
async fn weak_or_malformed_secrets_are_refused_with_a_hint() {
    let d = dir();
    let out = run(
        d.path(),
        &[
            "--jwt-secret",
            "short",
            "--encryption-keys",
            "k1:bm90IDMyIGJ5dGVz",
            "serve",
        ],
        "",
    )
    .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("at least 32 characters") && err.contains("openssl rand"),
        "{err}"
    );
}

#[tokio::test]
async fn users_are_managed_from_the_console() {
    let d = dir();
    let out = run(
        d.path(),
        &["user", "create", "--username", "alice", "--role", "admin"],
        "a long enough password\n",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("created admin `alice`"), "{text}");
    assert!(
        !text.contains("one-time password"),
        "a piped password is used, not generated"
    );

    let out = run(
        d.path(),
        &[
            "user",
            "create",
            "--username",
            "bob",
            "--email",
            "bob@example.org",
        ],
        "",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("one-time password (shown only now): "));

    let out = run(
        d.path(),
        &["user", "create", "--username", "BOB"],
        "another long password\n",
    )
    .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    let out = run(
        d.path(),
        &["user", "create", "--username", "carol"],
        "short\n",
    )
    .await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("password: must be at least 12 characters long"),
        "{}",
        stderr(&out)
    );

    let out = run(d.path(), &["user", "list", "--json"], "").await;
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON list");
    let users: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["username"].as_str().unwrap(), u["role"].as_str().unwrap()))
        .collect();
    assert_eq!(users, [("alice", "admin"), ("bob", "user")]);
    assert!(!stdout(&out).contains("argon2"), "hashes are never listed");

    let out = run(d.path(), &["user", "list", "--search", "example"], "").await;
    let text = stdout(&out);
    assert!(text.contains("bob") && !text.contains("alice"), "{text}");

    let out = run(d.path(), &["user", "reset-password", "Alice"], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("one-time password (shown only now): "));
    let out = run(d.path(), &["user", "reset-password", "nobody"], "").await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("user not found"), "{}", stderr(&out));
}

#[tokio::test]
async fn migrate_and_check_config_report_the_schema() {
    let d = dir();
    let out = run(d.path(), &["check-config"], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("will be generated at first start"), "{text}");
    assert!(
        text.contains("`portcullis serve` or `portcullis migrate` will apply it"),
        "{text}"
    );
    assert!(
        !d.path().join("data/secrets.toml").exists(),
        "check-config writes no secrets"
    );

    let out = run(d.path(), &["migrate"], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("is at schema version 8"),
        "{}",
        stdout(&out)
    );
    let out = run(d.path(), &["check-config"], "").await;
    assert!(stdout(&out).contains("up to date"), "{}", stdout(&out));
}

#[tokio::test]
async fn a_config_file_is_read_and_its_typos_are_errors() {
    let d = dir();
    std::fs::write(d.path().join("p.toml"), "[server]\ndata_dir = \"state\"\n").unwrap();
    let out = run(d.path(), &["--config", "p.toml", "migrate"], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(d.path().join("state/portcullis.db").exists());

    std::fs::write(d.path().join("bad.toml"), "[server]\ndatadir = \"x\"\n").unwrap();
    let out = run(d.path(), &["--config", "bad.toml", "migrate"], "").await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown field `datadir`"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn check_config_checks_the_declared_upstreams_and_models() {
    let d = dir();
    let upstream = "[[upstreams]]\nname = \"vllm\"\nbase_url = \"http://127.0.0.1:8000/v1\"\n";
    let cases = [
        (
            format!("{upstream}[[models]]\nname = \"m\"\ntargets = [{{ upstream = \"nope\" }}]\n"),
            "no upstream named `nope`",
        ),
        (
            "[[upstreams]]\nname = \"o\"\nbase_url = \"https://api.openai.com/v1\"\ncredential_env = \"PORTCULLIS_TEST_UNSET_KEY\"\n".to_owned(),
            "`PORTCULLIS_TEST_UNSET_KEY` holding its secret is not set",
        ),
        (
            "[[upstreams]]\nname = \"o\"\nbase_url = \"localhost:8000\"\n".to_owned(),
            "upstream `o`: base_url",
        ),
    ];
    for (toml, expected) in cases {
        std::fs::write(d.path().join("r.toml"), &toml).unwrap();
        let out = run(d.path(), &["--config", "r.toml", "check-config"], "").await;
        assert!(!out.status.success(), "{toml}");
        assert!(stderr(&out).contains(expected), "{toml}: {}", stderr(&out));
    }
    std::fs::write(
        d.path().join("r.toml"),
        format!("{upstream}discover_models = true\n[[models]]\nname = \"m\"\ntargets = [{{ upstream = \"vllm\" }}]\n"),
    )
    .unwrap();
    let out = run(d.path(), &["--config", "r.toml", "check-config"], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 upstream(s), 1 model(s) declared"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn check_config_checks_the_identity_providers() {
    let d = dir();
    let provider = "[[auth.providers]]\nname = \"kc\"\nkind = \"oidc\"\nissuer = \"https://sso.example.com/realms/x\"\nclient_id = \"portcullis\"\n";
    let cases = [
        (provider.to_owned(), "need `public_url`"),
        (
            format!("[auth]\npublic_url = \"https://gw.example.com\"\n{provider}client_secret_env = \"PORTCULLIS_TEST_UNSET_SECRET\"\n"),
            "`PORTCULLIS_TEST_UNSET_SECRET` holding its secret is not set",
        ),
        (
            "[auth]\npublic_url = \"https://gw.example.com\"\n[[auth.providers]]\nname = \"gh\"\nkind = \"github\"\nclient_id = \"x\"\n".to_owned(),
            "GitHub needs a client secret",
        ),
        (
            "[auth]\npassword_login = false\n".to_owned(),
            "nobody could sign in",
        ),
    ];
    for (toml, expected) in cases {
        std::fs::write(d.path().join("a.toml"), &toml).unwrap();
        let out = run(d.path(), &["--config", "a.toml", "check-config"], "").await;
        assert!(!out.status.success(), "{toml}");
        assert!(stderr(&out).contains(expected), "{toml}: {}", stderr(&out));
    }
    std::fs::write(
        d.path().join("a.toml"),
        format!("[auth]\npublic_url = \"https://gw.example.com\"\nregistration = \"approval\"\n{provider}"),
    )
    .unwrap();
    let out = run(d.path(), &["--config", "a.toml", "check-config"], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("sign-in:    passwords on, 1 identity provider(s), registration approval"),
        "{}",
        stdout(&out)
    );
}
