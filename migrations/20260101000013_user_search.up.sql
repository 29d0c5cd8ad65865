-- Substring search over a tenant's users that an index can answer.
--
-- Under row-level security PostgreSQL keeps every condition whose functions
-- are not leakproof (LIKE, lower(), the trigram operators) out of index
-- scans, so `lower(email || ' ' || display_name) LIKE '%…%'` read every user
-- of the tenant: 10 ms at 10,000, a second at a million. The search key is
-- kept here instead, maintained by a trigger, and read only through
-- steward_user_search(), which answers for the transaction's tenant alone
-- (the same setting the policies use). Row-level security is enabled but
-- not forced: the application role has no grant at all, and the owner's
-- function filters by tenant itself, as steward_sign_in_lookup does.

CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE user_search (
    tenant_id uuid NOT NULL,
    user_id   uuid NOT NULL,
    key       text NOT NULL,
    CONSTRAINT user_search_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT user_search_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_search_trgm ON user_search USING gin (tenant_id, key gin_trgm_ops);
ALTER TABLE user_search ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_search_isolation ON user_search
  USING (tenant_id = steward_current_tenant()) WITH CHECK (tenant_id = steward_current_tenant());

CREATE FUNCTION steward_user_search_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO user_search (tenant_id, user_id, key)
  VALUES (NEW.tenant_id, NEW.id, lower(NEW.email || ' ' || NEW.display_name))
  ON CONFLICT (tenant_id, user_id) DO UPDATE SET key = excluded.key;
  RETURN NULL;
END
$$;
CREATE TRIGGER users_search_sync AFTER INSERT OR UPDATE OF email, display_name ON users
  FOR EACH ROW EXECUTE FUNCTION steward_user_search_sync();

INSERT INTO user_search (tenant_id, user_id, key)
SELECT tenant_id, id, lower(email || ' ' || display_name) FROM users;

-- The ids of the current tenant's users whose key matches a LIKE pattern.
-- EXECUTE plans each call for its pattern: a long one uses the trigram
-- index, one or two letters read the tenant's rows.
CREATE FUNCTION steward_user_search(p_pattern text)
RETURNS TABLE (user_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 100 AS $$
BEGIN
  RETURN QUERY EXECUTE
    'SELECT s.user_id FROM user_search s WHERE s.tenant_id = $1 AND s.key LIKE $2'
    USING steward_current_tenant(), p_pattern;
END
$$;
REVOKE ALL ON FUNCTION steward_user_search(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_user_search(text) TO steward_app;

-- The platform's cross-tenant search: the tenants with a match come from the
-- search index, then each tenant's matching users by id (before, every
-- tenant's users were read in full: a million rows for a million users).
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
  FOR t IN EXECUTE
    'SELECT tn.id, tn.slug, tn.name FROM tenants tn
      WHERE tn.deleted_at IS NULL AND tn.id IN (SELECT s.tenant_id FROM user_search s WHERE s.key LIKE $1)
      ORDER BY tn.slug' USING v_pattern
  LOOP
    PERFORM set_config('steward.tenant_id', t.id::text, true);
    RETURN QUERY EXECUTE
      'SELECT $1, $2, $3, u.id, u.email, u.display_name, u.status, u.last_login_at
         FROM users u
        WHERE u.tenant_id = $1 AND u.deleted_at IS NULL
          AND u.id IN (SELECT s.user_id FROM user_search s WHERE s.tenant_id = $1 AND s.key LIKE $4)
        ORDER BY u.email_key
        LIMIT $5' USING t.id, t.slug, t.name, v_pattern, p_limit;
  END LOOP;
  PERFORM set_config('steward.tenant_id', v_caller::text, true);
END
$$;
