-- Why a user can or cannot open a view or do an action. One row with the
-- target's module and whether the tenant has it on (role_name NULL), then a
-- row per role that grants the target, held directly (via_team NULL) or
-- through a live team. No row at all: no such view or permission.
CREATE FUNCTION steward_explain_access(p_tenant_id uuid, p_user_id uuid, p_view text, p_permission text)
RETURNS TABLE (module_key text, module_enabled boolean, role_name text, via_team text)
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  v_module text;
  v_enabled boolean;
BEGIN
  SELECT coalesce(v.module_key, p.module_key) INTO v_module
    FROM (SELECT 1) AS one
    LEFT JOIN views v ON v.key = p_view
    LEFT JOIN permissions p ON p.key = p_permission;
  IF v_module IS NULL THEN
    RETURN;
  END IF;
  SELECT m.is_core OR EXISTS (SELECT FROM tenant_modules tm WHERE tm.tenant_id = p_tenant_id AND tm.module_key = m.key)
    INTO v_enabled FROM modules m WHERE m.key = v_module;

  RETURN QUERY SELECT v_module, v_enabled, NULL::text, NULL::text;
  RETURN QUERY
    SELECT v_module, v_enabled, r.name, t.name
      FROM effective_user_roles e
      JOIN roles r ON r.tenant_id = e.tenant_id AND r.id = e.role_id
      LEFT JOIN teams t ON t.tenant_id = e.tenant_id AND t.id = e.team_id
     WHERE e.tenant_id = p_tenant_id AND e.user_id = p_user_id
       AND (EXISTS (SELECT FROM role_views rv WHERE rv.tenant_id = p_tenant_id AND rv.role_id = r.id AND rv.view_key = p_view)
         OR EXISTS (SELECT FROM role_permissions rp WHERE rp.tenant_id = p_tenant_id AND rp.role_id = r.id AND rp.permission_key = p_permission))
     ORDER BY r.name, t.name NULLS FIRST;
END
$$;
GRANT EXECUTE ON FUNCTION steward_explain_access(uuid, uuid, text, text) TO steward_app;
