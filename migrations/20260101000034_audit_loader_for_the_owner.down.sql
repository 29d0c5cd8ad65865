DROP TRIGGER audit_events_at ON audit_events;
DROP FUNCTION steward_audit_clock();
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
