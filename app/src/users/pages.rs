//! The users screens: the list (search, filters, ordering, keyset pages),
//! a new user, a user's page, and platform staff's search across tenants.

use crate::authz::{self, Perm};
use super::*;
use crate::components::*;
use crate::nav::MeResource;
use crate::pages::ViewGate;
use crate::roles::{AssignRole, RevokeRole};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let me = expect_context::<MeResource>();
    let params = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        UserQuery { q: get("q"), status: get("status"), role: get("role"), team: get("team"), sort: get("sort"), after: get("after") }
    };
    let list = Resource::new(params, move |p| crate::pages::gated(me, authz::View::Users, list_users(p)));
    view! {
        <ViewGate view=authz::View::Users>
            <Title text="Users" />
            <PageHeader title="Users" purpose="Everyone in this organisation: find, invite, edit, suspend, reset passwords.">
                {me.may(Perm::SupportCrossTenant).then(|| view! { <a href="/users/find" class=BUTTON_SECONDARY>"Find in any tenant"</a> })}
                {me.may(Perm::UserRead).then(|| view! { <a href=move || format!("/users/export.csv{}", query_string(&[("q", &params().q), ("status", &params().status), ("role", &params().role), ("team", &params().team), ("sort", &params().sort)])) class=BUTTON_SECONDARY rel="external" download="users.csv">"Export CSV"</a> })}
                {me.may(Perm::UserDelete).then(|| view! { <a href="/users/deletion-requests" class=BUTTON_SECONDARY data-testid="deletion-requests-link">"Deletion requests"</a> })}
                {me.may(Perm::UserCreate).then(|| view! {
                    <a href="/users/import" class=BUTTON_SECONDARY data-testid="import-users">"Import CSV"</a>
                    <a href="/users/new" class=BUTTON data-testid="new-user">"New user"</a>
                })}
            </PageHeader>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let p = params();
                    match list.await {
                        Ok(list) => view! { <UserTable list p /> }.into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </ViewGate>
    }
}

#[component]
fn UserTable(list: UserList, p: UserQuery) -> impl IntoView {
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
        <DataTable testid="user-table" columns=&["Name", "Email", "Status", "Roles", "Last sign-in"] empty=empty.then_some("No users match.") empty_testid="no-users">
                    {list.rows.into_iter().map(|u| view! {
                        <tr data-testid="user-row">
                            <td class=TD><A href=format!("/users/{}", u.id) attr:class=LINK>{u.display_name}</A></td>
                            <td class=TD>{u.email}</td>
                            <td class=TD><StatusBadge status=if u.deleted { "deleted".to_string() } else { u.status } /></td>
                            <td class=format!("{TD} text-slate-600 dark:text-slate-300")>{u.roles}</td>
                            <td class=format!("{TD} whitespace-nowrap text-slate-500")>{if u.last_login_at.is_empty() { "never".to_string() } else { u.last_login_at }}</td>
                        </tr>
                    }).collect_view()}
                </DataTable>
        <Pager first next />
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

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let me = expect_context::<MeResource>();
    let id = move || params.read().get("id").and_then(|id| id.parse::<uuid::Uuid>().ok());

    let update = ServerAction::<UpdateUser>::new();
    let suspend = ServerAction::<SuspendUser>::new();
    let reactivate = ServerAction::<ReactivateUser>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let restore = ServerAction::<RestoreUser>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let revoke = ServerAction::<RevokeSessions>::new();
    let unlock = ServerAction::<UnlockUser>::new();
    let reset_mfa = ServerAction::<ResetMfa>::new();
    let anonymise = ServerAction::<crate::privacy::AnonymiseUser>::new();
    let assign = ServerAction::<AssignRole>::new();
    let unassign = ServerAction::<RevokeRole>::new();
    let add_team = ServerAction::<crate::teams::AddTeamMember>::new();
    let remove_team = ServerAction::<crate::teams::RemoveTeamMember>::new();
    let changes = (
        successes(update), successes(suspend), successes(reactivate), successes(delete), successes(restore),
        successes(reset), successes(revoke), successes(assign), successes(unassign), successes(add_team), successes(remove_team),
        (successes(unlock), successes(reset_mfa), successes(anonymise)),
    );
    let user = Resource::new(
        move || {
            let c = changes;
            (id(), c.0.get() + c.1.get() + c.2.get() + c.3.get() + c.4.get() + c.5.get() + c.6.get() + c.7.get() + c.8.get() + c.9.get() + c.10.get() + c.11.0.get() + c.11.1.get() + c.11.2.get())
        },
        move |(id, _)| crate::pages::gated(me, authz::View::Users, async move {
            match id {
                Some(id) => get_user(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        }),
    );

    view! {
        <ViewGate view=authz::View::Users>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match user.await {
                        Err(crate::error::AppError::NotFound) => view! { <crate::pages::NotFound /> }.into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(u) => {
                            let may = move |p: Perm| me.may(p);
                            let uid: uuid::Uuid = u.id;
                            let held_direct: Vec<uuid::Uuid> = u.roles.iter().filter(|r| r.via_team.is_none()).map(|r| r.role_id).collect();
                            let assignable: Vec<(String, String)> = u.all_roles.iter().filter(|(id, _)| !held_direct.contains(id)).map(|(id, n)| (id.to_string(), n.clone())).collect();
                            let joinable: Vec<(String, String)> = u.all_teams.iter().filter(|(id, _)| !u.teams.iter().any(|(t, _)| t == id)).map(|(id, n)| (id.to_string(), n.clone())).collect();
                            let status = if u.deleted { "deleted".to_string() } else { u.status.clone() };
                            let (active, suspended) = (status == "active", status == "suspended");
                            let anonymised = u.email.ends_with("@anonymised.invalid");
                            view! {
                                <Title text=u.display_name.clone() />
                                <PageHeader title=u.display_name.clone() purpose=u.email.clone()>
                                    <StatusBadge status=status.clone() />
                                </PageHeader>
                                <div class="grid gap-6 lg:grid-cols-3">
                                    <div class="space-y-6 lg:col-span-2">
                                        <section class=CARD aria-labelledby="profile-heading">
                                            <h2 id="profile-heading" class=HEADING>"Profile"</h2>
                                            <ActionForm action=update attr:class="mt-3 space-y-2" attr:data-testid="profile-form">
                                                {outcome(update, "Profile saved.")}
                                                {reload_on_conflict(update)}
                                                <input type="hidden" name="user_id" value=uid.to_string() />
                                                <input type="hidden" name="version" value=u.version.to_string() />
                                                <Field name="display_name" label="Name" value=u.display_name.clone() error=field_error(update, "display_name") />
                                                <Field name="email" label="Email" kind="email" value=u.email.clone() error=field_error(update, "email") />
                                                {may(Perm::UserUpdate).then(|| view! { <button type="submit" class=BUTTON data-testid="save-profile">"Save profile"</button> })}
                                            </ActionForm>
                                        </section>

                                        <section class=CARD aria-labelledby="roles-heading">
                                            <h2 id="roles-heading" class=HEADING>"Roles"</h2>
                                            {outcome(assign, "Role granted.")}
                                            {outcome(unassign, "Role removed.")}
                                            <ul class="mt-3 divide-y divide-slate-100 dark:divide-slate-800" data-testid="user-roles">
                                                {u.roles.iter().cloned().map(|r| {
                                                    
                                                    view! {
                                                        <li class="flex items-center justify-between py-2 text-sm">
                                                            <span>{r.name.clone()} {r.via_team.clone().map(|t| view! { <span class="text-slate-500">" · through team " {t}</span> })}</span>
                                                            {(r.via_team.is_none() && may(Perm::RoleAssign)).then(|| view! {
                                                                <ActionForm action=unassign>
                                                                    <input type="hidden" name="user_id" value=uid.to_string() />
                                                                    <input type="hidden" name="role_id" value=r.role_id.to_string() />
                                                                    <button type="submit" class=BUTTON_QUIET aria-label=format!("Remove role {}", r.name)>"Remove"</button>
                                                                </ActionForm>
                                                            })}
                                                        </li>
                                                    }
                                                }).collect_view()}
                                            </ul>
                                            {(may(Perm::RoleAssign) && !assignable.is_empty()).then(|| view! {
                                                <ActionForm action=assign attr:class="mt-3 flex items-end gap-2" attr:data-testid="assign-role-form">
                                                    <input type="hidden" name="user_id" value=uid.to_string() />
                                                    <div class="flex-1"><SelectField name="role_id" label="Grant a role" options=assignable /></div>
                                                    <button type="submit" class=format!("{BUTTON} mb-6")>"Grant"</button>
                                                </ActionForm>
                                            })}
                                        </section>

                                        <section class=CARD aria-labelledby="teams-heading">
                                            <h2 id="teams-heading" class=HEADING>"Teams"</h2>
                                            {outcome(add_team, "Added to the team.")}
                                            {outcome(remove_team, "Removed from the team.")}
                                            <ul class="mt-3 divide-y divide-slate-100 dark:divide-slate-800" data-testid="user-teams">
                                                {u.teams.iter().cloned().map(|(team_id, name)| {
                                                    
                                                    view! {
                                                        <li class="flex items-center justify-between py-2 text-sm">
                                                            <a href=format!("/teams/{team_id}") class=LINK>{name.clone()}</a>
                                                            {may(Perm::TeamManage).then(|| view! {
                                                                <ActionForm action=remove_team>
                                                                    <input type="hidden" name="team_id" value=team_id.to_string() />
                                                                    <input type="hidden" name="user_id" value=uid.to_string() />
                                                                    <button type="submit" class=BUTTON_QUIET aria-label=format!("Remove from {name}")>"Remove"</button>
                                                                </ActionForm>
                                                            })}
                                                        </li>
                                                    }
                                                }).collect_view()}
                                            </ul>
                                            {(may(Perm::TeamManage) && !joinable.is_empty()).then(|| view! {
                                                <ActionForm action=add_team attr:class="mt-3 flex items-end gap-2">
                                                    <input type="hidden" name="user_id" value=uid.to_string() />
                                                    <div class="flex-1"><SelectField name="team_id" label="Add to a team" options=joinable /></div>
                                                    <button type="submit" class=format!("{BUTTON} mb-6")>"Add"</button>
                                                </ActionForm>
                                            })}
                                        </section>

                                        <p class="text-sm"><a href=format!("/users/{uid}/api-keys") class=LINK data-testid="user-api-keys-link">"API keys made by this person"</a></p>
                                        <HistoryCard entity_type="user" id=uid rows=u.history.clone() />
                                    </div>

                                    <div class="space-y-6">
                                        <section class=CARD aria-labelledby="account-heading">
                                            <h2 id="account-heading" class=HEADING>"Account"</h2>
                                            <dl class="mt-3 space-y-1 text-sm">
                                                <div class="flex justify-between"><dt>"Created"</dt><dd>{u.created_at.clone()}</dd></div>
                                                <div class="flex justify-between"><dt>"Last sign-in"</dt><dd>{if u.last_login_at.is_empty() { "never".to_string() } else { u.last_login_at.clone() }}</dd></div>
                                                <div class="flex justify-between"><dt>"Two-factor sign-in"</dt><dd data-testid="user-mfa">{if u.mfa_enabled { "on" } else { "off" }}</dd></div>
                                                {(u.failed_sign_ins > 0).then(|| view! {
                                                    <div class="flex justify-between" data-testid="failed-sign-ins"><dt>"Failed sign-ins in a row"</dt><dd>{u.failed_sign_ins}</dd></div>
                                                })}
                                            </dl>
                                            {u.locked_until.clone().map(|until| view! {
                                                <div role="status" data-testid="sign-in-locked" class="mt-3 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-800 dark:border-amber-900 dark:bg-amber-950/50 dark:text-amber-200">
                                                    "Sign-ins are refused until " {until} " after too many failed attempts"
                                                    {if u.locked_for_strangers_only {
                                                        ", from networks this person has not signed in from before. From their usual networks they can still sign in."
                                                    } else { "." }}
                                                    {may(Perm::UserResetPassword).then(|| view! {
                                                        <ActionForm action=unlock attr:class="mt-2">
                                                            <input type="hidden" name="user_id" value=uid.to_string() />
                                                            <button type="submit" class=BUTTON_SECONDARY data-testid="unlock-user">"Unlock sign-ins"</button>
                                                        </ActionForm>
                                                    })}
                                                </div>
                                            })}
                                            <div class="mt-4 space-y-2">
                                                {outcome(unlock, "Sign-ins unlocked.")}
                                                {outcome(reset_mfa, "Two-factor sign-in reset.")}
                                                {outcome(anonymise, "Anonymised.")}
                                                {outcome(suspend, "User suspended.")}
                                                {outcome(reactivate, "User reactivated.")}
                                                {outcome(delete, "User deleted.")}
                                                {outcome(restore, "User restored.")}
                                                {outcome(reset, "")}
                                                {move || reset.value().get().and_then(|r| r.ok()).map(|p| view! { <OneTimePassword password=p whom="this user" /> })}
                                                <div class="flex flex-wrap gap-2">
                                                    {(may(Perm::UserResetPassword) && !u.deleted).then(|| view! {
                                                        <Confirm label="Reset password" question="Make a new temporary password and sign this user out everywhere?">
                                                            <ActionForm action=reset>
                                                                <input type="hidden" name="user_id" value=uid.to_string() />
                                                                <button type="submit" class=BUTTON data-testid="confirm-reset-password">"Yes, reset"</button>
                                                            </ActionForm>
                                                        </Confirm>
                                                    })}
                                                    {(may(Perm::UserResetPassword) && u.mfa_enabled).then(|| view! {
                                                        <Confirm label="Reset two-factor" question="Take away this user's second factor and sign them out everywhere? Do this only once you are sure who asked.">
                                                            <ActionForm action=reset_mfa>
                                                                <input type="hidden" name="user_id" value=uid.to_string() />
                                                                <button type="submit" class=BUTTON_DANGER data-testid="confirm-reset-mfa">"Yes, reset"</button>
                                                            </ActionForm>
                                                        </Confirm>
                                                    })}
                                                    {(may(Perm::UserSuspend) && active).then(|| view! {
                                                        <Confirm label="Suspend" question="Suspend this user? They are signed out and cannot sign in until reactivated.">
                                                            <ActionForm action=suspend>
                                                                <input type="hidden" name="user_id" value=uid.to_string() />
                                                                <button type="submit" class=BUTTON_DANGER data-testid="confirm-suspend">"Yes, suspend"</button>
                                                            </ActionForm>
                                                        </Confirm>
                                                    })}
                                                    {(may(Perm::UserSuspend) && suspended).then(|| view! {
                                                        <ActionForm action=reactivate>
                                                            <input type="hidden" name="user_id" value=uid.to_string() />
                                                            <button type="submit" class=BUTTON_SECONDARY>"Reactivate"</button>
                                                        </ActionForm>
                                                    })}
                                                    {(may(Perm::UserDelete) && !u.deleted).then(|| view! {
                                                        <Confirm label="Delete" question="Delete this user? You can restore them later.">
                                                            <ActionForm action=delete>
                                                                <input type="hidden" name="user_id" value=uid.to_string() />
                                                                <button type="submit" class=BUTTON_DANGER data-testid="confirm-delete">"Yes, delete"</button>
                                                            </ActionForm>
                                                        </Confirm>
                                                    })}
                                                    {may(Perm::UserExport).then(|| view! {
                                                        <a href=format!("/users/{uid}/export.json") class=BUTTON_SECONDARY data-testid="export-user-data">"Export personal data"</a>
                                                    })}
                                                    {(may(Perm::UserDelete) && !anonymised).then(|| view! {
                                                        <Confirm label="Anonymise" question="Remove this person's name, email, password, second factor, roles, teams, sessions and keys for good? The audit log keeps what it recorded. Type their email to confirm.">
                                                            <ActionForm action=anonymise attr:class="space-y-2">
                                                                <input type="hidden" name="user_id" value=uid.to_string() />
                                                                <Field name="confirm" label="Their email" error=field_error(anonymise, "confirm") />
                                                                <button type="submit" class=BUTTON_DANGER data-testid="confirm-anonymise">"Anonymise for good"</button>
                                                            </ActionForm>
                                                        </Confirm>
                                                    })}
                                                    {(may(Perm::UserDelete) && u.deleted).then(|| view! {
                                                        <ActionForm action=restore>
                                                            <input type="hidden" name="user_id" value=uid.to_string() />
                                                            <button type="submit" class=BUTTON_SECONDARY>"Restore"</button>
                                                        </ActionForm>
                                                    })}
                                                </div>
                                            </div>
                                        </section>

                                        <section class=CARD aria-labelledby="sessions-heading">
                                            <h2 id="sessions-heading" class=HEADING>"Active sessions"</h2>
                                            {outcome(revoke, "Signed out.")}
                                            <ul class="mt-3 space-y-2 text-sm" data-testid="user-sessions">
                                                {u.sessions.iter().cloned().map(|s| {
                                                    
                                                    view! {
                                                        <li class="flex items-start justify-between gap-2">
                                                            <div>
                                                                <div>{s.created_at} {s.current.then_some(" · this session")}</div>
                                                                <div class="text-xs text-slate-500">{s.ip} " " {s.user_agent.chars().take(60).collect::<String>()}</div>
                                                            </div>
                                                            {may(Perm::UserRevokeSessions).then(|| view! {
                                                                <ActionForm action=revoke>
                                                                    <input type="hidden" name="user_id" value=uid.to_string() />
                                                                    <input type="hidden" name="session_id" value=s.id.to_string() />
                                                                    <button type="submit" class=BUTTON_QUIET>"Revoke"</button>
                                                                </ActionForm>
                                                            })}
                                                        </li>
                                                    }
                                                }).collect_view()}
                                            </ul>
                                            {u.sessions.is_empty().then(|| view! { <p class="mt-2 text-sm text-slate-500">"No active sessions."</p> })}
                                            {(may(Perm::UserRevokeSessions) && !u.sessions.is_empty()).then(|| view! {
                                                <ActionForm action=revoke attr:class="mt-3">
                                                    <input type="hidden" name="user_id" value=uid.to_string() />
                                                    <button type="submit" class=BUTTON_SECONDARY>"Sign out everywhere"</button>
                                                </ActionForm>
                                            })}
                                        </section>
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

/// Platform staff's search for a user in any tenant, and the way into it.
#[component]
pub fn FindUserPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let me = expect_context::<MeResource>();
    let hits = Resource::new(q, move |q| crate::pages::gated(me, authz::View::Users, async move {
        if q.trim().is_empty() { Ok(Vec::new()) } else { search_users_across_tenants(q).await }
    }));
    let act = ServerAction::<crate::tenants::ActInTenant>::new();
    view! {
        <ViewGate view=authz::View::Users>
            <Title text="Find a user" />
            <PageHeader title="Find a user in any tenant" purpose="Platform staff only. Every search is recorded in the audit log." />
            <Form method="GET" action="/users/find" attr:class="mb-4 flex gap-2" attr:role="search">
                <label for="find-q" class="sr-only">"Email or name"</label>
                <input id="find-q" name="q" type="search" value=q placeholder="Email or name contains…" class=INPUT />
                <button type="submit" class=BUTTON>"Search"</button>
            </Form>
            {outcome(act, "")}
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
                                            <div class="text-xs text-slate-500">{h.tenant_name} " (" {h.tenant_slug.clone()} ") · " {h.status}</div>
                                        </div>
                                        <crate::tenants::pages::ActInside act=act slug=h.tenant_slug next=format!("/users/{}", h.user_id) label="Open" />
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
