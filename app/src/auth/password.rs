//! Password hashing: argon2id with OWASP's recommended parameters (19 MiB,
//! 2 iterations, 1 lane), always on the blocking pool so a burst of sign-ins
//! cannot stall the async workers serving other pages.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC string; never serialised, never printed.
pub struct PasswordHashString(pub String);

impl std::fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Hashes on the calling thread: for the blocking pool and CLI commands.
pub fn hash_blocking(password: &str) -> PasswordHashString {
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters cannot fail")
        .to_string();
    PasswordHashString(hash)
}

pub async fn hash(password: String) -> PasswordHashString {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .expect("hashing task panicked")
}

/// The hash that unknown accounts are checked against, so that a sign-in
/// for an account that does not exist costs the same time as one that does.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("steward-dummy-password-for-timing").0)
}

/// Checks a password against a stored hash, or against the dummy when there
/// is none. Returns true only for a real hash that matches.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let real = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy_hash().to_string());
        let matches = match PasswordHash::new(&phc) {
            Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        };
        real && matches
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let hash = hash("correct horse battery".into()).await;
        assert!(hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery".into(), Some(hash.0.clone())).await);
        assert!(!verify("Correct horse battery".into(), Some(hash.0)).await);
    }

    #[tokio::test]
    async fn a_missing_account_never_verifies() {
        assert!(!verify("steward-dummy-password-for-timing".into(), None).await);
        assert!(!verify("x".into(), Some("not a phc string".into())).await);
    }

    #[test]
    fn a_hash_prints_redacted() {
        assert_eq!(format!("{:?}", PasswordHashString("$argon2id$secret".into())), "<redacted>");
    }
}
