//! Pages under the console. Each view's page is wrapped in [`ViewGate`],
//! which refuses with a 403 page when the user's roles do not grant the view.
//! This module holds the gate, the overview, and the 403 and 404 pages.

use crate::authz;
use crate::components::{FlashNotice, FlashResource, PageHeader, CARD, HEADING, LINK};
use crate::authz::View;
use crate::nav::MeResource;
use leptos::prelude::*;
use leptos_meta::Title;

/// Renders its children only when the signed-in user may open `view`;
/// otherwise a 403 page.
#[component]
pub fn ViewGate(view: View, children: ChildrenFn) -> impl IntoView {
    let me = expect_context::<MeResource>().0;
    let flash = use_context::<FlashResource>();
    view! {
        <Transition fallback=|| ()>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    // Forms read what a failed post typed from the flash: have it first.
                    if let Some(flash) = flash {
                        let _ = flash.0.await;
                    }
                    match me.await {
                        Ok(Some(me)) if me.may_view(view) => view! { <FlashNotice /> {children()} }.into_any(),
                        Ok(Some(me)) => view! { <Forbidden view tenant=me.tenant.name /> }.into_any(),
                        _ => ().into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let figures = Resource::new(|| (), move |_| gated(me, authz::View::Overview, crate::dashboard::dashboard()));
    view! {
        <ViewGate view=authz::View::Overview>
            <Title text="Overview" />
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let figures = figures.await.ok();
                    me.0.await.ok().flatten().map(|me| {
                        let first_name = me.display_name.split_whitespace().next().unwrap_or_default().to_string();
                        let entries: Vec<_> = me.menu.iter().flat_map(|s| s.entries.clone()).filter(|e| e.view != "overview").collect();
                        view! {
                            <PageHeader title="Overview" purpose="The state of your organisation at a glance." />
                            <div class="space-y-6" data-testid="view-overview">
                                {figures.map(|f| view! { <Figures f /> })}
                                <div class="grid gap-4 md:grid-cols-3">
                                    <section class=format!("{CARD} md:col-span-2")>
                                        <h2 class="text-lg font-semibold">"Welcome back, " {first_name}</h2>
                                        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                                            "You are signed in to " <strong>{me.tenant.name.clone()}</strong>
                                            " as " {me.email.clone()} "."
                                        </p>
                                        <ul class="mt-4 grid gap-2 sm:grid-cols-2">
                                            {entries.into_iter().map(|e| view! {
                                                <li>
                                                    <a href=e.path class="block rounded-md border border-slate-200 px-4 py-3 text-sm font-medium hover:border-indigo-300 hover:bg-indigo-50 dark:border-slate-700 dark:hover:border-indigo-500/50 dark:hover:bg-indigo-500/10">
                                                        {e.label}
                                                    </a>
                                                </li>
                                            }).collect_view()}
                                        </ul>
                                    </section>
                                    <section class=CARD>
                                        <h2 class="text-sm font-semibold text-slate-500 dark:text-slate-400">"Your access"</h2>
                                        <dl class="mt-3 space-y-2 text-sm">
                                            <div class="flex justify-between"><dt>"Views"</dt><dd class="font-medium">{me.views.len()}</dd></div>
                                            <div class="flex justify-between"><dt>"Permissions"</dt><dd class="font-medium">{me.permissions.len()}</dd></div>
                                            <div class="flex justify-between"><dt>"Organisation"</dt><dd class="font-mono text-xs">{me.tenant.slug.clone()}</dd></div>
                                        </dl>
                                    </section>
                                </div>
                            </div>
                        }
                    })
                })}
            </Transition>
        </ViewGate>
    }
}

/// The tenant's figures: what the user may read of them.
#[component]
fn Figures(f: crate::dashboard::Figures) -> impl IntoView {
    let stat = |label: &'static str, value: String, href: &'static str, testid: &'static str| view! {
        <a href=href class=format!("{CARD} block hover:border-indigo-300 dark:hover:border-indigo-500/50") data-testid=testid>
            <p class="text-sm text-slate-500 dark:text-slate-400">{label}</p>
            <p class="mt-1 text-3xl font-semibold tabular-nums">{value}</p>
        </a>
    };
    let users = f.users.clone().map(|rows| {
        let live: i64 = rows.iter().filter(|(s, _)| s != "deleted").map(|(_, n)| n).sum();
        view! {
            <div class=format!("{CARD}") data-testid="users-by-status">
                <a href="/users" class="text-sm text-slate-500 hover:text-indigo-600 dark:text-slate-400">"People"</a>
                <p class="mt-1 text-3xl font-semibold tabular-nums">{live}</p>
                <ul class="mt-2 flex flex-wrap gap-x-3 gap-y-1 text-xs text-slate-600 dark:text-slate-300">
                    {rows.into_iter().map(|(status, n)| view! {
                        <li><a href=format!("/users?status={status}") class="hover:underline" data-testid=format!("users-{status}")>{format!("{n} {status}")}</a></li>
                    }).collect_view()}
                </ul>
            </div>
        }
    });
    let documents = f.documents.map(|n| stat("Documents", n.to_string(), "/documents", "documents-count"));
    let today = f.events_today.map(|n| stat("Events today", n.to_string(), "/audit", "events-today"));
    let chart = f.activity.clone().map(|days| view! {
        <section class=CARD aria-labelledby="activity-heading">
            <div class="flex items-baseline justify-between">
                <h2 id="activity-heading" class=HEADING>"Activity, last 30 days"</h2>
                <a href="/audit" class=format!("{LINK} text-sm")>"Audit log →"</a>
            </div>
            <div class="mt-3"><crate::dashboard::pages::ActivityChart days /></div>
        </section>
    });
    view! {
        <div class="grid gap-4 sm:grid-cols-3">{users}{documents}{today}</div>
        {chart}
    }
}

/// The 403 page: says what was refused and what to do, and sets the status.
#[component]
pub fn Forbidden(view: View, tenant: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        crate::ssr::set_status(403);
        crate::authz::ssr::record_view_denial(view);
    }
    let title = view.title();
    view! {
        <Title text="No access" />
        <div class=format!("{CARD} max-w-xl") data-testid="forbidden" role="alert">
            <p class="text-sm font-semibold text-red-600 dark:text-red-400">"403 · No access"</p>
            <h1 class="mt-2 text-xl font-semibold">"You cannot open " {title}</h1>
            <p class="mt-2 text-sm text-slate-600 dark:text-slate-300">
                "None of your roles in " {tenant} " grants this view. If you need it, ask an owner or administrator of your organisation."
            </p>
            <a href="/" class="mt-4 inline-block text-sm font-medium text-indigo-600 hover:text-indigo-500 dark:text-indigo-400">"Back to the overview"</a>
        </div>
    }
}

/// The 404 page (the server sets the status for unknown routes).
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::ssr::set_status(404);
    crate::mark_hydrated();
    view! {
        <Title text="Not found" />
        <main class="mx-auto max-w-xl px-4 py-24 text-center" data-testid="not-found">
            <p class="text-sm font-semibold text-indigo-600 dark:text-indigo-400">"404"</p>
            <h1 class="mt-2 text-2xl font-semibold">"There is nothing at this address"</h1>
            <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">"It may have moved, or you may not have access to it."</p>
            <a href="/" class="mt-6 inline-block text-sm font-medium text-indigo-600 hover:text-indigo-500 dark:text-indigo-400">"Go to the overview"</a>
        </main>
    }
}

/// Runs a page's data call only when the signed-in user may open `view`:
/// a refused page fetches nothing (and records one denial, not two).
pub async fn gated<T>(me: MeResource, view: View, call: impl std::future::Future<Output = Result<T, crate::error::AppError>>) -> Result<T, crate::error::AppError> {
    match me.0.await {
        Ok(Some(m)) if m.may_view(view) => call.await,
        Ok(Some(_)) => Err(crate::error::AppError::Forbidden),
        _ => Err(crate::error::AppError::Unauthenticated),
    }
}
