DROP FUNCTION IF EXISTS steward_resolve_principal(uuid, uuid, bigint);
DROP FUNCTION IF EXISTS steward_sign_in_lookup(text, text);
DROP FUNCTION IF EXISTS steward_platform_tenant();
DROP VIEW IF EXISTS effective_user_roles;
DROP TABLE IF EXISTS team_roles, team_members, teams, user_roles, role_views, role_permissions,
    roles, tenant_modules, menu_items, views, permissions, modules, users, tenants;
DROP FUNCTION IF EXISTS steward_bump_auth_version();
