//! The routing table in memory: public model name → targets (an upstream and the name it knows
//! the model by). Rebuilt from the database when the `routing` revision moves (migration
//! 0003): at once on the instance that made a change, within the poll interval elsewhere.
//! Upstreams whose settings did not change keep their connection pools, and targets keep their
//! [`Health`], across rebuilds.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, PoisonError, RwLock},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use rand::RngExt;

use super::{health::Health, upstream::Upstream};
use crate::server::{CoreError, Db, db::routing, secrets::Keyring, usage::Unit};

#[derive(Debug)]
pub struct Target {
    pub target_id: String,
    pub upstream: Arc<Upstream>,
    pub upstream_model: String,
    pub weight: u32,
    pub health: Arc<Health>,
}

/// Counts a request in flight on a target until dropped.
pub struct InFlight(Arc<Health>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.ended();
    }
}

impl InFlight {
    pub fn health(&self) -> &Health {
        &self.0
    }
}

impl Target {
    pub fn begin(&self) -> InFlight {
        self.health.started();
        InFlight(self.health.clone())
    }

    /// The id of a target that exists through discovery: stable across reloads.
    pub fn discovered_id(upstream_id: &str, model: &str) -> String {
        format!("{upstream_id}/{model}")
    }
}

/// A routable public model.
#[derive(Debug)]
pub struct Model {
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Exists only because an upstream lists it.
    pub discovered: bool,
    pub targets: Vec<Arc<Target>>,
    pub prices: Prices,
}

/// A model's prices, in micro-units of the deployment's currency per million tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prices {
    pub input_micros: Option<i64>,
    pub output_micros: Option<i64>,
    /// Per unit of a non-token endpoint (see [`Self::unit_cost`]).
    pub unit_micros: Option<i64>,
    /// Per image, by `quality/size`, `size` or `quality` ([`Self::image_price`]).
    pub images: Arc<BTreeMap<String, i64>>,
}

impl Prices {
    /// Whether any price is set: usage of an unpriced model costs nothing.
    pub fn is_priced(&self) -> bool {
        self.input_micros.is_some() || self.output_micros.is_some() || self.unit_micros.is_some()
    }

    /// Whether usage measured in `unit` has a price.
    pub fn prices(&self, unit: Unit) -> bool {
        match unit {
            Unit::Tokens | Unit::PromptTokens => {
                self.input_micros.is_some() || self.output_micros.is_some()
            }
            Unit::Images => self.unit_micros.is_some() || !self.images.is_empty(),
            _ => self.unit_micros.is_some(),
        }
    }

    /// From stored fields; the image prices as their JSON object (unreadable: none).
    pub fn from_parts(
        input_micros: Option<i64>,
        output_micros: Option<i64>,
        unit_micros: Option<i64>,
        images: Option<&str>,
    ) -> Self {
        let images = images
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default();
        Self {
            input_micros,
            output_micros,
            unit_micros,
            images: Arc::new(images),
        }
    }

    /// What one image of `quality` and `size` costs: the most specific of `quality/size`,
    /// `size` and `quality` that is priced, else the unit price.
    pub fn image_price(&self, quality: Option<&str>, size: Option<&str>) -> Option<i64> {
        let keys = [
            quality.zip(size).map(|(q, s)| format!("{q}/{s}")),
            size.map(str::to_owned),
            quality.map(str::to_owned),
        ];
        keys.iter()
            .flatten()
            .find_map(|k| self.images.get(k).copied())
            .or(self.unit_micros)
    }

    /// What `units` of `unit` cost: the unit price per audio second, image, search unit or
    /// request (on a declared extra path), and
    /// per 1,000 characters of speech (rounded up to a whole micro-unit). Tokens are priced by
    /// [`Self::cost`].
    pub fn unit_cost(&self, unit: Unit, units: i64) -> i64 {
        let price = i128::from(self.unit_micros.unwrap_or(0).max(0));
        let units = i128::from(units.max(0));
        let total = match unit {
            Unit::Tokens | Unit::PromptTokens => 0,
            Unit::Characters => (units * price + 999) / 1000,
            Unit::AudioSeconds | Unit::Images | Unit::SearchUnits | Unit::Requests => units * price,
        };
        i64::try_from(total).unwrap_or(i64::MAX)
    }

    /// What `prompt` and `completion` tokens cost, rounded up to a whole micro-unit.
    pub fn cost(&self, prompt: i64, completion: i64) -> i64 {
        let part = |tokens: i64, price: Option<i64>| {
            i128::from(tokens.max(0)) * i128::from(price.unwrap_or(0).max(0))
        };
        let total = part(prompt, self.input_micros) + part(completion, self.output_micros);
        i64::try_from((total + 999_999) / 1_000_000).unwrap_or(i64::MAX)
    }
}

#[derive(Debug, Default)]
struct Table {
    revision: i64,
    /// Every enabled upstream, with the row fields its client was built from.
    upstreams: HashMap<String, (String, Arc<Upstream>)>,
    /// Models with at least one enabled target on an enabled upstream.
    models: HashMap<String, Arc<Model>>,
    health: HashMap<String, Arc<Health>>,
}

#[derive(Debug, Default)]
pub struct Registry {
    table: RwLock<Arc<Table>>,
    /// One rebuild at a time, so two cannot interleave and keep stale health.
    rebuilding: tokio::sync::Mutex<()>,
}

impl Registry {
    fn current(&self) -> Arc<Table> {
        self.table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn revision(&self) -> i64 {
        self.current().revision
    }

    /// Rebuilds the routing table from the database.
    pub async fn reload(&self, db: &Db, keyring: &Keyring) -> Result<(), CoreError> {
        let _one = self.rebuilding.lock().await;
        // The revision is read first: a change that lands while we read is seen next time.
        let revision = routing::revision(db).await?;
        let upstream_rows = routing::enabled_upstreams(db).await?;
        let target_rows = routing::enabled_targets(db).await?;
        let declared: HashSet<String> = routing::declared_names(db).await?.into_iter().collect();
        let discovered = routing::discovered(db).await?;
        let discovered_prices: HashMap<String, Prices> = routing::discovered_prices(db)
            .await?
            .into_iter()
            .map(|r| {
                let prices = Prices::from_parts(
                    r.input_price_micros,
                    r.output_price_micros,
                    r.unit_price_micros,
                    r.image_prices.as_deref(),
                );
                (r.name, prices)
            })
            .collect();
        let old = self.current();

        let mut upstreams = HashMap::new();
        for row in &upstream_rows {
            // Every field the client is built from: a change to any of them rebuilds it.
            let fingerprint = format!(
                "{}\n{}\n{}\n{:?}\n{:?}\n{}\n{}\n{}\n{:?}",
                row.name,
                row.base_url,
                row.api,
                row.credential_sealed,
                row.extra_headers,
                row.connect_timeout_ms,
                row.idle_timeout_ms,
                row.discover_models,
                row.extra_paths
            );
            let upstream = match old.upstreams.get(&row.upstream_id) {
                Some((f, u)) if *f == fingerprint => u.clone(),
                // One broken upstream (say, a credential sealed under a key since removed)
                // must not take routing down for every other.
                _ => match Upstream::from_row(row, keyring) {
                    Ok(u) => Arc::new(u),
                    Err(e) => {
                        tracing::error!(upstream = %row.name, error = %e, "cannot use this upstream; leaving it out of routing");
                        continue;
                    }
                },
            };
            upstreams.insert(row.upstream_id.clone(), (fingerprint, upstream));
        }

        let mut health = HashMap::new();
        let mut target = |target_id: String, upstream: &Arc<Upstream>, model: &str, weight| {
            let h = old.health.get(&target_id).cloned().unwrap_or_default();
            health.insert(target_id.clone(), h.clone());
            Arc::new(Target {
                target_id,
                upstream: upstream.clone(),
                upstream_model: model.to_owned(),
                weight,
                health: h,
            })
        };
        let mut models: HashMap<String, Model> = HashMap::new();
        for r in target_rows {
            let Some((_, upstream)) = upstreams.get(&r.upstream_id) else {
                continue;
            };
            let weight = u32::try_from(r.weight).unwrap_or(1).max(1);
            let t = target(r.target_id, upstream, &r.upstream_model, weight);
            models
                .entry(r.model.clone())
                .or_insert_with(|| Model {
                    name: r.model,
                    created_at: r.created_at,
                    discovered: false,
                    targets: Vec::new(),
                    prices: Prices::from_parts(
                        r.input_price_micros,
                        r.output_price_micros,
                        r.unit_price_micros,
                        r.image_prices.as_deref(),
                    ),
                })
                .targets
                .push(t);
        }
        // A discovered name offered by several upstreams is spread across all of them.
        for d in discovered {
            if declared.contains(&d.name) {
                continue;
            }
            let Some((_, upstream)) = upstreams.get(&d.upstream_id) else {
                continue;
            };
            let t = target(
                Target::discovered_id(&d.upstream_id, &d.name),
                upstream,
                &d.name,
                1,
            );
            let prices = discovered_prices.get(&d.name).cloned().unwrap_or_default();
            let m = models.entry(d.name.clone()).or_insert_with(|| Model {
                name: d.name,
                created_at: d.created_at,
                discovered: true,
                targets: Vec::new(),
                prices,
            });
            m.created_at = m.created_at.min(d.created_at);
            m.targets.push(t);
        }

        let table = Table {
            revision,
            upstreams,
            models: models.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
            health,
        };
        *self.table.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(table);
        Ok(())
    }

    /// Reloads when the database's routing revision differs from the table's.
    pub async fn refresh_if_changed(&self, db: &Db, keyring: &Keyring) -> Result<bool, CoreError> {
        if routing::revision(db).await? == self.revision() {
            return Ok(false);
        }
        self.reload(db, keyring).await?;
        Ok(true)
    }

    /// Routable models, by name.
    pub fn models(&self) -> Vec<Arc<Model>> {
        let mut models: Vec<_> = self.current().models.values().cloned().collect();
        models.sort_by(|a, b| a.name.cmp(&b.name));
        models
    }

    pub fn model(&self, name: &str) -> Option<Arc<Model>> {
        self.current().models.get(name).cloned()
    }

    /// Whether an enabled upstream declares `path` as one clients may call through the gateway.
    pub fn declares(&self, path: &str) -> bool {
        self.current()
            .upstreams
            .values()
            .any(|(_, u)| u.extra_paths.iter().any(|p| p == path))
    }

    /// Every enabled upstream.
    pub fn upstreams(&self) -> Vec<Arc<Upstream>> {
        self.current()
            .upstreams
            .values()
            .map(|(_, u)| u.clone())
            .collect()
    }

    pub fn upstream(&self, upstream_id: &str) -> Option<Arc<Upstream>> {
        self.current()
            .upstreams
            .get(upstream_id)
            .map(|(_, u)| u.clone())
    }

    /// A routed target's health on this instance.
    pub fn health(&self, target_id: &str) -> Option<Arc<Health>> {
        self.current().health.get(target_id).cloned()
    }
}

impl Model {
    /// Its targets in the order to try them: those not cooling down first, fewest
    /// requests in flight per unit of weight first, ties broken at random in proportion to
    /// weight; cooling ones last, as a last resort.
    pub fn ordered(&self) -> Vec<Arc<Target>> {
        let now = Instant::now();
        let mut rng = rand::rng();
        let mut scored: Vec<(bool, f64, f64, &Arc<Target>)> = self
            .targets
            .iter()
            .map(|t| {
                let load = t.health.in_flight() as f64 / f64::from(t.weight);
                // Weighted random key (Efraimidis–Spirakis): larger weights tend to sort first.
                let key = -(rng.random::<f64>().max(f64::MIN_POSITIVE)).ln() / f64::from(t.weight);
                (t.health.is_cooling(now), load, key, t)
            })
            .collect();
        scored.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then(a.1.total_cmp(&b.1))
                .then(a.2.total_cmp(&b.2))
        });
        scored.into_iter().map(|s| s.3.clone()).collect()
    }
}

/// How long a failing target stays out of rotation.
pub const COOLDOWN: Duration = Duration::from_secs(10);
