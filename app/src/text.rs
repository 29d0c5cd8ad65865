//! Text helpers of the server side: percent-encoding for URLs and cookies,
//! and the time format the console shows. Part of the spine: it imports
//! nothing of Steward's.

/// Percent-encodes every byte but ASCII letters, digits and `keep`.
pub fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A time as the console shows it: `2026-12-05 09:30 UTC`. Written field by
/// field rather than through `format("%Y-%m-%d %H:%M UTC")`, which parses the
/// pattern on every call: a list page formats one or two a row, and chrono
/// was 1.2% of steward's time on the users page (docs/BENCHMARKS.md). The
/// same text for the years 0 to 9999 (the pattern writes `+10000` past them).
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), t.month(), t.day(), t.hour(), t.minute())
}

/// Bytes as lower-case hexadecimal (hashes, sealed keys).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hexadecimal back to bytes; `None` for an odd length or a non-hex digit.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    /// `when` writes what the strftime pattern it replaced wrote, from year
    /// 1 to the last minute of 9999, sampled every 36 days and a half (each
    /// sample at another time of day).
    #[test]
    fn times_read_as_the_pattern_wrote_them() {
        use chrono::{TimeZone, Utc};
        let (first, last) = (-62_135_596_800_i64, 253_402_300_799_i64);
        let step = (last - first) / 100_003;
        for secs in (first..=last).step_by(step as usize).chain([0, 1_764_927_059, last]) {
            let t = Utc.timestamp_opt(secs, 0).unwrap();
            assert_eq!(super::when(t), t.format("%Y-%m-%d %H:%M UTC").to_string(), "{secs}");
        }
    }
}
