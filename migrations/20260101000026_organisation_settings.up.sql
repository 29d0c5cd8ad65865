-- The organisation's own settings (issue 17, part 6): owners change its
-- name, brand colour and logo on a Settings screen of their own, and the
-- plan means something: a limit of people and of document storage, kept by
-- the database on every path that adds either.

-- 1. The permission and the screen, held by owners (and, for the platform's
--    own organisation, by platform administrators).
INSERT INTO permissions (key, module_key, description) VALUES
  ('settings:manage', 'core', 'Change the organisation''s name, brand colour and logo');
INSERT INTO views (key, module_key, path, title) VALUES ('settings', 'core', '/settings', 'Settings');
INSERT INTO menu_items (key, parent_key, view_key, label, icon, position)
VALUES ('settings', 'workspace', 'settings', 'Settings', 'cog', 30);
UPDATE role_templates SET permissions = permissions || 'settings:manage'::text, views = views || 'settings'::text
 WHERE system_key IN ('owner', 'platform_admin');
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('steward.tenant_id', t::text, true);
    INSERT INTO role_permissions (tenant_id, role_id, permission_key)
    SELECT r.tenant_id, r.id, 'settings:manage' FROM roles r
     WHERE r.tenant_id = t AND r.system_key IN ('owner', 'platform_admin')
    ON CONFLICT DO NOTHING;
    INSERT INTO role_views (tenant_id, role_id, view_key)
    SELECT r.tenant_id, r.id, 'settings' FROM roles r
     WHERE r.tenant_id = t AND r.system_key IN ('owner', 'platform_admin')
    ON CONFLICT DO NOTHING;
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
END
$$;

-- 2. The plans: a catalogue like modules. NULL is no limit.
CREATE TABLE plans (
    key                text    NOT NULL,
    name               text    NOT NULL,
    position           integer NOT NULL,
    max_people         integer,
    max_document_bytes bigint,
    CONSTRAINT plans_pkey PRIMARY KEY (key),
    CONSTRAINT plans_people_positive CHECK (max_people IS NULL OR max_people > 0),
    CONSTRAINT plans_bytes_positive CHECK (max_document_bytes IS NULL OR max_document_bytes > 0)
);
INSERT INTO plans (key, name, position, max_people, max_document_bytes) VALUES
  ('free',       'Free',       10, 25,     1073741824),
  ('standard',   'Standard',   20, 100000, 107374182400),
  ('enterprise', 'Enterprise', 30, NULL,   NULL);
GRANT SELECT ON plans TO steward_app;
ALTER TABLE tenants ADD CONSTRAINT tenants_plan_fkey FOREIGN KEY (plan) REFERENCES plans (key);

-- 3. What each organisation uses: people (accounts not deleted, whatever
--    their status) and document storage (every version of every document
--    not deleted). Kept by triggers in the transaction of each change, so
--    the figures are exact, and checked there against the plan: whatever
--    adds a person (creating, inviting, importing, restoring) or a file
--    (uploading, restoring a document) past the plan is refused with the
--    sentence below (SQLSTATE SL001 or SL002), which the application shows
--    as it is. Nothing that only removes is ever refused.
CREATE TABLE tenant_usage (
    tenant_id      uuid   NOT NULL,
    people         bigint NOT NULL DEFAULT 0,
    document_bytes bigint NOT NULL DEFAULT 0,
    CONSTRAINT tenant_usage_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT tenant_usage_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
-- Counted tenant by tenant: users and documents force row-level security
-- on the migration role too. The policy comes after the counts are in.
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('steward.tenant_id', t::text, true);
    INSERT INTO tenant_usage (tenant_id, people, document_bytes)
    SELECT t,
           (SELECT count(*) FROM users u WHERE u.tenant_id = t AND u.deleted_at IS NULL),
           (SELECT coalesce(sum(v.size_bytes), 0) FROM document_versions v
              JOIN documents d ON d.tenant_id = v.tenant_id AND d.id = v.document_id
             WHERE v.tenant_id = t AND d.deleted_at IS NULL);
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
END
$$;
ALTER TABLE tenant_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_usage_isolation ON tenant_usage
    USING (tenant_id = steward_current_tenant())
    WITH CHECK (tenant_id = steward_current_tenant());
-- The application reads the counts; only the counting functions below
-- (run as their owner, within the tenant of the change) write them.
GRANT SELECT ON tenant_usage TO steward_app;

-- Adds to an organisation's usage and, when it grew, checks the plan.
CREATE FUNCTION steward_add_usage(p_tenant uuid, p_people bigint, p_bytes bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_people bigint;
  v_bytes bigint;
  v_plan plans%ROWTYPE;
  v_kind text;
  v_name text;
  v_caller text := current_setting('steward.tenant_id', true);
BEGIN
  -- The row changed was the caller's tenant's (its own policy saw to it),
  -- or a superuser's hand: the count is that tenant's either way, and the
  -- transaction's tenant is put back as it was found.
  PERFORM set_config('steward.tenant_id', p_tenant::text, true);
  INSERT INTO tenant_usage AS u (tenant_id, people, document_bytes) VALUES (p_tenant, p_people, p_bytes)
  ON CONFLICT (tenant_id) DO UPDATE SET people = u.people + excluded.people, document_bytes = u.document_bytes + excluded.document_bytes
  RETURNING u.people, u.document_bytes INTO v_people, v_bytes;
  PERFORM set_config('steward.tenant_id', coalesce(v_caller, ''), true);
  IF p_people <= 0 AND p_bytes <= 0 THEN
    RETURN;
  END IF;
  SELECT p.*, t.kind, t.name INTO v_plan.key, v_plan.name, v_plan.position, v_plan.max_people, v_plan.max_document_bytes, v_kind, v_name
    FROM tenants t JOIN plans p ON p.key = t.plan WHERE t.id = p_tenant;
  IF NOT FOUND OR v_kind <> 'customer' THEN
    RETURN;
  END IF;
  IF p_people > 0 AND v_plan.max_people IS NOT NULL AND v_people > v_plan.max_people THEN
    RAISE EXCEPTION USING ERRCODE = 'SL001',
      MESSAGE = format('The %s plan allows %s people, and %s has %s already. Delete someone who has left, or ask for a larger plan.',
                       v_plan.name, to_char(v_plan.max_people, 'FM999,999,999'), v_name, to_char(v_people - p_people, 'FM999,999,999'));
  END IF;
  IF p_bytes > 0 AND v_plan.max_document_bytes IS NOT NULL AND v_bytes > v_plan.max_document_bytes THEN
    RAISE EXCEPTION USING ERRCODE = 'SL002',
      MESSAGE = format('The %s plan allows %s of documents, and %s uses %s: this would take it past that. Delete documents no longer needed, or ask for a larger plan.',
                       v_plan.name, pg_size_pretty(v_plan.max_document_bytes), v_name, pg_size_pretty(v_bytes - p_bytes));
  END IF;
END
$$;
REVOKE ALL ON FUNCTION steward_add_usage(uuid, bigint, bigint) FROM PUBLIC;

-- The counts of the current tenant, locked until the transaction ends: a
-- change of plan reads them so, and any addition meanwhile waits for it
-- and then sees the new plan.
CREATE FUNCTION steward_lock_usage()
RETURNS TABLE (people bigint, document_bytes bigint)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  INSERT INTO tenant_usage AS u (tenant_id) VALUES (steward_current_tenant())
  ON CONFLICT (tenant_id) DO UPDATE SET people = u.people
  RETURNING u.people, u.document_bytes
$$;
REVOKE ALL ON FUNCTION steward_lock_usage() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_lock_usage() TO steward_app;

-- People: once per statement for inserts (an import's rows, or a million
-- generated at once), once per row whose deletion changes.
CREATE FUNCTION steward_people_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT n.tenant_id, count(*) AS n FROM new_users n WHERE n.deleted_at IS NULL GROUP BY n.tenant_id LOOP
    PERFORM steward_add_usage(r.tenant_id, r.n, 0);
  END LOOP;
  RETURN NULL;
END
$$;
CREATE TRIGGER users_count_inserted AFTER INSERT ON users
  REFERENCING NEW TABLE AS new_users FOR EACH STATEMENT EXECUTE FUNCTION steward_people_inserted();

CREATE FUNCTION steward_people_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM steward_add_usage(OLD.tenant_id, -1, 0);
  ELSE
    PERFORM steward_add_usage(NEW.tenant_id, CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END, 0);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER users_count_deleted AFTER UPDATE OF deleted_at ON users FOR EACH ROW
  WHEN ((OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)) EXECUTE FUNCTION steward_people_moved();
CREATE TRIGGER users_count_removed AFTER DELETE ON users FOR EACH ROW
  WHEN (OLD.deleted_at IS NULL) EXECUTE FUNCTION steward_people_moved();

-- Storage: every version uploaded, and a document's versions leaving or
-- coming back with the document.
CREATE FUNCTION steward_bytes_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT n.tenant_id, sum(n.size_bytes)::bigint AS b FROM new_versions n GROUP BY n.tenant_id LOOP
    PERFORM steward_add_usage(r.tenant_id, 0, r.b);
  END LOOP;
  RETURN NULL;
END
$$;
CREATE TRIGGER document_versions_count_inserted AFTER INSERT ON document_versions
  REFERENCING NEW TABLE AS new_versions FOR EACH STATEMENT EXECUTE FUNCTION steward_bytes_inserted();

CREATE FUNCTION steward_document_bytes_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_bytes bigint;
  v_caller text := current_setting('steward.tenant_id', true);
BEGIN
  PERFORM set_config('steward.tenant_id', NEW.tenant_id::text, true);
  SELECT coalesce(sum(v.size_bytes), 0) INTO v_bytes FROM document_versions v
   WHERE v.tenant_id = NEW.tenant_id AND v.document_id = NEW.id;
  PERFORM set_config('steward.tenant_id', coalesce(v_caller, ''), true);
  PERFORM steward_add_usage(NEW.tenant_id, 0, CASE WHEN NEW.deleted_at IS NULL THEN v_bytes ELSE -v_bytes END);
  RETURN NULL;
END
$$;
CREATE TRIGGER documents_count_deleted AFTER UPDATE OF deleted_at ON documents FOR EACH ROW
  WHEN ((OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)) EXECUTE FUNCTION steward_document_bytes_moved();

-- 4. The logo: one small image per organisation (PNG, JPEG or WebP; the
--    application checks what the bytes are, not what they claim).
CREATE TABLE tenant_logos (
    tenant_id    uuid        NOT NULL,
    content_type text        NOT NULL,
    bytes        bytea       NOT NULL,
    sha256       text        NOT NULL,
    width        integer     NOT NULL,
    height       integer     NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenant_logos_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT tenant_logos_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT tenant_logos_type_check CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
    CONSTRAINT tenant_logos_size_check CHECK (octet_length(bytes) BETWEEN 1 AND 262144),
    CONSTRAINT tenant_logos_sha256_format CHECK (sha256 ~ '^[0-9a-f]{64}$')
);
ALTER TABLE tenant_logos ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_logos FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_logos_isolation ON tenant_logos
    USING (tenant_id = steward_current_tenant())
    WITH CHECK (tenant_id = steward_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_logos TO steward_app;

-- 5. How an organisation shows itself before anyone signs in: its name,
--    short name, brand colour and logo, by its id. The sign-in page asks
--    with the id a browser was given when someone signed in there (an id
--    cannot be guessed from a short name, so the page tells strangers
--    nothing about which organisations exist); mail clients and the top
--    bar ask for the logo by the same id. The transaction's tenant is left
--    as it was found.
CREATE FUNCTION steward_brand(p_tenant uuid)
RETURNS TABLE (name text, slug text, brand_colour text, version integer, has_logo boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_caller text := current_setting('steward.tenant_id', true);
BEGIN
  -- tenant_logos forces row-level security even on its owner.
  PERFORM set_config('steward.tenant_id', p_tenant::text, true);
  RETURN QUERY
    SELECT t.name, t.slug, nullif(t.settings->>'brand_colour', ''), t.version,
           EXISTS (SELECT 1 FROM tenant_logos l WHERE l.tenant_id = t.id)
      FROM tenants t WHERE t.id = p_tenant AND t.deleted_at IS NULL;
  PERFORM set_config('steward.tenant_id', coalesce(v_caller, ''), true);
END
$$;
REVOKE ALL ON FUNCTION steward_brand(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_brand(uuid) TO steward_app;

CREATE FUNCTION steward_brand_logo(p_tenant uuid)
RETURNS TABLE (content_type text, bytes bytea, sha256 text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_caller text := current_setting('steward.tenant_id', true);
BEGIN
  PERFORM set_config('steward.tenant_id', p_tenant::text, true);
  RETURN QUERY
    SELECT l.content_type, l.bytes, l.sha256
      FROM tenant_logos l JOIN tenants t ON t.id = l.tenant_id
     WHERE l.tenant_id = p_tenant AND t.deleted_at IS NULL;
  PERFORM set_config('steward.tenant_id', coalesce(v_caller, ''), true);
END
$$;
REVOKE ALL ON FUNCTION steward_brand_logo(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_brand_logo(uuid) TO steward_app;

-- 6. "A sign-in from a new address" notices (issue 17, part 5), which each
--    organisation turns on or off on its Settings screen (off unless
--    chosen). A place (an IPv4 /24 or IPv6 /64, as the sign-in throttle
--    counts them) is new to an account name when it is not among the
--    places it signed in from in the last 90 days while it has others: the
--    very first sign-in tells nobody anything they do not know.
ALTER TABLE tenants ADD COLUMN notify_new_place boolean NOT NULL DEFAULT false;
CREATE FUNCTION steward_sign_in_place_is_new(p_tenant_slug text, p_email text, p_place text)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH a AS (SELECT steward_sign_in_account_key(p_tenant_slug, p_email) AS account_key),
       known AS (
         SELECT sp.place FROM sign_in_places sp, a
          WHERE sp.account_key = a.account_key
            AND sp.last_success_at > now() - make_interval(days => steward_sign_in_place_days()))
  SELECT p_place IS NOT NULL AND EXISTS (SELECT 1 FROM known) AND NOT EXISTS (SELECT 1 FROM known WHERE known.place = p_place)
$$;
REVOKE ALL ON FUNCTION steward_sign_in_place_is_new(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_place_is_new(text, text, text) TO steward_app;

-- 7. Each person's theme (issue 17, part 7): the system's light or dark,
--    or one of them always. Applied by the server to every page (no flash
--    of the other one), from a cookie set at sign-in and when it changes.
ALTER TABLE users ADD COLUMN theme text NOT NULL DEFAULT 'system'
    CONSTRAINT users_theme_check CHECK (theme IN ('system', 'light', 'dark'));
