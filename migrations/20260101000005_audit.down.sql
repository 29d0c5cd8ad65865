DROP FUNCTION IF EXISTS steward_audit_ensure_partitions(integer);
DROP FUNCTION IF EXISTS steward_verify_audit(uuid);
DROP TABLE IF EXISTS audit_events;
DROP TABLE IF EXISTS audit_chain_heads;
DROP FUNCTION IF EXISTS steward_audit_refuse_change();
DROP FUNCTION IF EXISTS steward_audit_chain();
DROP FUNCTION IF EXISTS steward_audit_hash(bytea, uuid, uuid, bigint, timestamptz, uuid, uuid, inet, text, text, text, text, jsonb, text);
