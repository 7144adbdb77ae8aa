use std::time::Duration;

use app::server::{
    Backend, db,
    testing::TestDb,
    usage::{Endpoint, Outcome, UsageEvent, retention},
};

use crate::on_both_backends;

const HOUR_MS: i64 = 3_600_000;

on_both_backends!(
    rollups_equal_the_sums_of_the_raw_events_they_cover,
    retention_deletes_only_raw_events_past_their_age_and_keeps_the_rollups,
);

/// Deterministic, varied events: three users, keys (one request without a key), models,
/// outcomes and statuses, spread over `hours` hours ending at `end_ms`.
fn events(n: usize, end_ms: i64, hours: i64) -> Vec<UsageEvent> {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |m: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        i64::try_from((seed >> 33) % m).unwrap()
    };
    (0..n)
        .map(|_| {
            let user = next(3);
            let outcome = [
                Outcome::Completed,
                Outcome::Completed,
                Outcome::UpstreamError,
                Outcome::ClientCancelled,
            ][usize::try_from(next(4)).unwrap()];
            UsageEvent {
                created_ms: end_ms - next(u64::try_from(hours * HOUR_MS).unwrap()),
                user_id: format!("user-{user}"),
                api_key_id: (next(4) > 0).then(|| format!("key-{user}-{}", next(2))),
                model: ["llama", "qwen", "mistral"][usize::try_from(next(3)).unwrap()].to_owned(),
                target_id: Some("t".into()),
                endpoint: Endpoint::ChatCompletions,
                status: [200, 200, 429, 502][usize::try_from(next(4)).unwrap()],
                outcome,
                streamed: next(2) == 0,
                prompt_tokens: next(500),
                completion_tokens: next(2000),
                total_ms: next(5000),
                ttfb_ms: Some(next(100)),
                cost_micros: next(10_000),
                estimated: next(2) == 0,
                units: 0,
            }
        })
        .collect()
}

macro_rules! matching_groups {
    ($table:literal, $bucket_ms:literal) => {
        concat!(
            "select count(*) from (select created_ms - (created_ms % ",
            $bucket_ms,
            ") as b, user_id, \
             coalesce(api_key_id, '') as k, model, count(*) as n, \
             sum(case when outcome <> 0 or status >= 400 then 1 else 0 end) as e, \
             sum(prompt_tokens) as p, sum(completion_tokens) as c, sum(cost_micros) as cost \
             from usage_event group by 1, 2, 3, 4) r join ",
            $table,
            " h \
             on h.bucket_start_ms = r.b and h.user_id = r.user_id and h.api_key_id = r.k \
             and h.model = r.model and h.requests = r.n and h.errors = r.e \
             and h.prompt_tokens = r.p and h.completion_tokens = r.c and h.cost_micros = r.cost"
        )
    };
}

macro_rules! raw_groups {
    ($bucket_ms:literal) => {
        concat!(
            "select count(*) from (select 1 from usage_event group by created_ms - (created_ms % ",
            $bucket_ms,
            "), user_id, coalesce(api_key_id, ''), model) g"
        )
    };
}

async fn rollups_equal_the_sums_of_the_raw_events_they_cover(backend: Backend) {
    let t = TestDb::new(backend).await;
    let all = events(3000, chrono::Utc::now().timestamp_millis(), 60);
    // Batches of several sizes, as the writer forms them: rows of one rollup meet across
    // batches and inside one.
    let mut rest = all.as_slice();
    for size in [1, 7, 300, 512, 1000, 2000].iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, tail) = rest.split_at((*size).min(rest.len()));
        db::usage::insert_batch(&t.db, batch).await.unwrap();
        rest = tail;
    }
    assert_eq!(
        t.scalar("select count(*) from usage_event", &[]).await,
        3000
    );
    for (groups, rows, matching) in [
        (
            raw_groups!("3600000"),
            "select count(*) from usage_hourly",
            matching_groups!("usage_hourly", "3600000"),
        ),
        (
            raw_groups!("86400000"),
            "select count(*) from usage_daily",
            matching_groups!("usage_daily", "86400000"),
        ),
    ] {
        let groups = t.scalar(groups, &[]).await;
        assert!(
            groups > 50,
            "the data set spreads over many rollup rows: {groups}"
        );
        assert_eq!(
            t.scalar(rows, &[]).await,
            groups,
            "one rollup row per group of events"
        );
        assert_eq!(
            t.scalar(matching, &[]).await,
            groups,
            "every rollup row equals its events' sums"
        );
    }
    t.drop_db().await;
}

async fn retention_deletes_only_raw_events_past_their_age_and_keeps_the_rollups(backend: Backend) {
    let t = TestDb::new(backend).await;
    let now = chrono::Utc::now();
    let day_ms = 24 * HOUR_MS;
    let old = events(
        usize::try_from(retention::BATCH).unwrap() + 500,
        now.timestamp_millis() - 10 * day_ms,
        48,
    );
    let recent = events(40, now.timestamp_millis(), 24);
    db::usage::insert_batch(&t.db, &old).await.unwrap();
    db::usage::insert_batch(&t.db, &recent).await.unwrap();
    let requests = "select cast(sum(requests) as bigint) from usage_daily";
    let tokens = "select cast(sum(prompt_tokens + completion_tokens) as bigint) from usage_hourly";
    let (before_requests, before_tokens) =
        (t.scalar(requests, &[]).await, t.scalar(tokens, &[]).await);

    let deleted = retention::purge(&t.db, Duration::from_secs(7 * 24 * 3600), now)
        .await
        .unwrap();
    assert_eq!(deleted, u64::try_from(old.len()).unwrap());
    assert_eq!(t.scalar("select count(*) from usage_event", &[]).await, 40);
    assert_eq!(
        t.scalar(
            "select count(*) from usage_event where created_ms < $1",
            &[app::server::testing::Arg::Int(
                now.timestamp_millis() - 7 * day_ms
            )]
        )
        .await,
        0
    );
    assert_eq!(
        t.scalar(requests, &[]).await,
        before_requests,
        "rollups are kept"
    );
    assert_eq!(t.scalar(tokens, &[]).await, before_tokens);
    // Nothing left to delete: a second pass deletes nothing.
    assert_eq!(
        retention::purge(&t.db, Duration::from_secs(7 * 24 * 3600), now)
            .await
            .unwrap(),
        0
    );
    t.drop_db().await;
}
