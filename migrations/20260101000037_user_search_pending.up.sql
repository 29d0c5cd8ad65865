-- The search index's pending list (issue 16). A GIN index takes new
-- entries into an unsorted pending list (`fastupdate`), merged into the
-- index when it passes gin_pending_list_limit (4 MB) or when (auto)vacuum
-- or autoanalyze runs; every search reads the whole list. On a million
-- people, autovacuum and autoanalyze wait for 100,000 to 200,000 new
-- rows, so after an import of
-- 19,800 the list kept 4,350 rows (435 pages) and the search by email fell
-- from 453 to 114 requests/s (p50 34 -> 138 ms at 16 connections) until
-- later inserts filled it. Turning the list off cost the import 38%
-- (5,952 -> 3,704 rows/s), a 256 kB list 15-30%.
--
-- So the list stays, and an import merges what it left when it ends
-- (steward_user_search_tidy, as the index's owner: gin_clean_pending_list
-- needs it). People created one at a time fill it slowly, and it is merged
-- when full, as before.
-- It returns nothing: how many pages it merged counts every tenant's.
CREATE FUNCTION steward_user_search_tidy() RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT gin_clean_pending_list('user_search_trgm'::regclass);
$$;
REVOKE ALL ON FUNCTION steward_user_search_tidy() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward_user_search_tidy() TO steward_app;
