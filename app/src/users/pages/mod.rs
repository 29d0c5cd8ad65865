//! The users screens: the list (search, filters, ordering, keyset pages),
//! a new user, a user's page, and platform staff's search across tenants.

use crate::authz::{self, Perm};
use super::*;
use crate::components::*;
use crate::error::AppError;
use crate::nav::MeResource;
use crate::pages::ViewGate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

mod user;
pub use user::UserPage;

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let me = expect_context::<MeResource>();
    let params = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        UserQuery { q: get("q"), status: get("status"), role: get("role"), team: get("team"), sort: get("sort"), after: get("after") }
    };
    let bulk = ServerAction::<BulkUsers>::new();
    let bulk_done = successes(bulk);
    let list = Resource::new(move || (params(), bulk_done.get()), move |(p, _)| crate::pages::gated(me, authz::View::Users, list_users(p)));
    view! {
        <ViewGate view=authz::View::Users>
            <Title text="Users" />
            <PageHeader title="Users" purpose="Everyone in this organisation: find, invite, edit, suspend, reset passwords.">
                {me.may(Perm::SupportCrossTenant).then(|| view! { <a href="/users/find" class=BUTTON_SECONDARY>"Find in any tenant"</a> })}
                {me.may(Perm::UserRead).then(|| view! { <a href=move || format!("/users/export.csv{}", query_string(&[("q", &params().q), ("status", &params().status), ("role", &params().role), ("team", &params().team), ("sort", &params().sort)])) class=BUTTON_SECONDARY rel="external" download="users.csv">"Export CSV"</a> })}
                {me.may(Perm::UserDelete).then(|| view! { <a href="/users/deletion-requests" class=BUTTON_SECONDARY data-testid="deletion-requests-link">"Deletion requests"</a> })}
                {me.may(Perm::UserCreate).then(|| view! {
                    <a href="/users/import" class=BUTTON_SECONDARY data-testid="import-users">"Import CSV"</a>
                    <a href="/users/new" class=BUTTON_SECONDARY data-testid="new-user">"New user"</a>
                    <a href="/users/invite" class=BUTTON data-testid="invite-user">"Invite"</a>
                })}
            </PageHeader>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let p = params();
                    match list.await {
                        Ok(list) => view! { <UserTable list p bulk /> }.into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

#[component]
fn UserTable(list: UserList, p: UserQuery, bulk: ServerAction<BulkUsers>) -> impl IntoView {
    let me = expect_context::<MeResource>();
    let actions: Vec<(String, String)> = BulkAction::ALL.iter().filter(|a| me.may(a.perm())).map(|a| (a.key().to_string(), a.label().to_string())).collect();
    let selectable = !actions.is_empty();
    // The filter, kept for "everyone matching the filter".
    let kept: Vec<(&str, String)> = vec![("q", p.q.clone()), ("status", p.status.clone()), ("role", p.role.clone()), ("team", p.team.clone())];
    let role_options: Vec<(String, String)> = list.roles.iter().map(|(id, n)| (id.to_string(), n.clone())).collect();
    let team_options: Vec<(String, String)> = list.teams.iter().map(|(id, n)| (id.to_string(), n.clone())).collect();
    let status_options: Vec<(String, String)> = STATUSES.iter().map(|s| (s.to_string(), s.to_string())).collect();
    let sort_options: Vec<(String, String)> = SORTS.iter().map(|(k, l)| (k.to_string(), l.to_string())).collect();
    let next = list.next.clone().map(|after| {
        format!("/users{}", query_string(&[("q", &p.q), ("status", &p.status), ("role", &p.role), ("team", &p.team), ("sort", &p.sort), ("after", &after)]))
    });
    let first = (!p.after.is_empty()).then(|| {
        format!("/users{}", query_string(&[("q", &p.q), ("status", &p.status), ("role", &p.role), ("team", &p.team), ("sort", &p.sort)]))
    });
    let count = list.count;
    let empty = list.rows.is_empty();
    view! {
        <Form method="GET" action="/users" attr:class="mb-4 grid gap-3 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-2 lg:grid-cols-6 dark:border-slate-800 dark:bg-slate-900" attr:role="search" attr:data-testid="user-filters">
            <div class="lg:col-span-2">
                <label for="q" class=LABEL>"Search"</label>
                <input id="q" name="q" type="search" value=p.q.clone() placeholder="Email or name contains…" class=INPUT />
            </div>
            <FilterSelect name="status" label="Status" options=status_options selected=p.status.clone() empty="Any status" />
            <FilterSelect name="role" label="Role" options=role_options selected=p.role.clone() empty="Any role" />
            <FilterSelect name="team" label="Team" options=team_options selected=p.team.clone() empty="Any team" />
            <FilterSelect name="sort" label="Order" options=sort_options selected=p.sort.clone() empty="" />
            <div class="flex items-end gap-2 lg:col-span-6">
                <button type="submit" class=BUTTON>"Apply"</button>
                <a href="/users" class=BUTTON_SECONDARY>"Clear"</a>
                <span class="ml-auto text-sm text-slate-600 dark:text-slate-400" data-testid="user-count">{format!("{count} users")}</span>
            </div>
        </Form>
        <ActionForm action=bulk attr:data-testid="bulk-form">
        {selectable.then(|| {
            let role_choices: Vec<(String, String)> = list.roles.iter().map(|(id, n)| (id.to_string(), n.clone())).collect();
            let team_choices: Vec<(String, String)> = list.teams.iter().map(|(id, n)| (id.to_string(), n.clone())).collect();
            view! {
                <div class="mb-3 flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900" data-testid="bulk-bar">
                    {kept.into_iter().map(|(k, v)| view! {
                        <input type="hidden" name=format!("query[{k}]") value=v />
                    }).collect_view()}
                    <SelectField name="action" label="With the people ticked" options=actions.clone() empty="Choose an action" error=field_error(bulk, "action") />
                    <SelectField name="role_id" label="Role (to grant or remove)" options=role_choices empty="—" error=field_error(bulk, "role_id") />
                    <SelectField name="team_id" label="Team (to add to)" options=team_choices empty="—" error=field_error(bulk, "team_id") />
                    <label class="mb-6 inline-flex items-center gap-2 text-sm">
                        <input type="checkbox" name="all" value="on" data-testid="bulk-all" />
                        {format!("or everyone matching the filter ({count}, {} at most)", crate::users::grouped(BULK_MAX as i64))}
                    </label>
                    <button type="submit" class=format!("{BUTTON} mb-6") data-testid="bulk-apply" disabled=move || bulk.pending().get()>"Apply"</button>
                </div>
                <BulkOutcome bulk />
            }
        })}
        <DataTable testid="user-table" columns=if selectable { SELECTABLE_COLUMNS } else { &SELECTABLE_COLUMNS[1..] } empty=empty.then_some("No users match.") empty_testid="no-users">
                    {list.rows.into_iter().map(|u| { let shown = u.shown_status(); view! {
                        <tr data-testid="user-row">
                            {selectable.then(|| view! {
                                <td><input type="checkbox" name="ids[]" value=u.id.to_string() aria-label=format!("Select {}", u.display_name) data-testid="bulk-select" /></td>
                            })}
                            <td><a href=format!("/users/{}", u.id) class=LINK>{u.display_name}</a></td>
                            <td>{u.email}</td>
                            <td><StatusBadge status=shown /></td>
                            <td class="text-slate-600 dark:text-slate-300">{u.roles}</td>
                            <td class="whitespace-nowrap text-slate-500 dark:text-slate-400">{if u.last_login_at.is_empty() { "never".to_string() } else { u.last_login_at }}</td>
                        </tr>
                    }}).collect_view()}
                </DataTable>
        </ActionForm>
        <Pager first next />
    }
}

const SELECTABLE_COLUMNS: &[&str] = &["Select", "Name", "Email", "Status", "Roles", "Last sign-in"];

/// What a bulk action did: how many, and each person refused with why.
#[component]
fn BulkOutcome(bulk: ServerAction<BulkUsers>) -> impl IntoView {
    move || {
        bulk.value().get().map(|result| match result {
            Ok(report) => view! {
                <div role="status" data-testid="bulk-report" class=format!("{NOTICE} mb-3")>
                    <p>{format!("{} {}.", report.done.len(), report.action.done())}
                        {(!report.unchanged.is_empty()).then(|| format!(" {} had nothing to change.", report.unchanged.len()))}</p>
                    {(!report.refused.is_empty()).then(|| view! {
                        <p class="mt-1 font-medium">{format!("{} refused:", report.refused.len())}</p>
                        <ul class="mt-1 list-disc pl-5" data-testid="bulk-refused">
                            {report.refused.into_iter().map(|r| view! { <li><a href=format!("/users/{}", r.user_id) class=LINK>{r.name}</a> ": " {r.reason}</li> }).collect_view()}
                        </ul>
                    })}
                </div>
            }
            .into_any(),
            Err(AppError::Validation(errors)) => {
                let said: Vec<String> = errors.into_iter().filter(|e| !matches!(e.field.as_str(), "action" | "role_id" | "team_id")).map(|e| e.message).collect();
                view! { <p role="alert" data-testid="bulk-error" class=format!("{ALERT} mb-3")>{if said.is_empty() { "Please correct the highlighted fields.".to_string() } else { said.join(" ") }}</p> }.into_any()
            }
            Err(e) => view! { <p role="alert" data-testid="bulk-error" class=format!("{ALERT} mb-3")>{e.to_string()}</p> }.into_any(),
        })
    }
}

#[component]
pub fn NewUserPage() -> impl IntoView {
    let action = ServerAction::<CreateUser>::new();
    let me = expect_context::<MeResource>();
    let roles = Resource::new(|| (), move |_| crate::pages::gated(me, authz::View::Users, list_users(UserQuery::default())));
    view! {
        <ViewGate view=authz::View::Users>
            <Title text="New user" />
            <PageHeader title="New user" purpose="Create an account in this organisation." />
            <div class=format!("{CARD} max-w-xl")>
                {move || action.value().get().and_then(|r| r.ok()).map(|created| view! {
                    <div class="mb-4 space-y-2">
                        {created.temporary_password.map(|p| view! { <OneTimePassword password=p whom="the new user" /> })}
                        <p class="text-sm"><a href=format!("/users/{}", created.id) class=LINK data-testid="open-new-user">"Open the new user"</a></p>
                    </div>
                })}
                <ActionForm action attr:class="space-y-2" attr:data-testid="new-user-form">
                    {outcome(action, "User created.")}
                    <Field name="display_name" label="Name" autocomplete="off" error=field_error(action, "display_name") />
                    <Field name="email" label="Email" kind="email" autocomplete="off" error=field_error(action, "email") />
                    <Field name="password" label="Password" kind="password" autocomplete="new-password" optional=true hint="At least 12 characters. Leave empty and Steward makes a temporary one, shown once." error=field_error(action, "password") />
                    {me.may(Perm::RoleAssign).then(|| view! {
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                let options: Vec<(String, String)> = roles.await.map(|l| l.roles.into_iter().map(|(id, n)| (id.to_string(), n)).collect()).unwrap_or_default();
                                view! { <SelectField name="role_id" label="Role" options empty="No role yet" error=field_error(action, "role_id") /> }
                            })}
                        </Transition>
                    })}
                    <div class="flex gap-2 pt-2">
                        <button type="submit" class=BUTTON data-testid="create-user">"Create user"</button>
                        <a href="/users" class=BUTTON_SECONDARY>"Back to users"</a>
                    </div>
                </ActionForm>
            </div>
        </ViewGate>
    }
}

/// `/users/invite`: invite someone by email, with a role and a team. They
/// are pending until they follow the mail's link and choose a password.
#[component]
pub fn InvitePage() -> impl IntoView {
    let action = ServerAction::<InviteUser>::new();
    let me = expect_context::<MeResource>();
    let choices = Resource::new(|| (), move |_| crate::pages::gated(me, authz::View::Users, list_users(UserQuery::default())));
    let days = crate::auth::INVITATION_DAYS;
    view! {
        <ViewGate view=authz::View::Users>
            <Title text="Invite" />
            <PageHeader title="Invite someone" purpose="They get an email with a link to choose their own password: nobody else ever sees it. Until they follow it they are pending and cannot sign in." />
            <div class=format!("{CARD} max-w-xl")>
                {move || action.value().get().and_then(|r| r.ok()).map(|id| view! {
                    <div role="status" data-testid="invitation-sent" class=format!("{NOTICE} mb-4")>
                        {format!("Invitation sent. The link works once, for {days} days. ")}
                        <a href=format!("/users/{id}") class=LINK data-testid="open-invited-user">"Open the invited person"</a>
                    </div>
                })}
                <ActionForm action attr:class="space-y-2" attr:data-testid="invite-form">
                    {move || action.value().with(|v| matches!(v, Some(Err(_)))).then(|| outcome(action, ""))}
                    <Field name="display_name" label="Name" autocomplete="off" error=field_error(action, "display_name") />
                    <Field name="email" label="Email" kind="email" autocomplete="off" error=field_error(action, "email") />
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let list = choices.await.ok();
                            let named = |items: Vec<(uuid::Uuid, String)>| items.into_iter().map(|(id, n)| (id.to_string(), n)).collect::<Vec<_>>();
                            let (roles, teams) = list.map(|l| (named(l.roles), named(l.teams))).unwrap_or_default();
                            view! {
                                {me.may(Perm::RoleAssign).then(|| view! { <SelectField name="role_id" label="Role" options=roles empty="No role yet" error=field_error(action, "role_id") /> })}
                                {(me.may(Perm::TeamManage) && !teams.is_empty()).then(|| view! { <SelectField name="team_id" label="Team" options=teams empty="No team" error=field_error(action, "team_id") /> })}
                            }
                        })}
                    </Transition>
                    <div class="flex gap-2 pt-2">
                        <button type="submit" class=BUTTON data-testid="send-invitation" disabled=move || action.pending().get()>"Send the invitation"</button>
                        <a href="/users" class=BUTTON_SECONDARY>"Back to users"</a>
                    </div>
                </ActionForm>
            </div>
        </ViewGate>
    }
}

/// Platform staff's search for a user in any tenant, and the way into it.
#[component]
pub fn FindUserPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let me = expect_context::<MeResource>();
    let hits = Resource::new(q, move |q| crate::pages::gated(me, authz::View::Users, async move {
        if q.trim().is_empty() { Ok(Vec::new()) } else { search_users_across_tenants(q).await }
    }));
    view! {
        <ViewGate view=authz::View::Users>
            <Title text="Find a user" />
            <PageHeader title="Find a user in any tenant" purpose="Platform staff only. Every search is recorded in the audit log." />
            <Form method="GET" action="/users/find" attr:class="mb-4 flex gap-2" attr:role="search">
                <label for="find-q" class="sr-only">"Email or name"</label>
                <input id="find-q" name="q" type="search" value=q placeholder="Email or name contains…" class=INPUT />
                <button type="submit" class=BUTTON>"Search"</button>
            </Form>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match hits.await {
                        Err(e) => view! { <p role="alert" class=ALERT>{e.field("query").unwrap_or_else(|| e.to_string())}</p> }.into_any(),
                        Ok(hits) => view! {
                            <ul class="divide-y divide-slate-100 rounded-lg border border-slate-200 bg-white dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900" data-testid="find-results">
                                {hits.into_iter().map(|h| view! {
                                    <li class="flex items-center justify-between gap-4 px-4 py-3 text-sm" data-testid="find-hit">
                                        <div>
                                            <div class="font-medium">{h.display_name} " · " {h.email}</div>
                                            <div class="text-xs text-slate-500 dark:text-slate-400">{h.tenant_name} " (" {h.tenant_slug.clone()} ") · " {h.status.as_str()}</div>
                                        </div>
                                        <crate::tenants::pages::ActInside slug=h.tenant_slug next=format!("/users/{}", h.user_id) label="Open" />
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </ViewGate>
    }
}
