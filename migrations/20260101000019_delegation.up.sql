-- The delegation rule's catalogue change: exporting another person's
-- personal data is its own permission, held by owners, administrators and
-- platform administrators (user:read alone no longer reaches it).
INSERT INTO permissions (key, module_key, description) VALUES
  ('user:export', 'people', 'Export everything Steward holds about a person (their events, sessions, access history)');

UPDATE role_templates SET permissions = permissions || 'user:export'::text
 WHERE system_key IN ('owner', 'admin', 'platform_admin');

DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('steward.tenant_id', t::text, true);
    INSERT INTO role_permissions (tenant_id, role_id, permission_key)
    SELECT r.tenant_id, r.id, 'user:export' FROM roles r
     WHERE r.tenant_id = t AND r.system_key IN ('owner', 'admin', 'platform_admin')
    ON CONFLICT DO NOTHING;
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
END
$$;
