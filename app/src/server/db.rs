//! The database: SQLite (embedded, the default) or PostgreSQL, chosen by the URL's scheme.
//!
//! Queries are checked at run time, and one SQL string serves both backends wherever the
//! dialects agree (`$1` placeholders work on both); [`on_pool!`] type-checks the body once per
//! backend so no generics leak into callers.

pub mod audit;
pub mod identities;
pub mod invites;
pub mod key_cache;
pub mod keys;
pub mod limits;
pub mod models;
pub mod responses;
pub mod routing;
pub mod sessions;
pub mod sso;
pub mod upstreams;
pub mod usage;
pub mod usage_report;
pub mod users;

use std::{fmt, str::FromStr, time::Duration};

use sqlx::{
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};

use super::CoreError;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Runs the same body against whichever pool is active.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite($pool) => $body,
            $crate::server::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// A database URL whose `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn backend(&self) -> Backend {
        if self.0.starts_with("postgres://") || self.0.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return self.0.clone();
        };
        let Some((userinfo, host)) = rest.split_once('@') else {
            return self.0.clone();
        };
        match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => self.0.clone(),
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let supported = ["sqlite:", "postgres://", "postgresql://"];
        if supported.iter().any(|p| s.starts_with(p)) {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "unsupported database URL `{}`: use `sqlite://PATH` (for example \
                 `sqlite://data/portcullis.db`) or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`",
                Self(s.to_owned()).redacted()
            ))
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// In test builds every connection taken from the pool is counted for the task that took it
/// (see `testing::count_db_uses`), which is how tests show the request path stays off the
/// database.
#[cfg(feature = "testing")]
fn counted<DB: sqlx::Database>(
    options: sqlx::pool::PoolOptions<DB>,
) -> sqlx::pool::PoolOptions<DB> {
    options
        .before_acquire(|_, _| {
            super::testing::note_db_use();
            Box::pin(async { Ok(true) })
        })
        .after_connect(|_, _| {
            super::testing::note_db_use();
            Box::pin(async { Ok(()) })
        })
}

#[cfg(not(feature = "testing"))]
fn counted<DB: sqlx::Database>(
    options: sqlx::pool::PoolOptions<DB>,
) -> sqlx::pool::PoolOptions<DB> {
    options
}

/// `work`, to be spawned as a task that goes on with the caller's request: in test builds its
/// database connections count for the caller, as if it ran on the caller's own task.
#[cfg(feature = "testing")]
pub fn on_request_path<F: Future>(work: F) -> impl Future<Output = F::Output> {
    super::testing::carry_db_uses(work)
}

#[cfg(not(feature = "testing"))]
pub fn on_request_path<F: Future>(work: F) -> F {
    work
}

#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Connects; a SQLite file (mode 0600) and its parent directory (0700) are created when
    /// missing.
    pub async fn connect(url: &DatabaseUrl, settings: &PoolSettings) -> Result<Self, CoreError> {
        let bad_url =
            |e: sqlx::Error| CoreError::Config(format!("invalid database URL `{url}`: {e}"));
        match url.backend() {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url.expose())
                    .map_err(bad_url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // WAL makes NORMAL durable across application crashes; FULL costs an fsync per commit.
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                let path = opts.get_filename();
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    super::private_fs::create_dir(dir).map_err(|e| {
                        CoreError::Config(format!(
                            "cannot create the database directory `{}`: {e}",
                            dir.display()
                        ))
                    })?;
                }
                // SQLite gives its journal files the database file's mode.
                if !path.as_os_str().is_empty() && path.as_os_str() != ":memory:" {
                    super::private_fs::create_file(path).map_err(|e| {
                        CoreError::Config(format!(
                            "cannot create the database `{}`: {e}",
                            path.display()
                        ))
                    })?;
                }
                let pool = counted(SqlitePoolOptions::new())
                    .max_connections(settings.max_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(opts)
                    .await
                    .map_err(|e| CoreError::Config(format!("cannot open `{url}`: {e}")))?;
                Ok(Self::Sqlite(pool))
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url.expose()).map_err(bad_url)?;
                let pool = counted(PgPoolOptions::new())
                    .max_connections(settings.max_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(opts)
                    .await
                    .map_err(|e| CoreError::Config(format!("cannot connect to `{url}`: {e}")))?;
                Ok(Self::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    fn migrator(&self) -> &'static Migrator {
        match self {
            Self::Sqlite(_) => &SQLITE_MIGRATIONS,
            Self::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies every pending migration. Safe to run from several replicas at once: sqlx takes
    /// an advisory lock on PostgreSQL.
    pub async fn migrate(&self) -> Result<(), CoreError> {
        on_pool!(self, |pool| self.migrator().run(pool).await)?;
        Ok(())
    }

    /// The newest migration version this binary knows.
    pub fn latest_known_migration(&self) -> i64 {
        self.migrator().iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// The newest migration applied to the database, if any.
    pub async fn latest_applied_migration(&self) -> Result<Option<i64>, CoreError> {
        const SQL: &str = "select max(version) from _sqlx_migrations where success";
        let v: Option<i64> = on_pool!(self, |pool| sqlx::query_scalar(SQL).fetch_one(pool).await)?;
        Ok(v)
    }

    /// Ready means: the database answers and every migration this binary knows is applied.
    pub async fn check_ready(&self) -> Result<(), CoreError> {
        let applied = self.latest_applied_migration().await?;
        let known = self.latest_known_migration();
        if applied.unwrap_or(0) < known {
            return Err(CoreError::Config(format!(
                "database schema is at version {applied:?}, this binary needs {known}; run `portcullis migrate`"
            )));
        }
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await);
    }
}
