-- Foundation: the application role, UUIDv7 ids, and the tenant setting that
-- every row-level security policy reads.

-- The application connects as (or SETs ROLE to) steward_app: it owns nothing,
-- is not a superuser and cannot bypass row-level security. The embedded
-- cluster creates it as a LOGIN role before migrating; elsewhere this creates
-- it without LOGIN and the deployer grants it to the role in DATABASE_URL.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'steward_app') THEN
    CREATE ROLE steward_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO steward_app;

-- Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then
-- random bits. PostgreSQL 15 has no built-in generator.
CREATE FUNCTION steward_uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;

-- The tenant of the current transaction, set by the server after it has
-- authorised the request (set_config('steward.tenant_id', $1, true)). Missing
-- or empty means no tenant: every policy then matches nothing.
CREATE FUNCTION steward_current_tenant() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT nullif(current_setting('steward.tenant_id', true), '')::uuid
$$;

GRANT EXECUTE ON FUNCTION steward_uuid_v7() TO steward_app;
GRANT EXECUTE ON FUNCTION steward_current_tenant() TO steward_app;
