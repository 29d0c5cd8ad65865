//! The settings' cards.

use super::*;
use crate::authz::Perm;
use crate::components::*;
use crate::nav::MeResource;
use crate::users::grouped;
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

/// `/settings`: the organisation's own settings, for those who hold the
/// Settings view (owners). Name and brand colour save with or without
/// JavaScript; the logo is a plain multipart form.
#[component]
pub fn SettingsPage() -> impl IntoView {
    use crate::authz::View;
    use crate::pages::ViewGate;
    use leptos_meta::Title;
    use leptos_router::hooks::use_query_map;
    let me = expect_context::<MeResource>();
    let save = ServerAction::<UpdateOrganisation>::new();
    let remove = ServerAction::<RemoveLogo>::new();
    let notices = ServerAction::<SetNewPlaceNotice>::new();
    let retention = ServerAction::<SetRetention>::new();
    let (saved, removed, noticed, kept) = (successes(save), successes(remove), successes(notices), successes(retention));
    let organisation = Resource::new(move || (saved.get(), removed.get(), noticed.get(), kept.get()), move |_| crate::pages::gated(me, View::Settings, get_organisation()));
    let query = use_query_map();
    let logo_error = Signal::derive(move || {
        let q = query.read();
        if q.get("field").as_deref() == Some("logo") { q.get("error") } else { None }
    });
    view! {
        <ViewGate view=View::Settings>
            <Title text="Settings" />
            <PageHeader title="Settings" purpose="How your organisation shows itself (on its sign-in page, in the top bar and in its mail), what its plan allows, and the rules its people sign in under." />
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match organisation.await {
                        Ok(o) => view! {
                            <OrganisationCard organisation=o.clone() save />
                            <LogoCard organisation=o.clone() remove error=logo_error />
                            <NoticesCard on=o.notify_new_place notices />
                            {me.may(Perm::UserDelete).then(|| view! { <RetentionCard days=o.anonymise_after_days action=retention /> })}
                            <PlanCard plan=o.plan />
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class=ALERT data-testid="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            {me.may(Perm::RoleRead).then(|| view! {
                <MfaRequirementCard />
                <ApiKeyLifetimeCard editable=me.may(Perm::RoleManage) />
            })}
            {(me.may(Perm::SettingsManage) && me.may(Perm::AuditRead)).then(|| view! { <crate::webhooks::pages::WebhooksCard /> })}
        </ViewGate>
    }
}

#[component]
fn OrganisationCard(organisation: Organisation, save: ServerAction<UpdateOrganisation>) -> impl IntoView {
    let Organisation { brand, version, .. } = organisation;
    let colour = brand.colour.clone().unwrap_or_default();
    view! {
        <section class=format!("{CARD} mb-6") aria-labelledby="organisation-heading" data-testid="organisation-settings">
            <div class="flex items-center gap-3">
                <BrandMark brand=Some(brand.clone()) />
                <div>
                    <h2 id="organisation-heading" class=HEADING>"Organisation"</h2>
                    <p class="text-sm text-slate-600 dark:text-slate-400">"Short name " <code>{brand.slug.clone()}</code> " (people sign in with it; the platform team changes it)."</p>
                </div>
            </div>
            <ActionForm action=save attr:class="mt-4 grid gap-3 sm:grid-cols-2">
                <input type="hidden" name="version" value=version.to_string() />
                <Field name="name" label="Name" value=brand.name.clone() autocomplete="organization" error=field_error(save, "name") />
                <Field name="brand_colour" label="Brand colour" value=colour optional=true hint="A colour like #0f766e, for the mark on the sign-in page, the top bar and mail. Empty: Steward's indigo." error=field_error(save, "brand_colour") />
                <div class="sm:col-span-2 flex items-center gap-3">
                    <button type="submit" class=BUTTON data-testid="save-organisation">"Save"</button>
                    {outcome(save, "Saved.")}
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn LogoCard(organisation: Organisation, remove: ServerAction<RemoveLogo>, error: Signal<Option<String>>) -> impl IntoView {
    let url = organisation.brand.logo_url();
    let facts = organisation.logo.map(|l| format!("{}, {} × {} pixels, {}", l.content_type, l.width, l.height, crate::documents::human_size(l.bytes)));
    view! {
        <section class=format!("{CARD} mb-6") aria-labelledby="logo-heading" data-testid="logo-settings">
            <h2 id="logo-heading" class=HEADING>"Logo"</h2>
            {match url {
                Some(url) => view! {
                    <div class="mt-3 flex flex-wrap items-center gap-4">
                        <img src=url alt="The organisation's logo" class="h-12 w-auto max-w-[12rem] rounded border border-slate-200 object-contain dark:border-slate-700" data-testid="current-logo" />
                        <span class="text-sm text-slate-600 dark:text-slate-400">{facts}</span>
                        <ActionForm action=remove>
                            <button type="submit" class=BUTTON_SECONDARY data-testid="remove-logo">"Remove the logo"</button>
                        </ActionForm>
                    </div>
                }.into_any(),
                None => view! { <p class="mt-1 text-sm text-slate-600 dark:text-slate-400" data-testid="no-logo">"No logo: the mark is the organisation's initial on its brand colour."</p> }.into_any(),
            }}
            <form method="post" action=super::LOGO_UPLOAD_PATH enctype="multipart/form-data" class="mt-4 flex flex-wrap items-end gap-3">
                <div class="space-y-1">
                    <label for="logo" class=LABEL>"A new logo"</label>
                    <input id="logo" name="logo" type="file" accept="image/png,image/jpeg,image/webp" required=true class="block text-sm" data-testid="logo-file"
                        aria-invalid=move || error.get().is_some().to_string() aria-describedby="logo-error" />
                    <p class="text-xs text-slate-500 dark:text-slate-400">"PNG, JPEG or WebP, 256 KB and 2,000 pixels a side at most; about 40 pixels high is how it shows."</p>
                    <p id="logo-error" class="min-h-[1.25rem] text-sm text-red-600 dark:text-red-400" data-testid="logo-error">{move || error.get()}</p>
                </div>
                <button type="submit" class=BUTTON_SECONDARY data-testid="upload-logo">"Upload"</button>
            </form>
        </section>
    }
}

/// How long deleted people keep their name and email before they are
/// anonymised; those with `user:delete` change it.
#[component]
pub fn RetentionCard(days: Option<i32>, action: ServerAction<SetRetention>) -> impl IntoView {
    view! {
        <section class=format!("{CARD} mb-6 max-w-2xl") data-testid="retention">
            <h2 class="text-base font-semibold">"Retention"</h2>
            <ActionForm action=action attr:class="mt-3 flex items-end gap-3">
                <Field name="days" label="Anonymise deleted people after (days)" value=days.map(|d| d.to_string()).unwrap_or_default() optional=true hint="Empty: never (only by hand)." />
                <button type="submit" class=BUTTON_SECONDARY>"Save"</button>
            </ActionForm>
            {outcome(action, "Saved.")}
        </section>
    }
}

#[component]
fn NoticesCard(on: bool, notices: ServerAction<SetNewPlaceNotice>) -> impl IntoView {
    view! {
        <section class=format!("{CARD} mb-6") aria-labelledby="notices-heading" data-testid="notice-settings">
            <h2 id="notices-heading" class=HEADING>"Security notices"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">"People are always told by mail when their password, second factor or API keys change, or their account is suspended."</p>
            <ActionForm action=notices attr:class="mt-3 flex flex-wrap items-center gap-3">
                <label class="inline-flex items-center gap-2 text-sm">
                    <input type="checkbox" name="on" value="true" checked=on data-testid="new-place-notice" />
                    "Also tell them of a sign-in from an address their account has not signed in from in the last 90 days"
                </label>
                <button type="submit" class=BUTTON_SECONDARY data-testid="save-notices">"Save"</button>
                {outcome(notices, "Saved.")}
            </ActionForm>
        </section>
    }
}

#[component]
fn PlanCard(plan: Plan) -> impl IntoView {
    let of = |used: String, max: Option<String>| match max {
        Some(max) => format!("{used} of {max}"),
        None => format!("{used} (no limit)"),
    };
    let people = of(grouped(plan.people), if plan.platform { None } else { plan.max_people.map(grouped) });
    let storage = of(
        crate::documents::human_size(plan.document_bytes),
        if plan.platform { None } else { plan.max_document_bytes.map(crate::documents::human_size) },
    );
    let near = |used: i64, max: Option<i64>| !plan.platform && max.is_some_and(|m| used * 10 >= m * 9);
    let warn = near(plan.people, plan.max_people) || near(plan.document_bytes, plan.max_document_bytes);
    view! {
        <section class=format!("{CARD} mb-6") aria-labelledby="plan-heading" data-testid="plan-settings">
            <h2 id="plan-heading" class=HEADING>"Plan"</h2>
            <dl class="mt-3 grid gap-2 text-sm sm:grid-cols-3">
                <div><dt class="text-slate-500 dark:text-slate-400">"Plan"</dt><dd class="font-medium" data-testid="plan-name">{plan.name.clone()}</dd></div>
                <div><dt class="text-slate-500 dark:text-slate-400">"People (not deleted)"</dt><dd class="font-medium" data-testid="plan-people">{people}</dd></div>
                <div><dt class="text-slate-500 dark:text-slate-400">"Documents (every version)"</dt><dd class="font-medium" data-testid="plan-storage">{storage}</dd></div>
            </dl>
            {warn.then(|| view! {
                <p role="status" class=format!("mt-3 {ALERT}") data-testid="plan-near-limit">"Nearly everything the plan allows is in use: past it, adding people or documents is refused. Ask the platform team for a larger plan."</p>
            })}
        </section>
    }
}
