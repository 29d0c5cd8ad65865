-- Links that let a person choose a password: asked for on the sign-in page
-- ("Forgot your password?") or sent from the person's page by someone who
-- may reset their password ("Send a reset link", so that nobody but the
-- person ever sees it). Only the SHA-256 of the link's secret is kept. A
-- link works once and until it expires; setting a password by any way ends
-- every other link of the person.
CREATE TABLE password_links (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL DEFAULT steward_uuid_v7(),
    user_id        uuid        NOT NULL,
    secret_hash    bytea       NOT NULL,
    -- who sent it; null when the person asked for it on the sign-in page
    sent_by        uuid,
    -- where the request came from (the per-address limit counts these)
    requested_from inet,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    CONSTRAINT password_links_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT password_links_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT password_links_secret_key UNIQUE (tenant_id, secret_hash),
    CONSTRAINT password_links_expiry_check CHECK (expires_at > created_at)
);
CREATE INDEX password_links_user_idx ON password_links (tenant_id, user_id, created_at);
CREATE INDEX password_links_from_idx ON password_links (tenant_id, requested_from, created_at) WHERE requested_from IS NOT NULL;

ALTER TABLE password_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE password_links FORCE ROW LEVEL SECURITY;
CREATE POLICY password_links_isolation ON password_links
    USING (tenant_id = steward_current_tenant())
    WITH CHECK (tenant_id = steward_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON password_links TO steward_app;
