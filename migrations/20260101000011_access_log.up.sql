-- The access log: one row per request (method, route, status, latency, who),
-- written in batches by a background task, partitioned by day so retention
-- is a DROP of whole days. It is an operations table, not tenant data: only
-- a transaction scoped to the platform tenant may read it.

CREATE TABLE access_log (
    at         timestamptz NOT NULL,
    id         bigint      GENERATED ALWAYS AS IDENTITY,
    method     text        NOT NULL,
    route      text        NOT NULL,
    path       text        NOT NULL,
    status     smallint    NOT NULL,
    latency_us integer     NOT NULL,
    tenant_id  uuid,
    user_id    uuid,
    request_id text,
    CONSTRAINT access_log_pkey PRIMARY KEY (at, id)
) PARTITION BY RANGE (at);
CREATE INDEX access_log_status_idx ON access_log (status, at);
CREATE INDEX access_log_tenant_idx ON access_log (tenant_id, at);
CREATE INDEX access_log_slow_idx ON access_log (latency_us) WHERE latency_us >= 100000;

ALTER TABLE access_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE access_log FORCE ROW LEVEL SECURITY;
CREATE POLICY access_log_write ON access_log FOR INSERT WITH CHECK (true);
CREATE POLICY access_log_read ON access_log FOR SELECT
  USING (steward_current_tenant() = (SELECT tenant_id FROM steward_platform_tenant()));
GRANT SELECT, INSERT ON access_log TO steward_app;

-- Daily partitions from yesterday to p_days_ahead days ahead (idempotent;
-- run by migrate and by the server's hourly upkeep).
CREATE FUNCTION steward_access_log_ensure_partitions(p_days_ahead integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_day  date := (now() AT TIME ZONE 'UTC')::date - 1;
  v_last date := (now() AT TIME ZONE 'UTC')::date + p_days_ahead;
  v_name text;
  v_made integer := 0;
BEGIN
  WHILE v_day <= v_last LOOP
    v_name := format('access_log_%s', to_char(v_day, 'YYYYMMDD'));
    IF to_regclass(v_name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF access_log FOR VALUES FROM (%L) TO (%L)',
                     v_name, v_day::timestamp AT TIME ZONE 'UTC', (v_day + 1)::timestamp AT TIME ZONE 'UTC');
      EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', v_name);
      EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', v_name);
      EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (steward_current_tenant() = '
                     '(SELECT tenant_id FROM steward_platform_tenant()))', v_name || '_read', v_name);
      v_made := v_made + 1;
    END IF;
    v_day := v_day + 1;
  END LOOP;
  RETURN v_made;
END
$$;

-- Drops the days that ended on or before p_cut; returns their partitions.
CREATE FUNCTION steward_access_log_drop_before(p_cut timestamptz)
RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  v_dropped text[] := '{}';
  v_upper timestamptz;
BEGIN
  FOR p IN
    SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'access_log'::regclass
     ORDER BY c.relname
  LOOP
    v_upper := substring(p.bound FROM 'TO \(''([^'']+)''\)')::timestamptz;
    IF v_upper IS NOT NULL AND v_upper <= p_cut THEN
      EXECUTE format('DROP TABLE %I', p.relname);
      v_dropped := v_dropped || p.relname::text;
    END IF;
  END LOOP;
  RETURN v_dropped;
END
$$;

SELECT steward_access_log_ensure_partitions(7);

-- Tenant names for the platform's operational screens: only a transaction
-- scoped to the platform tenant gets any row.
CREATE FUNCTION steward_tenant_slugs()
RETURNS TABLE (id uuid, slug text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.id, t.slug FROM tenants t
   WHERE steward_current_tenant() = (SELECT p.tenant_id FROM steward_platform_tenant() p)
$$;
REVOKE ALL ON FUNCTION steward_tenant_slugs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_tenant_slugs() TO steward_app;

-- The screen: a view of the platform module, in the Platform menu, granted
-- to platform administrators (new platform tenants get it from the
-- template; the existing one here).
INSERT INTO views (key, module_key, path, title) VALUES ('access_log', 'platform', '/access-log', 'Access log');
INSERT INTO menu_items (key, parent_key, view_key, label, icon, position)
VALUES ('access_log', 'platform', 'access_log', 'Access log', 'list', 20);
UPDATE role_templates SET views = views || 'access_log'::text WHERE system_key = 'platform_admin';
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants WHERE kind = 'platform' LOOP
    PERFORM set_config('steward.tenant_id', t::text, true);
    INSERT INTO role_views (tenant_id, role_id, view_key)
    SELECT r.tenant_id, r.id, 'access_log' FROM roles r
     WHERE r.tenant_id = t AND r.system_key = 'platform_admin'
    ON CONFLICT DO NOTHING;
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
END
$$;
