-- Invitations: a person invited by email is `pending` (no password) until
-- they follow the link, which is a password link of its own purpose:
-- single-use, kept as the SHA-256 of its secret, ended on a resend or a
-- revocation. A reset link works only for an active account and an
-- invitation only for a pending one (checked where the link is used).
ALTER TABLE password_links ADD COLUMN purpose text NOT NULL DEFAULT 'reset';
ALTER TABLE password_links ADD CONSTRAINT password_links_purpose_check CHECK (purpose IN ('reset', 'invite'));
-- An invitation is always sent by someone (the inviter, or the importer).
ALTER TABLE password_links ADD CONSTRAINT password_links_invite_sender_check CHECK (purpose <> 'invite' OR sent_by IS NOT NULL);
-- What its sender held when the link was sent (permission keys, and view
-- keys as `view:<key>`); null when the person asked for it themselves. A
-- link stops working once the person holds anything beyond it: a link
-- sent within the sender's grants must not become a way into an account
-- that was given more afterwards (the delegation rule).
ALTER TABLE password_links ADD COLUMN sender_grants text[];
-- Links sent before this was kept: what their senders held is not known,
-- so they work only for someone who holds nothing.
UPDATE password_links SET sender_grants = '{}' WHERE sent_by IS NOT NULL;
ALTER TABLE password_links ADD CONSTRAINT password_links_sender_grants_check CHECK ((sent_by IS NULL) = (sender_grants IS NULL));
