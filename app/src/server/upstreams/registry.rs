//! The routing table in memory: public model name → targets (an upstream and the name it knows
//! the model by), with each target's requests in flight and cool-down after a failure.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use rand::RngExt;
use secrecy::SecretString;

use crate::server::{CoreError, Db, db::on_pool, seal, secrets::Keyring};

/// An upstream server, its credential unsealed in memory only.
#[derive(Debug)]
pub struct Upstream {
    pub upstream_id: String,
    pub name: String,
    /// Without a trailing slash, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub credential: Option<SecretString>,
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    /// Its own connection pool, with its connect timeout and a per-read idle timeout (never a
    /// whole-request timeout: a long stream is not a slow one).
    pub client: reqwest::Client,
}

#[derive(Debug)]
pub struct Target {
    pub target_id: String,
    pub upstream: Arc<Upstream>,
    pub upstream_model: String,
    pub weight: u32,
    in_flight: AtomicUsize,
    cooling_until: Mutex<Option<Instant>>,
}

/// Counts a request in flight on a target until dropped.
pub struct InFlight(Arc<Target>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Target {
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Takes the target out of rotation for `cooldown` after a failure.
    pub fn cool_down(&self, cooldown: Duration) {
        *self
            .cooling_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + cooldown);
    }

    pub fn is_cooling(&self, now: Instant) -> bool {
        self.cooling_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|t| now < t)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Registry {
    models: RwLock<Arc<HashMap<String, Vec<Arc<Target>>>>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    model: String,
    target_id: String,
    upstream_model: String,
    weight: i64,
    upstream_id: String,
    upstream_name: String,
    base_url: String,
    credential_sealed: Option<String>,
    extra_headers: Option<String>,
    connect_timeout_ms: i64,
    idle_timeout_ms: i64,
}

impl Registry {
    /// Rebuilds the routing table from the database.
    pub async fn reload(&self, db: &Db, keyring: &Keyring) -> Result<(), CoreError> {
        const SQL: &str = "select m.name as model, t.target_id, t.upstream_model, t.weight, \
            u.upstream_id, u.name as upstream_name, u.base_url, u.credential_sealed, u.extra_headers, \
            u.connect_timeout_ms, u.idle_timeout_ms \
            from model m join model_target t on t.model_id = m.model_id \
            join upstream u on u.upstream_id = t.upstream_id \
            where m.enabled and t.enabled and u.enabled order by m.name, t.target_id";
        let rows: Vec<Row> = on_pool!(db, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?;
        let mut upstreams: HashMap<String, Arc<Upstream>> = HashMap::new();
        let mut models: HashMap<String, Vec<Arc<Target>>> = HashMap::new();
        for r in rows {
            let upstream = match upstreams.get(&r.upstream_id) {
                Some(u) => u.clone(),
                None => {
                    let credential = r
                        .credential_sealed
                        .as_deref()
                        .map(|s| seal::open(keyring, &format!("upstream:{}", r.upstream_id), s))
                        .transpose()?;
                    let headers: HashMap<String, String> = r
                        .extra_headers
                        .as_deref()
                        .map(serde_json::from_str)
                        .transpose()
                        .map_err(|e| {
                            CoreError::Internal(format!(
                                "upstream `{}` headers: {e}",
                                r.upstream_name
                            ))
                        })?
                        .unwrap_or_default();
                    let connect_timeout =
                        Duration::from_millis(u64::try_from(r.connect_timeout_ms).unwrap_or(5000));
                    let idle_timeout =
                        Duration::from_millis(u64::try_from(r.idle_timeout_ms).unwrap_or(60_000));
                    let client = reqwest::Client::builder()
                        .connect_timeout(connect_timeout)
                        .read_timeout(idle_timeout)
                        .tcp_nodelay(true)
                        .build()
                        .map_err(|e| CoreError::Internal(format!("HTTP client: {e}")))?;
                    let u = Arc::new(Upstream {
                        upstream_id: r.upstream_id.clone(),
                        name: r.upstream_name,
                        base_url: r.base_url,
                        credential,
                        headers: headers.into_iter().collect(),
                        connect_timeout,
                        idle_timeout,
                        client,
                    });
                    upstreams.insert(r.upstream_id, u.clone());
                    u
                }
            };
            models.entry(r.model).or_default().push(Arc::new(Target {
                target_id: r.target_id,
                upstream,
                upstream_model: r.upstream_model,
                weight: u32::try_from(r.weight).unwrap_or(1).max(1),
                in_flight: AtomicUsize::new(0),
                cooling_until: Mutex::new(None),
            }));
        }
        *self.models.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(models);
        Ok(())
    }

    /// The model's targets in the order to try them: those not cooling down first, fewest
    /// requests in flight per unit of weight first, ties broken at random in proportion to
    /// weight; cooling ones last, as a last resort.
    pub fn targets(&self, model: &str) -> Option<Vec<Arc<Target>>> {
        let models = self
            .models
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let targets = models.get(model)?;
        let now = Instant::now();
        let mut rng = rand::rng();
        let mut scored: Vec<(bool, f64, f64, Arc<Target>)> = targets
            .iter()
            .map(|t| {
                let load = t.in_flight() as f64 / f64::from(t.weight);
                // Weighted random key (Efraimidis–Spirakis): larger weights tend to sort first.
                let key = -(rng.random::<f64>().max(f64::MIN_POSITIVE)).ln() / f64::from(t.weight);
                (t.is_cooling(now), load, key, t.clone())
            })
            .collect();
        scored.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then(a.1.total_cmp(&b.1))
                .then(a.2.total_cmp(&b.2))
        });
        Some(scored.into_iter().map(|s| s.3).collect())
    }
}
