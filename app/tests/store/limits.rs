use app::server::{
    Backend,
    db::limits::{self as ledger, LedgerRow},
    limits::{Limiter, LimiterSettings, Metric},
    testing::TestDb,
};
use chrono::{Duration, Utc};

use crate::on_both_backends;

on_both_backends!(pruning_keeps_only_the_current_and_previous_window_of_each_limit);

async fn pruning_keeps_only_the_current_and_previous_window_of_each_limit(backend: Backend) {
    let t = TestDb::new(backend).await;
    let now = Utc::now();
    for (metric, ago) in [
        (Metric::RequestsPerMinute, Duration::zero()),
        (Metric::RequestsPerMinute, Duration::minutes(1)),
        (Metric::RequestsPerMinute, Duration::minutes(2)),
        (Metric::RequestsPerMinute, Duration::hours(5)),
        (Metric::TokensPerDay, Duration::days(1)),
        (Metric::TokensPerDay, Duration::days(3)),
        (Metric::TokensPerMonth, Duration::days(20)),
        (Metric::TokensPerMonth, Duration::days(100)),
    ] {
        let (start, _) = metric.window(now - ago);
        let row = LedgerRow {
            subject: "k:key",
            metric: metric as i32,
            window_start_ms: start,
        };
        ledger::adjust(&t.db, row, 5).await.unwrap();
    }
    let before = t.scalar("select count(*) from limit_ledger", &[]).await;
    let limiter = Limiter::new(t.db.clone(), LimiterSettings::default());
    let deleted = limiter.prune(now).await.unwrap();
    assert_eq!(
        t.scalar("select count(*) from limit_ledger", &[]).await,
        before - i64::try_from(deleted).unwrap()
    );
    // Minutes: now and the one before stay; days: yesterday stays; months: 20 days ago is this
    // month or the last.
    assert_eq!(deleted, 4);
    assert_eq!(
        t.scalar("select count(*) from limit_ledger where metric = 1", &[])
            .await,
        2
    );
    t.drop_db().await;
}
