//! The `[[upstreams]]` and `[[models]]` sections of the configuration file, and writing them to
//! the database at start. Rows that came from the file are marked `config` and replaced on every
//! start; rows administrators add later (`admin`) are left alone.

use std::{collections::HashMap, time::Duration};

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::upstream::seal_context;
use crate::server::{CoreError, Db, db::on_pool, seal, secrets::Keyring};
use crate::types::UpstreamApi;

/// An upstream as written in the file, its credential already read from where the file points.
#[derive(Debug)]
pub struct UpstreamSpec {
    pub name: String,
    pub base_url: String,
    pub api: UpstreamApi,
    pub credential: Option<SecretString>,
    pub headers: HashMap<String, String>,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    /// Offer every model the upstream lists at its own `/models`.
    pub discover_models: bool,
    /// Further paths clients may call on it through the gateway (see `upstreams::paths`).
    pub extra_paths: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The name clients ask for.
    pub name: String,
    pub targets: Vec<TargetSpec>,
    /// Its prices, in micro-units of the deployment's currency: per million prompt and
    /// completion tokens, and per unit of a non-token endpoint. Each one given is written at
    /// every start; one left out keeps what the management API set.
    #[serde(default)]
    pub input_price_micros: Option<i64>,
    #[serde(default)]
    pub output_price_micros: Option<i64>,
    #[serde(default)]
    pub unit_price_micros: Option<i64>,
    /// Per image by `quality/size`, `size` or `quality`.
    #[serde(default)]
    pub image_prices: Option<std::collections::BTreeMap<String, i64>>,
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
        if let Err(e) = super::manage::check_base_url(&u.base_url) {
            return Err(CoreError::Config(format!("upstream `{}`: {e}", u.name)));
        }
        if let Err(e) = super::paths::check(&u.extra_paths) {
            return Err(CoreError::Config(format!("upstream `{}`: {e}", u.name)));
        }
    }
    let mut model_names = std::collections::HashSet::new();
    for m in models {
        if crate::server::models::check_name(&m.name).is_err()
            || !model_names.insert(m.name.as_str())
        {
            return Err(CoreError::Config(format!(
                "model name `{}` is empty, has spaces, or is repeated",
                m.name
            )));
        }
        if m.targets.is_empty() {
            return Err(CoreError::Config(format!(
                "model `{}` has no targets",
                m.name
            )));
        }
        let prices = [
            m.input_price_micros,
            m.output_price_micros,
            m.unit_price_micros,
        ];
        if prices.iter().flatten().any(|p| *p < 0) {
            return Err(CoreError::Config(format!(
                "model `{}`: a price cannot be negative",
                m.name
            )));
        }
        if let Some(images) = &m.image_prices
            && let Err(e) = crate::server::models::check_image_prices(images)
        {
            return Err(CoreError::Config(format!("model `{}`: {e}", m.name)));
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

/// An existing row's name, id and source.
type Owned = (String, String, String);

/// Makes the configuration-owned upstreams and models those declared, in one transaction:
/// rows are matched by name and updated in place, so their ids (and the targets administrators
/// pointed at a file's upstream) survive a restart; file rows no longer declared are removed.
/// A declared name already taken by an administrator's row is an error, not a takeover.
/// Credentials are sealed, bound to their upstream's row.
pub async fn apply(
    db: &Db,
    keyring: &Keyring,
    upstreams: &[UpstreamSpec],
    models: &[ModelSpec],
) -> Result<(), CoreError> {
    check(upstreams, models)?;
    let now = Utc::now();
    const EXISTING_UPSTREAMS: &str = "select name, upstream_id, source from upstream";
    const EXISTING_MODELS: &str = "select name, model_id, source from model";
    let (existing_upstreams, existing_models): (Vec<Owned>, Vec<Owned>) =
        on_pool!(db, |pool| async {
            let u = sqlx::query_as(EXISTING_UPSTREAMS).fetch_all(pool).await?;
            let m = sqlx::query_as(EXISTING_MODELS).fetch_all(pool).await?;
            Ok::<_, sqlx::Error>((u, m))
        }
        .await)?;
    let id_for = |existing: &[Owned], kind: &str, name: &str| match existing
        .iter()
        .find(|(n, _, _)| n == name)
    {
        Some((_, _, source)) if source != "config" => Err(CoreError::Config(format!(
            "{kind} `{name}` is declared in the configuration file but an administrator \
                 created one by that name; rename one of them"
        ))),
        Some((_, id, _)) => Ok(id.clone()),
        None => Ok(uuid::Uuid::now_v7().to_string()),
    };
    let mut upstream_rows = Vec::new();
    let mut ids = HashMap::new();
    for u in upstreams {
        let id = id_for(&existing_upstreams, "upstream", &u.name)?;
        let sealed = u
            .credential
            .as_ref()
            .map(|c| seal::seal(keyring, &seal_context(&id), c.expose_secret().as_bytes()))
            .transpose()?;
        let headers =
            serde_json::to_string(&u.headers).map_err(|e| CoreError::Internal(e.to_string()))?;
        ids.insert(u.name.clone(), id.clone());
        upstream_rows.push((id, u, sealed, headers));
    }
    let mut model_rows = Vec::new();
    for m in models {
        model_rows.push((id_for(&existing_models, "model", &m.name)?, m));
    }
    let upstream_names: Vec<&str> = upstreams.iter().map(|u| u.name.as_str()).collect();
    let model_names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    let stale_upstreams: Vec<&String> = existing_upstreams
        .iter()
        .filter(|(n, _, s)| s == "config" && !upstream_names.contains(&n.as_str()))
        .map(|(_, id, _)| id)
        .collect();
    let stale_models: Vec<&String> = existing_models
        .iter()
        .filter(|(n, _, s)| s == "config" && !model_names.contains(&n.as_str()))
        .map(|(_, id, _)| id)
        .collect();

    const DELETE_MODEL: &str = "delete from model where model_id = $1";
    const DELETE_UPSTREAM: &str = "delete from upstream where upstream_id = $1";
    const UPSTREAM: &str = "insert into upstream (upstream_id, name, base_url, credential_sealed, \
        extra_headers, connect_timeout_ms, idle_timeout_ms, discover_models, api, responses_api, \
        enabled, source, created_at, updated_at, extra_paths) \
        values ($1, $2, $3, $4, $5, $6, $7, $8, \
        case when $10 = 'openai_responses' then 'openai' else $10 end, $10 = 'openai_responses', \
        true, 'config', $9, $9, $11) \
        on conflict (upstream_id) do update set base_url = excluded.base_url, api = excluded.api, \
        responses_api = excluded.responses_api, extra_paths = excluded.extra_paths, \
        credential_sealed = excluded.credential_sealed, extra_headers = excluded.extra_headers, \
        connect_timeout_ms = excluded.connect_timeout_ms, \
        idle_timeout_ms = excluded.idle_timeout_ms, discover_models = excluded.discover_models, \
        enabled = true, updated_at = excluded.updated_at";
    const MODEL: &str = "insert into model (model_id, name, enabled, source, created_at, \
        updated_at) values ($1, $2, true, 'config', $3, $3) on conflict (model_id) do update \
        set enabled = true, updated_at = excluded.updated_at";
    const PRICES: &str = "update model set \
        input_price_micros = coalesce($2, input_price_micros), \
        output_price_micros = coalesce($3, output_price_micros), \
        unit_price_micros = coalesce($4, unit_price_micros), \
        image_prices = coalesce($5, image_prices) where model_id = $1";
    const CLEAR_TARGETS: &str = "delete from model_target where model_id = $1";
    const TARGET: &str = "insert into model_target (target_id, model_id, upstream_id, upstream_model, weight) \
        values ($1, $2, $3, $4, $5)";
    on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        for id in &stale_models {
            sqlx::query(DELETE_MODEL).bind(id).execute(&mut *tx).await?;
        }
        for id in &stale_upstreams {
            sqlx::query(DELETE_UPSTREAM)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for (id, u, sealed, headers) in &upstream_rows {
            sqlx::query(UPSTREAM)
                .bind(id)
                .bind(&u.name)
                .bind(u.base_url.trim_end_matches('/'))
                .bind(sealed)
                .bind(headers)
                .bind(i64::try_from(u.connect_timeout.as_millis()).unwrap_or(i64::MAX))
                .bind(i64::try_from(u.idle_timeout.as_millis()).unwrap_or(i64::MAX))
                .bind(u.discover_models)
                .bind(now)
                .bind(u.api.as_str())
                .bind(serde_json::to_string(&u.extra_paths).unwrap_or_default())
                .execute(&mut *tx)
                .await?;
        }
        for (model_id, m) in &model_rows {
            sqlx::query(MODEL)
                .bind(model_id)
                .bind(&m.name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(PRICES)
                .bind(model_id)
                .bind(m.input_price_micros)
                .bind(m.output_price_micros)
                .bind(m.unit_price_micros)
                .bind(
                    m.image_prices
                        .as_ref()
                        .map(|p| serde_json::to_string(p).unwrap_or_default()),
                )
                .execute(&mut *tx)
                .await?;
            sqlx::query(CLEAR_TARGETS)
                .bind(model_id)
                .execute(&mut *tx)
                .await?;
            for t in &m.targets {
                sqlx::query(TARGET)
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(model_id)
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
