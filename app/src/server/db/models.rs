//! Rows of `model`: the public model names clients ask for.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};
use crate::server::CoreError;

/// Enabled models by name, with when each was added.
pub async fn enabled(db: &Db) -> Result<Vec<(String, DateTime<Utc>)>, CoreError> {
    const SQL: &str = "select name, created_at from model where enabled order by name";
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .fetch_all(pool)
        .await)?)
}

/// Adds a model by name; for tests, until models are managed.
#[cfg(feature = "testing")]
pub async fn insert_for_tests(db: &Db, name: &str) {
    const SQL: &str =
        "insert into model (model_id, name, created_at, updated_at) values ($1, $1, $2, $2)";
    on_pool!(db, |pool| sqlx::query(SQL)
        .bind(name)
        .bind(Utc::now())
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("insert model");
}
