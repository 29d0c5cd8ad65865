-- Scheduled upkeep (issue 18, part 3): the jobs `steward serve` runs by
-- itself, each with its last run and outcome, shown on the System screen;
-- and a default audit partition, so that a month without its partition
-- never refuses a write (the partitions job raises an alarm instead).

-- 1. The jobs. One row each; a server claims a due job by moving its
--    `running_since` (so two servers never run the same job at once), and
--    settles it with the outcome. Written by the scheduler as the schema
--    owner; the application reads it for the System screen.
CREATE TABLE scheduled_jobs (
    job              text        NOT NULL,
    title            text        NOT NULL,
    position         integer     NOT NULL,
    every_seconds    integer     NOT NULL,
    running_since    timestamptz,
    running_on       text,
    last_started_at  timestamptz,
    last_finished_at timestamptz,
    last_outcome     text,
    last_message     text        NOT NULL DEFAULT '',
    last_duration_ms integer,
    runs             bigint      NOT NULL DEFAULT 0,
    failures         bigint      NOT NULL DEFAULT 0,
    CONSTRAINT scheduled_jobs_pkey PRIMARY KEY (job),
    CONSTRAINT scheduled_jobs_every_check CHECK (every_seconds > 0),
    CONSTRAINT scheduled_jobs_outcome_check CHECK (last_outcome IN ('ok', 'alarm', 'failed'))
);
INSERT INTO scheduled_jobs (job, title, position, every_seconds) VALUES
  ('partitions', 'Audit and access-log partitions', 10, 3600),
  ('retention', 'Retention: deleted people, old sign-in failures, the access log, the audit log', 20, 3600),
  ('chain_check', 'Audit chain check, every organisation', 30, 86400);
GRANT SELECT ON scheduled_jobs TO steward_app;
-- Job messages name organisations: the application reads them only in the
-- platform's scope (the scheduler, as the owner, is not bound: not forced).
ALTER TABLE scheduled_jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY scheduled_jobs_platform_read ON scheduled_jobs FOR SELECT
    USING (steward_current_tenant() = (SELECT tenant_id FROM steward_platform_tenant()));

-- 2. The audit log's default partition: an event whose month has no
--    partition lands here instead of failing its transaction. It keeps the
--    same isolation and guards as every month's partition.
CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;
ALTER TABLE audit_events_default ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events_default FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_default_isolation ON audit_events_default
    USING (tenant_id = steward_current_tenant()) WITH CHECK (tenant_id = steward_current_tenant());
SELECT steward_audit_guard_partition('audit_events_default');

-- 3. Making a month's partition scans the default one for rows of that
--    month: where some are there (the alarm was missed), the month is left
--    to them and the others are still made, instead of failing them all.
CREATE OR REPLACE FUNCTION steward_audit_ensure_partitions(p_months_ahead integer)
RETURNS integer
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_month date := date_trunc('month', now() - interval '1 month')::date;
  v_last  date := date_trunc('month', now() + make_interval(months => p_months_ahead))::date;
  v_name  text;
  v_made  integer := 0;
  p record;
BEGIN
  WHILE v_month <= v_last LOOP
    v_name := format('audit_events_%s', to_char(v_month, 'YYYY_MM'));
    IF to_regclass(v_name) IS NULL THEN
      BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
                       v_name, v_month, (v_month + interval '1 month')::date);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', v_name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', v_name);
        EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = steward_current_tenant()) '
                       'WITH CHECK (tenant_id = steward_current_tenant())', v_name || '_isolation', v_name);
        v_made := v_made + 1;
      EXCEPTION WHEN check_violation THEN
        RAISE WARNING 'audit partition % not made: the default partition holds events of that month', v_name;
      END;
    END IF;
    v_month := (v_month + interval '1 month')::date;
  END LOOP;
  FOR p IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'audit_events'::regclass LOOP
    PERFORM steward_audit_guard_partition(p.relname);
  END LOOP;
  RETURN v_made;
END
$$;

-- 4. How many events the default partition holds, every tenant's (run by
--    the schema owner, whom forced row-level security keeps to one tenant
--    at a time, as in steward_audit_drop_before). Any is an alarm.
CREATE FUNCTION steward_audit_default_count()
RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_count bigint := 0;
  v_here bigint;
  t record;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('steward.tenant_id', t.id::text, true);
    SELECT count(*) INTO v_here FROM audit_events_default WHERE tenant_id = t.id;
    v_count := v_count + v_here;
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
  RETURN v_count;
END
$$;
REVOKE ALL ON FUNCTION steward_audit_default_count() FROM PUBLIC;

-- 5. The default partition's events back in place: when they all belong to
--    one month that has no partition (the usual case: upkeep stopped, and
--    the month came), the default partition becomes that month's, with its
--    rows, their chain and guards untouched, and a new empty default is
--    made. Returns the partition made, or NULL when there was nothing to
--    do or the events span several months (then they stay, kept and
--    verifiable, and the alarm stays).
CREATE FUNCTION steward_audit_adopt_default()
RETURNS text
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_min timestamptz;
  v_max timestamptz;
  v_lo timestamptz;
  v_hi timestamptz;
  v_month date;
  v_name text;
  t record;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('steward.tenant_id', t.id::text, true);
    SELECT min(occurred_at), max(occurred_at) INTO v_lo, v_hi FROM audit_events_default WHERE tenant_id = t.id;
    v_min := least(v_min, v_lo);
    v_max := greatest(v_max, v_hi);
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
  IF v_min IS NULL THEN
    RETURN NULL;
  END IF;
  v_month := date_trunc('month', v_min)::date;
  v_name := format('audit_events_%s', to_char(v_month, 'YYYY_MM'));
  IF v_max >= (v_month + interval '1 month') OR to_regclass(v_name) IS NOT NULL THEN
    RETURN NULL;
  END IF;
  ALTER TABLE audit_events DETACH PARTITION audit_events_default;
  EXECUTE format('ALTER TABLE audit_events_default RENAME TO %I', v_name);
  EXECUTE format('ALTER POLICY audit_events_default_isolation ON %I RENAME TO %I', v_name, v_name || '_isolation');
  EXECUTE format('ALTER TABLE audit_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                 v_name, v_month, (v_month + interval '1 month')::date);
  CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;
  ALTER TABLE audit_events_default ENABLE ROW LEVEL SECURITY;
  ALTER TABLE audit_events_default FORCE ROW LEVEL SECURITY;
  CREATE POLICY audit_events_default_isolation ON audit_events_default
      USING (tenant_id = steward_current_tenant()) WITH CHECK (tenant_id = steward_current_tenant());
  PERFORM steward_audit_guard_partition('audit_events_default');
  RETURN v_name;
END
$$;
REVOKE ALL ON FUNCTION steward_audit_adopt_default() FROM PUBLIC;

-- 6. The System screen: a view of the platform module, in the Platform
--    menu, granted to platform administrators (new platform tenants get it
--    from the template; the existing one here).
INSERT INTO views (key, module_key, path, title) VALUES ('system', 'platform', '/system', 'System');
INSERT INTO menu_items (key, parent_key, view_key, label, icon, position)
VALUES ('system', 'platform', 'system', 'System', 'server', 40);
UPDATE role_templates SET views = views || 'system'::text WHERE system_key = 'platform_admin';
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants WHERE kind = 'platform' LOOP
    PERFORM set_config('steward.tenant_id', t::text, true);
    INSERT INTO role_views (tenant_id, role_id, view_key)
    SELECT r.tenant_id, r.id, 'system' FROM roles r
     WHERE r.tenant_id = t AND r.system_key = 'platform_admin'
    ON CONFLICT DO NOTHING;
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
END
$$;
