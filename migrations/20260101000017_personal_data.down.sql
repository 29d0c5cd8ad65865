DROP FUNCTION steward_retention_tenants();
DROP FUNCTION steward_access_log_of(uuid, integer);
DROP TABLE deletion_requests;
ALTER TABLE tenants DROP CONSTRAINT tenants_anonymise_after_check, DROP COLUMN anonymise_deleted_after_days;
ALTER TABLE users DROP COLUMN anonymised_at;
