-- steward.audit_loader lets a loader give events their own occurred_at.
-- Any role can set a custom setting, so until now the application role
-- could backdate an event it inserted (review of stop 34). The setting now
-- counts only for a role that is the schema's owner (or a member of it, or
-- a superuser); everyone else's events happen now().
--
-- The decision moves out of the chain trigger, which is SECURITY DEFINER
-- (current_user inside it is always the owner), into a trigger of its own
-- that runs as the role inserting: current_user there is the role in
-- effect, so an application that logs in as the owner and then SET ROLEs
-- to the application role (one URL for both, as the README allows) is the
-- application role here, where session_user would still be the owner.
-- BEFORE triggers fire in name order: audit_events_at before
-- audit_events_chain, which hashes the time this one settled. Rows that
-- steward_audit_append placed (the owner, a place given) are left as they
-- are, under the same condition as the chain trigger.
CREATE OR REPLACE FUNCTION steward_audit_clock() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_own_time boolean := false;
BEGIN
  IF current_setting('steward.audit_loader', true) = 'on' THEN
    SELECT pg_has_role(current_user, c.relowner, 'MEMBER') INTO v_own_time
      FROM pg_class c WHERE c.oid = 'public.audit_events'::regclass;
  END IF;
  IF NOT coalesce(v_own_time, false) THEN
    NEW.occurred_at := now();
  END IF;
  RETURN NEW;
END
$$;
DO $$
BEGIN
  EXECUTE format('CREATE TRIGGER audit_events_at BEFORE INSERT ON audit_events FOR EACH ROW '
                 'WHEN (NEW.seq = 0 OR current_user <> %L) EXECUTE FUNCTION steward_audit_clock()', current_user);
END
$$;

CREATE OR REPLACE FUNCTION steward_audit_chain() RETURNS trigger
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
