-- API keys for the JSON API (/api/v1). A key is `stw_`, its tenant's id
-- and 32 random characters, shown once; only its SHA-256 is kept. Each key acts as the
-- user who made it, limited to the scopes chosen then (never more than the
-- user holds at the time of each request).
CREATE TABLE api_keys (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL DEFAULT steward_uuid_v7(),
    user_id      uuid        NOT NULL,
    name         text        NOT NULL,
    -- the first characters after stw_, to tell keys apart in lists
    prefix       text        NOT NULL,
    key_hash     text        NOT NULL,
    scopes       text[]      NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CONSTRAINT api_keys_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT api_keys_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    CONSTRAINT api_keys_name_length CHECK (char_length(name) BETWEEN 1 AND 100)
);
CREATE INDEX api_keys_user_idx ON api_keys (tenant_id, user_id);
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY api_keys_isolation ON api_keys
    USING (tenant_id = steward_current_tenant()) WITH CHECK (tenant_id = steward_current_tenant());
GRANT SELECT, INSERT, UPDATE ON api_keys TO steward_app;

CREATE UNIQUE INDEX api_keys_hash_key ON api_keys (tenant_id, key_hash);

-- The one way a request reaches a key without a tenant scope: the key
-- names its tenant (`stw_<tenant id>_<secret>`), so this scopes the
-- transaction to that tenant (as the sign-in look-up does) and finds the
-- key by its hash there. The key is returned whether or not it is still
-- good; the caller decides, and says why.
CREATE FUNCTION steward_api_key_lookup(p_tenant uuid, p_key_hash text)
RETURNS TABLE (key_id uuid, user_id uuid, scopes text[], expires_at timestamptz,
               revoked_at timestamptz, last_used_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = p_tenant AND t.deleted_at IS NULL AND t.status = 'active') THEN
    RETURN;
  END IF;
  PERFORM set_config('steward.tenant_id', p_tenant::text, true);
  RETURN QUERY
    SELECT k.id, k.user_id, k.scopes, k.expires_at, k.revoked_at, k.last_used_at
      FROM api_keys k WHERE k.tenant_id = p_tenant AND k.key_hash = p_key_hash;
END
$$;
REVOKE ALL ON FUNCTION steward_api_key_lookup(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_api_key_lookup(uuid, text) TO steward_app;
