-- Documents with immutable versions, and what the audit screens need:
-- indexes for their filters, a cut recorded when retention drops old
-- partitions (the chain then starts at the first event kept).

CREATE TABLE documents (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT steward_uuid_v7(),
    title            text        NOT NULL,
    -- The current version's file: its name, type and size.
    file_name        text        NOT NULL,
    content_type     text        NOT NULL,
    size_bytes       bigint      NOT NULL,
    current_version  integer     NOT NULL DEFAULT 1,
    metadata         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    tags             text[]      NOT NULL DEFAULT '{}',
    created_by       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    -- Optimistic concurrency of the head (title, tags, metadata).
    version          integer     NOT NULL DEFAULT 1,
    -- Title first, then metadata values, then tags.
    search           tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, title), 'A')
        || setweight(jsonb_to_tsvector('simple'::regconfig, metadata, '["string"]'), 'B')
        || setweight(array_to_tsvector(tags), 'C')
    ) STORED,
    CONSTRAINT documents_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT documents_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT documents_creator_fkey FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id),
    CONSTRAINT documents_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
    CONSTRAINT documents_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);
CREATE INDEX documents_search_idx ON documents USING gin (search);
CREATE INDEX documents_title_trgm ON documents USING gin ((lower(title)) gin_trgm_ops);
CREATE INDEX documents_tags_idx ON documents USING gin (tags);
-- Keyset order of the list (newest first), live and deleted.
CREATE INDEX documents_order ON documents (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX documents_deleted_order ON documents (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NOT NULL;
CREATE INDEX documents_creator_idx ON documents (tenant_id, created_by, created_at DESC);

-- One row per uploaded version; never changed or removed once written.
CREATE TABLE document_versions (
    tenant_id     uuid        NOT NULL,
    document_id   uuid        NOT NULL,
    number        integer     NOT NULL,
    -- Hex SHA-256 of the content: its address in the blob store.
    sha256        text        NOT NULL,
    size_bytes    bigint      NOT NULL,
    file_name     text        NOT NULL,
    content_type  text        NOT NULL,
    note          text        NOT NULL DEFAULT '',
    uploaded_by   uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT document_versions_pkey PRIMARY KEY (tenant_id, document_id, number),
    CONSTRAINT document_versions_document_fkey FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id),
    CONSTRAINT document_versions_uploader_fkey FOREIGN KEY (tenant_id, uploaded_by) REFERENCES users (tenant_id, id),
    CONSTRAINT document_versions_number_positive CHECK (number > 0),
    CONSTRAINT document_versions_sha256_format CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT document_versions_size_positive CHECK (size_bytes >= 0)
);
CREATE INDEX document_versions_sha_idx ON document_versions (sha256);

CREATE FUNCTION steward_document_version_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'document versions are immutable: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER document_versions_immutable BEFORE UPDATE OR DELETE ON document_versions
  FOR EACH ROW EXECUTE FUNCTION steward_document_version_immutable();
CREATE TRIGGER document_versions_no_truncate BEFORE TRUNCATE ON document_versions
  FOR EACH STATEMENT EXECUTE FUNCTION steward_document_version_immutable();

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['documents', 'document_versions']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = steward_current_tenant()) '
                   'WITH CHECK (tenant_id = steward_current_tenant())', t || '_isolation', t);
  END LOOP;
END
$$;
GRANT SELECT, INSERT, UPDATE ON documents TO steward_app;
GRANT SELECT, INSERT ON document_versions TO steward_app;

-- The audit list's filters, each newest first within the tenant. The
-- primary key (tenant_id, occurred_at, id) serves the unfiltered list.
CREATE INDEX audit_events_actor_idx ON audit_events (tenant_id, actor_user_id, occurred_at);
CREATE INDEX audit_events_action_idx ON audit_events (tenant_id, action, occurred_at);
CREATE INDEX audit_events_ip_idx ON audit_events (tenant_id, ip, occurred_at);
CREATE INDEX audit_events_request_idx ON audit_events (tenant_id, request_id);
CREATE INDEX audit_events_id_idx ON audit_events (tenant_id, id);

-- Retention drops whole months. Each drop is recorded here (by the owner;
-- the application role may read it) so that verification knows a chain may
-- start after event number 1: at an event older than no cut.
CREATE TABLE audit_retention_cuts (
    id          uuid        NOT NULL DEFAULT steward_uuid_v7(),
    cut_before  timestamptz NOT NULL,
    partitions  text[]      NOT NULL,
    done_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_retention_cuts_pkey PRIMARY KEY (id)
);
GRANT SELECT ON audit_retention_cuts TO steward_app;

-- Verification as before, but a chain whose oldest months were dropped by
-- retention starts at its first kept event, trusting that event's link.
CREATE OR REPLACE FUNCTION steward_verify_audit(p_tenant_id uuid)
RETURNS TABLE (checked bigint, bad_id uuid, bad_seq bigint, bad_at timestamptz, reason text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  e audit_events%ROWTYPE;
  v_prev bytea := NULL;
  v_seq bigint := 0;
  v_first boolean := true;
  v_cut timestamptz;
BEGIN
  checked := 0;
  SELECT max(c.cut_before) INTO v_cut FROM audit_retention_cuts c;
  FOR e IN SELECT * FROM audit_events a WHERE a.tenant_id = p_tenant_id ORDER BY a.seq, a.occurred_at LOOP
    IF v_first AND e.seq > 1 AND v_cut IS NOT NULL AND e.occurred_at >= v_cut THEN
      v_seq := e.seq - 1;
      v_prev := e.prev_hash;
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
  RETURN NEXT;
END
$$;

-- Drops the monthly partitions that end on or before p_cut_before, and
-- records the cut. Run by the owner (steward audit-retention).
CREATE FUNCTION steward_audit_drop_before(p_cut_before timestamptz)
RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  v_dropped text[] := '{}';
  v_upper timestamptz;
  v_cut timestamptz;
BEGIN
  FOR p IN
    SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'audit_events'::regclass
     ORDER BY c.relname
  LOOP
    v_upper := substring(p.bound FROM 'TO \(''([^'']+)''\)')::timestamptz;
    IF v_upper IS NOT NULL AND v_upper <= p_cut_before THEN
      EXECUTE format('ALTER TABLE audit_events DETACH PARTITION %I', p.relname);
      EXECUTE format('DROP TABLE %I', p.relname);
      v_dropped := v_dropped || p.relname::text;
      v_cut := greatest(v_cut, v_upper);
    END IF;
  END LOOP;
  IF cardinality(v_dropped) > 0 THEN
    INSERT INTO audit_retention_cuts (cut_before, partitions) VALUES (v_cut, v_dropped);
  END IF;
  RETURN v_dropped;
END
$$;
