DROP FUNCTION steward_mfa_required(uuid, uuid, text[]);
CREATE FUNCTION steward_sign_in_blocked_until(p_keys text[])
RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT max(blocked_until) FROM sign_in_throttle WHERE key = ANY(p_keys) AND blocked_until > now()
$$;
REVOKE ALL ON FUNCTION steward_sign_in_blocked_until(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_sign_in_blocked_until(text[]) TO steward_app;
DROP FUNCTION steward_sign_in_refusal(text[]);
ALTER TABLE sign_in_throttle DROP COLUMN refusal_recorded_until;
