//! Building blocks several areas' pages share: list query strings and
//! filter menus, a password shown once, an entity's history.

use crate::authz::Perm;
use super::*;
use crate::audit::HistoryRow;
use crate::nav::MeResource;
use leptos::prelude::*;

/// Builds `?k=v&…` from the non-empty pairs.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if encoded.is_empty() { String::new() } else { format!("?{}", encoded.join("&")) }
}

pub fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[component]
pub fn FilterSelect(name: &'static str, label: &'static str, options: Vec<(String, String)>, selected: String, empty: &'static str) -> impl IntoView {
    view! {
        <div>
            <label for=name class=LABEL>{label}</label>
            <select id=name name=name class=SELECT>
                {(!empty.is_empty()).then(|| view! { <option value="">{empty}</option> })}
                {options.into_iter().map(|(value, text)| {
                    let is = value == selected;
                    view! { <option value=value selected=is>{text}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

/// Shows a password made by the server, once, with what to do with it.
#[component]
pub fn OneTimePassword(password: String, #[prop(into)] whom: String) -> impl IntoView {
    view! {
        <div role="status" class=format!("{NOTICE} space-y-1") data-testid="temporary-password-box">
            <p>"Temporary password for " {whom} ". It is shown only this once: pass it on securely."</p>
            <p><code class="select-all rounded bg-white px-2 py-1 font-mono text-base text-slate-900 dark:bg-slate-900 dark:text-slate-100" data-testid="temporary-password">{password}</code></p>
        </div>
    }
}

/// An entity's latest events, with the way to all of them in the audit log
/// (for those who may read it).
#[component]
pub fn HistoryCard(entity_type: &'static str, #[prop(into)] id: uuid::Uuid, rows: Vec<HistoryRow>) -> impl IntoView {
    let me = expect_context::<MeResource>();
    view! {
        <section class=CARD aria-labelledby="history-heading">
            <div class="flex items-baseline justify-between">
                <h2 id="history-heading" class=HEADING>"History"</h2>
                {me.may(Perm::AuditRead).then(|| view! {
                    <a href=format!("/audit?entity_type={entity_type}&entity_id={id}") class=format!("{LINK} text-sm") data-testid="all-events">"All its events →"</a>
                })}
            </div>
            <History rows />
        </section>
    }
}

/// An entity's audit events as a list.
#[component]
pub fn History(rows: Vec<HistoryRow>) -> impl IntoView {
    let empty = rows.is_empty();
    view! {
        <ol class="mt-3 space-y-2 text-sm" data-testid="history">
            {rows.into_iter().map(|h| view! {
                <li class="border-l-2 border-slate-200 pl-3 dark:border-slate-700">
                    <div><span class="font-mono text-xs">{h.action}</span> " by " {h.actor}</div>
                    <div class="text-xs text-slate-500 dark:text-slate-400">{h.occurred_at}</div>
                    {(!h.changes.is_empty()).then(|| view! { <pre class="mt-1 overflow-x-auto whitespace-pre-wrap break-all text-xs text-slate-600 dark:text-slate-400">{h.changes}</pre> })}
                </li>
            }).collect_view()}
        </ol>
        {empty.then(|| view! { <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">"Nothing recorded yet."</p> })}
    }
}

/// The organisation's mark: its logo, or its initial on its brand colour
/// (`brand-mark` in `style/base.css`, coloured by the brand's stylesheet,
/// linked here); Steward's own "S" when there is no brand.
#[component]
pub fn BrandMark(
    brand: Option<crate::auth::Brand>,
    /// Classes of the mark's box (its size and corners).
    #[prop(default = "h-10 w-10 rounded-lg text-lg")]
    size: &'static str,
    /// Classes of the logo image (its height).
    #[prop(default = "h-10")]
    logo_size: &'static str,
) -> impl IntoView {
    let stylesheet = brand.as_ref().and_then(|b| b.stylesheet());
    let logo = brand.as_ref().and_then(|b| b.logo_url().map(|url| (url, format!("{} logo", b.name))));
    let initial = brand.as_ref().and_then(|b| b.name.chars().find(|c| c.is_alphanumeric())).map(|c| c.to_uppercase().to_string()).unwrap_or_else(|| "S".into());
    view! {
        {stylesheet.map(|href| view! { <leptos_meta::Stylesheet id="brand-style" href=href /> })}
        {match logo {
            Some((url, alt)) => view! { <img src=url alt=alt class=format!("{logo_size} w-auto max-w-[10rem] object-contain") data-testid="brand-logo" /> }.into_any(),
            None => view! {
                <span class=format!("brand-mark inline-flex shrink-0 items-center justify-center font-bold {size}") data-testid="brand-mark" aria-hidden="true">{initial}</span>
            }.into_any(),
        }}
    }
}
