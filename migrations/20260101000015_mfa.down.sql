ALTER TABLE tenants DROP CONSTRAINT tenants_mfa_required_check, DROP COLUMN mfa_required;
DROP TABLE user_recovery_codes;
DROP TABLE user_mfa;
