-- The cross-tenant search as migration 0008 defined it.
CREATE OR REPLACE FUNCTION steward_platform_user_search(p_query text, p_limit integer)
RETURNS TABLE (tenant_id uuid, tenant_slug text, tenant_name text, user_id uuid, email text,
               display_name text, status text, last_login_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_platform uuid;
  v_caller uuid := steward_current_tenant();
  t record;
  v_pattern text := '%' || replace(replace(replace(lower(p_query), '\', '\\'), '%', '\%'), '_', '\_') || '%';
BEGIN
  SELECT tn.id INTO v_platform FROM tenants tn WHERE tn.kind = 'platform' AND tn.deleted_at IS NULL;
  IF v_caller IS NULL OR v_caller IS DISTINCT FROM v_platform THEN
    RAISE EXCEPTION 'cross-tenant search is for platform staff only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  FOR t IN SELECT tn.id, tn.slug, tn.name FROM tenants tn WHERE tn.deleted_at IS NULL ORDER BY tn.slug LOOP
    PERFORM set_config('steward.tenant_id', t.id::text, true);
    RETURN QUERY
      SELECT t.id, t.slug, t.name, u.id, u.email, u.display_name, u.status, u.last_login_at
        FROM users u
       WHERE u.tenant_id = t.id AND u.deleted_at IS NULL
         AND lower(u.email || ' ' || u.display_name) LIKE v_pattern
       ORDER BY lower(u.email)
       LIMIT p_limit;
  END LOOP;
  PERFORM set_config('steward.tenant_id', v_caller::text, true);
END
$$;

DROP FUNCTION steward_user_search(text);
DROP TRIGGER users_search_sync ON users;
DROP FUNCTION steward_user_search_sync();
DROP TABLE user_search;
