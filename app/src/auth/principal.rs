//! The request's principal and the cache of principals resolved before.
//! Kept apart from `auth::ssr` so that the application state can name the
//! cache without importing the sign-in code.

use super::Me;
use std::sync::Arc;
use crate::ids::{TenantId, UserId};

/// The principal of the current request, put into the request's extensions
/// by the server's authentication middleware before any page or server
/// function runs. `None` means nobody is signed in.
#[derive(Clone, Debug, Default)]
pub struct CurrentUser(pub Option<Arc<Me>>);

/// Principals resolved before, keyed by (tenant, user), each with the
/// tenant's authorisation version it was resolved at. The database bumps the
/// version on every change that alters a principal, so an entry is used only
/// while it is still exact.
#[derive(Default)]
pub struct PrincipalCache {
    entries: std::sync::Mutex<std::collections::HashMap<(TenantId, UserId), (i64, Arc<Me>)>>,
}

impl PrincipalCache {
    /// Enough for every active user of a large deployment; past it the cache
    /// starts over rather than grow without bound.
    const CAPACITY: usize = 100_000;

    pub(super) fn get(&self, key: (TenantId, UserId)) -> Option<(i64, Arc<Me>)> {
        self.entries.lock().ok()?.get(&key).cloned()
    }

    pub(super) fn put(&self, key: (TenantId, UserId), version: i64, me: Arc<Me>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
            entries.insert(key, (version, me));
        }
    }

    pub(super) fn forget(&self, key: (TenantId, UserId)) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&key);
        }
    }
}

