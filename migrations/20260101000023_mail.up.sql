-- Mail: every message is queued in the transaction of the change that
-- causes it (a security notice beside its audit event), and sent by the
-- server's mail worker, which claims due messages with a lease, sends them
-- over SMTP (or, with no SMTP configured, delivers them to this table,
-- where the "Sent mail" screen and `steward mail list` read them), and
-- retries with a growing pause. Rows are kept for a period, then deleted.
--
-- The table is tenant-owned: a tenant's transaction queues and reads its
-- own messages. The worker and the screen work across tenants from a
-- transaction scoped to the platform tenant.
CREATE TABLE mail_outbox (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT steward_uuid_v7(),
    -- what the message is (a template's key, such as 'user.password_change')
    kind            text        NOT NULL,
    -- the person it is to, when it is to someone of the tenant
    user_id         uuid,
    -- the audit event that caused it
    event_id        uuid,
    to_address      text        NOT NULL,
    to_name         text        NOT NULL DEFAULT '',
    subject         text        NOT NULL,
    body_text       text        NOT NULL,
    body_html       text        NOT NULL,
    -- A link the message carries (to choose a password): the bodies hold a
    -- placeholder, so that the Sent mail screen never shows a live link to
    -- anyone but the server's operator. Cleared once sent over SMTP.
    link            text,
    status          text        NOT NULL DEFAULT 'queued',
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- a worker that claimed the message owns it until then, by this claim
    leased_until    timestamptz,
    claim           uuid,
    last_error      text,
    delivered_via   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    CONSTRAINT mail_outbox_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT mail_outbox_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT mail_outbox_status_check CHECK (status IN ('queued', 'sent', 'failed')),
    CONSTRAINT mail_outbox_via_check CHECK (delivered_via IN ('smtp', 'outbox')),
    CONSTRAINT mail_outbox_sent_check CHECK ((status = 'sent') = (sent_at IS NOT NULL AND delivered_via IS NOT NULL)),
    CONSTRAINT mail_outbox_address_length CHECK (char_length(to_address) BETWEEN 3 AND 254)
);
-- The worker's question: what is due now.
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE status = 'queued';
-- The screen's: newest first, across tenants or in one.
CREATE INDEX mail_outbox_recent_idx ON mail_outbox (created_at DESC, id DESC);
CREATE INDEX mail_outbox_tenant_recent_idx ON mail_outbox (tenant_id, created_at DESC, id DESC);

ALTER TABLE mail_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE mail_outbox FORCE ROW LEVEL SECURITY;
-- A tenant's transaction queues and reads its own messages, and changes
-- none; the platform scope reads every message and changes only how its
-- sending went (column grants), never whom it is to or what it says.
CREATE POLICY mail_outbox_isolation ON mail_outbox FOR SELECT
    USING (tenant_id = steward_current_tenant());
CREATE POLICY mail_outbox_queue ON mail_outbox FOR INSERT
    WITH CHECK (tenant_id = steward_current_tenant());
CREATE POLICY mail_outbox_platform_read ON mail_outbox FOR SELECT
    USING (steward_current_tenant() = (SELECT tenant_id FROM steward_platform_tenant()));
CREATE POLICY mail_outbox_platform_send ON mail_outbox FOR UPDATE
    USING (steward_current_tenant() = (SELECT tenant_id FROM steward_platform_tenant()))
    WITH CHECK (steward_current_tenant() = (SELECT tenant_id FROM steward_platform_tenant()));
CREATE POLICY mail_outbox_platform_prune ON mail_outbox FOR DELETE
    USING (steward_current_tenant() = (SELECT tenant_id FROM steward_platform_tenant()));
GRANT SELECT, INSERT, DELETE ON mail_outbox TO steward_app;
GRANT UPDATE (status, attempts, next_attempt_at, leased_until, claim, last_error, delivered_via, sent_at, link) ON mail_outbox TO steward_app;

-- The screen: a view of the platform module, in the Platform menu, granted
-- to platform administrators (new platform tenants get it from the
-- template; the existing one here).
INSERT INTO views (key, module_key, path, title) VALUES ('sent_mail', 'platform', '/mail', 'Sent mail');
INSERT INTO menu_items (key, parent_key, view_key, label, icon, position)
VALUES ('sent_mail', 'platform', 'sent_mail', 'Sent mail', 'mail', 30);
UPDATE role_templates SET views = views || 'sent_mail'::text WHERE system_key = 'platform_admin';
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants WHERE kind = 'platform' LOOP
    PERFORM set_config('steward.tenant_id', t::text, true);
    INSERT INTO role_views (tenant_id, role_id, view_key)
    SELECT r.tenant_id, r.id, 'sent_mail' FROM roles r
     WHERE r.tenant_id = t AND r.system_key = 'platform_admin'
    ON CONFLICT DO NOTHING;
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
END
$$;
