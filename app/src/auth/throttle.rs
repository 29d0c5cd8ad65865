//! Sign-in throttling: failed sign-ins are counted per account name and per
//! client address (`sign_in_throttle`, reached through SECURITY DEFINER
//! functions); past a threshold, sign-ins are refused for a delay that
//! doubles with each further failure. Account names are counted whether or
//! not the account exists, so a refusal tells nothing about it. An account
//! name's failures are counted apart at each place it was signed in to from
//! before, so a stranger elsewhere cannot keep its owner out (migration
//! 0021; docs/SECURITY.md, M7).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use std::net::IpAddr;

/// How many password checks of one account may wait for their turn; one
/// more is refused at once ([`crate::error::AppError::Busy`]).
pub const ACCOUNT_WAITERS: usize = 8;

/// A password check's turn for its account: one at a time per account in
/// this process, so that a storm of guesses at one account takes one
/// hashing slot, not all of them, and its block (counted by the check
/// before) is seen by the next instead of raced past. Waiting holds no
/// database connection.
pub struct Turn {
    _permit: tokio::sync::OwnedSemaphorePermit,
    _waiting: Waiting,
}

struct Waiting(String);

type Turns = std::collections::HashMap<String, (std::sync::Arc<tokio::sync::Semaphore>, usize)>;

fn turns() -> &'static std::sync::Mutex<Turns> {
    static TURNS: std::sync::OnceLock<std::sync::Mutex<Turns>> = std::sync::OnceLock::new();
    TURNS.get_or_init(Default::default)
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut map = turns().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(&self.0) {
            entry.1 -= 1;
            if entry.1 == 0 {
                map.remove(&self.0);
            }
        }
    }
}

/// Waits for the account's turn (`tenant` and `email` as typed; compared
/// case-insensitively), or refuses when [`ACCOUNT_WAITERS`] wait already.
pub async fn turn(tenant: &str, email: &str) -> Result<Turn, crate::error::AppError> {
    let key = format!("{}\n{}", tenant.trim().to_lowercase(), email.trim().to_lowercase());
    let semaphore = {
        let mut map = turns().lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(key.clone()).or_insert_with(|| (std::sync::Arc::new(tokio::sync::Semaphore::new(1)), 0));
        if entry.1 > ACCOUNT_WAITERS {
            return Err(crate::error::AppError::Busy);
        }
        entry.1 += 1;
        entry.0.clone()
    };
    let waiting = Waiting(key);
    let permit = semaphore.acquire_owned().await.map_err(|_| crate::error::AppError::Internal)?;
    Ok(Turn { _permit: permit, _waiting: waiting })
}

/// When failures start to block, for how long, and when they are forgotten.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// The failure at which sign-ins start to be refused.
    pub threshold: i32,
    /// The first block; each further failure doubles it.
    pub base_seconds: f64,
    /// The longest block.
    pub max_seconds: f64,
    /// Failures older than this (counted from the last one) are forgotten.
    pub window_seconds: f64,
}

/// One account name: the fifth failure in a row blocks it for a minute, the
/// sixth for two, up to an hour; a day without failures starts over.
pub const ACCOUNT: Policy = Policy { threshold: 5, base_seconds: 60.0, max_seconds: 3600.0, window_seconds: 86_400.0 };
/// One client address (an IPv6 /64): twenty failures across any accounts
/// within an hour of each other block it the same way.
pub const ADDRESS: Policy = Policy { threshold: 20, base_seconds: 60.0, max_seconds: 3600.0, window_seconds: 3600.0 };

/// The key of a client address. An IPv6 client usually holds a whole /64,
/// so that is what is counted.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("address:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("address:{v4}"),
            None => {
                let s = v6.segments();
                format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The network an address belongs to, as sign-in places are kept: an IPv4
/// /24 or an IPv6 /64. Home and office addresses move within their network,
/// so that is what becomes familiar.
pub fn place_of(ip: IpAddr) -> String {
    let v4 = |v4: std::net::Ipv4Addr| {
        let o = v4.octets();
        format!("{}.{}.{}.0/24", o[0], o[1], o[2])
    };
    match ip {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(a) => v4(a),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Where an attempt comes from, for the account name's count (see
/// migration 0021): a place the name was signed in to from before counts
/// on its own, every other place shares one count.
#[derive(Clone, Copy, Debug)]
pub enum AttemptFrom {
    /// A sign-in attempt from this client address (None: not known).
    Client(Option<IpAddr>),
    /// A person already signed in, asked for their password again: these
    /// count together (the place `session`), wherever the request comes
    /// from, so a stolen cookie gains no guesses by changing network.
    SignedIn,
}

/// The keys of one attempt: the account name's (at its place when that is
/// familiar) and, for a sign-in from a known address, the address's. The
/// flag says whether the place is familiar.
async fn keys(conn: &mut PgConnection, tenant: &str, email: &str, from: AttemptFrom) -> Result<(Vec<String>, bool), sqlx::Error> {
    let place = match from {
        AttemptFrom::Client(ip) => ip.map(place_of),
        AttemptFrom::SignedIn => None,
    };
    let (account, familiar): (String, bool) = sqlx::query!(r#"SELECT key AS "key!: String", familiar AS "familiar!: bool" FROM steward_sign_in_attempt_key($1, $2, $3, $4)"#, tenant, email, place, matches!(from, AttemptFrom::SignedIn)).map(|r| (r.key, r.familiar))
        .fetch_one(&mut *conn)
        .await?;
    let address = match from {
        AttemptFrom::Client(Some(ip)) => Some(address_key(ip)),
        _ => None,
    };
    Ok((std::iter::once(account).chain(address).collect(), familiar))
}

/// A refusal: until when sign-ins of this account name or from this address
/// are refused, and whether this attempt is the block's first refusal (the
/// only one recorded in the audit log; later ones write nothing).
#[derive(Clone, Copy, Debug)]
pub struct Refusal {
    pub until: DateTime<Utc>,
    pub first_of_block: bool,
}

/// Whether this account name or address is blocked now (see [`Refusal`]).
pub async fn refusal(conn: &mut PgConnection, tenant: &str, email: &str, from: AttemptFrom) -> Result<Option<Refusal>, sqlx::Error> {
    let (keys, _) = keys(conn, tenant, email, from).await?;
    let (until, first_of_block): (Option<DateTime<Utc>>, bool) =
        sqlx::query!(r#"SELECT blocked_until AS "blocked_until?: DateTime<Utc>", first_of_block AS "first_of_block!: bool" FROM steward_sign_in_refusal($1)"#, &keys).map(|r| (r.blocked_until, r.first_of_block)).fetch_one(&mut *conn).await?;
    Ok(until.map(|until| Refusal { until, first_of_block }))
}

/// What counting one failure led to.
#[derive(Clone, Debug, Default)]
pub struct Counted {
    /// Failures of the account name in a row, this one included.
    pub account_failures: i32,
    /// Set when this failure blocked the account name.
    pub account_blocked_until: Option<DateTime<Utc>>,
    /// Set when this failure blocked the address.
    pub address_blocked_until: Option<DateTime<Utc>>,
    /// Whether it was counted at a familiar place of the account name (its
    /// own count there) rather than in the count every other place shares.
    pub familiar_place: bool,
}

impl Counted {
    /// Until when the next attempt will be refused, if it will be.
    pub fn blocked_until(&self) -> Option<DateTime<Utc>> {
        self.account_blocked_until.max(self.address_blocked_until)
    }
}

async fn count(conn: &mut PgConnection, key: &str, policy: Policy) -> Result<(i32, Option<DateTime<Utc>>), sqlx::Error> {
    sqlx::query!(
        r#"SELECT failures AS "failures!: i32", blocked_until AS "blocked_until?: DateTime<Utc>"
             FROM steward_sign_in_failure($1, $2, make_interval(secs => $3), make_interval(secs => $4), make_interval(secs => $5))"#,
        key,
        policy.threshold,
        policy.base_seconds,
        policy.max_seconds,
        policy.window_seconds
    )
    .map(|r| (r.failures, r.blocked_until))
    .fetch_one(&mut *conn)
    .await
}

/// Counts a failed sign-in against its account name (at its place) and its
/// address.
pub async fn failure(conn: &mut PgConnection, tenant: &str, email: &str, from: AttemptFrom) -> Result<Counted, sqlx::Error> {
    let (keys, familiar_place) = keys(conn, tenant, email, from).await?;
    let (account_failures, account_blocked_until) = count(conn, &keys[0], ACCOUNT).await?;
    let address_blocked_until = match keys.get(1) {
        Some(key) => count(conn, key, ADDRESS).await?.1,
        None => None,
    };
    Ok(Counted { account_failures, account_blocked_until, address_blocked_until, familiar_place })
}

/// A successful sign-in clears the failures it was counted against and
/// makes its place familiar to the account name.
pub async fn success(conn: &mut PgConnection, tenant: &str, email: &str, ip: Option<IpAddr>) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT steward_sign_in_success($1, $2, $3)", tenant, email, ip.map(place_of))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A person-readable wait: "1 minute", "5 minutes", "an hour".
pub fn wait_text(seconds: u64) -> String {
    let minutes = seconds.div_ceil(60).max(1);
    match minutes {
        1 => "a minute".into(),
        60 => "an hour".into(),
        m => format!("{m} minutes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_counted_by_ipv4_address_or_ipv6_slash_64() {
        assert_eq!(address_key("203.0.113.9".parse().unwrap()), "address:203.0.113.9");
        assert_eq!(address_key("2001:db8:1:2:3:4:5:6".parse().unwrap()), "address:2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2:ffff::1".parse().unwrap()), "address:2001:db8:1:2::/64");
        assert_eq!(address_key("::ffff:203.0.113.9".parse().unwrap()), "address:203.0.113.9");
    }

    #[test]
    fn places_are_ipv4_slash_24_or_ipv6_slash_64() {
        assert_eq!(place_of("203.0.113.9".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(place_of("::ffff:203.0.113.200".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(place_of("2001:db8:1:2:3:4:5:6".parse().unwrap()), "2001:db8:1:2::/64");
    }

    #[test]
    fn waits_read_as_minutes() {
        assert_eq!(wait_text(1), "a minute");
        assert_eq!(wait_text(60), "a minute");
        assert_eq!(wait_text(61), "2 minutes");
        assert_eq!(wait_text(3600), "an hour");
    }
}
