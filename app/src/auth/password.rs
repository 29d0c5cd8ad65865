//! Passwords: the policy a new one must meet, and hashing with argon2id at
//! OWASP's recommended parameters (19 MiB, 2 iterations, 1 lane). Hashing
//! runs on the blocking pool, at most [`hashing_slots`] at a time, so a storm
//! of sign-ins queues for those slots instead of taking every core from the
//! pages other people are loading.
//!
//! Each slot keeps its 19 MiB of argon2 memory for the life of the process
//! and hashes into it (`hash_password_into_with_memory`). Letting argon2
//! allocate and free it per hash left glibc holding a freed 19 MiB in each
//! thread's arena it had passed through: 16 sign-ins one after another left
//! steward at 139 MB resident (docs/BENCHMARKS.md).

use argon2::password_hash::{rand_core::OsRng, Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use tokio::sync::Semaphore;
use crate::error::AppError;

/// How many hashes run at once: one core in reserve for everything else.
pub fn hashing_slots() -> usize {
    std::thread::available_parallelism().map(|n| n.get().saturating_sub(1).max(1)).unwrap_or(1)
}

fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(hashing_slots()))
}

/// The slots' argon2 memory, made on first use and kept: never more than
/// [`hashing_slots`] of them, since a hash holds a permit while it holds one.
fn memories() -> &'static Mutex<Vec<Vec<Block>>> {
    static MEMORIES: OnceLock<Mutex<Vec<Vec<Block>>>> = OnceLock::new();
    MEMORIES.get_or_init(|| Mutex::new(Vec::new()))
}

/// How many password checks may wait for a slot (besides those running);
/// one more is refused at once with [`AppError::Busy`] (429). At about
/// 20 ms a hash on one slot, a full queue drains in about a second.
pub const QUEUE_LIMIT: usize = 48;

static WAITING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs argon2 work on the blocking pool once a hashing slot is free, with
/// that slot's memory, or refuses it when [`QUEUE_LIMIT`] checks are
/// waiting already. The permit and the memory go with the work, so a
/// request dropped while its hash runs still frees the slot only when the
/// hash ends, and puts the memory back.
async fn with_slot<T: Send + 'static>(work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static) -> Result<T, AppError> {
    use std::sync::atomic::Ordering;
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    if WAITING.fetch_add(1, Ordering::SeqCst) >= QUEUE_LIMIT + hashing_slots() {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        return Err(AppError::Busy);
    }
    let waiting = Waiting;
    let permit = slots().acquire().await.map_err(|_| AppError::Internal)?;
    tokio::task::spawn_blocking(move || {
        let (_permit, _waiting) = (permit, waiting);
        // The pool holds plain blocks: a panic elsewhere leaves nothing half
        // done in it, so a poisoned lock is taken as it is.
        let pool = || memories().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut memory = pool().pop().unwrap_or_default();
        let out = work(&mut memory);
        // A stored hash of bigger parameters grew it: keep today's size.
        memory.truncate(argon2().params().block_count());
        memory.shrink_to_fit();
        pool().push(memory);
        out
    })
    .await
    .map_err(|_| AppError::Internal)
}

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// The longest (argon2 takes any length; this bounds the work).
pub const MAX_LENGTH: usize = 1024;

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("common-passwords.txt").lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
    })
}

/// Why a password someone chose cannot be used, or None when it can. It must
/// have 12 to 1024 characters, and be neither one of the 30,000 most common
/// passwords (shipped in `common-passwords.txt`) nor one with digits or
/// symbols around it, nor one character repeated or a run such as
/// `abcdefghijkl`, nor contain the person's email name.
pub fn problem(password: &str, email: &str) -> Option<&'static str> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        return Some("Use at least 12 characters.");
    }
    if n > MAX_LENGTH {
        return Some("A password has 1024 characters at most.");
    }
    let lower = password.to_lowercase();
    let core = lower.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace());
    let list = common_passwords();
    if list.contains(lower.as_str()) || (core.chars().count() >= 4 && list.contains(core)) {
        return Some("That is one of the most common passwords. Choose one that is harder to guess.");
    }
    let chars: Vec<char> = lower.chars().collect();
    if chars.windows(2).all(|w| w[0] == w[1]) {
        return Some("That is one character repeated. Choose one that is harder to guess.");
    }
    // Each next character one up from the last (9 then 0 for digits), or
    // each one down.
    let up = |a: char, b: char| {
        a.is_ascii_alphanumeric() && ((b as u32) == (a as u32) + 1 || (a == '9' && b == '0'))
    };
    let rising = chars.windows(2).all(|w| up(w[0], w[1]));
    let falling = chars.windows(2).all(|w| up(w[1], w[0]));
    if rising || falling {
        return Some("That is a run of letters or digits. Choose one that is harder to guess.");
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.chars().count() >= 4 && lower.contains(&local) {
        return Some("A password may not contain your email address. Choose another.");
    }
    None
}

/// Whether a stored hash was made with other parameters than today's (or
/// another algorithm), so it is made again at the next successful sign-in.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return true };
    let current = argon2();
    let params = current.params();
    parsed.algorithm != Algorithm::Argon2id.ident()
        || parsed.version != Some(Version::V0x13.into())
        || Params::try_from(&parsed).map_or(true, |p| {
            p.m_cost() != params.m_cost() || p.t_cost() != params.t_cost() || p.p_cost() != params.p_cost()
        })
}

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

/// Hashes `password` with `salt` by `argon` into an output of `len` bytes,
/// in `memory` (grown to the parameters' size if it is smaller).
fn hash_into(argon: &Argon2<'_>, password: &[u8], salt: &[u8], len: usize, memory: &mut Vec<Block>) -> Option<Output> {
    let blocks = argon.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Output::init_with(len, |out| {
        argon.hash_password_into_with_memory(password, salt, out, &mut memory[..]).map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .ok()
}

/// Hashes with today's parameters and a new salt, in `memory`.
fn hash_with(password: &str, memory: &mut Vec<Block>) -> PasswordHashString {
    let salt = SaltString::generate(&mut OsRng);
    let argon = argon2();
    let mut salt_bytes = [0u8; 64];
    let raw = salt.decode_b64(&mut salt_bytes).expect("a generated salt decodes");
    let hash = hash_into(&argon, password.as_bytes(), raw, Params::DEFAULT_OUTPUT_LEN, memory)
        .expect("argon2 hashing with valid parameters cannot fail");
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon.params().try_into().expect("valid argon2 parameters"),
        salt: Some(salt.as_salt()),
        hash: Some(hash),
    };
    PasswordHashString(phc.to_string())
}

/// Whether `password` matches the PHC string `phc` (whatever argon2
/// parameters it was made with), hashing in `memory`.
fn matches_with(password: &str, phc: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let Ok(version) = parsed.version.map_or(Ok(Version::V0x13), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    // Hashes are written by Steward alone; one asking for far more memory
    // or time than today's parameters is refused rather than run.
    let today = argon2();
    if params.m_cost() > 4 * today.params().m_cost() || params.t_cost() > 4 * today.params().t_cost() || params.p_cost() > 4 {
        tracing::warn!(m = params.m_cost(), t = params.t_cost(), p = params.p_cost(), "a stored password hash asks for more than four times today's argon2 parameters; refused");
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(raw) = salt.decode_b64(&mut salt_bytes) else { return false };
    let argon = Argon2::new(algorithm, version, params);
    // `Output`'s equality takes the same time wherever the bytes differ.
    hash_into(&argon, password.as_bytes(), raw, expected.len(), memory).is_some_and(|computed| computed == expected)
}

/// Hashes on the calling thread: for CLI commands.
pub fn hash_blocking(password: &str) -> PasswordHashString {
    hash_with(password, &mut Vec::new())
}

/// Hashes on a hashing slot; [`AppError::Busy`] when the queue is full.
pub async fn hash(password: String) -> Result<PasswordHashString, AppError> {
    with_slot(move |memory| hash_with(&password, memory)).await
}

/// The hash that unknown accounts are checked against, so that a sign-in
/// for an account that does not exist costs the same time as one that does.
fn dummy_hash(memory: &mut Vec<Block>) -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_with("steward-dummy-password-for-timing", memory).0)
}

/// Checks a password against a stored hash, or against the dummy when there
/// is none. Returns true only for a real hash that matches.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    with_slot(move |memory| match stored {
        Some(phc) => matches_with(&password, &phc, memory),
        None => {
            // The same work as a real check; the answer is no whatever it gives.
            let dummy = dummy_hash(memory);
            std::hint::black_box(matches_with(&password, dummy, memory));
            false
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHasher, PasswordVerifier};

    /// Hashing in a slot's kept memory gives PHC strings the argon2 crate's
    /// own verifier accepts, and accepts the crate's own hashes of other
    /// parameters (bigger or smaller memory, argon2i), in one memory.
    #[test]
    fn hashes_in_kept_memory_agree_with_the_argon2_crate_both_ways() {
        let mut memory = Vec::new();
        let ours = hash_with("correct horse battery", &mut memory);
        assert!(ours.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", ours.0);
        let parsed = PasswordHash::new(&ours.0).unwrap();
        assert!(argon2().verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(argon2().verify_password(b"correct horse batterY", &parsed).is_err());
        for (algorithm, m_cost) in [(Algorithm::Argon2id, 4096), (Algorithm::Argon2id, 32 * 1024), (Algorithm::Argon2i, 19 * 1024)] {
            let theirs = Argon2::new(algorithm, Version::V0x13, Params::new(m_cost, 2, 1, None).unwrap())
                .hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng))
                .unwrap()
                .to_string();
            assert!(matches_with("correct horse battery", &theirs, &mut memory), "{theirs}");
            assert!(!matches_with("correct horse battery ", &theirs, &mut memory), "{theirs}");
        }
        assert_eq!(memory.len(), 32 * 1024, "the memory grew once to the largest parameters and was kept");
        let greedy = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8, 100, 1, None).unwrap())
            .hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(!matches_with("correct horse battery", &greedy, &mut memory), "t = 100: more than four times today's work");
        let greedy = greedy.replace("m=8,t=100", "m=4000000,t=2");
        assert!(!matches_with("correct horse battery", &greedy, &mut memory), "4 GB: refused before any memory is taken");
        assert_eq!(memory.len(), 32 * 1024);
        assert!(matches_with("correct horse battery", &ours.0, &mut memory), "a bigger memory serves a smaller hash");
        assert!(!matches_with("correct horse battery", "$argon2id$v=19$m=19456,t=2,p=1$bm90IGEgaGFzaA", &mut memory));
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let hash = hash("correct horse battery".into()).await.unwrap();
        assert!(hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery".into(), Some(hash.0.clone())).await.unwrap());
        assert!(!verify("Correct horse battery".into(), Some(hash.0)).await.unwrap());
    }

    #[tokio::test]
    async fn a_missing_account_never_verifies() {
        assert!(!verify("steward-dummy-password-for-timing".into(), None).await.unwrap());
        assert!(!verify("x".into(), Some("not a phc string".into())).await.unwrap());
    }

    #[test]
    fn the_policy_refuses_short_common_and_guessable_passwords() {
        let email = "olivia@acme.test";
        assert_eq!(problem("short", email), Some("Use at least 12 characters."));
        assert!(problem("1qaz2wsx3edc", email).is_some_and(|m| m.contains("most common")), "in the list");
        assert!(problem("Password1234!", email).is_some_and(|m| m.contains("most common")), "listed word with digits");
        assert!(problem("!!Sunshine2024", email).is_some_and(|m| m.contains("most common")));
        assert!(problem("aaaaaaaaaaaaaa", email).is_some_and(|m| m.contains("repeated")));
        assert!(problem("123456789012", email).is_some_and(|m| m.contains("most common") || m.contains("run")));
        assert!(problem("abcdefghijklm", email).is_some_and(|m| m.contains("run")));
        assert!(problem("olivia-rocks-2026", email).is_some_and(|m| m.contains("email")));
        assert_eq!(problem("steward-demo-2026", email), None);
        assert_eq!(problem("correct horse battery staple", email), None);
        assert_eq!(problem(&"x".repeat(1025), email), Some("A password has 1024 characters at most."));
    }

    #[test]
    fn hashes_made_with_other_parameters_are_made_again() {
        assert!(!needs_rehash(&hash_blocking("correct horse battery").0));
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(4096, 1, 1, None).unwrap())
            .hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(needs_rehash(&weak));
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(19 * 1024, 2, 1, None).unwrap())
            .hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(needs_rehash(&argon2i));
        assert!(needs_rehash("not a phc string"));
    }

    #[test]
    fn a_hash_prints_redacted() {
        assert_eq!(format!("{:?}", PasswordHashString("$argon2id$secret".into())), "<redacted>");
    }
}
