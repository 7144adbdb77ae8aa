//! Test fixtures: a fresh, migrated database on either backend.
//!
//! PostgreSQL tests use the server named by `PORTCULLIS_TEST_POSTGRES_URL` (scripts/test.sh
//! starts a throw-away one) and create a database of their own on it, so tests run in
//! parallel without seeing each other's rows.

use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use sqlx::{Connection, Executor, PgConnection};

use super::{Backend, DatabaseUrl, Db, db::PoolSettings};

pub const POSTGRES_URL_VAR: &str = "PORTCULLIS_TEST_POSTGRES_URL";

tokio::task_local! {
    static DB_USES: Arc<AtomicUsize>;
}

/// Runs `work` and counts the database connections it takes from any pool: every query and
/// transaction takes one. Tasks it spawns are not counted, as they are not on its path.
pub async fn count_db_uses<F: Future>(work: F) -> (F::Output, usize) {
    let uses = Arc::new(AtomicUsize::new(0));
    let out = DB_USES.scope(uses.clone(), work).await;
    (out, uses.load(Ordering::SeqCst))
}

/// `work` counting for the caller's [`count_db_uses`], wherever it is polled.
pub(crate) fn carry_db_uses<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let uses = DB_USES
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::new(AtomicUsize::new(0)));
    DB_USES.scope(uses, work)
}

pub(crate) fn note_db_use() {
    let _ = DB_USES.try_with(|uses| uses.fetch_add(1, Ordering::SeqCst));
}

/// A migrated database that lives as long as this value (SQLite) or until [`TestDb::drop_db`]
/// (PostgreSQL).
pub struct TestDb {
    pub db: Db,
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A SQLite file in a temporary directory, as the gateway uses by default.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url: DatabaseUrl = format!("sqlite://{}/portcullis.db", dir.path().display())
            .parse()
            .expect("sqlite URL");
        let db = connect(&url).await;
        Self {
            db,
            url,
            _dir: Some(dir),
            pg: None,
        }
    }

    /// A new database on the test PostgreSQL server.
    pub async fn postgres() -> Self {
        let admin = postgres_admin_url();
        let name = format!("portcullis_t_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server at {admin}: {e}"));
        conn.execute(sqlx::AssertSqlSafe(format!("create database {name}")))
            .await
            .expect("create test database");
        conn.close().await.ok();
        let url = DatabaseUrl::from_str(&with_database(&admin, &name)).expect("postgres URL");
        let db = connect(&url).await;
        Self {
            db,
            url,
            _dir: None,
            pg: Some((admin, name)),
        }
    }

    /// Closes the pool and, on PostgreSQL, drops the database.
    pub async fn drop_db(self) {
        self.db.close().await;
        if let Some((admin, name)) = self.pg {
            let mut conn = PgConnection::connect(&admin)
                .await
                .expect("admin connection");
            conn.execute(sqlx::AssertSqlSafe(format!(
                "drop database if exists {name} with (force)"
            )))
            .await
            .expect("drop test database");
        }
    }
}

async fn connect(url: &DatabaseUrl) -> Db {
    let settings = PoolSettings {
        max_connections: 5,
        ..PoolSettings::default()
    };
    let db = Db::connect(url, &settings)
        .await
        .expect("connect to the test database");
    db.migrate().await.expect("migrate the test database");
    db
}

/// The URL of the test PostgreSQL server. Missing is a failure, not a skip: a suite that
/// quietly tests one backend proves nothing about the other.
pub fn postgres_admin_url() -> String {
    std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_URL_VAR} is not set: run the tests through scripts/test.sh, which starts a \
             throw-away PostgreSQL server, or point it at one (postgres://USER@HOST:PORT/postgres)"
        )
    })
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            super::with_database("postgres://u@h:1/postgres", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h:1", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}

/// A value bound to a raw test query.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(&'static str),
    Int(i64),
    Bool(bool),
    Null,
    Now,
    Time(chrono::DateTime<chrono::Utc>),
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args {
            q = match a {
                Arg::Text(s) => q.bind(*s),
                Arg::Int(i) => q.bind(*i),
                Arg::Bool(b) => q.bind(*b),
                Arg::Null => q.bind(None::<String>),
                Arg::Now => q.bind(chrono::Utc::now()),
                Arg::Time(t) => q.bind(*t),
            };
        }
        q
    }};
}

impl TestDb {
    /// Runs one statement with the same SQL on either backend; returns the rows affected.
    pub async fn exec(&self, sql: &'static str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        super::db::on_pool!(&self.db, |pool| {
            bind_all!(sqlx::query(sql), args)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
    }

    /// The single integer a query returns.
    pub async fn scalar(&self, sql: &'static str, args: &[Arg]) -> i64 {
        super::db::on_pool!(&self.db, |pool| {
            bind_all!(sqlx::query_scalar::<_, i64>(sql), args)
                .fetch_one(pool)
                .await
        })
        .unwrap_or_else(|e| panic!("`{sql}` failed: {e}"))
    }

    /// Adds `n` keys for `user_id` in one statement, for tests and benchmarks at scale (a
    /// hundred thousand keys through the API would take minutes): public ids `B00000000001`…,
    /// digests that no secret matches.
    pub async fn bulk_keys(&self, user_id: &str, n: i64) -> Result<u64, sqlx::Error> {
        const SQLITE: &str = "with recursive n(i) as (select 1 union all select i + 1 from n where i < $2) \
            insert into api_key (api_key_id, public_id, user_id, name, secret_digest, created_at, updated_at) \
            select 'bulk-' || i, 'B' || printf('%011d', i), $1, 'bulk', printf('%064d', i), $3, $3 from n";
        const POSTGRES: &str = "insert into api_key (api_key_id, public_id, user_id, name, secret_digest, created_at, updated_at) \
            select 'bulk-' || i, 'B' || lpad(i::text, 11, '0'), $1, 'bulk', lpad(i::text, 64, '0'), $3, $3 \
            from generate_series(1, $2::bigint) as i";
        let now = chrono::Utc::now();
        match &self.db {
            Db::Sqlite(pool) => sqlx::query(SQLITE)
                .bind(user_id)
                .bind(n)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
            Db::Postgres(pool) => sqlx::query(POSTGRES)
                .bind(user_id)
                .bind(n)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
        }
    }

    /// The text a query returns in its first row, if any row.
    pub async fn text(&self, sql: &'static str, args: &[Arg]) -> Option<String> {
        super::db::on_pool!(&self.db, |pool| {
            bind_all!(sqlx::query_scalar::<_, Option<String>>(sql), args)
                .fetch_optional(pool)
                .await
        })
        .unwrap_or_else(|e| panic!("`{sql}` failed: {e}"))
        .flatten()
    }
}

/// Secrets as configured (their text), so several instances can be started with the same.
#[derive(Clone)]
pub struct RawSecrets {
    jwt: secrecy::SecretString,
    keyring: secrecy::SecretString,
}

impl RawSecrets {
    /// Fresh random secrets, as a deployment would configure them.
    pub fn generate() -> Self {
        use super::secrets::{JwtSecret, Keyring};
        Self {
            jwt: JwtSecret::generate(),
            keyring: Keyring::generate(),
        }
    }

    pub fn secrets(&self) -> super::secrets::Secrets {
        use super::secrets::{JwtSecret, Keyring, Secrets};
        Secrets {
            jwt: JwtSecret::parse(&self.jwt).expect("generated JWT secret parses"),
            keyring: Keyring::parse(&self.keyring).expect("generated keyring parses"),
        }
    }
}

/// Fresh random secrets, as a deployment would configure them.
pub fn secrets() -> super::secrets::Secrets {
    RawSecrets::generate().secrets()
}

impl TestDb {
    /// Another connection pool to the same database, as a second gateway instance has; it
    /// never drops the database.
    pub async fn attach(&self) -> Self {
        let db = connect(&self.url).await;
        Self {
            db,
            url: self.url.clone(),
            _dir: None,
            pg: None,
        }
    }
}

/// Declares `NAME::sqlite` and `NAME::postgres` tests for each story `async fn NAME(Backend)`,
/// so every story runs on both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($story:ident),* $(,)?) => {$(
        mod $story {
            #[tokio::test]
            async fn sqlite() {
                super::$story($crate::server::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$story($crate::server::Backend::Postgres).await;
            }
        }
    )*};
}
