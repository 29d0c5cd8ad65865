//! The console frame: the top bar (tenant, signed-in user, sign out) and the
//! sidebar, whose entries are data: menu items pointing at views, each shown
//! when the tenant has the view's module and one of the user's roles grants
//! the view. Hiding an entry is only courtesy: the page itself refuses
//! (see `pages::ViewGate`).

use crate::authz::Perm;
use crate::auth::{current_user, Me, SignOut};
use crate::components::BUTTON_QUIET;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::use_location;

/// The signed-in person for every page under the console, fetched once per
/// navigation so that a grant change shows on the next page.
#[derive(Clone, Copy)]
pub struct MeResource(pub Resource<Result<Option<Me>, AppError>>);

impl MeResource {
    /// Whether the signed-in user holds `permission` (false while unknown):
    /// for showing controls; the server function decides.
    pub fn may(&self, perm: crate::authz::Perm) -> bool {
        self.0.get_untracked().and_then(|r| r.ok()).flatten().is_some_and(|m| m.may(perm))
    }

    /// [`MeResource::may`] by key, for keys that are data (the role
    /// matrix's catalogue).
    pub fn can(&self, permission: &str) -> bool {
        self.0.get_untracked().and_then(|r| r.ok()).flatten().is_some_and(|m| m.can(permission))
    }

    /// Whether the signed-in user may open the view keyed `view` (false
    /// while unknown), for keys that are data.
    pub fn can_view(&self, view: &str) -> bool {
        self.0.get_untracked().and_then(|r| r.ok()).flatten().is_some_and(|m| m.can_view(view))
    }
}

#[component]
pub fn Console() -> impl IntoView {
    let location = use_location();
    let me = Resource::new_blocking(move || location.pathname.get(), |_| current_user());
    provide_context(MeResource(me));
    // Read once, on the server render: what a form post without JavaScript
    // left for this page.
    let flash = Resource::new_blocking(|| (), |_| crate::components::flash::take_flash());
    provide_context(crate::components::FlashResource(flash));
    // A sign-in the router follows brings no new document: the person's
    // theme, from the cookie the sign-in set, goes on the page here.
    Effect::new(move |_| {
        location.pathname.track();
        #[cfg(feature = "hydrate")]
        crate::status::apply_theme();
    });

    view! {
        <div class="flex min-h-screen flex-col">
            <header class="sticky top-0 z-10 flex h-14 items-center justify-between border-b border-slate-200 bg-white/90 px-4 backdrop-blur dark:border-slate-800 dark:bg-slate-900/90">
                <div class="flex min-w-0 items-center gap-3">
                    <NarrowMenu me />
                    <a href="/" class="flex items-center gap-2 font-semibold tracking-tight">
                        <span class="inline-flex h-7 w-7 items-center justify-center rounded-md bg-indigo-600 text-sm font-bold text-white">"S"</span>
                        <span class="hidden sm:inline">"Steward"</span>
                    </a>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            me.await.ok().flatten().map(|me| view! { <TenantBadge me /> })
                        })}
                    </Transition>
                </div>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match me.await {
                            Ok(Some(me)) => view! { <UserMenu me /> }.into_any(),
                            Ok(None) => view! { <Redirect path="/login" /> }.into_any(),
                            Err(_) => ().into_any(),
                        }
                    })}
                </Transition>
            </header>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.ok().flatten().and_then(|me| me.acting_from.clone().map(|home| view! { <ActingBanner tenant=me.tenant.name.clone() home=home.name until=me.acting_until reason=me.acting_reason.clone().unwrap_or_default() /> }))
                })}
            </Transition>
            <div class="flex flex-1">
                <nav aria-label="Main" data-testid="sidebar" class="hidden w-60 shrink-0 border-r border-slate-200 bg-white px-3 py-4 md:block dark:border-slate-800 dark:bg-slate-900">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            me.await.ok().flatten().map(|me| view! { <Sidebar me narrow=false /> })
                        })}
                    </Transition>
                </nav>
                <main class="min-w-0 flex-1 px-4 py-6 md:px-8">
                    <Outlet />
                </main>
            </div>
        </div>
    }
}

/// The menu on screens too narrow for the sidebar: a `<details>`
/// disclosure in the top bar, so it opens and its links work without
/// JavaScript too. With it, moving to another page closes it.
#[component]
fn NarrowMenu(me: Resource<Result<Option<Me>, AppError>>) -> impl IntoView {
    let location = use_location();
    view! {
        <details
            class="relative md:hidden"
            data-testid="narrow-menu"
            prop:open=move || {
                location.pathname.track();
                false
            }
        >
            <summary class="flex cursor-pointer list-none items-center gap-1 rounded-md border border-slate-300 px-2 py-1 text-sm font-medium hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800">
                <span aria-hidden="true">"☰"</span>
                "Menu"
            </summary>
            <nav aria-label="Main" class="absolute left-0 top-10 z-20 max-h-[80vh] w-72 overflow-y-auto rounded-md border border-slate-200 bg-white px-3 py-4 shadow-lg dark:border-slate-800 dark:bg-slate-900">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().flatten().map(|me| view! { <Sidebar me narrow=true /> })
                    })}
                </Transition>
            </nav>
        </details>
    }
}

#[component]
fn TenantBadge(me: Me) -> impl IntoView {
    let platform = me.tenant.kind == crate::status::TenantKind::Platform;
    view! {
        <span class="hidden text-slate-300 sm:inline dark:text-slate-600">"/"</span>
        {me.brand.clone().filter(|b| b.colour.is_some() || b.logo).map(|brand| view! {
            <crate::components::BrandMark brand=Some(brand) size="h-7 w-7 rounded-md text-sm" logo_size="h-7" />
        })}
        <span data-testid="current-tenant" class="max-w-[9rem] truncate rounded-md bg-slate-100 px-2 py-1 text-sm font-medium sm:max-w-none text-slate-700 dark:bg-slate-800 dark:text-slate-200">
            {me.tenant.name.clone()}
        </span>
        {platform.then(|| view! {
            <span class="rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-800 dark:bg-amber-900/40 dark:text-amber-300">"Platform"</span>
        })}
    }
}

/// Shown on every page while platform staff act inside another tenant.
#[component]
fn ActingBanner(tenant: String, home: String, until: Option<i64>, reason: String) -> impl IntoView {
    let stop = ServerAction::<crate::tenants::StopActing>::new();
    // The time left as the page was made (each page and each hydrated
    // navigation recomputes it); the server ends the access at `until`.
    let left = until.map(|until| {
        let now = chrono_free_now();
        let minutes = ((until - now).max(0) + 59) / 60;
        let at = format!("{:02}:{:02} UTC", (until % 86_400) / 3600, (until % 3600) / 60);
        format!(" Access ends in {minutes} min (at {at}).")
    });
    view! {
        <div role="status" data-testid="acting-banner" class="flex flex-wrap items-center justify-between gap-2 border-b border-amber-300 bg-amber-100 px-4 py-2 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-200">
            <span>"You are acting inside " <strong>{tenant}</strong> " as " {home} " staff, for: " <em>{reason}</em> ". Every change is recorded in its audit log."
                <span data-testid="acting-time-left">{left}</span>
            </span>
            <ActionForm action=stop>
                <button type="submit" class="rounded-md bg-amber-200 px-3 py-1 font-medium hover:bg-amber-300 dark:bg-amber-900 dark:hover:bg-amber-800" data-testid="stop-acting">"Return to the platform"</button>
            </ActionForm>
        </div>
    }
}

/// Platform staff's tenant switcher: a short name, and in they go.
#[component]
fn TenantSwitcher() -> impl IntoView {
    let act = ServerAction::<crate::tenants::ActInTenant>::new();
    view! {
        <ActionForm action=act attr:class="hidden items-center gap-1 lg:flex" attr:data-testid="tenant-switcher">
            <label for="switch-slug" class="sr-only">"Switch to tenant"</label>
            <input id="switch-slug" name="slug" placeholder="Switch to tenant…" required=true class="w-36 rounded-md border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-700 dark:bg-slate-900" />
            <label for="switch-reason" class="sr-only">"Reason"</label>
            <input id="switch-reason" name="reason" placeholder="Reason (ticket…)" required=true minlength="5" maxlength="300" class="w-40 rounded-md border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-700 dark:bg-slate-900" />
            <input type="hidden" name="next" value="/" />
            <button type="submit" class=BUTTON_QUIET>"Go"</button>
            {move || act.value().get().and_then(|r| r.err()).map(|e| view! {
                <span role="alert" class="text-xs text-red-600 dark:text-red-400">{e.field("slug").or_else(|| e.field("reason")).unwrap_or_else(|| e.to_string())}</span>
            })}
        </ActionForm>
    }
}

#[component]
fn UserMenu(me: Me) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let staff = me.platform_home().is_some() && me.may(Perm::SupportCrossTenant);
    view! {
        <div class="flex items-center gap-3">
            {staff.then(|| view! { <TenantSwitcher /> })}
            <a href=crate::auth::CHANGE_PASSWORD_PATH title="Change password" class="hidden rounded-md px-2 py-1 text-right hover:bg-slate-100 sm:block dark:hover:bg-slate-800" data-testid="account-link">
                <div data-testid="current-user" class="text-sm font-medium">{me.display_name.clone()}</div>
                <div class="text-xs text-slate-500 dark:text-slate-400">{me.email.clone()}</div>
            </a>
            <ActionForm action=sign_out>
                <button type="submit" class=format!("{BUTTON_QUIET} whitespace-nowrap") data-testid="sign-out">"Sign out"</button>
            </ActionForm>
        </div>
    }
}

/// The menu's sections and entries: in the sidebar, and (`narrow`) in the
/// top bar's disclosure, whose ids and test ids are its own.
#[component]
fn Sidebar(me: Me, narrow: bool) -> impl IntoView {
    let location = use_location();
    let prefix = if narrow { "narrow-" } else { "" };
    me.menu
        .into_iter()
        .map(|section| {
            let heading_id = format!("{prefix}menu-{}", section.key);
            view! {
                <div class="mb-5" data-testid=format!("{prefix}menu-section-{}", section.key)>
                    <h2 id=heading_id.clone() class="px-3 pb-1 text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">
                        {section.label}
                    </h2>
                    <ul aria-labelledby=heading_id class="space-y-0.5">
                        {section.entries.into_iter().map(|entry| {
                            let path = entry.path.clone();
                            let active = move || {
                                let current = location.pathname.get();
                                if path == "/" { current == "/" } else { current == path || current.starts_with(&format!("{path}/")) }
                            };
                            view! {
                                <li>
                                    <A
                                        href=entry.path.clone()
                                        attr:data-testid=format!("{prefix}nav-{}", entry.view)
                                        attr:class=move || if active() {
                                            "block rounded-md bg-indigo-50 px-3 py-2 text-sm font-medium text-indigo-700 dark:bg-indigo-500/10 dark:text-indigo-300"
                                        } else {
                                            "block rounded-md px-3 py-2 text-sm text-slate-700 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-300 dark:hover:bg-slate-800 dark:hover:text-white"
                                        }
                                    >
                                        {entry.label}
                                    </A>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </div>
            }
        })
        .collect_view()
}

/// Seconds since the Unix epoch, on the server and in the browser alike
/// (no chrono in the browser bundle).
fn chrono_free_now() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        (js_sys_now() / 1000.0) as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }
}

#[cfg(feature = "hydrate")]
fn js_sys_now() -> f64 {
    #[wasm_bindgen::prelude::wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = Date, js_name = now)]
        fn date_now() -> f64;
    }
    date_now()
}
