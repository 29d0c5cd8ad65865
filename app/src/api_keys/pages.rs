//! The area's pages and components.

use crate::authz::Perm;
use super::*;
use crate::components::{outcome, DataTable, Field, PageHeader, ALERT, BUTTON, BUTTON_QUIET, CARD, LABEL, NOTICE, SELECT};
use crate::error::AppError;
use leptos_meta::Title;
use crate::ids::UserId;
use uuid::Uuid;

/// `/account/api-keys`: the caller's keys, a form to make one (the key is
/// shown once), and revoking.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let me = expect_context::<crate::nav::MeResource>();
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let created = crate::components::successes(create);
    let revoked = crate::components::successes(revoke);
    let keys = Resource::new(move || (created.get(), revoked.get()), |_| list_api_keys());
    let error = move |name: &'static str| crate::components::field_error(create, name);
    // The permissions the person holds: a key may carry no others.
    let held: Vec<String> = me.0.get_untracked().and_then(|r| r.ok()).flatten().map(|m| m.permissions).unwrap_or_default();
    view! {
        <Title text="API keys" />
        <PageHeader title="API keys" purpose="Keys let a program use Steward's JSON API (/api/v1) as you, limited to the permissions you choose." />
        <crate::account::pages::AccountTabs current="/account/api-keys" />
        <div class="space-y-6">
            <section class=format!("{CARD} max-w-3xl") aria-labelledby="new-key-heading">
                <h2 id="new-key-heading" class="text-base font-semibold">"New key"</h2>
                {move || create.value().get().and_then(|r| r.ok()).map(|k| view! {
                    <div role="status" class=format!("{NOTICE} mt-3 space-y-1") data-testid="new-api-key">
                        <p>"Copy the key now: it is not shown again."</p>
                        <p class="font-mono break-all" data-testid="api-key-text">{k.key}</p>
                    </div>
                })}
                {move || create.value().get().and_then(|r| r.err()).filter(|e| !matches!(e, AppError::Validation(_))).map(|e| view! { <p role="alert" class=ALERT>{e.to_string()}</p> })}
                <ActionForm action=create attr:class="mt-3 space-y-4">
                    <Field name="name" label="Name" hint="What will use it, such as \"HR sync\"." error=error("name") />
                    <fieldset class="space-y-1">
                        <legend class=LABEL>"Permissions"</legend>
                        <div class="grid grid-cols-2 gap-1 text-sm sm:grid-cols-3">
                            {held.into_iter().map(|p| view! {
                                <label class="inline-flex items-center gap-2">
                                    <input type="checkbox" name="scopes[]" value=p.clone() />
                                    <span class="font-mono text-xs">{p}</span>
                                </label>
                            }).collect_view()}
                        </div>
                        <p class="text-sm text-red-600 dark:text-red-400" data-testid="scopes-error">{move || error("scopes").get()}</p>
                    </fieldset>
                    <div class="max-w-xs space-y-1">
                        <label for="expires_in_days" class=LABEL>"Expires"</label>
                        <select id="expires_in_days" name="expires_in_days" class=SELECT>
                            <option value="7">"in 7 days"</option>
                            <option value="30">"in 30 days"</option>
                            <option value="" selected>"as late as allowed (90 days unless your organisation says otherwise)"</option>
                        </select>
                        <p class="text-sm text-red-600 dark:text-red-400">{move || error("expires_in_days").get()}</p>
                    </div>
                    <Field name="current_password" label="Your password" kind="password" autocomplete="current-password" error=error("current_password") hint="Asked again: a key works without you." />
                    <Field name="code" label="A code from your app (when two-factor sign-in is on)" autocomplete="one-time-code" optional=true error=error("code") />
                    <button type="submit" class=BUTTON data-testid="create-api-key">"Make key"</button>
                </ActionForm>
            </section>
            <section class=CARD aria-labelledby="keys-heading">
                <h2 id="keys-heading" class="text-base font-semibold">"Your keys"</h2>
                {outcome(revoke, "Key revoked.")}
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match keys.await {
                            Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                            Ok(rows) if rows.is_empty() => view! { <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">"No keys yet."</p> }.into_any(),
                            Ok(rows) => view! {
                                <DataTable testid="api-keys" columns=&["Name", "Key", "Permissions", "Expires", "Last used", "State", ""] class="mt-3">
                                        {rows.into_iter().map(|k| { let (id, active) = (k.id, k.state == "active"); view! {
                                            <tr data-testid="api-key-row">
                                                {key_cells(k)}
                                                <td>
                                                    {active.then(|| view! {
                                                        <ActionForm action=revoke>
                                                            <input type="hidden" name="key_id" value=id.to_string() />
                                                            <button type="submit" class=BUTTON_QUIET data-testid="revoke-api-key">"Revoke"</button>
                                                        </ActionForm>
                                                    })}
                                                </td>
                                            </tr>
                                        }}).collect_view()}
                                </DataTable>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </div>
    }
}

/// `/users/{id}/api-keys`, for administrators: a person's API keys, and
/// revoking them (the delegation rule applies: only for people whose grants
/// are within one's own; otherwise the sentence why).
#[component]
pub fn UserApiKeysPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let user_id = move || params.read().get("id").and_then(|id| id.parse().ok()).unwrap_or(UserId(Uuid::nil()));
    let me = expect_context::<crate::nav::MeResource>();
    let revoke = ServerAction::<RevokeUserApiKey>::new();
    let revoked = crate::components::successes(revoke);
    let keys = Resource::new(move || (user_id(), revoked.get()), |(id, _)| list_user_api_keys(id));
    view! {
        <Title text="API keys of a person" />
        <PageHeader title="API keys of a person" purpose="Keys this person made for the JSON API. Revoking one stops it at once.">
            <a href=move || format!("/users/{}", user_id()) class=BUTTON_QUIET>"Back to the person"</a>
        </PageHeader>
        <section class=CARD data-testid="user-api-keys">
            {outcome(revoke, "Key revoked.")}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let may_revoke = me.may(Perm::UserRevokeSessions);
                    match keys.await {
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(rows) if rows.is_empty() => view! { <p class="text-sm text-slate-500 dark:text-slate-400">"No keys."</p> }.into_any(),
                        Ok(rows) => view! {
                            <DataTable testid="user-api-key-table" columns=&["Name", "Key", "Permissions", "Expires", "Last used", "State", ""]>
                                {rows.into_iter().map(|k| { let (id, active) = (k.id, k.state == "active"); view! {
                                    <tr data-testid="user-api-key">
                                        {key_cells(k)}
                                        <td>
                                            {(may_revoke && active).then(|| view! {
                                                <ActionForm action=revoke>
                                                    <input type="hidden" name="user_id" value=user_id().to_string() />
                                                    <input type="hidden" name="key_id" value=id.to_string() />
                                                    <button type="submit" class=BUTTON_QUIET data-testid="revoke-user-api-key">"Revoke"</button>
                                                </ActionForm>
                                            })}
                                        </td>
                                    </tr>
                                }}).collect_view()}
                            </DataTable>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// A key's cells but its action: the same in your own list and in a
/// user's.
fn key_cells(k: ApiKeyRow) -> impl IntoView {
    view! {
        <td>{k.name}</td>
        <td class="font-mono text-xs">{k.shown}</td>
        <td class="font-mono text-xs">{k.scopes.join(" ")}</td>
        <td>{k.expires_at}</td>
        <td>{k.last_used_at}</td>
        <td>{k.state}</td>
    }
}
