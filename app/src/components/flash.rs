//! What a form post without JavaScript hands to the page it returns to: a
//! notice after success, what was typed after a failure (see
//! `ssr::respond_form`). Read once, on the server render, then cleared.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub notice: Option<String>,
    pub typed: Vec<(String, String)>,
}

impl Flash {
    pub fn typed(&self, name: &str) -> Option<String> {
        self.typed.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
}

/// The flash of the page load, for every form under the console.
#[derive(Clone, Copy)]
pub struct FlashResource(pub Resource<Result<Flash, AppError>>);

/// Takes the notice and typed fields the last form post left, clearing
/// them. Needs nothing: it only returns what the caller's own browser sent.
#[server(endpoint = "flash")]
pub async fn take_flash() -> Result<Flash, AppError> {
    use crate::text::percent_decode;
    use crate::ssr::{request_cookie, set_cookie, NOTICE_COOKIE, TYPED_COOKIE};
    let mut flash = Flash::default();
    if let Some(notice) = request_cookie(NOTICE_COOKIE) {
        flash.notice = percent_decode(&notice).map(|n| n.chars().take(300).collect());
        set_cookie(NOTICE_COOKIE, "", 0);
    }
    if let Some(typed) = request_cookie(TYPED_COOKIE) {
        flash.typed = percent_decode(&typed)
            .unwrap_or_default()
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .filter_map(|(k, v)| Some((k.to_string(), percent_decode(v)?)))
            .take(20)
            .collect();
        set_cookie(TYPED_COOKIE, "", 0);
    }
    Ok(flash)
}

/// What the form typed before a failed post without JavaScript, or `default`.
pub fn kept(name: &str, default: String) -> String {
    use_context::<FlashResource>()
        .and_then(|f| f.0.get_untracked())
        .and_then(|r| r.ok())
        .and_then(|f| f.typed(name))
        .unwrap_or(default)
}
