DELETE FROM password_links WHERE purpose = 'invite';
ALTER TABLE password_links DROP COLUMN sender_grants;
ALTER TABLE password_links DROP CONSTRAINT password_links_invite_sender_check;
ALTER TABLE password_links DROP CONSTRAINT password_links_purpose_check;
ALTER TABLE password_links DROP COLUMN purpose;
