DROP TRIGGER audit_events_chain ON audit_events;
CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION steward_audit_chain();
DROP FUNCTION steward_audit_append(uuid, uuid[], uuid[], text[], text[], text[], jsonb[], inet, text, text);

DROP TRIGGER audit_events_webhooks ON audit_events;
CREATE OR REPLACE FUNCTION steward_webhook_queue() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, action, payload)
  SELECT NEW.tenant_id, e.id, NEW.id, NEW.action, jsonb_build_object(
           'id', NEW.id,
           'action', NEW.action,
           'occurred_at', to_char(NEW.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'tenant_id', NEW.tenant_id,
           'seq', NEW.seq,
           'hash', encode(NEW.hash, 'hex'),
           'prev_hash', encode(NEW.prev_hash, 'hex'),
           'actor_user_id', NEW.actor_user_id,
           'actor_tenant_id', NEW.actor_tenant_id,
           'ip', host(NEW.ip),
           'user_agent', NEW.user_agent,
           'entity_type', NEW.entity_type,
           'entity_id', NEW.entity_id,
           'changes', NEW.changes,
           'request_id', NEW.request_id)
    FROM webhook_endpoints e
   WHERE e.tenant_id = NEW.tenant_id AND e.status = 'active'
     AND steward_webhook_matches(e.actions, NEW.action);
  RETURN NULL;
END
$$;
CREATE TRIGGER audit_events_webhooks AFTER INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION steward_webhook_queue();

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tenant_modules', 'roles', 'role_permissions', 'role_views',
                           'user_roles', 'teams', 'team_members', 'team_roles']
  LOOP
    EXECUTE format('DROP TRIGGER %I ON %I', t || '_auth_version_insert', t);
    EXECUTE format('DROP TRIGGER %I ON %I', t || '_auth_version_update', t);
    EXECUTE format('DROP TRIGGER %I ON %I', t || '_auth_version_delete', t);
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
                   'FOR EACH ROW EXECUTE FUNCTION steward_bump_auth_version()', t || '_auth_version', t);
  END LOOP;
END
$$;
DROP FUNCTION steward_bump_auth_versions();

CREATE INDEX users_search_trgm ON users USING gin ((lower(email || ' ' || display_name)) gin_trgm_ops);
