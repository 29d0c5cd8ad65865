//! Steward's web application: components, routes and server functions,
//! rendered on the server (feature `ssr`) and hydrated in the browser
//! (feature `hydrate`). One folder per area of the domain.

#![recursion_limit = "256"]

pub mod access_log;
pub mod account;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod components;
pub mod dashboard;
pub mod documents;
pub mod error;
pub mod ids;
pub mod nav;
pub mod pages;
pub mod privacy;
pub mod roles;
pub mod settings;
pub mod status;
pub mod teams;
pub mod tenants;
pub mod users;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod text;
#[cfg(test)]
mod architecture;
#[cfg(test)]
mod props;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the application. Rendered on the server only,
/// so the stylesheet URL (content-hashed by the server build) and the
/// prefix the bundle is loaded from (content-addressed: `/assets/<version>`)
/// are given here.
pub fn shell(options: LeptosOptions, stylesheet: &str, bundle_root: &str) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="stylesheet" href=stylesheet.to_string() />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options root=bundle_root.to_string() />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: marks the page once hydrated, so
    // browser tests can tell the wasm bundle took over.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title formatter=|page: String| if page.is_empty() { "Steward".to_string() } else { format!("{page} · Steward") } />
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/login") view=auth::pages::SignInPage ssr=SsrMode::Async />
                <Route path=path!("/login/code") view=auth::pages::MfaCodePage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=nav::Console ssr=SsrMode::Async>
                    <Route path=path!("") view=pages::OverviewPage ssr=SsrMode::Async />
                    <Route path=path!("users") view=users::pages::UsersPage ssr=SsrMode::Async />
                    <Route path=path!("users/new") view=users::pages::NewUserPage ssr=SsrMode::Async />
                    <Route path=path!("users/find") view=users::pages::FindUserPage ssr=SsrMode::Async />
                    <Route path=path!("users/import") view=users::import_pages::ImportPage ssr=SsrMode::Async />
                    <Route path=path!("users/deletion-requests") view=privacy::pages::DeletionRequestsPage ssr=SsrMode::Async />
                    <Route path=path!("users/imports/:id") view=users::import_pages::ImportReportPage ssr=SsrMode::Async />
                    <Route path=path!("users/:id") view=users::pages::UserPage ssr=SsrMode::Async />
                    <Route path=path!("users/:id/api-keys") view=api_keys::pages::UserApiKeysPage ssr=SsrMode::Async />
                    <Route path=path!("teams") view=teams::pages::TeamsPage ssr=SsrMode::Async />
                    <Route path=path!("teams/:id") view=teams::pages::TeamPage ssr=SsrMode::Async />
                    <Route path=path!("roles") view=roles::pages::RolesPage ssr=SsrMode::Async />
                    <Route path=path!("roles/new") view=roles::pages::NewRolePage ssr=SsrMode::Async />
                    <Route path=path!("roles/explain") view=roles::pages::ExplainPage ssr=SsrMode::Async />
                    <Route path=path!("roles/:id") view=roles::pages::RolePage ssr=SsrMode::Async />
                    <Route path=path!("documents") view=documents::pages::DocumentsPage ssr=SsrMode::Async />
                    <Route path=path!("documents/:id") view=documents::pages::DocumentPage ssr=SsrMode::Async />
                    <Route path=path!("audit") view=audit::pages::AuditPage ssr=SsrMode::Async />
                    <Route path=path!("audit/verify") view=audit::pages::VerifyPage ssr=SsrMode::Async />
                    <Route path=path!("audit/:id") view=audit::pages::EventPage ssr=SsrMode::Async />
                    <Route path=path!("tenants") view=tenants::pages::TenantsPage ssr=SsrMode::Async />
                    <Route path=path!("tenants/new") view=tenants::pages::NewTenantPage ssr=SsrMode::Async />
                    <Route path=path!("tenants/:id") view=tenants::pages::TenantPage ssr=SsrMode::Async />
                    <Route path=path!("access-log") view=access_log::pages::AccessLogPage ssr=SsrMode::Async />
                    <Route path=path!("account/password") view=account::pages::ChangePasswordPage ssr=SsrMode::Async />
                    <Route path=path!("account/two-factor") view=account::pages::TwoFactorPage ssr=SsrMode::Async />
                    <Route path=path!("account/api-keys") view=api_keys::pages::ApiKeysPage ssr=SsrMode::Async />
                    <Route path=path!("account/privacy") view=privacy::pages::PrivacyPage ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The browser entry point: attaches to the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
