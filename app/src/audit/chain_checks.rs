//! The audit chain checks this process runs: a cache the application state
//! holds (it names nothing but the audit area's own types).

use super::{ChainCheck, ChainStatus};
use crate::text::when;
use chrono::{DateTime, Utc};
use crate::ids::TenantId;

/// The chain checks of this process, per tenant: the one running, and the
/// last result. A check walks every event, so it runs in the background and
/// the page shows its result when it is done.
#[derive(Default)]
pub struct ChainChecks(std::sync::Mutex<std::collections::HashMap<TenantId, ChainEntry>>);

#[derive(Clone, Default)]
pub(crate) struct ChainEntry {
    pub(crate) running_since: Option<DateTime<Utc>>,
    pub(crate) last: Option<ChainStatus>,
}

impl ChainChecks {
    pub(crate) fn entry(&self, tenant_id: TenantId) -> ChainEntry {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(&tenant_id).cloned().unwrap_or_default()
    }

    pub(crate) fn update(&self, tenant_id: TenantId, f: impl FnOnce(&mut ChainEntry)) {
        f(self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(tenant_id).or_default());
    }

    pub(crate) fn view(&self, tenant_id: TenantId) -> ChainCheck {
        let e = self.entry(tenant_id);
        ChainCheck { last: e.last, running_since: e.running_since.map(when) }
    }
}
