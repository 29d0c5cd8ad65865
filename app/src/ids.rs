//! Typed ids: a tenant's id and a person's id are both UUIDs, and a
//! function that takes both (`end_sessions(tenant, user)`, `held_by`,
//! the delegation and anti-lockout checks…) must not be handed them the
//! wrong way round. Part of the spine: it imports no area.
//!
//! On the wire (JSON, forms, URLs) an id is its UUID, unchanged. In SQL a
//! column is read into the type with `AS "user_id: UserId"`, and a bind
//! takes the UUID inside with `.0`: the macros check it is a UUID.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type))]
        #[cfg_attr(feature = "ssr", sqlx(transparent))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

typed_id!(
    /// A tenant (an organisation, or the platform itself).
    TenantId
);
typed_id!(
    /// A person: a row of `users`, within its tenant.
    UserId
);
