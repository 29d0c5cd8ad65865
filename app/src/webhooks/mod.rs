//! Webhooks (`/settings/webhooks`): an organisation subscribes HTTPS
//! endpoints to its audit actions (`user.*`, `role.grant`, `*`). Each event
//! that matches an active endpoint is queued as a delivery in the event's
//! own transaction (a trigger on `audit_events`, migration 0031), so a
//! delivery exists exactly when its event does. The server's webhook
//! worker posts each delivery signed with the endpoint's secret
//! (`Steward-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">`),
//! retries with a doubling pause up to an hour, and pauses an endpoint
//! that has failed for a day, telling its creator by mail.
//!
//! Managing endpoints needs `settings:manage` and `audit:read` (an
//! endpoint receives the audit log). The worker's steps (`claim`, `settle`,
//! `release`, `prune`) are in `ssr`, the transport in the server.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod ssr;
mod server;
pub use server::*;
pub mod pages;

/// The most endpoints one organisation may have.
pub const MAX_ENDPOINTS: i64 = 20;
/// The most action patterns one endpoint may name.
pub const MAX_ACTIONS: usize = 50;
/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Steward-Signature";

/// One endpoint, as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRow {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub actions: Vec<String>,
    /// `active` or `paused`.
    pub status: String,
    /// Why it is paused: `person` or `failing`; empty when active.
    pub paused_reason: String,
    pub failing_since: String,
    pub created_at: String,
    pub created_by: String,
    pub last_attempt_at: String,
    pub last_success_at: String,
    /// Deliveries waiting to be sent.
    pub queued: i64,
}

/// An endpoint just made: the only time its secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEndpoint {
    pub id: Uuid,
    pub secret: String,
}

/// One delivery, as an endpoint's page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub action: String,
    pub queued_at: String,
    /// `queued`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: String,
    pub delivered_at: String,
    /// The receiver's HTTP status at the last attempt, if it answered.
    pub response_status: Option<i32>,
    /// The start of its answer (at most 1,000 characters).
    pub response_body: String,
    /// Why the last attempt failed, when it did.
    pub last_error: String,
    pub duration_ms: Option<i32>,
}

/// An endpoint's page: the endpoint and a page of its deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointPage {
    pub endpoint: EndpointRow,
    pub deliveries: Vec<DeliveryRow>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// The action patterns typed in the form (separated by commas, spaces or
/// lines): each an audit action (`role.grant`), an area's every action
/// (`user.*`) or `*` for everything. Sorted, without repeats.
pub fn parse_actions(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split(|c: char| c == ',' || c.is_whitespace()).map(str::trim).filter(|p| !p.is_empty()) {
        let part = part.to_ascii_lowercase();
        if part.len() > 100 {
            return Err("An action is at most 100 characters.".into());
        }
        if !is_pattern(&part) {
            return Err(format!("\"{part}\" is not an action: write one as area.action (user.create), area.* (user.*) or * for every event."));
        }
        out.push(part);
    }
    out.sort();
    out.dedup();
    match out.len() {
        0 => Err("Name at least one action, such as user.* or *.".into()),
        n if n > MAX_ACTIONS => Err(format!("Name at most {MAX_ACTIONS} actions (or use area.* patterns).")),
        _ => Ok(out),
    }
}

fn is_pattern(p: &str) -> bool {
    let word = |w: &str| w.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && w.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    if p == "*" {
        return true;
    }
    match p.split_once('.') {
        Some((area, action)) => word(area) && (action == "*" || word(action)),
        None => false,
    }
}

/// Whether an address is on the public internet: not loopback, private
/// (RFC 1918, unique local), link-local, shared (100.64/10), documentation,
/// benchmarking, multicast, reserved or unspecified, nor an IPv4 address
/// dressed as IPv6. Webhooks go only to public addresses unless the
/// platform allows private ones (`--webhook-allow-private`): otherwise an
/// endpoint could reach the machine's own services or the cloud's metadata
/// address (169.254.169.254) with Steward's requests.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                // IPv4-compatible, NAT64 and 6to4 carry an IPv4 address inside.
                || v6.segments()[..6].iter().all(|s| *s == 0)
                || (first == 0x64 && v6.segments()[1] == 0xff9b)
                || first == 0x2002
                // IPv4-translated (::ffff:0:a.b.c.d), Teredo, benchmarking, documentation
                || (v6.segments()[..4].iter().all(|s| *s == 0) && v6.segments()[4] == 0xffff && v6.segments()[5] == 0)
                || (first == 0x2001 && v6.segments()[1] == 0)
                || (first == 0x2001 && v6.segments()[1] == 2 && v6.segments()[2] == 0)
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                // discard-only, and the deprecated site-local range
                || (first == 0x0100 && v6.segments()[1..4].iter().all(|s| *s == 0))
                || (first & 0xffc0) == 0xfec0)
        }
    }
}

/// Checks a destination: an absolute `https://` URL (or `http://` where
/// private destinations are allowed), with a host and no user name or
/// password, and, when its host is an address, a public one unless private
/// ones are allowed. A name is checked when it is resolved, at each
/// delivery. Returns it as it will be used.
#[cfg(feature = "ssr")]
pub fn check_url(text: &str, allow_private: bool) -> Result<url::Url, String> {
    let text = text.trim();
    let url = url::Url::parse(text).map_err(|_| "Give the endpoint's full address, such as https://hooks.example.com/steward.".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err("Use an https:// address: events carry personal data.".into()),
        _ => return Err("Give an https:// address.".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("Leave the user name and password out of the address: the signature proves the sender.".into());
    }
    if url.fragment().is_some() {
        return Err("Leave the #part out of the address.".into());
    }
    let host = match url.host() {
        None => return Err("The address needs a host name.".into()),
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
    };
    if let Some(ip) = host.filter(|ip| !allow_private && !is_public(*ip)) {
        return Err(format!("{ip} is not a public address: webhooks go to public addresses only."));
    }
    if url.as_str().chars().count() > 2000 {
        return Err("The address is too long (2,000 characters at most).".into());
    }
    Ok(url)
}

/// [`check_url`], and, for a destination being saved, names that are this
/// machine's own (`localhost`) refused at once: they would be refused
/// anyway when resolved at each delivery, but the person saving should
/// hear it now.
#[cfg(feature = "ssr")]
pub fn check_destination(text: &str, allow_private: bool) -> Result<url::Url, String> {
    let url = check_url(text, allow_private)?;
    if let Some(url::Host::Domain(name)) = url.host() {
        let name = name.trim_end_matches('.');
        if !allow_private && (name == "localhost" || name.ends_with(".localhost")) {
            return Err("That address is this machine's own: webhooks go to public addresses only.".into());
        }
    }
    Ok(url)
}

/// The signature header's value for a body sent at `unix_time`:
/// `t=<unix_time>,v1=<hex HMAC-SHA256(secret, "<unix_time>.<body>")>`.
/// A receiver computes the same over the bytes it received, compares in
/// constant time, and refuses a `t` too far from its own clock (replay).
#[cfg(feature = "ssr")]
pub fn signature(secret: &[u8], unix_time: i64, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(unix_time.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix_time},v1={}", crate::text::hex(&mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn actions_are_area_action_pairs_area_patterns_or_everything() {
        assert_eq!(parse_actions("user.*, role.grant\nrole.grant  *").unwrap(), vec!["*", "role.grant", "user.*"]);
        assert_eq!(parse_actions("User.Create").unwrap(), vec!["user.create"]);
        for bad in ["user", "user.", ".create", "user.cre-ate", "u*.x", "user.create.x", "*.create", "1.x"] {
            assert!(parse_actions(bad).is_err(), "{bad} refused");
        }
        assert!(parse_actions("  , ").is_err(), "one at least");
        let many: Vec<String> = (0..51).map(|i| format!("a.b{}", char::from(b'a' + (i % 26) as u8).to_string().repeat(i / 26 + 1))).collect();
        assert!(parse_actions(&many.join(" ")).is_err(), "at most 50");
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "0.1.2.3", "255.255.255.255", "224.0.0.1", "198.18.0.1", "192.0.0.8", "240.0.0.1", "::1", "::", "fc00::1", "fd12::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "64:ff9b::a00:1", "2002:a00:1::", "2001:db8::1", "ff02::1", "fec0::1", "::ffff:0:a00:1", "2001::1", "2001:2::1", "100::1"] {
            assert!(!is_public(private.parse::<IpAddr>().unwrap()), "{private} is not public");
        }
        for public in ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse::<IpAddr>().unwrap()), "{public} is public");
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn destinations_are_https_public_and_without_credentials() {
        assert!(check_destination("https://hooks.example.com/steward?x=1", false).is_ok());
        for (bad, said) in [
            ("http://hooks.example.com/", "https"),
            ("ftp://hooks.example.com/", "https"),
            ("hooks.example.com", "full address"),
            ("https://user:pw@hooks.example.com/", "password"),
            ("https://127.0.0.1/x", "not a public address"),
            ("https://[::1]/x", "not a public address"),
            ("https://169.254.169.254/latest", "not a public address"),
            ("https://localhost:8080/", "own"),
            ("https://a.localhost/", "own"),
            ("https://localhost./", "own"),
            ("https://hooks.example.com/#x", "#part"),
        ] {
            let e = check_destination(bad, false).unwrap_err();
            assert!(e.contains(said), "{bad}: {e}");
        }
        assert!(check_destination("http://127.0.0.1:9000/hook", true).is_ok(), "allowed by the platform");
        assert!(check_destination("http://localhost:9000/hook", true).is_ok(), "allowed by the platform");
        assert!(check_url("https://localhost:8080/", false).is_ok(), "a name is checked when resolved");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // RFC 4231 does not cover this shape; the value was computed with
        // `printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test`.
        assert_eq!(
            signature(b"whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }
}
