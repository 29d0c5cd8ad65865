-- Sign-in throttling and lockout, and what password flows need.
--
-- Failed sign-ins are counted per account name (organisation short name and
-- email, whether or not such an account exists, so a refusal never tells
-- them apart) and per client address. The table belongs to no tenant and no
-- role but the owner may touch it: the application reaches it only through
-- the SECURITY DEFINER functions below, which hold the arithmetic.
CREATE TABLE sign_in_throttle (
    key             text        NOT NULL,
    failures        integer     NOT NULL,
    last_failure_at timestamptz NOT NULL,
    blocked_until   timestamptz,
    CONSTRAINT sign_in_throttle_pkey PRIMARY KEY (key),
    CONSTRAINT sign_in_throttle_key_kind CHECK (key LIKE 'account:%' OR key LIKE 'address:%')
);
CREATE INDEX sign_in_throttle_last_failure_idx ON sign_in_throttle (last_failure_at);
ALTER TABLE sign_in_throttle ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON sign_in_throttle FROM PUBLIC;

-- The key of an account name: the same however the name was typed.
CREATE FUNCTION steward_sign_in_account_key(p_tenant_slug text, p_email text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT 'account:' || lower(btrim(p_tenant_slug)) || '/' || lower(btrim(p_email))
$$;

-- Until when sign-ins for these keys are refused (NULL: they are not).
CREATE FUNCTION steward_sign_in_blocked_until(p_keys text[])
RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT max(blocked_until) FROM sign_in_throttle WHERE key = ANY(p_keys) AND blocked_until > now()
$$;
REVOKE ALL ON FUNCTION steward_sign_in_blocked_until(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_blocked_until(text[]) TO steward_app;

-- Counts one failure against a key. The count starts over after p_window
-- without failures; from the p_threshold-th failure on, sign-ins are
-- blocked for p_base doubled at each further failure, p_max at most.
CREATE FUNCTION steward_sign_in_failure(p_key text, p_threshold integer, p_base interval,
                                        p_max interval, p_window interval)
RETURNS TABLE (failures integer, blocked_until timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_failures integer;
  v_until timestamptz;
BEGIN
  INSERT INTO sign_in_throttle AS t (key, failures, last_failure_at)
  VALUES (p_key, 1, now())
  ON CONFLICT (key) DO UPDATE
     SET failures = CASE WHEN t.last_failure_at < now() - p_window THEN 1 ELSE t.failures + 1 END,
         last_failure_at = now()
  RETURNING t.failures INTO v_failures;
  IF v_failures >= p_threshold THEN
    v_until := now() + least(p_max, p_base * power(2, least(v_failures - p_threshold, 30)));
    UPDATE sign_in_throttle SET blocked_until = v_until WHERE key = p_key;
  END IF;
  RETURN QUERY SELECT v_failures, v_until;
END
$$;
REVOKE ALL ON FUNCTION steward_sign_in_failure(text, integer, interval, interval, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_failure(text, integer, interval, interval, interval) TO steward_app;

-- A successful sign-in clears its account's count (not its address's).
CREATE FUNCTION steward_sign_in_success(p_tenant_slug text, p_email text)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  DELETE FROM sign_in_throttle WHERE key = steward_sign_in_account_key(p_tenant_slug, p_email)
$$;
REVOKE ALL ON FUNCTION steward_sign_in_success(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_success(text, text) TO steward_app;

-- The failure count and block of a user of the current tenant (the
-- transaction's steward.tenant_id: the user is looked up under row-level
-- security, so another tenant's user is not found).
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

-- Unlocks a user of the current tenant: their failure count goes. Returns
-- whether there was one.
CREATE FUNCTION steward_sign_in_unlock(p_user uuid)
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
REVOKE ALL ON FUNCTION steward_sign_in_unlock(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_unlock(uuid) TO steward_app;

-- Counts nobody has added to for a day are forgotten (run hourly).
CREATE FUNCTION steward_sign_in_throttle_prune()
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
REVOKE ALL ON FUNCTION steward_sign_in_throttle_prune() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_throttle_prune() TO steward_app;

-- Passwords: when one was last set, and whether its holder must choose a
-- new one at their next sign-in (after a reset by support staff).
ALTER TABLE users
    ADD COLUMN password_changed_at timestamptz,
    ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
