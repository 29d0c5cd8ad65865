-- Two-factor sign-in (TOTP). A user's secret is sealed with AES-256-GCM
-- under the server's master key (never stored in the clear); enabled_at is
-- NULL while enrolment waits for its first code. last_used_step keeps a
-- code from being used twice.
CREATE TABLE user_mfa (
    tenant_id      uuid        NOT NULL,
    user_id        uuid        NOT NULL,
    secret_sealed  bytea       NOT NULL,
    enabled_at     timestamptz,
    last_used_step bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_mfa_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT user_mfa_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
ALTER TABLE user_mfa ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_mfa FORCE ROW LEVEL SECURITY;
CREATE POLICY user_mfa_isolation ON user_mfa
    USING (tenant_id = steward_current_tenant()) WITH CHECK (tenant_id = steward_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON user_mfa TO steward_app;

-- Recovery codes, shown once, kept as SHA-256 hashes; each works once.
CREATE TABLE user_recovery_codes (
    tenant_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    code_hash  text        NOT NULL,
    used_at    timestamptz,
    CONSTRAINT user_recovery_codes_pkey PRIMARY KEY (tenant_id, user_id, code_hash),
    CONSTRAINT user_recovery_codes_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
ALTER TABLE user_recovery_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_recovery_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY user_recovery_codes_isolation ON user_recovery_codes
    USING (tenant_id = steward_current_tenant()) WITH CHECK (tenant_id = steward_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON user_recovery_codes TO steward_app;

-- Whom the tenant requires to sign in with a second factor: nobody,
-- administrators (whoever may change other people's access), or everyone.
ALTER TABLE tenants ADD COLUMN mfa_required text NOT NULL DEFAULT 'off',
    ADD CONSTRAINT tenants_mfa_required_check CHECK (mfa_required IN ('off', 'admins', 'everyone'));
