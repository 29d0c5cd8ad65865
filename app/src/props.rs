//! Property tests of the parsers that take outside input: email addresses,
//! tenant short names, permission keys, CSV import files, typed passwords
//! and one-time codes. Each must never panic, accept every well-formed
//! value, and refuse what its rule refuses.

use proptest::prelude::*;

fn valid_email() -> impl Strategy<Value = String> {
    ("[a-z0-9][a-z0-9._%+-]{0,30}", "[a-z0-9][a-z0-9-]{0,20}", "[a-z]{2,8}").prop_map(|(l, d, t)| format!("{l}@{d}.{t}"))
}

fn valid_slug() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn email_check_never_panics(input in any::<String>()) {
        let _ = crate::users::email_problem(&input);
    }

    #[test]
    fn well_formed_emails_are_accepted(email in valid_email()) {
        prop_assert_eq!(crate::users::email_problem(&email), None);
    }

    #[test]
    fn emails_with_spaces_or_control_characters_or_no_at_are_refused(
        email in valid_email(),
        at in any::<prop::sample::Index>(),
        bad in prop::sample::select(vec![' ', '\t', '\n', '\u{0}', '\u{7f}']),
    ) {
        let mut chars: Vec<char> = email.chars().collect();
        chars.insert(at.index(chars.len() + 1), bad);
        let spoiled: String = chars.into_iter().collect();
        prop_assert!(crate::users::email_problem(&spoiled).is_some(), "{:?}", spoiled);
        prop_assert!(crate::users::email_problem(&email.replace('@', "")).is_some());
        prop_assert!(crate::users::email_problem(&format!("{}{email}", "a".repeat(250))).is_some(), "too long");
    }

    #[test]
    fn slugs_parse_to_their_rule_and_parsing_is_idempotent(input in any::<String>()) {
        if let Ok(slug) = crate::tenants::parse_slug(&input) {
            prop_assert!(!slug.is_empty() && slug.len() <= 63);
            prop_assert!(slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            prop_assert!(!slug.starts_with('-') && !slug.ends_with('-'));
            prop_assert_eq!(crate::tenants::parse_slug(&slug), Ok(slug.clone()));
        }
    }

    #[test]
    fn well_formed_slugs_are_accepted_in_any_case(slug in valid_slug()) {
        prop_assert_eq!(crate::tenants::parse_slug(&format!("  {}  ", slug.to_uppercase())), Ok(slug));
    }

    #[test]
    fn permission_keys_are_two_lowercase_words(resource in "[a-z][a-z_]{0,15}", action in "[a-z][a-z_]{0,15}", noise in "[A-Z0-9 .:/-]") {
        let key = format!("{resource}:{action}");
        prop_assert!(crate::authz::is_permission_key(&key), "{}", key);
        let spoiled = format!("{resource}{noise}:{action}");
        prop_assert!(!crate::authz::is_permission_key(&spoiled), "{}", spoiled);
        prop_assert!(!crate::authz::is_permission_key(&resource));
    }

    #[test]
    fn permission_key_check_never_panics(input in any::<String>()) {
        let _ = crate::authz::is_permission_key(&input);
        prop_assert_eq!(crate::authz::Perm::parse(&input).is_some(), crate::authz::Perm::parse(&input).map(|p| p.key() == input).unwrap_or(false));
    }
}

proptest! {
    #[test]
    fn api_keys_parse_only_in_their_shape(tenant in any::<u128>(), secret in "[a-z2-7]{32}", noise in any::<String>()) {
        let id = uuid::Uuid::from_u128(tenant);
        let key = format!("stw_{}_{secret}", id.simple());
        prop_assert_eq!(crate::api_keys::parse_key(&key), Some(crate::ids::TenantId(id)));
        prop_assert_eq!(crate::api_keys::parse_key(&format!("{key}x")), None);
        prop_assert_eq!(crate::api_keys::parse_key(&key.to_uppercase()), None);
        prop_assert_eq!(crate::api_keys::parse_key(&key.replacen("stw_", "sk_", 1)), None);
        let _ = crate::api_keys::parse_key(&noise);
    }
}

#[cfg(feature = "ssr")]
mod server_side {
    use super::*;

    /// A CSV field as a spreadsheet writes it.
    fn quoted(value: &str) -> String {
        if value.contains([',', '"', '\n', '\r']) || value.trim() != value {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value.to_string()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn the_import_parser_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let _ = crate::users::import::parse(&bytes);
        }

        #[test]
        fn every_row_written_comes_back_with_its_line(
            rows in prop::collection::vec((valid_email(), "[A-Za-z][A-Za-z ,\"'-]{0,30}[A-Za-z]", prop::option::of("[A-Za-z ]{1,12}")), 1..40),
            blank_after in prop::collection::vec(any::<bool>(), 40),
            crlf in any::<bool>(),
        ) {
            let newline = if crlf { "\r\n" } else { "\n" };
            let mut file = format!("email,name,role{newline}");
            let mut expected = Vec::new();
            let mut line = 2;
            for (i, (email, name, role)) in rows.iter().enumerate() {
                let role = role.clone().unwrap_or_default();
                file.push_str(&format!("{},{},{}{newline}", quoted(email), quoted(name), quoted(&role)));
                expected.push((line, email.clone(), name.trim().to_string(), role.trim().to_string()));
                line += 1;
                if blank_after[i] {
                    file.push_str(newline);
                    line += 1;
                }
            }
            let (parsed, broken) = crate::users::import::parse(file.as_bytes()).map_err(|e| TestCaseError::fail(e))?;
            prop_assert!(broken.is_empty(), "{:?}", broken);
            let got: Vec<_> = parsed.into_iter().map(|r| (r.line, r.email, r.name, r.role)).collect();
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn the_password_policy_never_panics_and_holds_its_bounds(password in any::<String>(), email in valid_email()) {
            let problem = crate::auth::password::problem(&password, &email);
            let n = password.chars().count();
            if !(crate::auth::password::MIN_LENGTH..=crate::auth::password::MAX_LENGTH).contains(&n) {
                prop_assert!(problem.is_some());
            }
        }

        #[test]
        fn one_time_code_checks_never_panic_and_refuse_what_is_not_six_digits(typed in any::<String>(), now in 0i64..4_000_000_000) {
            let secret = [7u8; 20];
            let found = crate::auth::mfa::check(&secret, &typed, now, None);
            let digits: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
            if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                prop_assert_eq!(found, None);
            }
        }
    }
}
