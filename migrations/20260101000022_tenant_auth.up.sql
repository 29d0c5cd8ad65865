-- The authorisation version leaves `tenants` for a tenant-owned table of
-- its own (issue 18, docs/SCALING.md). On Citus, `tenants` is a reference
-- table, and a trigger on a distributed table (a grant, a role, a team
-- membership) may not write a reference table; `tenant_auth` is
-- distributed by tenant_id with the rest, so the bump stays on the
-- tenant's own node. Nothing else changes: every change of access still
-- bumps the version in its own transaction, and the principal's cache is
-- still keyed by it.
-- No change of access may slip between the copy and the drop below (its
-- bump would be lost and the version go back): the registry is locked for
-- the migration. The copy adds one, so every principal cached before it is
-- computed again once.
LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE;
CREATE TABLE tenant_auth (
    tenant_id    uuid   NOT NULL,
    -- 1 until the first change of access (no row needed before it).
    auth_version bigint NOT NULL DEFAULT 1,
    CONSTRAINT tenant_auth_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT tenant_auth_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
INSERT INTO tenant_auth (tenant_id, auth_version) SELECT id, auth_version + 1 FROM tenants;
ALTER TABLE tenant_auth ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_auth FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_auth_isolation ON tenant_auth
    USING (tenant_id = steward_current_tenant())
    WITH CHECK (tenant_id = steward_current_tenant());
-- The trigger below runs as whoever changes access (as it did when it
-- wrote `tenants`): the application role within its tenant, or a superuser
-- arranging data by hand, who bypasses the policy.
GRANT SELECT, INSERT, UPDATE ON tenant_auth TO steward_app;

-- The row that changed belongs to the current tenant (its own policy
-- checked that), so the version row is the current tenant's too.
CREATE OR REPLACE FUNCTION steward_bump_auth_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_tenant uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
BEGIN
  INSERT INTO tenant_auth AS a (tenant_id, auth_version) VALUES (v_tenant, 2)
  ON CONFLICT (tenant_id) DO UPDATE SET auth_version = a.auth_version + 1;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION steward_resolve_principal(p_tenant_id uuid, p_user_id uuid, p_known_version bigint)
RETURNS TABLE (
    unchanged boolean, auth_version bigint,
    user_id uuid, email text, display_name text,
    tenant_id uuid, tenant_slug text, tenant_name text, tenant_kind text,
    views text[], permissions text[], menu jsonb)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  v_version bigint;
BEGIN
  PERFORM set_config('steward.tenant_id', p_tenant_id::text, true);
  SELECT coalesce(a.auth_version, 1) INTO v_version
    FROM tenants t LEFT JOIN tenant_auth a ON a.tenant_id = t.id
   WHERE t.id = p_tenant_id AND t.deleted_at IS NULL AND t.status = 'active';
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF v_version = p_known_version THEN
    RETURN QUERY SELECT true, v_version, p_user_id, NULL::text, NULL::text, p_tenant_id,
                        NULL::text, NULL::text, NULL::text, NULL::text[], NULL::text[], NULL::jsonb;
    RETURN;
  END IF;
  RETURN QUERY
  WITH me AS (
    SELECT u.tenant_id, u.id, u.email, u.display_name
      FROM users u
     WHERE u.tenant_id = p_tenant_id AND u.id = p_user_id
       AND u.deleted_at IS NULL AND u.status = 'active'
  ),
  live_roles AS (
    SELECT DISTINCT e.role_id AS id FROM effective_user_roles e
     WHERE e.tenant_id = p_tenant_id AND e.user_id = p_user_id
  ),
  enabled_modules AS (
    SELECT m.key FROM modules m WHERE m.is_core
    UNION
    SELECT tm.module_key FROM tenant_modules tm WHERE tm.tenant_id = p_tenant_id
  ),
  granted_views AS (
    SELECT DISTINCT v.key, v.path
      FROM role_views rv
      JOIN live_roles lr ON lr.id = rv.role_id
      JOIN views v ON v.key = rv.view_key
      JOIN enabled_modules em ON em.key = v.module_key
     WHERE rv.tenant_id = p_tenant_id
  ),
  granted_permissions AS (
    SELECT DISTINCT p.key
      FROM role_permissions rp
      JOIN live_roles lr ON lr.id = rp.role_id
      JOIN permissions p ON p.key = rp.permission_key
      JOIN enabled_modules em ON em.key = p.module_key
     WHERE rp.tenant_id = p_tenant_id
  ),
  entries AS (
    SELECT e.parent_key, e.position,
           jsonb_build_object('key', e.key, 'label', e.label, 'path', gv.path, 'view', gv.key,
                              'icon', coalesce(e.icon, '')) AS entry
      FROM menu_items e JOIN granted_views gv ON gv.key = e.view_key
  ),
  sections AS (
    SELECT s.position,
           jsonb_build_object('key', s.key, 'label', s.label,
                              'entries', jsonb_agg(en.entry ORDER BY en.position)) AS section
      FROM menu_items s JOIN entries en ON en.parent_key = s.key
     WHERE s.parent_key IS NULL
     GROUP BY s.key, s.label, s.position
  )
  SELECT false, v_version, me.id, me.email, me.display_name,
         t.id, t.slug, t.name, t.kind,
         coalesce((SELECT array_agg(gv.key ORDER BY gv.key) FROM granted_views gv), '{}'),
         coalesce((SELECT array_agg(gp.key ORDER BY gp.key) FROM granted_permissions gp), '{}'),
         coalesce((SELECT jsonb_agg(sc.section ORDER BY sc.position) FROM sections sc), '[]'::jsonb)
    FROM me
    JOIN tenants t ON t.id = me.tenant_id;
END
$$;

ALTER TABLE tenants DROP COLUMN auth_version;
