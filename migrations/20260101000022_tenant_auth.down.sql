-- As on the way up: no bump may be lost between the copy and the switch,
-- and the copy adds one so that nothing cached is taken as current. The
-- owner reads every tenant's row once the policy is no longer forced on it.
LOCK TABLE tenant_auth IN EXCLUSIVE MODE;
ALTER TABLE tenants ADD COLUMN auth_version bigint NOT NULL DEFAULT 1;
ALTER TABLE tenant_auth NO FORCE ROW LEVEL SECURITY;
UPDATE tenants t SET auth_version = a.auth_version + 1 FROM tenant_auth a WHERE a.tenant_id = t.id;
UPDATE tenants t SET auth_version = 2 WHERE NOT EXISTS (SELECT FROM tenant_auth a WHERE a.tenant_id = t.id);

CREATE OR REPLACE FUNCTION steward_bump_auth_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_tenant uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
BEGIN
  UPDATE tenants SET auth_version = auth_version + 1 WHERE id = v_tenant;
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
  SELECT t.auth_version INTO v_version FROM tenants t
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

DROP TABLE tenant_auth;
