-- What the console screens need: substring search over users at a million
-- rows (trigram index), orderings for keyset pagination, the registry of a
-- user's sessions, and the platform's list of tenants.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One expression for "email or name contains": the list, the cross-tenant
-- search and this index all use exactly `lower(email || ' ' || display_name)`.
CREATE INDEX users_search_trgm ON users USING gin ((lower(email || ' ' || display_name)) gin_trgm_ops);
-- Keyset orderings of the users list (live users; the deleted are few).
CREATE INDEX users_name_order ON users (tenant_id, lower(display_name), id) WHERE deleted_at IS NULL;
CREATE INDEX users_email_order ON users (tenant_id, lower(email), id) WHERE deleted_at IS NULL;
CREATE INDEX users_status_order ON users (tenant_id, status, lower(display_name), id) WHERE deleted_at IS NULL;
CREATE INDEX users_deleted_order ON users (tenant_id, deleted_at) WHERE deleted_at IS NOT NULL;

-- The sessions a user has open, so that they and support staff can list and
-- revoke them. session_id is tower-sessions' record id; revoking deletes
-- that record, which ends the session on its next request.
CREATE TABLE user_sessions (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL DEFAULT steward_uuid_v7(),
    user_id      uuid        NOT NULL,
    session_id   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    ip           inet,
    user_agent   text,
    CONSTRAINT user_sessions_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT user_sessions_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX user_sessions_user_idx ON user_sessions (tenant_id, user_id);
ALTER TABLE user_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY user_sessions_isolation ON user_sessions
    USING (tenant_id = steward_current_tenant()) WITH CHECK (tenant_id = steward_current_tenant());
GRANT SELECT, INSERT, DELETE ON user_sessions TO steward_app;

-- Platform staff's list of tenants: like the user search, the one read of
-- the tenant registry across tenants, for a transaction scoped to the
-- platform tenant only. Keyset-paginated by slug.
CREATE FUNCTION steward_platform_tenants(p_query text, p_status text, p_after text, p_limit integer)
RETURNS TABLE (id uuid, slug text, name text, kind text, status text, plan text,
               created_at timestamptz, deleted_at timestamptz, modules text[])
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_platform uuid;
  t record;
  v_pattern text := '%' || replace(replace(replace(lower(coalesce(p_query, '')), '\', '\\'), '%', '\%'), '_', '\_') || '%';
BEGIN
  SELECT tn.id INTO v_platform FROM tenants tn WHERE tn.kind = 'platform' AND tn.deleted_at IS NULL;
  IF steward_current_tenant() IS DISTINCT FROM v_platform THEN
    RAISE EXCEPTION 'the tenant list is for platform staff only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  FOR t IN
    SELECT tn.* FROM tenants tn
     WHERE (lower(tn.slug) LIKE v_pattern OR lower(tn.name) LIKE v_pattern)
       AND CASE coalesce(p_status, '')
             WHEN 'deleted' THEN tn.deleted_at IS NOT NULL
             WHEN 'active' THEN tn.deleted_at IS NULL AND tn.status = 'active'
             WHEN 'suspended' THEN tn.deleted_at IS NULL AND tn.status = 'suspended'
             ELSE tn.deleted_at IS NULL
           END
       AND (p_after IS NULL OR tn.slug > p_after)
     ORDER BY tn.slug
     LIMIT p_limit
  LOOP
    -- tenant_modules forces row-level security even on its owner: read
    -- each tenant's modules inside its own scope.
    PERFORM set_config('steward.tenant_id', t.id::text, true);
    id := t.id; slug := t.slug; name := t.name; kind := t.kind; status := t.status; plan := t.plan;
    created_at := t.created_at; deleted_at := t.deleted_at;
    SELECT coalesce(array_agg(m.key ORDER BY m.key), '{}') INTO modules
      FROM modules m
     WHERE m.is_core OR EXISTS (SELECT 1 FROM tenant_modules tm WHERE tm.tenant_id = t.id AND tm.module_key = m.key);
    RETURN NEXT;
  END LOOP;
  PERFORM set_config('steward.tenant_id', v_platform::text, true);
END
$$;
REVOKE ALL ON FUNCTION steward_platform_tenants(text, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_platform_tenants(text, text, text, integer) TO steward_app;

-- The cross-tenant user search, now on the trigram index's expression.
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

-- CSV imports of users: the file is read once, each row created in its own
-- transaction with its audit event (a bad row is reported, never half
-- written); the row here is the progress and the report the page shows.
CREATE TABLE user_imports (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL DEFAULT steward_uuid_v7(),
    created_by  uuid        NOT NULL,
    file_name   text        NOT NULL,
    state       text        NOT NULL DEFAULT 'running',
    total       integer     NOT NULL DEFAULT 0,
    processed   integer     NOT NULL DEFAULT 0,
    created     integer     NOT NULL DEFAULT 0,
    failures    jsonb       NOT NULL DEFAULT '[]'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CONSTRAINT user_imports_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT user_imports_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT user_imports_state_check CHECK (state IN ('running', 'done', 'failed'))
);
ALTER TABLE user_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY user_imports_isolation ON user_imports
    USING (tenant_id = steward_current_tenant()) WITH CHECK (tenant_id = steward_current_tenant());
GRANT SELECT, INSERT, UPDATE ON user_imports TO steward_app;

-- A tenant by its short name, for platform staff (the tenant switcher).
CREATE FUNCTION steward_platform_tenant_by_slug(p_slug text)
RETURNS TABLE (id uuid, slug text, name text, kind text, status text, deleted boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF steward_current_tenant() IS DISTINCT FROM (SELECT tn.id FROM tenants tn WHERE tn.kind = 'platform' AND tn.deleted_at IS NULL) THEN
    RAISE EXCEPTION 'tenant look-up is for platform staff only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN QUERY
    SELECT t.id, t.slug, t.name, t.kind, t.status, t.deleted_at IS NOT NULL
      FROM tenants t WHERE t.slug = lower(p_slug)
     ORDER BY t.deleted_at NULLS FIRST LIMIT 1;
END
$$;
REVOKE ALL ON FUNCTION steward_platform_tenant_by_slug(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_platform_tenant_by_slug(text) TO steward_app;
