//! The area's pages and components.

use super::*;
use crate::components::{Field, PageHeader, ALERT, BUTTON, CARD};
use crate::error::AppError;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/account/password`: the current password, the new one twice. Works
/// without JavaScript.
#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    let forced = move || query.read().get("next").is_some();
    let error = move |name: &'static str| {
        Signal::derive(move || action.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.field(name))))
    };
    let general = move || {
        action.value().with(|v| match v {
            Some(Err(AppError::Validation(_))) | None | Some(Ok(_)) => None,
            Some(Err(e)) => Some(e.to_string()),
        })
    };
    view! {
        <Title text="Change password" />
        <PageHeader title="Change password" purpose="Your other sessions are signed out when you change it." />
        <AccountTabs current=crate::auth::CHANGE_PASSWORD_PATH />
        <div class=format!("{CARD} max-w-lg")>
            {move || forced().then(|| view! {
                <p role="status" class="mb-4 text-sm text-slate-700 dark:text-slate-300" data-testid="must-change">
                    "Choose a password of your own to continue. It needs at least 12 characters, and not one of the most common."
                </p>
            })}
            <ActionForm action=action attr:class="space-y-4" attr:data-testid="change-password-form">
                {move || general().map(|m| view! { <p role="alert" data-testid="form-error" class=ALERT>{m}</p> })}
                <Field name="current_password" label="Current password" kind="password" autocomplete="current-password" error=error("current_password") />
                <Field name="new_password" label="New password" kind="password" autocomplete="new-password" error=error("new_password") hint="At least 12 characters. A passphrase of a few unrelated words works well." />
                <Field name="confirm_password" label="New password again" kind="password" autocomplete="new-password" error=error("confirm_password") />
                <input type="hidden" name="next" value=next />
                <button type="submit" class=BUTTON data-testid="change-password-submit" disabled=move || action.pending().get()>
                    "Change password"
                </button>
            </ActionForm>
        </div>
        <MySessions />
    }
}

/// `/account/two-factor`: set up an authenticator app (scan, then confirm
/// with a first code; the recovery codes are shown once), or turn it off.
#[component]
pub fn TwoFactorPage() -> impl IntoView {
    let start = ServerAction::<StartMfa>::new();
    let confirm = ServerAction::<ConfirmMfa>::new();
    let disable = ServerAction::<DisableMfa>::new();
    let query = use_query_map();
    let next = move || query.read().get("next");
    let status = Resource::new(
        move || (confirm.version().get(), disable.version().get()),
        |_| mfa_status(),
    );
    let code_error = Signal::derive(move || confirm.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.field("code"))));
    let password_error = Signal::derive(move || disable.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.field("current_password"))));
    let off_code_error = Signal::derive(move || disable.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.field("code"))));
    let start_password_error = Signal::derive(move || start.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.field("current_password"))));
    view! {
        <Title text="Two-factor sign-in" />
        <PageHeader title="Two-factor sign-in" purpose="A code from an authenticator app on your phone, asked after your password." />
        <AccountTabs current=crate::auth::MFA_SETUP_PATH />
        <div class=format!("{CARD} max-w-2xl space-y-4")>
            {crate::components::outcome(start, "")}
            {crate::components::outcome(disable, "Two-factor sign-in is off.")}
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let st = match status.await {
                        Ok(st) => st,
                        Err(e) => return view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                    };
                    let codes = confirm.value().get().and_then(|r| r.ok());
                    if let Some(codes) = codes {
                        let then = crate::auth::safe_next(next().as_deref());
                        return view! {
                            <div data-testid="recovery-codes" class="space-y-3">
                                <p role="status" class=crate::components::NOTICE>"Two-factor sign-in is on."</p>
                                <p class="text-sm">"Keep these recovery codes somewhere safe. Each one signs you in once if you lose your phone. They are not shown again."</p>
                                <ul class="grid grid-cols-2 gap-2 font-mono text-sm">
                                    {codes.into_iter().map(|c| view! { <li data-testid="recovery-code">{c}</li> }).collect_view()}
                                </ul>
                                <a href=then class=crate::components::LINK>"I have kept them: continue"</a>
                            </div>
                        }.into_any();
                    }
                    if st.enabled {
                        return view! {
                            <div data-testid="mfa-on" class="space-y-3">
                                <p class="text-sm">"Two-factor sign-in is on. Recovery codes left: " {st.recovery_codes_left} "."</p>
                                {if st.required {
                                    view! { <p class="text-sm text-slate-600 dark:text-slate-400">"Your organisation requires it, so it stays on."</p> }.into_any()
                                } else {
                                    view! {
                                        <ActionForm action=disable attr:class="space-y-3">
                                            <Field name="current_password" label="Your password" kind="password" autocomplete="current-password" error=password_error />
                                            <Field name="code" label="A code from your app" autocomplete="one-time-code" error=off_code_error />
                                            <button type="submit" class=crate::components::BUTTON_DANGER data-testid="mfa-disable">"Turn two-factor sign-in off"</button>
                                        </ActionForm>
                                    }.into_any()
                                }}
                            </div>
                        }.into_any();
                    }
                    let setup = start.value().get().and_then(|r| r.ok());
                    view! {
                        <div class="space-y-4" data-testid="mfa-off">
                            {st.required.then(|| view! {
                                <p role="status" data-testid="mfa-required" class="text-sm font-medium">"Your organisation requires two-factor sign-in. Set it up to continue."</p>
                            })}
                            {match setup {
                                None => view! {
                                    <ActionForm action=start attr:class="space-y-3">
                                        <Field name="current_password" label="Your password" kind="password" autocomplete="current-password" error=start_password_error hint="Asked again so that nobody who only holds your session can put their phone on your account." />
                                        <button type="submit" class=BUTTON data-testid="mfa-start">"Set up an authenticator app"</button>
                                    </ActionForm>
                                }.into_any(),
                                Some(setup) => view! {
                                    <div class="space-y-3">
                                        <p class="text-sm">"1. Scan this code with your authenticator app (or type the key below into it)."</p>
                                        <div class="w-52 rounded bg-white p-2" data-testid="mfa-qr" inner_html=setup.qr_svg></div>
                                        <p class="font-mono text-sm break-all" data-testid="mfa-secret">{setup.secret}</p>
                                        <p class="text-sm">"2. Type the 6-digit code the app shows."</p>
                                        <ActionForm action=confirm attr:class="space-y-3">
                                            <Field name="code" label="Code" autocomplete="one-time-code" error=code_error />
                                            <button type="submit" class=BUTTON data-testid="mfa-confirm">"Turn on"</button>
                                        </ActionForm>
                                    </div>
                                }.into_any(),
                            }}
                        </div>
                    }.into_any()
                })}
            </Transition>
        </div>
    }
}

/// The account pages' own navigation.
#[component]
pub fn AccountTabs(current: &'static str) -> impl IntoView {
    let tabs = [
        (crate::auth::CHANGE_PASSWORD_PATH, "Password"),
        (crate::auth::MFA_SETUP_PATH, "Two-factor sign-in"),
        (APPEARANCE_PATH, "Appearance"),
        ("/account/api-keys", "API keys"),
        ("/account/privacy", "Your data"),
    ];
    view! {
        <nav class="mb-4 flex gap-4 border-b border-slate-200 text-sm dark:border-slate-800" aria-label="Your account" data-testid="account-tabs">
            {tabs.into_iter().map(|(href, label)| {
                let here = href == current;
                view! {
                    <a href=href aria-current=here.then_some("page")
                       class=if here { "-mb-px border-b-2 border-indigo-600 px-1 pb-2 font-medium" } else { "px-1 pb-2 text-slate-600 hover:text-slate-900 dark:text-slate-400" }>
                        {label}
                    </a>
                }
            }).collect_view()}
        </nav>
    }
}

/// The person's own sessions: where they are signed in, and signing the
/// others out.
#[component]
fn MySessions() -> impl IntoView {
    let revoke = ServerAction::<RevokeMySessions>::new();
    let done = crate::components::successes(revoke);
    let sessions = Resource::new(move || done.get(), |_| list_my_sessions());
    view! {
        <section class=format!("{CARD} mt-6 max-w-lg") aria-labelledby="my-sessions-heading" data-testid="my-sessions">
            <h2 id="my-sessions-heading" class="text-base font-semibold">"Where you are signed in"</h2>
            {crate::components::outcome(revoke, "Signed out.")}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let rows = sessions.await.unwrap_or_default();
                    let others = rows.iter().filter(|s| !s.current).count();
                    view! {
                        <ul class="mt-3 space-y-2 text-sm">
                            {rows.into_iter().map(|s| view! {
                                <li class="flex items-start justify-between gap-2" data-testid="my-session">
                                    <div>
                                        <div>{s.created_at} {s.current.then_some(" · this session")}</div>
                                        <div class="text-xs text-slate-500 dark:text-slate-400">{s.ip} " " {s.user_agent.chars().take(60).collect::<String>()}</div>
                                    </div>
                                    {(!s.current).then(|| view! {
                                        <ActionForm action=revoke>
                                            <input type="hidden" name="session_id" value=s.id.to_string() />
                                            <button type="submit" class=crate::components::BUTTON_QUIET>"Sign out"</button>
                                        </ActionForm>
                                    })}
                                </li>
                            }).collect_view()}
                        </ul>
                        {(others > 0).then(|| view! {
                            <ActionForm action=revoke attr:class="mt-3">
                                <button type="submit" class=crate::components::BUTTON_SECONDARY data-testid="sign-out-others">"Sign out everywhere else"</button>
                            </ActionForm>
                        })}
                    }
                })}
            </Transition>
        </section>
    }
}

/// Where the person chooses their theme.
pub const APPEARANCE_PATH: &str = "/account/appearance";

/// `/account/appearance`: light, dark, or as the system is set, for every
/// page this person opens (applied by the server, so no page flashes in
/// the other colours). Works without JavaScript.
#[component]
pub fn AppearancePage() -> impl IntoView {
    use crate::status::Theme;
    let save = ServerAction::<SetTheme>::new();
    let saved = crate::components::successes(save);
    let current = Resource::new(move || saved.get(), |_| get_theme());
    let flash = use_context::<crate::components::FlashResource>();
    // With JavaScript the page changes colours at once; without, the
    // server's answer (a new page) brings them.
    Effect::new(move |_| {
        if let Some(Ok(_theme)) = save.value().get() {
            #[cfg(feature = "hydrate")]
            crate::status::set_theme_on_page(_theme);
        }
    });
    view! {
        <Title text="Appearance" />
        <PageHeader title="Appearance" purpose="The console's colours, on every device you sign in from." />
        <AccountTabs current=APPEARANCE_PATH />
        <section class=format!("{CARD} max-w-lg") aria-labelledby="theme-heading" data-testid="appearance">
            <h2 id="theme-heading" class="text-base font-semibold">"Theme"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    // Without JavaScript, the notice comes back through the flash.
                    if let Some(flash) = flash {
                        let _ = flash.0.await;
                    }
                    let chosen = current.await.unwrap_or(Theme::System);
                    view! {
                        <crate::components::FlashNotice />
                        <ActionForm action=save attr:class="mt-3 space-y-3">
                            <fieldset class="space-y-2 text-sm">
                                <legend class="sr-only">"Theme"</legend>
                                {Theme::ALL.iter().map(|&theme| view! {
                                    <label class="flex items-center gap-2">
                                        <input type="radio" name="theme" value=theme.as_str() checked=theme == chosen data-testid=format!("theme-{}", theme.as_str()) />
                                        {theme.label()}
                                    </label>
                                }).collect_view()}
                            </fieldset>
                            <button type="submit" class=BUTTON data-testid="save-theme">"Save"</button>
                            {crate::components::outcome(save, "Appearance saved.")}
                        </ActionForm>
                    }
                })}
            </Transition>
        </section>
    }
}
