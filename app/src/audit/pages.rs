//! The audit screens: the event list (filters, keyset pages, exports), an
//! event's page (its change field by field, its neighbours), and the check
//! of the tenant's hash chain.

use crate::authz::{self, Perm};
use super::*;
use crate::components::*;
use crate::nav::MeResource;
use crate::pages::ViewGate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let me = expect_context::<MeResource>();
    let params = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        AuditQuery {
            actor: get("actor"),
            action: get("action"),
            entity_type: get("entity_type"),
            entity_id: get("entity_id"),
            from: get("from"),
            to: get("to"),
            ip: get("ip"),
            request_id: get("request_id"),
            after: get("after"),
        }
    };
    let list = Resource::new(params, move |p| crate::pages::gated(me, authz::View::Audit, list_events(p)));
    let filters = move || {
        let p = params();
        query_string(&p.filters())
    };
    view! {
        <ViewGate view=authz::View::Audit>
            <Title text="Audit log" />
            <PageHeader title="Audit log" purpose="Who did what, when and from where. Events cannot be changed; the chain check shows they were not.">
                <a href="/audit/verify" class=BUTTON_SECONDARY data-testid="verify-chain">"Check the chain"</a>
                {me.may(Perm::AuditExport).then(|| view! {
                    <a href=move || format!("/audit/export.csv{}", filters()) rel="external" download="audit.csv" class=BUTTON_SECONDARY data-testid="export-csv">"Export CSV"</a>
                    <a href=move || format!("/audit/export.jsonl{}", filters()) rel="external" download="audit.jsonl" class=BUTTON_SECONDARY data-testid="export-jsonl">"Export JSON lines"</a>
                })}
            </PageHeader>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let p = params();
                    match list.await {
                        Ok(list) => view! { <EventTable list p /> }.into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT data-testid="form-error">{e.field("ip").or(e.field("from")).or(e.field("to")).or(e.field("after")).unwrap_or_else(|| e.to_string())}</p> }.into_any(),
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

fn text_filter(name: &'static str, label: &'static str, value: String, placeholder: &'static str) -> impl IntoView {
    view! {
        <div>
            <label for=name class=LABEL>{label}</label>
            <input id=name name=name type="text" value=value placeholder=placeholder class=INPUT />
        </div>
    }
}

#[component]
fn EventTable(list: EventList, p: AuditQuery) -> impl IntoView {
    let mut kinds: Vec<String> = list.actions.iter().filter_map(|a| a.split_once('.').map(|(k, _)| format!("{k}."))).collect();
    kinds.dedup();
    let action_options: Vec<(String, String)> = kinds
        .into_iter()
        .map(|k| (k.clone(), format!("{k}* (all)")))
        .chain(list.actions.iter().map(|a| (a.clone(), a.clone())))
        .collect();
    let type_options: Vec<(String, String)> = list.entity_types.iter().map(|t| (t.clone(), t.clone())).collect();
    let first = (!p.after.is_empty()).then(|| format!("/audit{}", query_string(&p.filters())));
    let next = list.next.clone().map(|after| {
        let mut pairs: Vec<(&str, &str)> = p.filters().to_vec();
        pairs.push(("after", &after));
        format!("/audit{}", query_string(&pairs))
    });
    let empty = list.rows.is_empty();
    view! {
        <Form method="GET" action="/audit" attr:class="mb-4 grid gap-3 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-2 lg:grid-cols-4 dark:border-slate-800 dark:bg-slate-900" attr:role="search" attr:data-testid="audit-filters">
            {text_filter("actor", "Actor's email", p.actor.clone(), "name@example.com")}
            <FilterSelect name="action" label="Action" options=action_options selected=p.action.clone() empty="Any action" />
            <FilterSelect name="entity_type" label="Entity type" options=type_options selected=p.entity_type.clone() empty="Any type" />
            {text_filter("entity_id", "Entity id", p.entity_id.clone(), "")}
            <div>
                <label for="from" class=LABEL>"From"</label>
                <input id="from" name="from" type="date" value=p.from.clone() class=INPUT />
            </div>
            <div>
                <label for="to" class=LABEL>"To"</label>
                <input id="to" name="to" type="date" value=p.to.clone() class=INPUT />
            </div>
            {text_filter("ip", "Address", p.ip.clone(), "203.0.113.7 or 203.0.113.0/24")}
            {text_filter("request_id", "Request", p.request_id.clone(), "")}
            <div class="flex items-end gap-2 lg:col-span-4">
                <button type="submit" class=BUTTON>"Apply"</button>
                <a href="/audit" class=BUTTON_SECONDARY>"Clear"</a>
            </div>
        </Form>
        <EventRows rows=list.rows testid="event-table" />
        {empty.then(|| view! { <p class="p-6 text-center text-sm text-slate-500 dark:text-slate-400" data-testid="no-events">"No events match."</p> })}
        <Pager first next first_label="← Newest" next_label="Older events →" />
    }
}

/// Events as a table, each linking to its page.
#[component]
fn EventRows(rows: Vec<EventRow>, testid: &'static str) -> impl IntoView {
    if rows.is_empty() && testid != "event-table" {
        return view! { <p class="text-sm text-slate-500 dark:text-slate-400" data-testid=testid>"None."</p> }.into_any();
    }
    view! {
        <DataTable testid=testid columns=&["When", "Actor", "Action", "Entity", "Changed", "Address"]>
                    {rows.into_iter().map(|e| view! {
                        <tr data-testid="event-row">
                            <td class="whitespace-nowrap"><a href=format!("/audit/{}", e.id) class=LINK>{e.occurred_at}</a></td>
                            <td>{e.actor}</td>
                            <td><code class="font-mono text-xs">{e.action}</code></td>
                            <td class="text-xs">
                                {match entity_link(&e.entity_type, &e.entity_id) {
                                    Some(href) => view! { <a href=href class=LINK>{e.entity_type.clone()}</a> }.into_any(),
                                    None => view! { <span>{e.entity_type.clone()}</span> }.into_any(),
                                }}
                            </td>
                            <td class="text-xs text-slate-600 dark:text-slate-300">{e.fields}</td>
                            <td class="font-mono text-xs text-slate-500 dark:text-slate-400">{e.ip}</td>
                        </tr>
                    }).collect_view()}
                </DataTable>
    }
    .into_any()
}

#[component]
pub fn EventPage() -> impl IntoView {
    let params = use_params_map();
    let me = expect_context::<MeResource>();
    let id = move || params.read().get("id").and_then(|id| id.parse::<uuid::Uuid>().ok());
    let event = Resource::new(id, move |id| {
        crate::pages::gated(me, authz::View::Audit, async move {
            match id {
                Some(id) => get_event(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        })
    });
    view! {
        <ViewGate view=authz::View::Audit>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match event.await {
                        Err(crate::error::AppError::NotFound) => view! { <crate::pages::NotFound /> }.into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(d) => view! { <EventView d /> }.into_any(),
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

#[component]
fn EventView(d: EventDetail) -> impl IntoView {
    let e = d.event.clone();
    let entity_events = format!("/audit{}", query_string(&[("entity_type", &e.entity_type), ("entity_id", &e.entity_id)]));
    let request_events = format!("/audit{}", query_string(&[("request_id", &d.request_id)]));
    let facts: Vec<(&'static str, String)> = vec![
        ("When", e.occurred_at.clone()),
        ("Actor", if d.from_platform { format!("{} (from the platform)", e.actor) } else { e.actor.clone() }),
        ("Address", e.ip.clone()),
        ("Browser", d.user_agent.clone()),
        ("Request", d.request_id.clone()),
        ("Number in the chain", e.seq.to_string()),
    ];
    let empty_diff = d.diff.is_empty();
    view! {
        <Title text=format!("{} · audit", e.action) />
        <PageHeader title=e.action.clone() purpose=format!("{} {}", e.entity_type, e.entity_id)>
            {d.entity_link.clone().map(|href| view! { <a href=href class=BUTTON_SECONDARY data-testid="entity-link">"Open the entity"</a> })}
            <a href="/audit" class=BUTTON_SECONDARY>"All events"</a>
        </PageHeader>
        <div class="grid gap-6 lg:grid-cols-3">
            <div class="space-y-6 lg:col-span-2">
                <section class=CARD aria-labelledby="diff-heading">
                    <h2 id="diff-heading" class=HEADING>"What changed"</h2>
                    <table class=format!("{TABLE} mt-3") data-testid="diff">
                        <thead>
                            <tr>
                                <th scope="col" class=TH>"Field"</th>
                                <th scope="col" class=TH>"Before"</th>
                                <th scope="col" class=TH>"After"</th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                            {d.diff.iter().cloned().map(|row| {
                                let changed = row.changed();
                                let cell = |v: Option<String>, colour: &'static str| view! {
                                    <td class=format!("font-mono text-xs break-all {}", if changed { colour } else { "text-slate-500 dark:text-slate-400" })>
                                        {v.unwrap_or_else(|| "—".into())}
                                    </td>
                                };
                                view! {
                                    <tr data-testid="diff-row" data-changed=changed.to_string()>
                                        <th scope="row" class="px-3 py-2 align-top text-left font-medium">{row.field.clone()}</th>
                                        {cell(row.before.clone(), "bg-red-50 text-red-800 dark:bg-red-950/40 dark:text-red-300")}
                                        {cell(row.after.clone(), "bg-emerald-50 text-emerald-800 dark:bg-emerald-950/40 dark:text-emerald-300")}
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    {empty_diff.then(|| view! { <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">"This event records an action, not a change of fields."</p> })}
                </section>
                <section aria-labelledby="entity-events-heading">
                    <div class="mb-2 flex items-baseline justify-between">
                        <h2 id="entity-events-heading" class=HEADING>"Other events of this entity"</h2>
                        {(!e.entity_id.is_empty()).then(|| view! { <a href=entity_events class=format!("{LINK} text-sm") data-testid="entity-events">"All of them →"</a> })}
                    </div>
                    <EventRows rows=d.same_entity.clone() testid="same-entity" />
                </section>
                <section aria-labelledby="request-events-heading">
                    <div class="mb-2 flex items-baseline justify-between">
                        <h2 id="request-events-heading" class=HEADING>"Other events of the same request"</h2>
                        {(!d.request_id.is_empty()).then(|| view! { <a href=request_events class=format!("{LINK} text-sm") data-testid="request-events">"As a list →"</a> })}
                    </div>
                    <EventRows rows=d.same_request.clone() testid="same-request" />
                </section>
            </div>
            <section class=format!("{CARD} h-fit") aria-labelledby="facts-heading">
                <h2 id="facts-heading" class=HEADING>"Event"</h2>
                <dl class="mt-3 space-y-2 text-sm">
                    {facts.into_iter().map(|(k, v)| view! {
                        <div><dt class="text-xs text-slate-500 dark:text-slate-400">{k}</dt><dd class="break-all">{if v.is_empty() { "—".to_string() } else { v }}</dd></div>
                    }).collect_view()}
                    <div><dt class="text-xs text-slate-500 dark:text-slate-400">"Hash"</dt><dd class="break-all font-mono text-xs" data-testid="hash">{d.hash.clone()}</dd></div>
                    <div><dt class="text-xs text-slate-500 dark:text-slate-400">"Previous hash"</dt><dd class="break-all font-mono text-xs">{if d.prev_hash.is_empty() { "— (the first event)".to_string() } else { d.prev_hash.clone() }}</dd></div>
                </dl>
            </section>
        </div>
    }
}

#[component]
pub fn VerifyPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let start = ServerAction::<StartChainCheck>::new();
    let started = successes(start);
    let check = Resource::new(move || started.get(), move |_| crate::pages::gated(me, authz::View::Audit, verify_audit_chain()));
    view! {
        <ViewGate view=authz::View::Audit>
            <Title text="Audit chain" />
            <PageHeader title="Audit chain" purpose="Each event's hash covers the one before it: an event changed, removed or slipped in afterwards breaks the chain here.">
                <a href="/audit" class=BUTTON_SECONDARY>"All events"</a>
            </PageHeader>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Checking the chain…"</p> }>
                {move || Suspend::new(async move {
                    match check.await {
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(c) => {
                            let running = c.running_since.is_some();
                            view! {
                                <div class="max-w-2xl space-y-4">
                                    {c.running_since.clone().map(|since| view! {
                                        <leptos_meta::Meta http_equiv="refresh" content="2" />
                                        <div class=CARD data-testid="chain-running" role="status">
                                            <p class="font-semibold">"Checking the chain…"</p>
                                            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">{format!("Started at {since}. Each event it checks is read and hashed again (about 12 seconds a million); this page refreshes itself.")}</p>
                                        </div>
                                    })}
                                    {c.last.clone().map(|s| view! { <ChainResult s /> })}
                                    <ActionForm action=start>
                                        {outcome(start, "")}
                                        <div class="flex flex-wrap gap-2">
                                            <button type="submit" name="every" value="false" class=BUTTON_SECONDARY disabled=running data-testid="check-again">"Check new events"</button>
                                            <button type="submit" name="every" value="true" class=BUTTON_SECONDARY disabled=running data-testid="check-every">"Check every event"</button>
                                        </div>
                                        <p class="mt-2 text-xs text-slate-500 dark:text-slate-400">"Checking new events starts after the last event a check found intact, and sees any event added after it changed or removed. Only checking every event sees an older event changed or removed in the database; that runs every day by itself, and after a break is found every check walks every event until the chain is whole again."</p>
                                    </ActionForm>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

#[component]
fn ChainResult(s: ChainStatus) -> impl IntoView {
    let cut = s.cut_before.clone().map(|c| view! {
        <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">"Events before " {c} " were removed by the retention policy; the chain is checked from the first event kept."</p>
    });
    let when = format!("Checked at {}, in {} ms.", s.finished_at, s.took_ms);
    let scope = if s.from_seq == 0 {
        "every event, from the first".to_string()
    } else {
        format!("the events after number {}, which an earlier check found intact", s.from_seq)
    };
    let every = match (&s.every_at, s.from_seq) {
        (_, 0) => None,
        (Some(at), _) => Some(format!("Every event was last found intact at {at}.")),
        (None, _) => Some("No check of every event has found the chain intact yet.".to_string()),
    }
    .map(|text| view! { <p class="mt-1 text-xs text-slate-500 dark:text-slate-400" data-testid="chain-every">{text}</p> });
    match s.broken {
        None => view! {
            <div class=CARD data-testid="chain-intact">
                <p class="text-lg font-semibold text-emerald-700 dark:text-emerald-400">"The chain is intact"</p>
                <p class="mt-1 text-sm" data-testid="chain-scope">{format!("{} events checked ({scope}); every hash matches.", s.checked)}</p>
                <p class="mt-1 text-xs text-slate-500 dark:text-slate-400">{when}</p>
                {every}
                {cut}
            </div>
        }.into_any(),
        Some(ChainBreak { id, seq, at, reason }) => view! {
            <div class=format!("{CARD} border-red-300 dark:border-red-800") data-testid="chain-broken" role="alert">
                <p class="text-lg font-semibold text-red-700 dark:text-red-400">"The chain is broken"</p>
                <p class="mt-1 text-sm">{match (id, at) {
                    (Some(_), Some(at)) => format!("Event number {seq} ({at}) does not match: {reason}. The {} events checked before it ({scope}) are intact.", s.checked),
                    _ => format!("After event number {seq}: {reason}. The {} events checked ({scope}) are intact.", s.checked),
                }}</p>
                {id.map(|id| view! { <a href=format!("/audit/{id}") class=format!("{LINK} mt-2 inline-block text-sm")>"Open that event"</a> })}
                <p class="mt-1 text-xs text-slate-500 dark:text-slate-400">{when}</p>
                {cut}
            </div>
        }.into_any(),
    }
}
