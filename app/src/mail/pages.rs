use crate::authz;
use super::server::list_sent_mail;
use super::*;
use crate::components::*;
use crate::nav::MeResource;
use crate::pages::ViewGate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SentMailPage() -> impl IntoView {
    let query = use_query_map();
    let me = expect_context::<MeResource>();
    let params = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        MailQuery { status: get("status"), to: get("to"), tenant: get("tenant"), after: get("after") }
    };
    let list = Resource::new(params, move |p| crate::pages::gated(me, authz::View::SentMail, list_sent_mail(p)));
    view! {
        <ViewGate view=authz::View::SentMail>
            <Title text="Sent mail" />
            <PageHeader title="Sent mail" purpose="Every message Steward queued: security notices and, later, invitations and reset links. Without an SMTP server (STEWARD_SMTP_URL) this is where they are delivered." />
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let p = params();
                    let result = list.await;
                    let status_error = result.as_ref().err().and_then(|e| e.field("status"));
                    let (status, to, tenant) = (p.status.clone(), p.to.clone(), p.tenant.clone());
                    let filters = view! {
                        <Form method="GET" action="/mail" attr:class="mb-4 grid gap-3 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-3 dark:border-slate-800 dark:bg-slate-900" attr:role="search" attr:data-testid="mail-filters">
                            <Field name="status" label="Status" value=status optional=true hint="queued, sent or failed" error=status_error />
                            <Field name="to" label="To" value=to optional=true hint="part of the address" />
                            <Field name="tenant" label="Organisation" value=tenant optional=true hint="short name" />
                            <div class="flex items-end gap-2 sm:col-span-3">
                                <button type="submit" class=BUTTON>"Apply"</button>
                                <a href="/mail" class=BUTTON_SECONDARY>"Clear"</a>
                            </div>
                        </Form>
                    };
                    let body = match result {
                        Ok(list) => {
                            let first = (!p.after.is_empty()).then(|| format!("/mail{}", query_string(&p.filters())));
                            let next = list.next.clone().map(|after| {
                                let mut pairs: Vec<(&str, &str)> = p.filters().to_vec();
                                pairs.push(("after", &after));
                                format!("/mail{}", query_string(&pairs))
                            });
                            let empty = list.rows.is_empty();
                            view! {
                                <MailRows rows=list.rows />
                                {empty.then(|| view! { <p class="p-6 text-center text-sm text-slate-500 dark:text-slate-400" data-testid="no-mail">"No messages match."</p> })}
                                <Pager first next first_label="← Newest" next_label="Older messages →" />
                            }
                            .into_any()
                        }
                        Err(e) if e.field("status").is_some() => ().into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT data-testid="form-error">{e.field("after").unwrap_or_else(|| e.to_string())}</p> }.into_any(),
                    };
                    view! { {filters} {body} }
                })}
            </Transition>
        </ViewGate>
    }
}

#[component]
fn MailRows(rows: Vec<MailRow>) -> impl IntoView {
    view! {
        <DataTable testid="mail-table" columns=&["Queued (UTC)", "To", "Message", "Status", "Organisation"]>
            {rows.into_iter().map(|r| {
                let outcome = match r.status.as_str() {
                    "sent" => format!("{} by {}", r.sent_at, if r.via == "smtp" { "SMTP" } else { "the outbox" }),
                    "queued" if r.attempts > 0 => format!("attempt {} failed; next at {}", r.attempts, r.next_attempt_at),
                    "queued" => "waiting to be sent".to_string(),
                    _ => format!("gave up after {} attempt{}", r.attempts, if r.attempts == 1 { "" } else { "s" }),
                };
                let error = (!r.last_error.is_empty()).then(|| r.last_error.clone());
                view! {
                    <tr data-testid="mail-row" data-mail-id=r.id.clone()>
                        <td class="whitespace-nowrap font-mono text-xs">{r.queued_at}</td>
                        <td class="text-xs">
                            <div>{r.to_name}</div>
                            <div class="font-mono text-slate-500 dark:text-slate-400">{r.to_address}</div>
                        </td>
                        <td class="text-sm">
                            <details>
                                <summary class="cursor-pointer" data-testid="mail-subject">{r.subject}</summary>
                                <pre class="mt-2 max-w-xl whitespace-pre-wrap rounded bg-slate-50 p-3 font-sans text-xs text-slate-800 dark:bg-slate-950 dark:text-slate-200" data-testid="mail-body">{r.body_text}</pre>
                            </details>
                            <div class="font-mono text-xs text-slate-500 dark:text-slate-400">{r.kind}</div>
                        </td>
                        <td class="text-xs">
                            <StatusBadge status=r.status />
                            <div class="mt-1 text-slate-500 dark:text-slate-400">{outcome}</div>
                            {error.map(|e| view! { <div class="mt-1 text-red-700 dark:text-red-400" data-testid="mail-error">{e}</div> })}
                        </td>
                        <td class="text-xs">{r.tenant}</td>
                    </tr>
                }
            }).collect_view()}
        </DataTable>
    }
}
