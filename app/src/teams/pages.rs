//! The teams screens: the list with a new-team form, and a team's page
//! (rename, lead, members, roles, delete and restore).

use crate::authz::{self, Perm};
use super::*;
use crate::components::*;
use crate::nav::MeResource;
use crate::pages::ViewGate;
use leptos::prelude::*;
use leptos_meta::Title;

use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn TeamsPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let query = use_query_map();
    let deleted = move || query.read().get("deleted").is_some_and(|d| d == "1");
    let create = ServerAction::<CreateTeam>::new();
    let created = successes(create);
    let teams = Resource::new(move || (deleted(), created.get()), move |(deleted, _)| crate::pages::gated(me, authz::View::Teams, list_teams(deleted)));
    view! {
        <ViewGate view=authz::View::Teams>
            <Title text="Teams" />
            <PageHeader title="Teams" purpose="Groups of people who share roles.">
                <a href=move || if deleted() { "/teams" } else { "/teams?deleted=1" } class=BUTTON_SECONDARY>
                    {move || if deleted() { "Live teams" } else { "Deleted teams" }}
                </a>
            </PageHeader>
            <div class="grid gap-6 lg:grid-cols-3">
                <div class="lg:col-span-2">
                    <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match teams.await {
                                Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                                Ok(rows) => {
                                    let empty = rows.is_empty();
                                    view! {
                                        <DataTable testid="team-table" columns=&["Team", "Members", "Lead", "Roles"] empty=empty.then_some("No teams here yet.")>
                                                    {rows.into_iter().map(|t| view! {
                                                        <tr data-testid="team-row">
                                                            <td>
                                                                <a href=format!("/teams/{}", t.id) class=LINK>{t.name}</a>
                                                                <div class="text-xs text-slate-500 dark:text-slate-400">{t.description}</div>
                                                            </td>
                                                            <td>{t.members}</td>
                                                            <td>{t.lead}</td>
                                                            <td class="text-slate-600 dark:text-slate-300">{t.roles}</td>
                                                        </tr>
                                                    }).collect_view()}
                                                </DataTable>
                                    }.into_any()
                                }
                            }
                        })}
                    </Transition>
                </div>
                {me.may(Perm::TeamManage).then(|| view! {
                    <section class=CARD aria-labelledby="new-team-heading">
                        <h2 id="new-team-heading" class=HEADING>"New team"</h2>
                        <ActionForm action=create attr:class="mt-3 space-y-2" attr:data-testid="new-team-form">
                            {outcome(create, "Team created.")}
                            <Field name="name" label="Name" autocomplete="off" error=field_error(create, "name") />
                            <Field name="description" label="Description" optional=true error=field_error(create, "description") />
                            <button type="submit" class=BUTTON data-testid="create-team">"Create team"</button>
                        </ActionForm>
                    </section>
                })}
            </div>
        </ViewGate>
    }
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let params = use_params_map();
    let me = expect_context::<MeResource>();
    let id = move || params.read().get("id").and_then(|id| id.parse::<uuid::Uuid>().ok());
    let update = ServerAction::<UpdateTeam>::new();
    let delete = ServerAction::<DeleteTeam>::new();
    let restore = ServerAction::<RestoreTeam>::new();
    let add = ServerAction::<AddTeamMember>::new();
    let remove = ServerAction::<RemoveTeamMember>::new();
    let grant = ServerAction::<GrantTeamRole>::new();
    let revoke = ServerAction::<RevokeTeamRole>::new();
    let c = (successes(update), successes(delete), successes(restore), successes(add), successes(remove), successes(grant), successes(revoke));
    let team = Resource::new(
        move || (id(), c.0.get() + c.1.get() + c.2.get() + c.3.get() + c.4.get() + c.5.get() + c.6.get()),
        move |(id, _)| crate::pages::gated(me, authz::View::Teams, async move {
            match id {
                Some(id) => get_team(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        }),
    );
    // People to add: the tenant's users (first page, by name).
    let people = Resource::new(|| (), move |_| async move {
        match me.0.await {
            Ok(Some(m)) if m.may(Perm::UserRead) => crate::users::list_users(crate::users::UserQuery::default()).await,
            _ => Err(crate::error::AppError::Forbidden),
        }
    });
    view! {
        <ViewGate view=authz::View::Teams>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let people = people.await.map(|l| l.rows).unwrap_or_default();
                    match team.await {
                        Err(crate::error::AppError::NotFound) => view! { <crate::pages::NotFound /> }.into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(t) => {
                            let may = move |p: Perm| me.may(p);
                            let tid = t.id;
                            let lead_options: Vec<(String, String)> = t.members.iter().map(|(id, n, _)| (id.to_string(), n.clone())).collect();
                            let addable: Vec<(String, String)> = people.iter().filter(|p| !t.members.iter().any(|(id, _, _)| *id == p.id)).map(|p| (p.id.to_string(), format!("{} ({})", p.display_name, p.email))).collect();
                            let grantable: Vec<(String, String)> = t.all_roles.iter().filter(|(id, _)| !t.roles.iter().any(|(r, _)| r == id)).map(|(id, n)| (id.to_string(), n.clone())).collect();
                            let deleted = t.deleted;
                            view! {
                                <Title text=t.name.clone() />
                                <PageHeader title=t.name.clone() purpose=t.description.clone()>
                                    {deleted.then(|| view! { <StatusBadge status="deleted" /> })}
                                </PageHeader>
                                <div class="grid gap-6 lg:grid-cols-3">
                                    <div class="space-y-6 lg:col-span-2">
                                        <section class=CARD aria-labelledby="members-heading">
                                            <h2 id="members-heading" class=HEADING>"Members"</h2>
                                            {outcome(add, "Added to the team.")}
                                            {outcome(remove, "Removed from the team.")}
                                            <ul class="mt-3 divide-y divide-slate-100 dark:divide-slate-800" data-testid="team-members">
                                                {t.members.iter().cloned().map(|(uid, name, email)| view! {
                                                    <li class="flex items-center justify-between py-2 text-sm">
                                                        <span><a href=format!("/users/{uid}") class=LINK>{name.clone()}</a> " · " {email} {(t.lead_user_id == Some(uid)).then_some(" · lead")}</span>
                                                        {(may(Perm::TeamManage) && !deleted).then(|| view! {
                                                            <ActionForm action=remove>
                                                                <input type="hidden" name="team_id" value=tid.to_string() />
                                                                <input type="hidden" name="user_id" value=uid.to_string() />
                                                                <button type="submit" class=BUTTON_QUIET aria-label=format!("Remove {name}")>"Remove"</button>
                                                            </ActionForm>
                                                        })}
                                                    </li>
                                                }).collect_view()}
                                            </ul>
                                            {(may(Perm::TeamManage) && !deleted && !addable.is_empty()).then(|| view! {
                                                <ActionForm action=add attr:class="mt-3 flex items-end gap-2" attr:data-testid="add-member-form">
                                                    <input type="hidden" name="team_id" value=tid.to_string() />
                                                    <div class="flex-1"><SelectField name="user_id" label="Add a member" options=addable /></div>
                                                    <button type="submit" class=format!("{BUTTON} mb-6")>"Add"</button>
                                                </ActionForm>
                                            })}
                                        </section>
                                        <section class=CARD aria-labelledby="team-roles-heading">
                                            <h2 id="team-roles-heading" class=HEADING>"Roles"</h2>
                                            <p class="text-sm text-slate-600 dark:text-slate-400">"Every member holds these roles."</p>
                                            {outcome(grant, "Role granted to the team.")}
                                            {outcome(revoke, "Role removed from the team.")}
                                            <ul class="mt-3 divide-y divide-slate-100 dark:divide-slate-800" data-testid="team-roles">
                                                {t.roles.iter().cloned().map(|(rid, name)| view! {
                                                    <li class="flex items-center justify-between py-2 text-sm">
                                                        <a href=format!("/roles/{rid}") class=LINK>{name.clone()}</a>
                                                        {(may(Perm::RoleAssign) && !deleted).then(|| view! {
                                                            <ActionForm action=revoke>
                                                                <input type="hidden" name="team_id" value=tid.to_string() />
                                                                <input type="hidden" name="role_id" value=rid.to_string() />
                                                                <button type="submit" class=BUTTON_QUIET aria-label=format!("Remove role {name}")>"Remove"</button>
                                                            </ActionForm>
                                                        })}
                                                    </li>
                                                }).collect_view()}
                                            </ul>
                                            {(may(Perm::RoleAssign) && !deleted && !grantable.is_empty()).then(|| view! {
                                                <ActionForm action=grant attr:class="mt-3 flex items-end gap-2" attr:data-testid="grant-team-role-form">
                                                    <input type="hidden" name="team_id" value=tid.to_string() />
                                                    <div class="flex-1"><SelectField name="role_id" label="Grant a role" options=grantable /></div>
                                                    <button type="submit" class=format!("{BUTTON} mb-6")>"Grant"</button>
                                                </ActionForm>
                                            })}
                                        </section>
                                        <HistoryCard entity_type="team" id=tid rows=t.history.clone() />
                                    </div>
                                    <section class=format!("{CARD} space-y-2") aria-labelledby="team-settings-heading">
                                        <h2 id="team-settings-heading" class=HEADING>"Settings"</h2>
                                        <ActionForm action=update attr:class="space-y-2" attr:data-testid="team-form">
                                            {outcome(update, "Team saved.")}
                                            {reload_on_conflict(update)}
                                            <input type="hidden" name="team_id" value=tid.to_string() />
                                            <input type="hidden" name="version" value=t.version.to_string() />
                                            <Field name="name" label="Name" value=t.name.clone() error=field_error(update, "name") />
                                            <Field name="description" label="Description" value=t.description.clone() optional=true error=field_error(update, "description") />
                                            <SelectField name="lead_user_id" label="Lead" options=lead_options selected=t.lead_user_id.map(|l| l.to_string()).unwrap_or_default() empty="No lead" error=field_error(update, "lead_user_id") />
                                            {(may(Perm::TeamManage) && !deleted).then(|| view! { <button type="submit" class=BUTTON>"Save team"</button> })}
                                        </ActionForm>
                                        {outcome(delete, "Team deleted.")}
                                        {outcome(restore, "Team restored.")}
                                        {(may(Perm::TeamManage) && !deleted).then(|| view! {
                                            <Confirm label="Delete team" question="Delete this team? Its members lose the roles it gives them. You can restore it later.">
                                                <ActionForm action=delete>
                                                    <input type="hidden" name="team_id" value=tid.to_string() />
                                                    <button type="submit" class=BUTTON_DANGER data-testid="confirm-delete-team">"Yes, delete"</button>
                                                </ActionForm>
                                            </Confirm>
                                        })}
                                        {(may(Perm::TeamManage) && deleted).then(|| view! {
                                            <ActionForm action=restore>
                                                <input type="hidden" name="team_id" value=tid.to_string() />
                                                <button type="submit" class=BUTTON_SECONDARY>"Restore team"</button>
                                            </ActionForm>
                                        })}
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
