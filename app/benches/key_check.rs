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

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (_db, services, key, restricted) = rt.block_on(async {
        let db = TestDb::sqlite().await;
        let services = Services::start(
            db.db.clone(),
            testing::secrets(),
            GatewaySettings::default(),
        )
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
        let mut key = String::new();
        // A realistic cache: a thousand keys, the one under test among them.
        for i in 0..1000 {
            let req = NewKeyRequest {
                name: format!("k{i}"),
                user_id: None,
                models: vec![],
                expires_at: None,
                allowed_cidrs: vec![],
            };
            key = manage::create_for(&services, Actor::Console, &owner, req)
                .await
                .expect("key")
                .secret;
        }
        let req = NewKeyRequest {
            name: "restricted".into(),
            user_id: None,
            models: vec![],
            expires_at: None,
            allowed_cidrs: vec!["10.0.0.0/8".into(), "192.168.0.0/16".into()],
        };
        let restricted = manage::create_for(&services, Actor::Console, &owner, req)
            .await
            .expect("key")
            .secret;
        (db, services, key, restricted)
    });
    let addr: Option<IpAddr> = Some("10.1.2.3".parse().expect("ip"));
    let now = chrono::Utc::now();
    c.bench_function("key check, cache hit", |b| {
        b.iter(|| {
            services
                .keys
                .check(std::hint::black_box(&key), addr, now)
                .expect("valid key")
        })
    });
    c.bench_function("key check, cache hit with address ranges", |b| {
        b.iter(|| {
            services
                .keys
                .check(std::hint::black_box(&restricted), addr, now)
                .expect("valid key")
        })
    });
    c.bench_function("key check, unknown key", |b| {
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
