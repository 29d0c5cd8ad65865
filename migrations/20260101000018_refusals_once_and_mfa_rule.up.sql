-- Two rules that lived in more than one place.
--
-- 1. A blocked account name or address is refused before its password is
--    looked at. Each refusal used to write an `auth.sign_in_throttled`
--    event, so a storm against a blocked address wrote one event in the
--    tenant's audit chain per attempt. Now only the first refusal of each
--    block is recorded: the block itself (its `auth.account_locked` or
--    `auth.address_blocked` event says until when) and that it was tried;
--    the rest are counted in /metrics.
ALTER TABLE sign_in_throttle ADD COLUMN refusal_recorded_until timestamptz;

-- Until when sign-ins for these keys are refused (NULL: they are not), and
-- whether this is the first refusal of the block (the first call for a
-- block answers true and marks it; later calls write nothing).
CREATE FUNCTION steward_sign_in_refusal(p_keys text[])
RETURNS TABLE (blocked_until timestamptz, first_of_block boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_until timestamptz;
  v_marked integer;
BEGIN
  SELECT max(t.blocked_until) INTO v_until
    FROM sign_in_throttle t WHERE t.key = ANY(p_keys) AND t.blocked_until > now();
  IF v_until IS NULL THEN
    RETURN QUERY SELECT NULL::timestamptz, false;
    RETURN;
  END IF;
  UPDATE sign_in_throttle t SET refusal_recorded_until = t.blocked_until
   WHERE t.key = ANY(p_keys) AND t.blocked_until > now()
     AND t.refusal_recorded_until IS DISTINCT FROM t.blocked_until;
  GET DIAGNOSTICS v_marked = ROW_COUNT;
  RETURN QUERY SELECT v_until, v_marked > 0;
END
$$;
REVOKE ALL ON FUNCTION steward_sign_in_refusal(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_refusal(text[]) TO steward_app;
-- It replaces the read-only check.
DROP FUNCTION steward_sign_in_blocked_until(text[]);

-- 2. Whether a person's tenant requires a second factor of them: of
--    everyone, or of those holding one of p_admin_permissions (the
--    application's list, `auth::ssr::ADMIN_PERMISSIONS`) through any role,
--    direct or by a team. Sign-in and the account page both ask this.
--    Runs as the caller, under the tenant's row-level security.
CREATE FUNCTION steward_mfa_required(p_tenant uuid, p_user uuid, p_admin_permissions text[])
RETURNS boolean
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT coalesce((
    SELECT CASE t.mfa_required
             WHEN 'everyone' THEN true
             WHEN 'admins' THEN EXISTS (
               SELECT 1 FROM effective_user_roles e
                 JOIN role_permissions rp ON rp.tenant_id = e.tenant_id AND rp.role_id = e.role_id
                WHERE e.tenant_id = t.id AND e.user_id = p_user AND rp.permission_key = ANY(p_admin_permissions))
             ELSE false END
      FROM tenants t WHERE t.id = p_tenant), false)
$$;
REVOKE ALL ON FUNCTION steward_mfa_required(uuid, uuid, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_mfa_required(uuid, uuid, text[]) TO steward_app;
