DROP FUNCTION steward_access_log_drop_before(timestamptz);
DROP FUNCTION steward_access_log_ensure_partitions(integer);
DROP TABLE access_log;
