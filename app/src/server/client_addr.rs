//! The address a request came from. Behind a reverse proxy every request arrives from the
//! proxy, so `X-Forwarded-For` is believed, but only when the peer is a configured trusted
//! proxy, and only as far back as the chain of trusted proxies goes. Every address comes out
//! canonical (an IPv4-mapped IPv6 address as the IPv4 one), so address ranges see one spelling.

use std::net::IpAddr;

use axum::{extract::ConnectInfo, http::Extensions, http::HeaderMap};
use ipnet::IpNet;

/// What per-address limits count by: an IPv4 address, or the /64 an IPv6 address lies in (one
/// subscriber gets a whole /64, so counting its addresses one by one would count nothing).
pub fn bucket(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

/// The client address of a request, from its connection and `X-Forwarded-For` header; `None`
/// when the connection's peer is unknown.
pub fn of_request(
    extensions: &Extensions,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()?
        .0
        .ip();
    // A proxy may add its own header line rather than extend the client's: the lines, in
    // order, are one list, and a line that is not text poisons it (the peer is believed).
    let lines: Option<Vec<&str>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().ok())
        .collect();
    let forwarded = lines.map(|l| l.join(","));
    Some(resolve(
        peer,
        forwarded.as_deref().filter(|f| !f.is_empty()),
        trusted,
    ))
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the right-most entry
/// of `X-Forwarded-For` that is not itself a trusted proxy.
pub fn resolve(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in header.rsplit(',').map(str::trim) {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        let ip = ip.to_canonical();
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            resolve(ip("203.0.113.9"), Some("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve(ip("10.0.0.2"), Some("1.2.3.4"), &trusted),
            ip("1.2.3.4")
        );
        // A client cannot hide behind a forged left-most entry.
        assert_eq!(
            resolve(ip("10.0.0.2"), Some("6.6.6.6, 1.2.3.4, 10.0.0.7"), &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(resolve(ip("10.0.0.2"), None, &trusted), ip("10.0.0.2"));
        assert_eq!(
            resolve(ip("10.0.0.2"), Some("garbage"), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            resolve(ip("10.0.0.2"), Some("1.2.3.4"), &[]),
            ip("10.0.0.2")
        );
        // IPv4-mapped IPv6 is the IPv4 address, as a peer and as a hop.
        assert_eq!(
            resolve(ip("::ffff:10.0.0.2"), Some("::ffff:1.2.3.4"), &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            resolve(ip("::ffff:203.0.113.9"), None, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(bucket(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(bucket(ip("2001:db8:1:2:ffff::9")), ip("2001:db8:1:2::"));
        assert_ne!(bucket(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(bucket(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(bucket(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn every_forwarded_for_line_counts_in_order() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut headers = HeaderMap::new();
        // The client forged the first line; the trusted proxy appended its own.
        headers.append("x-forwarded-for", "6.6.6.6".parse().unwrap());
        headers.append("x-forwarded-for", "1.2.3.4".parse().unwrap());
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(
            "10.0.0.2:5000".parse::<std::net::SocketAddr>().unwrap(),
        ));
        assert_eq!(
            of_request(&extensions, &headers, &trusted),
            Some(ip("1.2.3.4"))
        );
    }
}
