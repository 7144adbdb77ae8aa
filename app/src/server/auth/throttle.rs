//! Sign-in throttling: too many failures for one username, or from one client address (an
//! IPv6 /64), within a window make further attempts wait. An attempt counts as a failure from
//! the moment it is let in, before its password is checked, so a burst of parallel attempts is
//! held like a sequence; a success takes its own count back. Counted per gateway instance, in
//! memory.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::server::client_addr;

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
    /// When each username and address pair was last refused, so that a flood of refused
    /// attempts writes one audit row per window, not one each.
    refused: Mutex<HashMap<String, Instant>>,
}

/// An attempt let in; counted as a failure until [`LoginThrottle::succeeded`] says otherwise.
#[derive(Debug)]
pub struct Attempt {
    at: Instant,
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            failures: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
        }
    }

    fn keys(username: &str, addr: Option<IpAddr>) -> (String, Option<String>) {
        (
            format!("u:{}", username.to_ascii_lowercase()),
            addr.map(|a| format!("a:{}", client_addr::bucket(a))),
        )
    }

    /// Lets one attempt in, counted as a failure already, or `Err(seconds)` to wait. The check
    /// and the count are one step under one lock, so parallel attempts cannot all pass the check
    /// before any of them is counted.
    pub fn begin(&self, username: &str, addr: Option<IpAddr>) -> Result<Attempt, u64> {
        let (user_key, addr_key) = Self::keys(username, addr);
        let now = Instant::now();
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.wait(&mut map, &user_key, addr_key.as_deref(), now)?;
        self.record(&mut map, [Some(user_key), addr_key], now);
        Ok(Attempt { at: now })
    }

    /// The attempt succeeded: the username's failures are cleared, and the address gets its
    /// attempt back.
    pub fn succeeded(&self, username: &str, addr: Option<IpAddr>, attempt: Attempt) {
        let (user_key, addr_key) = Self::keys(username, addr);
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(&user_key);
        if let Some(times) = addr_key.and_then(|k| map.get_mut(&k))
            && let Some(i) = times.iter().rposition(|t| *t == attempt.at)
        {
            times.remove(i);
        }
    }

    /// Whether this refusal is the first for the username and address in the window: the one
    /// worth recording.
    pub fn first_refusal(&self, username: &str, addr: Option<IpAddr>) -> bool {
        let (user_key, addr_key) = Self::keys(username, addr);
        let key = format!("{user_key} {}", addr_key.unwrap_or_default());
        let now = Instant::now();
        let window = self.settings.window;
        let mut refused = self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if refused.len() > SWEEP_ABOVE {
            refused.retain(|_, at| now.duration_since(*at) < window);
        }
        match refused.get(&key) {
            Some(at) if now.duration_since(*at) < window => false,
            _ => {
                refused.insert(key, now);
                true
            }
        }
    }

    /// `Err(seconds)` when the username or the address must wait that long before trying again.
    fn wait(
        &self,
        map: &mut HashMap<String, VecDeque<Instant>>,
        user_key: &str,
        addr_key: Option<&str>,
        now: Instant,
    ) -> Result<(), u64> {
        let mut wait = Duration::ZERO;
        let limits = [
            (Some(user_key), self.settings.max_failures_per_user),
            (addr_key, self.settings.max_failures_per_addr),
        ];
        for (key, max) in limits {
            let Some(times) = key.and_then(|k| map.get_mut(k)) else {
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

    fn record(
        &self,
        map: &mut HashMap<String, VecDeque<Instant>>,
        keys: [Option<String>; 2],
        now: Instant,
    ) {
        if map.len() > SWEEP_ABOVE {
            let window = self.settings.window;
            map.retain(|_, t| {
                t.back()
                    .is_some_and(|last| now.duration_since(*last) < window)
            });
        }
        for key in keys.into_iter().flatten() {
            map.entry(key).or_default().push_back(now);
        }
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

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn blocks_a_username_after_its_failures_whatever_the_case() {
        let t = throttle(3, 100);
        for _ in 0..3 {
            t.begin("Bob", ip("1.1.1.1")).unwrap();
        }
        let wait = t.begin("bob", ip("2.2.2.2")).unwrap_err();
        assert!((59..=60).contains(&wait), "{wait}");
        let alice = t.begin("alice", ip("2.2.2.2")).unwrap();
        t.succeeded("alice", ip("2.2.2.2"), alice);
    }

    #[test]
    fn a_success_takes_back_its_own_count() {
        let t = throttle(3, 3);
        for _ in 0..5 {
            let a = t.begin("bob", ip("1.1.1.1")).unwrap();
            t.succeeded("bob", ip("1.1.1.1"), a);
        }
        t.begin("carol", ip("1.1.1.1")).unwrap();
    }

    #[test]
    fn attempts_in_flight_count_before_their_outcome() {
        let t = throttle(3, 100);
        // Three let in at once, none finished: the fourth waits.
        let held: Vec<_> = (0..3)
            .map(|_| t.begin("bob", ip("1.1.1.1")).unwrap())
            .collect();
        assert!(t.begin("bob", ip("3.3.3.3")).is_err());
        drop(held);
    }

    #[test]
    fn blocks_an_address_spraying_many_usernames() {
        let t = throttle(100, 3);
        for name in ["a", "b", "c"] {
            t.begin(name, ip("9.9.9.9")).unwrap();
        }
        assert!(t.begin("d", ip("9.9.9.9")).is_err());
        assert!(t.begin("d", ip("8.8.8.8")).is_ok());
        assert!(t.begin("e", None).is_ok());
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let t = throttle(100, 3);
        for (name, addr) in [
            ("a", "2001:db8::1"),
            ("b", "2001:db8::2"),
            ("c", "2001:db8::3:4"),
        ] {
            t.begin(name, ip(addr)).unwrap();
        }
        assert!(t.begin("d", ip("2001:db8::ffff")).is_err());
        assert!(t.begin("d", ip("2001:db8:0:1::1")).is_ok());
    }

    #[test]
    fn a_refusal_is_worth_recording_once_a_window() {
        let t = throttle(1, 100);
        assert!(t.first_refusal("bob", ip("1.1.1.1")));
        assert!(!t.first_refusal("BOB", ip("1.1.1.1")));
        assert!(t.first_refusal("bob", ip("2.2.2.2")));
    }
}
