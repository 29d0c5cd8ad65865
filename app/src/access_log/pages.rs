use crate::authz;
use super::server::list_access_log;
use super::*;
use crate::components::*;
use crate::nav::MeResource;
use crate::pages::ViewGate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AccessLogPage() -> impl IntoView {
    let query = use_query_map();
    let me = expect_context::<MeResource>();
    let params = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        AccessQuery {
            status: get("status"),
            route: get("route"),
            tenant: get("tenant"),
            slower_than: get("slower_than"),
            after: get("after"),
        }
    };
    let list = Resource::new(params, move |p| crate::pages::gated(me, authz::View::AccessLog, list_access_log(p)));
    view! {
        <ViewGate view=authz::View::AccessLog>
            <Title text="Access log" />
            <PageHeader title="Access log" purpose="Every request the servers answered: route, status, time taken, and who asked. Kept for the days set with --access-log-days." />
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let p = params();
                    let result = list.await;
                    let status_error = result.as_ref().err().and_then(|e| e.field("status"));
                    let slow_error = result.as_ref().err().and_then(|e| e.field("slower_than"));
                    let (status, route, tenant, slower) = (p.status.clone(), p.route.clone(), p.tenant.clone(), p.slower_than.clone());
                    let filters = view! {
                        <Form method="GET" action="/access-log" attr:class="mb-4 grid gap-3 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-2 lg:grid-cols-4 dark:border-slate-800 dark:bg-slate-900" attr:role="search" attr:data-testid="access-filters">
                            <Field name="status" label="Status" value=status optional=true hint="2xx … 5xx, or a code" error=status_error />
                            <Field name="route" label="Route" value=route optional=true hint="e.g. /users/{id}" />
                            <Field name="tenant" label="Organisation" value=tenant optional=true hint="short name" />
                            <Field name="slower_than" label="Slower than (ms)" value=slower optional=true error=slow_error />
                            <div class="flex items-end gap-2 lg:col-span-4">
                                <button type="submit" class=BUTTON>"Apply"</button>
                                <a href="/access-log" class=BUTTON_SECONDARY>"Clear"</a>
                            </div>
                        </Form>
                    };
                    let body = match result {
                        Ok(list) => {
                            let first = (!p.after.is_empty()).then(|| format!("/access-log{}", query_string(&p.filters())));
                            let next = list.next.clone().map(|after| {
                                let mut pairs: Vec<(&str, &str)> = p.filters().to_vec();
                                pairs.push(("after", &after));
                                format!("/access-log{}", query_string(&pairs))
                            });
                            let empty = list.rows.is_empty();
                            view! {
                                <AccessRows rows=list.rows />
                                {empty.then(|| view! { <p class="p-6 text-center text-sm text-slate-500 dark:text-slate-400" data-testid="no-requests">"No requests match."</p> })}
                                <Pager first next first_label="← Newest" next_label="Older requests →" />
                            }
                            .into_any()
                        }
                        Err(e) if e.field("status").is_some() || e.field("slower_than").is_some() => ().into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT data-testid="form-error">{e.field("after").unwrap_or_else(|| e.to_string())}</p> }.into_any(),
                    };
                    view! { {filters} {body} }
                })}
            </Transition>
        </ViewGate>
    }
}

#[component]
fn AccessRows(rows: Vec<AccessRow>) -> impl IntoView {
    view! {
        <DataTable testid="access-table" columns=&["When (UTC)", "Request", "Status", "Time", "Organisation", "User", "Request id"] right=&["Time"]>
                    {rows.into_iter().map(|r| {
                        let tone = match r.status {
                            500.. => "text-red-700 dark:text-red-400 font-semibold",
                            400..=499 => "text-amber-700 dark:text-amber-400",
                            _ => "text-slate-700 dark:text-slate-300",
                        };
                        let audit = (!r.request_id.is_empty()).then(|| format!("/audit{}", query_string(&[("request_id", &r.request_id)])));
                        view! {
                            <tr data-testid="access-row">
                                <td class="whitespace-nowrap font-mono text-xs">{r.at}</td>
                                <td class="text-xs">
                                    <code class="font-mono">{r.method}" "{r.path}</code>
                                    <div class="text-slate-500 dark:text-slate-400">{r.route}</div>
                                </td>
                                <td class=format!("font-mono text-xs {tone}")>{r.status}</td>
                                <td class="text-right font-mono text-xs">{format!("{:.1} ms", r.latency_ms)}</td>
                                <td class="text-xs">{r.tenant}</td>
                                <td class="font-mono text-xs text-slate-500 dark:text-slate-400">{r.user_id.chars().take(8).collect::<String>()}</td>
                                <td class="font-mono text-xs">
                                    {match audit {
                                        Some(href) => view! { <a href=href class=LINK title="This request's audit events (in your organisation)">{r.request_id.chars().take(13).collect::<String>()}</a> }.into_any(),
                                        None => view! { <span></span> }.into_any(),
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </DataTable>
    }
}
