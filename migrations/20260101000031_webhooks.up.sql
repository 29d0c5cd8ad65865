-- Webhooks: a tenant subscribes HTTPS endpoints to audit actions
-- (`user.*`, `role.grant`, `*`). Each event that matches an active
-- endpoint is queued as a delivery by a trigger on audit_events, in the
-- event's own transaction: a delivery exists exactly when its event does.
-- The server's webhook worker claims due deliveries with a lease (as the
-- mail worker does), signs and posts them, and settles each in its
-- tenant's transaction (which may pause the endpoint, with its audit event
-- and a mail to its creator).
--
-- Both tables are tenant-owned (distributed by tenant_id under Citus). The
-- worker claims across tenants from the platform scope.
CREATE TABLE webhook_endpoints (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT steward_uuid_v7(),
    url              text        NOT NULL,
    description      text        NOT NULL DEFAULT '',
    -- audit actions or patterns: 'user.create', 'user.*', '*'
    actions          text[]      NOT NULL,
    -- the HMAC key, sealed under the master key (bound to tenant and id)
    secret_sealed    bytea       NOT NULL,
    status           text        NOT NULL DEFAULT 'active',
    -- why it is paused: 'person' (someone paused it), 'failing' (a day of
    -- failures) or 'maker' (its maker no longer may manage webhooks)
    paused_reason    text,
    -- the first failure since the last success; a day of it pauses
    failing_since    timestamptz,
    created_by       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    last_success_at  timestamptz,
    CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT webhook_endpoints_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT webhook_endpoints_status_check CHECK (status IN ('active', 'paused')),
    CONSTRAINT webhook_endpoints_paused_check CHECK ((status = 'paused') = (paused_reason IS NOT NULL) AND paused_reason IN ('person', 'failing', 'maker')),
    CONSTRAINT webhook_endpoints_actions_check CHECK (cardinality(actions) BETWEEN 1 AND 50),
    CONSTRAINT webhook_endpoints_url_length CHECK (char_length(url) BETWEEN 8 AND 2000),
    CONSTRAINT webhook_endpoints_description_length CHECK (char_length(description) <= 200)
);

CREATE TABLE webhook_deliveries (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT steward_uuid_v7(),
    endpoint_id      uuid        NOT NULL,
    event_id         uuid        NOT NULL,
    action           text        NOT NULL,
    -- the body sent: the event as the audit log holds it
    payload          jsonb       NOT NULL,
    -- queued (due at next_attempt_at), held (its endpoint is paused: sent
    -- when it is resumed), delivered, or failed (given up)
    status           text        NOT NULL DEFAULT 'queued',
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    leased_until     timestamptz,
    claim            uuid,
    -- the last attempt: the receiver's status and the start of its answer,
    -- or why there was none
    response_status  integer,
    response_body    text,
    last_error       text,
    duration_ms      integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT webhook_deliveries_endpoint_fkey FOREIGN KEY (tenant_id, endpoint_id)
        REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('queued', 'held', 'delivered', 'failed')),
    CONSTRAINT webhook_deliveries_delivered_check CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
-- The worker's question: what is due now.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'queued';
-- The screen's: an endpoint's deliveries, newest first.
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (tenant_id, endpoint_id, created_at DESC, id DESC);
-- The claim's cap on deliveries in flight per endpoint.
CREATE INDEX webhook_deliveries_leased_idx ON webhook_deliveries (tenant_id, endpoint_id, leased_until) WHERE status = 'queued';
-- Pruning: by age.
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at) WHERE status <> 'queued';

ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
-- A tenant's transaction manages its own endpoints and settles its own
-- deliveries; the platform scope reads both (to claim) and changes only a
-- delivery's claim and outcome, and deletes old deliveries.
CREATE POLICY webhook_endpoints_isolation ON webhook_endpoints
    USING (tenant_id = steward_current_tenant()) WITH CHECK (tenant_id = steward_current_tenant());
CREATE POLICY webhook_endpoints_platform_read ON webhook_endpoints FOR SELECT
    USING (steward_current_tenant() = (SELECT tenant_id FROM steward_platform_tenant()));
CREATE POLICY webhook_deliveries_isolation ON webhook_deliveries
    USING (tenant_id = steward_current_tenant()) WITH CHECK (tenant_id = steward_current_tenant());
CREATE POLICY webhook_deliveries_platform_read ON webhook_deliveries FOR SELECT
    USING (steward_current_tenant() = (SELECT tenant_id FROM steward_platform_tenant()));
CREATE POLICY webhook_deliveries_platform_claim ON webhook_deliveries FOR UPDATE
    USING (steward_current_tenant() = (SELECT tenant_id FROM steward_platform_tenant()))
    WITH CHECK (steward_current_tenant() = (SELECT tenant_id FROM steward_platform_tenant()));
CREATE POLICY webhook_deliveries_platform_prune ON webhook_deliveries FOR DELETE
    USING (steward_current_tenant() = (SELECT tenant_id FROM steward_platform_tenant()));
GRANT SELECT, INSERT, DELETE ON webhook_endpoints TO steward_app;
GRANT UPDATE (status, paused_reason, failing_since, last_attempt_at, last_success_at, description, actions) ON webhook_endpoints TO steward_app;
-- No INSERT: only the trigger below queues deliveries.
GRANT SELECT, DELETE ON webhook_deliveries TO steward_app;
GRANT UPDATE (status, attempts, next_attempt_at, leased_until, claim, response_status, response_body, last_error, duration_ms, delivered_at)
    ON webhook_deliveries TO steward_app;

-- Whether an action matches one of an endpoint's patterns.
CREATE FUNCTION steward_webhook_matches(p_patterns text[], p_action text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT EXISTS (
    SELECT FROM unnest(p_patterns) p
     WHERE p = '*' OR p = p_action
        OR (right(p, 2) = '.*' AND starts_with(p_action, left(p, -1))))
$$;
GRANT EXECUTE ON FUNCTION steward_webhook_matches(text[], text) TO steward_app;

-- Queues a delivery of the new event to each active endpoint of its tenant
-- that subscribes to its action. It runs after the chain trigger, so the
-- payload carries the event's place in the chain and its hash (a receiver
-- can check the chain it is sent). It runs with the inserting
-- transaction's tenant set, so forced RLS lets it see and write exactly
-- that tenant's rows.
CREATE FUNCTION steward_webhook_queue() RETURNS trigger
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
