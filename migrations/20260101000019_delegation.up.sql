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

-- API keys have a maximum lifetime, set per tenant (90 days unless its
-- administrators choose otherwise); keys made before it that never expired
-- now expire 90 days from today.
ALTER TABLE tenants ADD COLUMN api_key_max_days integer NOT NULL DEFAULT 90
  CONSTRAINT tenants_api_key_max_days_range CHECK (api_key_max_days BETWEEN 1 AND 365);
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('steward.tenant_id', t::text, true);
    UPDATE api_keys SET expires_at = now() + interval '90 days'
     WHERE tenant_id = t AND expires_at IS NULL AND revoked_at IS NULL;
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
END
$$;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_expire CHECK (expires_at IS NOT NULL OR revoked_at IS NOT NULL) NOT VALID;
