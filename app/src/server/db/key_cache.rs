//! What the in-memory key cache is built from: the access change log (migration 0007), and the
//! keys and key owners it names, or all of them for a full load.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;

use super::{Db, on_pool};
use crate::{server::CoreError, types::Limits};

/// One usable (not revoked) key, as the cache needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub api_key_id: String,
    pub public_id: String,
    pub user_id: String,
    pub format: String,
    pub secret_digest: String,
    pub previous_digest: Option<String>,
    pub previous_valid_until: Option<DateTime<Utc>>,
    pub enabled: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub allowed_cidrs: Option<String>,
    pub requests_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub tokens_per_day: Option<i64>,
    pub tokens_per_month: Option<i64>,
    pub cost_per_month_micros: Option<i64>,
}

/// A key owner's part of every check of their keys.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnerRow {
    pub user_id: String,
    pub enabled: bool,
    pub all_models: bool,
    pub requests_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub tokens_per_day: Option<i64>,
    pub tokens_per_month: Option<i64>,
    pub cost_per_month_micros: Option<i64>,
}

/// One entry of the access change log: a key or a user changed at `revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub revision: i64,
    pub api_key_id: Option<String>,
    pub user_id: Option<String>,
}

impl KeyRow {
    pub fn limits(&self) -> Limits {
        Limits {
            requests_per_minute: self.requests_per_minute,
            tokens_per_minute: self.tokens_per_minute,
            tokens_per_day: self.tokens_per_day,
            tokens_per_month: self.tokens_per_month,
            cost_per_month_micros: self.cost_per_month_micros,
        }
    }
}

impl OwnerRow {
    pub fn limits(&self) -> Limits {
        Limits {
            requests_per_minute: self.requests_per_minute,
            tokens_per_minute: self.tokens_per_minute,
            tokens_per_day: self.tokens_per_day,
            tokens_per_month: self.tokens_per_month,
            cost_per_month_micros: self.cost_per_month_micros,
        }
    }
}

macro_rules! key_columns {
    () => {
        "api_key_id, public_id, user_id, format, secret_digest, previous_digest, \
         previous_valid_until, enabled, expires_at, allowed_cidrs, requests_per_minute, \
         tokens_per_minute, tokens_per_day, tokens_per_month, cost_per_month_micros"
    };
}
macro_rules! owner_columns {
    () => {
        "user_id, enabled, all_models, requests_per_minute, tokens_per_minute, tokens_per_day, \
         tokens_per_month, cost_per_month_micros"
    };
}
/// Owners of at least one usable key: the only ones a key check can reach.
macro_rules! live_owner {
    () => {
        "exists (select 1 from api_key k where k.user_id = u.user_id and k.revoked_at is null)"
    };
}
/// Bound parameters per statement: well under SQLite's and PostgreSQL's limits.
const CHUNK: usize = 500;

/// The current value of the access revision counter (see migration 0002).
pub async fn access_revision(db: &Db) -> Result<i64, CoreError> {
    const SQL: &str = "select value from change_counter where name = 'access'";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(SQL)
        .fetch_one(pool)
        .await)?)
}

/// The access revision now, and the changes after `revision`, oldest first, at most `limit`:
/// read in one statement, so the two agree.
pub async fn changes_since(
    db: &Db,
    revision: i64,
    limit: i64,
) -> Result<(i64, Vec<Change>), CoreError> {
    const SQL: &str = "select c.value, a.revision, a.api_key_id, a.user_id \
        from change_counter c left join access_change a on a.revision > $1 \
        where c.name = 'access' order by a.revision limit $2";
    type Row = (i64, Option<i64>, Option<String>, Option<String>);
    let rows: Vec<Row> = on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(revision)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
    let current = rows.first().map_or(revision, |r| r.0);
    let changes = rows
        .into_iter()
        .filter_map(|(_, revision, api_key_id, user_id)| {
            Some(Change {
                revision: revision?,
                api_key_id,
                user_id,
            })
        })
        .collect();
    Ok((current, changes))
}

/// Forgets the changes at or before `revision`; an instance further behind reloads everything.
pub async fn prune_changes(db: &Db, revision: i64) -> Result<u64, CoreError> {
    const SQL: &str = "delete from access_change where revision <= $1";
    Ok(on_pool!(db, |pool| sqlx::query(SQL)
        .bind(revision)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Rows of `select` (which ends in a condition) narrowed to `column in (ids)`, a chunk of ids
/// at a time.
async fn rows_where_in<T>(
    db: &Db,
    select: &'static str,
    column: &'static str,
    ids: &[&str],
) -> Result<Vec<T>, CoreError>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<T> = on_pool!(db, |pool| {
            let mut q = sqlx::QueryBuilder::new(select);
            q.push(" and ").push(column).push(" in (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            q.build_query_as().fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// The usable keys among `ids`; a key missing from the answer is revoked or deleted.
pub async fn keys(db: &Db, ids: &[&str]) -> Result<Vec<KeyRow>, CoreError> {
    const SQL: &str = concat!(
        "select ",
        key_columns!(),
        " from api_key where revoked_at is null"
    );
    rows_where_in(db, SQL, "api_key_id", ids).await
}

/// The model allowlists of `ids`: (key, model).
pub async fn key_models(db: &Db, ids: &[&str]) -> Result<Vec<(String, String)>, CoreError> {
    rows_where_in(
        db,
        "select api_key_id, model from api_key_model where true",
        "api_key_id",
        ids,
    )
    .await
}

/// The users among `ids` that still exist.
pub async fn owners(db: &Db, ids: &[&str]) -> Result<Vec<OwnerRow>, CoreError> {
    const SQL: &str = concat!("select ", owner_columns!(), " from app_user where true");
    rows_where_in(db, SQL, "user_id", ids).await
}

/// The model permissions of `ids`: (user, model).
pub async fn owner_models(db: &Db, ids: &[&str]) -> Result<Vec<(String, String)>, CoreError> {
    rows_where_in(
        db,
        "select user_id, model from user_model where true",
        "user_id",
        ids,
    )
    .await
}

/// What a full load reads, in this order.
#[allow(
    clippy::large_enum_variant,
    reason = "each row passes through once, by value: boxing it would allocate per key"
)]
pub enum Loaded {
    /// Every owner of a usable key, their model permissions (user, model), and every usable
    /// key's allowlist (key, model).
    Owners(Vec<OwnerRow>, Vec<(String, String)>, Vec<(String, String)>),
    /// Then the keys, one at a time, so a hundred thousand rows are never held at once.
    Key(KeyRow),
}

/// Everything, for a full load, in one transaction, sent to `to` as it is read (which waits
/// when the receiver falls behind); returns the revision it reflects (read first, so the rows
/// are at least that new: a change in between is applied again by the next catch-up, which is
/// harmless). Stops early, without an error, if the receiver is gone.
pub async fn load_all(db: &Db, to: &tokio::sync::mpsc::Sender<Loaded>) -> Result<i64, CoreError> {
    const REVISION: &str = "select value from change_counter where name = 'access'";
    const OWNERS: &str = concat!(
        "select ",
        owner_columns!(),
        " from app_user u where ",
        live_owner!()
    );
    const OWNER_MODELS: &str = concat!(
        "select user_id, model from user_model u where ",
        live_owner!()
    );
    const KEY_MODELS: &str = "select m.api_key_id, m.model from api_key_model m \
        join api_key k on k.api_key_id = m.api_key_id where k.revoked_at is null";
    const KEYS: &str = concat!(
        "select ",
        key_columns!(),
        " from api_key where revoked_at is null"
    );
    let revision = on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        let revision: i64 = sqlx::query_scalar(REVISION).fetch_one(&mut *tx).await?;
        let owners = Loaded::Owners(
            sqlx::query_as(OWNERS).fetch_all(&mut *tx).await?,
            sqlx::query_as(OWNER_MODELS).fetch_all(&mut *tx).await?,
            sqlx::query_as(KEY_MODELS).fetch_all(&mut *tx).await?,
        );
        if to.send(owners).await.is_ok() {
            let mut rows = sqlx::query_as::<_, KeyRow>(KEYS).fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                if to.send(Loaded::Key(row)).await.is_err() {
                    break;
                }
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(revision)
    }
    .await)?;
    Ok(revision)
}
