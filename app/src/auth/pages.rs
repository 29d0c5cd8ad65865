//! The sign-in page. Works without JavaScript: the form posts to the
//! `sign_in` server function, which redirects on success and otherwise
//! returns here with the error (and what was typed, except the password).

use super::{check_password_link, sign_in_hint, RequestPasswordLink, SignIn, UsePasswordLink, VerifyMfa};
use crate::components::flash::take_flash;
use crate::components::{Field, FlashResource, BUTTON_PRIMARY, CARD, LINK, NOTICE};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let hint = Resource::new_blocking(|| (), |_| sign_in_hint());
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();

    let error = move || action.value().get().and_then(|r| r.err());
    let field_error = move |name: &'static str| Signal::derive(move || error().and_then(|e| e.field(name)));
    let general_error = move || match error() {
        Some(AppError::Validation(_)) | None => None,
        Some(e) => Some(e.to_string()),
    };

    view! {
        <SignInFrame tab="Sign in" title="Sign in to Steward" line="Use your organisation's short name, your email and password.">
                {move || query.read().get("password").is_some_and(|p| p == "changed").then(|| view! {
                    <p role="status" data-testid="password-changed" class=format!("mb-4 {NOTICE}")>
                        "Your password was changed: sign in with it."
                    </p>
                })}
                {move || query.read().get("joined").is_some().then(|| view! {
                    <p role="status" data-testid="invitation-accepted" class=format!("mb-4 {NOTICE}")>
                        "Your account is ready: sign in with your new password."
                    </p>
                })}
                <div class=CARD>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let hint = hint.await.unwrap_or_default();
                            view! {
                                {hint.brand.clone().map(|brand| view! { <OrganisationHeading brand lead="Sign in to" /> })}
                                <ActionForm action=action attr:class="space-y-4" attr:data-testid="sign-in-form">
                                    {move || general_error().map(|message| view! {
                                        <div role="alert" data-testid="sign-in-error" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-700 dark:border-red-900 dark:bg-red-950/50 dark:text-red-300">
                                            {message}
                                        </div>
                                    })}
                                    <Field name="tenant" label="Organisation" value=hint.tenant.clone() autocomplete="organization" error=field_error("tenant") autofocus=hint.tenant.is_empty() />
                                    <Field name="email" label="Email" kind="email" value=hint.email.clone() autocomplete="username" error=field_error("email") />
                                    <Field name="password" label="Password" kind="password" autocomplete="current-password" error=field_error("password") autofocus=!hint.tenant.is_empty() />
                                    <input type="hidden" name="next" value=next />
                                    <button type="submit" class=BUTTON_PRIMARY data-testid="sign-in-submit" disabled=move || action.pending().get()>
                                        {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                                    </button>
                                </ActionForm>
                            }
                        })}
                    </Suspense>
                </div>
                <p class="mt-4 text-center text-sm">
                    <a href=super::FORGOT_PATH class=LINK data-testid="forgot-link">"Forgot your password?"</a>
                </p>
        </SignInFrame>
    }
}

/// The organisation the page is about, as it shows itself: its mark (logo,
/// or initial on its brand colour) and its name.
#[component]
fn OrganisationHeading(brand: super::Brand, lead: &'static str) -> impl IntoView {
    let name = brand.name.clone();
    view! {
        <div class="mb-4 flex items-center gap-3" data-testid="sign-in-brand">
            <crate::components::BrandMark brand=Some(brand) />
            <div>
                <p class="text-xs text-slate-500 dark:text-slate-400">{lead}</p>
                <p class="font-semibold" data-testid="sign-in-organisation">{name}</p>
            </div>
        </div>
    }
}

/// The frame of the pages of signing in: the mark, a title and a line.
#[component]
fn SignInFrame(
    title: &'static str,
    line: &'static str,
    /// A "Back to sign in" link under the card.
    #[prop(optional)]
    back: bool,
    /// The browser tab's title, when not `title`.
    #[prop(optional)]
    tab: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <Title text=if tab.is_empty() { title } else { tab } />
        <main class="flex min-h-screen items-center justify-center px-4 py-12">
            <div class="w-full max-w-sm">
                <div class="mb-8 text-center">
                    <span class="inline-flex h-10 w-10 items-center justify-center rounded-lg bg-indigo-600 text-lg font-bold text-white">"S"</span>
                    <h1 class="mt-4 text-2xl font-semibold tracking-tight">{title}</h1>
                    <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">{line}</p>
                </div>
                {children()}
                {back.then(|| view! { <p class="mt-4 text-center text-sm"><a href="/login" class=LINK>"Back to sign in"</a></p> })}
            </div>
        </main>
    }
}

const ALERT_BOX: &str = "rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-700 dark:border-red-900 dark:bg-red-950/50 dark:text-red-300";

/// `/login/forgot`: "Forgot your password?". Works without JavaScript.
/// After the request the page says the same whatever the address was.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordLink>::new();
    let flash = Resource::new_blocking(|| (), |_| take_flash());
    provide_context(FlashResource(flash));
    let query = use_query_map();
    let error = move || action.value().get().and_then(|r| r.err());
    let field_error = move |name: &'static str| Signal::derive(move || error().and_then(|e| e.field(name)));
    let general_error = move || match error() {
        Some(AppError::Validation(_)) | None => None,
        Some(e) => Some(e.to_string()),
    };
    view! {
        <SignInFrame back=true title="Forgot your password?" line="Give your organisation's short name and the email you sign in with: a link to choose a new password goes to that address.">
            <div class=CARD>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let _ = flash.await;
                        if query.read().get("sent").is_some() {
                            return view! { <p role="status" data-testid="link-sent" class="text-sm">{super::ASKED_ANSWER}</p> }.into_any();
                        }
                        view! {
                            <ActionForm action=action attr:class="space-y-4" attr:data-testid="forgot-form">
                                {move || general_error().map(|message| view! { <div role="alert" data-testid="forgot-error" class=ALERT_BOX>{message}</div> })}
                                <Field name="tenant" label="Organisation" autocomplete="organization" error=field_error("tenant") autofocus=true />
                                <Field name="email" label="Email" kind="email" autocomplete="username" error=field_error("email") />
                                <button type="submit" class=BUTTON_PRIMARY data-testid="forgot-submit" disabled=move || action.pending().get()>
                                    "Send the link"
                                </button>
                            </ActionForm>
                        }
                        .into_any()
                    })}
                </Suspense>
            </div>
        </SignInFrame>
    }
}

/// `/login/reset?link=…` and `/login/join?link=…`: choosing a password
/// with a link from a mail, a reset or an invitation (the page says which,
/// for whom and where). Works without JavaScript; a link that no longer
/// works says so and points to asking for a new one.
#[component]
pub fn PasswordLinkPage() -> impl IntoView {
    let action = ServerAction::<UsePasswordLink>::new();
    let query = use_query_map();
    let link = move || query.read().get("link").unwrap_or_default();
    let live = Resource::new_blocking(link, check_password_link);
    // An invitation's page points back to whoever invited, not to
    // "Forgot your password?" (a pending person has no password yet).
    let joining = leptos_router::hooks::use_location().pathname.get_untracked() == super::JOIN_PATH;
    let said = move |message: String| if joining && message == super::LINK_BROKEN { super::INVITATION_BROKEN.to_string() } else { message };
    let error = move || action.value().get().and_then(|r| r.err());
    let field_error = move |name: &'static str| Signal::derive(move || error().and_then(|e| e.field(name)));
    let general_error = move || match error() {
        Some(AppError::Validation(errors)) => errors.iter().find(|e| e.field == "link").map(|e| said(e.message.clone())),
        None => None,
        Some(e) => Some(e.to_string()),
    };
    view! {
        <SignInFrame back=true tab="Choose a password" title="Choose a password" line="At least 12 characters. A passphrase of a few unrelated words works well.">
            <div class=CARD>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let facts = match live.await {
                            Ok(facts) => facts,
                            Err(e) => {
                                let message = said(e.field("link").unwrap_or_else(|| e.to_string()));
                                return view! {
                                    <div role="alert" data-testid="link-broken" class=ALERT_BOX>{message}</div>
                                    {(!joining).then(|| view! { <p class="mt-4 text-sm"><a href=super::FORGOT_PATH class=LINK>"Ask for a new link"</a></p> })}
                                }
                                .into_any();
                            }
                        };
                        let (heading, line) = if facts.invitation {
                            (format!("Join {}", facts.organisation), format!("You were invited as {}. Choose your password to finish.", facts.email))
                        } else {
                            ("Choose a new password".to_string(), format!("For {} at {}.", facts.email, facts.organisation))
                        };
                        view! {
                            {facts.brand.clone().map(|brand| view! { <OrganisationHeading brand lead=if facts.invitation { "Invited to" } else { "Your account at" } /> })}
                            <h2 class="text-base font-semibold" data-testid="link-heading">{heading}</h2>
                            <p class="mb-4 mt-1 text-sm text-slate-600 dark:text-slate-400" data-testid="link-for">{line}</p>
                            <ActionForm action=action attr:class="space-y-4" attr:data-testid="reset-form">
                                {move || general_error().map(|message| view! { <div role="alert" data-testid="reset-error" class=ALERT_BOX>{message}</div> })}
                                <input type="hidden" name="link" value=link />
                                <Field name="new_password" label="New password" kind="password" autocomplete="new-password" error=field_error("new_password") autofocus=true />
                                <Field name="confirm_password" label="New password again" kind="password" autocomplete="new-password" error=field_error("confirm_password") />
                                <button type="submit" class=BUTTON_PRIMARY data-testid="reset-submit" disabled=move || action.pending().get()>
                                    {if facts.invitation { "Set the password and join" } else { "Set the password" }}
                                </button>
                            </ActionForm>
                        }
                        .into_any()
                    })}
                </Suspense>
            </div>
        </SignInFrame>
    }
}

/// `/login/code`: the second step of signing in, for accounts with
/// two-factor sign-in. Works without JavaScript.
#[component]
pub fn MfaCodePage() -> impl IntoView {
    let action = ServerAction::<VerifyMfa>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || action.value().get().and_then(|r| r.err());
    let field_error = Signal::derive(move || error().and_then(|e| e.field("code")));
    let general_error = move || match error() {
        Some(AppError::Validation(_)) | None => None,
        Some(e) => Some(e.to_string()),
    };
    view! {
        <SignInFrame tab="Two-factor sign-in" title="Enter your code" line="Open your authenticator app and type the 6-digit code for Steward. Lost the app? Type one of your recovery codes instead.">
                <div class=CARD>
                    <ActionForm action=action attr:class="space-y-4" attr:data-testid="mfa-form">
                        {move || general_error().map(|message| view! {
                            <div role="alert" data-testid="mfa-error" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-700 dark:border-red-900 dark:bg-red-950/50 dark:text-red-300">
                                {message} " " <a href="/login" class="font-medium underline">"Sign in again"</a>
                            </div>
                        })}
                        <Field name="code" label="Code" autocomplete="one-time-code" error=field_error autofocus=true />
                        <input type="hidden" name="next" value=next />
                        <button type="submit" class=BUTTON_PRIMARY data-testid="mfa-submit" disabled=move || action.pending().get()>
                            "Continue"
                        </button>
                    </ActionForm>
                </div>
        </SignInFrame>
    }
}
