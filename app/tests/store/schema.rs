use app::server::{
    Backend,
    testing::{Arg::*, TestDb},
};

use crate::on_both_backends;

on_both_backends!(
    migrations_are_applied_once_and_rerun_safely,
    schema_holds_every_entity_and_deleting_a_user_takes_what_is_theirs
);

async fn migrations_are_applied_once_and_rerun_safely(backend: Backend) {
    let t = TestDb::new(backend).await;
    t.db.check_ready().await.expect("ready after migrate");
    let applied = t.db.latest_applied_migration().await.unwrap();
    assert_eq!(applied, Some(t.db.latest_known_migration()));
    t.db.migrate().await.expect("second migrate is a no-op");
    let rows = t.scalar("select count(*) from _sqlx_migrations", &[]).await;
    assert_eq!(rows, t.db.latest_known_migration());
    t.drop_db().await;
}

async fn schema_holds_every_entity_and_deleting_a_user_takes_what_is_theirs(backend: Backend) {
    let t = TestDb::new(backend).await;
    let user = "insert into app_user (user_id, username, role, created_at, updated_at) values ($1, $2, $3, $4, $4)";
    t.exec(user, &[Text("u1"), Text("Alice"), Text("user"), Now])
        .await
        .unwrap();
    // Case-insensitive uniqueness, and the role is constrained.
    assert!(
        t.exec(user, &[Text("u2"), Text("ALICE"), Text("user"), Now])
            .await
            .is_err()
    );
    assert!(
        t.exec(user, &[Text("u3"), Text("carol"), Text("root"), Now])
            .await
            .is_err()
    );

    t.exec(
        "insert into user_model (user_id, model) values ($1, $2)",
        &[Text("u1"), Text("llama")],
    )
    .await
    .unwrap();
    t.exec(
        "insert into refresh_family (family_id, user_id, created_at, last_used_at, expires_at) values ($1, $2, $3, $3, $3)",
        &[Text("f1"), Text("u1"), Now],
    )
    .await
    .unwrap();
    t.exec(
        "insert into refresh_token (token_id, family_id, digest, issued_at, expires_at) values ($1, $2, $3, $4, $4)",
        &[Text("t1"), Text("f1"), Text("d1"), Now],
    )
    .await
    .unwrap();
    t.exec(
        "insert into api_key (api_key_id, public_id, user_id, name, secret_digest, secret_sealed, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $7)",
        &[Text("k1"), Text("pub1"), Text("u1"), Text("ci"), Text("digest"), Text("v1.k1.x"), Now],
    )
    .await
    .unwrap();
    t.exec(
        "insert into api_key_model (api_key_id, model) values ($1, $2)",
        &[Text("k1"), Text("llama")],
    )
    .await
    .unwrap();
    // A key's public id is unique: lookups by it must find one key.
    let dup = t
        .exec(
            "insert into api_key (api_key_id, public_id, user_id, name, secret_digest, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $6)",
            &[Text("k2"), Text("pub1"), Text("u1"), Text("x"), Text("d"), Now],
        )
        .await;
    assert!(dup.is_err());

    t.exec(
        "insert into upstream (upstream_id, name, base_url, credential_sealed, created_at, updated_at) values ($1, $2, $3, $4, $5, $5)",
        &[Text("up1"), Text("vllm"), Text("http://127.0.0.1:8000/v1"), Null, Now],
    )
    .await
    .unwrap();
    t.exec(
        "insert into model (model_id, name, created_at, updated_at) values ($1, $2, $3, $3)",
        &[Text("m1"), Text("llama"), Now],
    )
    .await
    .unwrap();
    t.exec(
        "insert into model_target (target_id, model_id, upstream_id, upstream_model, weight) values ($1, $2, $3, $4, $5)",
        &[Text("tg1"), Text("m1"), Text("up1"), Text("meta-llama/Llama-3.1-8B"), Int(3)],
    )
    .await
    .unwrap();
    // Weights are positive.
    assert!(
        t.exec(
            "insert into model_target (target_id, model_id, upstream_id, upstream_model, weight) values ($1, $2, $3, $4, $5)",
            &[Text("tg2"), Text("m1"), Text("up1"), Text("other"), Int(0)],
        )
        .await
        .is_err()
    );

    t.exec(
        "insert into usage_event (created_ms, user_id, api_key_id, model, target_id, endpoint, status, outcome, streamed, \
         prompt_tokens, completion_tokens, total_ms, ttfb_ms) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &[Int(1_700_000_000_000), Text("u1"), Text("k1"), Text("llama"), Text("tg1"), Int(1), Int(200), Int(0), Bool(true), Int(12), Int(34), Int(250), Int(40)],
    )
    .await
    .unwrap();
    for table in ["usage_hourly", "usage_daily"] {
        let sql: &'static str = match table {
            "usage_hourly" => {
                "insert into usage_hourly (bucket_start_ms, user_id, api_key_id, model, requests, prompt_tokens, completion_tokens) values ($1, $2, $3, $4, 1, 12, 34)"
            }
            _ => {
                "insert into usage_daily (bucket_start_ms, user_id, api_key_id, model, requests, prompt_tokens, completion_tokens) values ($1, $2, $3, $4, 1, 12, 34)"
            }
        };
        t.exec(
            sql,
            &[
                Int(1_699_999_200_000),
                Text("u1"),
                Text("k1"),
                Text("llama"),
            ],
        )
        .await
        .unwrap();
        // One row per bucket, user, key and model: rollups are upserted, never duplicated.
        assert!(
            t.exec(
                sql,
                &[
                    Int(1_699_999_200_000),
                    Text("u1"),
                    Text("k1"),
                    Text("llama")
                ]
            )
            .await
            .is_err()
        );
    }
    t.exec(
        "insert into audit_log (created_at, actor_user_id, actor_username, action, target_type, target_id) values ($1, $2, $3, $4, $5, $6)",
        &[Now, Text("u1"), Text("Alice"), Text("key.create"), Text("api_key"), Text("k1")],
    )
    .await
    .unwrap();

    // Deleting the user removes their permissions, sessions and keys; history stays.
    assert_eq!(
        t.exec("delete from app_user where user_id = $1", &[Text("u1")])
            .await
            .unwrap(),
        1
    );
    for (table, expected) in [
        ("user_model", 0),
        ("refresh_family", 0),
        ("refresh_token", 0),
        ("api_key", 0),
        ("api_key_model", 0),
        ("usage_event", 1),
        ("usage_hourly", 1),
        ("usage_daily", 1),
        ("audit_log", 1),
        ("model_target", 1),
    ] {
        let sql: &'static str = Box::leak(format!("select count(*) from {table}").into_boxed_str());
        assert_eq!(t.scalar(sql, &[]).await, expected, "rows left in {table}");
    }
    // Deleting an upstream removes the targets that pointed at it.
    t.exec(
        "delete from upstream where upstream_id = $1",
        &[Text("up1")],
    )
    .await
    .unwrap();
    assert_eq!(t.scalar("select count(*) from model_target", &[]).await, 0);
    t.drop_db().await;
}
