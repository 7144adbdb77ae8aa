//! The gateway's background work: following changes made by other instances (keys and
//! routing), writing API keys' last use, settling limit leases, refreshing discovered models,
//! and deleting raw usage past its retention.

use std::time::Duration;

use tokio::task::JoinHandle;

use chrono::Utc;

use super::{Services, keys::KeyCache, upstreams::discovery, usage::retention};

/// How often an instance looks for changes made elsewhere; the bound on how long a revocation
/// or a routing change takes to reach another instance is this plus one catch-up.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Last-use times are written every this many polls.
const FLUSH_EVERY: u32 = 10;

/// How often raw usage past its retention and ended limit windows are deleted.
const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// The running tasks; they stop when [`Background::stop`] is called.
pub struct Background(Vec<JoinHandle<()>>);

impl Background {
    /// Aborts the tasks, then writes the last-use times they had not written yet.
    pub async fn stop(self, services: &Services) {
        for task in self.0 {
            task.abort();
        }
        if let Err(e) = services.keys.flush_uses(&services.db).await {
            tracing::warn!(error = %e, "cannot record the last API key uses");
        }
    }
}

/// Starts following changes every `poll`, and discovery every `discovery` (at once first).
pub fn spawn(services: &Services, poll: Duration, discovery: Duration) -> Background {
    Background(vec![
        tokio::spawn(follow(services.clone(), poll)),
        tokio::spawn(discover(services.clone(), discovery)),
        tokio::spawn(purge(services.clone())),
    ])
}

async fn follow(services: Services, interval: Duration) {
    let mut ticks = 0u32;
    loop {
        tokio::time::sleep(interval).await;
        if let Err(e) = services.keys.catch_up(&services.db).await {
            tracing::warn!(error = %e, "cannot refresh the API key cache; keeping the last snapshot");
        }
        let keyring = &services.secrets.keyring;
        if let Err(e) = services
            .registry
            .refresh_if_changed(&services.db, keyring)
            .await
        {
            tracing::warn!(error = %e, "cannot refresh the routing table; keeping the last one");
        }
        if let Err(e) = services.limiter.tick(Utc::now()).await {
            tracing::warn!(error = %e, "cannot write to the limit ledger; retrying next tick");
        }
        ticks += 1;
        if ticks.is_multiple_of(FLUSH_EVERY)
            && let Err(e) = services.keys.flush_uses(&services.db).await
        {
            tracing::warn!(error = %e, "cannot record API key use");
        }
    }
}

async fn purge(services: Services) {
    loop {
        let now = Utc::now();
        if let Some(keep) = services.usage_retention {
            match retention::purge(&services.db, keep, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "deleted raw usage past its retention"),
                Err(e) => tracing::warn!(error = %e, "cannot delete old usage events"),
            }
        }
        match retention::purge_records(&services, now).await {
            Ok(p) if p == retention::Purged::default() => {}
            Ok(p) => tracing::info!(
                audit_entries = p.audit_entries,
                sessions = p.sessions,
                refresh_tokens = p.refresh_tokens,
                responses = p.responses,
                "deleted records past their retention"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot delete old audit entries or sessions"),
        }
        if let Err(e) = services.limiter.prune(now).await {
            tracing::warn!(error = %e, "cannot delete ended limit windows");
        }
        if let Err(e) = KeyCache::prune_log(&services.db).await {
            tracing::warn!(error = %e, "cannot delete old entries of the access change log");
        }
        tokio::time::sleep(PURGE_INTERVAL).await;
    }
}

async fn discover(services: Services, interval: Duration) {
    loop {
        let keyring = &services.secrets.keyring;
        if let Err(e) = discovery::refresh_all(&services.db, &services.registry, keyring).await {
            tracing::warn!(error = %e, "model discovery failed");
        }
        tokio::time::sleep(interval).await;
    }
}
