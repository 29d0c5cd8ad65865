//! The area's server functions: each authorises through the spine and
//! answers with `AppError`.

use super::*;
use crate::error::AppError;

/// The figures of the signed-in user's tenant. Needs the overview view.
#[server(endpoint = "dashboard")]
pub async fn dashboard() -> Result<Figures, AppError> {
    crate::ssr::respond(ssr::load().await)
}
