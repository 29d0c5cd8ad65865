//! The sign-in page. Works without JavaScript: the form posts to the
//! `sign_in` server function, which redirects on success and otherwise
//! returns here with the error (and what was typed, except the password).

use super::{sign_in_hint, SignIn, VerifyMfa};
use crate::components::{Field, BUTTON_PRIMARY, CARD};
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
        <Title text="Sign in" />
        <main class="flex min-h-screen items-center justify-center px-4 py-12">
            <div class="w-full max-w-sm">
                <div class="mb-8 text-center">
                    <span class="inline-flex h-10 w-10 items-center justify-center rounded-lg bg-indigo-600 text-lg font-bold text-white">"S"</span>
                    <h1 class="mt-4 text-2xl font-semibold tracking-tight">"Sign in to Steward"</h1>
                    <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">"Use your organisation's short name, your email and password."</p>
                </div>
                <div class=CARD>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let hint = hint.await.unwrap_or_default();
                            view! {
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
            </div>
        </main>
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
        <Title text="Two-factor sign-in" />
        <main class="flex min-h-screen items-center justify-center px-4 py-12">
            <div class="w-full max-w-sm">
                <div class="mb-8 text-center">
                    <span class="inline-flex h-10 w-10 items-center justify-center rounded-lg bg-indigo-600 text-lg font-bold text-white">"S"</span>
                    <h1 class="mt-4 text-2xl font-semibold tracking-tight">"Enter your code"</h1>
                    <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">"Open your authenticator app and type the 6-digit code for Steward. Lost the app? Type one of your recovery codes instead."</p>
                </div>
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
            </div>
        </main>
    }
}
