DROP INDEX users_name_order;
DROP INDEX users_email_order;
DROP INDEX users_status_order;
ALTER TABLE users DROP COLUMN name_key, DROP COLUMN email_key;
CREATE INDEX users_name_order ON users (tenant_id, lower(display_name), id) WHERE deleted_at IS NULL;
CREATE INDEX users_email_order ON users (tenant_id, lower(email), id) WHERE deleted_at IS NULL;
CREATE INDEX users_status_order ON users (tenant_id, status, lower(display_name), id) WHERE deleted_at IS NULL;
