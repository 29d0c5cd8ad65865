DROP FUNCTION IF EXISTS steward_current_tenant();
DROP FUNCTION IF EXISTS steward_uuid_v7();
REVOKE USAGE ON SCHEMA public FROM steward_app;
-- The steward_app role is cluster-wide and may serve other databases: it is
-- left in place.
