//! Platform staff's tenant screens: the list, a new tenant with its first
//! owner, and a tenant's page (settings, suspend, delete, act inside).

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
pub fn TenantsPage() -> impl IntoView {
    let query = use_query_map();
    let me = expect_context::<MeResource>();
    let params = move || {
        let q = query.read();
        TenantQuery { q: q.get("q").unwrap_or_default(), status: q.get("status").unwrap_or_default(), after: q.get("after").unwrap_or_default() }
    };
    let list = Resource::new(params, move |p| crate::pages::gated(me, authz::View::Tenants, list_tenants(p)));
    let act = ServerAction::<ActInTenant>::new();
    // Rebuilt when the status filter turns to or from "Deleted" only, so a
    // search keeps the reason typed.
    let deleted_only = Memo::new(move |_| params().status == "deleted");
    view! {
        <ViewGate view=authz::View::Tenants>
            <Title text="Tenants" />
            <PageHeader title="Tenants" purpose="Every organisation on this platform.">
                {me.may(Perm::TenantCreate).then(|| view! { <a href="/tenants/new" class=BUTTON data-testid="new-tenant">"New tenant"</a> })}
            </PageHeader>
            <Form method="GET" action="/tenants" attr:class="mb-4 flex flex-wrap items-end gap-3" attr:role="search">
                <div class="min-w-[16rem] flex-1">
                    <label for="q" class=LABEL>"Search"</label>
                    <input id="q" name="q" type="search" value=move || params().q placeholder="Name or short name contains…" class=INPUT />
                </div>
                <div>
                    <label for="status" class=LABEL>"Status"</label>
                    <select id="status" name="status" class=SELECT>
                        {[("", "Live"), ("active", "Active"), ("suspended", "Suspended"), ("deleted", "Deleted")].into_iter().map(|(v, l)| {
                            view! { <option value=v selected=move || params().status == v>{l}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <button type="submit" class=BUTTON>"Apply"</button>
            </Form>
            {move || (!deleted_only.get() && me.may(Perm::SupportCrossTenant)).then(|| view! { <ActInsideReason act /> })}
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let p = params();
                    match list.await {
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(list) => {
                            let may_act = me.may(Perm::SupportCrossTenant);
                            let next = list.next.clone().map(|after| format!("/tenants{}", query_string(&[("q", &p.q), ("status", &p.status), ("after", &after)])));
                            view! {
                                <DataTable testid="tenant-table" columns=&["Organisation", "Short name", "Status", "Plan", "Modules", ""]>
                                            {list.rows.into_iter().map(|t| { let (shown, open) = (t.shown_status(), may_act && t.open_to_staff()); view! {
                                                <tr data-testid="tenant-row">
                                                    <td><a href=format!("/tenants/{}", t.id) class=LINK>{t.name}</a></td>
                                                    <td class="font-mono text-xs">{t.slug.clone()}</td>
                                                    <td><StatusBadge status=shown /></td>
                                                    <td>{t.plan}</td>
                                                    <td class="text-slate-500 dark:text-slate-400">{t.modules.join(", ")}</td>
                                                    <td class="text-right">
                                                        {open.then(|| view! {
                                                            <button type="submit" form=ACT_FORM name="slug" value=t.slug.clone() class=BUTTON_SECONDARY data-testid="act-inside" aria-label=format!("Act inside {}", t.slug)>"Act inside"</button>
                                                        })}
                                                    </td>
                                                </tr>
                                            }}).collect_view()}
                                        </DataTable>
                                <nav class="mt-4 flex justify-end text-sm" aria-label="Pages">
                                    {next.map(|href| view! { <a href=href class=LINK>"Next page →"</a> })}
                                </nav>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

fn module_boxes(selected: Vec<String>) -> impl IntoView {
    view! {
        <fieldset class="space-y-1">
            <legend class=LABEL>"Modules"</legend>
            {OPTIONAL_MODULES.iter().map(|(key, label)| {
                let checked = selected.iter().any(|m| m == key);
                let id = format!("module-{key}");
                view! {
                    <div class="flex items-center gap-2 text-sm">
                        <input type="checkbox" id=id.clone() name="modules[]" value=*key checked=checked class="h-4 w-4 rounded border-slate-300" />
                        <label for=id>{*label}</label>
                    </div>
                }
            }).collect_view()}
        </fieldset>
    }
}

fn plan_options() -> Vec<(String, String)> {
    PLANS.iter().map(|(k, l)| (k.to_string(), l.to_string())).collect()
}

#[component]
pub fn NewTenantPage() -> impl IntoView {
    let action = ServerAction::<CreateTenant>::new();
    view! {
        <ViewGate view=authz::View::Tenants>
            <Title text="New tenant" />
            <PageHeader title="New tenant" purpose="An organisation, its roles and modules, and its first owner." />
            <div class=format!("{CARD} max-w-xl")>
                {move || action.value().get().and_then(|r| r.ok()).map(|created| view! {
                    <div class="mb-4 space-y-2">
                        {created.temporary_password.map(|p| view! { <OneTimePassword password=p whom="the owner" /> })}
                        <p class="text-sm"><a href="/tenants" class=LINK>"Back to tenants"</a></p>
                    </div>
                })}
                <ActionForm action attr:class="space-y-2" attr:data-testid="new-tenant-form">
                    {outcome(action, "Tenant created.")}
                    <Field name="name" label="Organisation name" autocomplete="off" error=field_error(action, "name") />
                    <Field name="slug" label="Short name" autocomplete="off" hint="Used to sign in: a-z, digits and hyphens." error=field_error(action, "slug") />
                    <SelectField name="plan" label="Plan" options=plan_options() selected="standard" error=field_error(action, "plan") />
                    {module_boxes(vec!["documents".into(), "audit".into()])}
                    <p class="min-h-[1.25rem] text-sm text-red-600 dark:text-red-400" data-testid="modules-error">{move || field_error(action, "modules").get()}</p>
                    <h2 class=format!("{HEADING} pt-2")>"First owner"</h2>
                    <Field name="owner_name" label="Owner's name" autocomplete="off" error=field_error(action, "owner_name") />
                    <Field name="owner_email" label="Owner's email" kind="email" autocomplete="off" error=field_error(action, "owner_email") />
                    <div class="flex gap-2 pt-2">
                        <button type="submit" class=BUTTON data-testid="create-tenant">"Create tenant"</button>
                        <a href="/tenants" class=BUTTON_SECONDARY>"Cancel"</a>
                    </div>
                </ActionForm>
            </div>
        </ViewGate>
    }
}

#[component]
pub fn TenantPage() -> impl IntoView {
    let params = use_params_map();
    let me = expect_context::<MeResource>();
    let id = move || params.read().get("id").and_then(|id| id.parse::<crate::ids::TenantId>().ok());
    let update = ServerAction::<UpdateTenant>::new();
    let suspend = ServerAction::<SuspendTenant>::new();
    let reactivate = ServerAction::<ReactivateTenant>::new();
    let delete = ServerAction::<DeleteTenant>::new();
    let restore = ServerAction::<RestoreTenant>::new();
    let changes = (successes(update), successes(suspend), successes(reactivate), successes(delete), successes(restore));
    let tenant = Resource::new(
        move || (id(), changes.0.get() + changes.1.get() + changes.2.get() + changes.3.get() + changes.4.get()),
        move |(id, _)| crate::pages::gated(me, authz::View::Tenants, async move {
            match id {
                Some(id) => get_tenant(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        }),
    );
    view! {
        <ViewGate view=authz::View::Tenants>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tenant.await {
                        Err(crate::error::AppError::NotFound) => view! { <crate::pages::NotFound /> }.into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(t) => {
                            let may = move |p: Perm| me.may(p);
                            let tid = t.row.id;
                            let customer = t.row.kind == crate::status::TenantKind::Customer;
                            let created_at = t.row.created_at.clone();
                            let (deleted, suspended) = (t.row.deleted, t.row.status == crate::status::TenantStatus::Suspended);
                            let shown = t.row.shown_status();
                            let open = t.row.open_to_staff() && may(Perm::SupportCrossTenant);
                            view! {
                                <Title text=t.row.name.clone() />
                                <PageHeader title=t.row.name.clone() purpose=format!("Short name: {}", t.row.slug)>
                                    <StatusBadge status=shown />
                                    {open.then(|| view! {
                                        <ActInside slug=t.row.slug.clone() next="/" label="Act inside" />
                                    })}
                                </PageHeader>
                                <div class="grid gap-6 lg:grid-cols-3">
                                    <div class="space-y-6 lg:col-span-2">
                                        <section class=CARD aria-labelledby="settings-heading">
                                            <h2 id="settings-heading" class=HEADING>"Settings"</h2>
                                            <ActionForm action=update attr:class="mt-3 space-y-2" attr:data-testid="tenant-form">
                                                {outcome(update, "Tenant saved.")}
                                                {reload_on_conflict(update)}
                                                <input type="hidden" name="tenant_id" value=tid.to_string() />
                                                <input type="hidden" name="version" value=t.version.to_string() />
                                                <Field name="name" label="Organisation name" value=t.row.name.clone() error=field_error(update, "name") />
                                                <SelectField name="plan" label="Plan" options=plan_options() selected=t.row.plan.clone() error=field_error(update, "plan") />
                                                {customer.then(|| module_boxes(t.row.modules.clone()))}
                                                <Field name="brand_colour" label="Brand colour" value=t.brand_colour.clone() optional=true hint="Like #4f46e5." error=field_error(update, "brand_colour") />
                                                {may(Perm::TenantUpdate).then(|| view! { <button type="submit" class=BUTTON>"Save settings"</button> })}
                                            </ActionForm>
                                        </section>
                                        <section class=CARD aria-labelledby="history-heading">
                                            <h2 id="history-heading" class=HEADING>"History"</h2>
                                            <History rows=t.history.clone() />
                                        </section>
                                    </div>
                                    <section class=format!("{CARD} space-y-3") aria-labelledby="status-heading">
                                        <h2 id="status-heading" class=HEADING>"Status"</h2>
                                        {outcome(suspend, "Tenant suspended.")}
                                        {outcome(reactivate, "Tenant reactivated.")}
                                        {outcome(delete, "Tenant deleted.")}
                                        {outcome(restore, "Tenant restored.")}
                                        <p class="text-sm text-slate-600 dark:text-slate-300">"Created " {created_at} "."</p>
                                        <div class="flex flex-wrap gap-2">
                                            {(customer && !deleted && !suspended && may(Perm::TenantSuspend)).then(|| view! {
                                                <Confirm label="Suspend" question="Suspend this tenant? Its members are signed out and cannot sign in until it is reactivated.">
                                                    <ActionForm action=suspend>
                                                        <input type="hidden" name="tenant_id" value=tid.to_string() />
                                                        <button type="submit" class=BUTTON_DANGER data-testid="confirm-suspend-tenant">"Yes, suspend"</button>
                                                    </ActionForm>
                                                </Confirm>
                                            })}
                                            {(customer && !deleted && suspended && may(Perm::TenantSuspend)).then(|| view! {
                                                <ActionForm action=reactivate>
                                                    <input type="hidden" name="tenant_id" value=tid.to_string() />
                                                    <button type="submit" class=BUTTON_SECONDARY>"Reactivate"</button>
                                                </ActionForm>
                                            })}
                                            {(customer && !deleted && may(Perm::TenantDelete)).then(|| view! {
                                                <Confirm label="Delete" question="Delete this tenant? Its members are signed out. You can restore it later.">
                                                    <ActionForm action=delete>
                                                        <input type="hidden" name="tenant_id" value=tid.to_string() />
                                                        <button type="submit" class=BUTTON_DANGER data-testid="confirm-delete-tenant">"Yes, delete"</button>
                                                    </ActionForm>
                                                </Confirm>
                                            })}
                                            {(customer && deleted && may(Perm::TenantDelete)).then(|| view! {
                                                <ActionForm action=restore>
                                                    <input type="hidden" name="tenant_id" value=tid.to_string() />
                                                    <button type="submit" class=BUTTON_SECONDARY>"Restore"</button>
                                                </ActionForm>
                                            })}
                                        </div>
                                    </section>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

/// The id of the tenants list's one "act inside" form: each row's button
/// names it (`form=`) and sends its tenant's short name as the submitter's
/// value, so fifty rows carry fifty buttons and not fifty forms.
const ACT_FORM: &str = "act-inside";

/// The tenants list's reason for acting inside, asked once for the page.
/// Works without JavaScript too: a button's `form` and `name`/`value` are
/// plain HTML, and Leptos' `ActionForm` adds the submitter's pair.
#[component]
fn ActInsideReason(act: ServerAction<ActInTenant>) -> impl IntoView {
    view! {
        <ActionForm action=act attr:id=ACT_FORM attr:class=format!("{CARD} mb-4 max-w-xl space-y-1") attr:data-testid="act-inside-form">
            // Enter in the reason field submits with the form's default
            // button, which is the first in tree order: this disabled one,
            // so Enter acts inside no one (the rows' buttons come later).
            <button type="submit" disabled=true class="hidden" aria-hidden="true" tabindex="-1"></button>
            <input type="hidden" name="next" value="/" />
            <Field name="reason" label="Reason for acting inside" autocomplete="off" minlength=5u32 maxlength=300u32
                hint="A ticket number or a sentence, then Act inside on the organisation's row. It is recorded in its audit log and the platform's; your access ends by itself after a while."
                error=field_error(act, "reason") />
            // Anything else, such as a suspended tenant, is about the row
            // chosen and not the reason: said here in words.
            {move || act.value().with(|v| match v {
                Some(Err(e)) if e.field("reason").is_none() => Some(view! {
                    <p role="alert" data-testid="form-error" class=ALERT>{e.field("slug").unwrap_or_else(|| e.to_string())}</p>
                }),
                _ => None,
            })}
        </ActionForm>
    }
}

/// "Act inside" a tenant: a disclosure asking why (the reason is required
/// and kept in both audit logs), then the switch. The field's id carries
/// the short name, unique on pages that list several tenants; each has its
/// own action, so one row's refusal is said in that row alone.
#[component]
pub fn ActInside(
    #[prop(into)] slug: String,
    #[prop(into)] next: String,
    #[prop(into)] label: String,
) -> impl IntoView {
    let act = ServerAction::<ActInTenant>::new();
    let id = format!("act-reason-{slug}");
    // The reason's error, or the tenant's (suspended, say): the short
    // name is a hidden field, so its message is said here too.
    let (reason, tenant) = (field_error(act, "reason"), field_error(act, "slug"));
    let error = move || reason.get().or_else(|| tenant.get());
    view! {
        <Confirm label=label question="Why are you acting inside this organisation? Give a ticket number or a sentence: it is recorded in its audit log and the platform's. Your access ends by itself after a while.">
            <ActionForm action=act attr:class="space-y-2">
                <input type="hidden" name="slug" value=slug.clone() />
                <input type="hidden" name="next" value=next />
                <label for=id.clone() class=LABEL>"Reason"</label>
                <input id=id name="reason" required=true minlength="5" maxlength="300" class=INPUT data-testid="act-reason" />
                {move || error().map(|m| view! { <p role="alert" class="text-sm text-red-600 dark:text-red-400">{m}</p> })}
                <button type="submit" class=BUTTON data-testid="act-inside" aria-label=format!("Act inside {slug}")>"Act inside"</button>
            </ActionForm>
        </Confirm>
    }
}
