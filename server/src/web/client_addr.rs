//! The client's address when Steward sits behind reverse proxies or load
//! balancers. The peer of the connection is then the proxy, and every
//! client would share its address: one attacker's twenty wrong passwords
//! would block sign-in for everyone behind it, and audit events would all
//! name the proxy.
//!
//! With `--trusted-proxies` (CIDR blocks), a request whose peer is trusted
//! is taken to come from the address its proxies recorded in
//! `X-Forwarded-For`: the rightmost address there that is not itself a
//! trusted proxy. Whatever a client writes into the header itself sits to
//! the left of what the proxies appended, so it is never reached. A peer
//! that is not trusted is the client, whatever headers it sends.

use app::authz::ssr::ClientAddr;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// One block of addresses, as `10.0.0.0/8`, `2001:db8::/32` or a single
/// address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("{text:?} is not an address or CIDR block (such as 10.0.0.0/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix after / must be 0 to {max}"))?,
        };
        Ok(Cidr { addr: canonical(addr), prefix })
    }
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Arc<Vec<Cidr>>);

impl TrustedProxies {
    pub fn new(blocks: Vec<Cidr>) -> TrustedProxies {
        TrustedProxies(Arc::new(blocks))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client of a request that reached us from `peer` with these
    /// `X-Forwarded-For` values.
    pub fn client<'a>(&self, peer: IpAddr, forwarded_for: impl DoubleEndedIterator<Item = &'a str>) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut nearest = peer;
        // Several headers are one list, in order; read it from the right.
        for hop in forwarded_for.flat_map(|v| v.split(',')).rev() {
            let Some(ip) = parse_hop(hop) else { return nearest };
            if !self.trusts(ip) {
                return ip;
            }
            nearest = ip;
        }
        nearest
    }
}

/// One entry of `X-Forwarded-For`: an address, perhaps with a port
/// (`203.0.113.9:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// Puts the request's [`ClientAddr`] among its extensions.
pub async fn client_addr(State(trusted): State<TrustedProxies>, mut req: Request, next: Next) -> Response {
    if let Some(peer) = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) {
        let headers = req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
        let client = trusted.client(peer, headers);
        req.extensions_mut().insert(ClientAddr(client));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(blocks: &[&str]) -> TrustedProxies {
        TrustedProxies::new(blocks.iter().map(|b| b.parse().unwrap()).collect())
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_hold_their_addresses() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.200.1.2")) && !net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.1.1")), "IPv4 written as IPv6");
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")) && !v6.contains(ip("10.0.0.1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        for bad in ["10.0.0.0/33", "10.0.0/8", "proxy", "::1/129", "10.0.0.0/x"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_rightmost_address_no_trusted_proxy_holds() {
        let t = trusted(&["10.0.0.0/8"]);
        // Directly from a client: its own address, whatever it claims.
        assert_eq!(t.client(ip("198.51.100.7"), ["203.0.113.9"].into_iter()), ip("198.51.100.7"));
        // Through the proxy.
        assert_eq!(t.client(ip("10.0.0.2"), ["203.0.113.9"].into_iter()), ip("203.0.113.9"));
        // A client's own claim sits left of what the proxies appended.
        assert_eq!(t.client(ip("10.0.0.2"), ["1.2.3.4, 203.0.113.9, 10.0.0.5"].into_iter()), ip("203.0.113.9"));
        assert_eq!(t.client(ip("10.0.0.2"), ["1.2.3.4", "203.0.113.9:4711"].into_iter()), ip("203.0.113.9"));
        assert_eq!(t.client(ip("10.0.0.2"), ["[2001:db8::1]:443"].into_iter()), ip("2001:db8::1"));
        // No header, or garbage: the nearest proxy.
        assert_eq!(t.client(ip("10.0.0.2"), std::iter::empty()), ip("10.0.0.2"));
        assert_eq!(t.client(ip("10.0.0.2"), ["unknown, 10.0.0.9"].into_iter()), ip("10.0.0.9"));
        // Nobody trusted: the header means nothing.
        assert_eq!(TrustedProxies::default().client(ip("10.0.0.2"), ["203.0.113.9"].into_iter()), ip("10.0.0.2"));
    }
}
