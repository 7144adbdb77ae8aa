//! The usage writer's batch into SQLite: events and their hourly and daily rollups in one
//! transaction, as the background writer forms them (up to 512 events). Issue 9's target is at
//! least 20,000 events per second.
//! Run: `cargo bench -p app --features testing --bench usage_write`.

use app::server::{
    db,
    testing::TestDb,
    usage::{Endpoint, Outcome, UsageEvent},
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const BATCH: usize = 512;

fn events(n: usize, round: i64) -> Vec<UsageEvent> {
    let now = chrono::Utc::now().timestamp_millis();
    (0..n)
        .map(|i| {
            let i = i64::try_from(i).unwrap_or(0);
            UsageEvent {
                created_ms: now - (round * 7 + i) % 3_600_000,
                // A realistic spread: 50 users with 2 keys each, 5 models.
                user_id: format!("01JUSER{:05}", i % 50),
                api_key_id: Some(format!("01JKEY{:06}", i % 100)),
                model: format!("model-{}", i % 5),
                target_id: Some(format!("target-{}", i % 5)),
                endpoint: Endpoint::ChatCompletions,
                status: 200,
                outcome: Outcome::Completed,
                streamed: i % 2 == 0,
                prompt_tokens: 100 + i % 50,
                completion_tokens: 200 + i % 70,
                total_ms: 900,
                ttfb_ms: Some(120),
                cost_micros: 17,
                estimated: false,
                units: 0,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let t = rt.block_on(TestDb::sqlite());
    let mut group = c.benchmark_group("usage_write");
    group.throughput(Throughput::Elements(BATCH as u64));
    let mut round = 0;
    group.bench_function("sqlite_batch_of_512", |b| {
        b.iter_batched(
            || {
                round += 1;
                events(BATCH, round)
            },
            |batch| {
                rt.block_on(db::usage::insert_batch(&t.db, &batch))
                    .expect("batch written");
            },
            criterion::BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
