//! Tenants: the organisations on the platform, and the platform itself.

#[cfg(feature = "ssr")]
pub mod ssr;

/// Checks a tenant's short name: 1 to 63 lowercase letters, digits and
/// hyphens, not starting or ending with a hyphen (it appears in sign-in and
/// may appear in host names).
pub fn parse_slug(input: &str) -> Result<String, &'static str> {
    let slug = input.trim().to_lowercase();
    if slug.is_empty() {
        return Err("Enter a short name.");
    }
    if slug.len() > 63 {
        return Err("A short name has 63 characters at most.");
    }
    if !slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err("Use only letters a-z, digits and hyphens.");
    }
    if slug.starts_with('-') || slug.ends_with('-') {
        return Err("A short name cannot start or end with a hyphen.");
    }
    Ok(slug)
}

#[cfg(test)]
mod tests {
    use super::parse_slug;

    #[test]
    fn slugs_are_lowercased_and_checked() {
        assert_eq!(parse_slug(" Acme-2 "), Ok("acme-2".to_string()));
        assert!(parse_slug("").is_err());
        assert!(parse_slug("-acme").is_err());
        assert!(parse_slug("acme-").is_err());
        assert!(parse_slug("ac me").is_err());
        assert!(parse_slug("acmé").is_err());
        assert!(parse_slug(&"a".repeat(64)).is_err());
        assert!(parse_slug(&"a".repeat(63)).is_ok());
    }
}
