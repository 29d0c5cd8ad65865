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
