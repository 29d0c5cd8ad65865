-- The users list's sort keys as stored columns. Under row-level security,
-- PostgreSQL only lets a condition into an index scan when its functions
-- are leakproof; lower() is not, so `(lower(display_name), id) > cursor`
-- was a filter and a page 90% deep read 9,000 rows to show 50. Comparing
-- plain columns (text and uuid comparisons are leakproof) starts the scan
-- at the cursor.
ALTER TABLE users
  ADD COLUMN name_key  text GENERATED ALWAYS AS (lower(display_name)) STORED,
  ADD COLUMN email_key text GENERATED ALWAYS AS (lower(email)) STORED;
DROP INDEX users_name_order;
DROP INDEX users_email_order;
DROP INDEX users_status_order;
CREATE INDEX users_name_order ON users (tenant_id, name_key, id) WHERE deleted_at IS NULL;
CREATE INDEX users_email_order ON users (tenant_id, email_key, id) WHERE deleted_at IS NULL;
CREATE INDEX users_status_order ON users (tenant_id, status, name_key, id) WHERE deleted_at IS NULL;
