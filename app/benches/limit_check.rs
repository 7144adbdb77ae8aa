//! Reserving and settling a limited key's request when its allowance is already leased: what a
//! limited key adds to a `/v1` request on the hot path (no database round trip).
//! Run: `cargo bench -p app --features testing --bench limit_check`.

use std::sync::Arc;

use app::server::{
    limits::{Demand, LimitHolder, Limiter, LimiterSettings, Limits},
    testing::TestDb,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let t = rt.block_on(TestDb::sqlite());
    let limiter = Arc::new(Limiter::new(t.db.clone(), LimiterSettings::default()));
    // Limits so large that leases are rare: the measurement is the in-memory path.
    let key = Limits {
        requests_per_minute: Some(1 << 40),
        tokens_per_minute: Some(1 << 40),
        ..Limits::default()
    };
    let user = Limits {
        tokens_per_day: Some(1 << 40),
        tokens_per_month: Some(1 << 40),
        ..Limits::default()
    };
    let demand = Demand {
        tokens: 1200,
        cost_micros: 0,
    };
    let subjects = [
        (LimitHolder::Key, "01JKEY000001", &key),
        (LimitHolder::User, "01JUSER00001", &user),
    ];
    c.bench_function("reserve_and_settle_four_limits", |b| {
        b.iter(|| {
            let mut r = rt
                .block_on(limiter.reserve(&subjects, demand, chrono::Utc::now()))
                .expect("room");
            r.settle(300, 0);
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
