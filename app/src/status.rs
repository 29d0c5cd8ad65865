//! The domain's closed sets of words, as types: a person's status, a
//! tenant's status and kind, the second-factor requirement. Each matches
//! a `CHECK (… IN (…))` constraint of the schema word for word, so it is
//! read from SQL with `AS "status: UserStatus"` and bound with
//! `.as_str()`. On the wire it is the same lower-case word as before.
//! Part of the spine: it imports no area.

use serde::{Deserialize, Serialize};

macro_rules! word_set {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type))]
        #[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "lowercase"))]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            /// The word as stored, or `None` for any other text.
            pub fn parse(word: &str) -> Option<Self> {
                match word {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl From<$name> for &'static str {
            fn from(word: $name) -> Self {
                word.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The status a list or a page shows for a row: "deleted" when it is
/// (deletion is a time, not a status), else the stored word.
pub fn shown(deleted: bool, stored: impl Into<&'static str>) -> &'static str {
    if deleted { "deleted" } else { stored.into() }
}

word_set!(
    /// A person's status (`users_status_check`).
    UserStatus {
        /// Created but not yet signed in with a password of their own.
        Pending = "pending",
        Active = "active",
        /// Refused at sign-in and on every request; sessions ended.
        Suspended = "suspended",
        Inactive = "inactive",
    }
);

word_set!(
    /// A tenant's status (`tenants_status_check`). Deletion is a separate
    /// flag, so a deleted tenant keeps the status it had.
    TenantStatus {
        Active = "active",
        Suspended = "suspended",
    }
);

word_set!(
    /// What a tenant is (`tenants_kind_check`): the one platform tenant,
    /// whose staff run the others, or a customer organisation.
    TenantKind {
        Platform = "platform",
        Customer = "customer",
    }
);

word_set!(
    /// Who must use a second factor in a tenant (`tenants_mfa_required_check`).
    MfaRequirement {
        Off = "off",
        Admins = "admins",
        Everyone = "everyone",
    }
);

word_set!(
    /// The colours a person chose for the console (`users_theme_check`):
    /// their system's light or dark, or one of them always.
    Theme {
        System = "system",
        Light = "light",
        Dark = "dark",
    }
);

impl Theme {
    /// How the choice is offered.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "As my system is set",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    /// The page's `color-scheme` (form controls, scroll bars).
    pub fn color_scheme(self) -> &'static str {
        match self {
            Theme::System => "light dark",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// The cookie that carries the person's theme to every page the server
/// renders, so the page arrives in its colours (set at sign-in from the
/// person's account, and when they change it).
pub const THEME_COOKIE: &str = "steward_theme";

/// In the browser: puts the theme the cookie names on `<html>` (and its
/// `color-scheme`), when it differs from the one the page was sent with.
/// The server writes it on every document it sends; this covers a page
/// reached without a new document, such as the first after signing in.
#[cfg(feature = "hydrate")]
pub fn apply_theme() {
    use leptos::wasm_bindgen::JsCast;
    let document = leptos::prelude::document();
    let cookies = document.dyn_ref::<web_sys::HtmlDocument>().and_then(|d| d.cookie().ok()).unwrap_or_default();
    let Some(theme) = cookies
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == THEME_COOKIE)
        .and_then(|(_, value)| Theme::parse(value))
    else {
        return;
    };
    set_theme_on_page(theme);
}

/// In the browser: the page's colours become `theme`'s at once.
#[cfg(feature = "hydrate")]
pub fn set_theme_on_page(theme: Theme) {
    let document = leptos::prelude::document();
    if let Some(root) = document.document_element() {
        if root.get_attribute("data-theme").as_deref() != Some(theme.as_str()) {
            let _ = root.set_attribute("data-theme", theme.as_str());
        }
    }
    if let Ok(Some(meta)) = document.query_selector("meta[name=color-scheme]") {
        let _ = meta.set_attribute("content", theme.color_scheme());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each set is the schema's constraint word for word: read the
    /// migrations' CHECK lists, so a new status cannot be added to one
    /// side only.
    #[test]
    fn each_set_matches_its_check_constraint() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
        let mut sql = String::new();
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files.iter().filter(|f| f.to_string_lossy().ends_with(".up.sql")) {
            sql.push_str(&std::fs::read_to_string(f).unwrap());
        }
        let words = |constraint: &str| -> Vec<String> {
            let at = sql.rfind(&format!("{constraint} CHECK")).unwrap_or_else(|| panic!("{constraint} not in the migrations"));
            let list = &sql[at..];
            let list = &list[list.find("IN (").unwrap() + 4..];
            let list = &list[..list.find(')').unwrap()];
            list.split(',').map(|w| w.trim().trim_matches('\'').to_string()).collect()
        };
        macro_rules! of {
            ($set:ty) => {
                <$set>::ALL.iter().map(|s| s.as_str().to_string()).collect::<Vec<_>>()
            };
        }
        assert_eq!(words("users_status_check"), of!(UserStatus));
        assert_eq!(words("tenants_status_check"), of!(TenantStatus));
        assert_eq!(words("tenants_kind_check"), of!(TenantKind));
        assert_eq!(words("tenants_mfa_required_check"), of!(MfaRequirement));
        assert_eq!(words("users_theme_check"), of!(Theme));
    }
}
