DROP FUNCTION steward_audit_drop_before(timestamptz);
-- steward_verify_audit goes back to the definition of the audit migration.
CREATE OR REPLACE FUNCTION steward_verify_audit(p_tenant_id uuid)
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
DROP TABLE audit_retention_cuts;
DROP INDEX audit_events_id_idx, audit_events_request_idx, audit_events_ip_idx, audit_events_action_idx, audit_events_actor_idx;
DROP TABLE document_versions;
DROP FUNCTION steward_document_version_immutable();
DROP TABLE documents;
