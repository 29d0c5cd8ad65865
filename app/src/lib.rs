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
pub mod mail;
pub mod error;
pub mod ids;
pub mod nav;
pub mod pages;
pub mod privacy;
pub mod roles;
pub mod settings;
pub mod status;
pub mod system;
pub mod teams;
pub mod tenants;
pub mod users;
pub mod webhooks;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod outbox;
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
use leptos_router::{path, Lazy, SsrMode};

/// The HTML document around the application. Rendered on the server only,
/// so the stylesheet URL (content-hashed by the server build) and the
/// prefix the bundle is loaded from (content-addressed: `/assets/<version>`)
/// are given here.
pub fn shell(options: LeptosOptions, stylesheet: &str, bundle_root: &str) -> impl IntoView {
    // The person's theme, from the cookie their sign-in (or their choice)
    // set: the page is sent in its colours, so nothing flashes.
    #[cfg(feature = "ssr")]
    let theme = crate::ssr::request_cookie(crate::status::THEME_COOKIE).and_then(|t| crate::status::Theme::parse(&t)).unwrap_or(crate::status::Theme::System);
    #[cfg(not(feature = "ssr"))]
    let theme = crate::status::Theme::System;
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme.as_str()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content=theme.color_scheme() />
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

/// The pages in five groups, each group a wasm chunk of its own (`cargo
/// leptos build --split`): the browser loads a group's code when one of its
/// pages is first shown, so a first page needs the shell's code and its
/// group's, not every screen's. A split point per page made hundreds of
/// small shared chunks (a first console page fetched 175 files and
/// hydrated later than the whole bundle did); five groups make a few (see
/// docs/BENCHMARKS.md). The server renders every page as before.
macro_rules! page_groups {
    ($( $load:ident / $preload:ident: $group:ident { $($route:ident => $page:path),* $(,)? } )*) => {
        $(
            #[derive(Clone, Copy)]
            pub enum $group {
                $($route),*
            }

            /// The group's pages: a chunk of its own in the browser.
            #[leptos::lazy]
            fn $load(page: $group) -> AnyView {
                mark_hydrated();
                match page {
                    $($group::$route => $page().into_any(),)*
                }
            }

            $(
                pub struct $route;

                impl leptos_router::LazyRoute for $route {
                    fn data() -> Self {
                        $route
                    }

                    fn view(_: Self) -> impl std::future::Future<Output = AnyView> {
                        $load($group::$route)
                    }

                    async fn preload() {
                        #[cfg(feature = "hydrate")]
                        $preload().await;
                    }
                }
            )*
        )*
    };
}

mod lazy {
    use crate::*;

    page_groups! {
        sign_in_pages / __preload_sign_in_pages: SignInPages {
            SignInRoute => auth::pages::SignInPage,
            MfaCodeRoute => auth::pages::MfaCodePage,
            ForgotPasswordRoute => auth::pages::ForgotPasswordPage,
            PasswordLinkRoute => auth::pages::PasswordLinkPage,
        }
        people_pages / __preload_people_pages: PeoplePages {
            OverviewRoute => pages::OverviewPage,
            UsersRoute => users::pages::UsersPage,
            NewUserRoute => users::pages::NewUserPage,
            InviteRoute => users::pages::InvitePage,
            FindUserRoute => users::pages::FindUserPage,
            ImportRoute => users::import_pages::ImportPage,
            DeletionRequestsRoute => privacy::pages::DeletionRequestsPage,
            ImportReportRoute => users::import_pages::ImportReportPage,
            UserRoute => users::pages::UserPage,
            UserApiKeysRoute => api_keys::pages::UserApiKeysPage,
        }
        access_pages / __preload_access_pages: AccessPages {
            TeamsRoute => teams::pages::TeamsPage,
            TeamRoute => teams::pages::TeamPage,
            RolesRoute => roles::pages::RolesPage,
            NewRoleRoute => roles::pages::NewRolePage,
            ExplainRoute => roles::pages::ExplainPage,
            RoleRoute => roles::pages::RolePage,
        }
        record_pages / __preload_record_pages: RecordPages {
            DocumentsRoute => documents::pages::DocumentsPage,
            DocumentRoute => documents::pages::DocumentPage,
            AuditRoute => audit::pages::AuditPage,
            VerifyRoute => audit::pages::VerifyPage,
            EventRoute => audit::pages::EventPage,
            AccessLogRoute => access_log::pages::AccessLogPage,
        }
        platform_and_account_pages / __preload_platform_and_account_pages: PlatformAndAccountPages {
            TenantsRoute => tenants::pages::TenantsPage,
            NewTenantRoute => tenants::pages::NewTenantPage,
            TenantRoute => tenants::pages::TenantPage,
            ChangePasswordRoute => account::pages::ChangePasswordPage,
            TwoFactorRoute => account::pages::TwoFactorPage,
            AppearanceRoute => account::pages::AppearancePage,
            ApiKeysRoute => api_keys::pages::ApiKeysPage,
            PrivacyRoute => privacy::pages::PrivacyPage,
            SentMailRoute => mail::pages::SentMailPage,
            SystemRoute => system::pages::SystemPage,
            SettingsRoute => settings::pages::SettingsPage,
            WebhooksRoute => webhooks::pages::WebhooksPage,
            WebhookRoute => webhooks::pages::WebhookPage,
        }
    }
}

/// Marks the page hydrated (`<body data-hydrated="true">`) once the view
/// being built has hydrated: effects run only in the browser, after the
/// render that made them. A page's code arrives in its group's chunk, so the
/// mark is made there (and on the not-found page), not by the shell: the
/// browser tests wait for it before they click what needs the wasm.
pub fn mark_hydrated() {
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| if page.is_empty() { "Steward".to_string() } else { format!("{page} · Steward") } />
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/login") view={Lazy::<lazy::SignInRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/login/code") view={Lazy::<lazy::MfaCodeRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/login/forgot") view={Lazy::<lazy::ForgotPasswordRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/login/reset") view={Lazy::<lazy::PasswordLinkRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/login/join") view={Lazy::<lazy::PasswordLinkRoute>::new()} ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=nav::Console ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<lazy::OverviewRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("users") view={Lazy::<lazy::UsersRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("users/new") view={Lazy::<lazy::NewUserRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("users/invite") view={Lazy::<lazy::InviteRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("users/find") view={Lazy::<lazy::FindUserRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("users/import") view={Lazy::<lazy::ImportRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("users/deletion-requests") view={Lazy::<lazy::DeletionRequestsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("users/imports/:id") view={Lazy::<lazy::ImportReportRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("users/:id") view={Lazy::<lazy::UserRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("users/:id/api-keys") view={Lazy::<lazy::UserApiKeysRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("teams") view={Lazy::<lazy::TeamsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("teams/:id") view={Lazy::<lazy::TeamRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("roles") view={Lazy::<lazy::RolesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("roles/new") view={Lazy::<lazy::NewRoleRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("roles/explain") view={Lazy::<lazy::ExplainRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("roles/:id") view={Lazy::<lazy::RoleRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("documents") view={Lazy::<lazy::DocumentsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("documents/:id") view={Lazy::<lazy::DocumentRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("audit") view={Lazy::<lazy::AuditRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("audit/verify") view={Lazy::<lazy::VerifyRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("audit/:id") view={Lazy::<lazy::EventRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("tenants") view={Lazy::<lazy::TenantsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("tenants/new") view={Lazy::<lazy::NewTenantRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("tenants/:id") view={Lazy::<lazy::TenantRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("access-log") view={Lazy::<lazy::AccessLogRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("mail") view={Lazy::<lazy::SentMailRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("system") view={Lazy::<lazy::SystemRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("settings") view={Lazy::<lazy::SettingsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("settings/webhooks") view={Lazy::<lazy::WebhooksRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("settings/webhooks/:id") view={Lazy::<lazy::WebhookRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("account/password") view={Lazy::<lazy::ChangePasswordRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("account/two-factor") view={Lazy::<lazy::TwoFactorRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("account/appearance") view={Lazy::<lazy::AppearanceRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("account/api-keys") view={Lazy::<lazy::ApiKeysRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("account/privacy") view={Lazy::<lazy::PrivacyRoute>::new()} ssr=SsrMode::Async />
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
    leptos::mount::hydrate_lazy(App);
}
