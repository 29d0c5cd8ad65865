ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_expire;
ALTER TABLE tenants DROP COLUMN IF EXISTS api_key_max_days;
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('steward.tenant_id', t::text, true);
    DELETE FROM role_permissions WHERE tenant_id = t AND permission_key = 'user:export';
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
END
$$;
UPDATE role_templates SET permissions = array_remove(permissions, 'user:export');
DELETE FROM permissions WHERE key = 'user:export';
