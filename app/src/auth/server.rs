//! Server functions of the auth area. Their paths are fixed (`/api/...`) so
//! that forms, tests and API callers can name them.

use super::{Me, SignInPrefill};
use crate::error::AppError;
use leptos::prelude::*;

/// Signs in with organisation, email and password. Needs no permission: it
/// is how a principal comes to exist. Every failure gives one message.
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    tenant: String,
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use super::ssr::{self, HINT_COOKIE};
    use crate::ssr::{app_state, request_session, respond, set_cookie};

    let result = async {
        let state = app_state()?;
        let session = request_session()?;
        let meta = crate::authz::ssr::request_meta();
        ssr::sign_in(&state.pool, &session, &meta, &tenant, &email, &password, next.as_deref()).await
    }
    .await;
    match &result {
        Ok((next, tenant_id)) => {
            set_cookie(HINT_COOKIE, "", 0);
            // The sign-in page shows this organisation next time.
            ssr::remember_org(*tenant_id);
            leptos_axum::redirect(next);
        }
        Err(_) => {
            // Keep what was typed (never the password) for the form shown
            // again after a post without JavaScript.
            let hint = ssr::encode_hint(&SignInPrefill { tenant: tenant.trim().into(), email: email.trim().into(), brand: None });
            set_cookie(HINT_COOKIE, &hint, ssr::HINT_SECONDS);
        }
    }
    respond(result.map(|_| ()))
}

/// "Forgot your password?": sends a link to choose a new password to the
/// account of `email` in `tenant`, if there is one. Needs nothing; answers
/// the same whether or not the account exists (then goes to the page that
/// says so).
#[server(endpoint = "request_password_link")]
pub async fn request_password_link(tenant: String, email: String) -> Result<(), AppError> {
    use crate::ssr::{app_state, respond_form};
    let result = async {
        let state = app_state()?;
        let base = crate::ssr::request_link_base()?;
        let meta = crate::authz::ssr::request_meta();
        super::reset::request(&state.pool, &meta, &base, &tenant, &email).await
    }
    .await;
    if result.is_ok() {
        leptos_axum::redirect(&format!("{}?sent=1", super::FORGOT_PATH));
    }
    respond_form(result, &[("tenant", &tenant), ("email", &email)], super::ASKED_ANSWER)
}

/// Sets a new password with a link from a mail (a reset, or an
/// invitation being accepted): once, while the link lives. Needs the link,
/// nothing more. Then goes to the sign-in page, filled in for the person.
#[server(endpoint = "use_password_link")]
pub async fn use_password_link(link: String, new_password: String, confirm_password: String) -> Result<(), AppError> {
    use super::ssr::HINT_COOKIE;
    use crate::ssr::{app_state, respond_form, set_cookie};
    let result = async {
        let state = app_state()?;
        let meta = crate::authz::ssr::request_meta();
        super::reset::redeem(&state.pool, &meta, &link, &new_password, &confirm_password).await
    }
    .await;
    if let Ok(facts) = &result {
        let hint = super::ssr::encode_hint(&SignInPrefill { tenant: facts.slug.clone(), email: facts.email.clone(), brand: None });
        set_cookie(HINT_COOKIE, &hint, super::ssr::HINT_SECONDS);
        if let Some(brand) = &facts.brand {
            super::ssr::remember_org(brand.tenant_id);
        }
        leptos_axum::redirect(if facts.invitation { "/login?joined=1" } else { "/login?password=changed" });
    }
    let done = if result.as_ref().is_ok_and(|f| f.invitation) { "Your account is ready: sign in with your new password." } else { "Your password was changed: sign in with it." };
    respond_form(result.map(|_| ()), &[], done)
}

/// Whether a password link or invitation still works, and whom it is for
/// (the page asks before showing its form). Needs nothing but the link.
#[server(endpoint = "check_password_link")]
pub async fn check_password_link(link: String) -> Result<super::LinkFacts, AppError> {
    use crate::ssr::{app_state, respond};
    let result = async { super::reset::check(&app_state()?.pool, &link).await }.await;
    respond(result)
}

/// The sign-in's second step: a code from the authenticator app or a
/// recovery code, for the session whose password was just accepted. Needs
/// that session, nothing more.
#[server(endpoint = "verify_mfa")]
pub async fn verify_mfa(code: String, next: Option<String>) -> Result<(), AppError> {
    use crate::ssr::{app_state, request_session, respond};
    let result = async {
        let state = app_state()?;
        let session = request_session()?;
        let meta = crate::authz::ssr::request_meta();
        super::ssr::verify_mfa(&state.pool, &state.master_key, &session, &meta, &code, next.as_deref()).await
    }
    .await;
    if let Ok(next) = &result {
        leptos_axum::redirect(next);
    }
    respond(result.map(|_| ()))
}

/// Signs out: deletes the session and returns to the sign-in page. Needs a
/// session, nothing more.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::ssr::{app_state, current_user, request_session, respond};
    let result = async {
        let state = app_state()?;
        let session = request_session()?;
        let me = current_user();
        let meta = crate::authz::ssr::request_meta();
        super::ssr::sign_out(&state.pool, &session, me.as_deref(), &meta).await
    }
    .await;
    if result.is_ok() {
        leptos_axum::redirect("/login");
    }
    respond(result)
}

/// The signed-in person, their tenant, grants and menu; `None` when nobody
/// is signed in. Needs no permission: it reveals only the caller to itself.
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    use crate::ssr::{current_user, respond};
    respond(Ok(current_user().map(|me| (*me).clone())))
}

/// What the sign-in form typed before a failed attempt (not the password),
/// and the organisation this browser last signed in to, as it shows
/// itself (its short name filled in when nothing was typed).
#[server(endpoint = "sign_in_hint")]
pub async fn sign_in_hint() -> Result<SignInPrefill, AppError> {
    use crate::ssr::{app_state, request_parts, respond};
    let result = async {
        let parts = request_parts()?;
        let cookies: Vec<&str> = parts.headers.get_all(axum::http::header::COOKIE).iter().filter_map(|v| v.to_str().ok()).collect();
        let mut hint = cookies
            .iter()
            .map(|c| super::ssr::decode_hint(c))
            .find(|h| !h.tenant.is_empty() || !h.email.is_empty())
            .unwrap_or_default();
        if let Some(org) = cookies.iter().find_map(|c| super::ssr::remembered_org(c)) {
            let brand = super::ssr::public_brand(&app_state()?, org).await?;
            if hint.tenant.is_empty() {
                hint.tenant = brand.as_ref().map(|b| b.slug.clone()).unwrap_or_default();
            }
            // Shown only for the organisation about to be signed in to.
            hint.brand = brand.filter(|b| b.slug == hint.tenant.to_lowercase());
        }
        Ok(hint)
    }
    .await;
    respond(result)
}
