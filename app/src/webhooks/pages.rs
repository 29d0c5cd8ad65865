//! The area's pages: the organisation's endpoints (`/settings/webhooks`)
//! and one endpoint with its deliveries (`/settings/webhooks/{id}`).

use super::*;
use crate::authz::View;
use crate::components::*;
use crate::error::AppError;
use crate::nav::MeResource;
use crate::pages::ViewGate;
use leptos::prelude::*;
use leptos_meta::Title;

const MUTED: &str = "text-sm text-slate-500 dark:text-slate-400";

/// The state of an endpoint in words.
fn state(e: &EndpointRow) -> String {
    match (e.status.as_str(), e.paused_reason.as_str()) {
        ("active", _) if !e.failing_since.is_empty() => format!("active, failing since {}", e.failing_since),
        ("active", _) => "active".into(),
        (_, "failing") => "paused: it failed for a day".into(),
        (_, "maker") => "paused: whoever made it no longer may manage webhooks".into(),
        _ => "paused".into(),
    }
}

/// `/settings/webhooks`: the endpoints, a form to make one (its secret is
/// shown once), and pausing, resuming and deleting them.
#[component]
pub fn WebhooksPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let create = ServerAction::<CreateWebhook>::new();
    let pause = ServerAction::<PauseWebhook>::new();
    let resume = ServerAction::<ResumeWebhook>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let changes = (successes(create), successes(pause), successes(resume), successes(delete));
    let list = Resource::new(
        move || (changes.0.get(), changes.1.get(), changes.2.get(), changes.3.get()),
        move |_| crate::pages::gated(me, View::Settings, list_webhooks()),
    );
    let error = move |name: &'static str| field_error(create, name);
    view! {
        <ViewGate view=View::Settings>
            <Title text="Webhooks" />
            <PageHeader title="Webhooks" purpose="Steward posts your organisation's audit events to the addresses you give, as they happen, signed so that the receiver can check they came from here.">
                <a href="/settings" class=BUTTON_QUIET>"Back to settings"</a>
            </PageHeader>
            <div class="space-y-6">
                <section class=format!("{CARD} max-w-3xl") aria-labelledby="new-webhook-heading">
                    <h2 id="new-webhook-heading" class=HEADING>"New endpoint"</h2>
                    {move || create.value().get().and_then(|r| r.ok()).map(|made| view! {
                        <div role="status" class=format!("{NOTICE} mt-3 space-y-1") data-testid="new-webhook">
                            <p>"Copy the signing secret now: it is not shown again. Each delivery carries the header "
                               <code>"Steward-Signature: t=<time>,v1=<HMAC-SHA256 of \"<time>.<body>\">"</code>
                               " made with it."</p>
                            <p class="font-mono break-all" data-testid="webhook-secret">{made.secret}</p>
                        </div>
                    })}
                    {move || create.value().get().and_then(|r| r.err()).filter(|e| !matches!(e, AppError::Validation(_))).map(|e| view! { <p role="alert" class=ALERT data-testid="form-error">{e.to_string()}</p> })}
                    <ActionForm action=create attr:class="mt-3 space-y-4">
                        <Field name="url" label="Address" hint="An https:// address on the public internet." error=error("url") />
                        <Field name="actions" label="Events" hint="Audit actions, separated by commas: user.create, role.*, or * for every event." error=error("actions") />
                        <Field name="description" label="Description" optional=true hint="What receives them, such as \"SIEM\"." error=error("description") />
                        <button type="submit" class=BUTTON data-testid="create-webhook">"Add endpoint"</button>
                    </ActionForm>
                </section>
                <section class=CARD aria-labelledby="webhooks-heading">
                    <h2 id="webhooks-heading" class=HEADING>"Endpoints"</h2>
                    {outcome(pause, "Endpoint paused.")}
                    {outcome(resume, "Endpoint resumed: its waiting deliveries are sent now.")}
                    {outcome(delete, "Endpoint deleted.")}
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match list.await {
                                Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                                Ok(rows) if rows.is_empty() => view! { <p class=format!("mt-2 {MUTED}")>"No endpoints yet."</p> }.into_any(),
                                Ok(rows) => view! {
                                    <DataTable testid="webhooks" columns=&["Address", "Events", "State", "Last success", "Waiting", ""] class="mt-3">
                                        {rows.into_iter().map(|e| {
                                            let (id, delete_id) = (e.id.to_string(), e.id.to_string());
                                            let paused = e.status == "paused";
                                            view! {
                                                <tr data-testid="webhook-row">
                                                    <td>
                                                        <a class=format!("{LINK} break-all") href=format!("/settings/webhooks/{}", e.id)>{e.url.clone()}</a>
                                                        <p class=MUTED>{e.description.clone()}</p>
                                                    </td>
                                                    <td class="font-mono text-xs">{e.actions.join(" ")}</td>
                                                    <td data-testid="webhook-state">{state(&e)}</td>
                                                    <td>{if e.last_success_at.is_empty() { "never".to_string() } else { e.last_success_at.clone() }}</td>
                                                    <td>{e.queued}</td>
                                                    <td class="whitespace-nowrap">
                                                        {if paused {
                                                            view! {
                                                                <ActionForm action=resume attr:class="inline">
                                                                    <input type="hidden" name="id" value=id />
                                                                    <button type="submit" class=BUTTON_QUIET data-testid="resume-webhook">"Resume"</button>
                                                                </ActionForm>
                                                            }.into_any()
                                                        } else {
                                                            view! {
                                                                <ActionForm action=pause attr:class="inline">
                                                                    <input type="hidden" name="id" value=id />
                                                                    <button type="submit" class=BUTTON_QUIET data-testid="pause-webhook">"Pause"</button>
                                                                </ActionForm>
                                                            }.into_any()
                                                        }}
                                                        <ActionForm action=delete attr:class="inline">
                                                            <input type="hidden" name="id" value=delete_id />
                                                            <button type="submit" class=BUTTON_QUIET data-testid="delete-webhook">"Delete"</button>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </DataTable>
                                }.into_any(),
                            }
                        })}
                    </Transition>
                </section>
            </div>
        </ViewGate>
    }
}

/// `/settings/webhooks/{id}`: one endpoint and its deliveries, newest
/// first, with the receiver's answers; a given-up delivery can be sent
/// again.
#[component]
pub fn WebhookPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let params = leptos_router::hooks::use_params_map();
    let query = leptos_router::hooks::use_query_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<Uuid>().ok()).unwrap_or(Uuid::nil());
    let after = move || query.read().get("after").unwrap_or_default();
    let redeliver = ServerAction::<RedeliverWebhook>::new();
    let again = successes(redeliver);
    let page = Resource::new(move || (id(), after(), again.get()), move |(id, after, _)| crate::pages::gated(me, View::Settings, get_webhook(id, after)));
    view! {
        <ViewGate view=View::Settings>
            <Title text="Webhook" />
            <PageHeader title="Webhook" purpose="Where this endpoint's events go, and what became of each delivery.">
                <a href="/settings/webhooks" class=BUTTON_QUIET>"All endpoints"</a>
            </PageHeader>
            {outcome(redeliver, "Queued again: it is sent at once while the endpoint is active, or when it is resumed.")}
            <Transition fallback=|| view! { <p class=MUTED>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <p role="alert" class=ALERT data-testid="form-error">{e.to_string()}</p> }.into_any(),
                        Ok(EndpointPage { endpoint, deliveries, next }) => {
                            let endpoint_id = endpoint.id.to_string();
                            let here = format!("/settings/webhooks/{endpoint_id}");
                            let first = (!after().is_empty()).then(|| here.clone());
                            let next = next.map(|cursor| format!("{here}{}", query_string(&[("after", &cursor)])));
                            view! {
                                <section class=format!("{CARD} mb-6") data-testid="webhook">
                                    <dl class="grid gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
                                        <dt class="font-medium">"Address"</dt><dd class="break-all" data-testid="webhook-url">{endpoint.url.clone()}</dd>
                                        <dt class="font-medium">"Events"</dt><dd class="font-mono text-xs">{endpoint.actions.join(" ")}</dd>
                                        <dt class="font-medium">"State"</dt><dd data-testid="webhook-state">{state(&endpoint)}</dd>
                                        <dt class="font-medium">"Made"</dt><dd>{format!("{} by {}", endpoint.created_at, if endpoint.created_by.is_empty() { "someone no longer here" } else { &endpoint.created_by })}</dd>
                                        <dt class="font-medium">"Last attempt"</dt><dd>{if endpoint.last_attempt_at.is_empty() { "never".to_string() } else { endpoint.last_attempt_at.clone() }}</dd>
                                    </dl>
                                </section>
                                <section class=CARD aria-labelledby="deliveries-heading">
                                    <h2 id="deliveries-heading" class=HEADING>"Deliveries"</h2>
                                    {if deliveries.is_empty() {
                                        view! { <p class=format!("mt-2 {MUTED}")>"None yet: deliveries appear here as matching events happen."</p> }.into_any()
                                    } else {
                                        let endpoint_id = endpoint_id.clone();
                                        view! {
                                            <DataTable testid="deliveries" columns=&["Queued", "Event", "Outcome", "Attempts", "Answer", ""] class="mt-3">
                                                {deliveries.into_iter().map(|d| {
                                                    let endpoint_id = endpoint_id.clone();
                                                    let outcome = match d.status.as_str() {
                                                        "delivered" => format!("delivered {}", d.delivered_at),
                                                        "failed" => "given up".to_string(),
                                                        "held" => "waiting: the endpoint is paused".to_string(),
                                                        _ if d.attempts == 0 => "waiting".to_string(),
                                                        _ => format!("next attempt {}", d.next_attempt_at),
                                                    };
                                                    let answer = match (d.response_status, d.last_error.is_empty()) {
                                                        (Some(s), _) => format!("HTTP {s}{}", d.duration_ms.map(|ms| format!(" in {ms} ms")).unwrap_or_default()),
                                                        (None, false) => d.last_error.clone(),
                                                        (None, true) => String::new(),
                                                    };
                                                    view! {
                                                        <tr data-testid="delivery-row">
                                                            <td class="whitespace-nowrap">{d.queued_at.clone()}</td>
                                                            <td><a class=format!("{LINK} font-mono text-xs") href=format!("/audit/{}", d.event_id)>{d.action.clone()}</a></td>
                                                            <td data-testid="delivery-status">{outcome}</td>
                                                            <td>{d.attempts}</td>
                                                            <td>
                                                                <p data-testid="delivery-answer">{answer}</p>
                                                                {(d.response_status.is_some() && !d.last_error.is_empty()).then(|| view! { <p class=MUTED>{d.last_error.clone()}</p> })}
                                                                {(!d.response_body.is_empty()).then(|| view! { <pre class="mt-1 max-w-md overflow-x-auto whitespace-pre-wrap break-all text-xs text-slate-500 dark:text-slate-400">{d.response_body.clone()}</pre> })}
                                                            </td>
                                                            <td>
                                                                {(d.status == "delivered" || d.status == "failed").then(move || view! {
                                                                    <ActionForm action=redeliver>
                                                                        <input type="hidden" name="id" value=endpoint_id />
                                                                        <input type="hidden" name="delivery_id" value=d.id.to_string() />
                                                                        <button type="submit" class=BUTTON_QUIET data-testid="redeliver">"Send again"</button>
                                                                    </ActionForm>
                                                                })}
                                                            </td>
                                                        </tr>
                                                    }
                                                }).collect_view()}
                                            </DataTable>
                                        }.into_any()
                                    }}
                                    <Pager first next first_label="← Newest" next_label="Older deliveries →" />
                                </section>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

/// The Settings page's card that leads here, for those who may use it.
#[component]
pub fn WebhooksCard() -> impl IntoView {
    view! {
        <section class=format!("{CARD} mb-6") aria-labelledby="webhooks-card-heading" data-testid="webhooks-card">
            <h2 id="webhooks-card-heading" class=HEADING>"Webhooks"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">"Send your organisation's audit events to another system (a SIEM, a chat, your own service) as they happen."</p>
            <a href="/settings/webhooks" class=format!("{BUTTON_SECONDARY} mt-3") data-testid="manage-webhooks">"Manage webhooks"</a>
        </section>
    }
}
