//! The settings' cards.

use super::*;
use crate::authz::Perm;
use crate::components::*;
use crate::nav::MeResource;
use leptos::prelude::*;

/// Whom the organisation requires to sign in with a second factor; those
/// with `role:manage` change it.
#[component]
pub fn MfaRequirementCard() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let save = ServerAction::<SetMfaRequirement>::new();
    let saved = successes(save);
    let level = Resource::new(move || saved.get(), |_| get_mfa_requirement());
    use crate::status::MfaRequirement;
    let label = |level: MfaRequirement| match level {
        MfaRequirement::Off => "Nobody",
        MfaRequirement::Admins => "Administrators (whoever may change others' access)",
        MfaRequirement::Everyone => "Everyone",
    };
    view! {
        <section class=format!("{CARD} mb-6") aria-labelledby="mfa-requirement-heading" data-testid="mfa-requirement">
            <h2 id="mfa-requirement-heading" class=HEADING>"Two-factor sign-in"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let current = level.await.unwrap_or(MfaRequirement::Off);
                    let editable = me.may(Perm::RoleManage);
                    view! {
                        <ActionForm action=save attr:class="mt-3 flex flex-wrap items-end gap-3">
                            <fieldset class="flex flex-wrap gap-4 text-sm" disabled=!editable>
                                <legend class="sr-only">"Required of"</legend>
                                {MfaRequirement::ALL.iter().map(|&level| view! {
                                    <label class="inline-flex items-center gap-2">
                                        <input type="radio" name="level" value=level.as_str() checked=current == level />
                                        {label(level)}
                                    </label>
                                }).collect_view()}
                            </fieldset>
                            {editable.then(|| view! { <button type="submit" class=BUTTON_SECONDARY data-testid="save-mfa-requirement">"Save"</button> })}
                        </ActionForm>
                        {outcome(save, "Saved. It applies from each person's next sign-in.")}
                    }
                })}
            </Transition>
        </section>
    }
}

/// How long the organisation's API keys may live.
#[component]
pub fn ApiKeyLifetimeCard(editable: bool) -> impl IntoView {
    let save = ServerAction::<SetApiKeyMaxDays>::new();
    let saved = crate::components::successes(save);
    let days = Resource::new(move || saved.get(), |_| get_api_key_max_days());
    view! {
        <section class=format!("{CARD} mb-6") aria-labelledby="key-lifetime-heading" data-testid="api-key-lifetime">
            <h2 id="key-lifetime-heading" class="text-base font-semibold">"API keys"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let current = days.await.unwrap_or(90);
                    view! {
                        <ActionForm action=save attr:class="mt-3 flex flex-wrap items-end gap-3">
                            <div class="space-y-1">
                                <label for="days" class=LABEL>"Longest lifetime of a key, in days"</label>
                                <input id="days" name="days" type="number" min="1" max="365" value=current.to_string() disabled=!editable class=crate::components::INPUT />
                            </div>
                            {editable.then(|| view! { <button type="submit" class=crate::components::BUTTON_SECONDARY data-testid="save-key-lifetime">"Save"</button> })}
                        </ActionForm>
                        {outcome(save, "Saved. It applies to keys made from now on.")}
                    }
                })}
            </Transition>
        </section>
    }
}
