DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants WHERE kind = 'platform' LOOP
    PERFORM set_config('steward.tenant_id', t::text, true);
    DELETE FROM role_views WHERE tenant_id = t AND view_key = 'access_log';
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
END
$$;
UPDATE role_templates SET views = array_remove(views, 'access_log') WHERE system_key = 'platform_admin';
DELETE FROM menu_items WHERE key = 'access_log';
DELETE FROM views WHERE key = 'access_log';
DROP FUNCTION steward_tenant_slugs();
DROP FUNCTION steward_access_log_drop_before(timestamptz);
DROP FUNCTION steward_access_log_ensure_partitions(integer);
DROP TABLE access_log;
