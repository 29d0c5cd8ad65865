//! The organisation's own settings: its name, brand colour and logo (the
//! Settings screen, `settings:manage`), whom it requires to sign in with a
//! second factor, how long its API keys may live, and how long deleted
//! people are kept before they are anonymised; and what its plan allows.
//! Each setting is a column of the tenant's row (or its logo's), changed
//! with its audit event; the cards of the last three are also shown where
//! the setting matters (roles and access, personal data).

pub mod pages;
mod server;
#[cfg(feature = "ssr")]
pub mod logo;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use server::*;

use crate::auth::Brand;
use serde::{Deserialize, Serialize};

/// The largest logo accepted: a mark for a top bar and a sign-in page.
pub const LOGO_MAX_BYTES: usize = 256 * 1024;
/// Where the logo form posts (multipart, field `logo`).
pub const LOGO_UPLOAD_PATH: &str = "/settings/logo";

/// The organisation as its Settings page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub brand: Brand,
    /// The version the form saves over.
    pub version: i32,
    pub plan: Plan,
    pub logo: Option<LogoFacts>,
    /// Whether people are told by mail of a sign-in from a new address.
    pub notify_new_place: bool,
    /// Days after deletion people are anonymised (none: never).
    pub anonymise_after_days: Option<i32>,
}

/// What the plan allows and what is used of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    /// The platform's own organisation has no limits.
    pub platform: bool,
    pub people: i64,
    pub max_people: Option<i64>,
    pub document_bytes: i64,
    pub max_document_bytes: Option<i64>,
}

/// The stored logo's type and size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoFacts {
    pub content_type: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
}

/// The relative luminance of `#rrggbb` (WCAG 2).
fn luminance(colour: &str) -> Option<f64> {
    if colour.len() != 7 || !colour.starts_with('#') {
        return None;
    }
    let channel = |i: usize| -> Option<f64> {
        let v = f64::from(u8::from_str_radix(colour.get(i..i + 2)?, 16).ok()?) / 255.0;
        Some(if v <= 0.039_28 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) })
    };
    Some(0.2126 * channel(1)? + 0.7152 * channel(3)? + 0.0722 * channel(5)?)
}

/// The contrast ratio of two colours (WCAG 2: 1 to 21).
pub fn contrast(a: &str, b: &str) -> Option<f64> {
    let (la, lb) = (luminance(a)?, luminance(b)?);
    Some((la.max(lb) + 0.05) / (la.min(lb) + 0.05))
}

/// Text on the brand colour: white or black, whichever contrasts more (for
/// any colour that is at least 4.58:1, past WCAG AA).
pub fn ink_on(colour: &str) -> &'static str {
    const WHITE: &str = "#ffffff";
    const DARK: &str = "#000000";
    match (contrast(colour, WHITE), contrast(colour, DARK)) {
        (Some(w), Some(d)) if d > w => DARK,
        _ => WHITE,
    }
}

/// The brand's stylesheet: the colour and its ink as custom properties,
/// which `style/base.css` uses for the organisation's mark and bar.
pub fn brand_css(colour: Option<&str>) -> String {
    match colour.filter(|c| luminance(c).is_some()) {
        Some(c) => format!(":root{{--brand:{c};--brand-ink:{}}}\n", ink_on(c)),
        None => String::new(),
    }
}

/// What an uploaded logo is, from its bytes (never from what the browser
/// claimed): PNG, JPEG or WebP, at most [`LOGO_MAX_BYTES`] and 2,000 pixels
/// a side; or why it is refused.
#[cfg(feature = "ssr")]
pub fn logo_kind(bytes: &[u8]) -> Result<(&'static str, u32, u32), &'static str> {
    use imagesize::ImageType;
    if bytes.is_empty() {
        return Err("Choose an image to upload.");
    }
    if bytes.len() > LOGO_MAX_BYTES {
        return Err("A logo is 256 KB at most: upload a smaller image.");
    }
    let kind = match imagesize::image_type(bytes) {
        Ok(ImageType::Png) => "image/png",
        Ok(ImageType::Jpeg) => "image/jpeg",
        Ok(ImageType::Webp) => "image/webp",
        _ => return Err("Upload a PNG, JPEG or WebP image."),
    };
    let size = imagesize::blob_size(bytes).map_err(|_| "That image cannot be read: upload it again, or another one.")?;
    if size.width == 0 || size.height == 0 || size.width > 2000 || size.height > 2000 {
        return Err("A logo is 2,000 pixels a side at most.");
    }
    Ok((kind, size.width as u32, size.height as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ink_contrasts_with_the_brand_colour() {
        assert_eq!(ink_on("#ffffff"), "#000000");
        assert_eq!(ink_on("#4f46e5"), "#ffffff");
        assert_eq!(ink_on("#facc15"), "#000000");
        for c in ["#000000", "#4f46e5", "#0f766e", "#facc15", "#ffffff", "#808080", "#ff0000"] {
            assert!(contrast(c, ink_on(c)).unwrap() >= 4.5, "{c}");
        }
        assert_eq!(brand_css(Some("red;}")), "");
        assert_eq!(brand_css(Some("#0f766e")), ":root{--brand:#0f766e;--brand-ink:#ffffff}\n");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn logos_are_known_by_their_bytes() {
        // A 1×1 PNG.
        let png: &[u8] = &[
            0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f,
            0x15, 0xc4, 0x89,
        ];
        assert_eq!(logo_kind(png), Ok(("image/png", 1, 1)));
        assert!(logo_kind(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>").is_err());
        assert!(logo_kind(b"").is_err());
        assert!(logo_kind(&vec![0u8; LOGO_MAX_BYTES + 1]).is_err());
    }
}
