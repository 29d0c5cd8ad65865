DROP FUNCTION steward_audit_check(uuid, boolean);
DROP FUNCTION steward_verify_audit(uuid, bigint, bytea);
CREATE FUNCTION steward_verify_audit(p_tenant_id uuid)
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
GRANT EXECUTE ON FUNCTION steward_verify_audit(uuid) TO steward_app;
DROP TABLE audit_chain_checkpoints;
