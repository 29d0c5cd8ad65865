DROP FUNCTION steward_user_search_tidy();
