DROP STATISTICS IF EXISTS user_roles_tenant_role;
