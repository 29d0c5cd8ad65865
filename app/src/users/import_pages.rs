//! The import screens: the upload form with the latest imports, and an
//! import's report (progress while it runs, then every refused row).

use crate::authz;
use super::*;
use crate::components::*;
use crate::nav::MeResource;
use crate::pages::ViewGate;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn ImportPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let query = use_query_map();
    let error = Signal::derive(move || query.read().get("error"));
    let recent = Resource::new(|| (), move |_| crate::pages::gated(me, authz::View::Users, list_imports()));
    view! {
        <ViewGate view=authz::View::Users>
            <Title text="Import users" />
            <PageHeader title="Import users" purpose="Create many accounts from a CSV file. Valid rows go in; each refused row is reported with its reason." />
            <div class="grid gap-6 lg:grid-cols-3">
                <section class=format!("{CARD} space-y-3") aria-labelledby="upload-heading">
                    <h2 id="upload-heading" class=HEADING>"Upload"</h2>
                    // A plain multipart post: the server answers with the report page.
                    <form method="post" action="/users/imports" enctype="multipart/form-data" class="space-y-2" data-testid="import-form">
                        <div class="space-y-1">
                            <label for="file" class=LABEL>"CSV file"</label>
                            <input id="file" name="file" type="file" accept=".csv,text/csv" required
                                aria-invalid=move || error.get().is_some().to_string() aria-describedby="file-error"
                                class="block w-full text-sm file:mr-3 file:rounded-md file:border-0 file:bg-slate-100 file:px-3 file:py-2 file:text-sm file:font-medium dark:file:bg-slate-800" />
                            <p id="file-error" class="min-h-[1.25rem] text-sm text-red-600 dark:text-red-400" data-testid="file-error">{move || error.get()}</p>
                        </div>
                        <label class="flex items-start gap-2 text-sm">
                            <input type="checkbox" name="invite" value="on" class="mt-1" data-testid="import-invite" />
                            <span>"Invite each person by email: they choose their own password with the link (it works for "
                                {crate::auth::INVITATION_DAYS} " days), and are pending until then."</span>
                        </label>
                        <button type="submit" class=BUTTON data-testid="start-import">"Import"</button>
                    </form>
                    <div class="text-sm text-slate-600 dark:text-slate-400 space-y-1">
                        <p>"The first line names the columns: " <code>"email"</code> ", " <code>"name"</code> " and, if you like, " <code>"role"</code> " (a role's name)."</p>
                        <p>{format!("Up to {} MB. Without invitations, imported people have no password yet: send each a reset link from their page.", IMPORT_MAX_BYTES / (1024 * 1024))}</p>
                        <pre class="mt-2 rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">"email,name,role\nann@example.com,Ann Example,Member"</pre>
                    </div>
                </section>
                <section class=format!("{CARD} lg:col-span-2") aria-labelledby="recent-heading">
                    <h2 id="recent-heading" class=HEADING>"Latest imports"</h2>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let rows = recent.await.unwrap_or_default();
                            let empty = rows.is_empty();
                            view! {
                                <table class=format!("{TABLE} mt-3")>
                                    <thead><tr>
                                        <th scope="col" class=TH>"File"</th>
                                        <th scope="col" class=TH>"Started"</th>
                                        <th scope="col" class=TH>"Created"</th>
                                        <th scope="col" class=TH>"Refused"</th>
                                        <th scope="col" class=TH>"State"</th>
                                    </tr></thead>
                                    <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                                        {rows.into_iter().map(|i| view! {
                                            <tr>
                                                <td><a href=format!("/users/imports/{}", i.id) class=LINK>{i.file_name}</a></td>
                                                <td>{format!("{} by {}", i.started, i.started_by)}</td>
                                                <td>{i.created}</td>
                                                <td>{i.failed_count}</td>
                                                <td>{i.state}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                {empty.then(|| view! { <p class="p-4 text-center text-sm text-slate-500 dark:text-slate-400">"No imports yet."</p> })}
                            }
                        })}
                    </Transition>
                </section>
            </div>
        </ViewGate>
    }
}

#[component]
pub fn ImportReportPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<uuid::Uuid>().ok());
    let report = Resource::new(id, move |id| crate::pages::gated(me, authz::View::Users, async move {
        match id {
            Some(id) => get_import(id).await,
            None => Err(crate::error::AppError::NotFound),
        }
    }));
    view! {
        <ViewGate view=authz::View::Users>
            <Title text="Import" />
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match report.await {
                        Err(crate::error::AppError::NotFound) => view! { <crate::pages::NotFound /> }.into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(r) => {
                            let running = r.state == "running";
                            let percent = if r.total > 0 { r.processed * 100 / r.total } else { 100 };
                            let more = r.failed_count as usize > r.failed.len();
                            view! {
                                // While it runs, the page reloads itself: with JavaScript or without.
                                {running.then(|| view! { <Meta http_equiv="refresh" content="2" /> })}
                                <PageHeader title=format!("Import of {}", r.file_name) purpose=format!("Started {} by {}.", r.started, r.started_by)>
                                    <a href="/users/import" class=BUTTON_SECONDARY>"Import another file"</a>
                                    <a href="/users" class=BUTTON_SECONDARY>"Back to users"</a>
                                </PageHeader>
                                <section class=format!("{CARD} space-y-3") data-testid="import-report" data-state=r.state.clone()>
                                    <div class="flex items-center justify-between text-sm">
                                        <span data-testid="import-progress">{format!("{} of {} rows processed", r.processed, r.total)}</span>
                                        <StatusBadge status=r.state.clone() />
                                    </div>
                                    // A native progress bar: no inline style, which the
                                    // Content-Security-Policy would refuse.
                                    <progress class="h-2 w-full overflow-hidden rounded accent-indigo-600" max="100" value=percent.to_string() aria-label="Import progress">
                                        {format!("{percent}%")}
                                    </progress>
                                    <p class="text-sm" data-testid="import-summary">
                                        {match r.state.as_str() {
                                            "running" => format!("Working… {} created, {} refused so far.", r.created, r.failed_count),
                                            "interrupted" => format!("Cut off after {} rows (Steward restarted): {} created, {} refused. The rows after it were not imported: import them again in a new file.", r.processed, r.created, r.failed_count),
                                            "failed" => format!("Stopped by an error on Steward's side after {} rows: {} created, {} refused. The rows after it were not imported.", r.processed, r.created, r.failed_count),
                                            _ => format!("Finished: {} created, {} refused.", r.created, r.failed_count),
                                        }}
                                    </p>
                                </section>
                                {(!r.failed.is_empty()).then(|| view! {
                                    <section class=format!("{CARD} mt-6") aria-labelledby="refused-heading">
                                        <h2 id="refused-heading" class=HEADING>"Refused rows"</h2>
                                        <p class="text-sm text-slate-600 dark:text-slate-400">"Nothing of these rows was imported. Correct them in the file and import just those lines again."</p>
                                        <table class=format!("{TABLE} mt-3") data-testid="import-failures">
                                            <thead><tr>
                                                <th scope="col" class=TH>"Line"</th>
                                                <th scope="col" class=TH>"Email"</th>
                                                <th scope="col" class=TH>"Reason"</th>
                                            </tr></thead>
                                            <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                                                {r.failed.iter().cloned().map(|f| view! {
                                                    <tr data-testid="import-failure">
                                                        <td>{f.line}</td>
                                                        <td>{f.email}</td>
                                                        <td>{f.reason}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                        {more.then(|| view! { <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">{format!("Showing the first {} of {} refused rows.", r.failed.len(), r.failed_count)}</p> })}
                                    </section>
                                })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </ViewGate>
    }
}
