//! How often one client address may start an external sign-in. A start needs no credentials
//! but writes an attempt row and sends the browser to the provider, so without this one address
//! could fill the cap of attempts in flight. IPv6 clients count by their /64. The same limit,
//! kept apart, holds callbacks, which cost a database look-up and an audit row each.

use std::{net::IpAddr, num::NonZeroU32};

use governor::{DefaultKeyedRateLimiter, Quota};

/// Starts per address per minute: far above a person retrying, far below a flood. Clients
/// behind one NAT share it.
pub const STARTS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(30).expect("non-zero");

/// Above this many tracked addresses, those with a full allowance again are forgotten.
const FORGET_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct StartLimit(DefaultKeyedRateLimiter<IpAddr>);

impl Default for StartLimit {
    fn default() -> Self {
        Self(DefaultKeyedRateLimiter::keyed(Quota::per_minute(
            STARTS_PER_MINUTE,
        )))
    }
}

impl StartLimit {
    /// Whether `addr` may start one more sign-in now. A request whose address is unknown (no
    /// peer address at all) is not held: there is nothing to key it on.
    pub fn admit(&self, addr: Option<IpAddr>) -> bool {
        let Some(addr) = addr else {
            return true;
        };
        if self.0.len() > FORGET_ABOVE {
            self.0.retain_recent();
        }
        self.0
            .check_key(&app::server::client_addr::bucket(addr))
            .is_ok()
    }
}
