//! The `/v1` key check on a cache hit: what every proxied request pays before anything else.
//! Run: `cargo bench -p app --features testing --bench key_check`.

use std::net::IpAddr;

use app::server::{
    GatewaySettings, Services,
    audit::Actor,
    keys::manage::{self, NewKeyRequest},
    testing::{self, TestDb},
    users::{self, NewUser},
};
use app::types::Role;
use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::SecretString;

/// A gateway whose key cache holds `keys` keys, two of them made through the API: (database,
/// services, a plain key, a key with address ranges).
async fn gateway(keys: i64) -> (TestDb, Services, String, String) {
    let db = TestDb::sqlite().await;
    let settings = GatewaySettings {
        max_keys_per_user: keys,
        ..GatewaySettings::default()
    };
    let services = Services::start(db.db.clone(), testing::secrets(), settings)
        .await
        .expect("services");
    let new = NewUser {
        username: "bench".into(),
        email: None,
        role: Role::User,
        password: Some(SecretString::from("a long bench password")),
        must_change_password: false,
    };
    users::create(&services.db, Actor::Console, new)
        .await
        .expect("user");
    let owner = app::server::db::users::find_by_username(&services.db, "bench")
        .await
        .expect("db")
        .expect("user");
    db.bulk_keys(&owner.user_id, keys - 2)
        .await
        .expect("bulk keys");
    services.keys.reload(&services.db).await.expect("load");
    let mut made = Vec::new();
    for cidrs in [vec![], vec!["10.0.0.0/8".into(), "192.168.0.0/16".into()]] {
        let req = NewKeyRequest {
            name: "under test".into(),
            user_id: None,
            models: vec![],
            expires_at: None,
            allowed_cidrs: cidrs,
        };
        let key = manage::create_for(&services, Actor::Console, &owner, req)
            .await
            .expect("key");
        made.push(key.secret);
    }
    assert_eq!(
        services.keys.stats().keys,
        usize::try_from(keys).expect("count")
    );
    let restricted = made.pop().expect("key");
    (db, services, made.pop().expect("key"), restricted)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // The check must cost the same however many keys the cache holds.
    for keys in [1_000, 100_000] {
        let (_db, services, key, restricted) = rt.block_on(gateway(keys));
        checks(c, &services, &key, &restricted, &format!("{keys} keys"));
    }
}

fn checks(c: &mut Criterion, services: &Services, key: &str, restricted: &str, size: &str) {
    let addr: Option<IpAddr> = Some("10.1.2.3".parse().expect("ip"));
    let now = chrono::Utc::now();
    c.bench_function(&format!("key check, cache hit ({size})"), |b| {
        b.iter(|| {
            services
                .keys
                .check(std::hint::black_box(key), addr, now)
                .expect("valid key")
        })
    });
    c.bench_function(
        &format!("key check, cache hit with address ranges ({size})"),
        |b| {
            b.iter(|| {
                services
                    .keys
                    .check(std::hint::black_box(restricted), addr, now)
                    .expect("valid key")
            })
        },
    );
    c.bench_function(&format!("key check, unknown key ({size})"), |b| {
        b.iter(|| {
            services
                .keys
                .check(
                    std::hint::black_box(
                        "sk-pc-AAAAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
                    ),
                    addr,
                    now,
                )
                .expect_err("unknown")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
