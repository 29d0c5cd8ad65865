-- The audit log: one event per change, written in the change's own
-- transaction; append-only for the application role; each tenant's events
-- form a hash chain, so any later edit is detectable; partitioned by month.

CREATE TABLE audit_events (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT steward_uuid_v7(),
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    -- position in the tenant's chain, and the chain itself
    seq             bigint      NOT NULL DEFAULT 0,
    prev_hash       bytea,
    hash            bytea       NOT NULL DEFAULT ''::bytea,
    actor_user_id   uuid,
    -- the actor's own tenant when it differs (platform staff acting on behalf)
    actor_tenant_id uuid,
    ip              inet,
    user_agent      text,
    action          text        NOT NULL,
    entity_type     text,
    entity_id       text,
    -- {"before": ..., "after": ...} with secrets redacted
    changes         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    request_id      text,
    CONSTRAINT audit_events_pkey PRIMARY KEY (tenant_id, occurred_at, id),
    CONSTRAINT audit_events_action_format CHECK (action ~ '^[a-z][a-z_]*\.[a-z][a-z_]*$')
) PARTITION BY RANGE (occurred_at);
CREATE INDEX audit_events_chain_idx ON audit_events (tenant_id, seq);
CREATE INDEX audit_events_entity_idx ON audit_events (tenant_id, entity_type, entity_id, occurred_at);

-- The head of each tenant's chain. Reached only through the trigger below
-- (the application role has no grant on it); its row lock orders the
-- writers of one tenant, so parallel transactions still make one chain.
CREATE TABLE audit_chain_heads (
    tenant_id uuid   NOT NULL,
    seq       bigint NOT NULL,
    hash      bytea  NOT NULL,
    CONSTRAINT audit_chain_heads_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT audit_chain_heads_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id)
);

-- The canonical form an event's hash covers, and the hash itself: SHA-256 of
-- the previous hash followed by the canonical JSON (jsonb orders its keys).
CREATE FUNCTION steward_audit_hash(
    p_prev bytea, p_tenant_id uuid, p_id uuid, p_seq bigint, p_occurred_at timestamptz,
    p_actor_user_id uuid, p_actor_tenant_id uuid, p_ip inet, p_user_agent text, p_action text,
    p_entity_type text, p_entity_id text, p_changes jsonb, p_request_id text)
RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT sha256(coalesce(p_prev, ''::bytea) || convert_to(jsonb_build_object(
    'tenant_id', p_tenant_id, 'id', p_id, 'seq', p_seq,
    'occurred_at', to_char(p_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor_user_id', p_actor_user_id, 'actor_tenant_id', p_actor_tenant_id,
    'ip', host(p_ip), 'user_agent', p_user_agent, 'action', p_action,
    'entity_type', p_entity_type, 'entity_id', p_entity_id,
    'changes', p_changes, 'request_id', p_request_id)::text, 'UTF8'))
$$;

CREATE FUNCTION steward_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_seq  bigint;
  v_prev bytea;
BEGIN
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
CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION steward_audit_chain();

-- Append-only: no grant allows it, and this refuses it even for the owner.
CREATE FUNCTION steward_audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION steward_audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION steward_audit_refuse_change();

-- The chain trigger runs as the owner with the inserting transaction's
-- tenant set, so forced RLS on the heads lets it see exactly its own head.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['audit_events', 'audit_chain_heads']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = steward_current_tenant()) '
                   'WITH CHECK (tenant_id = steward_current_tenant())', t || '_isolation', t);
  END LOOP;
END
$$;
GRANT SELECT, INSERT ON audit_events TO steward_app;

-- Walks a tenant's chain in order and names the first event whose hash does
-- not match (edited, inserted out of order, or removed before it).
CREATE FUNCTION steward_verify_audit(p_tenant_id uuid)
RETURNS TABLE (checked bigint, bad_id uuid, bad_seq bigint, bad_at timestamptz, reason text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  e audit_events%ROWTYPE;
  v_prev bytea := NULL;
  v_seq bigint := 0;
BEGIN
  checked := 0;
  FOR e IN SELECT * FROM audit_events a WHERE a.tenant_id = p_tenant_id ORDER BY a.seq, a.occurred_at LOOP
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
  RETURN NEXT;
END
$$;
GRANT EXECUTE ON FUNCTION steward_verify_audit(uuid) TO steward_app;

-- Monthly partitions, created ahead of time: by this migration and at every
-- start of steward (idempotent).
CREATE FUNCTION steward_audit_ensure_partitions(p_months_ahead integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_month date := date_trunc('month', now() - interval '1 month')::date;
  v_last  date := date_trunc('month', now() + make_interval(months => p_months_ahead))::date;
  v_name  text;
  v_made  integer := 0;
BEGIN
  WHILE v_month <= v_last LOOP
    v_name := format('audit_events_%s', to_char(v_month, 'YYYY_MM'));
    IF to_regclass(v_name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
                     v_name, v_month, (v_month + interval '1 month')::date);
      -- Reached through the parent, whose policy applies; forced here too,
      -- so the partition is never a way around it.
      EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', v_name);
      EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', v_name);
      EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = steward_current_tenant()) '
                     'WITH CHECK (tenant_id = steward_current_tenant())', v_name || '_isolation', v_name);
      v_made := v_made + 1;
    END IF;
    v_month := (v_month + interval '1 month')::date;
  END LOOP;
  RETURN v_made;
END
$$;
SELECT steward_audit_ensure_partitions(12);
