//! The demo: a platform tenant with an administrator and a support user, and
//! two customer tenants (Acme, Globex) with owners and members, loaded into
//! an empty database on first run (or by `steward demo`). Also
//! `steward create-admin`.

use app::auth::password;
use app::authz::ssr::System;
use app::error::AppError;
use app::status::TenantKind;
use app::db::{platform_tenant_id, scope_to_tenant};
use app::tenants::ssr::create_tenant;
use app::users::ssr::{create_user, grant_system_role};
use sqlx::PgPool;

/// The demo users' password unless STEWARD_DEMO_PASSWORD says otherwise.
/// Steward listens on 127.0.0.1 by default; change it before exposing a demo.
pub const DEFAULT_PASSWORD: &str = "steward-demo-2026";

pub struct DemoTenant {
    pub slug: &'static str,
    pub name: &'static str,
    pub kind: TenantKind,
    pub users: &'static [DemoUser],
}

pub struct DemoUser {
    pub email: &'static str,
    pub name: &'static str,
    pub role: &'static str,
}

pub const DEMO: &[DemoTenant] = &[
    DemoTenant {
        slug: "platform",
        name: "Steward Platform",
        kind: TenantKind::Platform,
        users: &[
            DemoUser { email: "admin@steward.test", name: "Pat Admin", role: "platform_admin" },
            DemoUser { email: "support@steward.test", name: "Sam Support", role: "support" },
        ],
    },
    DemoTenant {
        slug: "acme",
        name: "Acme Corporation",
        kind: TenantKind::Customer,
        users: &[
            DemoUser { email: "olivia@acme.test", name: "Olivia Owner", role: "owner" },
            DemoUser { email: "mark@acme.test", name: "Mark Member", role: "member" },
            DemoUser { email: "maya@acme.test", name: "Maya Manager", role: "manager" },
            DemoUser { email: "audrey@acme.test", name: "Audrey Auditor", role: "auditor" },
        ],
    },
    DemoTenant {
        slug: "globex",
        name: "Globex",
        kind: TenantKind::Customer,
        users: &[
            DemoUser { email: "gina@globex.test", name: "Gina Owner", role: "owner" },
            DemoUser { email: "max@globex.test", name: "Max Member", role: "member" },
        ],
    },
];

/// Loads the demo in one transaction per tenant, through the application
/// role and row-level security like any other write. A tenant whose slug is
/// taken is refused (nothing is half-loaded).
pub async fn load(pool: &PgPool, password: &str) -> Result<(), AppError> {
    let system = System::new(pool);
    for tenant in DEMO {
        let mut tx = system.transaction().await?;
        let tenant_id = create_tenant(&mut tx, tenant.slug, tenant.name, tenant.kind).await?;
        for user in tenant.users {
            let hash = password::hash(password.to_string()).await?;
            let user_id = create_user(&mut tx, tenant_id, user.email, user.name, &hash).await?;
            grant_system_role(&mut tx, tenant_id, user_id, user.role, None).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// The sign-in lines printed after the demo is loaded.
pub fn credentials(address: &str, password: &str) -> String {
    let mut out = format!("Sign in at {address} with password '{password}' as any of:\n");
    for tenant in DEMO {
        for user in tenant.users {
            out.push_str(&format!("  organisation {:<9} email {:<22} ({})\n", tenant.slug, user.email, user.role));
        }
    }
    out
}

/// Creates a platform administrator, and the platform tenant when there is
/// none yet.
pub async fn create_admin(pool: &PgPool, email: &str, name: &str, password: &str) -> Result<(), AppError> {
    let email = email.trim();
    if !email.contains('@') || email.len() > 254 {
        return Err(AppError::Validation(vec![app::error::FieldError {
            field: "email".into(),
            message: "Enter an email address such as admin@example.com.".into(),
        }]));
    }
    let mut tx = System::new(pool).transaction().await?;
    let tenant_id = match platform_tenant_id(&mut tx).await? {
        Some(id) => {
            scope_to_tenant(&mut tx, id).await?;
            id
        }
        None => create_tenant(&mut tx, "platform", "Steward Platform", TenantKind::Platform).await?,
    };
    let hash = password::hash(password.to_string()).await?;
    let user_id = create_user(&mut tx, tenant_id, email, name, &hash).await?;
    grant_system_role(&mut tx, tenant_id, user_id, "platform_admin", None).await?;
    tx.commit().await?;
    Ok(())
}
