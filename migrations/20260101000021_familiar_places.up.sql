-- M7: a stranger's failures no longer keep a known person out.
--
-- An account name's failures used to be counted under one key, checked
-- before the password: five wrong guesses an hour from anywhere kept its
-- owner out for good. Now they are counted by place, as "smart lockout"
-- does it:
--
-- * A place is the client's network (an IPv4 /24 or an IPv6 /64). It is
--   familiar to an account name once someone signed in to it from there
--   (password and, when on, second factor); it stays familiar for 90 days
--   after the last such sign-in.
-- * Failures from a familiar place count against that account name at
--   that place only ('place:<net> account:<tenant>/<email>').
-- * Failures from every other place (and from an unknown address) share
--   the account name's one key ('account:<tenant>/<email>'), so a botnet
--   spread over many addresses still gets five guesses, not five each.
--
-- So a stranger can block the account name only where its owner has never
-- signed in, and the owner at her usual places is not refused.
CREATE TABLE sign_in_places (
    account_key     text        NOT NULL,
    place           text        NOT NULL,
    last_success_at timestamptz NOT NULL,
    CONSTRAINT sign_in_places_pkey PRIMARY KEY (account_key, place),
    CONSTRAINT sign_in_places_place_shape CHECK (place <> '' AND strpos(place, ' ') = 0)
);
CREATE INDEX sign_in_places_last_success_idx ON sign_in_places (last_success_at);
ALTER TABLE sign_in_places ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON sign_in_places FROM PUBLIC;

ALTER TABLE sign_in_throttle DROP CONSTRAINT sign_in_throttle_key_kind,
    ADD CONSTRAINT sign_in_throttle_key_kind
        CHECK (key LIKE 'account:%' OR key LIKE 'address:%' OR key LIKE 'place:% account:%');
-- The account name a key belongs to (an address key: itself), indexed so
-- that a person's lock state and unlock find all their keys at once.
ALTER TABLE sign_in_throttle ADD COLUMN account_key text GENERATED ALWAYS AS
    (CASE WHEN key LIKE 'place:%' THEN substr(key, strpos(key, ' ') + 1) ELSE key END) STORED;
CREATE INDEX sign_in_throttle_account_key_idx ON sign_in_throttle (account_key);

-- How long a place stays familiar after the last sign-in from it.
CREATE FUNCTION steward_sign_in_place_days() RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 90 $$;

-- The key an attempt on an account name from p_place counts against, and
-- whether the place is familiar. p_signed_in: the attempt comes from a
-- session already signed in (asking again for the password before a
-- sensitive step): those count together under the place 'session',
-- wherever the request comes from, so a stolen cookie gets no fresh
-- guesses by moving network, and a stranger's sign-in failures do not
-- stop the owner's password change.
CREATE FUNCTION steward_sign_in_attempt_key(p_tenant_slug text, p_email text, p_place text, p_signed_in boolean)
RETURNS TABLE (key text, familiar boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH a AS (SELECT steward_sign_in_account_key(p_tenant_slug, p_email) AS account_key),
       f AS (
         SELECT a.account_key,
                CASE WHEN p_signed_in THEN 'session' ELSE p_place END AS place,
                p_signed_in OR (p_place IS NOT NULL AND EXISTS (
                  SELECT 1 FROM sign_in_places sp
                   WHERE sp.account_key = a.account_key AND sp.place = p_place
                     AND sp.last_success_at > now() - make_interval(days => steward_sign_in_place_days()))) AS familiar
           FROM a)
  SELECT CASE WHEN f.familiar THEN 'place:' || f.place || ' ' || f.account_key ELSE f.account_key END, f.familiar
    FROM f
$$;
REVOKE ALL ON FUNCTION steward_sign_in_attempt_key(text, text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_attempt_key(text, text, text, boolean) TO steward_app;

-- A successful sign-in from p_place (NULL: unknown) clears the failures it
-- was counted against and makes the place familiar to the account name.
-- (The two-argument version stays for servers of the previous release
-- during a rolling upgrade.)
CREATE FUNCTION steward_sign_in_success(p_tenant_slug text, p_email text, p_place text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM sign_in_throttle
   WHERE key = (SELECT k.key FROM steward_sign_in_attempt_key(p_tenant_slug, p_email, p_place, false) k);
  IF p_place IS NOT NULL THEN
    INSERT INTO sign_in_places (account_key, place, last_success_at)
    VALUES (steward_sign_in_account_key(p_tenant_slug, p_email), p_place, now())
    ON CONFLICT (account_key, place) DO UPDATE SET last_success_at = excluded.last_success_at;
  END IF;
END
$$;
REVOKE ALL ON FUNCTION steward_sign_in_success(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_success(text, text, text) TO steward_app;

-- The failure count and block of a user of the current tenant, over all
-- their keys: the most failures in a row, the latest block still running,
-- and whether it holds only for places they have not signed in from
-- (every running block is on the shared key, and a place of theirs is
-- familiar).
DROP FUNCTION steward_sign_in_lock_state(uuid);
CREATE FUNCTION steward_sign_in_lock_state(p_user uuid)
RETURNS TABLE (failures integer, last_failure_at timestamptz, blocked_until timestamptz, strangers_only boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH who AS (
    SELECT steward_sign_in_account_key(tn.slug, u.email) AS account_key
      FROM users u JOIN tenants tn ON tn.id = u.tenant_id
     WHERE u.tenant_id = steward_current_tenant() AND u.id = p_user
  )
  SELECT max(th.failures), max(th.last_failure_at),
         max(th.blocked_until) FILTER (WHERE th.blocked_until > now()),
         coalesce(bool_and(th.key NOT LIKE 'place:%') FILTER (WHERE th.blocked_until > now()), false)
         AND EXISTS (SELECT 1 FROM sign_in_places sp
                      WHERE sp.account_key = who.account_key
                        AND sp.last_success_at > now() - make_interval(days => steward_sign_in_place_days()))
    FROM who JOIN sign_in_throttle th ON th.account_key = who.account_key
   GROUP BY who.account_key
$$;
REVOKE ALL ON FUNCTION steward_sign_in_lock_state(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_lock_state(uuid) TO steward_app;

-- Unlocks a user of the current tenant: the failure counts of all their
-- keys go. Returns whether there was one.
CREATE OR REPLACE FUNCTION steward_sign_in_unlock(p_user uuid)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH gone AS (
    DELETE FROM sign_in_throttle th
     USING users u JOIN tenants tn ON tn.id = u.tenant_id
     WHERE u.tenant_id = steward_current_tenant() AND u.id = p_user
       AND th.account_key = steward_sign_in_account_key(tn.slug, u.email)
    RETURNING 1
  )
  SELECT count(*) > 0 FROM gone
$$;

-- Hourly: counts nobody has added to for a day, and places nobody signed
-- in from for 90 days, are forgotten.
CREATE OR REPLACE FUNCTION steward_sign_in_throttle_prune()
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_counts integer;
BEGIN
  DELETE FROM sign_in_throttle
   WHERE last_failure_at < now() - interval '1 day'
     AND (blocked_until IS NULL OR blocked_until < now());
  GET DIAGNOSTICS v_counts = ROW_COUNT;
  DELETE FROM sign_in_places
   WHERE last_success_at < now() - make_interval(days => steward_sign_in_place_days());
  RETURN v_counts;
END
$$;
