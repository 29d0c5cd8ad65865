-- The audit chain's tamper evidence, closed at its ends (review M5).

-- 1. Every partition refuses TRUNCATE itself: a statement trigger on the
--    parent is not run for a TRUNCATE of one partition.
CREATE OR REPLACE FUNCTION steward_audit_guard_partition(p_name text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = p_name::regclass AND tgname = 'audit_partition_no_truncate') THEN
    BEGIN
      EXECUTE format('CREATE TRIGGER audit_partition_no_truncate BEFORE TRUNCATE ON %I '
                     'FOR EACH STATEMENT EXECUTE FUNCTION steward_audit_refuse_change()', p_name);
    EXCEPTION WHEN insufficient_privilege THEN
      -- A partition someone else made (a superuser, by hand): say so, go on.
      RAISE WARNING 'audit partition % belongs to another role: its TRUNCATE guard is missing', p_name;
    END;
  END IF;
END
$$;

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
      EXECUTE format('CREATE TABLE %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
                     v_name, v_month, (v_month + interval '1 month')::date);
      EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', v_name);
      EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', v_name);
      EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = steward_current_tenant()) '
                     'WITH CHECK (tenant_id = steward_current_tenant())', v_name || '_isolation', v_name);
      v_made := v_made + 1;
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
SELECT steward_audit_ensure_partitions(12);

-- 2. The database sets when an event happened; only a loader that says so
--    (steward.audit_loader = on, as gen-data does) gives its own times.
CREATE OR REPLACE FUNCTION steward_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_seq  bigint;
  v_prev bytea;
BEGIN
  IF coalesce(current_setting('steward.audit_loader', true), '') <> 'on' THEN
    NEW.occurred_at := now();
  END IF;
  INSERT INTO audit_chain_heads AS h (tenant_id, seq, hash)
  VALUES (NEW.tenant_id, 0, ''::bytea)
  ON CONFLICT (tenant_id) DO NOTHING;
  SELECT h.seq, nullif(h.hash, ''::bytea) INTO v_seq, v_prev
    FROM audit_chain_heads h WHERE h.tenant_id = NEW.tenant_id FOR UPDATE;
  NEW.seq := v_seq + 1;
  NEW.prev_hash := v_prev;
  NEW.hash := steward_audit_hash(v_prev, NEW.tenant_id, NEW.id, NEW.seq, NEW.occurred_at,
    NEW.actor_user_id, NEW.actor_tenant_id, NEW.ip, NEW.user_agent, NEW.action,
    NEW.entity_type, NEW.entity_id, NEW.changes, NEW.request_id);
  UPDATE audit_chain_heads SET seq = NEW.seq, hash = NEW.hash WHERE tenant_id = NEW.tenant_id;
  RETURN NEW;
END
$$;

-- 3. A retention cut records, per tenant, the last event it dropped; the
--    first kept event must link to it.
CREATE TABLE audit_retention_anchors (
    cut_id    uuid   NOT NULL,
    tenant_id uuid   NOT NULL,
    last_seq  bigint NOT NULL,
    last_hash bytea  NOT NULL,
    CONSTRAINT audit_retention_anchors_pkey PRIMARY KEY (tenant_id, cut_id)
);
ALTER TABLE audit_retention_anchors ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_retention_anchors FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_retention_anchors_isolation ON audit_retention_anchors
    USING (tenant_id = steward_current_tenant()) WITH CHECK (tenant_id = steward_current_tenant());
GRANT SELECT ON audit_retention_anchors TO steward_app;

CREATE OR REPLACE FUNCTION steward_audit_drop_before(p_cut_before timestamptz)
RETURNS text[]
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  p record;
  v_dropping text[] := '{}';
  v_upper timestamptz;
  v_cut timestamptz;
  v_id uuid := steward_uuid_v7();
  v_union text;
  t record;
BEGIN
  FOR p IN
    SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'audit_events'::regclass
     ORDER BY c.relname
  LOOP
    v_upper := substring(p.bound FROM 'TO \(''([^'']+)''\)')::timestamptz;
    IF v_upper IS NOT NULL AND v_upper <= p_cut_before THEN
      v_dropping := v_dropping || p.relname::text;
      v_cut := greatest(v_cut, v_upper);
    END IF;
  END LOOP;
  IF cardinality(v_dropping) = 0 THEN
    RETURN v_dropping;
  END IF;
  INSERT INTO audit_retention_cuts (id, cut_before, partitions) VALUES (v_id, v_cut, v_dropping);
  -- Each tenant's last dropped event, read through the parent inside the
  -- tenant's scope (forced row-level security applies to the owner too).
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('steward.tenant_id', t.id::text, true);
    INSERT INTO audit_retention_anchors (cut_id, tenant_id, last_seq, last_hash)
    SELECT v_id, a.tenant_id, a.seq, a.hash FROM audit_events a
     WHERE a.tenant_id = t.id AND a.tableoid = ANY (SELECT n::regclass FROM unnest(v_dropping) n)
     ORDER BY a.seq DESC LIMIT 1;
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
  FOREACH v_union IN ARRAY v_dropping LOOP
    EXECUTE format('ALTER TABLE audit_events DETACH PARTITION %I', v_union);
    EXECUTE format('DROP TABLE %I', v_union);
  END LOOP;
  RETURN v_dropping;
END
$$;

-- The current tenant's chain head, for verification by the application
-- role (which has no grant on the heads); forced row-level security keeps
-- it to the transaction's tenant even here.
CREATE FUNCTION steward_audit_head()
RETURNS TABLE (seq bigint, hash bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT h.seq, nullif(h.hash, ''::bytea) FROM audit_chain_heads h WHERE h.tenant_id = steward_current_tenant()
$$;
REVOKE ALL ON FUNCTION steward_audit_head() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_audit_head() TO steward_app;

-- 4. Verification anchored at both ends: a chain that starts after event
--    1 must start where a recorded cut left that tenant's chain, and its
--    last event must be the one the chain head names.
CREATE OR REPLACE FUNCTION steward_verify_audit(p_tenant_id uuid)
RETURNS TABLE (checked bigint, bad_id uuid, bad_seq bigint, bad_at timestamptz, reason text)
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  e audit_events%ROWTYPE;
  v_prev bytea := NULL;
  v_seq bigint := 0;
  v_first boolean := true;
  v_head_seq bigint;
  v_head_hash bytea;
BEGIN
  checked := 0;
  FOR e IN SELECT * FROM audit_events a WHERE a.tenant_id = p_tenant_id ORDER BY a.seq, a.occurred_at LOOP
    IF v_first AND e.seq > 1 THEN
      IF EXISTS (SELECT 1 FROM audit_retention_anchors r
                  WHERE r.tenant_id = p_tenant_id AND r.last_seq = e.seq - 1 AND r.last_hash = e.prev_hash) THEN
        v_seq := e.seq - 1;
        v_prev := e.prev_hash;
      ELSE
        bad_id := e.id; bad_seq := e.seq; bad_at := e.occurred_at;
        reason := format('the chain starts at event number %s, and no retention cut recorded dropping the events before it', e.seq);
        RETURN NEXT; RETURN;
      END IF;
    END IF;
    v_first := false;
    v_seq := v_seq + 1;
    IF e.seq <> v_seq THEN
      bad_id := e.id; bad_seq := e.seq; bad_at := e.occurred_at;
      reason := format('expected event number %s here: an event is missing', v_seq);
      RETURN NEXT; RETURN;
    END IF;
    IF e.prev_hash IS DISTINCT FROM v_prev THEN
      bad_id := e.id; bad_seq := e.seq; bad_at := e.occurred_at;
      reason := 'its link to the previous event is broken';
      RETURN NEXT; RETURN;
    END IF;
    IF e.hash <> steward_audit_hash(v_prev, e.tenant_id, e.id, e.seq, e.occurred_at, e.actor_user_id,
         e.actor_tenant_id, e.ip, e.user_agent, e.action, e.entity_type, e.entity_id, e.changes, e.request_id) THEN
      bad_id := e.id; bad_seq := e.seq; bad_at := e.occurred_at;
      reason := 'its contents do not match its hash: it was changed after it was written';
      RETURN NEXT; RETURN;
    END IF;
    v_prev := e.hash;
    checked := checked + 1;
  END LOOP;
  IF p_tenant_id IS DISTINCT FROM steward_current_tenant() THEN
    RETURN NEXT; RETURN; -- another tenant's chain: nothing of it is visible here
  END IF;
  SELECT h.seq, h.hash INTO v_head_seq, v_head_hash FROM steward_audit_head() h;
  IF coalesce(v_head_seq, 0) <> v_seq OR v_head_hash IS DISTINCT FROM v_prev THEN
    bad_seq := v_seq; bad_id := NULL; bad_at := NULL;
    reason := format('the chain ends at event number %s, but its head says %s: the newest events are missing', v_seq, coalesce(v_head_seq, 0));
    RETURN NEXT; RETURN;
  END IF;
  RETURN NEXT;
END
$$;
