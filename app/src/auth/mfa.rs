//! Two-factor sign-in with time-based one-time passwords (RFC 6238: HMAC-SHA1,
//! 30-second steps, 6 digits, what every authenticator app speaks), the
//! secrets sealed with AES-256-GCM under the server's master key, and
//! recovery codes stored as SHA-256 hashes.

use aes_gcm::aead::{Aead, KeyInit, OsRng as AeadRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Seconds per one-time password.
pub const STEP_SECONDS: i64 = 30;
/// Steps either side of now that are accepted (clock drift).
pub const DRIFT_STEPS: i64 = 1;
/// How many recovery codes are made at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// The server's master key: seals MFA secrets at rest.
#[derive(Clone)]
pub struct MasterKey(Key<Aes256Gcm>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// From 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey(Key::<Aes256Gcm>::from(bytes))
    }

    /// From its text form: 64 hexadecimal digits.
    pub fn parse(text: &str) -> Option<MasterKey> {
        let bytes: [u8; 32] = crate::text::unhex(text.trim())?.try_into().ok()?;
        Some(MasterKey::from_bytes(bytes))
    }

    /// A new random key in its text form.
    pub fn generate_text() -> String {
        let key = Aes256Gcm::generate_key(AeadRng);
        key.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Seals `secret` bound to `context` (the user it belongs to, so a
    /// sealed secret copied onto another user's row does not open):
    /// a 12-byte nonce followed by the ciphertext.
    pub fn seal(&self, secret: &[u8], context: &[u8]) -> Vec<u8> {
        let cipher = Aes256Gcm::new(&self.0);
        let nonce = Aes256Gcm::generate_nonce(AeadRng);
        let sealed = cipher
            .encrypt(&nonce, Payload { msg: secret, aad: context })
            .expect("AES-GCM encryption of a short secret cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`seal`](Self::seal) made with this key and context.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 12 {
            return None;
        }
        let (nonce, body) = sealed.split_at(12);
        Aes256Gcm::new(&self.0).decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: context }).ok()
    }
}

/// What a sealed secret is bound to: its tenant and user.
pub fn seal_context(tenant_id: crate::ids::TenantId, user_id: crate::ids::UserId) -> Vec<u8> {
    [tenant_id.0.as_bytes().as_slice(), user_id.0.as_bytes().as_slice()].concat()
}

/// A new TOTP secret: 20 random bytes (160 bits, as RFC 4226 recommends).
pub fn new_secret() -> [u8; 20] {
    use aes_gcm::aead::rand_core::RngCore;
    let mut secret = [0u8; 20];
    AeadRng.fill_bytes(&mut secret);
    secret
}

/// RFC 4648 base32 without padding: how authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The one-time password of `secret` at time step `step` (RFC 4226's HOTP).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    value % 1_000_000
}

/// The time step of a unix time.
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// Which step a typed code matches, within the drift either side of `now`
/// and after `last_used` (a code is good once). None when none does.
pub fn check(secret: &[u8], typed: &str, now_unix: i64, last_used: Option<i64>) -> Option<i64> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let typed: u32 = digits.parse().ok()?;
    let now = step_of(now_unix);
    (now - DRIFT_STEPS..=now + DRIFT_STEPS)
        .filter(|step| last_used.is_none_or(|used| *step > used))
        .find(|step| code_at(secret, *step) == typed)
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let enc = |s: &str| crate::text::percent_encode(s, b"-_.@");
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

/// The QR code of `text` as an SVG image (dark modules on white).
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .dark_color(qrcode::render::svg::Color("#0f172a"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
        Err(_) => String::new(),
    }
}

/// New recovery codes: 10 of `xxxxx-xxxxx` from an alphabet without
/// look-alikes (about 50 bits each), shown once.
pub fn new_recovery_codes() -> Vec<String> {
    use aes_gcm::aead::rand_core::RngCore;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            AeadRng.fill_bytes(&mut bytes);
            let chars: String = bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// How a recovery code is stored: SHA-256 of its normalised form (lower
/// case, without spaces or dashes). The codes are random, so a fast hash
/// is enough; a stolen table gives nothing to guess from.
pub fn recovery_hash(code: &str) -> String {
    let normal: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    Sha256::digest(normal.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_6238_test_vectors_match() {
        // RFC 6238 appendix B, SHA-1, the last 6 of its 8 digits.
        let secret = b"12345678901234567890";
        for (time, expected) in [(59, 94287082u32), (1111111109, 7081804), (1111111111, 14050471), (1234567890, 89005924), (2000000000, 69279037)] {
            assert_eq!(code_at(secret, step_of(time)), expected % 1_000_000, "at {time}");
        }
    }

    #[test]
    fn a_code_is_good_within_one_step_either_side_and_only_once() {
        let secret = new_secret();
        let now = 1_700_000_000;
        let code = format!("{:06}", code_at(&secret, step_of(now)));
        assert_eq!(check(&secret, &code, now, None), Some(step_of(now)));
        assert_eq!(check(&secret, &code, now + 30, None), Some(step_of(now)), "a step late is fine");
        assert_eq!(check(&secret, &code, now + 90, None), None, "three steps late is not");
        assert_eq!(check(&secret, &code, now, Some(step_of(now))), None, "used already");
        assert_eq!(check(&secret, &format!("{} {}", &code[..3], &code[3..]), now, None), Some(step_of(now)), "spaces are fine");
        assert_eq!(check(&secret, "12345", now, None), None);
        assert_eq!(check(&secret, "abcdef", now, None), None);
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(&new_secret()).len(), 32);
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_its_user() {
        let key = MasterKey::parse(&MasterKey::generate_text()).unwrap();
        let other = MasterKey::parse(&MasterKey::generate_text()).unwrap();
        let sealed = key.seal(b"secret", b"user-1");
        assert_eq!(key.open(&sealed, b"user-1").as_deref(), Some(&b"secret"[..]));
        assert_eq!(key.open(&sealed, b"user-2"), None, "bound to its user");
        assert_eq!(other.open(&sealed, b"user-1"), None, "bound to its key");
        assert_ne!(key.seal(b"secret", b"user-1"), sealed, "a new nonce each time");
        assert!(MasterKey::parse("too short").is_none());
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_the_same_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), 10);
        let code = &codes[0];
        assert_eq!(recovery_hash(code), recovery_hash(&format!(" {} ", code.to_uppercase().replace('-', " "))));
    }

    #[test]
    fn the_qr_code_is_an_svg() {
        let svg = qr_svg(&otpauth_uri(&new_secret(), "Steward", "olivia@acme.test"));
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }
}
