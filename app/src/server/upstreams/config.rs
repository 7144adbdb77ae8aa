//! The `[[upstreams]]` and `[[models]]` sections of the configuration file, and writing them to
//! the database at start. Rows that came from the file are marked `config` and replaced on every
//! start; rows administrators add later (`admin`) are left alone.

use std::{collections::HashMap, time::Duration};

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::server::{CoreError, Db, db::on_pool, seal, secrets::Keyring};

/// An upstream as written in the file, its credential already read from where the file points.
#[derive(Debug)]
pub struct UpstreamSpec {
    pub name: String,
    pub base_url: String,
    pub credential: Option<SecretString>,
    pub headers: HashMap<String, String>,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The name clients ask for.
    pub name: String,
    pub targets: Vec<TargetSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// The upstream's name.
    pub upstream: String,
    /// The name the upstream knows the model by; defaults to the public name.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// Checks the declared upstreams and models against each other; nothing is written on error.
pub fn check(upstreams: &[UpstreamSpec], models: &[ModelSpec]) -> Result<(), CoreError> {
    let mut names = std::collections::HashSet::new();
    for u in upstreams {
        if u.name.trim().is_empty() || !names.insert(u.name.as_str()) {
            return Err(CoreError::Config(format!(
                "upstream name `{}` is empty or repeated",
                u.name
            )));
        }
        let ok = u.base_url.starts_with("http://") || u.base_url.starts_with("https://");
        if !ok {
            return Err(CoreError::Config(format!(
                "upstream `{}`: base_url must start with http:// or https://",
                u.name
            )));
        }
    }
    let mut model_names = std::collections::HashSet::new();
    for m in models {
        if m.name.trim().is_empty() || !model_names.insert(m.name.as_str()) {
            return Err(CoreError::Config(format!(
                "model name `{}` is empty or repeated",
                m.name
            )));
        }
        if m.targets.is_empty() {
            return Err(CoreError::Config(format!(
                "model `{}` has no targets",
                m.name
            )));
        }
        for t in &m.targets {
            if !names.contains(t.upstream.as_str()) {
                return Err(CoreError::Config(format!(
                    "model `{}`: no upstream named `{}`",
                    m.name, t.upstream
                )));
            }
            if t.weight == 0 {
                return Err(CoreError::Config(format!(
                    "model `{}`: weights must be at least 1",
                    m.name
                )));
            }
        }
    }
    Ok(())
}

/// Replaces the configuration-owned upstreams and models with the ones declared, in one
/// transaction. Credentials are sealed, bound to their upstream's row.
pub async fn apply(
    db: &Db,
    keyring: &Keyring,
    upstreams: &[UpstreamSpec],
    models: &[ModelSpec],
) -> Result<(), CoreError> {
    check(upstreams, models)?;
    let now = Utc::now();
    let mut upstream_rows = Vec::new();
    let mut ids = HashMap::new();
    for u in upstreams {
        let id = uuid::Uuid::now_v7().to_string();
        let sealed = u
            .credential
            .as_ref()
            .map(|c| {
                seal::seal(
                    keyring,
                    &format!("upstream:{id}"),
                    c.expose_secret().as_bytes(),
                )
            })
            .transpose()?;
        let headers =
            serde_json::to_string(&u.headers).map_err(|e| CoreError::Internal(e.to_string()))?;
        ids.insert(u.name.clone(), id.clone());
        upstream_rows.push((id, u, sealed, headers));
    }
    const DELETE_MODELS: &str = "delete from model where source = 'config'";
    const DELETE_UPSTREAMS: &str = "delete from upstream where source = 'config'";
    const UPSTREAM: &str = "insert into upstream (upstream_id, name, base_url, credential_sealed, \
        extra_headers, connect_timeout_ms, idle_timeout_ms, source, created_at, updated_at) \
        values ($1, $2, $3, $4, $5, $6, $7, 'config', $8, $8)";
    const MODEL: &str = "insert into model (model_id, name, source, created_at, updated_at) \
        values ($1, $2, 'config', $3, $3)";
    const TARGET: &str = "insert into model_target (target_id, model_id, upstream_id, upstream_model, weight) \
        values ($1, $2, $3, $4, $5)";
    on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        sqlx::query(DELETE_MODELS).execute(&mut *tx).await?;
        sqlx::query(DELETE_UPSTREAMS).execute(&mut *tx).await?;
        for (id, u, sealed, headers) in &upstream_rows {
            sqlx::query(UPSTREAM)
                .bind(id)
                .bind(&u.name)
                .bind(u.base_url.trim_end_matches('/'))
                .bind(sealed)
                .bind(headers)
                .bind(i64::try_from(u.connect_timeout.as_millis()).unwrap_or(i64::MAX))
                .bind(i64::try_from(u.idle_timeout.as_millis()).unwrap_or(i64::MAX))
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        for m in models {
            let model_id = uuid::Uuid::now_v7().to_string();
            sqlx::query(MODEL)
                .bind(&model_id)
                .bind(&m.name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            for t in &m.targets {
                sqlx::query(TARGET)
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(&model_id)
                    .bind(&ids[&t.upstream])
                    .bind(t.model.as_deref().unwrap_or(&m.name))
                    .bind(i64::from(t.weight))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await
    }
    .await)?;
    Ok(())
}
