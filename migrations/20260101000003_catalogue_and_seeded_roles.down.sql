DROP FUNCTION IF EXISTS steward_seed_tenant(uuid);
DROP TABLE IF EXISTS role_templates;

-- Grants that name catalogue entries go with them. These tables force
-- row-level security even on their owner, so lift that for the delete.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['role_permissions', 'role_views', 'tenant_modules']
  LOOP
    EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('DELETE FROM %I', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
  END LOOP;
END
$$;

DELETE FROM menu_items WHERE parent_key IS NOT NULL;
DELETE FROM menu_items;
DELETE FROM views;
DELETE FROM permissions;
DELETE FROM modules;
