-- The logo answers with its organisation's version in the same query (its
-- cache header needs it): one statement per logo, not two.
DROP FUNCTION steward_brand_logo(uuid);
CREATE FUNCTION steward_brand_logo(p_tenant uuid)
RETURNS TABLE (content_type text, bytes bytea, sha256 text, version integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_caller text := current_setting('steward.tenant_id', true);
BEGIN
  PERFORM set_config('steward.tenant_id', p_tenant::text, true);
  RETURN QUERY
    SELECT l.content_type, l.bytes, l.sha256, t.version
      FROM tenant_logos l JOIN tenants t ON t.id = l.tenant_id
     WHERE l.tenant_id = p_tenant AND t.deleted_at IS NULL;
  PERFORM set_config('steward.tenant_id', coalesce(v_caller, ''), true);
END
$$;
REVOKE ALL ON FUNCTION steward_brand_logo(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_brand_logo(uuid) TO steward_app;
