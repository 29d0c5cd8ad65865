CREATE OR REPLACE FUNCTION steward_sign_in_throttle_prune()
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH gone AS (
    DELETE FROM sign_in_throttle
     WHERE last_failure_at < now() - interval '1 day'
       AND (blocked_until IS NULL OR blocked_until < now())
    RETURNING 1
  )
  SELECT count(*)::integer FROM gone
$$;
CREATE OR REPLACE FUNCTION steward_sign_in_unlock(p_user uuid)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH gone AS (
    DELETE FROM sign_in_throttle th
     USING users u JOIN tenants tn ON tn.id = u.tenant_id
     WHERE u.tenant_id = steward_current_tenant() AND u.id = p_user
       AND th.key = steward_sign_in_account_key(tn.slug, u.email)
    RETURNING 1
  )
  SELECT count(*) > 0 FROM gone
$$;
DROP FUNCTION steward_sign_in_lock_state(uuid);
CREATE FUNCTION steward_sign_in_lock_state(p_user uuid)
RETURNS TABLE (failures integer, last_failure_at timestamptz, blocked_until timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT th.failures, th.last_failure_at, th.blocked_until
    FROM users u
    JOIN tenants tn ON tn.id = u.tenant_id
    JOIN sign_in_throttle th ON th.key = steward_sign_in_account_key(tn.slug, u.email)
   WHERE u.tenant_id = steward_current_tenant() AND u.id = p_user
$$;
REVOKE ALL ON FUNCTION steward_sign_in_lock_state(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_lock_state(uuid) TO steward_app;
DROP FUNCTION steward_sign_in_success(text, text, text);
DROP FUNCTION steward_sign_in_attempt_key(text, text, text, boolean);
DROP FUNCTION steward_sign_in_place_days();
DELETE FROM sign_in_throttle WHERE key LIKE 'place:%';
DROP INDEX sign_in_throttle_account_key_idx;
ALTER TABLE sign_in_throttle DROP COLUMN account_key;
ALTER TABLE sign_in_throttle DROP CONSTRAINT sign_in_throttle_key_kind,
    ADD CONSTRAINT sign_in_throttle_key_kind CHECK (key LIKE 'account:%' OR key LIKE 'address:%');
DROP TABLE sign_in_places;
