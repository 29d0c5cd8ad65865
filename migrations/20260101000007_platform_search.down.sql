DROP FUNCTION IF EXISTS steward_platform_user_search(text, integer);
