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

