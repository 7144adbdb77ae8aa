//! Sign-in throttling: too many failures for one username, or from one client address, within
//! a window make further attempts wait. Counted per gateway instance, in memory.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

#[derive(Debug, Clone)]
pub struct ThrottleSettings {
    pub max_failures_per_user: usize,
    pub max_failures_per_addr: usize,
    pub window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            max_failures_per_user: 5,
            max_failures_per_addr: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Above this many tracked keys, expired ones are swept on the next failure.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct LoginThrottle {
    settings: ThrottleSettings,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(username: &str, addr: Option<&str>) -> (String, Option<String>) {
        (
            format!("u:{}", username.to_ascii_lowercase()),
            addr.map(|a| format!("a:{a}")),
        )
    }

    /// `Err(seconds)` when the caller must wait that long before trying again.
    pub fn check(&self, username: &str, addr: Option<&str>) -> Result<(), u64> {
        let (user_key, addr_key) = Self::keys(username, addr);
        let now = Instant::now();
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut wait = Duration::ZERO;
        let limits = [
            (Some(user_key), self.settings.max_failures_per_user),
            (addr_key, self.settings.max_failures_per_addr),
        ];
        for (key, max) in limits {
            let Some(key) = key else { continue };
            let Some(times) = map.get_mut(&key) else {
                continue;
            };
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.settings.window)
            {
                times.pop_front();
            }
            if times.len() >= max {
                // Wait until enough of the oldest failures leave the window.
                let oldest_that_must_expire = times[times.len() - max];
                wait = wait.max(self.settings.window - now.duration_since(oldest_that_must_expire));
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.as_secs().max(1))
        }
    }

    pub fn record_failure(&self, username: &str, addr: Option<&str>) {
        let (user_key, addr_key) = Self::keys(username, addr);
        let now = Instant::now();
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > SWEEP_ABOVE {
            let window = self.settings.window;
            map.retain(|_, t| {
                t.back()
                    .is_some_and(|last| now.duration_since(*last) < window)
            });
        }
        for key in [Some(user_key), addr_key].into_iter().flatten() {
            map.entry(key).or_default().push_back(now);
        }
    }

    /// A successful sign-in clears the username's failures (not the address's).
    pub fn record_success(&self, username: &str) {
        let (user_key, _) = Self::keys(username, None);
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&user_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_user: usize, per_addr: usize) -> LoginThrottle {
        LoginThrottle::new(ThrottleSettings {
            max_failures_per_user: per_user,
            max_failures_per_addr: per_addr,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn blocks_a_username_after_its_failures_whatever_the_case() {
        let t = throttle(3, 100);
        for _ in 0..3 {
            assert!(t.check("Bob", Some("1.1.1.1")).is_ok());
            t.record_failure("Bob", Some("1.1.1.1"));
        }
        let wait = t.check("bob", Some("2.2.2.2")).unwrap_err();
        assert!((59..=60).contains(&wait), "{wait}");
        assert!(t.check("alice", Some("2.2.2.2")).is_ok());
        t.record_success("BOB");
        assert!(t.check("bob", Some("1.1.1.1")).is_ok());
    }

    #[test]
    fn blocks_an_address_spraying_many_usernames() {
        let t = throttle(100, 3);
        for name in ["a", "b", "c"] {
            t.record_failure(name, Some("9.9.9.9"));
        }
        assert!(t.check("d", Some("9.9.9.9")).is_err());
        assert!(t.check("d", Some("8.8.8.8")).is_ok());
        assert!(t.check("d", None).is_ok());
    }
}
