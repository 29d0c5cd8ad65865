-- Personal data: anonymising users, requests to delete an account, and the
-- tenant's retention period after which deleted users are anonymised.
ALTER TABLE users ADD COLUMN anonymised_at timestamptz;

-- How long a deleted user keeps their name and email before the retention
-- job anonymises them (NULL: until someone does it by hand).
ALTER TABLE tenants ADD COLUMN anonymise_deleted_after_days integer,
    ADD CONSTRAINT tenants_anonymise_after_check CHECK (anonymise_deleted_after_days BETWEEN 0 AND 3650);

CREATE TABLE deletion_requests (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL DEFAULT steward_uuid_v7(),
    user_id      uuid        NOT NULL,
    requested_by uuid        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    reason       text        NOT NULL DEFAULT '',
    status       text        NOT NULL DEFAULT 'pending',
    resolved_by  uuid,
    resolved_at  timestamptz,
    note         text        NOT NULL DEFAULT '',
    CONSTRAINT deletion_requests_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT deletion_requests_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    CONSTRAINT deletion_requests_status_check CHECK (status IN ('pending', 'completed', 'rejected')),
    CONSTRAINT deletion_requests_reason_length CHECK (char_length(reason) <= 2000 AND char_length(note) <= 2000)
);
-- One open request per person.
CREATE UNIQUE INDEX deletion_requests_one_pending ON deletion_requests (tenant_id, user_id) WHERE status = 'pending';
CREATE INDEX deletion_requests_status_idx ON deletion_requests (tenant_id, status, requested_at);
ALTER TABLE deletion_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE deletion_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY deletion_requests_isolation ON deletion_requests
    USING (tenant_id = steward_current_tenant()) WITH CHECK (tenant_id = steward_current_tenant());
GRANT SELECT, INSERT, UPDATE ON deletion_requests TO steward_app;

-- A person's own requests in the access log, for their data export: the
-- log is readable only on the platform, so this reads it for the current
-- tenant's user alone.
CREATE FUNCTION steward_access_log_of(p_user uuid, p_limit integer)
RETURNS TABLE (at timestamptz, method text, path text, status smallint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT a.at, a.method, a.path, a.status FROM access_log a
   WHERE a.tenant_id = steward_current_tenant() AND a.user_id = p_user
   ORDER BY a.at DESC LIMIT p_limit
$$;
REVOKE ALL ON FUNCTION steward_access_log_of(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_access_log_of(uuid, integer) TO steward_app;

-- The tenants whose retention period is set (for the hourly job, which
-- then works inside each tenant under its row-level security).
CREATE FUNCTION steward_retention_tenants()
RETURNS TABLE (tenant_id uuid, days integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.id, t.anonymise_deleted_after_days FROM tenants t
   WHERE t.deleted_at IS NULL AND t.anonymise_deleted_after_days IS NOT NULL
$$;
REVOKE ALL ON FUNCTION steward_retention_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_retention_tenants() TO steward_app;
