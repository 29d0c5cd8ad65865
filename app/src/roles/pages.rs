//! The roles screens: the list, a new custom role, a role's page (its
//! permission and view matrix, holders, history) and "explain access".

use crate::authz::{self, Perm};
use super::*;
use crate::components::*;
use crate::nav::MeResource;
use crate::pages::ViewGate;
use leptos::prelude::*;
use leptos_meta::Title;

use leptos_router::hooks::{use_params_map, use_query_map};

const LOADING: &str = "Loading…";

#[component]
pub fn RolesPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let query = use_query_map();
    let deleted = move || query.read().get("deleted").is_some_and(|d| d == "1");
    let roles = Resource::new(deleted, move |deleted| crate::pages::gated(me, authz::View::Roles, list_roles(deleted)));
    view! {
        <ViewGate view=authz::View::Roles>
            <Title text="Roles" />
            <PageHeader title="Roles and permissions" purpose="What each role lets its holders see and do.">
                <a href="/roles/explain" class=BUTTON_SECONDARY data-testid="explain-access-link">"Explain access"</a>
                <a href=move || if deleted() { "/roles" } else { "/roles?deleted=1" } class=BUTTON_SECONDARY>
                    {move || if deleted() { "Live roles" } else { "Deleted roles" }}
                </a>
                {me.may(Perm::RoleManage).then(|| view! { <a href="/roles/new" class=BUTTON data-testid="new-role-link">"New role"</a> })}
            </PageHeader>
            <crate::settings::pages::MfaRequirementCard />
            <crate::settings::pages::ApiKeyLifetimeCard editable=me.may(Perm::RoleManage) />
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">{LOADING}</p> }>
                {move || Suspend::new(async move {
                    match roles.await {
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(rows) => {
                            let empty = rows.is_empty();
                            view! {
                                <DataTable testid="role-table" columns=&["Role", "Kind", "Permissions", "Views", "Held directly by", "Teams"] empty=empty.then_some("No roles here.")>
                                            {rows.into_iter().map(|r| view! {
                                                <tr data-testid="role-row">
                                                    <td>
                                                        <a href=format!("/roles/{}", r.id) class=LINK>{r.name}</a>
                                                        <div class="text-xs text-slate-500 dark:text-slate-400">{r.description}</div>
                                                    </td>
                                                    <td><KindBadge system=r.is_system /></td>
                                                    <td>{r.permissions}</td>
                                                    <td>{r.views}</td>
                                                    <td>{format!("{} {}", r.direct, if r.direct == crate::users::Count::Exact(1) { "person" } else { "people" })}</td>
                                                    <td>{r.teams}</td>
                                                </tr>
                                            }).collect_view()}
                                        </DataTable>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

#[component]
fn KindBadge(system: bool) -> impl IntoView {
    let (text, colour) = if system {
        ("System", "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300")
    } else {
        ("Custom", "bg-indigo-100 text-indigo-800 dark:bg-indigo-900/40 dark:text-indigo-300")
    };
    view! { <span class=format!("inline-flex rounded-full px-2 py-0.5 text-xs font-medium {colour}")>{text}</span> }
}

/// The permission and view checkboxes, one block per module. Boxes the
/// signed-in person could not give are disabled; a disabled box that is
/// checked still submits (through a hidden field), so saving keeps it.
#[component]
fn Matrix(
    groups: Vec<ModuleGroup>,
    permissions: Vec<String>,
    views: Vec<String>,
    editable: bool,
    #[prop(optional, into)] perms_error: Signal<Option<String>>,
    #[prop(optional, into)] views_error: Signal<Option<String>>,
) -> impl IntoView {
    let me = expect_context::<MeResource>();
    let permissions: Vec<String> = kept("perms", permissions.join(" ")).split_whitespace().map(String::from).collect();
    let views: Vec<String> = kept("views", views.join(" ")).split_whitespace().map(String::from).collect();
    let checkbox = move |field: &'static str, key: String, text: String, detail: String, checked: bool, allowed: bool| {
        let text_class = if field == "perms[]" { "font-mono text-xs" } else { "font-medium" };
        let id = format!("{}-{}", if field == "perms[]" { "perm" } else { "view" }, key.replace(':', "-"));
        let disabled = !editable || !allowed;
        let keep = editable && disabled && checked;
        view! {
            <li class="flex items-start gap-2 py-1">
                <input type="checkbox" id=id.clone() name=field value=key.clone() checked=checked disabled=disabled
                    class="mt-0.5 h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-500 disabled:opacity-50 dark:border-slate-600 dark:text-indigo-500" />
                {keep.then(|| view! { <input type="hidden" name=field value=key.clone() /> })}
                <label for=id class="text-sm">
                    <span class=text_class>{text}</span>
                    {(!detail.is_empty()).then(|| view! { <span class="block text-xs text-slate-500 dark:text-slate-400">{detail}</span> })}
                    {(editable && !allowed).then(|| view! { <span class="block text-xs text-amber-700 dark:text-amber-400">"You do not hold this yourself."</span> })}
                </label>
            </li>
        }
    };
    view! {
        <div class="space-y-4" data-testid="role-matrix">
            {move || perms_error.get().map(|e| view! { <p class="text-sm text-red-600 dark:text-red-400" data-testid="perms-error" role="alert">{e}</p> })}
            {move || views_error.get().map(|e| view! { <p class="text-sm text-red-600 dark:text-red-400" data-testid="views-error" role="alert">{e}</p> })}
            {groups.into_iter().map(|g| {
                let view_boxes = g.views.into_iter().map(|(key, title)| {
                    let checked = views.contains(&key);
                    let allowed = me.can_view(&key);
                    checkbox("views[]", key.clone(), title, format!("Menu entry and page ({key})"), checked, allowed)
                }).collect_view();
                let perm_boxes = g.permissions.into_iter().map(|(key, description)| {
                    let checked = permissions.contains(&key);
                    let allowed = me.can(&key);
                    checkbox("perms[]", key.clone(), key, description, checked, allowed)
                }).collect_view();
                view! {
                    <fieldset class="rounded-md border border-slate-200 p-4 dark:border-slate-800" data-testid=format!("module-{}", g.key)>
                        <legend class="px-1 text-sm font-semibold">
                            {g.name}
                            {(!g.enabled).then(|| view! { <span class="ml-2 text-xs font-normal text-amber-700 dark:text-amber-400">"turned off for this organisation"</span> })}
                        </legend>
                        <div class="grid gap-4 sm:grid-cols-3">
                            <div>
                                <h3 class="text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">"Views"</h3>
                                <ul>{view_boxes}</ul>
                            </div>
                            <div class="sm:col-span-2">
                                <h3 class="text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">"Permissions"</h3>
                                <ul class="grid sm:grid-cols-2 sm:gap-x-4">{perm_boxes}</ul>
                            </div>
                        </div>
                    </fieldset>
                }
            }).collect_view()}
        </div>
    }
}

#[component]
pub fn NewRolePage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let query = use_query_map();
    let action = ServerAction::<CreateRole>::new();
    let catalogue = Resource::new(|| (), move |_| crate::pages::gated(me, authz::View::Roles, role_catalogue()));
    // "Copy to a custom role" starts from an existing role's grants.
    let from = Resource::new(
        move || query.read().get("from").and_then(|f| f.parse::<uuid::Uuid>().ok()),
        move |from| async move {
            match from {
                Some(id) => crate::pages::gated(me, authz::View::Roles, get_role(id)).await.ok(),
                None => None,
            }
        },
    );
    view! {
        <ViewGate view=authz::View::Roles>
            <Title text="New role" />
            <PageHeader title="New role" purpose="A custom role: pick the views its holders see and what they may do." />
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">{LOADING}</p> }>
                {move || Suspend::new(async move {
                    let from = from.await;
                    match catalogue.await {
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(groups) => {
                            let (name, description, permissions, views) = match from {
                                Some(r) => (format!("Copy of {}", r.name), r.description, r.permissions, r.views),
                                None => Default::default(),
                            };
                            view! {
                                <ActionForm action attr:class=format!("{CARD} space-y-2") attr:data-testid="new-role-form">
                                    {outcome(action, "Role created.")}
                                    <div class="grid gap-4 sm:grid-cols-2">
                                        <Field name="name" label="Name" value=name autocomplete="off" error=field_error(action, "name") />
                                        <Field name="description" label="Description" value=description optional=true error=field_error(action, "description") />
                                    </div>
                                    <Matrix groups permissions views editable=me.may(Perm::RoleManage) perms_error=field_error(action, "perms") views_error=field_error(action, "views") />
                                    <div class="flex gap-2 pt-2">
                                        {me.may(Perm::RoleManage).then(|| view! { <button type="submit" class=BUTTON data-testid="create-role">"Create role"</button> })}
                                        <a href="/roles" class=BUTTON_SECONDARY>"Back to roles"</a>
                                    </div>
                                </ActionForm>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

#[component]
pub fn RolePage() -> impl IntoView {
    let params = use_params_map();
    let me = expect_context::<MeResource>();
    let id = move || params.read().get("id").and_then(|id| id.parse::<uuid::Uuid>().ok());
    let update = ServerAction::<UpdateRole>::new();
    let delete = ServerAction::<DeleteRole>::new();
    let restore = ServerAction::<RestoreRole>::new();
    let c = (successes(update), successes(delete), successes(restore));
    let role = Resource::new(
        move || (id(), c.0.get() + c.1.get() + c.2.get()),
        move |(id, _)| crate::pages::gated(me, authz::View::Roles, async move {
            match id {
                Some(id) => get_role(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        }),
    );
    let catalogue = Resource::new(|| (), move |_| crate::pages::gated(me, authz::View::Roles, role_catalogue()));
    view! {
        <ViewGate view=authz::View::Roles>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">{LOADING}</p> }>
                {move || Suspend::new(async move {
                    let groups = catalogue.await.unwrap_or_default();
                    match role.await {
                        Err(crate::error::AppError::NotFound) => view! { <crate::pages::NotFound /> }.into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(r) => {
                            let rid = r.id;
                            let manage = me.may(Perm::RoleManage);
                            let editable = manage && !r.is_system && !r.deleted;
                            let (deleted, system) = (r.deleted, r.is_system);
                            view! {
                                <Title text=r.name.clone() />
                                <PageHeader title=r.name.clone() purpose=r.description.clone()>
                                    <KindBadge system=r.is_system />
                                    {deleted.then(|| view! { <StatusBadge status="deleted" /> })}
                                    {(manage && !deleted).then(|| view! {
                                        <a href=format!("/roles/new?from={rid}") class=BUTTON_SECONDARY data-testid="copy-role">"Copy to a new role"</a>
                                    })}
                                </PageHeader>
                                <div class="grid gap-6 lg:grid-cols-3">
                                    <div class="space-y-6 lg:col-span-2">
                                        <ActionForm action=update attr:class=format!("{CARD} space-y-2") attr:data-testid="role-form">
                                            <h2 class=HEADING>"Permissions and views"</h2>
                                            {system.then(|| view! {
                                                <p class="text-sm text-slate-600 dark:text-slate-400" data-testid="system-role-note">
                                                    "A system role is read-only: Steward keeps it the same in every organisation. Copy it to make a role you can change."
                                                </p>
                                            })}
                                            {outcome(update, "Role saved.")}
                                            {reload_on_conflict(update)}
                                            <input type="hidden" name="role_id" value=rid.to_string() />
                                            <input type="hidden" name="version" value=r.version.to_string() />
                                            {editable.then(|| view! {
                                                <div class="grid gap-4 sm:grid-cols-2">
                                                    <Field name="name" label="Name" value=r.name.clone() autocomplete="off" error=field_error(update, "name") />
                                                    <Field name="description" label="Description" value=r.description.clone() optional=true error=field_error(update, "description") />
                                                </div>
                                            })}
                                            <Matrix groups permissions=r.permissions.clone() views=r.views.clone() editable perms_error=field_error(update, "perms") views_error=field_error(update, "views") />
                                            {editable.then(|| view! { <button type="submit" class=BUTTON data-testid="save-role">"Save role"</button> })}
                                        </ActionForm>
                                        <HistoryCard entity_type="role" id=r.id rows=r.history.clone() />
                                    </div>
                                    <div class="space-y-6">
                                        <section class=CARD aria-labelledby="holders-heading">
                                            <h2 id="holders-heading" class=HEADING>"Held by"</h2>
                                            <p class="text-sm text-slate-600 dark:text-slate-400" data-testid="holder-count">
                                                {format!("{} {}, directly or through a team.", r.holder_count, if r.holder_count == crate::users::Count::Exact(1) { "person" } else { "people" })}
                                            </p>
                                            <ul class="mt-3 divide-y divide-slate-100 dark:divide-slate-800" data-testid="role-holders">
                                                {r.holders.iter().cloned().map(|h| view! {
                                                    <li class="py-2 text-sm">
                                                        <a href=format!("/users/{}", h.user_id) class=LINK>{h.name}</a>
                                                        <span class="text-slate-500 dark:text-slate-400">" · " {h.email}</span>
                                                        <span class="block text-xs text-slate-500 dark:text-slate-400">{match h.via_team { Some(t) => format!("through team {t}"), None => "directly".to_string() }}</span>
                                                    </li>
                                                }).collect_view()}
                                            </ul>
                                            {(!r.teams.is_empty()).then(|| view! {
                                                <h3 class="mt-4 text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">"Teams holding it"</h3>
                                                <ul class="mt-1 text-sm" data-testid="role-teams">
                                                    {r.teams.iter().cloned().map(|(tid, name, members)| view! {
                                                        <li class="py-1"><a href=format!("/teams/{tid}") class=LINK>{name}</a> {format!(" · {members} members")}</li>
                                                    }).collect_view()}
                                                </ul>
                                            })}
                                        </section>
                                        {(manage && !system).then(|| view! {
                                            <section class=format!("{CARD} space-y-2")>
                                                {outcome(delete, "Role deleted.")}
                                                {outcome(restore, "Role restored.")}
                                                {(!deleted).then(|| view! {
                                                    <Confirm label="Delete role" question="Delete this role? Everyone holding it, directly or through a team, loses what it gives. You can restore it later.">
                                                        <ActionForm action=delete>
                                                            <input type="hidden" name="role_id" value=rid.to_string() />
                                                            <button type="submit" class=BUTTON_DANGER data-testid="confirm-delete-role">"Yes, delete"</button>
                                                        </ActionForm>
                                                    </Confirm>
                                                })}
                                                {deleted.then(|| view! {
                                                    <ActionForm action=restore>
                                                        <input type="hidden" name="role_id" value=rid.to_string() />
                                                        <button type="submit" class=BUTTON_SECONDARY data-testid="restore-role">"Restore role"</button>
                                                    </ActionForm>
                                                })}
                                            </section>
                                        })}
                                    </div>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

/// "Explain access": a plain GET form, so an answer has an address that
/// can be shared, and it works without JavaScript.
#[component]
pub fn ExplainPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let query = use_query_map();
    let asked = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
        (get("user"), get("email"), get("view"), get("permission"))
    };
    let catalogue = Resource::new(|| (), move |_| crate::pages::gated(me, authz::View::Roles, role_catalogue()));
    let answer = Resource::new(asked, move |(user, email, view, permission)| async move {
        if user.is_none() && email.is_none() && view.is_none() && permission.is_none() {
            return None;
        }
        let user = user.and_then(|u| u.parse().ok());
        Some(crate::pages::gated(me, authz::View::Roles, explain_access(user, email, view, permission)).await)
    });
    view! {
        <ViewGate view=authz::View::Roles>
            <Title text="Explain access" />
            <PageHeader title="Explain access" purpose="Why someone can or cannot open a screen or do an action, and which roles and teams decide it." />
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">{LOADING}</p> }>
                {move || Suspend::new(async move {
                    let groups = catalogue.await.unwrap_or_default();
                    let answer = answer.await;
                    let (_, email, view, permission) = asked();
                    let views: Vec<(String, String)> = groups.iter().flat_map(|g| g.views.iter().map(|(k, t)| (k.clone(), format!("{t} ({k})")))).collect();
                    let permissions: Vec<(String, String)> = groups.iter().flat_map(|g| g.permissions.iter().map(|(k, _)| (k.clone(), k.clone()))).collect();
                    let error = |field: &'static str| {
                        let message = match &answer {
                            Some(Err(e)) => e.field(field),
                            _ => None,
                        };
                        Signal::stored(message)
                    };
                    view! {
                        <div class="grid gap-6 lg:grid-cols-3">
                            <form method="get" action="/roles/explain" class=format!("{CARD} space-y-2") data-testid="explain-form">
                                <Field name="email" label="Person (email)" kind="email" value=email.unwrap_or_default() autocomplete="off" error=error("email") />
                                <SelectField name="view" label="Can they open…" options=views selected=view.unwrap_or_default() empty="(a view)" error=error("view") />
                                <SelectField name="permission" label="…or can they do" options=permissions selected=permission.unwrap_or_default() empty="(an action)" />
                                <button type="submit" class=BUTTON data-testid="explain">"Explain"</button>
                            </form>
                            <section class="lg:col-span-2" aria-live="polite">
                                {match answer {
                                    None => view! { <p class="text-sm text-slate-600 dark:text-slate-400">"Name a person and a view or an action."</p> }.into_any(),
                                    Some(Err(e)) if e.field("email").is_some() || e.field("view").is_some() => ().into_any(),
                                    Some(Err(crate::error::AppError::NotFound)) => view! { <p role="alert" class=ALERT>"No such person, view or action in this organisation."</p> }.into_any(),
                                    Some(Err(e)) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                                    Some(Ok(x)) => view! {
                                        <div class=format!("{CARD} space-y-3") data-testid="explanation">
                                            <p class="text-lg font-semibold" data-testid="verdict">
                                                {if x.allowed { view! { <span class="text-emerald-700 dark:text-emerald-400">"Allowed"</span> } } else { view! { <span class="text-red-700 dark:text-red-400">"Not allowed"</span> } }}
                                            </p>
                                            <p class="text-sm" data-testid="explain-summary">{x.summary.clone()}</p>
                                            <dl class="grid grid-cols-3 gap-2 text-sm">
                                                <dt class="text-slate-500 dark:text-slate-400">"Module"</dt>
                                                <dd class="col-span-2">{format!("{} ({})", x.module, if x.module_enabled { "on" } else { "off" })}</dd>
                                                <dt class="text-slate-500 dark:text-slate-400">"Granted by"</dt>
                                                <dd class="col-span-2">
                                                    <ul>
                                                        {x.grants.iter().cloned().map(|g| view! { <li>{g.role}{g.via_team.map(|t| format!(" (through team {t})"))}</li> }).collect_view()}
                                                        {x.grants.is_empty().then_some(view! { <li>"No role"</li> })}
                                                    </ul>
                                                </dd>
                                            </dl>
                                        </div>
                                    }.into_any(),
                                }}
                            </section>
                        </div>
                    }.into_any()
                })}
            </Transition>
        </ViewGate>
    }
}

