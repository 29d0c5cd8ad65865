-- Work once a statement that ran once a row (issue 16: the CSV import
-- writes a batch of 250 people, their roles and their events in a few
-- statements; these triggers set its pace).

-- 1. users_search_trgm has served no query since user_search (migration
--    0013) took over the search; it cost a trigram index entry for every
--    person added or renamed.
DROP INDEX users_search_trgm;

-- 2. The authorisation version is bumped once per statement and tenant.
--    Once a row, a batch of 250 grants wrote 250 versions of the tenant's
--    version row in one transaction, each found by walking the ones
--    before it. Every change of access still bumps it in its own
--    transaction; the principal's cache compares it for equality only.
CREATE FUNCTION steward_bump_auth_versions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- The rows changed belong to the current tenant (their own policy
  -- checked that), so the version rows are the current tenant's too.
  IF TG_OP = 'INSERT' THEN
    INSERT INTO tenant_auth AS a (tenant_id, auth_version) SELECT DISTINCT tenant_id, 2 FROM new_rows
    ON CONFLICT (tenant_id) DO UPDATE SET auth_version = a.auth_version + 1;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO tenant_auth AS a (tenant_id, auth_version) SELECT DISTINCT tenant_id, 2 FROM old_rows
    ON CONFLICT (tenant_id) DO UPDATE SET auth_version = a.auth_version + 1;
  ELSE
    INSERT INTO tenant_auth AS a (tenant_id, auth_version)
    SELECT tenant_id, 2 FROM new_rows UNION SELECT tenant_id, 2 FROM old_rows
    ON CONFLICT (tenant_id) DO UPDATE SET auth_version = a.auth_version + 1;
  END IF;
  RETURN NULL;
END
$$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tenant_modules', 'roles', 'role_permissions', 'role_views',
                           'user_roles', 'teams', 'team_members', 'team_roles']
  LOOP
    EXECUTE format('DROP TRIGGER %I ON %I', t || '_auth_version', t);
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION steward_bump_auth_versions()', t || '_auth_version_insert', t);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION steward_bump_auth_versions()', t || '_auth_version_update', t);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION steward_bump_auth_versions()', t || '_auth_version_delete', t);
  END LOOP;
END
$$;

-- 3. Webhook deliveries are queued once per statement: the new events
--    against the tenant's active endpoints, in one insert, in the chain's
--    order. It still runs after the chain trigger (the payload carries each
--    event's place in the chain and its hash), with the inserting
--    transaction's tenant set.
DROP TRIGGER audit_events_webhooks ON audit_events;
CREATE OR REPLACE FUNCTION steward_webhook_queue() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, action, payload)
  SELECT n.tenant_id, e.id, n.id, n.action, jsonb_build_object(
           'id', n.id,
           'action', n.action,
           'occurred_at', to_char(n.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'tenant_id', n.tenant_id,
           'seq', n.seq,
           'hash', encode(n.hash, 'hex'),
           'prev_hash', encode(n.prev_hash, 'hex'),
           'actor_user_id', n.actor_user_id,
           'actor_tenant_id', n.actor_tenant_id,
           'ip', host(n.ip),
           'user_agent', n.user_agent,
           'entity_type', n.entity_type,
           'entity_id', n.entity_id,
           'changes', n.changes,
           'request_id', n.request_id)
    FROM new_events n
    JOIN webhook_endpoints e ON e.tenant_id = n.tenant_id AND e.status = 'active'
   WHERE steward_webhook_matches(e.actions, n.action)
   ORDER BY n.tenant_id, n.seq, e.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER audit_events_webhooks AFTER INSERT ON audit_events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION steward_webhook_queue();


-- 4. Events recorded together (an import's batch) are chained by one call:
--    the head is locked and read once, each event's hash computed in order,
--    the events inserted in one statement and the head moved once. Through
--    the row trigger, each of the 500 events of a batch of 250 people locked,
--    read and wrote the head (a new version of one row each time, found by
--    walking the ones before it).
--    The row trigger stands aside only for rows this function inserts: it
--    runs as the schema's owner (current_user in the trigger's condition)
--    and gives each row its place (seq > 0). The application role inserting
--    directly is never the owner, so its rows are always chained by the
--    trigger, whatever it puts in seq; so are the owner's own inserts that
--    leave seq to the chain (seq = 0), such as the retention event.
CREATE FUNCTION steward_audit_append(
    p_tenant uuid, p_actor_user_id uuid[], p_actor_tenant_id uuid[], p_action text[], p_entity_type text[],
    p_entity_id text[], p_changes jsonb[], p_ip inet, p_user_agent text, p_request_id text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_tenant uuid := steward_current_tenant();
  v_n      integer := coalesce(cardinality(p_action), 0);
  v_first  bigint;
  v_seq    bigint;
  v_prev   bytea;
  v_at     timestamptz := now();
  e        record;
  -- The rows as inserted: built here, from the very values hashed.
  v_ids    uuid[] := '{}';
  v_seqs   bigint[] := '{}';
  v_prevs  bytea[] := '{}';
  v_hashes bytea[] := '{}';
  v_users  uuid[] := '{}';
  v_homes  uuid[] := '{}';
  v_acts   text[] := '{}';
  v_types  text[] := '{}';
  v_ents   text[] := '{}';
  v_chgs   jsonb[] := '{}';
BEGIN
  IF v_tenant IS NULL OR p_tenant IS DISTINCT FROM v_tenant THEN
    RAISE EXCEPTION 'steward_audit_append: the events are not of the transaction''s tenant';
  END IF;
  IF cardinality(p_actor_user_id) IS DISTINCT FROM v_n OR cardinality(p_actor_tenant_id) IS DISTINCT FROM v_n
     OR cardinality(p_entity_type) IS DISTINCT FROM v_n OR cardinality(p_entity_id) IS DISTINCT FROM v_n
     OR cardinality(p_changes) IS DISTINCT FROM v_n THEN
    RAISE EXCEPTION 'steward_audit_append: the arrays differ in length';
  END IF;
  IF v_n = 0 THEN
    RETURN 0;
  END IF;
  INSERT INTO audit_chain_heads AS h (tenant_id, seq, hash)
  VALUES (v_tenant, 0, ''::bytea)
  ON CONFLICT (tenant_id) DO NOTHING;
  SELECT h.seq, nullif(h.hash, ''::bytea) INTO v_first, v_prev
    FROM audit_chain_heads h WHERE h.tenant_id = v_tenant FOR UPDATE;
  v_seq := v_first;
  -- One walk over the arrays (whatever their shape or bounds), in order:
  -- each event hashed and kept with the values it was hashed from.
  FOR e IN SELECT * FROM unnest(p_actor_user_id, p_actor_tenant_id, p_action, p_entity_type, p_entity_id, p_changes)
                    WITH ORDINALITY AS x(actor_user_id, actor_tenant_id, action, entity_type, entity_id, changes, n)
            ORDER BY x.n LOOP
    v_seq := v_seq + 1;
    v_ids := v_ids || steward_uuid_v7();
    v_seqs := v_seqs || v_seq;
    v_prevs := v_prevs || v_prev;
    v_prev := steward_audit_hash(v_prev, v_tenant, v_ids[cardinality(v_ids)], v_seq, v_at, e.actor_user_id,
      e.actor_tenant_id, p_ip, p_user_agent, e.action, e.entity_type, e.entity_id, e.changes, p_request_id);
    v_hashes := v_hashes || v_prev;
    v_users := v_users || e.actor_user_id;
    v_homes := v_homes || e.actor_tenant_id;
    v_acts := v_acts || e.action;
    v_types := v_types || e.entity_type;
    v_ents := v_ents || e.entity_id;
    v_chgs := v_chgs || e.changes;
  END LOOP;
  -- The head moves first: anything the insert sets off that records an
  -- event of its own chains after these.
  UPDATE audit_chain_heads SET seq = v_seq, hash = v_prev WHERE tenant_id = v_tenant;
  INSERT INTO audit_events (tenant_id, id, occurred_at, seq, prev_hash, hash, actor_user_id, actor_tenant_id,
                            ip, user_agent, action, entity_type, entity_id, changes, request_id)
  SELECT v_tenant, r.id, v_at, r.seq, r.prev_hash, r.hash, r.actor_user_id, r.actor_tenant_id,
         p_ip, p_user_agent, r.action, r.entity_type, r.entity_id, r.changes, p_request_id
    FROM unnest(v_ids, v_seqs, v_prevs, v_hashes, v_users, v_homes, v_acts, v_types, v_ents, v_chgs)
         AS r(id, seq, prev_hash, hash, actor_user_id, actor_tenant_id, action, entity_type, entity_id, changes)
   ORDER BY r.seq;
  RETURN v_seq - v_first;
END
$$;
REVOKE ALL ON FUNCTION steward_audit_append(uuid, uuid[], uuid[], text[], text[], text[], jsonb[], inet, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_audit_append(uuid, uuid[], uuid[], text[], text[], text[], jsonb[], inet, text, text) TO steward_app;

DROP TRIGGER audit_events_chain ON audit_events;
DO $$
BEGIN
  EXECUTE format('CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events FOR EACH ROW '
                 'WHEN (NEW.seq = 0 OR current_user <> %L) EXECUTE FUNCTION steward_audit_chain()', current_user);
END
$$;
