-- Tenants, users, the permission and navigation catalogues, roles and teams.
--
-- Tenant-owned tables carry tenant_id in their primary and foreign keys (so
-- tenants stay apart by construction and the schema distributes by tenant_id
-- unchanged), have row-level security enabled and forced, and are soft
-- deleted where people delete them, with partial unique indexes among live
-- rows. Mutable rows carry a version for optimistic concurrency.

CREATE TABLE tenants (
    id           uuid        NOT NULL DEFAULT steward_uuid_v7(),
    slug         text        NOT NULL,
    name         text        NOT NULL,
    kind         text        NOT NULL DEFAULT 'customer',
    status       text        NOT NULL DEFAULT 'active',
    plan         text        NOT NULL DEFAULT 'standard',
    settings     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- bumped by every grant change, in the same transaction: cached
    -- permissions are keyed by it.
    auth_version bigint      NOT NULL DEFAULT 1,
    version      integer     NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    CONSTRAINT tenants_kind_check CHECK (kind IN ('platform', 'customer')),
    CONSTRAINT tenants_status_check CHECK (status IN ('active', 'suspended')),
    CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$')
);
CREATE UNIQUE INDEX tenants_slug_live_key ON tenants (slug) WHERE deleted_at IS NULL;
-- At most one platform tenant.
CREATE UNIQUE INDEX tenants_one_platform_key ON tenants (kind) WHERE kind = 'platform';

CREATE TABLE users (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL DEFAULT steward_uuid_v7(),
    email         text        NOT NULL,
    display_name  text        NOT NULL,
    status        text        NOT NULL DEFAULT 'active',
    password_hash text,
    last_login_at timestamptz,
    version       integer     NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT users_status_check CHECK (status IN ('pending', 'active', 'suspended', 'inactive')),
    CONSTRAINT users_email_length CHECK (char_length(email) BETWEEN 3 AND 254),
    CONSTRAINT users_display_name_length CHECK (char_length(display_name) BETWEEN 1 AND 200)
);
CREATE UNIQUE INDEX users_email_live_key ON users (tenant_id, lower(email)) WHERE deleted_at IS NULL;

-- Global catalogues: plain reference tables, the same for every tenant.
CREATE TABLE modules (
    key         text    NOT NULL,
    name        text    NOT NULL,
    -- core modules are always on; the others are enabled per tenant.
    is_core     boolean NOT NULL DEFAULT false,
    CONSTRAINT modules_pkey PRIMARY KEY (key)
);

CREATE TABLE permissions (
    key         text NOT NULL,
    module_key  text NOT NULL,
    description text NOT NULL,
    CONSTRAINT permissions_pkey PRIMARY KEY (key),
    CONSTRAINT permissions_module_fkey FOREIGN KEY (module_key) REFERENCES modules (key),
    CONSTRAINT permissions_key_format CHECK (key ~ '^[a-z][a-z_]*:[a-z][a-z_]*$')
);

CREATE TABLE views (
    key        text NOT NULL,
    module_key text NOT NULL,
    path       text NOT NULL,
    title      text NOT NULL,
    CONSTRAINT views_pkey PRIMARY KEY (key),
    CONSTRAINT views_module_fkey FOREIGN KEY (module_key) REFERENCES modules (key),
    CONSTRAINT views_path_key UNIQUE (path)
);

CREATE TABLE menu_items (
    key       text    NOT NULL,
    -- a section heading has no view and no parent; an entry has both.
    parent_key text,
    view_key  text,
    label     text    NOT NULL,
    icon      text,
    position  integer NOT NULL,
    CONSTRAINT menu_items_pkey PRIMARY KEY (key),
    CONSTRAINT menu_items_parent_fkey FOREIGN KEY (parent_key) REFERENCES menu_items (key),
    CONSTRAINT menu_items_view_fkey FOREIGN KEY (view_key) REFERENCES views (key),
    CONSTRAINT menu_items_shape CHECK ((parent_key IS NULL AND view_key IS NULL) OR (parent_key IS NOT NULL AND view_key IS NOT NULL))
);

CREATE TABLE tenant_modules (
    tenant_id  uuid        NOT NULL,
    module_key text        NOT NULL,
    enabled_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenant_modules_pkey PRIMARY KEY (tenant_id, module_key),
    CONSTRAINT tenant_modules_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT tenant_modules_module_fkey FOREIGN KEY (module_key) REFERENCES modules (key)
);

CREATE TABLE roles (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL DEFAULT steward_uuid_v7(),
    -- stable key of a seeded role ('owner', 'platform_admin', ...); NULL for custom roles.
    system_key  text,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    is_system   boolean     NOT NULL DEFAULT false,
    version     integer     NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    CONSTRAINT roles_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT roles_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT roles_system_key_check CHECK ((system_key IS NULL) = (NOT is_system)),
    CONSTRAINT roles_name_length CHECK (char_length(name) BETWEEN 1 AND 100)
);
CREATE UNIQUE INDEX roles_name_live_key ON roles (tenant_id, lower(name)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX roles_system_key_key ON roles (tenant_id, system_key) WHERE system_key IS NOT NULL;

CREATE TABLE role_permissions (
    tenant_id      uuid NOT NULL,
    role_id        uuid NOT NULL,
    permission_key text NOT NULL,
    CONSTRAINT role_permissions_pkey PRIMARY KEY (tenant_id, role_id, permission_key),
    CONSTRAINT role_permissions_role_fkey FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT role_permissions_permission_fkey FOREIGN KEY (permission_key) REFERENCES permissions (key)
);

CREATE TABLE role_views (
    tenant_id uuid NOT NULL,
    role_id   uuid NOT NULL,
    view_key  text NOT NULL,
    CONSTRAINT role_views_pkey PRIMARY KEY (tenant_id, role_id, view_key),
    CONSTRAINT role_views_role_fkey FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT role_views_view_fkey FOREIGN KEY (view_key) REFERENCES views (key)
);

CREATE TABLE user_roles (
    tenant_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    role_id    uuid        NOT NULL,
    granted_by uuid,
    granted_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_roles_pkey PRIMARY KEY (tenant_id, user_id, role_id),
    CONSTRAINT user_roles_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    CONSTRAINT user_roles_role_fkey FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id),
    CONSTRAINT user_roles_granted_by_fkey FOREIGN KEY (tenant_id, granted_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX user_roles_role_idx ON user_roles (tenant_id, role_id);

CREATE TABLE teams (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL DEFAULT steward_uuid_v7(),
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    lead_user_id uuid,
    version     integer     NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    CONSTRAINT teams_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT teams_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT teams_lead_fkey FOREIGN KEY (tenant_id, lead_user_id) REFERENCES users (tenant_id, id),
    CONSTRAINT teams_name_length CHECK (char_length(name) BETWEEN 1 AND 100)
);
CREATE UNIQUE INDEX teams_name_live_key ON teams (tenant_id, lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE team_members (
    tenant_id uuid        NOT NULL,
    team_id   uuid        NOT NULL,
    user_id   uuid        NOT NULL,
    added_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT team_members_pkey PRIMARY KEY (tenant_id, team_id, user_id),
    CONSTRAINT team_members_team_fkey FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id),
    CONSTRAINT team_members_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX team_members_user_idx ON team_members (tenant_id, user_id);

CREATE TABLE team_roles (
    tenant_id  uuid        NOT NULL,
    team_id    uuid        NOT NULL,
    role_id    uuid        NOT NULL,
    granted_by uuid,
    granted_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT team_roles_pkey PRIMARY KEY (tenant_id, team_id, role_id),
    CONSTRAINT team_roles_team_fkey FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id),
    CONSTRAINT team_roles_role_fkey FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id),
    CONSTRAINT team_roles_granted_by_fkey FOREIGN KEY (tenant_id, granted_by) REFERENCES users (tenant_id, id)
);

-- The roles a user holds: directly (team_id NULL) or as a member of a live
-- team, live roles only. The one definition every grant question uses.
-- security_invoker: row-level security applies as for the caller.
CREATE VIEW effective_user_roles WITH (security_invoker = true) AS
  SELECT ur.tenant_id, ur.user_id, ur.role_id, NULL::uuid AS team_id
    FROM user_roles ur
    JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id AND r.deleted_at IS NULL
  UNION ALL
  SELECT tm.tenant_id, tm.user_id, tr.role_id, tm.team_id
    FROM team_members tm
    JOIN teams t ON t.tenant_id = tm.tenant_id AND t.id = tm.team_id AND t.deleted_at IS NULL
    JOIN team_roles tr ON tr.tenant_id = tm.tenant_id AND tr.team_id = tm.team_id
    JOIN roles r ON r.tenant_id = tr.tenant_id AND r.id = tr.role_id AND r.deleted_at IS NULL;
GRANT SELECT ON effective_user_roles TO steward_app;

-- Row-level security. tenants is the registry of tenants rather than a
-- tenant-owned table: RLS is enabled (the application role sees only the
-- current tenant) but not forced, so the SECURITY DEFINER look-ups below,
-- owned by the migration role, can find a tenant by its slug at sign-in.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenants_isolation ON tenants
    USING (id = steward_current_tenant())
    WITH CHECK (id = steward_current_tenant());

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'tenant_modules', 'roles', 'role_permissions', 'role_views',
                           'user_roles', 'teams', 'team_members', 'team_roles']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = steward_current_tenant()) '
                   'WITH CHECK (tenant_id = steward_current_tenant())', t || '_isolation', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO steward_app', t);
  END LOOP;
END
$$;
GRANT SELECT, INSERT, UPDATE ON tenants TO steward_app;
GRANT SELECT ON modules, permissions, views, menu_items TO steward_app;

-- Sign-in: find a tenant by slug and the live account with that email in it.
-- The one path by which a request with no tenant yet reaches tenant data.
-- Returns no row when the tenant does not exist; a row with NULL user_id when
-- the account does not. Sets the transaction's tenant, so the rest of the
-- sign-in transaction is scoped to the tenant found.
CREATE FUNCTION steward_sign_in_lookup(p_tenant_slug text, p_email text)
RETURNS TABLE (tenant_id uuid, tenant_status text, user_id uuid, user_status text, password_hash text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_tenant tenants%ROWTYPE;
BEGIN
  SELECT * INTO v_tenant FROM tenants t
   WHERE t.slug = lower(p_tenant_slug) AND t.deleted_at IS NULL;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  PERFORM set_config('steward.tenant_id', v_tenant.id::text, true);
  RETURN QUERY
    SELECT v_tenant.id, v_tenant.status, u.id, u.status, u.password_hash
      FROM (SELECT 1) AS one
      LEFT JOIN users u ON u.tenant_id = v_tenant.id AND lower(u.email) = lower(p_email)
                       AND u.deleted_at IS NULL;
END
$$;
REVOKE ALL ON FUNCTION steward_sign_in_lookup(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_lookup(text, text) TO steward_app;

-- The platform tenant's id: the one tenant every caller may name without
-- being in it (platform administration starts there).
CREATE FUNCTION steward_platform_tenant()
RETURNS TABLE (tenant_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.id FROM tenants t WHERE t.kind = 'platform' AND t.deleted_at IS NULL
$$;
REVOKE ALL ON FUNCTION steward_platform_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_platform_tenant() TO steward_app;

-- Every change that alters what a principal is (grants, roles, teams,
-- modules, the user's status or profile) bumps the tenant's authorisation
-- version in the same transaction. Principals cached by the server are
-- keyed by it, so a change applies on the very next request; being a
-- trigger, no code path can forget it.
CREATE FUNCTION steward_bump_auth_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_tenant uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
BEGIN
  UPDATE tenants SET auth_version = auth_version + 1 WHERE id = v_tenant;
  RETURN NULL;
END
$$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tenant_modules', 'roles', 'role_permissions', 'role_views',
                           'user_roles', 'teams', 'team_members', 'team_roles']
  LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
                   'FOR EACH ROW EXECUTE FUNCTION steward_bump_auth_version()', t || '_auth_version', t);
  END LOOP;
END
$$;
CREATE TRIGGER users_auth_version
  AFTER UPDATE OF status, email, display_name, deleted_at, tenant_id OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION steward_bump_auth_version();

-- The principal of a request in one round trip: the user, the tenant, the
-- views and permissions granted by the user's roles (direct and through
-- teams) within the tenant's enabled modules, and the menu those views make.
-- When the caller already holds the principal for p_known_version and the
-- tenant's version is still that, only the version comes back (unchanged =
-- true) and the grants are not recomputed.
-- SECURITY INVOKER: it runs under the caller's row-level security, scoped to
-- the tenant it is given.
CREATE FUNCTION steward_resolve_principal(p_tenant_id uuid, p_user_id uuid, p_known_version bigint)
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
GRANT EXECUTE ON FUNCTION steward_resolve_principal(uuid, uuid, bigint) TO steward_app;
