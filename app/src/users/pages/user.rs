//! A user's page: the header, then one panel per concern (profile, roles,
//! teams, the account's actions, sessions), each a component of its own.

use crate::authz::{self, Perm};
use crate::components::*;
use crate::nav::MeResource;
use crate::pages::ViewGate;
use crate::roles::{AssignRole, RevokeRole};
use crate::users::*;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let me = expect_context::<MeResource>();
    let id = move || params.read().get("id").and_then(|id| id.parse::<crate::ids::UserId>().ok());

    let update = ServerAction::<UpdateUser>::new();
    let suspend = ServerAction::<SuspendUser>::new();
    let reactivate = ServerAction::<ReactivateUser>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let restore = ServerAction::<RestoreUser>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let revoke = ServerAction::<RevokeSessions>::new();
    let unlock = ServerAction::<UnlockUser>::new();
    let reset_mfa = ServerAction::<ResetMfa>::new();
    let send_link = ServerAction::<SendPasswordLink>::new();
    let resend = ServerAction::<ResendInvitation>::new();
    let revoke_invitation = ServerAction::<RevokeInvitation>::new();
    let anonymise = ServerAction::<crate::privacy::AnonymiseUser>::new();
    let assign = ServerAction::<AssignRole>::new();
    let unassign = ServerAction::<RevokeRole>::new();
    let add_team = ServerAction::<crate::teams::AddTeamMember>::new();
    let remove_team = ServerAction::<crate::teams::RemoveTeamMember>::new();
    let changes = (
        successes(update), successes(suspend), successes(reactivate), successes(delete), successes(restore),
        successes(reset), successes(revoke), successes(assign), successes(unassign), successes(add_team), successes(remove_team),
        (successes(unlock), successes(reset_mfa), successes(anonymise), successes(send_link), successes(resend), successes(revoke_invitation)),
    );
    let user = Resource::new(
        move || {
            let c = changes;
            (id(), c.0.get() + c.1.get() + c.2.get() + c.3.get() + c.4.get() + c.5.get() + c.6.get() + c.7.get() + c.8.get() + c.9.get() + c.10.get() + c.11.0.get() + c.11.1.get() + c.11.2.get() + c.11.3.get() + c.11.4.get() + c.11.5.get())
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
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match user.await {
                        Err(crate::error::AppError::NotFound) => view! { <crate::pages::NotFound /> }.into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(u) => {
                            let uid = u.id;
                            let status = u.shown_status();
                            let account = AccountActions { unlock, reset_mfa, anonymise, suspend, reactivate, delete, restore, reset, send_link, resend, revoke_invitation };
                            view! {
                                <Title text=u.display_name.clone() />
                                <PageHeader title=u.display_name.clone() purpose=u.email.clone()>
                                    <StatusBadge status />
                                </PageHeader>
                                <div class="grid gap-6 lg:grid-cols-3">
                                    <div class="space-y-6 lg:col-span-2">
                                        <ProfilePanel u=u.clone() update />
                                        <RolesPanel u=u.clone() assign unassign />
                                        <TeamsPanel u=u.clone() add_team remove_team />
                                        <p class="text-sm"><a href=format!("/users/{uid}/api-keys") class=LINK data-testid="user-api-keys-link">"API keys made by this person"</a></p>
                                        <HistoryCard entity_type="user" id=uid rows=u.history.clone() />
                                    </div>

                                    <div class="space-y-6">
                                        <AccountPanel u=u.clone() a=account />
                                        <SessionsPanel u=u.clone() revoke />
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

/// The account panel's actions, handed down from the page (whose user
/// resource reloads after any of them succeeds).
#[derive(Clone, Copy)]
struct AccountActions {
    unlock: ServerAction<UnlockUser>,
    reset_mfa: ServerAction<ResetMfa>,
    anonymise: ServerAction<crate::privacy::AnonymiseUser>,
    suspend: ServerAction<SuspendUser>,
    reactivate: ServerAction<ReactivateUser>,
    delete: ServerAction<DeleteUser>,
    restore: ServerAction<RestoreUser>,
    reset: ServerAction<ResetPassword>,
    send_link: ServerAction<SendPasswordLink>,
    resend: ServerAction<ResendInvitation>,
    revoke_invitation: ServerAction<RevokeInvitation>,
}

/// The name and email, saved with the version read (a newer save wins a 409).
#[component]
fn ProfilePanel(u: UserDetail, update: ServerAction<UpdateUser>) -> impl IntoView {
    let me = expect_context::<MeResource>();
    let may = move |p: Perm| me.may(p);
    let uid = u.id;
    view! {
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
    }
}

/// The roles held directly (removable) and through teams, and a role to grant.
#[component]
fn RolesPanel(u: UserDetail, assign: ServerAction<AssignRole>, unassign: ServerAction<RevokeRole>) -> impl IntoView {
    let me = expect_context::<MeResource>();
    let may = move |p: Perm| me.may(p);
    let uid = u.id;
    let held_direct: Vec<uuid::Uuid> = u.roles.iter().filter(|r| r.via_team.is_none()).map(|r| r.role_id).collect();
    let assignable: Vec<(String, String)> = u.all_roles.iter().filter(|(id, _)| !held_direct.contains(id)).map(|(id, n)| (id.to_string(), n.clone())).collect();
    view! {
        <section class=CARD aria-labelledby="roles-heading">
            <h2 id="roles-heading" class=HEADING>"Roles"</h2>
            {outcome(assign, "Role granted.")}
            {outcome(unassign, "Role removed.")}
            <ul class="mt-3 divide-y divide-slate-100 dark:divide-slate-800" data-testid="user-roles">
                {u.roles.iter().cloned().map(|r| {
                    
                    view! {
                        <li class="flex items-center justify-between py-2 text-sm">
                            <span>{r.name.clone()} {r.via_team.clone().map(|t| view! { <span class="text-slate-500 dark:text-slate-400">" · through team " {t}</span> })}</span>
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
    }
}

/// The teams the person is in, and a team to add them to.
#[component]
fn TeamsPanel(u: UserDetail, add_team: ServerAction<crate::teams::AddTeamMember>, remove_team: ServerAction<crate::teams::RemoveTeamMember>) -> impl IntoView {
    let me = expect_context::<MeResource>();
    let may = move |p: Perm| me.may(p);
    let uid = u.id;
    let joinable: Vec<(String, String)> = u.all_teams.iter().filter(|(id, _)| !u.teams.iter().any(|(t, _)| t == id)).map(|(id, n)| (id.to_string(), n.clone())).collect();
    view! {
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
    }
}

/// Sign-in facts and the account's actions: unlock, reset the password or
/// the second factor, suspend, reactivate, delete, restore, export, anonymise.
#[component]
fn AccountPanel(u: UserDetail, a: AccountActions) -> impl IntoView {
    let me = expect_context::<MeResource>();
    let may = move |p: Perm| me.may(p);
    let uid = u.id;
    let AccountActions { unlock, reset_mfa, anonymise, suspend, reactivate, delete, restore, reset, send_link, resend, revoke_invitation } = a;
    use crate::status::UserStatus;
    let (active, suspended) = (!u.deleted && u.status == UserStatus::Active, !u.deleted && u.status == UserStatus::Suspended);
    let pending = !u.deleted && u.status == UserStatus::Pending;
    let anonymised = u.email.ends_with("@anonymised.invalid");
    view! {
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
            {pending.then(|| {
                let said = match &u.invitation {
                    None => "Invited, but no invitation was sent: send one.".to_string(),
                    Some(i) if i.ended => format!("Invited {}{}. That link no longer works: send the invitation again.", i.sent, by(&i.sent_by)),
                    Some(i) => format!("Invited {}{}. The link works until {}.", i.sent, by(&i.sent_by), i.expires),
                };
                view! {
                    <div class="mt-3 space-y-2 rounded-md border border-sky-200 bg-sky-50 px-3 py-2 text-sm text-sky-900 dark:border-sky-900 dark:bg-sky-950/50 dark:text-sky-200" data-testid="invitation">
                        <p>{said}</p>
                        {outcome(resend, "The invitation was sent again; the earlier link no longer works.")}
                        {outcome(revoke_invitation, "Invitation revoked.")}
                        <div class="flex flex-wrap gap-2">
                            {may(Perm::UserCreate).then(|| view! {
                                <ActionForm action=resend>
                                    <input type="hidden" name="user_id" value=uid.to_string() />
                                    <button type="submit" class=BUTTON_SECONDARY data-testid="resend-invitation">"Send the invitation again"</button>
                                </ActionForm>
                            })}
                            {may(Perm::UserDelete).then(|| view! {
                                <Confirm label="Revoke the invitation" question="Revoke this invitation? The link stops working and the account is deleted (you can restore it, then invite again).">
                                    <ActionForm action=revoke_invitation>
                                        <input type="hidden" name="user_id" value=uid.to_string() />
                                        <button type="submit" class=BUTTON_DANGER data-testid="confirm-revoke-invitation">"Yes, revoke"</button>
                                    </ActionForm>
                                </Confirm>
                            })}
                        </div>
                    </div>
                }
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
                {outcome(send_link, "A link to choose a password was sent to this person's address. It works once, for a day.")}
                {move || reset.value().get().and_then(|r| r.ok()).map(|p| view! { <OneTimePassword password=p whom="this user" /> })}
                <div class="flex flex-wrap gap-2">
                    {(may(Perm::UserResetPassword) && active).then(|| view! {
                        <ActionForm action=send_link>
                            <input type="hidden" name="user_id" value=uid.to_string() />
                            <button type="submit" class=BUTTON_SECONDARY data-testid="send-reset-link" title="Mail the person a link to choose a password themselves: nobody else learns it">"Send a reset link"</button>
                        </ActionForm>
                    })}
                    {(may(Perm::UserResetPassword) && !u.deleted && !pending).then(|| view! {
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
    }
}

/// " by <name>", or nothing when the sender is gone.
fn by(name: &str) -> String {
    if name.is_empty() { String::new() } else { format!(" by {name}") }
}

/// The person's open sessions, each revocable, and "sign out everywhere".
#[component]
fn SessionsPanel(u: UserDetail, revoke: ServerAction<RevokeSessions>) -> impl IntoView {
    let me = expect_context::<MeResource>();
    let may = move |p: Perm| me.may(p);
    let uid = u.id;
    view! {
        <section class=CARD aria-labelledby="sessions-heading">
            <h2 id="sessions-heading" class=HEADING>"Active sessions"</h2>
            {outcome(revoke, "Signed out.")}
            <ul class="mt-3 space-y-2 text-sm" data-testid="user-sessions">
                {u.sessions.iter().cloned().map(|s| {
                    
                    view! {
                        <li class="flex items-start justify-between gap-2">
                            <div>
                                <div>{s.created_at} {s.current.then_some(" · this session")}</div>
                                <div class="text-xs text-slate-500 dark:text-slate-400">{s.ip} " " {s.user_agent.chars().take(60).collect::<String>()}</div>
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
            {u.sessions.is_empty().then(|| view! { <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">"No active sessions."</p> })}
            {(may(Perm::UserRevokeSessions) && !u.sessions.is_empty()).then(|| view! {
                <ActionForm action=revoke attr:class="mt-3">
                    <input type="hidden" name="user_id" value=uid.to_string() />
                    <button type="submit" class=BUTTON_SECONDARY>"Sign out everywhere"</button>
                </ActionForm>
            })}
        </section>
    }
}

